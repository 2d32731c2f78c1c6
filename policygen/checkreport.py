"""The report of `policygen check`: what it found for each tenant and for the site, and the report as text for
people and as JSON for machines.

A check of a hundred thousand tenants does not hold every tenant's results: they wait in a spool (`Checked`),
in an unnamed temporary file past a budget, and the report is written from it a piece at a time
(`text_lines`, `json_parts`).
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, overload

from .errors import Problem
from .readability import Score
from .spool import Codec, Mapped, Spool

Level = Literal["error", "warning"]

# --- results -----------------------------------------------------------------------------------------

Kind = Literal["disclosure", "transfer", "stale", "link", "notify", "readability", "prose", "input", "translation"]


@dataclass(frozen=True)
class CheckFinding:
    """One thing a tenant's policies lack or get wrong."""

    id: str
    level: Level
    kind: Kind
    message: str
    jurisdiction: str | None = None
    reference: str | None = None
    fact: str | None = None
    file: Path | None = None
    line: int | None = None
    document: str | None = None
    clause: str | None = None
    applies_from: dt.date | None = None  # a duty not yet in force on the day checked

    def to_json(self, root: Path) -> dict[str, object]:
        return {
            "id": self.id,
            "applies_from": self.applies_from.isoformat() if self.applies_from else None,
            "level": self.level,
            "kind": self.kind,
            "jurisdiction": self.jurisdiction,
            "message": self.message,
            "reference": self.reference,
            "fact": self.fact,
            "file": _relative(self.file, root),
            "line": self.line,
            "document": self.document,
            "clause": self.clause,
        }


@dataclass(frozen=True)
class ClauseScore:
    document: str
    clause: str
    file: Path
    score: Score

    def to_json(self, root: Path) -> dict[str, object]:
        return {
            "document": self.document,
            "clause": self.clause,
            "file": _relative(self.file, root),
            "reading_ease": self.score.reading_ease,
            "band": self.score.band,
            "words": self.score.words,
            "sentences": self.score.sentences,
        }


@dataclass
class TenantCheck:
    slug: str
    jurisdictions: list[str]
    findings: list[CheckFinding] = field(default_factory=list)
    readability: list[ClauseScore] = field(default_factory=list)  # hardest first

    def count(self, level: Level) -> int:
        return sum(1 for f in self.findings if f.level == level)


def _checked_size(result: TenantCheck) -> int:
    return 500 + 300 * (len(result.findings) + len(result.readability))  # about, in memory


def _slug_of(result: TenantCheck) -> str:
    return result.slug


SPOOL_BUDGET = 4 << 20  # bytes of the tenants' results held before their spool writes them out
_CHECKED = Codec(pickle.dumps, pickle.loads, _checked_size)  # the spool's own unnamed file: only it reads it back


class Checked(Sequence[TenantCheck]):
    """The tenants' results as they come, in slug order: held up to a budget, then in an unnamed temporary file
    (a spool), so that a check of a hundred thousand tenants does not hold them all. Their errors and warnings are
    counted as they come. A dead link found after its tenant was put away (a link that leaves the tenant's folder,
    followed at the end) is kept apart and joined to the tenant's findings when it is read back."""

    def __init__(self, folder: Path | None = None) -> None:
        self._spool = Spool(_CHECKED, _slug_of, folder, SPOOL_BUDGET)
        self._read: Sequence[TenantCheck] | None = None
        self._late: dict[str, list[CheckFinding]] = {}
        self._counts: dict[Level, int] = {"error": 0, "warning": 0}

    def add(self, result: TenantCheck) -> None:
        assert self._read is None, "every result is added before any is read"
        self._spool.add(result)
        for level in self._counts:
            self._counts[level] += result.count(level)

    def add_late(self, slug: str, finding: CheckFinding) -> None:
        self._late.setdefault(slug, []).append(finding)
        self._counts[finding.level] += 1

    def count(self, level: Level) -> int:
        return self._counts[level]

    @property
    def spilled(self) -> int:
        """How many results were written out (tests count them)."""
        return self._spool.spilled

    def close(self) -> None:
        self._spool.close()

    def _results(self) -> Sequence[TenantCheck]:
        if self._read is None:
            self._read = Mapped(self._spool.ordered(), self._joined)
        return self._read

    def _joined(self, result: TenantCheck) -> TenantCheck:
        late = self._late.get(result.slug)
        return result if not late else replace(result, findings=[*result.findings, *late])

    def __len__(self) -> int:
        return len(self._results())

    def __iter__(self) -> Iterator[TenantCheck]:
        return iter(self._results())

    @overload
    def __getitem__(self, index: int) -> TenantCheck: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TenantCheck]: ...
    def __getitem__(self, index: int | slice) -> TenantCheck | Sequence[TenantCheck]:
        return self._results()[index]


