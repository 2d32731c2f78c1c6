"""Writing the output folder so that a failure never leaves it half-built.

Everything is written into a hidden staging folder beside the output, then the
two are swapped with one atomic rename (renameat2 RENAME_EXCHANGE on Linux;
two renames elsewhere, with recovery of the previous output on the next run).

After the swap the staging folder holds the previous output. Given a spare folder
(the project's .cache/policygen/), it is kept there instead of deleted, and the next
build moves it back to staging and brings it up to date: only files whose bytes
changed are written, so a build that changed little writes little. A kept file is
never trusted: it is compared byte for byte with what the build made, or is the very
file of the previous output whose hash the build checked. A deleted or damaged spare
only makes the next write a full one.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import functools
import hashlib
import heapq
import itertools
import json
import os
import re
import shutil
import stat
import sys
import threading
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from .errors import UsageError
from .filebytes import write_new
from .jsonitems import array_items, indented, json_string

# The output folder's lock, cache and swap live in policygen/outfolder.py; those imported "as" themselves are
# what the engine and others take from here
from .outfolder import CacheRecords as CacheRecords
from .outfolder import cache_file as cache_file
from .outfolder import cache_record as cache_record
from .outfolder import (
    one_writer,
    plain_folder,
    previous_folder,
    record_stamp,
    recover,
    staging_folder,
    stamp_file,
    trash_folder,
    write_cache_lines,
)
from .outfolder import spare_folder as spare_folder
from .outfolder import unlinked_cache as unlinked_cache
from .outfolder import untouched as untouched
from .outfolder import write_cache_record as write_cache_record
from .paths import MANIFEST_PATH, SLUG, SortedNames
from .signing import open_regular
from .spans import Recorder
from .statcache import NO_HASHES, Ahead, KeptFolders, Matched, SameBytes, TopHashes, folders_seen

KINDS = ("page", "index", "archive", "history", "snippet", "feed", "redline", "notice", "data", "label", "asset")


@dataclass(frozen=True, slots=True)
class Output:
    """One file of the built site and what it is.

    Its bytes are in `data`, or, once written (a streaming build writes each tenant's files as soon as
    they are made, policygen/engine.py), only on disk: then `data` is empty, `size` and `sha256` say
    what was written and `origin`, if set, is a file holding those bytes."""

    path: str  # relative, with '/' separators
    kind: str
    data: bytes
    tenant: str | None = None
    document: str | None = None
    version: str | None = None
    effective: dt.date | None = None
    app: str | None = None
    # The same bytes in the previous output (a file path): linked instead of written again (not part of the manifest).
    origin: str | None = field(default=None, compare=False, repr=False)
    # The SHA-256 of data, when the build already checked it (a reused file): not computed again.
    sha256: str | None = field(default=None, compare=False, repr=False)
    # Set when the bytes are not in memory: how many there are (they are in `origin`, or already written).
    size: int | None = field(default=None, compare=False, repr=False)

    @property
    def length(self) -> int:
        return len(self.data) if self.size is None else self.size

    def on_disk(self, origin: str | None = None) -> Output:
        """This file without its bytes in memory, once they are written (in *origin*, if given)."""
        if self.size is not None:
            return self if origin is None else replace(self, origin=origin)
        digest = self.sha256 or hashlib.sha256(self.data).hexdigest()
        # Made field by field, not by dataclasses.replace, which looks up the class's fields each time (2.7 against
        # 1.2 µs, for each of a site's files); a test holds it to replace's answer for every field there is.
        return Output(
            path=self.path,
            kind=self.kind,
            data=b"",
            tenant=self.tenant,
            document=self.document,
            version=self.version,
            effective=self.effective,
            app=self.app,
            origin=origin,
            sha256=digest,
            size=len(self.data),
        )

    def entry(self) -> dict[str, object]:
        entry: dict[str, object] = {
            "path": self.path,
            "kind": self.kind,
            "tenant": self.tenant,
            "document": self.document,
            "version": self.version,
            "effective": self.effective.isoformat() if self.effective else None,
            "sha256": self.sha256 or hashlib.sha256(self.data).hexdigest(),
            "bytes": self.length,
        }
        if self.app is not None:
            entry["app"] = self.app
        return entry

    @classmethod
    def from_entry(cls, entry: dict[str, object], data: bytes, origin: str | None = None) -> Output:
        """The output a manifest entry describes (the inverse of entry()), with its bytes read back."""
        effective = entry.get("effective")
        return cls(
            str(entry["path"]),
            str(entry["kind"]),
            data,
            tenant=_text(entry.get("tenant")),
            document=_text(entry.get("document")),
            version=_text(entry.get("version")),
            effective=dt.date.fromisoformat(str(effective)) if effective else None,
            app=_text(entry.get("app")),
            origin=origin,
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def check_out_dir(out: Path, reserved: Iterable[Path]) -> Path:
    """Refuse an output folder that is, contains or lies inside a source folder of the project,
    and one that holds files policygen did not write (a build replaces the whole folder)."""
    out = out.resolve()
    folders = [f.resolve() for f in reserved]
    for folder in folders:
        holds_others = any(other != folder and other.is_relative_to(folder) for other in folders)  # the root
        name = "the project folder" if holds_others else f"{folder.name}/"
        replaced = "a build replaces the whole output folder"
        if out == folder:
            where, why = f"the output folder cannot be {name}", replaced
        elif folder.is_relative_to(out):
            where, why = f"the output folder cannot hold {name}", replaced
        elif out.is_relative_to(folder) and not holds_others:
            where, why = f"the output folder cannot be inside {name}", "the next build would read its files as sources"
        else:
            continue
        raise UsageError(f"{where}: {why} (choose one such as build/)")
    if out.exists() and not out.is_dir():
        raise UsageError(f"the output path {out} is a file, not a folder")
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise UsageError(f"the output folder cannot be made: {above} is a file")
    if out.is_dir() and any(out.iterdir()) and not _written_by_policygen(out):
        raise UsageError(
            f"the output folder {out} holds files policygen did not write (it has no policygen "
            "manifest.json); a build replaces the whole folder, so choose a new or empty folder"
        )
    return out


_GENERATOR = b'"generator": "policygen"'  # what every manifest policygen wrote says (its first key, now)
_SCAN_PIECE = 1 << 16


def _written_by_policygen(out: Path) -> bool:
    """Whether the folder's manifest.json says policygen wrote it. Read a piece at a time, as far as the
    mark: a manifest takes about 9 kB a tenant (88 MB at 10,000), and the mark is its first key."""
    try:
        with (out / MANIFEST_PATH).open("rb") as f:
            before = b""  # the end of the previous piece, where the mark may begin
            while piece := f.read(_SCAN_PIECE):
                if _GENERATOR in before + piece:
                    return True
                before = piece[1 - len(_GENERATOR) :]
    except OSError:
        return False
    return False


@dataclass(frozen=True)
class Block:
    """Entries of manifest.json's file list that sort together, made when written: a tenant's folder
    (its files all start with "<slug>/", so they follow each other in path order)."""

    first: str  # sorts the block among the others: "<slug>/"
    text: Callable[[], str | bytes]  # its entries as written there, joined (files_text); bytes: encoded already


@dataclass(frozen=True)
class Items:
    """A JSON object of manifest.json whose items are made when written, one at a time. An item whose value is a
    CopiedItem is written as it is (policygen/spans.py)."""

    items: Callable[[], Iterable[tuple[str, object]]]


@dataclass(frozen=True)
class CopiedItem:
    """An item of an Items object, key and value, as the previous manifest holds it (policygen/spans.py)."""

    data: bytes


def manifest(
    outputs: list[Output],
    extra: dict[str, object] | None = None,
    into: Path | None = None,
    blocks: Iterable[Block] = (),
    recorder: Recorder | None = None,
    items_recorder: Recorder | None = None,
) -> Output:
    """manifest.json: every file with its kind, dates and hash (of *outputs* and of *blocks*, which come in
    path order), then *extra*;
    written as json.dumps(body, indent=2, ensure_ascii=False) would, but with the file list (a line per
    field of every file of the site) formatted by hand, since the json module encodes an indented dump in
    Python. A value of *extra* may be Items, an object dumped an item at a time.

    Given *into* (its path in the staging folder), the text is written there as it is made, a part at a
    time, and the output returned without its bytes: a large site's manifest is never whole in memory.
    The *recorder*, if given, writes down where each tenant's block lies in it, the *items_recorder* where each
    item of its Items values does, by key (policygen/spans.py)."""
    parts = _manifest_parts(outputs, extra or {}, blocks, recorder, items_recorder)
    if into is None:
        return Output(MANIFEST_PATH, "data", b"".join(parts))
    return write_streamed(into, parts, Output(MANIFEST_PATH, "data", b""))


def write_streamed(into: Path, parts: Iterable[bytes], output: Output) -> Output:
    """*output* (without its bytes), its bytes made a part at a time and written to *into*, its path in the
    staging folder, as they come: a large site's manifest, feed or sitemap is never whole in memory. The
    output is returned with its size and hash, and *into* as the file that holds them."""
    if into.is_dir() and not into.is_symlink():
        shutil.rmtree(into)  # an updated spare may hold anything where the file goes
    into.unlink(missing_ok=True)
    digest, size, batch, held = hashlib.sha256(), 0, [], 0
    with open(into, "xb") as file:
        for part in itertools.chain(parts, [None]):
            if part is not None:
                batch.append(part)
                held += len(part)
            # Written by the megabyte: a tenant's part is a few kB, so a batch counted in parts would not be small;
            # and by WRITE_PARTS parts: a theme's are a few bytes each, and joining a megabyte of them takes
            # 80 bytes more each (and each is 33 bytes more than its text): 10 MB.
            if held >= WRITE_BATCH or len(batch) >= WRITE_PARTS or (part is None and batch):
                data = b"".join(batch)
                digest.update(data)
                size += len(data)
                file.write(data)
                batch.clear()
                held = 0
    return replace(output, data=b"", origin=str(into), sha256=digest.hexdigest(), size=size)


WRITE_BATCH = 1 << 20  # bytes of a streamed file held before they are written
WRITE_PARTS = 4096  # parts of a streamed file held before they are written


def files_text(outputs: list[Output]) -> str:
    """The entries of *outputs* in manifest.json's file list, in path order, as written there."""
    return ",\n".join(_entry_text(o.entry()) for o in sorted(outputs, key=lambda o: o.path))


