"""Each tenant's part of the site-wide files, kept on disk as the tenant is written.

The manifest, the sitemap, the site feed and the build's counts are made from every tenant's files.
Holding a record of each file in the build process made its memory grow with the site (a few hundred
bytes a file); instead, as soon as a tenant is written, its part is kept in the project's git-ignored
cache (`.cache/policygen/fragments/<slug>.json`), keyed by its input key (policygen/deps.py):

- its entries of manifest.json's file list, as the text they take there (in path order);
- the pages the sitemap lists, the versions the site feed lists, and how many files and pages it has.

The site-wide files are then streamed from these parts, a tenant at a time. A tenant reused from the
previous build whose part is kept under the same key costs no validation of the previous manifest's
entries and no text: its part is used as it is. A part that is missing, unreadable, of another format,
slug or key, or that names a path outside the tenant's folder is simply made again: deleting the cache
never changes the output. When the cache folder cannot be used (a link), parts stay in memory.

Checking every entry of every part is most of what a one-tenant rebuild spends on its unchanged tenants,
so a part is signed with the user's key (policygen/signing.py): one whose signature verifies is one this
user's policygen wrote, and is used without its entries being read (its folders are listed in it). A part
that is not signed by that key (no key can be had, or the cache came from elsewhere) is checked as above.

A rebuild needs an unchanged tenant's part to reuse the tenant, and again for the sitemap and the manifest
unless its entries there are copied from the previous ones (policygen/spans.py: an output untouched since the
build that wrote it), so the parts it found stay in its memory up to a budget (HELD_BUDGET): a rebuild of a
thousand tenants reads each part once, and a larger one reads the rest back from the cache when it needs them,
its memory bounded. The parts a build makes are not held: a cold build's memory stays what it was.

What a found part costs is paid per unchanged tenant, so it is read in one call (no file object), cut from
its first line once, its entries decoded straight from the bytes read, its line of JSON without json.loads' guesses,
and the pages it gives the sitemap made only when the sitemap is written (a site with a base_url).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import re
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .feeds import FeedEntry, SitemapPage, sitemap_pages
from .output import KINDS, CacheRecords, Output, files_text, folders_of
from .signing import sign

FORMAT = 3  # of a part's file: another number is made again (3: signed, with its folders)
_PURPOSE = b"policygen tenant part"  # what the user's key signs here
FOLDER = "fragments"
HELD_BUDGET = 16 << 20  # bytes of parts (as written in the cache) a build keeps in memory once found
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FEED_DATES = ("effective", "released")  # a FeedEntry's dates, kept as ISO text
_FEED_OPTIONAL = ("summary", "tier", "heading")
# A FeedEntry's fields, named once: dataclasses.fields() walks the class each time (a part's feed entries are
# read back for every unchanged tenant that published a version).
_FEED_FIELDS = tuple(f.name for f in fields(FeedEntry))
_FEED_TEXTS = tuple(name for name in _FEED_FIELDS if name not in (*_FEED_DATES, *_FEED_OPTIONAL, "version"))


@dataclass(frozen=True)
class Fragment:
    """One tenant's part of the site-wide files (see the module's docstring)."""

    slug: str
    key: str  # the tenant's input key: the part is used only by a build with the same key
    files: str  # its entries of manifest.json's "files" list, joined as they are written there
    count: int  # files
    pages: int  # of them, .html pages (the build's summary counts them)
    documents: int  # of them, document pages (kind "page": a build counts those it rendered)
    sitemap: Iterable[SitemapPage]  # a tuple, or a part's own ListedPages (made when walked)
    feed: tuple[FeedEntry, ...]
    folders: tuple[str, ...] = ()  # the tenant's folder and every folder in it that holds one of its files
    # Made by this build, or read back under the user's signature: its entries are used without being read.
    # A part read back unsigned had its paths checked, but each entry is checked only when it is decoded.
    signed: bool = False

    @classmethod
    def of(cls, slug: str, key: str, outputs: list[Output], feed: list[FeedEntry]) -> Fragment:
        return cls(
            slug,
            key,
            files_text(outputs),
            len(outputs),
            sum(1 for o in outputs if o.path.endswith(".html")),
            sum(1 for o in outputs if o.kind == "page"),
            tuple(sitemap_pages(outputs)),
            tuple(feed),
            tuple(sorted(folders_of(slug, [o.path for o in outputs]))),
            signed=True,
        )

    def dumps(self) -> bytes:
        """A line of JSON about the part, then its manifest entries as they are (not JSON-escaped again:
        the build reads them back as text)."""
        header = {
            "format": FORMAT,
            "slug": self.slug,
            "key": self.key,
            "count": self.count,
            "pages": self.pages,
            "documents": self.documents,
            "sitemap": [[p.path, p.effective.isoformat() if p.effective else None] for p in self.sitemap],
            "feed": [_feed_json(e) for e in self.feed],
            "folders": list(self.folders),
        }
        return json.dumps(header, ensure_ascii=False).encode() + b"\n" + self.files.encode()

    @classmethod
    def loads(cls, data: bytes, slug: str, key: str) -> Fragment:
        """A part this build made (dumps), read back whole."""
        return _parse(data, slug, key, signed=True)

    def outputs(self, root: str) -> list[Output]:
        """Its files as records without their bytes, each the file at the same path under *root* (the
        previous output): what linking them into the new site needs."""
        return [_output(entry, self.slug, root) for entry in _entries(self.files)]  # ValueError: not ours


@dataclass(frozen=True, slots=True)
class ListedPages(Iterable[SitemapPage]):
    """The sitemap's pages of a part read back, as its line of JSON gives them (each page's path and date in
    ISO text, a list of two), made SitemapPages each time they are walked: a rebuild walks them at most once,
    and only a site with a base_url has a sitemap."""

    pairs: Sequence[Sequence[str | None]]

    def __iter__(self) -> Iterator[SitemapPage]:
        for path, effective in self.pairs:
            yield SitemapPage(str(path), dt.date.fromisoformat(effective) if effective else None)


@dataclass(frozen=True, slots=True)  # one per tenant, held until the site-wide files are made
class Stored:
    """A part written to the cache: only what the build needs until it reads the part back."""

    slug: str
    key: str
    digest: str  # of the file's bytes: the part read back must be the one written or checked
    count: int
    pages: int
    documents: int
    kept: Fragment | None = None  # the part itself, when the cache cannot hold it


class CacheChanged(Exception):
    """A part of the cache changed while the build was using it."""


class Fragments:
    """The tenants' parts of one build: written to *folder* (or kept in memory without one), signed with the
    user's *key* when there is one, read back in order to make the site-wide files."""

    def __init__(self, folder: Path | None, key: bytes | None = None) -> None:
        self.folder = folder
        self._key = key
        self.made = 0  # parts made (not found in the cache) by this build: tests count them
        self.trusted = 0  # parts found signed by the user's key (their entries not read): tests count them
        self._held: dict[str, tuple[str, Fragment, int]] = {}  # slug -> (digest, part, size) found
        self._held_bytes = 0
        self._prefix = None if folder is None else f"{folder}{os.sep}"
        self._records = None if folder is None else CacheRecords(folder)

    def _name(self, slug: str) -> str | None:
        """The part's file as text, to read: a Path made for each tenant costs more than opening the file."""
        return None if self._prefix is None else f"{self._prefix}{slug}.json"

    def _digest(self, body: bytes) -> str:
        """What a part's first line holds: its signature under the user's key, else (no key) its hash."""
        if self._key is None:
            return hashlib.sha256(body).hexdigest()
        return sign(self._key, _PURPOSE, body).hex()

    def put(self, fragment: Fragment) -> Stored:
        self.made += 1
        self._drop(fragment.slug)  # a tenant found, then rendered all the same: the part found is not its own
        body = fragment.dumps()
        digest = self._digest(body)
        records = self._records
        stored = records is not None and records.write(f"{fragment.slug}.json", digest.encode() + b"\n" + body)
        kept = None if stored else fragment
        return Stored(fragment.slug, fragment.key, digest, fragment.count, fragment.pages, fragment.documents, kept)

    def cached(self, slug: str, key: str) -> tuple[Fragment, Stored] | None:
        """The tenant's part under *key*, as a previous build kept it; None if there is none that fits."""
        file = self._name(slug)
        if file is None:
            return None
        try:
            claimed, body = _signed(_read(file))
            digest = self._digest(body)
            signed = self._key is not None and hmac.compare_digest(claimed, digest.encode())
            fragment = _parse(body, slug, key, signed)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None  # missing, damaged, foreign or of another version: made again
        self.trusted += signed
        self._hold(digest, fragment, len(body))
        return fragment, Stored(slug, key, digest, fragment.count, fragment.pages, fragment.documents)

    def _hold(self, digest: str, fragment: Fragment, size: int) -> None:
        """Keep a part this build found and checked, while the budget allows, for get to give without a read."""
        self._drop(fragment.slug)
        if self._held_bytes + size <= HELD_BUDGET:
            self._held[fragment.slug] = (digest, fragment, size)
            self._held_bytes += size

    def _drop(self, slug: str) -> None:
        earlier = self._held.pop(slug, None)
        self._held_bytes -= 0 if earlier is None else earlier[2]

    def prune(self, tenants: Container[str]) -> None:
        """Remove the parts of tenants no longer in the project (*tenants*: those that are), which no build
        would read again."""
        if self.folder is None:
            return
        try:
            with os.scandir(self.folder) as entries:
                stale = [e.path for e in entries if e.name.endswith(".json") and e.name[:-5] not in tenants]
        except OSError:
            return  # no folder: nothing kept
        for path in stale:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def get(self, stored: Stored) -> Fragment:
        """The part *stored* names, read back; CacheChanged if it is no longer the one written or checked."""
        if stored.kept is not None:
            return stored.kept
        held = self._held.get(stored.slug)
        if held is not None and held[0] == stored.digest and held[1].key == stored.key:
            return held[1]  # the bytes this build checked: what reading the file again would verify
        file = self._name(stored.slug)
        try:
            if file is None:
                raise OSError("no cache folder")
            body = _signed(_read(file))[1]
            if self._digest(body) != stored.digest:
                raise ValueError("changed")
            return _parse(body, stored.slug, stored.key, signed=True)
        except (OSError, ValueError, IndexError, KeyError, TypeError, AttributeError, RecursionError):
            raise CacheChanged(f"{file} changed during the build") from None


