"""What changed between two versions of a policy, and whether people must be told.

A comparison puts together the facts' changes with their tiers (policygen/factdiff.py) and the
clause words' changes (policygen/worddiff.py) into one DiffReport with an overall tier; wording
that changed while no fact did "needs review" unless the release marks it editorial with a reason.
The versions compared are released snapshots or the working tree, loaded by a Workspace.
`policygen release` records the report (policygen/release.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .errors import InputError, Problem, UsageError
from .factdiff import FactFinding, TenantWords, decide, diff_facts
from .facts import Tenant
from .render import ClauseRenderer, render_document
from .rules import SOURCE_SENTENCES, Level, RuleSet, Sentences, load_rules, rank
from .text import one_line
from .versions import dated_facts, frozen_clauses
from .vocabulary import ForeignWord, mixed
from .worddiff import ClauseChange, ClauseText, Review, as_review, diff_clauses

if TYPE_CHECKING:
    from .project import Project, TenantSource
    from .versions import Snapshot

# A {name} in a summary's sentence, filled in one pass (a value is never read for names itself).
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

# --- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One end of a comparison: a released version or the working tree."""

    label: str  # "1", "2", ... or "working"
    facts: Tenant
    clauses: Mapping[str, ClauseText]
    effective: dt.date
    released: dt.date | None = None


@dataclass(frozen=True)
class DiffReport:
    tenant: str
    document: str
    old: Side
    new: Side
    tier: Level
    findings: tuple[FactFinding, ...]
    clauses: tuple[ClauseChange, ...]
    notice_days: int = 30
    rules: tuple[str, ...] = ()
    editorial: str | None = None  # why the release marked wording changes editorial

    @property
    def needs_notice(self) -> bool:
        return self.tier in {"material", "consent"}

    @property
    def summary(self) -> str:
        """One sentence for changelogs and feeds."""
        return self._summary(SOURCE_SENTENCES, self.findings) or ""

    def in_language(self, sentences: Sentences, own: TenantWords | None = None) -> DiffReport:
        """The report with its findings said in *sentences*' language (FactFinding.in_language), quoting
        the tenant's words in *own*: the tiers, the findings and the clauses' reviews stay as decided."""
        return replace(self, findings=tuple(f.in_language(sentences, own) for f in self.findings))

    def summary_in(self, sentences: Sentences, own: TenantWords | None = None) -> str | None:
        """The summary in *sentences*' language (the findings said in it: in_language), or None when a
        sentence of it has no words there or its finding stays in English."""
        said = self.in_language(sentences, own).findings
        if any(isinstance(f.says, ForeignWord) for f in said):
            return None
        return self._summary(sentences, said)

    def _summary(self, sentences: Sentences, findings: Sequence[FactFinding]) -> str | None:
        def say(name: str, **values: str) -> str | None:
            template = sentences.summary.get(name)
            return None if template is None else _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)

        notable = [f for f in findings if rank(f.tier) >= rank("minor")]
        if notable:
            top = max(notable, key=lambda f: rank(f.tier))
            more = len(notable) - 1
            if not more:
                return top.says
            tail = sentences.more(more)
            return None if tail is None else mixed(top.says, " ", tail)
        reworded = [f for f in findings if f.tier == "needs-review"]
        if reworded:
            return say("reworded", paths=", ".join(f.path for f in reworded))
        if any(c.review == "needs-review" for c in self.clauses):
            return say("wording")
        if any(c.review == "editorial" for c in self.clauses) or any(f.tier == "editorial" for f in findings):
            reason = self.editorial or next((c.reason for c in self.clauses if c.reason), None)
            return say("editorial_reason", reason=reason) if reason else say("editorial")
        if findings:
            return say("presentation")
        return say("unchanged")

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "document": self.document,
            "from": self.old.label,
            "to": self.new.label,
            "effective": {"from": self.old.effective.isoformat(), "to": self.new.effective.isoformat()},
            "tier": self.tier,
            "notice": self.needs_notice,
            "summary": self.summary,
            "findings": [f.to_json() for f in self.findings],
            "clauses": [c.to_json() for c in self.clauses],
        }

    def to_text(self) -> str:
        lines = [
            f"{self.tenant}/{self.document}: {_side_name(self.old.label)} ({self.old.effective}) -> "
            f"{_side_name(self.new.label)} ({self.new.effective})",
            f"tier: {self.tier}" + (" - users must be told before it takes effect" if self.needs_notice else ""),
        ]
        if self.findings:
            lines.append("")
            lines.append("fact changes:")
            for f in sorted(self.findings, key=lambda f: -rank(f.tier)):
                lines.append(f"  {f.tier:<9} {f.path} {f.change}: {_short(f.old)} -> {_short(f.new)}")
                lines.append(f"            {f.says}")
                lines.append(f"            rule {f.rule}" + (f" ({f.source})" if f.source else ""))
                for hunk in (f.words or ())[:5]:
                    lines.append(f"            - {_clip(hunk['old'])}" if hunk["old"] else "            - ")
                    lines.append(f"            + {_clip(hunk['new'])}" if hunk["new"] else "            + ")
                if f.tier == "needs-review":
                    lines.append(
                        f"            a few words changed: if the meaning did not, release with --editorial "
                        f"REASON; otherwise its rule's tier ({f.rule_tier}) applies"
                    )
        if self.clauses:
            lines.append("")
            lines.append("clause text:")
            for c in self.clauses:
                note = f"; {c.reason}" if c.reason else ""
                lines.append(f"  {c.id} ({c.status}, +{c.inserted} -{c.deleted} words, {c.review}{note})")
                for hunk in c.hunks()[:5]:
                    lines.append(f"    - {_clip(hunk['old'])}" if hunk["old"] else "    - ")
                    lines.append(f"    + {_clip(hunk['new'])}" if hunk["new"] else "    + ")
                if len(c.hunks()) > 5:
                    lines.append(f"    ... {len(c.hunks()) - 5} more")
        if not self.findings and not self.clauses:
            lines.append("no change in the facts or the text")
        return "\n".join(one_line(line) for line in lines) + "\n"  # a fact never breaks a line or drives the terminal