@dataclass
class CheckReport:
    root: Path
    today: dt.date
    tenants: Checked = field(default_factory=Checked)
    site: list[CheckFinding] = field(default_factory=list)  # findings about pages of no one tenant
    problems: list[Problem] = field(default_factory=list)  # facts or templates that do not load or render
    unchecked: int = 0  # tenants not checked: their facts or templates fail (see problems)

    def count(self, level: Level) -> int:
        return (
            self.tenants.count(level)
            + sum(1 for f in self.site if f.level == level)
            + sum(1 for p in self.problems if p.level == level)
        )

    @property
    def exit_code(self) -> int:
        """1 when anything at error level was found, so CI can gate on it."""
        return 1 if self.count("error") else 0

    def to_json(self) -> dict[str, object]:
        return {**self._head(), "tenants": [_tenant_json(t, self.root) for t in self.tenants]}

    def _head(self) -> dict[str, object]:
        """Every top-level entry of the JSON report but the tenants."""
        return {
            "generator": "policygen",
            "today": self.today.isoformat(),
            "summary": {"errors": self.count("error"), "warnings": self.count("warning"), "unchecked": self.unchecked},
            "problems": [p.to_json(self.root) for p in self.problems],
            "site": [f.to_json(self.root) for f in self.site],
        }


def _tenant_json(t: TenantCheck, root: Path) -> dict[str, object]:
    return {
        "tenant": t.slug,
        "jurisdictions": t.jurisdictions,
        "errors": t.count("error"),
        "warnings": t.count("warning"),
        "findings": [f.to_json(root) for f in t.findings],
        "readability": [s.to_json(root) for s in t.readability],
    }


# --- output --------------------------------------------------------------------------------------------------


def format_json(report: CheckReport) -> str:
    return "".join(json_parts(report))


def json_parts(report: CheckReport) -> Iterator[str]:
    """The report as JSON (json.dumps of report.to_json(), indented by two, keys sorted, and a newline), a piece
    at a time: a tenant's entry is made as it is written, so the report of a hundred thousand is never held."""
    head = report._head()
    for i, key in enumerate(sorted([*head, "tenants"])):
        yield ("{" if i == 0 else ",") + f"\n  {json.dumps(key)}: "
        if key == "tenants":
            yield from _json_list((_tenant_json(t, report.root) for t in report.tenants), "  ")
        else:
            yield _json(head[key], "  ")
    yield "\n}\n"


def _json(value: object, indent: str) -> str:
    """*value* as JSON at *indent* (a string's own line breaks are escaped, so each break starts a line)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).replace("\n", "\n" + indent)


def _json_list(items: Iterable[object], indent: str) -> Iterator[str]:
    empty = True
    for item in items:
        yield ("[" if empty else ",") + f"\n{indent}  " + _json(item, indent + "  ")
        empty = False
    yield "[]" if empty else f"\n{indent}]"


def format_text(report: CheckReport, hardest: int | None = 3, errors_only: bool = False) -> str:
    return "".join(text_lines(report, hardest, errors_only))


def text_lines(report: CheckReport, hardest: int | None = 3, errors_only: bool = False) -> Iterator[str]:
    """The report for people, a line at a time (each ends with a line break); *hardest* clauses by readability
    per tenant (None: every clause); *errors_only* (--quiet): what is at error level, and the summary."""
    root = report.root
    for p in report.problems:
        if not errors_only or p.level == "error":
            yield p.format(root) + "\n"
    for t in report.tenants:
        yield from (line + "\n" for line in _tenant_lines(t, root, hardest, errors_only))
    site = [f for f in report.site if not errors_only or f.level == "error"]
    if site:
        yield "the site (findings about no one tenant)\n"
    for f in site:
        yield from (line + "\n" for line in _format_finding(f, root))
    errors, warnings = report.count("error"), report.count("warning")
    yield (
        f"{errors} error(s), {warnings} warning(s) in {len(report.tenants)} tenant(s)"
        + (f"; {report.unchecked} tenant(s) not checked: see the problems above" if report.unchecked else "")
        + ("; nothing to fix at error level" if not errors else "")
        + "\n"
    )


def _tenant_lines(t: TenantCheck, root: Path, hardest: int | None, errors_only: bool) -> list[str]:
    findings = [f for f in t.findings if not errors_only or f.level == "error"]
    if errors_only and not findings:
        return []
    declared = ", ".join(t.jurisdictions) or "no jurisdiction declared"
    lines = [f"{t.slug} ({declared})"]
    for f in sorted(findings, key=_finding_order):
        lines.extend(_format_finding(f, root))
    if t.readability and not errors_only:
        worst = ", ".join(f"{s.document}#{s.clause} {s.score.reading_ease}" for s in t.readability[:hardest])
        lines.append(f"  hardest to read (Flesch reading ease, 60+ is plain): {worst}")
    lines.append(f"  {t.count('error')} error(s), {t.count('warning')} warning(s)")
    return lines


def _finding_order(f: CheckFinding) -> tuple[int, str, str, str]:
    return (0 if f.level == "error" else 1, f.kind, f.id, f.message)


def _format_finding(f: CheckFinding, root: Path) -> list[str]:
    where = _relative(f.file, root) or ""
    if where and f.line:
        where += f":{f.line}"
    head = f"  {where + ': ' if where else ''}{f.level}: {f.id}: {f.message}"
    out = [head]
    if f.reference:
        out.append(f"      reference: {f.reference}")
    if f.fact and f.kind != "link":
        out.append(f"      add: {f.fact}" if f.kind in ("disclosure", "stale") else f"      fix: {f.fact}")
    return out


def _relative(file: Path | None, root: Path) -> str | None:
    if file is None:
        return None
    try:
        return file.resolve().relative_to(root).as_posix()
    except ValueError:
        return file.as_posix()
