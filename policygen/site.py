"""The build: read the whole project, render every page in memory, then write it all at once.

Output layout (paths relative to the output folder):
    index.html                        site index
    assets/...                        theme static files
    <tenant>/index.html               the tenant's documents
    <tenant>/assets/<logo>            the tenant's logo, if any
    <tenant>/<document>/index.html    the document's stable URL: the version in force on the build date
    <tenant>/<document>/<YYYY-MM-DD>/index.html, version.json   every released version (archive)
    <tenant>/<document>/history/index.html                      the document's version history
    <tenant>/<document>/draft/index.html                        unreleased edits, with --drafts only
    <tenant>/<document>/feed.xml, <tenant>/feed.xml, feed.xml   Atom feeds of versions
    sitemap.xml                       every public page (with base_url only)
    manifest.json                     every file above, with its kind and dates
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from .dates import format_day

from .deps import project_digest, tenant_key
from .errors import Collector, InputError, Problem
from .feeds import FeedInfo, VersionPaths, atom, entries_in, href, sitemap, version_data, version_json
from .notices import document_changes, redline_path
from .output import Output, check_out_dir, manifest, write_site
from .project import (Project, TenantSource, tenant_folder, load_base, load_project, load_tenant_source, select_tenants,
                      tenant_digest)
from .render import ClauseRenderer, RenderedClause, RenderedDocument, render_document
from .snippets import app_outputs
from .theme import Theme
from .versions import (Snapshot, SnapshotClause, in_force, load_releases, reads_as, successor, unlisted_releases,
                       upcoming)


def utc_today() -> dt.date:
    """The build date when --today is not given: today in UTC, so the machine's time zone cannot change a build."""
    return dt.datetime.now(dt.timezone.utc).date()


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class Banner:
    kind: str  # upcoming, superseded, current, draft
    text: str
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class DocumentLink:
    id: str
    title: str
    path: str
    effective: dt.date


@dataclass(frozen=True)
class TenantView:
    """What theme templates know of a tenant: names and branding, all plain text."""

    slug: str
    name: str
    legal_name: str
    logo: str | None
    accent: str | None
    documents: tuple[DocumentLink, ...]


@dataclass(frozen=True)
class PageView:
    title: str
    effective: dt.date
    last_updated: dt.date
    version: str | None
    clauses: tuple[RenderedClause | SnapshotClause, ...]
    banners: tuple[Banner, ...] = ()
    status: str = "released"  # released, unreleased (the document has no release yet) or draft
    history: str | None = None  # link to the version history, relative to the page
    feed: str | None = None  # link to the document's Atom feed, relative to the page


@dataclass(frozen=True)
class HistoryRow:
    version: int
    effective: dt.date
    released: dt.date
    status: str  # in force, superseded, upcoming
    href: str
    summary: str | None
    hash: str
    changes: str | None = None  # link to the redline against the version before (policygen/notices.py)


@dataclass(frozen=True)
class HistoryView:
    title: str
    rows: tuple[HistoryRow, ...]
    stable: str
    feed: str
    draft: str | None = None


@dataclass
class BuildOptions:
    tenants: list[str] | None = None
    today: dt.date | None = None
    drafts: bool = False
    jobs: int | None = None  # worker processes; default: one per core


@dataclass
class BuildReport:
    out: Path
    outputs: list[Output]
    rendered: int = 0  # document pages rendered in this build (not reused)
    tenants: list[str] = field(default_factory=list)
    rendered_tenants: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the build

    @property
    def reused_tenants(self) -> list[str]:
        rendered = set(self.rendered_tenants)
        return [slug for slug in self.tenants if slug not in rendered]

    def tally(self) -> str:
        """Counts, never names: one line whether the site has three tenants or a hundred thousand."""
        return f"{len(self.rendered_tenants):,} rendered, {len(self.reused_tenants):,} reused"

    def summary(self) -> str:
        return (f"Built {counted(len(self.tenants), 'tenant')} in {self.seconds:.2f} s ({self.tally()}): "
                f"{files_written(self.outputs)}, in {self.out}")

    def names(self) -> list[str]:
        """The tenants by name, for --verbose."""
        return [f"rendered: {', '.join(self.rendered_tenants) or 'none'}",
                f"reused: {', '.join(self.reused_tenants) or 'none'}"]


def counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def files_written(outputs: list[Output]) -> str:
    return f"{counted(len(outputs), 'file')} ({counted(sum(1 for o in outputs if o.path.endswith('.html')), 'page')})"


def document_title(project: Project, tenant: TenantSource, doc_id: str) -> str:
    override = next((d.title for d in tenant.facts.documents if d.id == doc_id), None)
    return override or project.library.documents[doc_id].meta.title


def tenant_view(tenant: TenantSource, links: tuple[DocumentLink, ...]) -> TenantView:
    facts = tenant.facts
    logo = f"{tenant.slug}/assets/{Path(facts.theme.logo).name}" if facts.theme.logo else None
    return TenantView(tenant.slug, facts.name, facts.organisation.legal_name, logo, facts.theme.accent, links)


def render_tenant_documents(project: Project, renderer: ClauseRenderer, tenant: TenantSource) -> list[RenderedDocument]:
    problems = Collector()
    docs: list[RenderedDocument] = []
    for doc_id, clauses in tenant.documents.items():
        try:
            docs.append(render_document(renderer, tenant.slug, tenant.facts, doc_id, clauses,
                                        document_title(project, tenant, doc_id)))
        except InputError as exc:
            problems.extend(exc.problems)
    problems.raise_if_any()
    return docs


@dataclass(frozen=True)
class DocumentPaths:
    """Where a document's pages go, from the site root."""

    slug: str
    doc: str

    @property
    def stable(self) -> str:
        return f"{self.slug}/{self.doc}/index.html"

    @property
    def history(self) -> str:
        return f"{self.slug}/{self.doc}/history/index.html"

    @property
    def draft(self) -> str:
        return f"{self.slug}/{self.doc}/draft/index.html"

    @property
    def feed(self) -> str:
        return f"{self.slug}/{self.doc}/feed.xml"

    def archive(self, snap: Snapshot) -> str:
        return f"{self.slug}/{self.doc}/{snap.effective.isoformat()}/index.html"

    def json(self, snap: Snapshot) -> str:
        return f"{self.slug}/{self.doc}/{snap.effective.isoformat()}/version.json"

    def version(self, snap: Snapshot) -> VersionPaths:
        return VersionPaths(self.archive(snap), self.stable, self.history, self.feed, self.json(snap))


def load_histories(tenant: TenantSource) -> dict[str, list[Snapshot]]:
    """Each document's released versions, verified; every damaged snapshot reported together."""
    problems = Collector()
    histories: dict[str, list[Snapshot]] = {}
    for doc_id in tenant.documents:
        try:
            histories[doc_id] = load_releases(tenant.folder, doc_id)
        except InputError as exc:
            problems.extend(exc.problems)
    problems.extend(unlisted_releases(tenant.folder, list(tenant.documents)))
    problems.raise_if_any()
    return histories


def shown_version(releases: list[Snapshot], today: dt.date) -> Snapshot | None:
    """The version at the stable URL: the one in force, or the first one before any is in force."""
    return in_force(releases, today) or (releases[0] if releases else None)


