"""The build: read the whole project, render every page in memory, then write it all at once.

Output layout (paths relative to the output folder):
    index.html                        site index
    assets/...                        theme static files
    <tenant>/index.html               the tenant's documents
    <tenant>/assets/<logo>            the tenant's logo, if any
    <tenant>/<document>/index.html    the document's stable URL
    manifest.json                     every file above, with its kind and dates
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .deps import project_digest, tenant_key
from .errors import Collector, InputError, Problem
from .output import Output, check_out_dir, manifest, write_site
from .project import Project, TenantSource, load_base, load_project, load_tenant_source, select_tenants
from .render import ClauseRenderer, RenderedClause, RenderedDocument, render_document
from .snippets import app_outputs
from .theme import Theme


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class Banner:
    kind: str  # upcoming, superseded, draft
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
    clauses: tuple[RenderedClause, ...]
    banners: tuple[Banner, ...] = ()


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


def tenant_outputs(project: Project, theme: Theme, renderer: ClauseRenderer, tenant: TenantSource,
                   options: BuildOptions) -> tuple[list[Output], TenantView]:
    facts = tenant.facts
    docs = render_tenant_documents(project, renderer, tenant)
    effective = facts.dates.effective
    links = tuple(DocumentLink(d.id, d.title, f"{tenant.slug}/{d.id}/index.html", effective) for d in docs)
    view = tenant_view(tenant, links)
    outputs: list[Output] = []
    common = {"site": project.config, "tenant": view, "lang": facts.locale, "accent": facts.theme.accent}
    for doc in docs:
        page = PageView(doc.title, effective, facts.dates.last_updated or effective, None, doc.clauses)
        outputs.append(Output(f"{tenant.slug}/{doc.id}/index.html", "page",
                              theme.render("document.html", page=page, root="../../", **common),
                              tenant=tenant.slug, document=doc.id, effective=effective))
    outputs.extend(app_outputs(project, theme, tenant, docs))  # in-app snippets and store labels, per app
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


@dataclass
class TenantResult:
    slug: str
    key: str
    outputs: list[Output]
    view: TenantView
    rendered: bool  # False when reused from the previous build


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
    previous_keys: dict[str, str]  # slug -> input key of the previous build's output

    def run(self, slug: str, cached: dict[str, TenantResult]) -> TenantSource | TenantResult | list[Problem]:
        """The loaded tenant if its previous output can be reused, a fresh result, or its problems."""
        problems = Collector()
        tenant = load_tenant_source(self.project, slug, problems)
        if tenant is None:
            return problems.problems
        key = tenant_key(self.project, tenant, self.shared)
        hit = cached.get(slug)
        if hit is not None and hit.key == key:
            return replace(hit, rendered=False)
        if self.previous_keys.get(slug) == key:
            return tenant
        try:
            outputs, view = tenant_outputs(self.project, self.theme, self.renderer, tenant, self.options)
        except InputError as exc:
            return exc.problems
        return TenantResult(slug, key, outputs, view, rendered=True)


# Worker processes pay off only past some tenants: each starts in ~0.3 s and loads the library itself.
PARALLEL_MIN_TENANTS = 64
_step: Step | None = None


def _worker_init(step: Step) -> None:
    global _step
    _step = step


def _worker_run(slugs: list[str]) -> list[tuple[str, TenantSource | TenantResult | list[Problem]]]:
    assert _step is not None
    return [(slug, _step.run(slug, {})) for slug in slugs]


class Builder:
    """Builds a project's site, re-rendering only the tenants whose inputs changed.

    Keeps compiled templates and rendered Markdown between builds, so a long-lived
    Builder (policygen serve) rebuilds one tenant's edit in milliseconds; a fresh one
    (policygen build) reuses unchanged tenants from the previous output's manifest.
    Tenants are loaded and rendered in worker processes when there are many.
    """

    def __init__(self, root: Path, out: Path | None = None, options: BuildOptions | None = None) -> None:
        self.root = root
        self.out_arg = out
        self.options = options or BuildOptions()
        self._renderer: ClauseRenderer | None = None
        self._results: dict[str, TenantResult] = {}

    def build(self) -> BuildReport:
        # The build date decides which release is in force, so it is fixed once and is part of every key.
        options = replace(self.options, today=self.options.today or dt.date.today())
        problems = Collector()
        project = load_base(self.root, problems)
        if problems.problems:
            load_project(self.root, options.tenants)  # raises with the tenants' problems reported too
        slugs = select_tenants(project.root, options.tenants)
        out = check_out_dir(self.out_arg if self.out_arg is not None else project.root / "build", project.reserved)
        theme = Theme(project.root, project.config.theme)
        if self._renderer is None or self._renderer.content != project.content:
            self._renderer = ClauseRenderer(project.content)
        previous = Previous(out)
        step = Step(project, theme, self._renderer, options,
                    project_digest(project, theme.digest(), f"{options.today}|{options.drafts}"),
                    {slug: str(entry.get("inputs")) for slug, entry in previous.tenants.items()})

        results: dict[str, TenantResult] = {}
        for slug, outcome in self._run(step, slugs):
            if isinstance(outcome, list):
                problems.extend(outcome)
                continue
            if isinstance(outcome, TenantSource):  # unchanged since the previous build
                project.tenants[slug] = outcome
                reused = previous.reuse(slug, step.previous_keys[slug])
                outcome = reused if reused is not None else step.run(slug, {})
                if isinstance(outcome, list):
                    problems.extend(outcome)
                    continue
                assert isinstance(outcome, TenantResult)
            results[slug] = outcome
        problems.raise_if_any()
        if options.tenants:  # tenants not asked for keep their previous output as it was
            for slug in previous.tenants:
                if slug not in results and (carried := previous.reuse(slug, None)) is not None:
                    results[slug] = carried

        ordered = [results[slug] for slug in sorted(results)]
        outputs: list[Output] = list(theme.assets())
        for result in ordered:
            outputs.extend(result.outputs)
        views = [r.view for r in ordered]
        outputs.extend(site_outputs(project, theme, views, options))
        outputs.append(manifest(outputs, {"tenants": {r.slug: tenant_entry(r.view, r.key) for r in ordered}}))
        write_site(out, outputs)
        self._results = {r.slug: r for r in ordered if r.slug in slugs}
        rendered = [r for r in ordered if r.rendered]
        return BuildReport(out=out, outputs=outputs,
                           rendered=sum(1 for r in rendered for o in r.outputs if o.kind == "page"),
                           tenants=sorted(results), rendered_tenants=[r.slug for r in rendered])

    def _run(self, step: Step, slugs: list[str]) -> list[tuple[str, TenantSource | TenantResult | list[Problem]]]:
        jobs = step.options.jobs or os.cpu_count() or 1
        if jobs < 2 or len(slugs) < PARALLEL_MIN_TENANTS:
            return [(slug, step.run(slug, self._results)) for slug in slugs]
        chunks = [c for c in (slugs[i::jobs * 8] for i in range(jobs * 8)) if c]
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method),
                                 initializer=_worker_init, initargs=(step,)) as pool:
            return [item for chunk in pool.map(_worker_run, chunks) for item in chunk]


def site_outputs(project: Project, theme: Theme, views: list[TenantView], options: BuildOptions) -> list[Output]:
    """Files about the whole site, made after every tenant: the site index."""
    return [Output("index.html", "index",
                   theme.render("index.html", site=project.config, tenants=views, root="", lang="en", accent=None))]


def build(root: Path, out: Path | None = None, options: BuildOptions | None = None) -> BuildReport:
    """Build the site of the project at *root* into *out* (default: root/build)."""
    return Builder(root, out, options).build()