def _output_text(output: Output) -> str:
    return _entry_text(output.entry())


def block_first(block: Block) -> str:
    return block.first


MANIFEST_START = '{\n  "generator": "policygen",\n  "files": '  # every manifest's first bytes, then its file list


def manifest_file_entries(f: BinaryIO) -> Iterator[Any]:
    """The entries of the "files" list of the manifest open as *f*, read a piece at a time, as json.loads reads
    them (ValueError when the manifest does not begin as policygen writes every manifest): a large site's list
    is hundreds of MB once parsed whole."""
    start = len(MANIFEST_START)
    if os.pread(f.fileno(), start, 0) != MANIFEST_START.encode():
        raise ValueError("not laid out as policygen writes it")
    return array_items(f, start, os.fstat(f.fileno()).st_size, followed=True)


def _manifest_parts(
    outputs: list[Output],
    extra: dict[str, object],
    blocks: Iterable[Block],
    recorder: Recorder | None,
    items_recorder: Recorder | None = None,
) -> Iterator[bytes]:
    for key in extra:
        if key in {"generator", "files"}:
            raise ValueError(f"manifest key {key!r} is policygen's own")  # a bug, not bad input
    start = MANIFEST_START.encode()
    yield start
    at = len(start)  # where the next part begins in the file
    loose = sorted((Block(o.path, functools.partial(_output_text, o)) for o in outputs), key=block_first)
    ordered = heapq.merge(loose, blocks, key=block_first)  # the blocks come in order: a large site's are never all held
    written = 0
    for block in ordered:
        text = block.text()
        data = text.encode() if isinstance(text, str) else text
        if data:
            between = b",\n" if written else b"[\n"
            yield between
            yield data
            at += len(between)
            if recorder is not None and block.first.endswith("/"):  # a tenant's folder, not a file of the site's
                recorder.add(block.first, at, at + len(data))
            at += len(data)
            written += 1
    end = b"\n  ]" if written else b"[]"
    yield end
    at += len(end)
    for key, value in extra.items():
        head = f",\n  {json_string(key)}: ".encode()
        yield head
        at += len(head)
        if isinstance(value, Items):
            for part in _items_parts(value, at, items_recorder):
                yield part
                at += len(part)
        else:
            for text in _dumped(value):
                part = text.replace("\n", "\n  ").encode()  # newlines in strings are escaped
                yield part
                at += len(part)
    yield b"\n}\n"