@dataclass
class DocumentPages:
    """Renders one document's pages: stable, archive, history, draft, version.json and feed."""

    project: Project
    theme: Theme
    renderer: ClauseRenderer
    tenant: TenantSource
    doc: RenderedDocument
    releases: list[Snapshot]
    today: dt.date
    common: dict[str, Any]
    outputs: list[Output] = field(default_factory=list)

    @property
    def paths(self) -> DocumentPaths:
        return DocumentPaths(self.tenant.slug, self.doc.id)

    def date(self, day: dt.date) -> str:
        return format_day(day, self.tenant.facts.locale)

    def page(self, path: str, kind: str, view: PageView, version: str | None, effective: dt.date | None) -> None:
        root = "../" * path.count("/")
        self.outputs.append(Output(path, kind, self.theme.render("document.html", page=view, root=root, **self.common),
                                   tenant=self.tenant.slug, document=self.doc.id, version=version, effective=effective))

    def snapshot_view(self, snap: Snapshot, at: str, banners: list[Banner]) -> PageView:
        return PageView(snap.title, snap.effective, snap.released, snap.label, snap.clauses, tuple(banners),
                        history=href(self.paths.history, at, None), feed=href(self.paths.feed, at, None))

    def render(self, drafts: bool) -> list[Output]:
        paths, facts, doc = self.paths, self.tenant.facts, self.doc
        if not self.releases:
            # A document never released is published from the working tree, as projects that don't version expect.
            effective = facts.dates.effective
            view = PageView(doc.title, effective, facts.dates.last_updated or effective, None, doc.clauses,
                            status="unreleased", feed=href(paths.feed, paths.stable, None))
            self.page(paths.stable, "page", view, None, effective)
        else:
            self.stable()
            for snap in self.releases:
                self.archive(snap)
            # redlines for each pair of consecutive versions, and notices for material ones (policygen/notices.py)
            self.outputs.extend(document_changes(self.project, self.theme, self.renderer, self.tenant, self.doc.id,
                                                 self.doc.title, self.releases, self.paths.archive, self.common))
            # The history links the draft page only when there is one (edits since the last release).
            self.history(self.draft() if drafts else False)
        self.feed()
        return self.outputs

    def stable(self) -> None:
        current, shown = in_force(self.releases, self.today), shown_version(self.releases, self.today)
        assert shown is not None
        at = self.paths.stable
        banners: list[Banner] = []
        if current is None:
            banners.append(Banner("upcoming", f"This policy takes effect on {self.date(shown.effective)}."))
        for later in upcoming(self.releases, self.today):
            if later is not shown:
                # The redline of the new version against the one before it (policygen/notices.py).
                changes = redline_path(self.paths.archive(later)) if later.version > 1 else self.paths.history
                banners.append(Banner("upcoming", f"This policy changes on {self.date(later.effective)}.",
                                      (Link(href(self.paths.archive(later), at, None), "Read the new version"),
                                       Link(href(changes, at, None), "See what changes"))))
        self.page(at, "page", self.snapshot_view(shown, at, banners), shown.label, shown.effective)

    def archive(self, snap: Snapshot) -> None:
        at, current = self.paths.archive(snap), in_force(self.releases, self.today)
        stable = Link(href(self.paths.stable, at, None), "Read the current version")
        banners: list[Banner] = []
        following = successor(self.releases, snap)
        if snap.effective > self.today:
            banners.append(Banner("upcoming", f"This version takes effect on {self.date(snap.effective)}.",
                                  (stable,) if current else ()))
        elif snap is current:
            banners.append(Banner("current", f"Version {snap.version} is the version in force.",
                                  (Link(href(self.paths.stable, at, None), "Go to the policy's permanent address"),)))
        elif following is not None:
            banners.append(Banner(
                "superseded", f"This is an old version. It was in force from {self.date(snap.effective)} until "
                              f"{self.date(following.effective)}, when version {following.version} replaced it.",
                (Link(href(self.paths.archive(following), at, None), f"Read version {following.version}"), stable)))
        self.page(at, "archive", self.snapshot_view(snap, at, banners), snap.label, snap.effective)
        snapshot_file = None
        if snap.path is not None and snap.path.is_relative_to(self.project.root):
            snapshot_file = snap.path.relative_to(self.project.root).as_posix()
        data = version_data(snap, self.tenant.facts.organisation.legal_name, self.paths.version(snap),
                            self.project.config.base_url, following, snapshot_file)
        self.outputs.append(version_json(data))

    def history(self, drafts: bool) -> None:
        at, current = self.paths.history, in_force(self.releases, self.today)
        rows = []
        for snap in reversed(self.releases):
            status = "upcoming" if snap.effective > self.today else "in force" if snap is current else "superseded"
            redline = redline_path(self.paths.archive(snap)) if snap.version > 1 else None
            rows.append(HistoryRow(snap.version, snap.effective, snap.released, status,
                                   href(self.paths.archive(snap), at, None), snap.summary, snap.hash,
                                   href(redline, at, None) if redline else None))
        view = HistoryView(self.doc.title, tuple(rows), href(self.paths.stable, at, None),
                           href(self.paths.feed, at, None), href(self.paths.draft, at, None) if drafts else None)
        root = "../" * at.count("/")
        self.outputs.append(Output(at, "history", self.theme.render("history.html", history=view, root=root,
                                                                    **self.common),
                                   tenant=self.tenant.slug, document=self.doc.id))

    def draft(self) -> bool:
        """Unreleased edits for review, at draft/ (only when the text differs from the last release)."""
        last, doc, facts = self.releases[-1], self.doc, self.tenant.facts
        if reads_as(self.renderer, self.tenant.slug, facts, doc.id, self.tenant.documents[doc.id], doc.title, last):
            return False
        at = self.paths.draft
        banner = Banner("draft", f"Draft for review: these edits are not released and not in force. "
                                 f"The latest release is version {last.version}.",
                        (Link(href(self.paths.stable, at, None), "Read the published version"),))
        effective = facts.dates.effective
        view = PageView(doc.title, effective, facts.dates.last_updated or effective, "draft", doc.clauses,
                        (banner,), status="draft", history=href(self.paths.history, at, None))
        self.page(at, "page", view, "draft", None)
        return True

    def feed(self) -> None:
        facts = self.tenant.facts
        info = FeedInfo(self.paths.feed, f"{facts.name}: {self.doc.title}", facts.organisation.legal_name,
                        self.paths.history if self.releases else self.paths.stable,
                        facts.dates.last_updated or facts.dates.effective)
        self.outputs.append(atom(info, entries_in(self.outputs), self.project.config.base_url,
                                 tenant=self.tenant.slug, document=self.doc.id))


