"""What `policygen serve` shows before the disk write: the tenants an edit touches, rendered in memory.

Pieces:
    WrittenSite  the site last written to the output folder, as its manifest lists it: each tenant's
                 documents and index line, the versions it published
    affected     which tenants a set of changed input files touches (None: every tenant)
    Preview      warm rendering state of its own (project settings and library, theme, compiled
                 clauses), so it can render a few tenants while a full build writes the site
    MemorySite   the rendered files serve answers from ahead of the output folder, until a build
                 that started after them has written them

A preview renders exactly what a build renders for those tenants (engine.Step.render, the same
options and build date) and the site index; every other file is served from the output folder.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .dates import utc_today
from .engine import Earliers, Step, TenantResult, manifest_tenants, shared_key, site_index, view_from_entry
from .errors import Collector, InputError
from .history import TenantRecord, committed_releases, read_tenant_record
from .inputs import PROJECT_FILES, read_bytes
from .output import Output, manifest_file_entries
from .paths import MANIFEST_PATH
from .project import Project, load_base, project_theme
from .render import ClauseRenderer, warm_renderer
from .site import BuildOptions, TenantView
from .theme import SiteTheme

# Longest a request waits for a file a preview is rendering (the site index, rendered after the pages).
EXPECT_WAIT = 5.0
# Pages whose last sent bytes MemorySite remembers: the pages of one person's session, many times over.
SENT_KEPT = 1024
# Bytes of the largest page hashed to tell whether it changed (the site index of 100,000 tenants is tens of MB); a
# larger one is taken as changed.
PAGE_MOST = 256 << 20
# Past this many tenants an edit is not rendered in memory whole: only the tenants open pages show are,
# and the build that writes the site renders the rest (with progress shown).
PREVIEW_ALL = 8


@dataclass(frozen=True)
class WrittenSite:
    """The site in the output folder, from the "tenants" object of the manifest the last build wrote there: each
    tenant's documents and index line, the versions it published. The manifest's file list, most of a large
    site's bytes (about 100 MB at 10,000 tenants), is neither parsed whole nor held: a page's tenant is told by its
    path (`owner`), and what a browser was sent of a page is MemorySite's to remember."""

    documents: dict[str, tuple[str, ...]] = field(default_factory=dict)  # tenant -> its documents
    views: dict[str, TenantView] = field(default_factory=dict)  # tenant -> its line in the site index
    published: dict[str, TenantRecord] = field(default_factory=dict)  # tenant -> versions published
    manifest: Path | None = None  # where its file list is read (paths), when it was read

    @classmethod
    def read(cls, out: Path) -> WrittenSite:
        """The manifest just written to *out*, its tenants read from its end an item at a time; a part that cannot
        be read is left empty (the preview then renders less, and the build that follows writes the site whole
        as always)."""
        manifest = out / MANIFEST_PATH
        site = cls(manifest=manifest)
        try:
            with manifest.open("rb") as f:
                for slug, entry in manifest_tenants(f) or ():
                    site._add_tenant(slug, entry)
        except (OSError, ValueError, RecursionError):
            return cls()
        return site

    def _add_tenant(self, slug: str, entry: Any) -> None:
        try:
            self.views[slug] = view_from_entry(slug, entry)
            self.documents[slug] = tuple(d.id for d in self.views[slug].documents)
            if entry.get("releases") is not None:
                self.published[slug] = read_tenant_record(entry["releases"])
        except (KeyError, TypeError, ValueError, AttributeError):
            self.views.pop(slug, None)
            self.documents.pop(slug, None)

    def owner(self, path: str) -> str | None:
        """The tenant whose file the output path *path* is (a tenant's files are in its folder), or None."""
        slug, slash, _ = path.partition("/")
        return slug if slash and slug in self.documents else None

    def paths(self) -> Iterator[str]:
        """The path of each file the manifest lists, read a piece at a time (none when it cannot be read)."""
        if self.manifest is None:
            return
        try:
            with self.manifest.open("rb") as f:
                for entry in manifest_file_entries(f):
                    if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                        yield entry["path"]
        except (OSError, ValueError, RecursionError):
            return