_ITEM = "\n    "  # what an item's lines begin with in an object of the manifest's own


def _items_parts(value: Items, at: int, recorder: Recorder | None) -> Iterator[bytes]:
    """The object *value* as json.dumps(indent=2, ensure_ascii=False) writes it, nested a level (the manifest's
    own), an item at a time from the byte *at* of the file; where each item lies written down by the *recorder*."""
    written = 0
    for key, item in value.items():
        between = b",\n" if written else b"{\n"
        yield between
        at += len(between)
        data = (
            item.data
            if isinstance(item, CopiedItem)
            else f"    {json_string(str(key))}: {indented(item, _ITEM)}".encode()
        )
        yield data
        if recorder is not None:
            recorder.add(key, at, at + len(data))
        at += len(data)
        written += 1
    yield b"\n  }" if written else b"{}"


def _dumped(value: object) -> Iterator[str]:
    """json.dumps(value, indent=2, ensure_ascii=False) in parts: a non-empty object an item at a time."""
    items = value.items() if isinstance(value, dict) else None
    if items is None:
        yield json.dumps(value, indent=2, ensure_ascii=False)
        return
    written = 0
    for key, item in items:
        yield ("{\n" if not written else ",\n") + f"  {json_string(str(key))}: " + indented(item, "\n  ")
        written += 1
    yield "\n}" if written else "{}"


def _entry_text(entry: dict[str, object]) -> str:
    """One file's entry as an item of the indented "files" list: flat, of strings, ints and nulls."""
    fields = []
    for key, value in entry.items():
        if isinstance(value, str):
            text = json_string(value)
        elif value is None:
            text = "null"
        elif type(value) is int:
            text = str(value)
        else:
            text = json.dumps(value, ensure_ascii=False)
        fields.append(f'      "{key}": {text}')
    return "    {\n" + ",\n".join(fields) + "\n    }"


Discard = Callable[[Path], None]


def write_site(
    out: Path,
    outputs: list[Output],
    discard: Discard = shutil.rmtree,
    spare: Path | None = None,
    writer: SiteWriter | None = None,
) -> None:
    """Write *outputs* as the new content of *out*, atomically; then keep the previous output as *spare*
    for the next build to update, or else *discard* it (given a folder beside *out*; serve removes it
    in the background, after announcing the new site). Given the *writer* a streaming build opened
    (its tenants' folders already written), only the rest of *outputs* is written."""
    if writer is None:
        with SiteWriter(out, spare) as fresh:
            fresh.finish(outputs, discard)
    else:
        writer.finish(outputs, discard)


@dataclass(frozen=True)
class Staging:
    """The folder a new output is written into before the swap, as a worker process needs to know it."""

    folder: Path
    updating: bool  # it holds a previous output (the spare) to bring up to date, not nothing


