"""The build engine: read the project, render every tenant whose inputs changed (in worker processes
when there are many), reuse the rest from the previous build, and write the site atomically.

The build streams: each tenant's files are written into the staging folder as soon as the tenant is
rendered (by the worker that rendered it) or found unchanged, and only what the site-wide files and the
manifest need is kept (paths, hashes, sizes, the tenant's index entry and feed entries), so the memory a
build needs does not grow with the bytes of the site.

Pages themselves are composed in policygen/site.py; the output layout is described there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import heapq
import itertools
import json
import marshal
import multiprocessing
import os
import re
import shutil
import stat
import struct
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Generic, Protocol, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from . import garbage, prebuild
from .beside import Beside
from .clauses import Library
from .codecache import signed_codes
from .dates import utc_today
from .deps import drafts_shown, project_digest, tenant_key
from .errors import Collector, InputError, Problem
from .feeds import (
    FEED_CODEC,
    CopiedPages,
    FeedEntry,
    FeedInfo,
    SitemapPage,
    atom_of,
    entries_in,
    newest_first,
    records_a_version,
    sitemap_layout,
    sitemap_of,
    sitemap_pages,
)
from .forked import Child, fork_is_safe, start_method
from .fragments import FOLDER as FRAGMENTS
from .fragments import CacheChanged, Fragment, Fragments, Stored
from .history import Committed, TenantRecord, committed_releases, read_tenant_record, record_json
from .jsonitems import last_at, object_items
from .lastbuild import Built, Inputs, forget, remember
from .lastbuild import counted as counted  # shards and serve count with it too
from .librarycache import cached_library
from .output import (
    MANIFEST_SPANS,
    SITEMAP_SPANS,
    TENANTS_SPANS,
    Block,
    CopiedItem,
    Discard,
    Items,
    ListedNames,
    Output,
    Placed,
    SiteWriter,
    Staging,
    block_first,
    cache_file,
    check_out_dir,
    files_text,
    flushing,
    listed_top_level,
    manifest,
    manifest_file_entries,
    put_folder,
    span_record,
    spare_folder,
    unlinked_cache,
    write_site,
    write_streamed,
)
from .packaged import code_digest
from .paths import MANIFEST_PATH, SITE_FEED, SITE_INDEX, SITEMAP_PATH, SortedNames, in_folder_order
from .project import (
    Project,
    load_base,
    load_project,
    load_tenant_source,
    project_theme,
)
from .render import ClauseRenderer, warm_renderer
from .sandbox import BoundedSandbox, CodeShelf, CompiledCode
from .signing import signing_key
from .site import (
    BuildOptions,
    DocumentLink,
    Published,
    TenantView,
    load_histories,
    tenant_outputs,
)
from .spans import MANIFEST, NO_SITE_SPANS, TENANTS, Copier, Layout, Recorder, SiteSpans, Spans
from .spool import Codec, Mapped, Spool, sized
from .statcache import Matched, SameBytes
from .tenantfolders import DIGESTS, FolderHashes, hash_folders, select_tenants, tenant_slugs
from .tenantpool import PARALLEL_MIN_TENANTS
from .theme import SiteTheme
from .versions import Snapshot


class Listed(Sequence[Output]):
    """The files a build wrote, read back from its manifest.json when first asked for: the build itself
    keeps no record of each file (its memory would grow with the site). Read them before the next build
    into the same folder: a manifest changed since is refused."""

    def __init__(self, out: Path, manifest: SameBytes) -> None:
        self.out = out
        self.manifest = manifest  # what tells that the manifest is still the one the build wrote (or found)

    @cached_property
    def _files(self) -> list[Output]:
        return list(self._streamed())

    def __len__(self) -> int:
        return len(self._files)

    def __getitem__(self, index: Any) -> Any:
        return self._files[index]

    def __iter__(self) -> Iterator[Output]:
        """The files, read from the manifest an entry at a time (--verbose prints a large site's list holding one
        entry, not the list: hundreds of MB at 10,000 tenants), unless the list is read whole already."""
        if "_files" in self.__dict__:
            return iter(self._files)
        return self._streamed()

    def _streamed(self) -> Iterator[Output]:
        with (self.out / MANIFEST_PATH).open("rb") as f:
            if not self.manifest.held_by(f):
                raise RuntimeError(f"{self.out / MANIFEST_PATH} changed since the build")  # a caller's mistake
            size = os.fstat(f.fileno()).st_size
            sha256 = self.manifest.sha256 or SameBytes.by_hash_of(f).sha256  # told by its stat: hashed here
            for entry in manifest_file_entries(f):
                yield replace(Output.from_entry(entry, b""), sha256=str(entry["sha256"]), size=int(entry["bytes"]))
        yield Output(MANIFEST_PATH, "data", b"", sha256=sha256, size=size)


@dataclass
class BuildReport:
    out: Path
    outputs: Sequence[Output]
    rendered: int = 0  # document pages rendered in this build (not reused)
    tenants: list[str] = field(default_factory=list)
    rendered_tenants: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # tenants of the previous output whose folder is gone
    seconds: float = 0.0  # wall time of the build
    # Nothing changed since the previous build: the output was left as it is, and `outputs` are the files
    # its manifest lists, without their bytes.
    unchanged: bool = False
    counts: Built | None = None  # what the build wrote, when `outputs` is read back only if asked for

    def built(self) -> Built:
        if self.counts is not None:
            return self.counts
        return Built.of(len(self.tenants), [o.path for o in self.outputs])

    @property
    def reused_tenants(self) -> list[str]:
        rendered = set(self.rendered_tenants)
        return [slug for slug in self.tenants if slug not in rendered]

    def tally(self) -> str:
        """Counts, never names: one line whether the site has three tenants or a hundred thousand."""
        return f"{len(self.rendered_tenants):,} rendered, {len(self.reused_tenants):,} reused"

    def summary(self) -> str:
        return self.built().summary(len(self.rendered_tenants), self.seconds, self.out, self.unchanged)

    def names(self) -> list[str]:
        """The tenants by name, for --verbose."""
        return [
            f"rendered: {', '.join(self.rendered_tenants) or 'none'}",
            f"reused: {', '.join(self.reused_tenants) or 'none'}",
            *([f"removed: {', '.join(self.dropped)}"] if self.dropped else []),
        ]


def files_written(outputs: list[Output]) -> str:
    return Built.of(0, [o.path for o in outputs]).files_written()


def history_record(histories: dict[str, list[Snapshot]]) -> TenantRecord:
    return {doc_id: tuple(s.recorded for s in releases) for doc_id, releases in histories.items() if releases}


def tenant_entry(view: TenantView, key: str, releases: TenantRecord) -> dict[str, object]:
    """A tenant's line in manifest.json: what the site index needs, the input key for reuse, and every
    version published, so that the next build can refuse one that vanished or changed."""
    return {
        "name": view.name,
        "legal_name": view.legal_name,
        "logo": view.logo,
        "accent": view.accent,
        "documents": [
            {"id": d.id, "title": d.title, "path": d.path, "effective": d.effective.isoformat()} for d in view.documents
        ],
        "inputs": key,
        "releases": record_json(releases),
    }


@dataclass(frozen=True, slots=True)
class Listing:
    """A written tenant's line in manifest.json (tenant_entry), as its result is read back from a spool (Kept):
    decoded once with the record (not kept as JSON text to parse again), the site index's view of the tenant
    and its line of the manifest are both made from it."""

    entry: dict[str, Any]

    @classmethod
    def of(cls, view: TenantView, key: str, releases: TenantRecord) -> Listing:
        return cls(tenant_entry(view, key, releases))


def view_from_entry(slug: str, entry: dict[str, Any]) -> TenantView:
    docs = tuple(
        DocumentLink(d["id"], d["title"], d["path"], dt.date.fromisoformat(d["effective"])) for d in entry["documents"]
    )
    return TenantView(slug, entry["name"], entry["legal_name"], entry["logo"], entry["accent"], docs)


def shared_key(project: Project, theme_digest: str, options: BuildOptions) -> str:
    """The part of every tenant's input key that all tenants share, for a build on this day (whether it shows drafts
    is part of the key of the tenants a draft can change: deps.drafts_shown)."""
    return project_digest(project, theme_digest, str(options.today))


@dataclass(slots=True)  # one per tenant, held until the site-wide files are made
class TenantResult:
    slug: str
    key: str
    outputs: list[Output]
    view: TenantView | Listing  # a Listing when read back from a spool (with its versions: `releases` is then empty)
    rendered: bool  # False when reused from the previous build
    releases: TenantRecord = field(default_factory=dict)  # the versions published
    # Every version published among its outputs (for the site feed), when their bytes are no longer in memory.
    feed: list[FeedEntry] | None = None
    # Its part of the site-wide files (policygen/fragments.py), once written: `outputs` is then empty.
    written: Fragment | Stored | None = None

    def feed_entries(self) -> list[FeedEntry]:
        return self.feed if self.feed is not None else entries_in(self.outputs)

    def index_view(self) -> TenantView:
        """What the site index shows of the tenant."""
        return self.view if isinstance(self.view, TenantView) else view_from_entry(self.slug, self.view.entry)

    def manifest_entry(self) -> dict[str, Any]:
        """Its line in manifest.json's "tenants" object."""
        if isinstance(self.view, Listing):
            return self.view.entry
        return tenant_entry(self.view, self.key, self.releases)

    def newest(self) -> dt.date | None:
        """The latest effective date of its documents (the site feed's header gives the latest of all)."""
        view = self.view
        if isinstance(view, Listing):
            return max((dt.date.fromisoformat(d["effective"]) for d in view.entry["documents"]), default=None)
        return max((d.effective for d in view.documents), default=None)

    def sitemap_pages(self, fragments: Fragments | None) -> list[SitemapPage]:
        return list(self._part(fragments).sitemap) if self.written is not None else sitemap_pages(self.outputs)

    def copied(self, copier: Copier | None, first: str) -> bytes | None:
        """Its entries of a site-wide file under *first* as the previous file holds them, found by the *copier*;
        None when this build rendered it (they may have changed) or the copier does not find them."""
        return None if copier is None or self.rendered else copier.entries(first)

    def sitemap_entries(self, fragments: Fragments | None, copier: Copier | None) -> list[SitemapPage | CopiedPages]:
        """Its pages of the sitemap, in path order: as the previous sitemap lists them, where the *copier* finds them
        there, else read back from its part."""
        copied = self.copied(copier, self.slug + "/")
        if copied is not None:
            return [CopiedPages(self.slug + "/", copied)]
        return sorted(self.sitemap_pages(fragments), key=_page_path)

    def manifest_block(self, fragments: Fragments | None, copier: Copier | None = None) -> Block | None:
        """Its files' entries of the manifest, read back when written; None when they are in `outputs`. Reused
        unchanged, they are copied from the previous manifest where the *copier* finds them there."""
        if self.written is None:
            return None
        return Block(self.slug + "/", partial(self._files_text, fragments, copier))

    def _files_text(self, fragments: Fragments | None, copier: Copier | None) -> str | bytes:
        copied = self.copied(copier, self.slug + "/")
        return copied if copied is not None else self._part(fragments).files

    def _part(self, fragments: Fragments | None) -> Fragment:
        if isinstance(self.written, Fragment):
            return self.written
        if self.written is None or fragments is None:
            raise RuntimeError(f"no part written for {self.slug}")  # a bug
        return fragments.get(self.written)

    def count(self) -> tuple[int, int, int]:
        """Its files, .html pages and document pages."""
        part = self.written
        if part is None:
            paths = [o.path for o in self.outputs]
            return (
                len(paths),
                sum(1 for p in paths if p.endswith(".html")),
                sum(1 for o in self.outputs if o.kind == "page"),
            )
        return part.count, part.pages, part.documents


