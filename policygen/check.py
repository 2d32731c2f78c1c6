"""`policygen check`: what each tenant's policies lack, for the laws it declares.

The checklists are data (policygen/data/checklists/<jurisdiction>.yaml; the
regimes, their dates and sources are in docs/regimes.md). Each item names what
a notice must say, its legal reference, the days it applies (`in_force`: from,
until, source), the fact that says it, and Jinja expressions over the facts:
`when` (the item applies), `test` (it is satisfied) or `lacking` (the list of
entries that fall short), or `mentions` (a pattern the rendered text must
contain). Tests ask the rendered text where they can (`mentioned`, `printed`),
and an item may name the `clause` that shows the fact, so a fact that no
document prints is reported too. On `--today` an item not yet in force is a
warning that says the day it starts; an item a later law replaced is skipped.

Transfers are checked against the dated transfer tools of policygen.law: a
tool used after its end (the Privacy Shield) is an error naming its successors.

Besides the checklists: a plain-language score per clause, a California
policy not updated in 12 months, links that lead nowhere, and text that asks
readers to watch the page for changes instead of notifying them.

Nothing is written; the project is loaded (validating facts and templates) and
rendered in memory with the build's own functions.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import jinja2
import jinja2.sandbox
from pydantic import BaseModel, ConfigDict, Field

from .clauses import SOURCE_LANGUAGE, language_of, translation_file
from .dates import utc_today
from .engine import site_outputs
from .errors import InputError, Problem, merged
from .explain import ExplainedBlock, TracingRenderer, explain_document
from .fact_translations import overlay_file
from .fact_translations import states as fact_states
from .facts import Tenant, Transfer
from .htmltext import PageLinks, html_text
from .law import InForce, Status, TransferMechanism, declared_regimes, replacements
from .output import Output
from .project import Project, TenantSource, load_project, project_theme
from .prose import ProseFinding, lint_document
from .readability import Score, prose_text, score
from .render import ClauseRenderer, RenderedDocument, fact_context
from .rules import RuleSet, load_rules, packaged_sentences, sentences_file
from .site import BuildOptions, render_tenant_documents, tenant_outputs
from .theme import SiteTheme
from .translations import Change, TranslationState, found_languages, library_units, tenant_units, translated_languages
from .translations import states as translation_states
from .vocabulary import language_data, vocabulary
from .yamlfile import packaged

Level = Literal["error", "warning"]
BASELINE = "baseline"
# Below this Flesch reading ease a clause reads like a law journal ("very difficult").
HARD_CLAUSE = 30.0
MIN_WORDS_SCORED = 20


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z]+\.[a-z0-9-]+$")
    must_say: str
    reference: str
    fact: str = Field(description="The fact(s) to add, as a key path in tenant.yaml")
    key: str | None = Field(
        None, description="Top-level key of tenant.yaml to point at; default: the fact's first name"
    )
    clause: str | None = Field(None, description="The clause that shows the fact in a rendered document")
    level: Level = "error"
    in_force: InForce = Field(description="The days the duty applies, and the source of those dates")
    when: str | None = None
    test: str | None = None
    lacking: str | None = None
    mentions: str | None = Field(
        None, description="A regular expression the rendered text must match (case-insensitive)"
    )
    note: str | None = None

    def anchor(self) -> str:
        return self.key or re.split(r"[.\[ (:,]", self.fact, maxsplit=1)[0]


class Checklist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    jurisdiction: str
    title: str
    items: list[ChecklistItem]


@lru_cache(maxsize=1)
def checklists() -> dict[str, Checklist]:
    """The packaged checklists, by jurisdiction id (plus the baseline every tenant gets)."""
    found: dict[str, Checklist] = {}
    folder = resources.files("policygen") / "data" / "checklists"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            checklist = packaged(Checklist, "checklists", entry.name)
            found[checklist.jurisdiction] = checklist
    return found


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


@dataclass
class CheckReport:
    root: Path
    today: dt.date
    tenants: list[TenantCheck] = field(default_factory=list)
    site: list[CheckFinding] = field(default_factory=list)  # findings about pages of no one tenant
    problems: list[Problem] = field(default_factory=list)  # facts or templates that do not load or render

    def count(self, level: Level) -> int:
        return (
            sum(t.count(level) for t in self.tenants)
            + sum(1 for f in self.site if f.level == level)
            + sum(1 for p in self.problems if p.level == level)
        )

    @property
    def exit_code(self) -> int:
        """1 when anything at error level was found, so CI can gate on it."""
        return 1 if self.count("error") else 0

    def to_json(self) -> dict[str, object]:
        return {
            "generator": "policygen",
            "today": self.today.isoformat(),
            "summary": {"errors": self.count("error"), "warnings": self.count("warning")},
            "problems": [p.to_json(self.root) for p in self.problems],
            "site": [f.to_json(self.root) for f in self.site],
            "tenants": [
                {
                    "tenant": t.slug,
                    "jurisdictions": t.jurisdictions,
                    "errors": t.count("error"),
                    "warnings": t.count("warning"),
                    "findings": [f.to_json(self.root) for f in t.findings],
                    "readability": [s.to_json(self.root) for s in t.readability],
                }
                for t in self.tenants
            ],
        }


# --- evaluating checklist items ------------------------------------------------------------------------

_env = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.Undefined)


@lru_cache(maxsize=512)
def _compiled(expression: str) -> Callable[..., Any]:
    return _env.compile_expression(expression)


# Where data comes from other than the person: these sources make GDPR Art. 14 apply.
INDIRECT = frozenset({"third_party", "public", "institution"})


def _helpers(tenant: Tenant, text: str, today: dt.date) -> dict[str, Callable[..., Any]]:
    """Functions checklist expressions can call, for questions a filter chain cannot ask."""
    flat = " ".join(text.split()).casefold()

    def missing_rights(ids: list[str]) -> list[str]:
        return [i for i in ids if not tenant.has_right(i)]

    def purposes_missing_interest() -> list[str]:
        return [
            p.id
            for p in tenant.purposes
            if any(b.basis.value == "legitimate_interest" and not b.interest for b in p.lawful_bases)
        ]

    def indirect_sources() -> bool:
        # Observed data (cookies, logs, sensors) is collected from the person: Art. 13, not 14 (WP260 para 26).
        return any(s in INDIRECT for c in tenant.data_categories for s in c.sources)

    def established_outside(names: list[str]) -> bool:
        org = tenant.organisation
        country = org.address.country if org.address else org.country
        return country is not None and country.strip().lower() not in names

    def transfers_without_safeguard(regime: str) -> list[str]:
        """Transfers that may leave *regime* with no adequacy finding or safeguard for it in force on the day."""
        return [
            t.id
            for t in tenant.transfers
            if t.leaves in (None, regime)
            and not any(
                m.protects and m.serves(regime) and m.in_force.status(today) is Status.IN_FORCE for m in t.tools()
            )
        ]

    def mentioned(pattern: str) -> bool:
        return re.search(pattern, text, re.I) is not None

    def printed(value: object) -> bool:
        """The fact's own words are on a rendered page (a name, an email address)."""
        return isinstance(value, str) and bool(value.strip()) and " ".join(value.split()).casefold() in flat

    return {
        f.__name__: f
        for f in (
            missing_rights,
            purposes_missing_interest,
            indirect_sources,
            established_outside,
            transfers_without_safeguard,
            mentioned,
            printed,
        )
    }