MAX_BYTES = 64 * 1024 * 1024  # a tenant's part is a few kB; a larger file is not one policygen wrote


def _read(file: str) -> bytes:
    """The file's bytes, read by its size in one call: not through a file object, whose making costs more than
    the read (a rebuild reads a thousand parts per thousand tenants). A file that changes meanwhile (shorter or
    longer than its size) gives bytes whose signature does not verify: it is read as a part that changed."""
    fd = os.open(file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        # Read by its size, not by the limit: read(n) sets aside n bytes first, and a build reads every part.
        size = os.fstat(fd).st_size
        if size > MAX_BYTES:
            raise ValueError("too large")
        data = os.read(fd, size + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ValueError("too large")
    return data


def _signed(data: bytes) -> tuple[bytes, bytes]:
    """A part's file as its first line (its signature or hash) and the rest, the part (ValueError: no line)."""
    cut = data.index(b"\n")
    return data[:cut], data[cut + 1 :]


def _parse(data: bytes, slug: str, key: str, signed: bool) -> Fragment:
    """A part read back: used as it is when *signed* (by the user's key, or its bytes are the ones this build
    wrote or checked), else checked entry by entry, since the cache is local state anything may change."""
    cut = data.find(b"\n")
    cut = len(data) if cut < 0 else cut
    raw = _header(data[:cut])
    if raw["format"] != FORMAT or raw["slug"] != slug or raw["key"] != key:
        raise ValueError("another version, tenant or key")
    # The entries decoded from the bytes read, not from a copy of them cut out first.
    files = str(memoryview(data)[cut + 1 :], "utf-8")
    count, pages, documents = raw["count"], raw["pages"], raw["documents"]
    feed = tuple(_feed_entry(item, slug) for item in raw["feed"])
    if signed:  # its sitemap's pages made only if walked
        listed = ListedPages(raw["sitemap"])
        return Fragment(slug, key, files, count, pages, documents, listed, feed, tuple(raw["folders"]), signed=True)
    entries = _entries(files)
    paths = {_path(entry, slug) for entry in entries}
    if (
        len(paths) != count
        or count != len(entries)
        or pages != sum(1 for p in paths if p.endswith(".html"))
        or documents != sum(1 for e in entries if e["kind"] == "page")
    ):
        raise ValueError("counts differ")
    folders = tuple(sorted(folders_of(slug, paths)))
    if raw["folders"] != list(folders):  # the part is read back as signed later in this build (get)
        raise ValueError("folders differ")
    sitemap = tuple(_page(item, paths) for item in raw["sitemap"])
    return Fragment(slug, key, files, count, pages, documents, sitemap, feed, folders)


_JSON = json.JSONDecoder()


def _header(line: bytes) -> Any:
    """A part's line of JSON, decoded by the decoder itself: json.loads first guesses the encoding of bytes
    and looks for white space around the value, a few microseconds a part that a rebuild spends per tenant.
    Anything but one JSON value, as dumps writes it, is a ValueError (the part is made again)."""
    text = line.decode()
    value, end = _JSON.raw_decode(text)
    if end != len(text):
        raise ValueError("more than one line of JSON")
    return value


def _entries(files: str) -> list[dict[str, Any]]:
    entries = json.loads(f"[{files}]") if files else []
    if not all(isinstance(e, dict) for e in entries):
        raise TypeError("not a list of files")
    return entries


_ENTRY_KEYS = frozenset(("path", "kind", "tenant", "document", "version", "effective", "sha256", "bytes"))
_WITH_APP = _ENTRY_KEYS | {"app"}


def _path(entry: dict[str, Any], slug: str) -> str:
    """The path of a file entry of *slug*'s part, if it is one inside the tenant's folder, and the entry
    has the fields policygen writes (each checked when the entry is used for more than the manifest)."""
    path = entry["path"]
    keys = entry.keys()
    if keys not in (_ENTRY_KEYS, _WITH_APP) or type(path) is not str:
        raise ValueError("not a file entry")
    if not path.startswith(slug + "/") or "\0" in path or path.endswith("/") or "//" in path or "/." in path:
        parts = path.split("/")
        if parts[0] != slug or len(parts) < 2 or "\0" in path or any(p in {"", ".", ".."} for p in parts):
            raise ValueError("a path outside the tenant's folder")
    if entry["kind"] not in KINDS or entry["tenant"] != slug or type(entry["bytes"]) is not int:
        raise ValueError("not a file of the tenant")
    return str(path)


_TEXT_OR_NONE = (str, type(None))


def _output(entry: dict[str, Any], slug: str, root: str) -> Output:
    """The file of a file entry of *slug*'s part, at the same path under *root*, if the entry is one policygen
    writes (ValueError or TypeError if not). Each field looked at once: a first rebuild makes one for every file
    of every unchanged tenant (29,000 at 1,000 tenants)."""
    path = _path(entry, slug)
    digest, size, effective = entry["sha256"], entry["bytes"], entry["effective"]
    if type(digest) is not str or not _SHA256.fullmatch(digest):
        raise ValueError("not a hash")
    if size < 0:  # an int (_path)
        raise ValueError("not a size")
    document, version, app = entry["document"], entry["version"], entry.get("app")
    for value in (document, version, effective, app):
        if not isinstance(value, _TEXT_OR_NONE):
            raise TypeError("not a text")
    return Output(
        path,
        entry["kind"],
        b"",
        slug,
        document,
        version,
        None if effective is None else dt.date.fromisoformat(effective),
        app,
        os.path.join(root, path),
        digest,
        size,
    )


def _page(item: Any, paths: set[str]) -> SitemapPage:
    path, effective = item
    if path not in paths or not path.endswith(".html"):
        raise ValueError("not a page of the tenant")
    return SitemapPage(path, dt.date.fromisoformat(effective) if effective is not None else None)


def _feed_json(entry: FeedEntry) -> dict[str, object]:
    data = {name: getattr(entry, name) for name in _FEED_FIELDS}  # not asdict: it deep-copies each text
    return data | {name: data[name].isoformat() for name in _FEED_DATES}


def _feed_entry(item: Any, slug: str) -> FeedEntry:
    values = {name: item[name] for name in _FEED_FIELDS}  # a field missing: KeyError, the part remade
    if (
        values["tenant"] != slug
        or not all(isinstance(values[name], str) for name in _FEED_TEXTS)
        or type(values["version"]) is not int
    ):
        raise ValueError("not a version of the tenant")
    if not all(values[name] is None or isinstance(values[name], str) for name in _FEED_OPTIONAL):
        raise TypeError("not text")
    for name in _FEED_DATES:
        values[name] = dt.date.fromisoformat(values[name])
    return FeedEntry(**values)
