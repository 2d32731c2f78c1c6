"""A policygen project: its folders, its optional policygen.yaml, and its tenants.

Loading reads everything first and reports every problem at once; nothing is
written here.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .clauses import Clause, Library, load_library, tenant_clauses
from .errors import Collector, InputError, Problem, UsageError, did_you_mean
from .facts import SLUG, Tenant, problems_from_validation, read_tenant
from .yamlfile import Located, load

CONFIG_FILE = "policygen.yaml"


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field("Privacy policies", min_length=1, description="The site's title on the index page")
    theme: str = Field("default", pattern=r"^[a-z0-9][a-z0-9_-]*$", description="A folder in themes/")
    base_url: str | None = Field(None, pattern=r"^https?://", description="Absolute address of the published site, for feeds and sitemaps")


@dataclass(frozen=True)
class TenantSource:
    """One tenant as read from disk: its facts and the clauses of its documents."""

    slug: str
    folder: Path
    facts: Tenant
    digest: str  # hash of tenant.yaml and the tenant's own files, for rebuild decisions
    documents: dict[str, dict[str, Clause]]
    located: Located | None = field(default=None, compare=False, repr=False)


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
    def theme_dir(self) -> Path:
        return self.root / "themes" / self.config.theme

    @property
    def reserved(self) -> list[Path]:
        """Folders a build must never write into or replace."""
        return [self.root, self.root / "content", self.root / "tenants", self.root / "themes",
                self.root / "layouts", self.root / "static"]


def load_config(root: Path) -> ProjectConfig:
    file = root / CONFIG_FILE
    if not file.is_file():
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
    return sorted(p.name for p in tenants.iterdir() if (p / "tenant.yaml").is_file() and not p.name.startswith("."))


def check_slug(root: Path, slug: str) -> Path:
    """The tenant's folder, refusing slugs that are malformed or lead out of tenants/."""
    if not SLUG.fullmatch(slug):
        raise UsageError(f"'{slug}' is not a tenant slug: use lower-case letters, digits and '-'")
    folder = root / "tenants" / slug
    if folder.is_symlink() or not folder.resolve().is_relative_to((root / "tenants").resolve()):
        raise UsageError(f"tenant '{slug}' points outside tenants/; symlinked tenant folders are not followed")
    return folder


def load_project(root: Path, only: list[str] | None = None) -> Project:
    """Read the config, the clause library and the chosen tenants, reporting all problems together."""
    root = root.resolve()
    problems = Collector()
    config = ProjectConfig()
    try:
        config = load_config(root)
    except InputError as exc:
        problems.extend(exc.problems)
    library: Library | None = None
    try:
        library = load_library(root / "content")
    except InputError as exc:
        problems.extend(exc.problems)

    known = tenant_slugs(root)
    if only:
        for slug in only:
            check_slug(root, slug)
            if slug not in known:
                hint = did_you_mean(slug, known)
                raise UsageError(f"no tenant '{slug}' in tenants/" + (f"; {hint}" if hint else f" (known: {', '.join(known)})"))
        selected = sorted(set(only))
    else:
        selected = known
    tenants: dict[str, TenantSource] = {}
    for slug in selected:
        folder = check_slug(root, slug)
        try:
            facts, located = read_tenant(folder / "tenant.yaml")
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        docs: dict[str, dict[str, Clause]] = {}
        if library is not None:
            docs = tenant_clauses(library, folder, [d.id for d in facts.documents], problems,
                                  where=located)
        _check_theme_files(folder, facts, problems)
        tenants[slug] = TenantSource(slug=slug, folder=folder, facts=facts, digest=_tenant_digest(folder),
                                     documents=docs, located=located)
    problems.raise_if_any()
    assert library is not None
    return Project(root=root, config=config, library=library, tenants=tenants)


def _check_theme_files(folder: Path, facts: Tenant, problems: Collector) -> None:
    logo = facts.theme.logo
    if logo is None:
        return
    path = (folder / logo)
    if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
        problems.add(Problem(f"logo file '{logo}' is not a file in the tenant folder", file=folder / "tenant.yaml",
                             key_path="theme.logo", expected="a path like logo.svg inside the tenant's folder"))
    elif path.suffix.lower() not in {".svg", ".png", ".jpg", ".jpeg", ".webp", ".gif"}:
        problems.add(Problem(f"logo file '{logo}' is not an image", file=folder / "tenant.yaml",
                             key_path="theme.logo", expected="an .svg, .png, .jpg, .webp or .gif file"))


def _tenant_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            h.update(path.relative_to(folder).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def find_root(start: Path) -> Path:
    """The nearest folder at or above *start* that holds content/ and tenants/."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "content").is_dir() and (folder / "tenants").is_dir():
            return folder
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise UsageError(f"no policygen project here: no folder at or above {start.name or start} has content/ and tenants/ "
                     "(create one with `policygen init DIR`)")