def evaluate(item: ChecklistItem, context: dict[str, Any], text: str) -> tuple[bool, list[str]]:
    """Whether the item applies, and what falls short ([] when satisfied)."""
    if item.when and not _compiled(item.when)(**context):
        return False, []
    if item.mentions:
        return True, [] if re.search(item.mentions, text, re.I) else ["not mentioned in any document"]
    if item.lacking:
        value = _compiled(item.lacking)(**context)
        return True, [str(v) for v in (value or [])]
    if item.test:
        return True, [] if _compiled(item.test)(**context) else ["missing"]
    return True, []


def check_disclosures(
    tenant: TenantSource, docs: list[RenderedDocument], text: str, today: dt.date
) -> list[CheckFinding]:
    """The checklist items of the tenant's regimes in force on *today*; those that start later are warnings."""
    facts = tenant.facts
    context = fact_context(facts) | _helpers(facts, text, today)
    shown = {c.id for d in docs for c in d.clauses}
    lists = checklists()
    findings: list[CheckFinding] = []
    for jurisdiction in [BASELINE, *facts.jurisdictions]:
        for item in lists[jurisdiction].items:
            status = item.in_force.status(today)
            if status is Status.ENDED:
                continue  # a later law replaced this duty
            applies, short = evaluate(item, context, text)
            if not applies:
                continue
            message = _shortfall(item, short, shown)
            if message is None:
                continue
            level, starts = item.level, None
            if status is Status.NOT_YET:
                level, starts = "warning", item.in_force.start
                message = f"from {starts.isoformat()} (not yet in force): {message}"
            findings.append(
                CheckFinding(
                    item.id,
                    level,
                    "disclosure",
                    message,
                    jurisdiction=jurisdiction,
                    reference=item.reference,
                    fact=item.fact,
                    file=tenant.folder / "tenant.yaml",
                    line=_line(tenant, item.anchor()),
                    applies_from=starts,
                )
            )
    return findings