def tenant_outputs(project: Project, theme: Theme, renderer: ClauseRenderer, tenant: TenantSource,
                   options: BuildOptions) -> tuple[list[Output], TenantView]:
    facts = tenant.facts
    today = options.today or utc_today()
    docs = render_tenant_documents(project, renderer, tenant)
    histories = load_histories(tenant)
    links: list[DocumentLink] = []
    for d in docs:
        shown = shown_version(histories[d.id], today)
        links.append(DocumentLink(d.id, shown.title if shown else d.title, DocumentPaths(tenant.slug, d.id).stable,
                                  shown.effective if shown else facts.dates.effective))
    view = tenant_view(tenant, tuple(links))
    outputs: list[Output] = []
    common = {"site": project.config, "tenant": view, "lang": facts.locale, "accent": facts.theme.accent}
    for doc in docs:
        outputs.extend(DocumentPages(project, theme, renderer, tenant, doc, histories[doc.id], today, common)
                       .render(options.drafts))
    # In-app snippets and store labels, per app, from the version the stable page shows.
    outputs.extend(app_outputs(project, theme, tenant, docs, {d.id: shown_version(histories[d.id], today) for d in docs},
                               outputs))
    info = FeedInfo(f"{tenant.slug}/feed.xml", f"{facts.name}: privacy documents", facts.organisation.legal_name,
                    f"{tenant.slug}/index.html", facts.dates.last_updated or facts.dates.effective)
    outputs.append(atom(info, entries_in(outputs), project.config.base_url, tenant=tenant.slug))
    outputs.append(Output(f"{tenant.slug}/index.html", "index", theme.render("tenant.html", root="../", **common),
                          tenant=tenant.slug))
    if facts.theme.logo:
        logo = tenant.folder / facts.theme.logo
        outputs.append(Output(view.logo or "", "asset", logo.read_bytes(), tenant=tenant.slug))
    return outputs, view


