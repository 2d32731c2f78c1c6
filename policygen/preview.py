"""What `policygen serve` shows before the disk write: the tenants an edit touches, rendered in memory.

Pieces:
    WrittenSite  the site last written to the output folder, as its manifest lists it: each file's hash
                 and tenant, each tenant's documents and index line, the versions it published
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
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .dates import utc_today
from .engine import Earliers, Step, TenantResult, shared_key, site_index, view_from_entry
from .errors import Collector
from .history import TenantRecord, committed_releases, read_tenant_record
from .inputs import PROJECT_FILES
from .output import Output
from .paths import MANIFEST_PATH
from .project import Project, load_base, project_theme
from .render import ClauseRenderer, warm_renderer
from .site import BuildOptions, TenantView
from .theme import SiteTheme

# Longest a request waits for a file a preview is rendering (the site index, rendered after the pages).
EXPECT_WAIT = 5.0
# Past this many tenants an edit is not rendered in memory whole: only the tenants open pages show are,
# and the build that writes the site renders the rest (with progress shown).
PREVIEW_ALL = 8


@dataclass(frozen=True)
class WrittenSite:
    """The site in the output folder, from the manifest the last build wrote there."""

    hashes: dict[str, str] = field(default_factory=dict)  # file path -> sha256
    owners: dict[str, str] = field(default_factory=dict)  # file path -> tenant
    documents: dict[str, tuple[str, ...]] = field(default_factory=dict)  # tenant -> its documents
    views: dict[str, TenantView] = field(default_factory=dict)  # tenant -> its line in the site index
    published: dict[str, TenantRecord] = field(default_factory=dict)  # tenant -> versions published

    @classmethod
    def read(cls, out: Path) -> WrittenSite:
        """The manifest just written to *out*; a part that cannot be read is left empty (the preview
        then renders less, and the build that follows writes the site whole as always)."""
        try:
            data = json.loads((out / MANIFEST_PATH).read_bytes())
        except (OSError, ValueError, RecursionError):
            return cls()
        site = cls()
        files = data.get("files") if isinstance(data, dict) else None
        for entry in files if isinstance(files, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("path"), str) and isinstance(entry.get("sha256"), str):
                site.hashes[entry["path"]] = entry["sha256"]
                if isinstance(entry.get("tenant"), str):
                    site.owners[entry["path"]] = entry["tenant"]
        tenants = data.get("tenants") if isinstance(data, dict) else None
        for slug, entry in tenants.items() if isinstance(tenants, dict) else ():
            site._add_tenant(slug, entry)
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
        self.stamp = 0

    def get(self, path: str) -> bytes | None:
        """The file held for *path*; one a preview is rendering now is waited for (a few seconds at most)."""
        with self._lock:
            self._lock.wait_for(lambda: path not in self._coming, EXPECT_WAIT)
            held = self._files.get(path)
        return None if held is None else held.data

    def sent(self, path: str) -> None:
        """A page held for *path* has been sent to a browser (see wait_fetched)."""
        with self._lock:
            self._fetched.add(path)
            self._lock.notify_all()

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

    def put(self, outputs: list[Output], written: WrittenSite) -> frozenset[str]:
        """Hold the outputs; the pages (HTML files) whose bytes differ from what was served before."""
        with self._lock:
            self.stamp += 1
            changed: set[str] = set()
            for output in outputs:
                sha = hashlib.sha256(output.data).hexdigest()
                if output.path.endswith(".html") and sha != self._served(output.path, written):
                    changed.add(output.path)
                self._files[output.path] = Held(output.data, sha, self.stamp)
                self._coming.discard(output.path)
                self._fetched.discard(output.path)
            self._lock.notify_all()
            return frozenset(changed)

    def written(self, before: WrittenSite, after: WrittenSite, upto: int) -> frozenset[str]:
        """A build has written *after* (it started when the stamp was *upto*): drop what it wrote, and
        return the pages whose bytes on disk differ from what was served until now."""
        with self._lock:
            pages = {p for p in (*before.hashes, *after.hashes) if p.endswith(".html")}
            served = {p: self._served(p, before) for p in pages}
            # Files of previews made after the build started stay: they may be newer than what it wrote.
            self._files = {p: held for p, held in self._files.items() if held.stamp > upto}
            return frozenset(p for p in pages if self._served(p, after) != served[p])

    def __len__(self) -> int:
        return len(self._files)

    def _served(self, path: str, written: WrittenSite) -> str | None:
        held = self._files.get(path)
        return held.sha256 if held is not None else written.hashes.get(path)