def _shortfall(item: ChecklistItem, short: list[str], shown: set[str]) -> str | None:
    """What the documents fail to say for *item*, or None when they say it."""
    if short:
        detail = "" if short in (["missing"], ["not mentioned in any document"]) else f" ({', '.join(short)})"
        return f"does not say {item.must_say}{detail}" + (f"; {item.note}" if item.note else "")
    if item.clause and item.clause not in shown:
        return f"the facts are there, but no document shows the '{item.clause}' clause that says {item.must_say}"
    return None


def check_transfers(tenant: TenantSource, today: dt.date) -> list[CheckFinding]:
    """Transfer tools relied on outside their dates: ended (the Privacy Shield) or not yet available."""
    facts = tenant.facts
    findings: list[CheckFinding] = []
    for i, transfer in enumerate(facts.transfers):
        regimes = [transfer.leaves] if transfer.leaves else declared_regimes(facts.jurisdictions)
        # Own words name a tool loosely ("standard contractual clauses" is any year's): only an ended one is sure.
        dated = [(t, True) for t in transfer.named_tools()] + [(t, False) for t in transfer.recognised_tools()]
        for tool, by_id in dated:
            status = tool.in_force.status(today)
            if status is Status.IN_FORCE or (status is Status.NOT_YET and not by_id):
                continue
            message, fact = _tool_out_of_dates(transfer, tool, regimes, today)
            findings.append(
                CheckFinding(
                    "transfer.tool",
                    "error",
                    "transfer",
                    message,
                    reference=tool.in_force.source,
                    fact=fact,
                    file=tenant.folder / "tenant.yaml",
                    line=tenant.line_of(("transfers", i)),
                )
            )
    return findings


def _tool_out_of_dates(
    transfer: Transfer, tool: TransferMechanism, regimes: Sequence[str], today: dt.date
) -> tuple[str, str]:
    """The message and the fix for a tool used before its start or after its end."""
    if tool.in_force.status(today) is Status.NOT_YET:
        return (
            f"transfer '{transfer.id}' relies on {tool.name}, which can be used only from {tool.in_force.start}",
            "transfers[].safeguards",
        )
    instead = replacements(tool, [r for r in regimes if tool.serves(r)] or list(tool.regimes), today)
    if not instead:
        return (
            f"transfer '{transfer.id}' relies on {tool.name}, which cannot be used since {tool.in_force.until}",
            "transfers[]",
        )
    return (
        f"transfer '{transfer.id}' relies on {tool.name}, which cannot be used since {tool.in_force.until}; "
        f"use instead: {'; '.join(m.wording() for m in instead)}",
        "transfers[].safeguards: " + ", ".join(m.id for m in instead),
    )


def _line(tenant: TenantSource, key: str) -> int | None:
    located = tenant.located
    if located is None or not isinstance(located.data, dict) or key not in located.data:
        return None  # the fact is not there to point at: the file is the place
    return located.where((key,))[0]


# --- translations ------------------------------------------------------------------------------------------


