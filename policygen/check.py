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

Nothing is written in the project. Each tenant is read (validating facts and
templates), rendered in memory with the build's own functions and checked, one at
a time (by worker processes on many tenants); what is found goes to the report
(policygen/checkreport.py), and the links that leave the tenant's folder are
followed once every tenant is checked (policygen/links.py).
"""

from __future__ import annotations

import datetime as dt
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
from pydantic import BaseModel, ConfigDict, Field

from .checkreport import Checked, CheckFinding, CheckReport, ClauseScore, Level, TenantCheck
from .clauses import SOURCE_LANGUAGE, Clause, language_of, translation_file
from .dates import utc_today
from .engine import compile_ahead, site_outputs
from .errors import Collector, InputError, Problem, merged
from .explain import ExplainedBlock, TracingRenderer, explain_document
from .fact_translations import overlay_file
from .fact_translations import states as fact_states
from .facts import Tenant, Transfer
from .htmltext import html_text
from .law import InForce, Status, TransferMechanism, declared_regimes, replacements
from .links import Folder, Link, Names, Pages, SiteFiles, TenantFiles, dead_end, follow, is_relative
from .paths import SortedNames, TenantPaths, rebase
from .project import (
    Project,
    TenantSource,
    load_for_tenants,
    load_tenant_source,
    project_theme,
)
from .prose import ProseFinding, lint_document
from .readability import clause_score
from .render import ClauseRenderer, RenderedDocument, fact_context
from .rules import RuleSet, load_rules, packaged_sentences, sentences_file
from .site import BuildOptions, TenantView, render_tenant_documents, tenant_outputs
from .spool import Codec, Spool
from .tenantfolders import KNOWN_NAMED, tenant_slugs
from .tenantpool import each_tenant
from .theme import SiteTheme
from .translations import Change, TranslationState, found_languages, library_units, tenant_units, translated_languages
from .translations import states as translation_states
from .vocabulary import language_data, vocabulary
from .yamlfile import packaged

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


def check_policygen_words(project: Project, theme: SiteTheme, published: set[str]) -> list[CheckFinding]:
    """policygen's own words in each language the project's tenants publish (*published*: besides English, the
    source) that carry no legal review: one finding per language, naming each packaged set of words its pages use."""
    languages = sorted(published)
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


def score_clauses(docs: list[RenderedDocument]) -> list[ClauseScore]:
    # Prose only: a bullet list of nouns ("Name", "Email address") is not sentences and has no reading ease.
    scores = [ClauseScore(d.id, c.id, c.file, clause_score(c.html)) for d in docs for c in d.clauses]
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


def check(
    root: Path,
    slugs: list[str] | None = None,
    today: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CheckReport:
    """Check the project's tenants (or only *slugs*). Facts or templates that fail are reported as problems.

    A tenant at a time, each read, rendered and checked and its pages let go (in worker processes on a project of
    many tenants): only what is found is kept, and each tenant's file names for the links that leave its folder.
    *progress* is told (tenants done, tenants in all) as each tenant's check ends, as a build tells its own."""
    today = today or utc_today()  # like the build: UTC, so the machine's time zone cannot change the result
    report = CheckReport(root=root.resolve(), today=today, tenants=Checked(_spool_folder()))
    try:
        project, chosen = load_for_tenants(root, slugs or None)
    except InputError as exc:  # no tenant renders without the library: every tenant's facts' problems too
        report.problems = merged(exc.problems)
        return report
    checker = _TenantChecker(project, today, slugs or None)
    with Spool(_VIEWS, _view_slug, _spool_folder(), INDEX_BUDGET) as views:
        _check_tenants(report, checker, chosen, views, progress)
    return report


