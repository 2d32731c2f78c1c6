"""A policygen project: its folders, its optional policygen.yaml, and its tenants.

Loading reads everything first and reports every problem at once; nothing is
written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .clauses import Clause, Library, language_of, load_library, tenant_clauses
from .errors import Collector, InputError, UsageError, did_you_mean
from .facts import Flag, Tenant, Text, Url, read_tenant
from .inputs import CONFIG_FILE, INPUT_FOLDERS, read_bytes
from .packaged import theme_folders
from .tenantfolders import select_tenants, tenant_digest, tenant_folder
from .theme import SiteTheme, unknown_theme
from .validation import problems_from_validation
from .yamlfile import Located, load

if TYPE_CHECKING:  # logos is imported where a tenant's logo is checked: only a tenant that names one needs it
    from .logos import LogoRefusal


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    title: Text = Field("Privacy policies", description="The site's title on the index page")
    theme: str = Field(
        "default",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="A folder in themes/, or 'default': the theme policygen ships (themes/default/ overrides its files)",
    )
    base_url: Url | None = Field(None, description="Absolute address of the published site, for feeds and sitemaps")
    raw_html: Flag = Field(
        False,
        description="Let clause files contain raw HTML; it is sanitised (no scripts, event handlers or non-web links)",
    )
    stale_translations: Literal["fallback", "refuse"] = Field(
        "fallback",
        description="A translation whose source changed since it was translated: 'fallback' publishes the "
        "source language's text with a note in the reader's language; 'refuse' stops the build",
    )
    trusted_theme: Flag = Field(
        False,
        description="Render the theme's templates outside the template sandbox: "
        "only for a theme whose every change the project reviews",
    )


@dataclass(frozen=True)
class TenantSource:
    """One tenant as read from disk: its facts and the clauses of its documents."""

    slug: str
    folder: Path
    facts: Tenant
    digest: str  # hash of tenant.yaml and the tenant's own files, for rebuild decisions
    documents: dict[str, dict[str, Clause]]
    located: Located | None = field(default=None, compare=False, repr=False)

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """The line of tenant.yaml a fact is on; None when the facts were read without positions."""
        return self.located.where(path)[0] if self.located is not None else None


@dataclass
class Project:
    root: Path
    config: ProjectConfig
    library: Library
    tenants: dict[str, TenantSource]

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def reserved(self) -> list[Path]:
        """Folders a build must never write into or replace."""
        return [self.root, *(self.root / name for name in INPUT_FOLDERS)]


def load_config(root: Path) -> ProjectConfig:
    file = root / CONFIG_FILE
    if not (file.exists() or file.is_symlink()):  # a pipe or a dangling link is refused by the reader
        return ProjectConfig()
    located = load(file)
    try:
        return ProjectConfig.model_validate(located.data or {})
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, located, ProjectConfig)) from None


def tenant_document(tenant: TenantSource, document: str | None) -> str:
    """The id of the tenant's document named *document* (its first document when None); bad usage if it has none."""
    known = list(tenant.documents)
    if document is None:
        return known[0]
    if document not in known:
        hint = did_you_mean(document, known)
        raise UsageError(
            f"{tenant.slug} has no document '{document}'" + (f"; {hint}" if hint else f" (it has: {', '.join(known)})")
        )
    return document


def load_base(root: Path, problems: Collector, read_library: Callable[[Path], Library] = load_library) -> Project:
    """The project without its tenants: settings and clause library (problems are collected), the library
    read from content/ by *read_library* (a build's keeps it: librarycache.py)."""
    root = root.resolve()
    config = ProjectConfig()
    try:
        config = load_config(root)
    except InputError as exc:
        problems.extend(exc.problems)
    if not theme_folders(root, config.theme):
        problems.add(unknown_theme(root, config.theme))
    library = Library(root=root / "content", documents={}, partials={})
    try:
        library = read_library(root / "content")
    except InputError as exc:
        problems.extend(exc.problems)
    return Project(root=root, config=config, library=library, tenants={})


def load_tenant_source(project: Project, slug: str, problems: Collector) -> TenantSource | None:
    """One tenant's validated facts and the clauses of its documents, or None with problems added."""
    try:
        folder = tenant_folder(project.root, slug)
        facts, located = read_tenant(folder / "tenant.yaml")
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    before = len(problems.problems)
    try:
        digest = tenant_digest(folder)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    docs = tenant_clauses(project.library, folder, [d.id for d in facts.documents], problems, where=located)
    _check_theme_files(folder, facts, problems, located)
    _check_language_folders(facts, located, problems)
    _check_notes(facts, docs, located, problems)
    if len(problems.problems) > before:
        return None
    return TenantSource(slug=slug, folder=folder, facts=facts, digest=digest, documents=docs, located=located)