def check_translations(project: Project, tenant: TenantSource) -> list[CheckFinding]:
    """The translations a tenant's languages are read from: stale, missing, with other template code, and
    not yet legally reviewed (one finding per language). InputError when a translation is malformed."""
    languages = translated_languages(tenant.facts.languages)
    found = translation_states(tenant_units(project.library, tenant.documents), languages)
    stale_level: Level = "error" if project.config.stale_translations == "refuse" else "warning"
    findings: list[CheckFinding] = []
    for s in found:
        mark_it = f"policygen translations mark {s.language} {s.unit.key}"
        if s.code is not None:
            findings.append(_other_code(s, s.code, "error"))
        if s.status == "stale":
            change = _source_change(s.change)
            findings.append(
                CheckFinding(
                    "translation.stale",
                    stale_level,
                    "translation",
                    f"the '{s.language}' translation of {s.unit.key} is stale: its source changed since ({change})",
                    fact=f"translate the change, then: {mark_it}",
                    file=s.file,
                    clause=s.unit.key,
                )
            )
        elif s.status == "missing":
            findings.append(
                CheckFinding(
                    "translation.missing",
                    "warning",
                    "translation",
                    f"no '{s.language}' translation of {s.unit.key}: its '{s.language}' pages show the source text",
                    fact=f"translate {s.unit.file.name} into {translation_file(s.unit.file, s.language).name}",
                    file=s.unit.file,
                    clause=s.unit.key,
                )
            )
    for locale in tenant.facts.languages:
        for fact in fact_states(tenant.folder, locale, tenant.facts):
            if fact.status == "stale":
                findings.append(
                    CheckFinding(
                        "translation.fact_stale",
                        stale_level,
                        "translation",
                        f"the '{language_of(locale)}' translation of the fact {fact.key_path} is stale: "
                        "it changed in tenant.yaml since it was translated",
                        fact=f"translate the new value, then record translates: {fact.source_hash}",
                        file=overlay_file(tenant.folder, locale),
                        line=fact.line,
                    )
                )
    for language in languages:
        unreviewed = [s for s in found if s.language == language and s.file is not None and not s.reviewed]
        if unreviewed:
            findings.append(
                CheckFinding(
                    "translation.unreviewed",
                    "warning",
                    "translation",
                    f"{len(unreviewed)} '{language}' translation(s) are not yet legally reviewed "
                    "(starter translations): have them reviewed before relying on them",
                    fact="reviewed_by: <person or firm> and reviewed_on: <YYYY-MM-DD> in each translation's front matter",
                )
            )
    return findings


def check_unpublished_translations(project: Project, published: set[str]) -> list[CheckFinding]:
    """The library's translations in languages no tenant publishes yet, whose template code differs from their
    source's (a tag added, a syntax error): found before a tenant first publishes the language. Warnings, since
    no page is made from them yet; a published language's are errors under each tenant (check_translations)."""
    units = library_units(project.library)
    languages = sorted(found_languages(units) - {SOURCE_LANGUAGE} - published)
    return [
        _other_code(s, f"{s.code} (no tenant publishes '{s.language}' yet)", "warning")
        for s in translation_states(units, languages)
        if s.code is not None
    ]


def _other_code(state: TranslationState, difference: str, level: Level) -> CheckFinding:
    """A translation whose template code is not its source's (*difference* says how)."""
    return CheckFinding(
        "translation.code",
        level,
        "translation",
        f"the '{state.language}' translation of {state.unit.key} has other template code than its source: {difference}",
        fact="keep every {% %} tag and {{ }} expression of the source; translate only text and quoted strings",
        file=state.file,
    )


def check_policygen_words(project: Project, theme: SiteTheme) -> list[CheckFinding]:
    """policygen's own words in each language the project's tenants publish (besides English, the source) that
    carry no legal review: one finding per language, naming each packaged set of words its pages use."""
    languages = sorted({lang for t in project.tenants.values() for lang in translated_languages(t.facts.languages)})
    findings: list[CheckFinding] = []
    rules = load_rules(project.root)
    for language in languages:
        unreviewed = _unreviewed_words(language, theme, rules)
        if not unreviewed:
            continue
        findings.append(
            CheckFinding(
                "translation.words_unreviewed",
                "warning",
                "translation",
                f"policygen's own '{language}' words are not yet legally reviewed (starter translations): "
                + "; ".join(unreviewed),
                fact=_reviewed_words_hint(language, theme),
            )
        )
    return findings


def _unreviewed_words(language: str, theme: SiteTheme, rules: RuleSet) -> list[str]:
    """The packaged sets of words a page in *language* uses that record no legal review, each with its file."""
    found: list[str] = []
    words = vocabulary(language)
    if language_data(language) is not None and not (words is not None and words.reviewed):
        found.append(f"the vocabulary and the pages' notes (policygen/data/languages/{language}.yaml)")
    # No review is recorded for policygen's sentences yet; those the project's rules.yaml replaces are not used.
    packaged = packaged_sentences(language).given()
    if used := len(packaged - rules.replaced(language)):
        found.append(
            f"the findings' and summaries' sentences and words (policygen/data/{sentences_file(language)}: "
            f"{used} of {len(packaged)} not replaced by the project's rules.yaml)"
        )
    if theme.packaged_words(language):  # no review is recorded for them yet
        found.append(f"the {theme.name} theme's words (i18n/{language}.yaml of policygen's theme)")
    return found


