"""Where each tenant's entries lie in the site-wide files written a tenant at a time (the manifest's file list and
"tenants" object, and sitemap.xml), so that a rebuild copies those of the tenants that did not change from the
previous files instead of making them again.

The manifest lists every file of the site, a tenant's files one after another (their paths all begin "<slug>/"), and
the sitemap every public page, in the same order. A build that changed one tenant of ten thousand writes both anew all
the same (the manifest is about 100 MB there), each made from every tenant's part read back from the cache
(policygen/fragments.py): most of the time that rebuild spent after placing the tenants. So as such a file is written,
where each tenant's entries begin and end in it is written down too (`Recorder`): a line a tenant, in the order of
the file. The record is put in place beside the output's stamp after the swap and before the stamp
(output.SiteWriter.finish), so a stamp found matching vouches for it: it was written by the build that wrote the file
now in the output folder. The next build, when the stamp matches, reads the record forward as it writes the new
file in the same order (`Copier`) and takes an unchanged tenant's entries from the previous file's bytes, read a
quarter of a megabyte at a time, instead of opening, checking and parsing the tenant's part.

What is copied is checked first, as cheaply as it is read (`Layout`): it must begin as that tenant's first entry
begins, its last entry must begin so too (the file is in path order, so every entry between is the tenant's), it must
end as an entry ends, and be followed by the end of the list or by an entry of another folder. Anything else, and the
entries are made again, as without a record.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from .jsonitems import json_string


@dataclass(frozen=True)
class Layout:
    """How the entries of a file look, as far as checking a copied tenant's needs: how each entry begins and ends,
    what stands between two and after the last, and how the first entry of a folder begins."""

    entry_start: bytes
    entry_end: bytes
    between: bytes
    end: bytes
    folder_start: Callable[[str], bytes]  # given "<slug>/"


def _manifest_folder_start(first: str) -> bytes:
    return b'    {\n      "path": ' + json_string(first)[:-1].encode()


# The manifest's file list, as output._entry_text and output.manifest write it.
MANIFEST = Layout(b'    {\n      "path": "', b"\n    }", b",\n", b"\n  ]", _manifest_folder_start)


def _tenant_item_start(slug: str) -> bytes:
    return f"    {json_string(slug)}: ".encode()


# The manifest's "tenants" object, an item a tenant under its slug (output._items_parts), the slug for its folder.
TENANTS = Layout(b'    "', b"\n    }", b",\n", b"\n  }", _tenant_item_start)


class Recorder:
    """Where each tenant's entries lie in a file being written, written down as they are written: a line a tenant,
    '<start> <end> <first>', in the order of the file. The record's file is the caller's (a temporary one, put in
    place once the file it describes is in the output, or dropped)."""

    def __init__(self, out: TextIO) -> None:
        self._out: TextIO | None = out
        self.failed = False  # a line could not be written: the record is not to be kept

    @classmethod
    def to(cls, file: Path) -> Recorder | None:
        """A recorder writing *file* (made anew); None when it cannot be written (then no record is kept)."""
        try:
            return cls(file.open("w", encoding="utf-8"))
        except OSError:
            return None

    def add(self, first: str, start: int, end: int) -> None:
        if self._out is not None:
            try:
                self._out.write(f"{start} {end} {first}\n")
            except OSError:
                self.failed = True
                self.close()

    def close(self) -> None:
        if self._out is not None:
            try:
                self._out.close()
            except OSError:
                self.failed = True
            self._out = None


class Copier:
    """The previous file's entries of each tenant, found by its record (Recorder), which is read forward: the
    tenants are asked for in the order of the file, as the new one is written."""

    def __init__(self, previous: BinaryIO, record: TextIO, layout: Layout) -> None:
        self._previous = previous  # held: its descriptor is read
        self._fd = previous.fileno()
        self._layout = layout
        self._lines = _spans(record)
        self._next: tuple[str, int, int] | None = next(self._lines, None)
        # What was read last of the file, from where: asked in the order of the file, tenants' entries are read a
        # piece of READ_AHEAD bytes at a time, not with a read each.
        self._read, self._read_at = b"", 0

    def entries(self, first: str) -> bytes | None:
        """The previous file's entries of the folder *first* ("<slug>/"; the slug alone in the "tenants" object), as
        written there; None when the record has none for it, or they are not where it says (then made again)."""
        while self._next is not None and self._next[0] < first:
            self._next = next(self._lines, None)
        if self._next is None or self._next[0] != first:
            return None
        _, start, end = self._next
        layout = self._layout
        begins = layout.folder_start(first)
        try:
            data = self._bytes(start, end + len(layout.between) + len(begins))
        except OSError:
            return None
        entries, after = data[: end - start], data[end - start :]
        following = after[len(layout.between) :]  # the start of the next entry, as long as this one's
        whole = after.startswith(layout.end) or (
            after.startswith(layout.between)
            and len(following) == len(begins)
            and following.startswith(layout.entry_start)
            and following != begins  # of another folder: all of this one's are in *entries*
        )
        # Its last entry is the folder's too: the file is in path order, so then every entry between is.
        last = entries.rfind(layout.between + layout.entry_start)
        own = last == -1 or entries.startswith(begins, last + len(layout.between))
        if not (entries.startswith(begins) and entries.endswith(layout.entry_end) and whole and own):
            return None
        return entries

    def _bytes(self, start: int, end: int) -> bytes:
        """The file's bytes from *start* to *end* (fewer at its end)."""
        if start < self._read_at or end > self._read_at + len(self._read):
            self._read_at, self._read = start, os.pread(self._fd, max(end - start, READ_AHEAD), start)
        return self._read[start - self._read_at : end - self._read_at]


READ_AHEAD = 1 << 18  # bytes of the previous file read at a time (three files copied from: 0.75 MB held at most)


def _spans(record: TextIO) -> Iterator[tuple[str, int, int]]:
    """The record's lines as (first, start, end), in the order of the file; a damaged line ends them."""
    at = 0
    for line in record:
        start, _, rest = line.rstrip("\n").partition(" ")
        end, _, first = rest.partition(" ")
        if not (start.isdigit() and end.isdigit() and first) or " " in first:
            return
        span = (first, int(start), int(end))
        if span[1] < at or span[2] <= span[1]:
            return  # out of order: not a record written as a file was
        at = span[2]
        yield span


@dataclass(frozen=True)
class Spans:
    """What a build that writes a site-wide file does with spans: copy unchanged tenants' entries from the previous
    file (*copier*, when it can be trusted) and write down where each tenant's lie in the new one (*recorder*)."""

    copier: Copier | None = None
    recorder: Recorder | None = None


NO_SPANS = Spans()  # a file written without a previous one to copy from, its spans not written down


@dataclass(frozen=True)
class SiteSpans:
    """The spans of the manifest's file list and "tenants" object, and of sitemap.xml."""

    manifest: Spans = NO_SPANS
    tenants: Spans = NO_SPANS
    sitemap: Spans = NO_SPANS


NO_SITE_SPANS = SiteSpans()
