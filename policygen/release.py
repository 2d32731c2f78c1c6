"""What `policygen release` records with a new version, and the changes it holds back.

The release hook (versions.release calls it) compares the candidate with the version before it
(policygen/diff.py), records the tier and findings in the snapshot, and refuses a material change
announced too late or wording marked editorial while a typed fact changed. The translation hook
freezes the new version's text in each of the tenant's other languages, as its pages publish it
(policygen/translated.py), so that an archive page in that language shows what was published."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diff import DiffReport, Workspace, snapshot_side
from .errors import Collector, InputError, Problem, UsageError
from .fact_translations import current_translations
from .rules import NOTICE_TIERS, SOURCE_SUMMARY, rank
from .text import one_line
from .translated import translated_document
from .versions import SnapshotTranslation, dated_facts, frozen_clauses

if TYPE_CHECKING:
    from .versions import Snapshot, Summariser, Translator


@dataclass(frozen=True)
class ReleaseNote:
    """What `policygen release` adds to a version besides its text."""

    editorial: str | None = None  # why wording edits with unchanged facts are editorial
    force: str | None = None  # why a material change may take effect before the notice period ends


def recorded(report: DiffReport, note: ReleaseNote) -> dict[str, Any]:
    """The `changes` field of a snapshot: the tier, the findings and each clause's review."""
    data: dict[str, Any] = {
        "from": report.old.label,
        "tier": report.tier,
        "summary": report.summary,
        "notice_days": report.notice_days,
        "findings": [f.to_json() for f in report.findings],
        "clauses": [
            {"id": c.id, "status": c.status, "review": c.review, "inserted": c.inserted, "deleted": c.deleted}
            for c in report.clauses
        ],
    }
    if note.editorial:
        data["editorial"] = note.editorial
    if note.force:
        data["forced"] = note.force
    return data


def summariser(root: Path, slug: str, note: ReleaseNote) -> Summariser:
    """The hook `versions.release` calls for each document it releases."""
    space: list[Workspace] = []

    def summarise(previous: Snapshot | None, candidate: Snapshot) -> dict[str, Any] | None:
        if previous is None:
            return {"from": None, "tier": None, "summary": SOURCE_SUMMARY.first, "findings": [], "clauses": []}
        if not space:
            space.append(Workspace.open(root, slug))
        ws = space[0]
        report = ws.compare(
            candidate.document,
            snapshot_side(previous),
            snapshot_side(candidate),
            editorial=note.editorial,
            released=True,
        )
        if note.editorial:
            check_editorial(report, candidate.document)
        check_notice(report, candidate, note, ws)
        return recorded(report, note)

    return summarise


def release_report(root: Path, slug: str, snap: Snapshot) -> str:
    """What `policygen release` prints for a new version; facts in the summary are escaped for the terminal."""
    where = snap.path.relative_to(root).as_posix() if snap.path and snap.path.is_relative_to(root) else snap.file_name
    lines = [f"Released {slug}/{snap.document} version {snap.version}, effective {snap.effective}: {where}"]
    if snap.tier:
        lines.append(f"  {snap.tier} change: {snap.summary}")
    return "\n".join(one_line(line) for line in lines)


def check_editorial(report: DiffReport, document: str) -> None:
    """--editorial covers wording only: a typed fact that changed is never editorial."""
    typed = [f"{f.path} ({f.change})" for f in report.findings if f.typed]
    if typed:
        raise UsageError(
            f"--editorial marks changed wording only, but {document} has facts that changed "
            f"otherwise: {', '.join(typed)}; release without --editorial (policygen diff shows "
            "their tiers), or release the wording fix on its own first"
        )


def check_notice(report: DiffReport, candidate: Snapshot, note: ReleaseNote, space: Workspace) -> None:
    """Refuse a material change that takes effect before people could have been told."""
    if not report.needs_notice:
        return
    lead = (candidate.effective - candidate.released).days
    if lead >= report.notice_days or note.force:
        return
    top = max(report.findings, key=lambda f: rank(f.tier))
    try:
        earliest = candidate.released + dt.timedelta(days=report.notice_days)
    except OverflowError:  # a release dated near 9999-12-31: no date exists that far ahead
        raise UsageError(
            f"--released {candidate.released}: the {report.notice_days}-day notice period of this "
            f"{report.tier} change would end after {dt.date.max}, the last date policygen can write; "
            "pass a real release date"
        ) from None
    suggestion = (
        "pick a later --effective date, or pass --force --reason '...' to record why it cannot wait "
        "(notice_days is set in rules.yaml)"
    )
    reworded = [f.path for f in report.findings if f.rule_tier in NOTICE_TIERS and f.tier == f.rule_tier]
    if reworded and not any(f.typed and f.tier in NOTICE_TIERS for f in report.findings):
        suggestion = (
            f"only a few words of {', '.join(reworded)} changed: if the meaning did not, pass "
            f"--editorial REASON (no notice needed); otherwise {suggestion}"
        )
    raise InputError(
        [
            Problem(
                f"{candidate.document}: this is a {report.tier} change ({one_line(top.says)}) taking effect {lead} day"
                f"{'s' if lead != 1 else ''} after its release; people must be told {report.notice_days} days ahead",
                file=space.tenant.folder / "tenant.yaml",
                key_path=top.path,
                expected=f"--effective {earliest.isoformat()} or later",
                suggestion=suggestion,
            )
        ]
    )


def translator(root: Path, slug: str) -> Translator:
    """The hook `versions.release` calls to freeze a new version in each of the tenant's other languages."""
    space: list[Workspace] = []

    def translate(candidate: Snapshot) -> dict[str, SnapshotTranslation]:
        if not space:
            space.append(Workspace.open(root, slug))
        ws = space[0]
        facts = dated_facts(ws.tenant.facts, candidate.effective, candidate.released)
        problems = Collector()
        frozen: dict[str, SnapshotTranslation] = {}
        for language in ws.tenant.facts.published_languages[1:]:
            try:
                doc = translated_document(ws.project, ws.renderer, ws.tenant, candidate.document, language, facts)
            except InputError as exc:  # a stale translation with stale_translations: refuse
                problems.extend(exc.problems)
                continue
            own = current_translations(ws.tenant.folder, language, facts) or None
            frozen[language] = SnapshotTranslation(title=doc.title, clauses=frozen_clauses(doc), facts=own)
        problems.raise_if_any()
        return frozen

    return translate
