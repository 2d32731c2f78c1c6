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
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Collector, InputError
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


@dataclass
class BuildReport:
    out: Path
    outputs: list[Output]
    rendered: int = 0  # document pages rendered
    tenants: list[str] = field(default_factory=list)


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


def generate(project: Project, options: BuildOptions) -> tuple[list[Output], int]:
    theme = Theme(project.root, project.config.theme)
    renderer = ClauseRenderer(project.content)
    problems = Collector()
    outputs: list[Output] = list(theme.assets())
    views: list[TenantView] = []
    for tenant in project.tenants.values():
        try:
            tenant_files, view = tenant_outputs(project, theme, renderer, tenant, options)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        outputs.extend(tenant_files)
        views.append(view)
    problems.raise_if_any()
    outputs.append(Output("index.html", "index",
                          theme.render("index.html", site=project.config, tenants=views, root="", lang="en", accent=None)))
    rendered = sum(1 for o in outputs if o.kind == "page")
    return outputs, rendered


def build(root: Path, out: Path | None = None, options: BuildOptions | None = None) -> BuildReport:
    """Build the site of the project at *root* into *out* (default: root/build)."""
    options = options or BuildOptions()
    project = load_project(root, options.tenants)
    target = check_out_dir(out if out is not None else project.root / "build", project.reserved)
    outputs, rendered = generate(project, options)
    outputs.append(manifest(outputs))
    write_site(target, outputs)
    return BuildReport(out=target, outputs=outputs, rendered=rendered, tenants=sorted(project.tenants))