def _reviewed_words_hint(language: str, theme: SiteTheme) -> str:
    return (
        f"use reviewed words of your own: the sentences and words of findings under languages: {{{language}: ...}} "
        f"in rules.yaml (each one given replaces policygen's); the theme's words in themes/{theme.name}/i18n/"
        f"{language}.yaml in the project (it replaces policygen's file). A project cannot replace the vocabulary "
        f"and notes of policygen/data/languages/{language}.yaml: have them reviewed in policygen "
        "(reviewed_by and reviewed_on beside its words)"
    )


def _source_change(change: Change | None) -> str:
    if change is None:
        return "the word diff is unavailable"
    if change.unavailable is not None:
        return "the word diff is unavailable: " + change.unavailable
    return "; ".join(f"'{h['old']}' -> '{h['new']}'" for h in change.words) or "only spacing"


# --- the other checks ------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    target_year, target_month = day.year + year, month + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(target_year, target_month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def check_stale(tenant: TenantSource, today: dt.date) -> list[CheckFinding]:
    """California wants the privacy policy reviewed and dated at least every 12 months."""
    facts = tenant.facts
    if "us_ca" not in facts.jurisdictions:
        return []
    updated = facts.dates.last_updated or facts.dates.effective
    due = add_months(updated, 12)
    if today <= due:
        return []
    return [
        CheckFinding(
            "ccpa.updated",
            "error",
            "stale",
            f"last updated {updated.isoformat()}, more than 12 months before {today.isoformat()} "
            f"(was due by {due.isoformat()})",
            jurisdiction="us_ca",
            reference="11 CCR 7011(e)(4); Civ. Code 1798.130(a)(5)",
            fact="dates.last_updated",
            file=tenant.folder / "tenant.yaml",
            line=_line(tenant, "dates"),
        )
    ]


_CHECK_PAGE = re.compile(
    r"\b(?:check|review|visit|consult|look at|revisit)\b[^.]{0,60}\b(?:page|policy|website|site|notice)\b[^.]{0,40}"
    r"\b(?:regularly|periodically|from time to time|frequently|often|occasionally)\b"
    r"|\b(?:regularly|periodically|frequently)\s+(?:check|review|visit|consult)\b[^.]{0,40}\b(?:page|policy|website|site|notice)\b",
    re.I,
)
_CONTINUED_USE = re.compile(
    r"\bcontinued use\b[^.]{0,80}\b(?:implies|constitutes|means|signifies|indicates|deemed)\b[^.]{0,40}\baccept\w*",
    re.I,
)


def check_notification(tenant: TenantSource, docs: list[RenderedDocument]) -> list[CheckFinding]:
    """Text that makes readers watch the page for changes instead of being told of them."""
    notified = bool({"email", "in_app"} & set(tenant.facts.changes.how_notified))
    findings: list[CheckFinding] = []
    for doc in docs:
        for clause in doc.clauses:
            text = " ".join(html_text(clause.html).split())
            for pattern, what in (
                (_CHECK_PAGE, "tells readers to check the page for changes"),
                (_CONTINUED_USE, "treats continued use as acceptance of changes"),
            ):
                match = pattern.search(text)
                if match is None:
                    continue
                level: Level = "warning" if notified else "error"
                fix = (
                    "changes.how_notified already notifies people; remove the sentence"
                    if notified
                    else "changes.how_notified: [email] or [in_app], and remove the sentence"
                )
                findings.append(
                    CheckFinding(
                        "notify.changes",
                        level,
                        "notify",
                        f'{what} instead of notifying them: "{match.group(0)}"',
                        reference="GDPR Art. 12-13 (transparency); ICO right to be informed",
                        fact=fix,
                        file=clause.file,
                        document=doc.id,
                        clause=clause.id,
                    )
                )
    return findings