def affected(changed: Iterable[Path], root: Path, documents: Mapping[str, tuple[str, ...]]) -> frozenset[str] | None:
    """The tenants whose pages the changed files can change, or None for every tenant (settings, the
    theme, shared partials, a tenant folder added or removed)."""
    slugs: set[str] = set()
    for path in changed:
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            continue
        if len(parts) >= 3 and parts[0] == "tenants":
            slugs.add(parts[1])  # a file in one tenant's folder
        elif len(parts) >= 3 and parts[0] == "content" and not parts[1].startswith("_"):
            slugs.update(slug for slug, docs in documents.items() if parts[1] in docs)  # a document's clause
        else:
            return None
    return frozenset(slugs)


class Preview:
    """Renders a few tenants from warm state of its own: it never shares compiled templates with the
    build that runs beside it in another thread."""

    def __init__(self, root: Path, options: BuildOptions) -> None:
        self.root = root
        self.options = options
        self._project: Project | None = None
        self._theme: tuple[str, SiteTheme] | None = None
        self._renderer: ClauseRenderer | None = None
        self._committed: Any = None

    def forget(self, changed: Iterable[Path]) -> None:
        """Drop the state the changed files invalidate: a tenant's own files invalidate none of it."""
        top = {p.relative_to(self.root).parts[0] for p in changed if p.is_relative_to(self.root) and p != self.root}
        if top - {"tenants"}:
            self._project = None  # settings, library or theme: read again (the theme is kept if unchanged)
        if top & set(PROJECT_FILES):
            self._renderer = None  # the settings decide how clauses render (raw HTML, stale translations)

    @property
    def project(self) -> Project | None:
        """The settings and library the last render used (None until one ran, or since they changed):
        the server works out a page's sources from them instead of reading the library again."""
        return self._project

    def render(self, slugs: list[str], written: WrittenSite) -> list[TenantResult]:
        """The tenants' files as a build makes them, or InputError with every problem found."""
        step = self._step(written)
        problems = Collector()
        results: list[TenantResult] = []
        for slug in slugs:
            outcome = step.render(slug)
            if isinstance(outcome, list):
                problems.extend(outcome)
            else:
                results.append(outcome)
        problems.raise_if_any()
        return results

    def index(self, views: Mapping[str, TenantView]) -> Output:
        """The site index listing *views* (each tenant's line as it is now)."""
        assert self._project is not None and self._theme is not None  # render() came first
        return site_index(self._project, self._theme[1], [views[slug] for slug in sorted(views)])

    def _step(self, written: WrittenSite) -> Step:
        if self._project is None:
            problems = Collector()
            project = load_base(self.root, problems)
            problems.raise_if_any()
            self._project = project
            self._committed = committed_releases(project.root)
        project = self._project
        theme = project_theme(project)
        digest = theme.digest()
        if self._theme is None or self._theme[0] != digest:
            self._theme = (digest, theme)
        self._renderer = warm_renderer(self._renderer, project.library)
        options = replace(self.options, today=self.options.today or utc_today())
        return Step(
            project,
            self._theme[1],
            self._renderer,
            options,
            shared_key(project, digest, options),
            Earliers(),
            written.published,
            committed=self._committed,
        )


@dataclass(frozen=True)
class Held:
    data: bytes
    sha256: str
    stamp: int  # the preview that made it