class SiteWriter:
    """A new output written part by part into the staging folder, then swapped in at once.

    Holds the output's lock from start to end: no other build writes into the same staging folder. Each
    tenant's folder is written whole as soon as the tenant is rendered (put, or put_folder in a worker),
    so no build holds the whole site in memory; finish() writes the rest, removes what the new site does
    not hold, swaps, and keeps the previous output as the spare. Leaving the block without finish() (a
    problem in an input, an error, Ctrl-C) leaves the output as it was; what was written is kept as the
    spare (every file of it is checked again before it is used), or removed."""

    def __init__(
        self, out: Path, spare: Path | None, stamp: Matched | None = None, listed: ListedNames | None = None
    ) -> None:
        self.out = out
        self.spare = spare
        self.stamp = None if stamp is None else stamp.proof  # the output's, found matching (outfolder.untouched)
        # The stat of the output's folders as that check saw them (Matched.folders): what is remembered of them.
        self._seen: Mapping[str, bytes] = {} if stamp is None else stamp.folders
        self.listed = listed  # the previous manifest's top-level names, if the build read them (ListedNames)
        # Tenant folders of the spare kept whole, with their folders as keep_intact saw them (the stamp lists
        # them so: a tuple, a tenth of a set's size, for each of a hundred thousand tenants).
        self.whole = KeptFolders()
        # Top-level folders already written whole, as they came (a list: a set of a hundred thousand names
        # is five times its size); sorted when the site is finished, and looked up by bisection then.
        self.done: list[str] = []
        # Tenant folders of the spare known to hold exactly the previous output's files (see keep_intact),
        # by the stat of their folders; and those of the output, for the next build.
        self.intact: TopHashes = NO_HASHES
        self._intact_next: list[str] = []  # of them, the folders remembered (their stat is in _seen)
        self._staging: Staging | None = None
        self._spans: dict[str, Recorder] = {}  # where each tenant's entries lie in the new site-wide files (recorder)
        self._finished = False
        self._kept_spare = False
        self._ahead: Ahead | None = None  # the stamp's groups of the tenant folders, walked before the swap
        self._lock = ExitStack()

    def __enter__(self) -> SiteWriter:
        self._lock.enter_context(one_writer(self.out))
        try:
            recover(self.out)
            folder = staging_folder(self.out)
            # Dropped before the spare is taken: from here it is being updated, and a crash must not leave
            # the record of it as it was.
            self.intact = _take_intact(self.spare) if self.spare is not None else NO_HASHES
            updating = self.spare is not None and _take_spare(self.spare, folder)
            if not updating:
                self.intact = NO_HASHES
                folder.mkdir(parents=True)
        except BaseException:
            self._lock.close()
            raise
        self._staging = Staging(folder, updating)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.spare is not None:  # not finished: a record made is of no file in the output
                for what, recorder in self._spans.items():
                    recorder.close()
                    _written_record(self.spare, what).unlink(missing_ok=True)
            folder = self.staging.folder
            kept = self._finished or not folder.exists() or (self.spare is not None and _keep_spare(folder, self.spare))
            if not kept:
                shutil.rmtree(folder, ignore_errors=True)
        finally:
            if self._ahead is not None:
                self._ahead.close()
            self._lock.close()

    @property
    def staging(self) -> Staging:
        if self._staging is None:
            raise RuntimeError("SiteWriter used outside its with block")  # a bug
        return self._staging

    def put(self, top: str, outputs: list[Output], untouched: bool = False) -> list[Output]:
        """Write the folder *top* of the new site, holding exactly *outputs*; the same, without their bytes.

        With the output *untouched* (its stamp found matching), *outputs* are the output's own files of that
        folder, as the stamp shows them: when each is kept or linked (none written), the folder is
        remembered for the next build (keep_intact)."""
        self.done.append(top)
        kept, written = _put_folder(self.staging, top, outputs)
        if untouched and not written:
            self._remember(top)
        return kept

    def link_whole(self, top: str, previous: str) -> bool:
        """Whether the previous output's folder *top* (in *previous*, that output's folder) was linked whole into a
        new staging folder: each of its folders made and each of its files linked as the folder lists them, with no
        record of each file made or read. For a folder of an output untouched since the build that wrote it (its
        stamp found matching, as for put): it then holds exactly the tenant's files. Not into an updated spare,
        whose copy of the folder must be compared first (put). False, and nothing of it left in the staging folder,
        when a folder cannot be (an entry that is neither a folder nor a regular file, another file system): the
        caller puts it file by file then.

        A first rebuild after a cold build links every unchanged tenant so: 29,000 files at 1,000 tenants, where a
        record of each, decoded from the tenant's part and looked at, cost more than the link (performance.md)."""
        if self.staging.updating or not _LINKS_BY_FOLDER:
            return False
        target = os.path.join(self.staging.folder, top)
        try:
            os.mkdir(target)
        except OSError:
            return False  # already there (written earlier), or no folder can be made: put finds out
        try:
            _link_tree(os.path.join(previous, top), target)
        except (OSError, ValueError):
            shutil.rmtree(target, ignore_errors=True)
            return False
        self.done.append(top)
        self._remember(top)
        return True

    def keep_intact(self, top: str, folders: Collection[str]) -> bool:
        """Whether the spare's folder *top* (now in the staging folder) is known to hold exactly the files
        of the output's, and is kept as it is, without looking at one file.

        It is when the build that wrote the output linked every file of that folder from the previous
        output (which became the spare) with the output untouched (its stamp), and the stat of every
        folder in the spare's *top* (its *folders*) is still the one recorded then: no entry was added,
        removed or renamed in it, and its files are the output's by hard link, so a file edited, replaced
        or removed in either changes the output's stamp (link counts and change times are in it), which the
        caller has found matching (as for put, untouched)."""
        expected = self.intact.get(top)
        found = None if expected is None else folders_seen(str(self.staging.folder), folders)
        if found is None or found[0] != expected:
            return False
        self.done.append(top)
        self.whole.add(top, found[1])
        self._remember(top)
        return True

    def take_placed(self) -> Placed:
        """What placing folders here (put, keep_intact) added since the last call, forgotten here: a process
        forked from the build's (policygen/beside.py) places some tenants' folders in the same staging folder,
        and sends this to the build's own writer (add_placed), which swaps, records and stamps them all."""
        placed = Placed(self.done, self.whole, self._intact_next)
        self.done, self.whole, self._intact_next = [], KeptFolders(), []
        return placed

    def add_placed(self, placed: Placed) -> None:
        """Folders another process placed in this writer's staging folder (take_placed), as if placed here."""
        # Their names are held to the end: interned, they are the build's own (tenantfolders.tenant_slugs), not copies.
        self.done.extend(map(sys.intern, placed.done))
        self.whole.extend(placed.whole)
        self._intact_next.extend(map(sys.intern, placed.remembered))

    def _remember(self, top: str) -> None:
        # The output's folder becomes the spare after the swap: its folders' stat, unless changed lately, as the
        # stamp check saw it. It is the stat of the folders the stamp lists, which are the output's own: those
        # of its files the caller has (a folder left out would change the hash, never be taken as intact).
        if top in self._seen:
            self._intact_next.append(top)

    def recorder(self, what: str) -> Recorder | None:
        """What writes down where each tenant's entries lie in the site-wide file *what* (one of SPANS) this build
        writes, to be kept with the output's stamp for the next build (policygen/spans.py); None where no stamp is
        kept (no spare) or the record cannot be written. Asked before the file is written; finish() keeps the
        record or drops it."""
        if self.spare is None:
            return None
        file = _written_record(self.spare, what)
        try:
            if not plain_folder(file.parent):
                return None
        except OSError:
            return None
        recorder = Recorder.to(file)
        if recorder is not None:
            self._spans[what] = recorder
        return recorder

    def finish(self, outputs: list[Output], discard: Discard = shutil.rmtree) -> None:
        """Write the files of *outputs* not in a folder put already, swap the new site in and keep or
        *discard* the previous one."""
        self.done.sort()
        previous = _write_site(self, outputs)
        if self.spare is not None:
            self._keep_spans(self.spare)
        if self._kept_spare and self.spare is not None and self._intact_next:
            remember_intact(self.spare, self._seen, self._intact_next)
        if previous is not None:
            discard(previous)  # still holding the lock: a waiting build's recover() would remove it too
        if self.spare is not None:  # after the discard: unlinking the previous files changes their links' stat
            # Tenants' folders were written as they came (done), not listed in *outputs*. Those kept whole hold
            # the previous output's files, unless it was discarded (unlinking them changed their stat).
            whole = self.whole if self._kept_spare else None
            names = itertools.chain(top_level(outputs), self.done)
            record_stamp(self.out, names, stamp_file(self.spare), whole, self.stamp, self._ahead)

    def walk_ahead(self) -> None:
        """Walk the stamp's groups of the tenant folders written so far, in the staging folder, for the stamp
        after the swap to copy (statcache.Ahead): a build calls it while the kernel writes its files to disk
        (flushing), where it would otherwise wait, then walk them. Only where nothing after will change them:
        no output is there yet (a cold build's, or one deleted), so the swap moves the staging folder in, stat
        and all, and discards no previous output whose files they share."""
        if self.spare is None or self._ahead is not None or os.path.lexists(self.out):
            return
        stamps = stamp_file(self.spare).parent
        try:
            if plain_folder(stamps):
                self.done.sort()  # as finish sorts it: the walk holds the list, in the stamp's order
                self._ahead = Ahead.walk(self.staging.folder, self.done, stamps)
        except OSError:
            pass  # the walk after the swap walks them

    def _keep_spans(self, spare: Path) -> None:
        """The records of where each tenant's entries lie in the site-wide files now in the output (recorder), put
        in place after the swap and before the stamp, so that a stamp found matching vouches for them; any earlier
        one is removed, so that none describes another file."""
        recorders, self._spans = self._spans, {}
        for what in SPANS:
            written, kept = _written_record(spare, what), span_record(spare, what)
            recorder = recorders.get(what)
            with contextlib.suppress(OSError):
                if recorder is not None:
                    recorder.close()
                    if not recorder.failed:
                        os.replace(written, kept)
                        continue
                kept.unlink(missing_ok=True)
                written.unlink(missing_ok=True)