def tenant_entry(view: TenantView, key: str) -> dict[str, object]:
    """A tenant's line in manifest.json: what the site index needs, and the input key for reuse."""
    return {
        "name": view.name,
        "legal_name": view.legal_name,
        "logo": view.logo,
        "accent": view.accent,
        "documents": [{"id": d.id, "title": d.title, "path": d.path, "effective": d.effective.isoformat()}
                      for d in view.documents],
        "inputs": key,
    }


def view_from_entry(slug: str, entry: dict[str, Any]) -> TenantView:
    docs = tuple(DocumentLink(d["id"], d["title"], d["path"], dt.date.fromisoformat(d["effective"]))
                 for d in entry["documents"])
    return TenantView(slug, entry["name"], entry["legal_name"], entry["logo"], entry["accent"], docs)


def shared_key(project: Project, theme_digest: str, options: BuildOptions) -> str:
    """The part of every tenant's input key that all tenants share, for a build with these options."""
    return project_digest(project, theme_digest, f"{options.today}|{options.drafts}")


@dataclass
class TenantResult:
    slug: str
    key: str
    outputs: list[Output]
    view: TenantView
    rendered: bool  # False when reused from the previous build
    source: TenantSource | None = field(default=None, compare=False, repr=False)


class Previous:
    """The previous build, read back from its manifest, for reusing unchanged tenants."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.tenants: dict[str, dict[str, Any]] = {}
        self.files: dict[str, list[dict[str, Any]]] = {}
        try:
            data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            self.tenants = dict(data.get("tenants", {}))
            for entry in data.get("files", []):
                if entry.get("tenant"):
                    self.files.setdefault(entry["tenant"], []).append(entry)
        except (OSError, ValueError, AttributeError, TypeError):
            self.tenants, self.files = {}, {}

    def reuse(self, slug: str, key: str | None) -> TenantResult | None:
        """The tenant's previous files, if built from the same inputs and still intact on disk."""
        entry = self.tenants.get(slug)
        if entry is None or (key is not None and entry.get("inputs") != key):
            return None
        outputs: list[Output] = []
        for f in self.files.get(slug, []):
            try:
                data = (self.out / f["path"]).read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != f["sha256"]:
                return None  # edited or damaged since: render again
            effective = dt.date.fromisoformat(f["effective"]) if f.get("effective") else None
            outputs.append(Output(f["path"], f["kind"], data, tenant=slug, document=f.get("document"),
                                  version=f.get("version"), effective=effective, app=f.get("app"),
                                  origin=self.out / f["path"]))
        return TenantResult(slug, entry["inputs"], outputs, view_from_entry(slug, entry), rendered=False)