class MemorySite:
    """Files rendered by previews, served ahead of the output folder. Bounded: it holds the tenants
    edited since the last build that wrote the site, and each entry goes once such a build is on disk."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._files: dict[str, Held] = {}
        self._coming: set[str] = set()  # paths a preview under way renders after announcing its pages
        self._fetched: set[str] = set()  # paths sent since they were last put
        # The hash of the bytes each page was last sent as, from memory or from the disk, the latest SENT_KEPT:
        # a page must reload when what serve would send now differs. Only pages a browser was sent are looked
        # at again, never the whole site's.
        self._sent: OrderedDict[str, str] = OrderedDict()
        self.stamp = 0

    def get(self, path: str) -> bytes | None:
        """The file held for *path*; one a preview is rendering now is waited for (a few seconds at most)."""
        with self._lock:
            self._lock.wait_for(lambda: path not in self._coming, EXPECT_WAIT)
            held = self._files.get(path)
        return None if held is None else held.data

    def sent(self, path: str, data: bytes) -> None:
        """The file *path* (an output path) has been sent to a browser as *data*, held here or read from the disk
        (see wait_fetched; a page's hash is kept to tell whether it changed since)."""
        sha = hashlib.sha256(data).hexdigest() if path.endswith(".html") else None
        with self._lock:
            if path in self._files:
                self._fetched.add(path)
                self._lock.notify_all()
            if sha is not None:
                self._remember(path, sha)

    def showing(self, path: str, out: Path) -> None:
        """A browser shows the page *path* (its live-reload stream opened): unless this serve sent it, it is taken
        to show what serve would send now (the stream takes it to show the current generation too), so that a
        page open in a browser before serve started again reloads when it changes."""
        with self._lock:
            if path in self._sent or not path.endswith(".html"):
                return
            held = self._files.get(path)
        sha = held.sha256 if held is not None else _on_disk(out, path)
        if sha is not None:
            with self._lock:
                if path not in self._sent:
                    self._remember(path, sha)

    def _remember(self, path: str, sha: str) -> None:
        self._sent[path] = sha
        self._sent.move_to_end(path)
        if len(self._sent) > SENT_KEPT:
            self._sent.popitem(last=False)

    def wait_fetched(self, paths: frozenset[str], timeout: float) -> None:
        """Wait until each of *paths* (held) has been sent since it was put, or *timeout* seconds."""
        with self._lock:
            self._lock.wait_for(lambda: paths <= self._fetched, timeout)

    def holds(self, path: str) -> bool:
        with self._lock:
            return path in self._files

    def expect(self, path: str) -> None:
        """*path* is being rendered: requests for it wait until it is put, or until settle()."""
        with self._lock:
            self._coming.add(path)

    def settle(self) -> None:
        """The preview under way is done, or failed: nothing more is coming."""
        with self._lock:
            self._coming.clear()
            self._lock.notify_all()

    def put(self, outputs: list[Output]) -> frozenset[str]:
        """Hold the outputs; the pages (HTML files) whose bytes differ from what a browser was last sent of them
        (any page never sent, or not lately: SENT_KEPT)."""
        with self._lock:
            self.stamp += 1
            changed: set[str] = set()
            for output in outputs:
                sha = hashlib.sha256(output.data).hexdigest()
                if output.path.endswith(".html") and sha != self._sent.get(output.path):
                    changed.add(output.path)
                self._files[output.path] = Held(output.data, sha, self.stamp)
                self._coming.discard(output.path)
                self._fetched.discard(output.path)
            self._lock.notify_all()
            return frozenset(changed)

    def written(self, out: Path, upto: int) -> frozenset[str]:
        """A build has written the site to *out* (it started when the stamp was *upto*): drop what it wrote, and
        return the pages a browser was sent whose bytes differ from what serve sends now (a page held for a
        preview made since, else the file on the disk; a page gone differs too)."""
        with self._lock:
            # Files of previews made after the build started stay: they may be newer than what it wrote.
            self._files = {p: held for p, held in self._files.items() if held.stamp > upto}
            sent = dict(self._sent)
            held = {p: self._files[p].sha256 for p in sent if p in self._files}
        return frozenset(p for p, sha in sent.items() if (held[p] if p in held else _on_disk(out, p)) != sha)

    def __len__(self) -> int:
        return len(self._files)


def _on_disk(out: Path, path: str) -> str | None:
    """The hash of the file *path* in the output folder *out*, or None when it is not a regular file there (a
    named pipe a stream's ?page= names is never waited on) or is larger than any page (PAGE_MOST)."""
    try:
        return hashlib.sha256(read_bytes(out / path, PAGE_MOST)).hexdigest()
    except (InputError, OSError):
        return None