def _check_tenants(
    report: CheckReport,
    checker: _TenantChecker,
    slugs: list[str],
    views: Spool[TenantView],
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Check each tenant, then what is made of them all: the site index, the links that leave a tenant's folder,
    the translations and words of the languages they publish."""
    project = checker.project
    tenants = TenantFiles()
    leaving: list[Link] = []
    published: set[str] = set()
    for done, outcome in enumerate(each_tenant(checker.check, slugs, checker.compile_ahead), 1):
        if progress is not None:
            progress(done, len(slugs))
        report.problems.extend(outcome.problems)
        published.update(outcome.languages)
        if outcome.result is None or outcome.view is None:
            report.unchecked += 1
            continue
        report.tenants.add(outcome.result)
        views.add(outcome.view)
        tenants.add(outcome.result.slug, outcome.files)
        leaving.extend(outcome.leaving)
    try:
        report.site.extend(check_unpublished_translations(project, published))
    except InputError as exc:  # a translation that cannot be read at all
        report.problems.extend(exc.problems)
    report.problems = merged(report.problems)  # a broken clause once, not once for each tenant using it
    report.site.extend(check_policygen_words(project, checker.theme, published))
    made = site_outputs(project, checker.theme, views.ordered(), checker.options, [])
    known = SortedNames(tenant_slugs(project.root))

    def other(slug: str) -> bool:  # a tenant of the project this run did not check: not named, or failing
        return slug not in tenants and slug in known

    site = SiteFiles(Pages([*checker.theme.assets(), *made]), tenants, checker.pages, other)
    dead, _ = follow(site.site, site)  # the site index's links, to every tenant
    unfollowed: list[Link] = []
    for link in sorted(leaving, key=_target_path):  # a tenant's links together: it is made once for them
        if not site.followed(link.to):
            unfollowed.append(link)
        elif (problem := dead_end(link.page, link.to, site)) is not None:
            dead.append((link, problem))
    late: dict[str, list[tuple[Link, str]]] = {}
    for link, problem in sorted(dead, key=_link_order):
        if link.tenant is not None and link.tenant in tenants:
            late.setdefault(link.tenant, []).append((link, problem))
        else:
            report.site.append(_dead_link(link, problem))
    for slug, found in late.items():
        tenant, _ = checker.source(slug)  # read again: a dead link that leaves its tenant's folder is rare
        for finding in _once_per_place(found, tenant):
            report.tenants.add_late(slug, finding)
    if unfollowed:
        report.site.append(_unfollowed(unfollowed))


def _unfollowed(links: list[Link]) -> CheckFinding:
    """The links into tenants whose pages could not be made (their facts or templates fail): not followed."""
    targets = sorted({link.to.path.partition("/")[0] for link in links})
    return CheckFinding(
        "link.unfollowed",
        "warning",
        "link",
        f"{len(links)} link(s) into tenants whose facts or templates fail were not followed: "
        + ", ".join(targets[:KNOWN_NAMED])
        + (f" and {len(targets) - KNOWN_NAMED} more" if len(targets) > KNOWN_NAMED else ""),
        fact="fix the problems reported for those tenants, then check again",
    )


def _spool_folder() -> Path:
    """Where a check's spools write past their budget: unnamed files in the system's temporary folder (a check
    writes nothing in the project)."""
    return Path(tempfile.gettempdir())


def _view_slug(view: TenantView) -> str:
    return view.slug


def _view_size(view: TenantView) -> int:
    return 500 + 200 * len(view.documents)  # about, in memory


INDEX_BUDGET = 4 << 20  # bytes of the site index's entries (TenantView) held before their spool writes them out
_VIEWS = Codec(pickle.dumps, pickle.loads, _view_size)  # the spool's own unnamed file: only it reads it back


def _target_path(link: Link) -> str:
    return link.to.path


def _link_order(dead: tuple[Link, str]) -> tuple[str, str]:
    return dead[0].page, dead[0].href


@dataclass(frozen=True)
class _Written:
    """Where a tenant's link is written: its clause, the line of the clause's file that has it (None when it came
    from elsewhere: a partial, a translation), and the link as it is written there (for the document's stable page)."""

    clause: Clause
    line: int | None
    href: str


def _written_at(link: Link, tenant: TenantSource) -> _Written | None:
    """Where a link of the tenant's page is written: in the clause whose section of the page it is in, if any."""
    clause = tenant.documents.get(link.document or "", {}).get(link.section or "")
    if clause is None:
        return None
    stable = TenantPaths(tenant.slug).document(link.document or "").stable
    href = rebase(link.href, link.page, stable) if is_relative(link.href) else link.href
    line = _line_with(clause, href)
    if line is None and link.to.fragment:  # an app's section snippet sends an anchor it lacks to the policy's
        href = f"#{link.to.fragment}"
        line = _line_with(clause, href)
    return _Written(clause, line, href)


def _line_with(clause: Clause, text: str) -> int | None:
    return next((n for n, line in enumerate(clause.body.splitlines(), 1) if text in line), None)


def _dead_link(link: Link, problem: str, written: _Written | None = None, more: int = 0) -> CheckFinding:
    """A dead link; *more*: how many other pages show the same one, written in the same place."""
    also = f" (and on {more} more page(s) that show the clause)" if more else ""
    return CheckFinding(
        "link.dead",
        "error",
        "link",
        f"{link.page}: link '{link.href}' {problem}{also}",
        file=written.clause.file if written else None,
        line=written.line if written else None,
        document=link.document,
        clause=written.clause.id if written else None,
    )


def _once_per_place(dead: Iterable[tuple[Link, str]], tenant: TenantSource | None) -> list[CheckFinding]:
    """One finding for each place a dead link is written: a clause is on several pages (the document's in each
    language, the apps' snippets), each with the link. One page is named (one where the link is as written, the
    document's own if it is there), and how many more show it."""
    places: dict[object, list[tuple[Link, str, _Written | None]]] = {}
    for link, problem in dead:
        written = _written_at(link, tenant) if tenant is not None else None
        located = written is not None and written.line is not None
        # A link not located is a place of its own: its pages cannot be told to show one place.
        place = (written.clause.file, written.line, written.href) if written is not None and located else link
        places.setdefault(place, []).append((link, problem, written))
    return [_dead_link(*_as_written(same), more=len(same) - 1) for same in places.values()]


def _as_written(same: list[tuple[Link, str, _Written | None]]) -> tuple[Link, str, _Written | None]:
    """Of the pages that show one dead link, the document's own, or else one where the link is as written."""
    for link, problem, written in same:
        if written is not None and link.page == TenantPaths(link.tenant or "").document(link.document or "").stable:
            return link, problem, written
    return next((one for one in same if one[2] is not None and one[0].href == one[2].href), same[0])


@dataclass(frozen=True)
class _Outcome:
    """What checking one tenant found, sent back from a worker: its findings (None when its facts or templates
    fail: see problems), what the site index shows of it, its files' paths and its links that leave its folder, and
    the languages besides the source that it publishes."""

    result: TenantCheck | None
    problems: list[Problem]
    view: TenantView | None = None
    files: tuple[str, ...] = ()
    leaving: tuple[Link, ...] = ()
    languages: frozenset[str] = frozenset()


class _TenantChecker:
    """Checks one tenant at a time with the project's library, theme and renderer, read once (once per worker)."""

    def __init__(self, project: Project, today: dt.date, slugs: list[str] | None) -> None:
        self.project = project
        self.today = today
        self.theme = project_theme(project)
        self.renderer = ClauseRenderer(project.content)
        # Drafts too: a released document's working text (what the next release will say) is on its draft page.
        self.options = BuildOptions(tenants=slugs, today=today, drafts=True)
        # The site-wide files, by name (those of a site of no tenant): a tenant's link to one is settled with it.
        site = [*self.theme.assets(), *site_outputs(project, self.theme, [], self.options, [])]
        self.site_names = Names(frozenset(o.path for o in site))

    def __reduce__(self) -> tuple[type[_TenantChecker], tuple[Project, dt.date, list[str] | None]]:
        # Sent to workers that are not forked (a fork server): they make their own theme and renderer.
        return _TenantChecker, (self.project, self.today, self.options.tenants)

    def compile_ahead(self) -> None:
        """Compile the library and the theme here, before worker processes are forked from this one: each starts
        with them compiled (engine.compile_ahead)."""
        compile_ahead(self.renderer, self.project.library, self.theme)

    def source(self, slug: str) -> tuple[TenantSource | None, list[Problem]]:
        problems = Collector()
        return load_tenant_source(self.project, slug, problems), problems.problems

    def check(self, slug: str) -> _Outcome:
        tenant, problems = self.source(slug)
        if tenant is None:
            return _Outcome(None, problems)
        languages = frozenset(translated_languages(tenant.facts.languages))
        try:
            docs = render_tenant_documents(self.project, self.renderer, tenant)
            outputs, view = tenant_outputs(self.project, self.theme, self.renderer, tenant, self.options, docs=docs)
        except InputError as exc:
            return _Outcome(None, exc.problems, languages=languages)
        result = check_tenant(tenant, docs, self.today)
        result.findings.extend(check_prose(self.project, tenant, docs))
        try:
            result.findings.extend(check_translations(self.project, tenant))
        except InputError as exc:
            problems = exc.problems
        folder = Folder(TenantPaths(slug).folder, Pages(outputs), self.site_names)
        dead, leaving = follow(folder.pages, folder, folder.later)
        result.findings.extend(_once_per_place(dead, tenant))
        return _Outcome(result, problems, view, tuple(o.path for o in outputs), tuple(leaving), languages)

    def pages(self, slug: str) -> Pages | None:
        """A tenant's pages made (again), for the files and ids a link from elsewhere leads to; None when its facts or
        templates fail."""
        tenant, _ = self.source(slug)
        if tenant is None:
            return None
        try:
            return Pages(tenant_outputs(self.project, self.theme, self.renderer, tenant, self.options)[0])
        except InputError:
            return None


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