# A result's record starts with its slug, marshalled, after that text's length: the spool merges its runs by
# the slug alone, without decoding each record (and encoding it again).
_NAME = struct.Struct("<I")


def _result_record(result: TenantResult) -> bytes:
    """A written tenant's result as the build keeps it until the site-wide files (Kept): its slug, then the
    rest marshalled, its manifest line (Listing) as the values themselves, not JSON text to parse again."""
    part, view = result.written, result.view
    if not isinstance(part, Stored) or result.outputs:
        raise TypeError(f"{result.slug} is kept before it is written")  # a bug
    listing = view if isinstance(view, Listing) else Listing.of(view, result.key, result.releases)
    kept = None if part.kept is None else part.kept.dumps()
    fields = (result.key, result.rendered, listing.entry, part.digest, part.count, part.pages, part.documents, kept)
    try:
        body = marshal.dumps(fields)
    except ValueError:  # a text of a subclass of str (marshal takes exact types): as JSON would give it back
        body = marshal.dumps((*fields[:2], json.loads(json.dumps(listing.entry)), *fields[3:]))
    name = marshal.dumps(result.slug)
    return _NAME.pack(len(name)) + name + body


def _result_slug(data: bytes) -> str:
    """The slug of a result's record (_result_record), the rest left as it is."""
    return _result_split(data)[0]


def _result_split(data: bytes) -> tuple[str, memoryview]:
    """A result's record as its slug and the rest, still marshalled."""
    (size,) = _NAME.unpack_from(data)
    slug: str = marshal.loads(data[_NAME.size : _NAME.size + size])
    return slug, memoryview(data)[_NAME.size + size :]


def _result_from(data: bytes) -> TenantResult:
    slug, rest = _result_split(data)
    key, rendered, entry, digest, count, pages, documents, kept = marshal.loads(rest)
    part = None if kept is None else Fragment.loads(kept, slug, key)
    stored = Stored(slug, key, digest, count, pages, documents, part)
    return TenantResult(slug, key, [], Listing(entry), rendered, written=stored)


def _result_size(result: TenantResult) -> int:
    view = result.view
    if isinstance(view, Listing):  # read back from a spool, and added again
        entry = view.entry
        return 1000 + sized((result.slug, result.key)) + 400 * (len(entry["documents"]) + len(entry["releases"]))
    names = (result.slug, result.key, view.name, view.legal_name, view.logo, view.accent)
    return 1000 + sized(names) + 400 * (len(view.documents) + len(result.releases))  # a view's objects


_RESULTS = Codec(_result_record, _result_from, _result_size, _result_slug)


def _slug(result: TenantResult) -> str:
    return result.slug


NO_DATE = dt.date(1970, 1, 1)  # the site feed's date when no tenant has a document


@dataclass
class Tally:
    """What a build's report and site-wide files need of all its tenants' results, counted as each one is kept
    (Kept.add): the results of a large site are then not walked again for it (they are in a spool, and each
    walk reads every one back). A few numbers, and the names of the tenants, which the report gives."""

    tenants: list[str] = field(default_factory=list)  # in the order kept; sorted by `ordered`
    rendered: list[str] = field(default_factory=list)  # those rendered (not reused)
    rendered_documents: int = 0
    files: int = 0
    pages: int = 0
    latest: dt.date = NO_DATE  # the newest effective date of any tenant's document (the site feed's header)

    def add(self, result: TenantResult) -> None:
        self.tenants.append(result.slug)
        files, pages, documents = result.count()
        self.files += files
        self.pages += pages
        if result.rendered:
            self.rendered.append(result.slug)
            self.rendered_documents += documents
        newest = result.newest()
        if newest is not None and newest > self.latest:
            self.latest = newest

    def ordered(self) -> Tally:
        """The tally with its names in slug order, as the report gives them."""
        return replace(self, tenants=sorted(self.tenants), rendered=sorted(self.rendered))


class Kept:
    """What a build keeps of its tenants until the site-wide files are made: each one's result (its manifest
    line and the note of its part) in slug order, and the site feed's entries, newest first. They are kept in
    spools (policygen/spool.py), written to the project's cache past a budget: a site of a hundred thousand
    tenants does not hold them all. What the site-wide files and the report need of them all (their counts,
    the newest date) is tallied as they come."""

    def __init__(self, folder: Path | None) -> None:
        self.results: Spool[TenantResult] = Spool(_RESULTS, _slug, folder)
        self.feed: Spool[FeedEntry] = Spool(FEED_CODEC, FeedEntry.order, folder, reverse=True)
        self.tally = Tally()

    def __enter__(self) -> Kept:
        return self

    def __exit__(self, *exc: object) -> None:
        self.results.close()
        self.feed.close()

    def add(self, result: TenantResult, fragments: Fragments) -> None:
        for entry in result.feed_entries():
            self.feed.add(entry)
        kept = _kept(fragments, result)
        self.tally.add(kept)
        self.results.add(kept)


def _relative_path(path: str) -> str:
    parts = path.split("/")
    if "\0" in path or any(part in {"", ".", ".."} for part in parts):
        raise ValueError("not a relative path inside the output folder")
    return path


class _FileEntry(BaseModel):
    """A file of the previous build, as far as reusing it needs; anything else in the manifest is ignored."""

    model_config = ConfigDict(extra="ignore")

    path: Annotated[str, AfterValidator(_relative_path)]
    kind: str
    tenant: str | None = None
    document: str | None = None
    version: str | None = None
    effective: dt.date | None = None
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    app: str | None = None


class _DocumentEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    title: str
    path: str
    effective: dt.date


class _TenantEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    legal_name: str
    logo: str | None
    accent: str | None
    documents: list[_DocumentEntry]
    inputs: str


def _utf8_text(raw: bytes) -> str | None:
    """*raw* as text, if json.loads would read it as UTF-8 and it is strict UTF-8 (no encoded surrogate):
    parsing the text then gives what parsing *raw* gives, and what the swap's own reading would give."""
    if json.detect_encoding(raw) != "utf-8":
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


_LATER = object()  # Previous._listed: the file list is read from the manifest when first needed

# The "tenants" object of a manifest as policygen writes it (output.manifest): the last top-level key, after
# the file list, indented by two spaces on a line of its own (a newline in a JSON string is escaped, and
# nested keys are indented further, so this text is that key and nothing else), then the object's end.
_TENANTS_KEY = '\n  "tenants": '
_MANIFEST_END = "\n}\n"


def manifest_tenants(f: BinaryIO) -> Iterator[tuple[str, Any]] | None:
    """The items of the "tenants" object of the manifest open as *f*, read from the file as they are taken (a
    large site's file list, most of the file, is not read; nor is the object ever whole in memory); None when
    the file does not end with one. Reading them raises ValueError when the object is not as
    policygen writes it: one object, its tenants in slug order."""
    at = last_at(f, _TENANTS_KEY.encode())
    end = os.fstat(f.fileno()).st_size - len(_MANIFEST_END)
    if at is None or end < at or os.pread(f.fileno(), len(_MANIFEST_END), end) != _MANIFEST_END.encode():
        return None
    return _in_slug_order(object_items(f, at + len(_TENANTS_KEY), end))


