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
from .project import Project, TenantSource, load_project
from .render import ClauseRenderer, RenderedClause, RenderedDocument, render_document
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
                                  version=f.get("version"), effective=effective, app=f.get("app")))
        return TenantResult(slug, entry["inputs"], outputs, view_from_entry(slug, entry), rendered=False)


def _render_tenant(project: Project, theme: Theme, renderer: ClauseRenderer, tenant: TenantSource,
                   options: BuildOptions, key: str) -> TenantResult:
    outputs, view = tenant_outputs(project, theme, renderer, tenant, options)
    return TenantResult(tenant.slug, key, outputs, view, rendered=True)


# Rendering in worker processes pays off only past some tenants (process start-up is ~0.2 s).
PARALLEL_MIN_TENANTS = 48
_worker: tuple[Project, Theme, ClauseRenderer, BuildOptions] | None = None


def _worker_init(project: Project, options: BuildOptions) -> None:
    global _worker
    _worker = (project, Theme(project.root, project.config.theme), ClauseRenderer(project.content), options)


def _worker_render(jobs: list[tuple[str, str]]) -> list[TenantResult] | list[Problem]:
    assert _worker is not None
    project, theme, renderer, options = _worker
    results: list[TenantResult] = []
    problems: list[Problem] = []
    for slug, key in jobs:
        try:
            results.append(_render_tenant(project, theme, renderer, project.tenants[slug], options, key))
        except InputError as exc:
            problems.extend(exc.problems)
    return problems or results


class Builder:
    """Builds a project's site, re-rendering only the tenants whose inputs changed.

    Keeps compiled templates and rendered Markdown between builds, so a long-lived
    Builder (policygen serve) rebuilds one tenant's edit in milliseconds; a fresh one
    (policygen build) reuses unchanged tenants from the previous output's manifest.
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
        project = load_project(self.root, options.tenants)
        out = check_out_dir(self.out_arg if self.out_arg is not None else project.root / "build", project.reserved)
        theme = Theme(project.root, project.config.theme)
        if self._renderer is None or self._renderer.content != project.content:
            self._renderer = ClauseRenderer(project.content)
        renderer = self._renderer
        shared = project_digest(project, theme.digest(), f"{options.today}|{options.drafts}")
        previous = Previous(out)

        results: dict[str, TenantResult] = {}
        todo: list[tuple[str, str]] = []
        for slug, tenant in project.tenants.items():
            key = tenant_key(project, tenant, shared)
            cached = self._results.get(slug)
            if cached is not None and cached.key == key:
                results[slug] = replace(cached, rendered=False)
            elif (reused := previous.reuse(slug, key)) is not None:
                results[slug] = reused
            else:
                todo.append((slug, key))
        if options.tenants:  # tenants not asked for keep their previous output as it was
            for slug in previous.tenants:
                if slug not in project.tenants and (carried := previous.reuse(slug, None)) is not None:
                    results[slug] = carried

        problems = Collector()
        for result in self._render(project, theme, renderer, options, todo, problems):
            results[result.slug] = result
        problems.raise_if_any()

        ordered = [results[slug] for slug in sorted(results)]
        outputs: list[Output] = list(theme.assets())
        for result in ordered:
            outputs.extend(result.outputs)
        views = [r.view for r in ordered]
        outputs.extend(site_outputs(project, theme, views, options))
        outputs.append(manifest(outputs, {"tenants": {r.slug: tenant_entry(r.view, r.key) for r in ordered}}))
        write_site(out, outputs)
        self._results = {r.slug: r for r in ordered if r.slug in project.tenants}
        rendered = [r for r in ordered if r.rendered]
        return BuildReport(out=out, outputs=outputs,
                           rendered=sum(1 for r in rendered for o in r.outputs if o.kind == "page"),
                           tenants=sorted(results), rendered_tenants=[r.slug for r in rendered])

    def _render(self, project: Project, theme: Theme, renderer: ClauseRenderer, options: BuildOptions,
                todo: list[tuple[str, str]], problems: Collector) -> list[TenantResult]:
        jobs = options.jobs or os.cpu_count() or 1
        if jobs < 2 or len(todo) < PARALLEL_MIN_TENANTS:
            results = []
            for slug, key in todo:
                try:
                    results.append(_render_tenant(project, theme, renderer, project.tenants[slug], options, key))
                except InputError as exc:
                    problems.extend(exc.problems)
            return results
        chunks = [todo[i::jobs * 4] for i in range(jobs * 4)]
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        results = []
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init,
                                 initargs=(project, options)) as pool:
            for chunk_result in pool.map(_worker_render, [c for c in chunks if c]):
                for item in chunk_result:
                    if isinstance(item, Problem):
                        problems.add(item)
                    else:
                        results.append(item)
        return results


def site_outputs(project: Project, theme: Theme, views: list[TenantView], options: BuildOptions) -> list[Output]:
    """Files about the whole site, made after every tenant: the site index."""
    return [Output("index.html", "index",
                   theme.render("index.html", site=project.config, tenants=views, root="", lang="en", accent=None))]


def build(root: Path, out: Path | None = None, options: BuildOptions | None = None) -> BuildReport:
    """Build the site of the project at *root* into *out* (default: root/build)."""
    return Builder(root, out, options).build()