def check_links(outputs: list[Output]) -> list[tuple[str | None, CheckFinding]]:
    """Anchors and relative links in the rendered pages that lead to no file or no id, with the page's tenant."""
    files = {o.path: o for o in outputs}
    parsed: dict[str, PageLinks] = {}
    for o in outputs:
        if o.path.endswith(".html"):
            p = PageLinks()
            p.feed(o.data.decode("utf-8", "replace"))
            parsed[o.path] = p
    findings: list[tuple[str | None, CheckFinding]] = []
    for path, page in sorted(parsed.items()):
        owner = files[path]
        for href in sorted(set(page.hrefs)):
            problem = _dead(path, href, files, parsed)
            if problem:
                findings.append(
                    (
                        owner.tenant,
                        CheckFinding(
                            "link.dead", "error", "link", f"{path}: link '{href}' {problem}", document=owner.document
                        ),
                    )
                )
    return findings


def _dead(page: str, href: str, files: dict[str, Output], parsed: dict[str, PageLinks]) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None  # external: checked by no one offline, and never fetched
    target = page
    if parts.path:
        base = posixpath.dirname(page)
        joined = posixpath.normpath(posixpath.join(base, unquote(parts.path)))
        if parts.path.startswith("/") or joined.startswith(".."):
            return "leads outside the site"
        if parts.path.endswith("/") or joined not in files:
            index = posixpath.join(joined, "index.html") if joined != "." else "index.html"
            if index not in files:
                return "leads to no file of the site"
            joined = index
        target = joined
    if parts.fragment and target in parsed and unquote(parts.fragment) not in parsed[target].ids:
        return f"points to '#{parts.fragment}', which is not on {'this page' if target == page else target}"
    return None


def score_clauses(docs: list[RenderedDocument]) -> list[ClauseScore]:
    # Prose only: a bullet list of nouns ("Name", "Email address") is not sentences and has no reading ease.
    scores = [ClauseScore(d.id, c.id, c.file, score(prose_text(c.html))) for d in docs for c in d.clauses]
    scores = [s for s in scores if s.score.words >= MIN_WORDS_SCORED]
    return sorted(scores, key=lambda s: (s.score.reading_ease, s.document, s.clause))


def readability_findings(tenant: TenantSource, scores: list[ClauseScore]) -> list[CheckFinding]:
    """Flag the clauses that read like a law journal; GDPR asks for plain language."""
    gdpr = {"eu_gdpr", "uk_gdpr"} & set(tenant.facts.jurisdictions)
    reference = "GDPR Art. 12(1) (plain language)" if gdpr else "plain language"
    return [
        CheckFinding(
            "readability.hard",
            "warning",
            "readability",
            f"{s.document}#{s.clause} is {s.score.band} to read (Flesch reading ease {s.score.reading_ease}, "
            f"{s.score.words / s.score.sentences:.0f} words a sentence); shorter sentences and words help",
            reference=reference,
            fact="the clause text, or the facts it prints",
            file=s.file,
            document=s.document,
            clause=s.clause,
        )
        for s in scores
        if s.score.reading_ease < HARD_CLAUSE
    ]


def check_prose(project: Project, tenant: TenantSource, docs: list[RenderedDocument]) -> list[CheckFinding]:
    """The prose lint on every document, each finding at the clause or partial line that wrote the block."""
    findings: list[CheckFinding] = []
    tracer: TracingRenderer | None = None
    for doc in docs:
        found = lint_document(doc.clauses)
        if not found:
            continue
        tracer = tracer or TracingRenderer(project.content)
        explained = explain_document(project, tenant, doc.id, tracer)  # only documents with findings pay for it
        files = {c.id: c.file for c in doc.clauses}
        for f in found:
            findings.append(_prose_finding(f, doc.id, explained.clause_blocks(f.passage.clause or ""), files))
    return findings


def _prose_finding(
    f: ProseFinding, document: str, explained: list[ExplainedBlock], files: dict[str, Path]
) -> CheckFinding:
    clause = f.passage.clause or ""
    block = explained[f.passage.index] if f.passage.index < len(explained) else None
    if block is not None and block.text != f.passage.block.text:
        block = None  # the trace and the page disagree: point at the clause, never at a wrong line
    facts = ", ".join(u.path for u in block.facts) if block is not None else ""
    fix = "the clause text" + (f", or the facts it prints: {facts}" if facts else "")
    message = f.message
    if f.rule in ("doubled", "capital", "run-in-label"):
        message += f' in {document}#{clause}: "{f.excerpt}"'
    else:
        message += f" in {document}#{clause}"
    return CheckFinding(
        f"prose.{f.rule}",
        "warning",
        "prose",
        message,
        fact=fix,
        file=block.source.file if block is not None else files.get(clause),
        line=block.source.line if block is not None else None,
        document=document,
        clause=clause,
    )


