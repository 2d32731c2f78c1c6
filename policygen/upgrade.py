"""What a new clause library changes in each tenant's text (`policygen upgrade-diff`).

The library ships with policygen, so upgrading policygen can change what every
tenant's policy says. Two ways to see it, per tenant and document, with the same
word diff and tiers as `policygen diff` (policygen/diff.py):

- against the last release (the default): each released document as released,
  against today's clauses rendered with the facts and dates of that release. The
  facts are the same on both sides, so what shows is what the text templates
  changed since the release: the library's, or the project's own clause edits.
- against an older library (--from-library DIR, a folder laid out like content/):
  each document rendered with today's facts, with DIR and with today's library
  as the packaged library, through the project's and the tenant's overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .clauses import Clause, Library, load_library, tenant_clauses
from .diff import DiffReport, Side, compare, snapshot_side
from .errors import Collector, Problem, UsageError
from .facts import Tenant
from .packaged import library_dir
from .project import Project, TenantSource, document_title, load_for_tenants, load_tenant_source
from .render import ClauseRenderer, render_document
from .rules import Level, load_rules, rank
from .tenantpool import each_tenant
from .versions import dated_facts, frozen_clauses, load_releases
from .worddiff import ClauseText

OLD_LIBRARY = "old library"
CURRENT_LIBRARY = "current library"


@dataclass(frozen=True)
class Unreleased:
    """A document with no release to compare with (against-release mode)."""

    tenant: str
    document: str


@dataclass(frozen=True)
class Shadowed:
    """A clause or partial the new library changed that the project's content/ overrides, so the change does
    not reach the project's text (against-library mode)."""

    file: Path  # the project's own file
    document: str | None  # None for a partial
    name: str  # the clause id, or the partial's template name

    def to_json(self, root: Path) -> dict[str, Any]:
        kind = "clause" if self.document is not None else "partial"
        return {"file": self.file.relative_to(root).as_posix(), "document": self.document, kind: self.name}


@dataclass(frozen=True)
class Reported:
    """One compared document as upgrade-diff prints it: its tier, whether its clause text changed, and its report
    as text and as JSON, made where it was compared (diff.DiffReport.to_text, to_json). The report itself, with
    both sides' facts and clause texts, is let go: a project's thousands of documents are held until the end,
    where the summary's tier is known."""

    tenant: str
    document: str
    tier: Level
    changed: bool
    text: str
    json: dict[str, Any]

    @classmethod
    def of(cls, report: DiffReport) -> Reported:
        return cls(
            report.tenant, report.document, report.tier, bool(report.clauses), report.to_text(), report.to_json()
        )


@dataclass(frozen=True)
class LibraryUpgrade:
    """Every compared document's report, those that had nothing to compare with, and the library changes the
    project's own files keep out."""

    root: Path
    against: str  # "release" or "library"
    reports: tuple[Reported, ...]
    unreleased: tuple[Unreleased, ...] = ()
    shadowed: tuple[Shadowed, ...] = ()

    @property
    def tier(self) -> str:
        return max((r.tier for r in self.reports), key=rank, default="none")

    def fails(self, tier: str) -> bool:
        """Whether the overall tier reaches *tier* (for --fail-on)."""
        return rank(self.tier) >= rank(tier)

    def to_json(self) -> dict[str, Any]:
        return {
            "against": self.against,
            "policygen": __version__,
            "tier": self.tier,
            "documents": [r.json for r in self.reports],
            "unreleased": [{"tenant": u.tenant, "document": u.document} for u in self.unreleased],
            "shadowed": [s.to_json(self.root) for s in self.shadowed],
        }

    def to_text(self) -> str:
        parts = [r.text for r in self.reports]
        if self.unreleased:
            parts.append(
                "".join(f"{u.tenant}/{u.document}: not released yet; nothing to compare\n" for u in self.unreleased)
            )
        if self.shadowed:
            parts.append(
                "the library changed these, but the project's own files replace them:\n"
                + "".join(
                    f"  {s.file.relative_to(self.root).as_posix()} "
                    f"({f'clause {s.document}/{s.name}' if s.document else f'partial {s.name}'})\n"
                    for s in self.shadowed
                )
            )
        changed = sum(1 for r in self.reports if r.changed)
        parts.append(
            f"{len(self.reports)} document{'s' if len(self.reports) != 1 else ''} compared, "
            f"{changed} with text changes; overall tier: {self.tier}\n"
        )
        return "\n".join(parts)


class _Renderer:
    """One project's tenants rendered through one clause library."""

    def __init__(self, project: Project, library: Library, packaged: Path | None) -> None:
        self.project = project
        self.library = library
        self.clauses = ClauseRenderer(project.content, packaged=packaged)

    def render(self, tenant: TenantSource, doc_id: str, facts: Tenant) -> dict[str, ClauseText]:
        doc = render_document(
            self.clauses,
            tenant.slug,
            facts,
            doc_id,
            self._clauses(tenant, doc_id),
            document_title(self.project, tenant, doc_id),
        )
        # As a snapshot holds them (sanitised), so that the same text compares equal to a release.
        return {c.id: ClauseText(c.title, c.html) for c in frozen_clauses(doc)}

    def _clauses(self, tenant: TenantSource, doc_id: str) -> dict[str, Clause]:
        if self.library is self.project.library:
            return tenant.documents[doc_id]
        if doc_id not in self.library.documents:  # a document the older library did not have: all of it is new
            return {}
        problems = Collector()
        clauses = tenant_clauses(self.library, tenant.folder, [doc_id], problems)
        problems.raise_if_any()
        return clauses[doc_id]