# The site-wide files whose tenants' entries a build records where they lie (policygen/spans.py), by the name of
# their record beside the output's stamp.
MANIFEST_SPANS = "spans"
TENANTS_SPANS = "tenants-spans"
SITEMAP_SPANS = "sitemap-spans"
SPANS = (MANIFEST_SPANS, TENANTS_SPANS, SITEMAP_SPANS)


def span_record(spare: Path, what: str) -> Path:
    """The record of where each tenant's entries lie in the file *what* (one of SPANS) of the output whose spare
    is *spare*: lines of text, not JSON (spans.Recorder)."""
    return cache_record(spare, what, ".txt")


def _written_record(spare: Path, what: str) -> Path:
    """The same, while the build that writes it is not done."""
    return cache_record(spare, f"{what}-written", ".txt")


@dataclass(frozen=True)
class Placed:
    """What a SiteWriter's put and keep_intact added: the folders done, those kept whole (with their folders
    as seen) and those remembered for the next build (SiteWriter.take_placed)."""

    done: list[str]
    whole: KeptFolders
    remembered: list[str]


def put_folder(staging: Staging, top: str, outputs: list[Output]) -> list[Output]:
    """Make the folder *top* of the staging folder hold exactly *outputs* (each a path inside it): files
    that already hold their bytes are kept, the rest written or linked, anything else removed. Returns
    the outputs without their bytes: the caller keeps only what the manifest needs."""
    return _put_folder(staging, top, outputs)[0]


def folders_of(top: str, paths: Iterable[str]) -> set[str]:
    """The folder *top* and every folder under it that holds one of *paths*."""
    folders = {top}
    for path in paths:
        i = path.rfind("/")
        while i > 0 and path[:i] not in folders:
            folders.add(path[:i])
            i = path.rfind("/", 0, i)
    return folders


def intact_record(spare: Path) -> Path:
    """The record of the intact tenant folders of the spare *spare* (SiteWriter.keep_intact): a line each, sorted
    by name, '<folders hash in hex> <name>'. Lines, not a JSON object: it is written and read a line at a time, where
    a dict of a hundred thousand tenants' and its text made the largest rebuilds' peak (9 MB at 30,000)."""
    return cache_record(spare, "intact", ".txt")