@dataclass
class Step:
    """What the build needs to know to do one tenant: load it, then render it unless reusable."""

    project: Project
    theme: Theme
    renderer: ClauseRenderer
    options: BuildOptions
    shared: str  # the key part every tenant shares
    previous: dict[str, tuple[str, tuple[str, ...]]]  # slug -> (input key, documents) of the previous build

    def run(self, slug: str, cached: dict[str, TenantResult],
            force: bool = False) -> Reusable | TenantResult | list[Problem]:
        """Reusable if the previous build's output still holds, else a freshly rendered result, or problems."""
        try:
            folder = tenant_folder(self.project.root, slug)  # bad names and links out are input problems
        except InputError as exc:
            return exc.problems
        digest = tenant_digest(folder)
        hit = cached.get(slug)
        if hit is not None and hit.key == tenant_key(self.project, digest, (d.id for d in hit.view.documents), self.shared):
            return replace(hit, rendered=False)
        before = self.previous.get(slug)
        if before is not None and not force and before[0] == tenant_key(self.project, digest, before[1], self.shared):
            return Reusable(slug, before[0])  # unchanged: not even its YAML needs parsing
        problems = Collector()
        tenant = load_tenant_source(self.project, slug, problems)
        if tenant is None:
            return problems.problems
        key = tenant_key(self.project, tenant.digest, tenant.documents, self.shared)
        try:
            outputs, view = tenant_outputs(self.project, self.theme, self.renderer, tenant, self.options)
        except InputError as exc:
            return exc.problems
        return TenantResult(slug, key, outputs, view, rendered=True, source=tenant)


@dataclass(frozen=True)
class Reusable:
    slug: str
    key: str


# Worker processes pay off only past some tenants: each starts in ~0.3 s and loads the library itself.
PARALLEL_MIN_TENANTS = 64
_step: Step | None = None


def _worker_init(step: Step) -> None:
    global _step
    _step = step


def _worker_run(slugs: list[str]) -> list[tuple[str, Reusable | TenantResult | list[Problem]]]:
    assert _step is not None
    return [(slug, _step.run(slug, {})) for slug in slugs]


class Builder:
    """Builds a project's site, re-rendering only the tenants whose inputs changed.

    Keeps compiled templates and rendered Markdown between builds, so a long-lived
    Builder (policygen serve) rebuilds one tenant's edit in milliseconds; a fresh one
    (policygen build) reuses unchanged tenants from the previous output's manifest.
    Tenants are loaded and rendered in worker processes when there are many.
    """

    def __init__(self, root: Path, out: Path | None = None, options: BuildOptions | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.root = root
        self.out_arg = out
        self.options = options or BuildOptions()
        self.progress = progress  # called with (tenants done, tenants in all); the build itself never prints
        self._renderer: ClauseRenderer | None = None
        self._theme: tuple[tuple[Path, str], Theme] | None = None
        self._results: dict[str, TenantResult] = {}

    def build(self) -> BuildReport:
        started = time.perf_counter()
        # The build date decides which release is in force, so it is fixed once and is part of every key.
        options = replace(self.options, today=self.options.today or utc_today())
        problems = Collector()
        project = load_base(self.root, problems)
        if problems.problems:
            load_project(self.root, options.tenants)  # raises with the tenants' problems reported too
        slugs = self.scope(select_tenants(project.root, options.tenants))
        out = check_out_dir(self.out_arg if self.out_arg is not None else project.root / "build", project.reserved)
        theme = Theme(project.root, project.config.theme)
        theme_digest = theme.digest()
        # Keep the compiled theme templates while no template or static file changed (serve rebuilds often).
        if self._theme is not None and self._theme[0] == (theme.folder, theme_digest):
            theme = self._theme[1]
        self._theme = ((theme.folder, theme_digest), theme)
        if self._renderer is None or self._renderer.content != project.content:
            self._renderer = ClauseRenderer(project.content)
        previous = Previous(out)
        step = Step(project, theme, self._renderer, options,
                    shared_key(project, theme_digest, options),
                    {slug: (str(entry.get("inputs")), tuple(str(d.get("id")) for d in entry.get("documents", [])))
                     for slug, entry in previous.tenants.items()})

        results: dict[str, TenantResult] = {}
        for slug, outcome in self._run(step, slugs):
            if isinstance(outcome, list):
                problems.extend(outcome)
                continue
            if isinstance(outcome, Reusable):  # unchanged since the previous build
                reused = previous.reuse(slug, outcome.key)
                outcome = reused if reused is not None else step.run(slug, {}, force=True)
                if isinstance(outcome, list):
                    problems.extend(outcome)
                    continue
                assert isinstance(outcome, TenantResult)
            if outcome.source is not None:
                project.tenants[slug] = outcome.source
            results[slug] = outcome
        problems.raise_if_any()
        if options.tenants:  # tenants not asked for keep their previous output as it was
            for slug in previous.tenants:
                if slug not in results and (carried := previous.reuse(slug, None)) is not None:
                    results[slug] = carried

        ordered = [results[slug] for slug in sorted(results)]
        outputs = self.assemble(project, theme, ordered, options)
        write_site(out, outputs)
        self._results = {r.slug: r for r in ordered if r.slug in slugs}
        rendered = [r for r in ordered if r.rendered]
        return BuildReport(out=out, outputs=outputs,
                           rendered=sum(1 for r in rendered for o in r.outputs if o.kind == "page"),
                           tenants=sorted(results), rendered_tenants=[r.slug for r in rendered],
                           seconds=time.perf_counter() - started)

    def scope(self, slugs: list[str]) -> list[str]:
        """The tenants this build renders, of those selected (a shard build takes its part: policygen/shards.py)."""
        return slugs

    def assemble(self, project: Project, theme: Theme, results: list[TenantResult],
                 options: BuildOptions) -> list[Output]:
        """Every file of the output, from the tenants' results in slug order."""
        return site_files(project, theme, results, options)

    def _run(self, step: Step, slugs: list[str]) -> list[tuple[str, Reusable | TenantResult | list[Problem]]]:
        jobs = step.options.jobs or os.cpu_count() or 1
        done: list[tuple[str, Reusable | TenantResult | list[Problem]]] = []
        if jobs < 2 or len(slugs) < PARALLEL_MIN_TENANTS:
            for slug in slugs:
                done.append((slug, step.run(slug, self._results)))
                if self.progress is not None:
                    self.progress(len(done), len(slugs))
            return done
        chunks = [c for c in (slugs[i::jobs * 8] for i in range(jobs * 8)) if c]
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method),
                                 initializer=_worker_init, initargs=(step,)) as pool:
            for chunk in pool.map(_worker_run, chunks):
                done.extend(chunk)
                if self.progress is not None:
                    self.progress(len(done), len(slugs))
        return done