def library_upgrade(
    root: Path, slugs: list[str] | None = None, document: str | None = None, old_library: Path | None = None
) -> LibraryUpgrade:
    """Per tenant and document, what today's clause library changes in the text (see the module docstring). The
    tenants are read and compared a tenant at a time, by worker processes when there are many
    (tenantpool.each_tenant); every tenant's problems are raised together."""
    project, chosen = load_for_tenants(root, slugs)
    if old_library is not None and not old_library.is_dir():
        raise UsageError(
            f"--from-library: '{old_library.name or old_library}' is not a folder "
            "(give a clause library laid out like content/)"
        )
    comparer = _Comparer(project, document, old_library)
    reports: list[Reported] = []
    unreleased: list[Unreleased] = []
    published, problems = False, Collector()
    for compared in each_tenant(comparer, chosen):
        problems.extend(compared.problems)
        reports.extend(compared.reports)
        unreleased.extend(compared.unreleased)
        published = published or compared.publishes
    problems.raise_if_any()
    if document is not None and not published:
        raise UsageError(f"no tenant here publishes a document '{document}'")
    if old_library is None:
        return LibraryUpgrade(project.root, "release", tuple(reports), tuple(unreleased))
    return LibraryUpgrade(project.root, "library", tuple(reports), shadowed=_shadowed(project, old_library))


@dataclass(frozen=True)
class _Compared:
    """One tenant's comparisons (its documents' reports, and those with no release to compare with), whether
    it publishes the document asked for; or the problems of its facts and clauses."""

    reports: list[Reported]
    unreleased: list[Unreleased]
    publishes: bool
    problems: list[Problem]


class _Comparer:
    """Compares one tenant's documents at a time: against their last release, or *old_library*'s text when given."""

    def __init__(self, project: Project, document: str | None, old_library: Path | None) -> None:
        self.project, self.document, self.old_library = project, document, old_library
        self.current = _Renderer(project, project.library, None)
        self.old = None
        if old_library is not None:
            self.old = _Renderer(project, load_library(project.content, packaged=old_library), old_library)

    def __reduce__(self) -> tuple[type[_Comparer], tuple[Project, str | None, Path | None]]:
        # Sent to workers that are not forked (a fork server): they make their own renderers.
        return _Comparer, (self.project, self.document, self.old_library)

    def __call__(self, slug: str) -> _Compared:
        problems = Collector()
        tenant = load_tenant_source(self.project, slug, problems)
        if tenant is None:
            return _Compared([], [], False, problems.problems)
        documents = [d for d in tenant.documents if self.document is None or d == self.document]
        if self.old is None:
            reports, unreleased = self._against_releases(tenant, documents)
        else:
            reports, unreleased = self._against_library(tenant, documents, self.old), []
        return _Compared(reports, unreleased, bool(documents), [])

    def _against_library(self, tenant: TenantSource, documents: list[str], old: _Renderer) -> list[Reported]:
        rules = load_rules(self.project.root, tenant.slug)
        reports = []
        for doc_id in documents:
            facts, effective = tenant.facts, tenant.facts.dates.effective
            before = Side(OLD_LIBRARY, facts, old.render(tenant, doc_id, facts), effective)
            after = Side(CURRENT_LIBRARY, facts, self.current.render(tenant, doc_id, facts), effective)
            reports.append(Reported.of(compare(tenant.slug, doc_id, before, after, rules)))
        return reports

    def _against_releases(self, tenant: TenantSource, documents: list[str]) -> tuple[list[Reported], list[Unreleased]]:
        reports, unreleased = [], []
        rules = None  # read for a tenant with a release only: most tenants of a large project have none yet
        for doc_id in documents:
            releases = load_releases(tenant.folder, doc_id)
            if not releases:
                unreleased.append(Unreleased(tenant.slug, doc_id))
                continue
            if rules is None:
                rules = load_rules(self.project.root, tenant.slug)
            released = snapshot_side(releases[-1])
            # The release's own facts and dates: a fact edited since then is not a library change.
            facts = dated_facts(released.facts, released.effective, released.released or released.effective)
            now = Side(CURRENT_LIBRARY, released.facts, self.current.render(tenant, doc_id, facts), released.effective)
            reports.append(Reported.of(compare(tenant.slug, doc_id, released, now, rules)))
        return reports, unreleased


def _shadowed(project: Project, old_library: Path) -> tuple[Shadowed, ...]:
    if len(project.library.folders) < 2:  # the project's content/ is absent, or is the library itself
        return ()
    own = project.library.folders[0]
    old, new = _alone(old_library), _alone(library_dir())
    found = []
    for doc_id, doc in project.library.documents.items():
        for cid, clause in doc.clauses.items():
            if clause.file.is_relative_to(own) and _clause_digest(old, doc_id, cid) != _clause_digest(new, doc_id, cid):
                found.append(Shadowed(clause.file, doc_id, cid))
    for name in project.library.partials:
        if (own / name).is_file() and old.partials.get(name) != new.partials.get(name):
            found.append(Shadowed(own / name, None, name))
    return tuple(found)


def _alone(library: Path) -> Library:
    """A clause library as it ships, without any project's overrides."""
    return load_library(library, packaged=library)


def _clause_digest(library: Library, doc_id: str, clause_id: str) -> str | None:
    doc = library.documents.get(doc_id)
    clause = doc.clauses.get(clause_id) if doc is not None else None
    return clause.digest if clause is not None else None