def remember_intact(spare: Path, seen: Mapping[str, bytes], names: list[str]) -> bool:
    """Write the intact record of *spare* (intact_record): each of *names* (sorted here, in place) with its folders
    hash in *seen*, a line at a time; whether it was written."""
    names.sort()
    return write_cache_lines(intact_record(spare), (f"{seen[name].hex()} {name}\n" for name in names))


_INTACT_LINE = re.compile(rb"([0-9a-f]{64}) (%s)\n" % SLUG.pattern.encode())  # a name is a tenant's
_INTACT_LINE_MOST = 64 + 1 + 63 + 1  # bytes: a longer line is not one of the record's (_INTACT_LINE)


def read_intact(file: Path) -> TopHashes | None:
    """The intact record *file* (intact_record): each folder's hash under its interned name (the build's own:
    tenantfolders.tenant_slugs), held as TopHashes does, 40 bytes a tenant; None when there is none or it is not one
    that a build wrote (a line of another form, names out of order), or one in a cache reached through a link."""
    return _intact_lines(file) if unlinked_cache(file) else None


def _intact_lines(file: Path) -> TopHashes | None:
    """read_intact's record, its cache folder known to be reached through no link."""
    names: list[str] = []
    digests = bytearray()
    try:
        with os.fdopen(open_regular(file), "rb") as f:  # never a link's or a pipe's
            while line := f.readline(_INTACT_LINE_MOST):
                found = _INTACT_LINE.fullmatch(line)
                if found is None:
                    return None
                name = sys.intern(found[2].decode("utf-8"))
                if names and name <= names[-1]:
                    return None
                names.append(name)
                digests += bytes.fromhex(found[1].decode("ascii"))
    except (OSError, UnicodeDecodeError):
        return None
    return TopHashes(names, bytes(digests))


def _take_intact(spare: Path) -> TopHashes:
    """The spare's intact record (read_intact), removed as it is read: from here the spare is being updated."""
    file = intact_record(spare)
    if not unlinked_cache(file):
        return NO_HASHES
    found = _intact_lines(file)
    try:
        file.unlink()
    except OSError:
        return NO_HASHES  # a record that stays could outlive the spare it describes
    return NO_HASHES if found is None else found


def _put_folder(staging: Staging, top: str, outputs: list[Output]) -> tuple[list[Output], list[Path]]:
    inside = top + "/"
    for item in outputs:
        if not item.path.startswith(inside):
            raise ValueError(f"output {item.path!r} is not inside {top!r}")  # a bug, not bad input
    kept = _unchanged(staging.folder, outputs, top) if staging.updating else set()
    written = _write_files(staging.folder, outputs, kept)
    if _syncfs is None:  # else one syncfs before the swap flushes every process's files at once
        _fsync(written)
    return [item.on_disk() for item in outputs], written


def top_level(outputs: list[Output]) -> set[str]:
    """The names in the output folder that *outputs* use (paths are relative, '/'-separated, never '//')."""
    return {o.path.split("/", 1)[0] for o in outputs}


def project_lock(root: Path) -> AbstractContextManager[None]:
    """The lock a build into the project's build/ takes (on the project folder). `policygen release`
    takes it too: two releases at once would both number their snapshot 'version 3'."""
    return one_writer(root / "build")


def _write_site(writer: SiteWriter, outputs: list[Output]) -> Path | None:
    out, staging = writer.out, writer.staging.folder
    done = SortedNames(writer.done)  # sorted by finish
    rest = [o for o in outputs if o.path.split("/", 1)[0] not in done]
    kept = _unchanged(staging, rest, skip=done) if writer.staging.updating else set()
    written = _write_files(staging, rest, kept)
    _fsync(written, staging)
    _carry_user_entries(out, staging, (top_level(outputs), done), writer.listed)
    if out.is_dir():  # a private (0700) output folder stays private
        os.chmod(staging, stat.S_IMODE(out.stat().st_mode))
    _swap(staging, out)
    writer._finished = True
    if not staging.exists():
        return None
    if writer.spare is not None and _keep_spare(staging, writer.spare):
        writer._kept_spare = True
        return None
    trash = trash_folder(out)  # after the swap, staging holds the previous output
    try:
        staging.rename(trash)
    except OSError:
        return staging  # the new site is in place: remove the previous one where it is
    return trash


def _take_spare(spare: Path, staging: Path) -> bool:
    """Move the spare (a previous output) to *staging*, to be updated there; False when there is none.
    From here a crash leaves a staging folder, which recover() removes: the spare is never half-updated."""
    try:
        if spare.parent.resolve() != spare.parent or not stat.S_ISDIR(spare.lstat().st_mode):
            return False  # none, or one reached through a link: never used
    except OSError:
        return False
    try:
        spare.rename(staging)
        return True
    except OSError:
        shutil.rmtree(spare, ignore_errors=True)  # e.g. on another file system than the output
        return False


def _keep_spare(previous: Path, spare: Path) -> bool:
    try:
        if not plain_folder(spare.parent):
            return False
        previous.rename(spare)
        return True
    except OSError:
        return False