def load_project(root: Path, only: list[str] | None = None) -> Project:
    """Read the config, the clause library and the chosen tenants, reporting all problems together."""
    project, slugs = load_for_tenants(root, only)
    problems = Collector()
    for slug in slugs:
        tenant = load_tenant_source(project, slug, problems)
        if tenant is not None:
            project.tenants[slug] = tenant
    problems.raise_if_any()
    return project


def load_for_tenants(root: Path, only: list[str] | None = None) -> tuple[Project, list[str]]:
    """The project without its tenants, and the slugs of those chosen (all when *only* is None), for reading
    them a tenant at a time (load_tenant_source). When the settings or the library fail, no tenant can be read:
    their problems are raised, with those of every chosen tenant's facts, all in one run."""
    problems = Collector()
    project = load_base(root, problems)
    slugs = select_tenants(project.root, only)
    if problems.problems:
        for slug in slugs:
            _validate_only(project, slug, problems)
        problems.raise_if_any()
    return project, slugs


def _validate_only(project: Project, slug: str, problems: Collector) -> None:
    try:
        read_tenant(tenant_folder(project.root, slug) / "tenant.yaml")
    except InputError as exc:
        problems.extend(exc.problems)


def _check_theme_files(folder: Path, facts: Tenant, problems: Collector, located: Located) -> None:
    logo = facts.theme.logo
    if logo is None:
        return
    path = folder / logo
    if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
        problems.add(
            located.problem(
                ("theme", "logo"),
                f"logo file '{logo}' is not a file in the tenant folder",
                expected="a path like logo.svg inside the tenant's folder",
            )
        )
        return
    try:
        refused = logo_refusal(path)
    except InputError as exc:  # not a regular file after all, or unreadable
        problems.extend(exc.problems)
        return
    if refused is not None:
        from .logos import LOGO_EXPECTED  # a tenant with a logo: see the imports above

        where = f", line {refused.line}:" if refused.line is not None else ""
        problems.add(
            located.problem(
                ("theme", "logo"),
                f"logo file '{logo}'{where} {refused.reason}",
                expected=LOGO_EXPECTED,
                suggestion=refused.hint,
            )
        )


def logo_refusal(path: Path) -> LogoRefusal | None:
    """Why the tenant's logo cannot be published as it is, read as every input is (inputs.read_bytes)."""
    from .logos import MAX_LOGO_BYTES, check_logo, logo_kind_refusal, too_large  # see the imports above

    if (refused := logo_kind_refusal(path.name)) is not None:
        return refused
    if (size := path.stat().st_size) > MAX_LOGO_BYTES:
        return too_large(size)
    return check_logo(path.name, read_bytes(path, MAX_LOGO_BYTES))


def _check_language_folders(facts: Tenant, located: Located, problems: Collector) -> None:
    """A language other than the authoritative one has its pages in <tenant>/<language>/ (the tenant's index)
    and <tenant>/<document>/<language>/: a document with that id would share the folder."""
    documents = {d.id for d in facts.documents}
    for i, locale in enumerate(facts.languages):
        folder = language_of(locale)
        if locale != facts.locale and folder in documents:
            problems.add(
                located.problem(
                    ("languages", i),
                    f"the pages in {locale} go to <tenant>/{folder}/, the folder of the document '{folder}'",
                    expected=f"no document with the id '{folder}' while publishing in {locale}",
                    suggestion=f"rename the document's folder in content/, e.g. to {folder}-policy",
                )
            )


def _check_notes(facts: Tenant, docs: dict[str, dict[str, Clause]], located: Located, problems: Collector) -> None:
    # A note for a clause id no document has would silently vanish from every page.
    clause_ids = sorted({cid for clauses in docs.values() for cid in clauses})
    for i, note in enumerate(facts.notes):
        if note.clause not in clause_ids:
            problems.add(
                located.problem(
                    ("notes", i, "clause"),
                    f"unknown clause '{note.clause}'",
                    expected="the id of a clause in one of the tenant's documents",
                    suggestion=did_you_mean(note.clause, clause_ids),
                )
            )
        elif note.document is not None and note.clause not in docs.get(note.document, {}):
            holders = sorted(d for d, clauses in docs.items() if note.clause in clauses)
            problems.add(
                located.problem(
                    ("notes", i, "document"),
                    f"document '{note.document}' has no clause '{note.clause}'",
                    expected=f"a document of the tenant with that clause: {', '.join(holders)}",
                    suggestion=did_you_mean(note.document, holders),
                )
            )


def document_title(project: Project, tenant: TenantSource, doc_id: str) -> str:
    """A document's title for this tenant: its own title in `documents`, else the library's."""
    override = next((d.title for d in tenant.facts.documents if d.id == doc_id), None)
    return override or project.library.documents[doc_id].meta.title


def project_theme(project: Project) -> SiteTheme:
    """The project's theme, sandboxed unless policygen.yaml trusts it: every command makes it here."""
    return SiteTheme(project.root, project.config.theme, project.config.trusted_theme)