# --- the whole check --------------------------------------------------------------------------------------


def check(root: Path, slugs: list[str] | None = None, today: dt.date | None = None) -> CheckReport:
    """Check the project's tenants (or only *slugs*). Facts or templates that fail are reported as problems."""
    today = today or utc_today()  # like the build: UTC, so the machine's time zone cannot change the result
    report = CheckReport(root=root.resolve(), today=today)
    try:
        project = load_project(root, slugs or None)
    except InputError as exc:
        report.problems.extend(exc.problems)
        return report
    theme = project_theme(project)
    renderer = ClauseRenderer(project.content)
    # Drafts too: a released document's working text (what the next release will say) is on its draft page.
    options = BuildOptions(tenants=slugs or None, today=today, drafts=True)
    outputs: list[Output] = list(theme.assets())
    views = []
    for _slug, tenant in sorted(project.tenants.items()):
        try:
            docs = render_tenant_documents(project, renderer, tenant)
            pages, view = tenant_outputs(project, theme, renderer, tenant, options, docs=docs)
        except InputError as exc:
            report.problems.extend(exc.problems)
            continue
        outputs.extend(pages)
        views.append(view)
        report.tenants.append(check_tenant(tenant, docs, today))
        report.tenants[-1].findings.extend(check_prose(project, tenant, docs))
        try:
            report.tenants[-1].findings.extend(check_translations(project, tenant))
        except InputError as exc:
            report.problems.extend(exc.problems)
    published = set(translated_languages(lang for t in project.tenants.values() for lang in t.facts.languages))
    try:
        report.site.extend(check_unpublished_translations(project, published))
    except InputError as exc:  # a translation that cannot be read at all
        report.problems.extend(exc.problems)
    if report.problems:
        report.problems = merged(report.problems)  # a broken clause once, not once for each tenant using it
        return report
    report.site.extend(check_policygen_words(project, theme))
    outputs.extend(site_outputs(project, theme, views, options, [o for o in outputs if o.tenant]))
    by_slug = {t.slug: t for t in report.tenants}
    for owner, finding in check_links(outputs):
        if owner is not None and owner in by_slug:
            by_slug[owner].findings.append(finding)
        else:
            report.site.append(finding)
    return report


def check_tenant(tenant: TenantSource, docs: list[RenderedDocument], today: dt.date) -> TenantCheck:
    text = "\n".join(html_text(c.html) for d in docs for c in d.clauses)
    result = TenantCheck(tenant.slug, list(tenant.facts.jurisdictions))
    result.findings.extend(check_disclosures(tenant, docs, text, today))
    result.findings.extend(check_transfers(tenant, today))
    result.findings.extend(check_stale(tenant, today))
    result.findings.extend(check_notification(tenant, docs))
    result.readability = score_clauses(docs)
    result.findings.extend(readability_findings(tenant, result.readability))
    return result


# --- output --------------------------------------------------------------------------------------------------


def format_json(report: CheckReport) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def format_text(report: CheckReport, hardest: int | None = 3) -> str:
    """The report for people; *hardest* clauses by readability per tenant (None: every clause)."""
    root = report.root
    lines: list[str] = []
    for p in report.problems:
        lines.append(p.format(root))
    for t in report.tenants:
        declared = ", ".join(t.jurisdictions) or "no jurisdiction declared"
        lines.append(f"{t.slug} ({declared})")
        for f in sorted(t.findings, key=_finding_order):
            lines.extend(_format_finding(f, root))
        if t.readability:
            worst = ", ".join(f"{s.document}#{s.clause} {s.score.reading_ease}" for s in t.readability[:hardest])
            lines.append(f"  hardest to read (Flesch reading ease, 60+ is plain): {worst}")
        lines.append(f"  {t.count('error')} error(s), {t.count('warning')} warning(s)")
    for f in report.site:
        lines.extend(_format_finding(f, root))
    errors, warnings = report.count("error"), report.count("warning")
    lines.append(
        f"{errors} error(s), {warnings} warning(s) in {len(report.tenants)} tenant(s)"
        + ("; nothing to fix at error level" if not errors else "")
    )
    return "\n".join(lines) + "\n"


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