def _unchanged(
    staging: Path, outputs: list[Output], top: str | None = None, skip: Container[str] = frozenset()
) -> set[str]:
    """The files of a staging folder (of its folder *top* only, if given; not of its top-level entries
    *skip*) that already hold what *outputs* say, byte for byte; every other file, folder or link there
    is removed, so that it holds exactly the kept files."""
    wanted = {o.path: o for o in outputs}
    device = staging.lstat().st_dev
    kept: set[str] = set()
    folders: list[str] = []
    todo = [("", str(staging))]
    if top is not None:
        path = os.path.join(staging, top)
        todo = [(top + "/", path)] if os.path.isdir(path) and not os.path.islink(path) else []
        if not todo and os.path.lexists(path):
            os.unlink(path)  # a file or link where the folder goes
    while todo:  # plain strings and scandir: a build of a whole site looks at every file here
        prefix, folder = todo.pop()
        folders.append(prefix)
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if not prefix and entry.name in skip:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if rel in wanted:
                        shutil.rmtree(entry.path)  # a folder where a file must go
                    else:
                        todo.append((rel + "/", entry.path))
                elif _holds(entry, wanted.get(rel), device):
                    kept.add(rel)
                else:
                    os.unlink(entry.path)  # links included: never followed
    # What is left of a folder that holds no kept file is empty folders: remove them, deepest first.
    needed: set[str] = set()
    for path in kept:
        i = path.rfind("/")
        while i > 0 and path[: i + 1] not in needed:  # a prefix already needed has its parents there too
            needed.add(path[: i + 1])
            i = path.rfind("/", 0, i)
    for prefix in sorted(folders, key=len, reverse=True):
        if prefix and prefix not in needed:
            os.rmdir(staging / prefix)
    return kept


def _holds(entry: os.DirEntry[str], item: Output | None, device: int) -> bool:
    """Whether *entry* is a regular file holding exactly the bytes of *item*."""
    if item is None or not entry.is_file(follow_symlinks=False):
        return False
    try:
        if item.origin is not None:
            origin = os.lstat(item.origin)
            if origin.st_ino == entry.inode() and origin.st_dev == device:
                return True  # the very file the previous output holds, whose bytes the build has checked
        if item.size is not None:
            return False  # its bytes are not in memory: linking the origin costs less than comparing
        if entry.stat(follow_symlinks=False).st_size != len(item.data):
            return False
        with open(entry.path, "rb") as f:
            return f.read() == item.data
    except OSError:
        return False


def _write_files(staging: Path, outputs: list[Output], kept: set[str]) -> list[Path]:
    """Write *outputs* (but those *kept*) into *staging*; the files written (not linked), to be synced."""
    seen: set[str] = set()
    base = str(staging)
    folders = {base}
    written: list[Path] = []
    # Many files are byte-identical (a section snippet shared by apps): write each content once and
    # link the rest to it. The tree reads the same; creating files is what a build waits on.
    first: dict[bytes, str] = {}
    for item in outputs:
        parts = item.path.split("/")
        if item.path.startswith("/") or ".." in parts or item.path in seen:
            raise ValueError(f"bad or repeated output path {item.path!r}")  # a bug, not bad input
        seen.add(item.path)
        in_memory = item.size is None
        target = os.path.join(base, *parts)  # paths, not Paths: a tenant's thirty files are a build's hot loop
        if item.origin == target:
            continue  # written in place as it was made (the manifest)
        if item.path in kept:  # already there with these bytes (an updated spare)
            if in_memory:
                first.setdefault(item.data, target)
            continue
        parent = os.path.dirname(target)
        if parent not in folders:
            _make_folders(parent, folders)
        for source in (item.origin, first.get(item.data) if in_memory else None):
            if source is not None:
                try:
                    os.link(source, target)  # the same bytes are already on disk
                    break
                except OSError:
                    pass
        else:
            try:
                if in_memory:
                    write_new(target, item.data)
                elif item.origin is not None:
                    shutil.copyfile(item.origin, target)  # a file checked by the build; no link possible
                else:
                    raise ValueError(f"output {item.path!r} has no bytes to write")  # a bug, not bad input
            except OSError as exc:  # a full disk says only "No space left on device": say where
                raise _naming(exc, Path(target)) from None
            written.append(Path(target))
        if in_memory:
            first.setdefault(item.data, target)
    return written


# Files linked by name between two open folders (linkat): no path is looked up again for each file.
_LINKS_BY_FOLDER = os.link in os.supports_dir_fd and os.scandir in os.supports_fd