def site_files(project: Project, theme: Theme, results: list[TenantResult], options: BuildOptions) -> list[Output]:
    """The whole site from its tenants' results (in slug order): theme files, tenant files, site files, manifest.

    A build and `policygen merge` (policygen/shards.py) both make the site here, so they agree byte for byte.
    """
    outputs: list[Output] = list(theme.assets())
    for result in results:
        outputs.extend(result.outputs)
    outputs.extend(site_outputs(project, theme, [r.view for r in results], options, outputs))
    outputs.append(manifest(outputs, {"tenants": {r.slug: tenant_entry(r.view, r.key) for r in results}}))
    return outputs


def site_outputs(project: Project, theme: Theme, views: list[TenantView], options: BuildOptions,
                 tenant_files: list[Output] | None = None) -> list[Output]:
    """Files about the whole site, made after every tenant: the site index, the site feed and sitemap.xml."""
    files = tenant_files or []
    outputs = [Output("index.html", "index",
                      theme.render("index.html", site=project.config, tenants=views, root="", lang="en", accent=None))]
    latest = max((d.effective for v in views for d in v.documents), default=dt.date(1970, 1, 1))
    info = FeedInfo("feed.xml", project.config.title, project.config.title, "index.html", latest)
    outputs.append(atom(info, entries_in(files), project.config.base_url))
    site_map = sitemap([*files, *outputs], project.config.base_url)
    return [*outputs, site_map] if site_map else outputs


def build(root: Path, out: Path | None = None, options: BuildOptions | None = None,
          progress: Callable[[int, int], None] | None = None) -> BuildReport:
    """Build the site of the project at *root* into *out* (default: root/build)."""
    return Builder(root, out, options, progress).build()
