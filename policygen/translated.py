"""A tenant's document in one of its other languages: each clause and partial from its translation
(translation_files), the title from the library's document.<lang>.yaml, the free-text facts from the
tenant's tenant.<lang>.yaml (fact_translations). The build renders its pages in that language with it;
`policygen release` freezes a new version's text in that language with it (release.translator)."""

from __future__ import annotations

from dataclasses import replace

from .fact_translations import translated_facts
from .facts import Tenant
from .languages import language_segment
from .links import rebase_links
from .paths import TenantPaths
from .project import Project, TenantSource, document_title
from .render import ClauseRenderer, RenderedDocument, render_document
from .translation_files import document_title as translation_title


def translated_title(
    project: Project, tenant: TenantSource, doc_id: str, language: str, refuse_stale: bool
) -> str | None:
    """A document's title in *language* from the library's document.<lang>.yaml; the tenant's own title
    for the document (its text, printed as it is) comes first."""
    if any(d.title for d in tenant.facts.documents if d.id == doc_id):
        return None
    return translation_title(project.library.documents[doc_id].folder / "document.yaml", language, refuse_stale)


def translated_document(
    project: Project,
    renderer: ClauseRenderer,
    tenant: TenantSource,
    doc_id: str,
    language: str,
    facts: Tenant | None = None,
) -> RenderedDocument:
    """A document in one of the tenant's other languages: translated clauses, title and free-text facts.
    *facts*: the tenant's facts as the text states them (a release's dates), by default as they are."""
    facts = tenant.facts if facts is None else facts
    title = translated_title(project, tenant, doc_id, language, renderer.refuse_stale) or document_title(
        project, tenant, doc_id
    )
    facts = translated_facts(tenant.folder, language, facts, renderer.refuse_stale)
    doc = render_document(renderer, tenant.slug, facts, doc_id, tenant.documents[doc_id], title, language)
    # Its links were written for the document's stable page in the authoritative language (render.document_url);
    # this text is shown a folder deeper, in the language's folder: they must lead to the same places from there.
    paths = TenantPaths(tenant.slug)
    source = paths.document(doc_id).stable
    target = paths.document(doc_id, language_segment(language, tenant.facts.locale)).stable
    moved = tuple(replace(c, html=rebase_links(c.html, source, target)) for c in doc.clauses)
    return replace(doc, clauses=moved)