def _link_tree(source: str, target: str) -> None:
    """Link every file under the folder *source* into the empty folder *target*, making its folders as they are
    met. ValueError at an entry that is neither a folder nor a regular file (a link is never followed)."""
    todo = [(source, target)]  # folders to link from, and into
    while todo:
        here, there = todo.pop()
        origin = os.open(here, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            into = os.open(there, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                with os.scandir(origin) as entries:
                    for entry in entries:
                        name = entry.name
                        if entry.is_dir(follow_symlinks=False):
                            os.mkdir(name, dir_fd=into)
                            todo.append((os.path.join(here, name), os.path.join(there, name)))
                        elif entry.is_file(follow_symlinks=False):
                            os.link(name, name, src_dir_fd=origin, dst_dir_fd=into, follow_symlinks=False)
                        else:
                            raise ValueError(f"{os.path.join(here, name)} is neither a folder nor a file")
            finally:
                os.close(into)
        finally:
            os.close(origin)


def _make_folders(folder: str, made: set[str]) -> None:
    """Make *folder* and the folders above it up to one in *made* (folders known to be there, the staging folder
    among them), as mkdir(parents=True, exist_ok=True) does; each one added to *made*. One mkdir a folder, top
    down: os.makedirs would first ask whether each folder above is there (a stat each, in Python)."""
    missing = []
    while folder not in made:
        missing.append(folder)
        above = os.path.dirname(folder)
        if above == folder:
            break
        folder = above
    for name in reversed(missing):
        try:
            os.mkdir(name)
        except FileExistsError:
            if not os.path.isdir(name):
                raise
        made.add(name)


def _naming(error: OSError, path: Path) -> OSError:
    """*error* with *path* as its file name, if it has none, so the message says where."""
    if error.filename is not None:
        return error
    return type(error)(error.errno, error.strerror or str(error), str(path))


def _carry_user_entries(
    out: Path, staging: Path, ours_now: Sequence[Container[str]], listed: ListedNames | None = None
) -> None:
    """Carry the top-level entries of the output folder that policygen did not write (a CNAME, .nojekyll,
    .git) into the new site: a folder published to GitHub Pages keeps them build after build.

    They are hard-linked (copied where links are impossible), never moved: until the swap the previous
    output stays whole, so a failure or crash cannot lose them. What a previous build wrote (in its
    manifest) is policygen's and is replaced; a name the new site itself uses (in one of *ours_now*: its
    top-level files, the tenants' folders written) is policygen's too. The
    manifest's names are taken from *listed* when it was read from the very bytes there now."""
    ours_before = _manifest_top_level(out, listed)
    if ours_before is None:
        return
    ours = (ours_before, *ours_now)
    # Names, not Paths, and only the user's held: the output holds a folder for each of a hundred thousand tenants.
    with os.scandir(out) as entries:
        theirs = sorted(e.name for e in entries if e.name != MANIFEST_PATH and not any(e.name in n for n in ours))
    for name in theirs:
        entry, target = out / name, staging / name
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
            else:
                _link_or_copy(entry, target)
        except shutil.Error as exc:
            first = exc.args[0][0] if exc.args and exc.args[0] else (str(entry), "", "cannot copy")
            raise OSError(errno.EIO, f"cannot keep {entry.name} in the new site ({first[2]})", first[0]) from None


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    if os.path.islink(source):
        os.symlink(os.readlink(source), target)
        return
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


@dataclass(frozen=True)
class ListedNames:
    """The top-level names of the files a manifest lists (listed_top_level) and the manifest's own, of the
    manifest whose bytes *same* tells. A build parses the previous manifest once (engine.Previous), or takes the
    names from the output's stamp, and hands these to the swap, which uses them only if the manifest still has
    those bytes (it is in the output folder, so anyone may have replaced it since), and otherwise reads it again."""

    same: SameBytes
    # With the manifest's own name, which the stamp lists too: the stamp's list itself (looked up by bisection), not a
    # copy of it without that name nor a set of it, for each of a hundred thousand tenants.
    names: Collection[str]


def listed_top_level(data: Any) -> set[str]:
    """The first path segments of every file in a parsed manifest's list; KeyError, TypeError or ValueError
    when it has no such list."""
    return {str(entry["path"]).split("/", 1)[0] for entry in data["files"]}


def _manifest_top_level(out: Path, listed: ListedNames | None = None) -> Container[str] | None:
    """The first path segments of every file the previous build listed (the manifest's own name may be among them);
    None when there is no previous build."""
    try:
        with (out / MANIFEST_PATH).open("rb") as f:
            if listed is not None and listed.same.held_by(f):
                return listed.names
            try:  # as policygen writes it: an entry at a time (the build read its tenants alone, or nothing)
                return {str(entry["path"]).split("/", 1)[0] for entry in manifest_file_entries(f)}
            except ValueError:
                f.seek(0)
                raw = f.read()
        return listed_top_level(json.loads(raw.decode("utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return {p.name for p in out.iterdir()}  # a damaged manifest: nothing can be told apart, so keep nothing


def _fsync(files: list[Path], staging: Path | None = None) -> None:
    # Data must be on disk before the rename makes it visible, or a power cut could swap in empty files.
    # Given the *staging* folder: also the files other processes wrote into it (a streaming build's
    # workers), which one syncfs covers; without syncfs each process synced its own.
    if not files and (staging is None or _syncfs is None):
        return
    if _syncfs is not None:  # one call flushes the whole file system: far cheaper than a thousand fsyncs
        fd = os.open(staging if staging is not None else files[0].parent, os.O_RDONLY)
        try:
            if _syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for file in files:
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError as exc:
            raise _naming(exc, file) from None
        finally:
            os.close(fd)


_RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)  # the C library the process runs on (find_library would run ldconfig)
_renameat2 = getattr(_libc, "renameat2", None)
_syncfs = getattr(_libc, "syncfs", None)


@contextmanager
def flushing(folder: Path) -> Iterator[None]:
    """While inside, a thread of this process flushes the file system holding *folder* to disk once. A build enters
    it once its tenants are written, for the site-wide files: then one core makes those and the other is idle,
    while the syncfs before the swap would otherwise wait for every file at once (0.8 s after a cold build of
    3,000 tenants on the test machine, the cores idle). That syncfs still runs and is checked; this one only
    starts the writing sooner, so its failure is not an error. Not entered where the build may still fork (its
    worker pool, the stamp's second walker): a thread running in a process that forks is a risk its child
    inherits (forked.fork_is_safe)."""
    if _syncfs is None:  # each process synced its own files (_put_folder)
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    thread = threading.Thread(target=_syncfs, args=(fd,), name="policygen-flush", daemon=True)
    thread.start()  # ctypes lets go of the GIL for the call: the build goes on meanwhile
    try:
        yield
    finally:
        thread.join()  # what it writes, the syncfs before the swap would have waited for
        os.close(fd)


def _swap(staging: Path, out: Path) -> None:
    if out.exists() and _renameat2 is not None:
        AT_FDCWD = -100
        if _renameat2(AT_FDCWD, os.fsencode(staging), AT_FDCWD, os.fsencode(out), _RENAME_EXCHANGE) == 0:
            return  # staging now holds the previous output; the caller removes it
    if out.exists():
        old = previous_folder(out)
        out.rename(old)
        staging.rename(out)
        old.rename(staging)
    else:
        staging.rename(out)
