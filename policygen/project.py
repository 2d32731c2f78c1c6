"""A policygen project: its folders, its optional policygen.yaml, and its tenants.

Loading reads everything first and reports every problem at once; nothing is
written here.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .clauses import Clause, Library, language_of, load_library, tenant_clauses
from .editorfiles import is_editor_file
from .errors import Collector, InputError, Problem, UsageError, did_you_mean
from .facts import SLUG, Flag, Tenant, Text, Url, read_tenant
from .inputs import CONFIG_FILE, INPUT_FOLDERS, hashed_content, read_bytes
from .packaged import theme_folders
from .paths import RESERVED_SLUGS, SortedNames
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


def tenant_slugs(root: Path) -> list[str]:
    tenants = root / "tenants"
    if not tenants.is_dir():
        return []
    # Any tenant.yaml counts, not only regular files: a pipe or a link to a device is refused when read, not skipped.
    # Plain strings and scandir (whose entries know their type): a build lists a hundred thousand folders here.
    # Interned: what a build holds of each tenant by name (the output's stamp, the record of its spare) is
    # then these very strings, not copies read from files.
    with os.scandir(tenants) as entries:
        return sorted(
            sys.intern(e.name)
            for e in entries
            if not e.name.startswith(".") and e.is_dir() and os.path.lexists(os.path.join(e.path, "tenant.yaml"))
        )


def check_slug(root: Path, slug: str) -> Path:
    """The tenant's folder, refusing slugs that are malformed or lead out of tenants/."""
    if not SLUG.fullmatch(slug):
        raise UsageError(f"'{slug}' is not a tenant slug: use lower-case letters, digits and '-'")
    folder = root / "tenants" / slug
    if folder.is_symlink() or not folder.resolve().is_relative_to((root / "tenants").resolve()):
        raise UsageError(f"tenant '{slug}' points outside tenants/; symlinked tenant folders are not followed")
    return folder


def reserved_slug(slug: str) -> str | None:
    """Why *slug* cannot name a tenant (the output folder uses that name), or None when it can."""
    if slug not in RESERVED_SLUGS:
        return None
    return f"'{slug}' cannot be a tenant slug: the site's {RESERVED_SLUGS[slug]} go to {slug}/ in the output"


def tenant_folder(root: Path, slug: str) -> Path:
    """A tenant folder found in tenants/, as bad input (exit 1) when its name or its links are wrong."""
    return no_links_out(named_tenant_folder(root, slug))


def named_tenant_folder(root: Path, slug: str) -> Path:
    """A tenant folder found in tenants/, as bad input when its name is wrong (its links not looked at)."""
    folder = root / "tenants" / slug
    if not SLUG.fullmatch(slug):
        fixed = re.sub(r"[^a-z0-9]+", "-", slug.lower()).strip("-")
        raise InputError(
            [
                Problem(
                    f"folder name '{slug}' is not a tenant slug",
                    file=folder,
                    expected="lower-case letters, digits and '-', starting with a letter or digit",
                    suggestion=f"rename the folder to '{fixed}'" if fixed and SLUG.fullmatch(fixed) else None,
                )
            ]
        )
    reserved = reserved_slug(slug)
    if reserved is not None:
        raise InputError(
            [
                Problem(
                    reserved,
                    file=folder,
                    expected="a slug other than " + ", ".join(sorted(RESERVED_SLUGS)),
                    suggestion=f"rename the folder, e.g. to {slug}-org",
                )
            ]
        )
    return folder


def no_links_out(folder: Path) -> Path:
    """The tenant folder *folder* (named_tenant_folder), as bad input when it or its facts link out of it."""
    # The slug is one plain name (SLUG): a folder that is no link is inside tenants/, wherever that is (a
    # build looks up every tenant here, so no path is resolved).
    if folder.is_symlink():
        raise InputError(
            [
                Problem(
                    "tenant folder is a symbolic link; policygen reads only files inside the project",
                    file=folder,
                    expected="a real folder in tenants/",
                    suggestion="copy the tenant's files into the project instead of linking them",
                )
            ]
        )
    facts = folder / "tenant.yaml"
    if facts.is_symlink() and not facts.resolve().is_relative_to(folder.resolve()):
        raise InputError(
            [
                Problem(
                    "tenant.yaml is a symbolic link out of the tenant folder; policygen reads only files inside the project",
                    file=facts,
                    expected="a real file",
                    suggestion="copy the file into the tenant folder",
                )
            ]
        )
    return folder


def select_tenants(root: Path, only: list[str] | None) -> list[str]:
    """The slugs to build: all tenants, or those asked for (which must exist)."""
    known = tenant_slugs(root)
    if not only:
        return known
    for slug in only:
        check_slug(root, slug)
    present = SortedNames(known)
    missing = [slug for slug in dict.fromkeys(only) if slug not in present]
    if missing:
        raise UsageError("; ".join(_no_tenant(slug, known) for slug in missing))
    return sorted(set(only))


KNOWN_NAMED = 10  # tenants named in an error about one that is not there; past that, counted (a site has thousands)


def _no_tenant(slug: str, known: list[str]) -> str:
    hint = did_you_mean(slug, known)
    if hint:
        return f"no tenant '{slug}' in tenants/; {hint}"
    if len(known) <= KNOWN_NAMED:
        return f"no tenant '{slug}' in tenants/ (known: {', '.join(known) or 'none'})"
    return f"no tenant '{slug}' in tenants/, which holds {len(known):,} tenants (a folder each)"


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
    problems = Collector()
    project = load_base(root, problems)
    library_ok = not problems.problems
    for slug in select_tenants(project.root, only):
        if not library_ok:
            _validate_only(project, slug, problems)
            continue
        tenant = load_tenant_source(project, slug, problems)
        if tenant is not None:
            project.tenants[slug] = tenant
    problems.raise_if_any()
    return project


def _validate_only(project: Project, slug: str, problems: Collector) -> None:
    # With a broken library, still report what is wrong with each tenant's facts in the same run.
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


def checked_tenant_digest(folder: Path) -> str:
    """tenant_digest of a named tenant folder, once no_links_out finds it plain (else its InputError): what a
    build hashes when the stat cache cannot vouch for the folder, which it does only for one holding no link."""
    return tenant_digest(no_links_out(folder))


def tenant_digest(folder: Path) -> str:
    """Hash of everything in a tenant's folder: facts, own clauses, releases, logo.

    InputError for a file policygen will not read (a pipe, a device, a dangling link, over the size
    limit); a link out of the folder is hashed by where it points, never read: loading reports it.
    """
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if is_editor_file(name):  # an editor's scratch file is not input
                continue
            h.update(path.relative_to(folder).as_posix().encode() + b"\0")
            h.update(hashed_content(folder, path) + b"\0")
    return h.hexdigest()


def document_title(project: Project, tenant: TenantSource, doc_id: str) -> str:
    """A document's title for this tenant: its own title in `documents`, else the library's."""
    override = next((d.title for d in tenant.facts.documents if d.id == doc_id), None)
    return override or project.library.documents[doc_id].meta.title


def project_theme(project: Project) -> SiteTheme:
    """The project's theme, sandboxed unless policygen.yaml trusts it: every command makes it here."""
    return SiteTheme(project.root, project.config.theme, project.config.trusted_theme)