def _side_name(label: str) -> str:
    """'version 3', 'working tree', or a side's own name (e.g. 'old library' in policygen.upgrade)."""
    if label == "working":
        return "working tree"
    return f"version {label}" if label.isdigit() else label


def _short(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return _clip(", ".join(f"{k}: {v}" for k, v in value.items() if not isinstance(v, (list, dict))) or "{...}")
    if isinstance(value, list):
        return _clip(", ".join(map(str, value)))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _clip(str(value))


def _clip(value: str, width: int = 90) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def overall(findings: Sequence[FactFinding], clauses: Sequence[ClauseChange], markup_changed: bool = False) -> Level:
    """The highest tier of all findings and clause reviews."""
    levels: list[Level] = [f.tier for f in findings]
    levels += [c.review for c in clauses if c.review != "follows-facts"]
    if not levels:
        return "technical" if markup_changed else "none"
    return max(levels, key=rank)


def compare(
    tenant: str,
    document: str,
    old: Side,
    new: Side,
    rules: RuleSet,
    *,
    expected: Mapping[str, ClauseText] | None = None,
    expected_new: Mapping[str, ClauseText] | None = None,
    editorial: str | None = None,
    recorded: Mapping[str, Review] | None = None,
    released: bool = False,
) -> DiffReport:
    """The full comparison of two versions of one document.

    *released*: the new side is (or becomes) a release, which decided each editorial candidate:
    editorial with the release's *editorial* reason, else the tier its rule gives.
    """
    findings = diff_facts(old.facts, new.facts, rules)
    if editorial or released:
        findings = decide(findings, editorial=bool(editorial))
    facts_changed = any(f.tier != "technical" for f in findings)
    clauses = diff_clauses(
        old.clauses,
        new.clauses,
        facts_changed=facts_changed,
        expected=expected,
        expected_new=expected_new,
        editorial=editorial,
        recorded=recorded,
    )
    markup = dict(old.clauses) != dict(new.clauses)
    return DiffReport(
        tenant,
        document,
        old,
        new,
        overall(findings, clauses, markup),
        tuple(findings),
        tuple(clauses),
        rules.notice_days,
        rules.files,
        editorial,
    )


# --- versions: releases and the working tree -----------------------------------------------

WORKING = "working"


def snapshot_side(snap: Snapshot) -> Side:
    try:
        facts = snap.facts
    except ValidationError as exc:
        raise InputError(
            [
                Problem(
                    f"version {snap.version} holds facts today's model cannot read: "
                    f"{exc.errors(include_url=False)[0]['msg']}",
                    file=snap.path,
                    key_path="facts",
                    suggestion="released facts are kept as they were; compare newer versions",
                )
            ]
        ) from None
    return Side(
        snap.label, facts, {c.id: ClauseText(c.title, c.html) for c in snap.clauses}, snap.effective, snap.released
    )


def recorded_reviews(snap: Snapshot) -> dict[str, Review] | None:
    """The clause reviews a release recorded (follows-facts, needs-review, editorial), if it did."""
    changes = snap.changes
    if not isinstance(changes, dict) or not isinstance(changes.get("clauses"), list):
        return None
    reviews: dict[str, Review] = {}
    for c in changes["clauses"]:
        review = as_review(c.get("review")) if isinstance(c, dict) else None
        if review is not None and isinstance(c.get("id"), str):  # a review policygen never writes is not kept
            reviews[c["id"]] = review
    return reviews


def recorded_reason(snap: Snapshot) -> str | None:
    changes = snap.changes
    reason = changes.get("editorial") if isinstance(changes, dict) else None
    return reason if isinstance(reason, str) else None


@dataclass
class Workspace:
    """A tenant's project as read from disk, to render documents with any facts."""

    project: Project
    tenant: TenantSource
    renderer: ClauseRenderer
    rules: RuleSet

    @classmethod
    def open(cls, root: Path, slug: str) -> Workspace:
        from .project import load_project

        project = load_project(root, [slug])
        return cls(project, project.tenants[slug], ClauseRenderer(project.content), load_rules(project.root, slug))

    @property
    def slug(self) -> str:
        return self.tenant.slug

    def document(self, document: str | None) -> str:
        from .project import tenant_document

        return tenant_document(self.tenant, document)

    def render(self, doc_id: str, facts: Tenant) -> dict[str, ClauseText]:
        """Today's clauses of the document, rendered with *facts*."""
        from .project import document_title

        doc = render_document(
            self.renderer,
            self.slug,
            facts,
            doc_id,
            self.tenant.documents[doc_id],
            document_title(self.project, self.tenant, doc_id),
        )
        # As a snapshot holds them (sanitised), so that the same text compares equal to a release.
        return {c.id: ClauseText(c.title, c.html) for c in frozen_clauses(doc)}

    def try_render(self, doc_id: str, facts: Tenant) -> dict[str, ClauseText] | None:
        """As render, or None when today's clauses cannot render with these (older) facts."""
        try:
            return self.render(doc_id, facts)
        except InputError:
            return None

    def working(self, doc_id: str, dated_as: Side | None = None) -> Side:
        """The document as it reads now; with *dated_as*, printed with that version's dates, so that
        dates alone (which only a release sets) do not show up as edits."""
        facts = self.tenant.facts
        shown = facts
        if dated_as is not None:
            shown = dated_facts(facts, dated_as.effective, dated_as.released or dated_as.effective)
        return Side(WORKING, facts, self.render(doc_id, shown), facts.dates.effective, None)

    def compare(
        self,
        doc_id: str,
        old: Side,
        new: Side,
        *,
        editorial: str | None = None,
        recorded: Mapping[str, Review] | None = None,
        released: bool = False,
    ) -> DiffReport:
        """Compare two sides, telling wording edits from fact edits by rendering today's clauses with each.

        With *recorded* reviews (a release recorded them when it was made) nothing is rendered, and
        the release's decisions on editorial candidates hold.
        """
        expected_old = expected_new = None
        if recorded is None:
            expected_old = self.try_render(doc_id, old.facts)
            expected_new = new.clauses if new.label == WORKING else self.try_render(doc_id, new.facts)
        return compare(
            self.slug,
            doc_id,
            old,
            new,
            self.rules,
            expected=expected_old,
            expected_new=expected_new,
            editorial=editorial,
            recorded=recorded,
            released=released or recorded is not None,
        )


def _pick(releases: list[Snapshot], label: str, slug: str, doc_id: str) -> Snapshot:
    for snap in releases:
        if (
            snap.label == label
            or (label.isdigit() and snap.version == int(label))
            or snap.effective.isoformat() == label
        ):
            return snap
    known = ", ".join(s.label for s in releases) or "none"
    raise UsageError(
        f"{slug}/{doc_id} has no version '{label}' (released versions: {known}; "
        "name one by number or effective date, or 'working')"
    )


def diff_document(
    root: Path, slug: str, document: str | None = None, from_version: str | None = None, to_version: str | None = None
) -> DiffReport:
    """`policygen diff`: a released version against another, or against the working tree (the default)."""
    from .versions import load_releases

    space = Workspace.open(root, slug)
    doc_id = space.document(document)
    releases = load_releases(space.tenant.folder, doc_id)
    if from_version is None:
        if not releases:
            raise UsageError(
                f"{slug}/{doc_id} has no released version to compare with; release one first "
                f"(policygen release {slug} --document {doc_id} --effective YYYY-MM-DD)"
            )
        old_snap = releases[-1]
    else:
        old_snap = _pick(releases, from_version, slug, doc_id)
    old = snapshot_side(old_snap)
    if to_version in (None, WORKING):
        return space.compare(doc_id, old, space.working(doc_id, dated_as=old))
    new_snap = _pick(releases, to_version, slug, doc_id)
    recorded = recorded_reviews(new_snap) if new_snap.version == old_snap.version + 1 else None
    return space.compare(doc_id, old, snapshot_side(new_snap), editorial=recorded_reason(new_snap), recorded=recorded)


def history(space: Workspace, doc_id: str, releases: list[Snapshot]) -> list[DiffReport]:
    """The diff of every pair of consecutive versions, oldest first."""
    reports: list[DiffReport] = []
    for old_snap, new_snap in itertools.pairwise(releases):
        recorded = recorded_reviews(new_snap)
        reports.append(
            space.compare(
                doc_id,
                snapshot_side(old_snap),
                snapshot_side(new_snap),
                editorial=recorded_reason(new_snap),
                recorded=recorded,
            )
        )
    return reports


def fails(report: DiffReport, tier: str) -> bool:
    """Whether the overall tier reaches *tier* (for --fail-on). An editorial candidate counts at its rule's
    tier: only a release with --editorial and a reason may lower it, never a merge gate."""
    held = [f.rule_tier for f in report.findings if f.rule_tier is not None]
    return max(rank(t) for t in [report.tier, *held]) >= rank(tier)