def _in_slug_order(items: Iterator[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    before: str | None = None
    for slug, entry in items:
        if before is not None and slug <= before:
            raise ValueError("tenants out of order")  # json.loads would keep the last of a repeated name
        before = slug
        yield slug, entry


_FILE = TypeAdapter(_FileEntry)
_TENANT = TypeAdapter(_TenantEntry)


def _entry_tenant(entry: _FileEntry) -> str | None:
    return entry.tenant


@dataclass(frozen=True, slots=True)  # one per tenant of the previous build, in a spool past its budget
class TenantFiles:
    """A tenant's files in the previous build's manifest, in the manifest's order."""

    slug: str
    files: tuple[_FileEntry, ...]


def _tenant_files_record(item: TenantFiles) -> bytes:
    entries = [
        (f.path, f.kind, f.document, f.version, f.effective.toordinal() if f.effective else 0, f.sha256, f.bytes, f.app)
        for f in item.files
    ]
    return marshal.dumps((item.slug, entries))


def _tenant_files_from(data: bytes) -> TenantFiles:
    slug, entries = marshal.loads(data)
    files = tuple(
        _FileEntry.model_construct(  # checked when the manifest was read
            path=path,
            kind=kind,
            tenant=slug,
            document=document,
            version=version,
            effective=dt.date.fromordinal(day) if day else None,
            sha256=sha256,
            bytes=size,
            app=app,
        )
        for path, kind, document, version, day, sha256, size, app in entries
    )
    return TenantFiles(slug, files)


def _tenant_files_size(item: TenantFiles) -> int:
    return 200 + sum(600 + sized((f.path, f.sha256)) for f in item.files)  # a parsed entry's objects, about


def _tenant_files_slug(item: TenantFiles) -> str:
    return item.slug


_TENANT_FILES = Codec(_tenant_files_record, _tenant_files_from, _tenant_files_size)


class _Slugged(Protocol):
    @property
    def slug(self) -> str: ...


S = TypeVar("S", bound=_Slugged)


class InSlugOrder(Generic[S]):
    """Items sorted by slug, each tenant's looked up as a build asks for them: in slug order, reading on from
    the last one asked (from a spool's file past its budget: a large site's are not held); asked for one
    before, from the first again."""

    def __init__(self, items: Sequence[S]) -> None:
        self.items = items
        self._ahead: Iterator[S] | None = None
        self._current: S | None = None
        self._asked: str | None = None
        self._found: list[S] = []  # the items of the tenant asked last

    def of(self, slug: str) -> list[S]:
        """The items of the tenant *slug*, in their order (none when there is none)."""
        if slug == self._asked:
            return self._found
        if self._ahead is None or (self._asked is not None and slug < self._asked):
            self._ahead = iter(self.items)
            self._current = next(self._ahead, None)
        self._asked, self._found = slug, []
        while self._current is not None and self._current.slug < slug:
            self._current = next(self._ahead, None)
        while self._current is not None and self._current.slug == slug:
            self._found.append(self._current)
            self._current = next(self._ahead, None)
        return self._found


class FilesByTenant:
    """The previous build's files of each tenant (TenantFiles, sorted by slug; a tenant listed in two places
    has two, in the manifest's order), looked up in slug order (InSlugOrder)."""

    def __init__(self, items: Sequence[TenantFiles] = (), spool: Spool[TenantFiles] | None = None) -> None:
        self._ordered = InSlugOrder(items)
        self._spool = spool

    def get(self, slug: str) -> list[_FileEntry]:
        """The files of the tenant *slug* (none when the previous build had none)."""
        return [entry for item in self._ordered.of(slug) for entry in item.files]

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


@dataclass(frozen=True, slots=True)  # one per tenant of the previous build, in a spool past its budget
class Earlier:
    """A tenant as the previous build left it: what telling it unchanged needs, and its line of the manifest."""

    slug: str
    inputs: str  # its input key
    documents: tuple[str, ...]  # the ids of the documents it published
    listing: Listing  # its line in manifest.json, with the versions it published

    @classmethod
    def of(cls, slug: str, entry: Any, releases: TenantRecord) -> Earlier | None:
        """The tenant of the previous manifest's line *entry*; None when the line is not one policygen writes."""
        try:
            line = _TENANT.dump_python(_TENANT.validate_python(entry), mode="json")
        except ValidationError:
            return None
        line["releases"] = record_json(releases)  # the line as tenant_entry writes it (Listing.of, without a view)
        documents = tuple(d["id"] for d in line["documents"])
        return cls(slug, line["inputs"], documents, Listing(line))

    @classmethod
    def unusable(cls, slug: str, releases: TenantRecord) -> Earlier:
        """A tenant whose line is not one policygen writes: reused by no build, its published versions still
        checked."""
        return cls(slug, "", (), Listing({"releases": record_json(releases)}))

    def releases(self) -> TenantRecord:
        """The versions it published, as its line lists them (checked when the line was read)."""
        return read_tenant_record(self.listing.entry["releases"])


def _earlier_record(earlier: Earlier) -> bytes:
    return marshal.dumps((earlier.slug, earlier.inputs, earlier.documents, earlier.listing.entry))


def _earlier_from(data: bytes) -> Earlier:
    slug, inputs, documents, entry = marshal.loads(data)
    return Earlier(slug, inputs, documents, Listing(entry))


def _earlier_size(earlier: Earlier) -> int:
    entry = earlier.listing.entry  # its texts, and the records around them (as _result_size)
    return 1000 + sized((earlier.slug, earlier.inputs)) + 400 * (len(earlier.documents) + len(entry["releases"]))


def _earlier_slug(earlier: Earlier) -> str:
    return earlier.slug


_EARLIER = Codec(_earlier_record, _earlier_from, _earlier_size)


class Earliers:
    """The previous build's tenants, sorted by slug, each looked up as a build asks for them: in slug order,
    reading on from the last one asked (from a spool's file past its budget: a large site's are not held);
    asked for one before it, from the first again. Not *usable* (a line of the manifest is not one policygen
    writes), none is reused, and only the versions each published are looked up."""

    def __init__(self, items: Sequence[Earlier] = (), spool: Spool[Earlier] | None = None, usable: bool = True) -> None:
        self._spool = spool
        self.usable = usable
        self._ordered = InSlugOrder(items)

    def __len__(self) -> int:
        return len(self._ordered.items) if self.usable else 0

    def __iter__(self) -> Iterator[Earlier]:
        return iter(self._ordered.items if self.usable else ())

    def get(self, slug: str) -> Earlier | None:
        """The tenant *slug* as the previous build left it, to be reused if unchanged."""
        return self._find(slug) if self.usable else None

    def releases(self, slug: str) -> TenantRecord | None:
        """The versions the tenant *slug* published, when the previous build had it."""
        earlier = self._find(slug)
        return None if earlier is None else earlier.releases()

    def _find(self, slug: str) -> Earlier | None:
        found = self._ordered.of(slug)
        return found[0] if found else None  # one line a tenant: the manifest's "tenants" is an object

    def emptied(self) -> Earliers:
        """The same tenants, none of them reusable."""
        return Earliers(self._ordered.items, self._spool, usable=False)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


class RecordsByTenant(Protocol):
    """The versions each tenant published in the previous build (a dict of them, or read when asked)."""

    def get(self, slug: str, /) -> TenantRecord | None: ...


@dataclass(frozen=True)
class PublishedBefore:
    """The versions each of the previous build's tenants published, read from its line when asked for (in slug
    order, as the build renders them): none held for the whole build."""

    tenants: Earliers

    def get(self, slug: str, /) -> TenantRecord | None:
        return self.tenants.releases(slug)


_NONE_PUBLISHED: dict[str, TenantRecord] = {}  # no previous build (never changed)


class _Damaged(ValueError):
    """The previous manifest's record of released versions cannot be read."""


def _tenant_items(data: Any) -> Iterable[tuple[str, Any]]:
    """The items of a parsed manifest's "tenants" object (_Damaged when it has none)."""
    if not isinstance(data, dict) or not isinstance(data.get("tenants", {}), dict):
        raise _Damaged("it is not a JSON object with a 'tenants' object")
    items: dict[str, Any] = data.get("tenants", {})
    return items.items()


class Previous:
    """The previous build, read back from its manifest: unchanged tenants are reused from it, and the
    versions it published must all still be there (policygen/history.py).

    The manifest is a file in the output folder, so it is not trusted: its paths are read only when
    they lead to a regular file inside the output folder; one that does not fit the expected shape
    reuses nothing. A manifest whose record of published versions cannot be read is `damaged`: the
    build refuses rather than skip the comparison that would catch a rewritten history.
    """

    def __init__(self, out: Path, folder: Path | None = None) -> None:
        self.out = out
        self.file = out / MANIFEST_PATH
        self.root = str(out.resolve())  # a link to the output folder is followed; none inside it is
        self._folders: dict[str, bool] = {}
        # Its tenants, kept in a spool written to *folder* past its budget (closed on leaving a with block).
        self.tenants = Earliers()
        self._spool_folder = folder
        self._files: FilesByTenant | None = None  # read when a tenant is first reused
        self._listed: Any = None  # its "files" list; _LATER: read from the file when first needed
        self._same: SameBytes | None = None  # tells whether the manifest still has the bytes read
        self.damaged: Problem | None = None
        self.top_level: ListedNames | None = None  # its files' top-level names, for the swap (output.ListedNames)
        # Set when the output folder's stamp shows that nothing in it changed since the build that wrote it
        # (policygen/output.py: untouched): its files are then the ones the manifest lists, unread.
        self.untouched = False
        try:
            data = self._read()
            if data is not None:
                self._take(_tenant_items(data))
                if self.tenants.usable:  # else nothing is reused: its files are not read
                    self._listed = data.get("files")
        except _Damaged as exc:
            self.damaged = self._damage(str(exc))

    def site_file(self, path: str, files: contextlib.ExitStack) -> BinaryIO | None:
        """This output's site-wide file *path* open (closed with *files*), for its unchanged tenants' entries to be
        copied into the next one's (policygen/spans.py): when the output is untouched since the build that wrote it
        (its stamp matched, which vouches for the records of where they lie), and for the manifest when it still
        holds the bytes this build read. None otherwise: the entries are made again."""
        same = self._same if path == MANIFEST_PATH else None  # the manifest was read: it must hold what was
        if not self.untouched or (path == MANIFEST_PATH and same is None):
            return None
        try:
            file = files.enter_context(os.fdopen(os.open(self.out / path, os.O_RDONLY | os.O_NOFOLLOW), "rb"))
            if same is not None and not same.held_by(file):
                return None
        except (OSError, ValueError):
            return None
        return file

    def stamped(self, matched: Matched | None) -> None:
        """What the output's stamp tells, once known (a build reads the manifest while a second process checks
        the stamp, policygen/prebuild.py): when it *matched*, the top-level names the swap needs are the
        stamp's, not read from the manifest's file list. A manifest is trusted by its own stat or hash
        (SameBytes), not by the stamp, so it may be read before the stamp is known."""
        if matched is not None and self._listed is _LATER and self._same is not None:
            self.top_level = ListedNames(self._same, SortedNames(matched.names))

    def __enter__(self) -> Previous:
        return self

    def __exit__(self, *exc: object) -> None:
        self.tenants.close()
        if self._files is not None:
            self._files.close()

    @property
    def files(self) -> FilesByTenant:
        """The previous build's files by tenant, read from the manifest an entry at a time and kept in a spool
        past its budget (parsed whole, a large site's list takes gigabytes). Checked only when needed: a
        build that changed nothing never looks at them. One entry that is not as policygen writes it and
        none is reused: the build renders every tenant."""
        return self._files if self._files is not None else self.read_files()

    def read_files(self) -> FilesByTenant:
        """Read the file list now (files): once, before the process beside the build forks, not in both."""
        if self._files is None:
            spool = Spool(_TENANT_FILES, _tenant_files_slug, self._spool_folder)
            try:
                entries = (_FILE.validate_python(entry) for entry in self._file_entries())
                for slug, group in itertools.groupby(entries, key=_entry_tenant):
                    if slug:
                        spool.add(TenantFiles(slug, tuple(group)))
                self._files = FilesByTenant(spool.ordered(), spool)
            except (OSError, ValueError, RecursionError):  # pydantic's ValidationError is a ValueError
                spool.close()
                self.tenants = self.tenants.emptied()  # nothing reusable; the build renders every tenant
                self._files = FilesByTenant()
            self._listed = None  # a list read whole is no longer needed: a large site's is large
        return self._files

    def listed(self, tenants: int) -> tuple[Built, Listed] | None:
        """What the previous build wrote: its *tenants*, files and pages, counted from the manifest's file list a
        file at a time (parsed whole, a large site's list takes tens of times its 9 kB a tenant); and its files,
        read from the manifest when first asked for (--verbose). None if the list cannot be read."""
        if self._same is None:
            return None
        files = pages = 0
        try:
            for entry in self._file_entries():
                path, kind = entry["path"], entry["kind"]
                if not isinstance(path, str) or not isinstance(kind, str):
                    return None
                files += 1
                pages += path.endswith(".html")
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None
        return Built(tenants, files + 1, pages), Listed(self.out, self._same)  # + 1: the manifest itself

    def _file_entries(self) -> Iterator[Any]:
        """The entries of the manifest's "files" list, as read; when only its tenants were read (_read), read
        from the file a piece at a time, if it still has the bytes read then (ValueError otherwise)."""
        if self._listed is not _LATER:
            if not isinstance(self._listed, list):
                raise ValueError("no file list")
            yield from self._listed
            return
        with self.file.open("rb") as f:
            if self._same is None or not self._same.held_by(f):
                raise ValueError("the manifest changed")
            yield from manifest_file_entries(f)

    def _read(self) -> Any:
        """The manifest, parsed; None when its tenants are read already, or it cannot be read. When it is laid
        out as policygen writes it, only its "tenants" object is read (a large site's file list is most of its
        bytes and is seldom needed), from the end of the file an item at a time, and its file list when first
        needed, while the file is unchanged lately."""
        try:
            info = self.file.lstat()
        except OSError:
            return None  # no previous build
        if not stat.S_ISREG(info.st_mode):
            self.damaged = self._damage("it is not a regular file")
            return None
        try:
            with self.file.open("rb") as f:
                # Its tenants alone read, from the end; its file list when first needed (written lately: hashed).
                same = SameBytes.by_stat(f) or SameBytes.by_hash_of(f)
                if self._take_at_end(f):
                    self._same, self._listed = same, _LATER
                    return None
                f.seek(0)
                raw = f.read()  # not laid out as policygen writes it: read whole
                self._same = same
            text = _utf8_text(raw)
            data = json.loads(raw if text is None else text)
        except _Damaged:
            raise  # a record of released versions that cannot be read, told by __init__
        except (OSError, ValueError, RecursionError) as exc:
            self.damaged = self._damage(f"it is not JSON ({type(exc).__name__})")
            return None
        if text is not None:  # read as the swap reads it (output._manifest_top_level): its names are the same
            with contextlib.suppress(KeyError, TypeError, ValueError):  # the swap finds it damaged by itself
                self.top_level = ListedNames(self._same, frozenset({*listed_top_level(data), MANIFEST_PATH}))
        return data

    def _take_at_end(self, f: BinaryIO) -> bool:
        """Read the tenants from the end of the manifest open as *f* (manifest_tenants); False when it is not
        laid out as policygen writes it (it is then read whole)."""
        items = manifest_tenants(f)
        if items is None:
            return False
        try:
            self._take(items)
        except _Damaged:
            raise
        except (ValueError, RecursionError):
            return False
        return True

    def _take(self, items: Iterable[tuple[str, Any]]) -> None:
        """Read the previous build's tenants from the manifest's *items*: every record of released versions
        (one that cannot be read is damage: _Damaged), and what reusing each tenant needs, kept sorted in a
        spool. When a line is not one policygen writes, none is usable: the build renders every tenant."""
        spool = Spool(_EARLIER, _earlier_slug, self._spool_folder)
        usable = True
        try:
            for slug, entry in items:
                if not isinstance(entry, dict):
                    raise _Damaged(f"tenants.{slug} is not an object")
                releases: TenantRecord = {}
                if entry.get("releases") is not None:  # absent in manifests of older policygen versions
                    try:  # checked here, every one; kept in the tenant's line (Earlier.releases)
                        releases = read_tenant_record(entry["releases"])
                    except ValueError as exc:
                        raise _Damaged(f"tenants.{slug}.releases: {exc}") from None
                earlier = Earlier.of(slug, entry, releases) if usable else None
                usable = earlier is not None  # and read on: every record of released versions is checked
                spool.add(earlier or Earlier.unusable(slug, releases))
            ordered = spool.ordered()
        except BaseException:
            spool.close()
            raise
        self.tenants.close()
        self.tenants = Earliers(ordered, spool, usable)

    @property
    def published(self) -> PublishedBefore:
        """The versions each tenant published: every one must still be there (policygen/history.py)."""
        return PublishedBefore(self.tenants)

    def _damage(self, why: str) -> Problem:
        return Problem(
            f"the previous build's manifest cannot be read: {why}; it records the released versions "
            "that build published, and without it policygen cannot check that none has vanished or "
            "changed since",
            file=self.file,
            expected="manifest.json as policygen wrote it",
            suggestion="if the released history is intact (git status shows no change in "
            f"tenants/*/releases/), delete {self.out.name}/ and build again",
        )

    def intact(self, path: str) -> Path | None:
        """The previous build's file at *path*, if it is a regular file inside the output folder."""
        found = self._regular(path)
        return None if found is None else Path(found[0])

    def _regular(self, path: str) -> tuple[str, int] | None:
        """The file at *path* and its size, if it is a regular file inside the output folder. Plain
        strings, not Paths: a no-change build looks at every file of the site here."""
        target = os.path.join(self.root, path)
        try:
            info = os.lstat(target)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode) or not self._real_folder(os.path.dirname(target)):
            return None
        return target, info.st_size

    def _real_folder(self, folder: str) -> bool:
        """Whether *folder* is the output folder or a folder in it reached through no link. Each folder
        is looked at once: a site has a few folders per tenant and many files in each."""
        if folder == self.root:
            return True
        known = self._folders.get(folder)
        if known is None:
            try:
                known = folder.startswith(self.root + os.sep) and stat.S_ISDIR(os.lstat(folder).st_mode)
            except OSError:
                known = False
            known = known and self._real_folder(os.path.dirname(folder))
            self._folders[folder] = known
        return known

    def reuse(self, slug: str, key: str | None) -> TenantResult | None:
        """The tenant's previous files, if built from the same inputs and still intact on disk."""
        files = self.files.get(slug)  # first: a file list that cannot be read leaves no tenant reusable
        earlier = self.tenants.get(slug)
        if earlier is None or (key is not None and earlier.inputs != key):
            return None
        outputs: list[Output] = []
        feed: list[FeedEntry] = []
        for f in files:
            if self.untouched:  # every file as the previous build wrote it: no link, nothing replaced or edited
                found: tuple[str, int] | None = (os.path.join(self.root, f.path), f.bytes)
            else:
                found = self._regular(f.path)
            if found is None or found[1] != f.bytes:
                return None
            item = Output(
                f.path,
                f.kind,
                b"",
                tenant=slug,
                document=f.document,
                version=f.version,
                effective=f.effective,
                app=f.app,
                origin=found[0],
                sha256=f.sha256,
                size=f.bytes,
            )
            versions = records_a_version(item)
            if versions or not self.untouched:  # read only what the feed needs, or what must be checked
                data = self._checked(found[0], f.bytes, f.sha256)
                if data is None:
                    return None  # edited or damaged since: render again
                if versions:
                    feed.extend(entries_in([replace(item, data=data, size=None)]))
            outputs.append(item)
        return TenantResult(slug, earlier.inputs, outputs, earlier.listing, rendered=False, feed=feed)

    def _checked(self, file: str, size: int, sha256: str) -> bytes | None:
        """The bytes of a previous build's file, if they are the ones its manifest lists (read once; not
        hashed again when the output's stamp shows it untouched)."""
        try:
            with open(file, "rb") as f:
                data = f.read()
        except OSError:
            return None
        if len(data) != size or (not self.untouched and hashlib.sha256(data).hexdigest() != sha256):
            return None
        return data


@dataclass
class Step:
    """What the build needs to know to do one tenant: load it, then render it unless reusable."""

    project: Project
    theme: SiteTheme
    renderer: ClauseRenderer
    options: BuildOptions
    shared: str  # the key part every tenant shares
    previous: Earliers  # the previous build's tenants, looked up in slug order
    published: RecordsByTenant = field(default_factory=lambda: _NONE_PUBLISHED)  # each tenant's versions before
    manifest: Path = Path(MANIFEST_PATH)  # the previous build's, named in problems
    committed: Committed | None = None  # snapshots in git's HEAD
    staging: Staging | None = None  # where a rendered tenant's files are written at once (a streaming build)
    shelf: CodeShelf | None = None  # the compiled code a worker started afresh loads and keeps (_worker_init)

    def unchanged(self, slug: str, digest: str) -> bool:
        """Whether a tenant whose folder hashes to *digest* is unchanged since the previous build (its files are
        then reused; not even its YAML needs parsing), else it must be rendered."""
        before = self.previous.get(slug)
        if before is None:
            return False
        drafted = drafts_shown(self.options.drafts, before.listing.entry["releases"])
        return before.inputs == tenant_key(self.project, digest, before.documents, self.shared, drafted)

    def render(self, slug: str) -> TenantResult | list[Problem]:
        """The tenant rendered; with a staging folder, its files written there and only their records kept."""
        problems = Collector()
        tenant = load_tenant_source(self.project, slug, problems)
        if tenant is None:
            return problems.problems
        try:
            histories = load_histories(tenant, Published(self.manifest, self.published.get(slug), self.committed))
            outputs, view = tenant_outputs(self.project, self.theme, self.renderer, tenant, self.options, histories)
        except InputError as exc:
            return exc.problems
        feed = entries_in(outputs)
        releases = history_record(histories)
        drafted = drafts_shown(self.options.drafts, releases)
        key = tenant_key(self.project, tenant.digest, tenant.documents, self.shared, drafted)
        if self.staging is None:  # kept in memory (serve's preview)
            return TenantResult(slug, key, outputs, view, rendered=True, releases=releases, feed=feed)
        # Written at once; its part of the site-wide files made here too (in the worker, when there are many).
        part = Fragment.of(slug, key, put_folder(self.staging, slug, outputs), feed)
        return TenantResult(slug, key, [], view, rendered=True, releases=releases, feed=feed, written=part)

    def for_workers(self, slugs: Iterable[str], forked: bool = False) -> Step:
        """This step, for workers that render *slugs*. Workers *forked* from this process start as copies of it,
        with its renderer and theme and what they compiled. Others get a new renderer and theme: the warm ones
        hold compiled templates, which cannot be pickled (weak references), and stay in this process for the next
        build; each such worker compiles its own, or loads it from the cache of compiled code this process uses
        (signed: policygen/codecache.py)."""
        return replace(
            self,
            renderer=self.renderer if forked else ClauseRenderer(self.renderer.content, self.renderer.raw_html),
            theme=self.theme if forked else project_theme(self.project),
            previous=Earliers(),  # nor are tenants looked up there (a spool's file is this process's)
            published={slug: record for slug in slugs if (record := self.published.get(slug))},  # theirs alone
            shelf=self.renderer.compiled.shelf,  # a renderer is sent without it (render.py: __reduce__)
        )


@dataclass(frozen=True)
class Lookups:
    """What the lookups found of every tenant, in slug order: those to render, and the others, found unchanged or
    with *problems*. Lists of the build's own names, not a map with an entry for each of a hundred thousand
    tenants (a one-tenant rebuild finds them all but one)."""

    todo: list[str]
    found: list[str]  # unchanged, or with problems: placing one gives its problems (_Placing.place)
    problems: dict[str, list[Problem]]


COMPILED = "compiled"  # in the project's cache: compiled templates, signed (policygen/codecache.py)

CHUNK_TENANTS = 32  # at most, per batch a worker renders and sends back
# Fewer are rendered in one forked process beside the unchanged tenants when these are many: linking a thousand
# takes about as long as rendering one tenant, and the fork a few milliseconds (Builder._beside).
BESIDE_MIN_REUSED = 200
_step: Step | None = None


def _cache_folder(root: Path) -> Path | None:
    """The project's cache folder, .cache/policygen (made if missing); None when it cannot be used."""
    file = cache_file(root, DIGESTS, make=True)
    return None if file is None else file.parent


def _shelve_compiled(root: Path, renderer: ClauseRenderer, theme: SiteTheme) -> None:
    """Let the clause and theme sandboxes load what an earlier build compiled, and keep what they compile,
    in the project's cache, signed (policygen/codecache.py): a fresh process need not compile them again."""
    if renderer.compiled.shelf is None:
        shelf = signed_codes(cache_file(root, COMPILED, make=True), code_digest())
        if shelf is not None:
            shelf.prune()  # once a process: what an earlier policygen compiled
        renderer.compiled.shelf = shelf
    _shelve_theme(renderer, theme)


def _shelve_theme(renderer: ClauseRenderer, theme: SiteTheme) -> None:
    """The theme's sandbox loads and keeps compiled pages where the clause renderer does."""
    if isinstance(theme.env, BoundedSandbox) and theme.env.compiled is None:
        theme.env.compiled = CompiledCode(renderer.compiled.shelf)


def compile_ahead(renderer: ClauseRenderer, library: Library, theme: SiteTheme) -> None:
    """Compile the *library* and the *theme* now, before worker processes are forked from this one (a build's, a
    check's), so that each starts with them compiled. Where the compiled code is kept in the project's cache
    (codecache: the shelf) and fork is safe, a child forked here compiles the theme and the library's partials
    into the shelf while this process compiles the clauses, then this one loads the child's code from the shelf:
    two cores for what took one, the other idle (about 0.3 s of a cold build of the vs_hugo project). A child
    that fails leaves its share to this process, which compiles what it does not find."""
    fork = renderer.compiled.shelf is not None and fork_is_safe()
    child = Child.start(partial(_compiled_beside, renderer, library, theme)) if fork else None
    try:
        renderer.compile_clauses(library)
        if child is not None:
            child.message()  # it has ended: what it compiled is in the shelf
    finally:
        if child is not None:
            child.end()
    renderer.compile_partials(library)
    theme.compile_templates()


def _compiled_beside(renderer: ClauseRenderer, library: Library, theme: SiteTheme) -> bytes:  # pragma: no cover
    """compile_ahead's share in its child: each template's code is stored in the shelf as it is compiled."""
    theme.compile_templates()
    renderer.compile_partials(library)
    return b""


def _chunks(todo: list[str], jobs: int) -> list[list[str]]:
    """The batches *jobs* workers render *todo* in, in the order they take them. Each is strided across the list (a
    project's heavy tenants may stand together) and small: its results wait in this process until written down.
    The last two per worker are split in four, so that the workers finish together: the batch one worker ends
    with is the other's idle time (at 1,000 tenants, 32 batches of 0.3 s each left a core idle for about 0.2 s)."""
    count = max(jobs * 8, -(-len(todo) // CHUNK_TENANTS))
    chunks = [c for c in (todo[i::count] for i in range(count)) if c]
    tail = 2 * jobs
    return chunks[:-tail] + [part for chunk in chunks[-tail:] for part in (chunk[i::4] for i in range(4)) if part]


def _worker_init(step: Step) -> None:
    global _step
    if step.shelf is not None and step.renderer.compiled.shelf is None:  # started afresh, not forked
        step.renderer.compiled.shelf = step.shelf
    _shelve_theme(step.renderer, step.theme)
    _step = step


def _pool_worker_init(step: Step) -> None:
    """A worker of the pool: it renders tenant after tenant, collecting its garbage between them (garbage.py)."""
    _worker_init(step)
    garbage.start()


def _worker_run(slugs: list[str]) -> list[tuple[str, TenantResult | list[Problem]]]:
    assert _step is not None
    step = _step
    return garbage.tenant_by_tenant(lambda slug: (slug, step.render(slug)), slugs)


@dataclass(frozen=True)
class _PlacedBeside:
    """What the process forked beside the build changed by placing tenants: the writer's records of the folders
    it placed, and how many parts it found signed."""

    placed: Placed
    trusted: int


class _Placing:
    """How an unchanged tenant is placed in the new site, by this process or by the one forked beside it (the
    Sides of policygen/beside.py: that one renders the tenants to render with *workers*, then places some)."""

    def __init__(
        self,
        previous: Previous,
        writer: SiteWriter,
        fragments: Fragments,
        problems: dict[str, list[Problem]],
        untouched: bool,
    ) -> None:
        self.previous = previous
        self.writer = writer
        self.fragments = fragments
        self.problems = problems  # of the tenants the lookups found with problems
        self.untouched = untouched
        self.workers: Step | None = None  # what the forked process renders with (Step.for_workers)
        self._trusted = 0  # in the forked process: the parts it found signed, already sent

    def place(self, slug: str) -> TenantResult | list[Problem] | None:
        """The tenant *slug*, found unchanged (or its problems), its files linked from the previous output.
        With the output *untouched* since the build that wrote it (its stamp found matching) and the tenant's
        part kept under the same key, the part says which files it has: the previous manifest's entries are not
        even looked at; and when the spare's copy of the tenant's folder is known to be the output's, it is kept
        without a look at a file. None when it cannot be reused after all: it is rendered then."""
        problems = self.problems.get(slug)
        if problems is not None:
            return problems
        earlier = self.previous.tenants.get(slug)
        if earlier is None:
            return None  # (the lookups found it in this very record)
        key = earlier.inputs  # the lookups found its key equal to this
        if self.untouched:
            cached = self.fragments.cached(slug, key)
            if cached is not None and _placed(self.writer, self.previous.root, cached[0]):
                feed = list(cached[0].feed)
                return TenantResult(slug, key, [], earlier.listing, False, feed=feed, written=cached[1])
        reused = self.previous.reuse(slug, key)
        if reused is None:
            return None
        return replace(reused, outputs=self.writer.put(slug, reused.outputs, self.untouched))

    def start(self) -> None:
        assert self.workers is not None
        _worker_init(self.workers)
        self.writer.take_placed()  # what the build process had placed before the fork is its own
        self._trusted = self.fragments.trusted

    def render(self, slug: str) -> TenantResult | list[Problem]:
        assert _step is not None
        return _step.render(slug)

    def taken(self) -> _PlacedBeside:
        trusted, self._trusted = self.fragments.trusted - self._trusted, self.fragments.trusted
        return _PlacedBeside(self.writer.take_placed(), trusted)

    def add(self, changes: _PlacedBeside) -> None:
        self.writer.add_placed(changes.placed)
        self.fragments.trusted += changes.trusted


class Builder:
    """Builds a project's site, re-rendering only the tenants whose inputs changed.

    Keeps compiled templates and rendered Markdown between builds, so a long-lived
    Builder (policygen serve) rebuilds one tenant's edit in milliseconds; a fresh one
    (policygen build) reuses unchanged tenants from the previous output's manifest.
    Tenants are loaded and rendered in worker processes when there are many.
    When no input changed and the output is as the previous build left it, nothing is written.
    """

    skips_unchanged = True  # a build whose output is the whole site may leave an unchanged one as it is
    writes_sitemap = True  # a shard build's output has none: `policygen merge` makes it

    def __init__(
        self,
        root: Path,
        out: Path | None = None,
        options: BuildOptions | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.root = root
        self.out_arg = out
        self.options = options or BuildOptions()
        self.progress = progress  # called with (tenants done, tenants in all); the build itself never prints
        self._renderer: ClauseRenderer | None = None
        self._theme: tuple[tuple[Path, str], SiteTheme] | None = None
        self.discard: Discard = shutil.rmtree  # what removes the previous output once the new one is in place

    def build(self) -> BuildReport:
        started = time.perf_counter()
        # The build date decides which release is in force, so it is fixed once and is part of every key.
        today = self.options.today or utc_today()
        options = replace(self.options, today=today)
        recorded = self.skips_unchanged and not options.tenants  # a whole-site build: policygen/lastbuild.py
        # The child the command line started looks at the inputs, the tenants' folders and the output's stamp while
        # this process imports the engine and loads the project (policygen/prebuild.py). Without one, the inputs
        # are looked at here, before any is read.
        looking = prebuild.ahead(self.root.resolve(), today, options.drafts)
        ahead = looking is not None and looking.inputs  # the child looks at the inputs and the tenants' folders
        seen = Inputs.seen(self.root.resolve(), today, options.drafts) if recorded and not ahead else None
        problems = Collector()
        project = load_base(self.root, problems, cached_library)  # the library kept in the cache
        if problems.problems:
            load_project(self.root, options.tenants)  # raises with the tenants' problems reported too
        out = check_out_dir(self.out_arg if self.out_arg is not None else project.root / "build", project.reserved)
        theme = project_theme(project)
        theme_digest = theme.digest()
        # Keep the compiled theme templates while no template or static file changed (serve rebuilds often).
        if self._theme is not None and self._theme[0] == (theme.folder, theme_digest):
            theme = self._theme[1]
        self._theme = ((theme.folder, theme_digest), theme)
        self._renderer = warm_renderer(self._renderer, project.library)
        _shelve_compiled(project.root, self._renderer, theme)
        spare = spare_folder(project.root, out)
        cache = _cache_folder(project.root)  # what the build keeps past a budget: a large site's is not held
        with Previous(out, cache) as previous:
            # The previous manifest is read, and the tenants' folders hashed unless the child hashes them, while the
            # child looks; then what it found is taken.
            if ahead:
                looked = prebuild.taken(looking, out, spare)
                seen = looked.inputs if recorded else None
                selected, slugs, hashes = self._tenants(project.root, options, looked.tenants)
            else:
                selected, slugs, hashes = self._tenants(project.root, options, None)
                looked = prebuild.taken(looking, out, spare)
            matched = looked.checked.matched
            previous.stamped(matched)
            if previous.damaged is not None:
                problems.add(previous.damaged)
                matched = None
            step = Step(
                project,
                theme,
                self._renderer,
                options,
                shared_key(project, theme_digest, options),
                previous.tenants,
                previous.published,
                previous.file,
                committed_releases(project.root),
            )
            found = self._lookups(step, slugs, hashes)
            del hashes  # not held through the build
            previous.untouched = matched is not None
            if self._unchanged(options, previous, slugs, found) and previous.untouched:
                listed = previous.listed(len(slugs))
                if listed is not None:  # the output is already exactly what this build would write
                    report = BuildReport(
                        out=out,
                        outputs=listed[1],
                        tenants=sorted(slugs),
                        seconds=time.perf_counter() - started,
                        unchanged=True,
                        counts=listed[0],
                    )
                    remember(project.root, out, seen, report.built())
                    return report
            forget(project.root, out)

            fragments = Fragments(cache_file(project.root, FRAGMENTS, make=True), signing_key())
            # The output's lock is held from here to the swap.
            with (
                SiteWriter(out, spare, matched, previous.top_level) as writer,
                Kept(cache) as kept,
            ):
                step.staging = writer.staging
                self._stream(step, slugs, found, previous, writer, problems, fragments, previous.untouched, kept)
                problems.raise_if_any()
                dropped: list[str] = []
                # The project's tenants: a build of some (--tenant) looks again; a whole-site build selected them all.
                present = SortedNames(tenant_slugs(project.root) if options.tenants else selected)
                # Tenants not asked for (--tenant) keep their previous output, while their folder is there; every one
                # asked for has its result (a problem stopped the build above).
                chosen = set(slugs) if options.tenants else None
                for slug in (earlier.slug for earlier in previous.tenants):
                    if slug not in present:
                        dropped.append(slug)  # deleted from the project: no longer published
                    elif chosen is not None and slug not in chosen:
                        carried = previous.reuse(slug, None)
                        if carried is not None:
                            kept.add(replace(carried, outputs=writer.put(slug, carried.outputs)), fragments)

                manifest_file = writer.staging.folder / MANIFEST_PATH
                # Forked before the flush's thread starts: a fork is safe only while this process runs no other thread.
                index = self.index_beside(project, theme, kept, writer.staging.folder)
                try:
                    # The tenants' files reach the disk meanwhile.
                    with flushing(writer.staging.folder), contextlib.ExitStack() as files:
                        spans = self.site_spans(project, previous, writer, spare, files)
                        outputs = self.assemble(project, theme, kept, options, manifest_file, fragments, index, spans)
                        writer.walk_ahead()  # while the disk is written: what the stamp after the swap copies
                except CacheChanged as exc:
                    problems.add(_cache_changed(exc, project.root))
                    problems.raise_if_any()
                    raise
                finally:
                    if index is not None:
                        index.end()
                write_site(out, outputs, self.discard, spare, writer)
            tally = kept.tally.ordered()
            fragments.prune(present)  # the parts of tenants deleted from the project
            paths = [o.path for o in outputs]
            report = BuildReport(
                out=out,
                outputs=Listed(out, SameBytes(None, next(o.sha256 for o in outputs if o.path == MANIFEST_PATH))),
                rendered=tally.rendered_documents,
                tenants=tally.tenants,
                rendered_tenants=tally.rendered,
                dropped=dropped,
                seconds=time.perf_counter() - started,
                counts=Built(
                    len(tally.tenants),
                    len(paths) + tally.files,
                    sum(1 for p in paths if p.endswith(".html")) + tally.pages,
                ),
            )
            if recorded:
                remember(project.root, out, seen, report.built())
            return report

    def site_spans(
        self, project: Project, previous: Previous, writer: SiteWriter, spare: Path, files: contextlib.ExitStack
    ) -> SiteSpans:
        """What copies unchanged tenants' entries from the previous manifest and sitemap, and records where each
        tenant's lie in the new ones (policygen/spans.py). The manifest is opened (and checked) once for its file
        list and its "tenants" object."""
        manifest = previous.site_file(MANIFEST_PATH, files)

        def spans(file: BinaryIO | None, what: str, layout: Layout) -> Spans:
            return Spans(_copier(file, span_record(spare, what), layout, files), writer.recorder(what))

        base_url = project.config.base_url
        return SiteSpans(
            spans(manifest, MANIFEST_SPANS, MANIFEST),
            spans(manifest, TENANTS_SPANS, TENANTS),
            spans(previous.site_file(SITEMAP_PATH, files), SITEMAP_SPANS, sitemap_layout(base_url))
            if base_url and self.writes_sitemap
            else Spans(),
        )

    def scope(self, slugs: list[str]) -> list[str]:
        """The tenants this build renders, of those selected (a shard build takes its part: policygen/shards.py)."""
        return slugs

    def index_beside(self, project: Project, theme: SiteTheme, kept: Kept, staging: Path) -> SiteIndexBeside | None:
        """The site index, started in a child forked now, which writes it into the *staging* folder while this
        process makes the other site-wide files (SiteIndexBeside); None for a small site or where fork is not safe."""
        return SiteIndexBeside.start(project, theme, kept.results.ordered(), staging / SITE_INDEX)

    def assemble(
        self,
        project: Project,
        theme: SiteTheme,
        kept: Kept,
        options: BuildOptions,
        manifest_file: Path,
        fragments: Fragments,
        index: SiteIndexBeside | None = None,
        spans: SiteSpans = NO_SITE_SPANS,
    ) -> list[Output]:
        """The files of the output besides the tenants' folders written already, from what the build *kept* of
        its tenants (their results, each with its part kept in *fragments*; the site feed's entries; their
        tally); the manifest written to *manifest_file*, with *spans*; the site index by *index*, if given."""
        results, feed = kept.results.ordered(), kept.feed.ordered()
        return site_files(project, theme, results, options, manifest_file, fragments, feed, kept.tally, index, spans)

    def _tenants(
        self, root: Path, options: BuildOptions, found: prebuild.Tenants | None
    ) -> tuple[list[str], list[str], FolderHashes]:
        """The tenants selected, those of them this build renders (scope), and their folders hashed: as the child
        looking ahead found them for a whole-site build, else looked at now."""
        if found is not None and not options.tenants and len(self.scope(found.slugs)) == len(found.slugs):
            return found.slugs, found.slugs, found.hashes  # (the hashes are in the order of the slugs)
        selected = select_tenants(root, options.tenants)
        slugs = self.scope(selected)
        # A whole site's stat cache keeps no lines of other folders (tenants deleted); a part's keeps them.
        return selected, slugs, hash_folders(root, slugs, others=bool(options.tenants) or len(slugs) != len(selected))

    def _lookups(self, step: Step, slugs: list[str], hashes: FolderHashes) -> Lookups:
        """Each tenant looked up, in this process, from its folder's hash: to render, unchanged, or with
        problems."""
        found = Lookups([], [], hashes.problems)
        for index, slug in enumerate(slugs):
            if slug in hashes.problems or step.unchanged(slug, hashes.digest(index)):
                found.found.append(slug)
            else:
                found.todo.append(slug)
        return found

    def _stream(
        self,
        step: Step,
        slugs: list[str],
        found: Lookups,
        previous: Previous,
        writer: SiteWriter,
        problems: Collector,
        fragments: Fragments,
        untouched: bool,
        kept: Kept,
    ) -> None:
        """Every tenant's files written into the staging folder as it comes (rendered ones by whoever
        rendered them, unchanged ones linked from the previous output); their results *kept*, each with
        its part of the site-wide files kept in *fragments* (not its files' records: see fragments.py)."""
        placing = _Placing(previous, writer, fragments, found.problems, untouched)
        with contextlib.closing(self._run(step, len(slugs), found, placing)) as outcomes:
            for slug, outcome in outcomes:
                if isinstance(outcome, list):
                    problems.extend(outcome)
                    continue
                if outcome.rendered:
                    writer.done.append(slug)  # written by step.render, here or in a worker
                kept.add(outcome, fragments)

    def _unchanged(
        self,
        options: BuildOptions,
        previous: Previous,
        slugs: list[str],
        found: Lookups,
    ) -> bool:
        """Whether this build's inputs are exactly the previous build's: the same tenants, every one with
        the input key the manifest records (which covers the theme, settings, library, date and policygen)."""
        return (
            self.skips_unchanged
            and not options.tenants
            and previous.damaged is None
            and bool(slugs)
            and not found.todo
            and not found.problems  # every tenant found unchanged
            and len(previous.tenants) == len(slugs)  # the same tenants: each one found is one of them
        )

    def _run(
        self, step: Step, total: int, lookups: Lookups, placing: _Placing
    ) -> Generator[tuple[str, TenantResult | list[Problem]], None, None]:
        """Each tenant's outcome as it comes, to be written down and let go: a build never holds every
        tenant's part at once. Only the tenants that must be rendered go to worker processes, and only
        when there are enough of them; a few go to one forked beside this process when many are unchanged,
        which places unchanged ones too once it has rendered them (policygen/beside.py)."""
        todo, unchanged = lookups.todo, lookups.found
        jobs = step.options.jobs or os.cpu_count() or 1
        done = 0
        beside = self._beside(step, todo, unchanged, jobs, placing)
        if beside is not None:
            with beside:
                for slug, outcome in beside.outcomes():
                    done += 1
                    self._report(done, total)
                    yield slug, step.render(slug) if outcome is None else _named(outcome, slug)
            return
        for slug in unchanged:
            placed = placing.place(slug)
            done += 1
            self._report(done, total)
            yield slug, step.render(slug) if placed is None else placed
        if jobs < 2 or len(todo) < PARALLEL_MIN_TENANTS:
            for slug in todo:
                outcome = step.render(slug)
                done += 1
                self._report(done, total)
                yield slug, outcome
            return
        chunks = _chunks(todo, jobs)
        method = start_method()
        if method == "fork":  # the workers start as copies of this process: what it compiles here, they have
            compile_ahead(step.renderer, step.project.library, step.theme)
        workers = step.for_workers(todo, forked=method == "fork")
        # Imported here, not with the engine: only a build with many tenants to render starts a pool, and the
        # import is a few milliseconds of every build's start (a one-tenant rebuild's included).
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_pool_worker_init,
            initargs=(workers,),
        ) as pool:
            for mine, chunk in zip(chunks, pool.map(_worker_run, chunks), strict=True):
                done += len(chunk)
                self._report(done, total)
                # With this process's own names: a worker's, unpickled, are a second copy kept to the end (written,
                # and the tally's names).
                yield from ((slug, _named(outcome, slug)) for slug, (_, outcome) in zip(mine, chunk, strict=True))

    @staticmethod
    def _beside(
        step: Step, todo: list[str], unchanged: list[str], jobs: int, placing: _Placing
    ) -> Beside[TenantResult | list[Problem], _PlacedBeside] | None:
        """A process forked to render the few tenants *todo* and then place unchanged ones while this one places
        them too (a one-tenant rebuild's two largest parts, on two cores); None where that does not pay (few
        unchanged to place meanwhile, many to render: the pool's work) or fork is not safe. The child is a copy
        of this process: it renders from the compiled code this process uses, as this process would."""
        if len(todo) >= PARALLEL_MIN_TENANTS or len(unchanged) < BESIDE_MIN_REUSED or jobs < 2:
            return None
        if start_method() != "fork":
            return None
        placing.workers = step.for_workers(todo, forked=True)
        if not placing.untouched:  # every tenant placed is reused from the file list: read once, before the fork
            placing.previous.read_files()  # read by position only: both processes look their tenants up in it
        return Beside(placing, todo, unchanged)

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None and total:
            self.progress(done, total)


def site_files(
    project: Project,
    theme: SiteTheme,
    results: Sequence[TenantResult],
    options: BuildOptions,
    manifest_file: Path | None = None,
    fragments: Fragments | None = None,
    feed: Iterable[FeedEntry] | None = None,
    tally: Tally | None = None,
    index: SiteIndexBeside | None = None,
    spans: SiteSpans = NO_SITE_SPANS,
) -> list[Output]:
    """The whole site from its tenants' results (in slug order): theme files, tenant files, site files, manifest
    (written to *manifest_file* as it is made, if given: see output.manifest). The files of tenants whose
    part is written (in *fragments*) are already in the staging folder and are not returned; their entries
    of the manifest and sitemap are read back from their parts, a tenant at a time, or their manifest entries
    and sitemap copied from the previous ones' where *spans* can (policygen/spans.py). The site feed lists
    *feed*, newest first (a build sorts it on disk: Kept), else the versions among the results.

    Given the *tally* a build made of *results* as it kept them (Kept: every one written, none with its files
    in memory), they are not walked for their files nor for the newest date: each walk of a spool reads every
    result back. What is left walks them once each for the site index, the sitemap (with a base_url), the
    manifest's file list and its "tenants" object.

    A build and `policygen merge` (policygen/shards.py) both make the site here, so they agree byte for byte.
    """
    outputs: list[Output] = list(theme.assets())
    if tally is None:  # results in memory (policygen merge), with their files
        for result in results:
            outputs.extend(result.outputs)
    if feed is None:
        feed = newest_first(entry for r in results for entry in r.feed_entries())
    copier = spans.sitemap.copier
    written = (
        page
        for r in in_folder_order(results, _slug)
        if r.written is not None
        for page in r.sitemap_entries(fragments, copier)
    )
    staging = None if manifest_file is None else manifest_file.parent  # the site-wide files go beside it
    views = Mapped(results, TenantResult.index_view)  # made as the index reads them: never every one at once
    latest = None if tally is None else tally.latest
    outputs.extend(
        site_outputs(
            project, theme, views, options, outputs, feed, written, staging, latest, index, spans.sitemap.recorder
        )
    )
    extra: dict[str, object] = {"tenants": tenants_items(results, spans.tenants.copier)}
    blocks = manifest_blocks(results, fragments, spans.manifest.copier)
    if index is not None:  # its entry waits for the child when the manifest comes to it, in path order
        outputs = [o for o in outputs if o.path != SITE_INDEX]
        blocks = heapq.merge([Block(SITE_INDEX, lambda: files_text([index.output()]))], blocks, key=block_first)
    outputs.append(manifest(outputs, extra, manifest_file, blocks, spans.manifest.recorder, spans.tenants.recorder))
    return outputs if index is None else [*outputs, index.output()]


def _copier(file: BinaryIO | None, record: Path, layout: Layout, files: contextlib.ExitStack) -> Copier | None:
    """What copies unchanged tenants' entries from *file* (a previous site-wide file of the *layout*, if it can be
    used) by the *record* of where they lie in it, read from the cache (closed with *files*); None without both."""
    if file is None or not unlinked_cache(record):
        return None
    try:
        lines = files.enter_context(record.open(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Copier(file, lines, layout)


def manifest_blocks(
    results: Iterable[TenantResult], fragments: Fragments | None, copier: Copier | None = None
) -> Iterator[Block]:
    """The manifest entries of the tenants whose files are written (of *results*, in slug order), in path order,
    each read back when it is written (or copied by the *copier* from the previous manifest)."""
    for result in in_folder_order(results, _slug):
        block = result.manifest_block(fragments, copier)
        if block is not None:
            yield block


def tenants_items(results: Iterable[TenantResult], copier: Copier | None = None) -> Items:
    """The manifest's "tenants" object, an item at a time; an unchanged tenant's copied from the previous manifest's
    where the *copier* finds it there (policygen/spans.py)."""

    def items() -> Iterator[tuple[str, object]]:
        for result in results:
            copied = result.copied(copier, result.slug)
            yield result.slug, CopiedItem(copied) if copied is not None else result.manifest_entry()

    return Items(items)


def _named(outcome: TenantResult | list[Problem], slug: str) -> TenantResult | list[Problem]:
    """A worker's *outcome*, its tenant named by this process's *slug* (the same text, not a copy kept too)."""
    if isinstance(outcome, TenantResult):
        outcome.slug = slug
    return outcome


def _placed(writer: SiteWriter, root: str, part: Fragment) -> bool:
    """Put an unchanged tenant's folder in the new site from its part: kept whole when the spare's copy is
    known intact, else its files linked from the previous output (at *root*): its folder whole into a new staging
    folder when the part is signed, else file by file as the part lists them (each entry of a part read back
    unsigned checked so); False when the part holds an entry policygen does not write (it is then not used)."""
    if writer.keep_intact(part.slug, part.folders) or (part.signed and writer.link_whole(part.slug, root)):
        return True
    try:
        records = part.outputs(root)
    except (ValueError, TypeError):
        return False
    writer.put(part.slug, records, untouched=True)
    return True


def _kept(fragments: Fragments, result: TenantResult) -> TenantResult:
    """*result* with its part of the site-wide files kept in *fragments*, and no record of each file (nor its
    feed entries: Kept holds them)."""
    part = result.written
    if part is None:
        part = Fragment.of(result.slug, result.key, result.outputs, result.feed_entries())
    stored = part if isinstance(part, Stored) else fragments.put(part)  # Stored: found in the cache
    return replace(result, outputs=[], feed=None, written=stored)


def _cache_changed(exc: CacheChanged, root: Path) -> Problem:
    return Problem(
        f"policygen's cache changed while the build was reading it ({exc})",
        file=root / ".cache" / "policygen",
        expected="one build at a time using the project's cache",
        suggestion="build again; deleting .cache/ is always safe",
    )


def site_outputs(
    project: Project,
    theme: SiteTheme,
    views: Sequence[TenantView],
    options: BuildOptions,
    tenant_files: list[Output] | None = None,
    feed: Iterable[FeedEntry] | None = None,
    more_pages: Iterable[SitemapPage | CopiedPages] = (),
    staging: Path | None = None,
    latest: dt.date | None = None,
    index: SiteIndexBeside | None = None,
    recorder: Recorder | None = None,
) -> list[Output]:
    """Files about the whole site, made after every tenant: the site index, the site feed and sitemap.xml
    (of *feed*, the versions published newest first, if given; else of the version.json files among *tenant_files*;
    of the pages among *tenant_files* and *more_pages*, which come in path order). Given the *staging*
    folder, the feed and sitemap are written there as they are made (see output.write_streamed). The feed's
    date is *latest*, if known (Tally), else the newest effective date among the *views*' documents."""
    files = tenant_files or []
    if index is None:
        outputs = [site_index(project, theme, views, into=_into(staging, SITE_INDEX))]
    else:  # made by its child: its path and kind stand for it in the sitemap meanwhile
        outputs = [Output(SITE_INDEX, "index", b"")]
    if latest is None:
        latest = max((d.effective for v in views for d in v.documents), default=NO_DATE)
    info = FeedInfo(SITE_FEED, project.config.title, project.config.title, SITE_INDEX, latest)
    base_url = project.config.base_url
    ordered = newest_first(entries_in(files)) if feed is None else feed
    outputs.append(atom_of(info, ordered, base_url, into=_into(staging, SITE_FEED)))
    loose = sorted(sitemap_pages([*files, *outputs]), key=_page_path)
    pages = heapq.merge(loose, more_pages, key=_page_path)
    site_map = sitemap_of(pages, base_url, _into(staging, SITEMAP_PATH), recorder)
    return [*outputs, site_map] if site_map else outputs


def _into(staging: Path | None, path: str) -> Path | None:
    return None if staging is None else staging / path


def _page_path(page: SitemapPage | CopiedPages) -> str:
    return page.path


def site_index(project: Project, theme: SiteTheme, views: Sequence[TenantView], into: Path | None = None) -> Output:
    """The site's index page, listing the tenants (in slug order). Serve renders it alone after an edit.
    Given *into* (its path in the staging folder), it is written there as it is made (output.write_streamed):
    the page of a site of a hundred thousand tenants is tens of megabytes."""
    context: dict[str, Any] = {"site": project.config, "tenants": views, "root": "", "lang": "en", "accent": None}
    if into is None:
        return Output(SITE_INDEX, "index", theme.render("index.html", **context))
    return write_streamed(into, theme.stream("index.html", **context), Output(SITE_INDEX, "index", b""))


# The site index is rendered by a child from this many tenants: forking costs about 2.4 ms, the index about 18 us a
# tenant (at 1,000 tenants 18 ms; at 10,000, 0.29 s).
INDEX_BESIDE_MIN_TENANTS = 200


class SiteIndexBeside:
    """The site index, rendered by a child forked when the site-wide files begin, while the build process writes
    the site feed, the sitemap and the manifest, whose entry for the index waits for the child when the manifest
    comes to it (in path order, among the tenants'). The index lists every tenant through the theme: at 10,000
    tenants it took 0.29 s of the 0.87 s the site-wide files took. A child that fails, or sends what it would
    not, leaves the index to this process, which renders it as it did before (a theme's error is then raised
    here, located, as before)."""

    def __init__(self, child: Child, render: Callable[[], Output], into: Path) -> None:
        self.child = child
        self._render = render
        self._into = into
        self._made: Output | None = None

    @classmethod
    def start(
        cls, project: Project, theme: SiteTheme, results: Sequence[TenantResult], into: Path
    ) -> SiteIndexBeside | None:
        if len(results) < INDEX_BESIDE_MIN_TENANTS or not fork_is_safe():
            return None
        render = partial(site_index, project, theme, Mapped(results, TenantResult.index_view), into)
        # It dies with this process: killed, a build must not leave it writing into the next build's staging folder.
        child = Child.start(partial(_index_beside, render), die_with_parent=True)
        return None if child is None else cls(child, render, into)

    def output(self) -> Output:
        """The index written into the staging folder: by the child, or now."""
        if self._made is None:
            message = self.child.message()
            self.end()
            self._made = _index_from(message, self._into) or self._render()
        return self._made

    def end(self) -> None:
        self.child.end()


def _index_beside(render: Callable[[], Output]) -> bytes:  # pragma: no cover - in the child
    made = render()
    return f"{made.sha256} {made.size}".encode()


def _index_from(message: bytes | None, into: Path) -> Output | None:
    """The index the child wrote into *into*, as write_streamed returns it, from the child's *message*."""
    found = None if message is None else _INDEX_MESSAGE.fullmatch(message)
    if found is None:
        return None
    sha256, size = found.group(1).decode(), int(found.group(2))
    return Output(SITE_INDEX, "index", b"", origin=str(into), sha256=sha256, size=size)


_INDEX_MESSAGE = re.compile(rb"([0-9a-f]{64}) ([0-9]{1,15})")


def build(
    root: Path,
    out: Path | None = None,
    options: BuildOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build the site of the project at *root* into *out* (default: root/build)."""
    return Builder(root, out, options, progress).build()
