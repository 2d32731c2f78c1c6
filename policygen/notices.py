"""What people are shown when a policy changes: redline pages and change notices.

For every pair of consecutive released versions the build publishes a redline
(the fact findings on top, then each clause with its inserted and deleted
words). For material and consent changes it also publishes a notice in three
forms: an in-app banner (one self-contained HTML file: inline CSS, no script,
no external request), and an email body in HTML and in plain text. A notice
says what changed in plain words, one line per finding, the likely effect, the
effective date, and links to the new version, the old version and the redline.

    <tenant>/<document>/<YYYY-MM-DD>/changes/index.html      redline (kind "redline")
    <tenant>/<document>/<YYYY-MM-DD>/notice/banner.html      in-app banner (kind "notice")
    <tenant>/<document>/<YYYY-MM-DD>/notice/email.html       email body, HTML (kind "notice")
    <tenant>/<document>/<YYYY-MM-DD>/notice/email.txt        email body, plain text (kind "notice")

The date is the newer version's effective date, the folder of its archive page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from .clauses import language_of
from .dates import format_day
from .diff import DiffReport, Workspace, history, overall
from .factdiff import FactFinding, TenantWords
from .htmltext import BREAK
from .languages import alternates, source_text_lang, text_direction
from .output import Output
from .paths import DocumentPaths, PairPaths, href, relative, root_from
from .render import ClauseRenderer
from .rules import RuleSet, load_rules, rank
from .text import one_line
from .theme import SiteTheme
from .vocabulary import SOURCE, ForeignWord
from .worddiff import ClauseChange, ClauseStatus, ClauseText, Piece, PieceOp, Review, diff_clauses

if TYPE_CHECKING:
    from .project import Project, TenantSource
    from .versions import Snapshot


@dataclass(frozen=True)
class Run:
    op: PieceOp
    text: str


@dataclass(frozen=True)
class RedlineClause:
    """One clause of the redline: its title and paragraphs as runs of kept, inserted and deleted words."""

    id: str
    name: str  # the clause's title in the newer version (or the removed clause's)
    status: ClauseStatus | Literal["unchanged"]
    review: Review | None  # None for an unchanged clause
    reason: str | None
    title: tuple[Run, ...]
    paragraphs: tuple[tuple[Run, ...], ...]
    inserted: int
    deleted: int


def _end_run(paragraph: list[Run], piece: Piece, words: list[str]) -> None:
    """Closes the run of *words* gathered so far, if any, into *paragraph*."""
    if words:
        paragraph.append(Run(piece.op, " ".join(words)))
        words.clear()


def _paragraphs(pieces: tuple[Piece, ...]) -> list[list[Run]]:
    paragraphs: list[list[Run]] = [[]]
    for piece in pieces:
        words: list[str] = []
        for token in piece.tokens:
            if token == BREAK:
                _end_run(paragraphs[-1], piece, words)
                if paragraphs[-1]:
                    paragraphs.append([])
            else:
                words.append(token)
        _end_run(paragraphs[-1], piece, words)
    return [p for p in paragraphs if p]


def redline_clauses(report: DiffReport) -> list[RedlineClause]:
    """Every clause of the newer version (and the removed ones), changed or not, in document order."""
    changed: dict[str, ClauseChange] = {c.id: c for c in report.clauses}
    order = [*report.new.clauses, *[cid for cid in report.old.clauses if cid not in report.new.clauses]]
    out: list[RedlineClause] = []
    for cid in order:
        status: ClauseStatus | Literal["unchanged"]
        review: Review | None
        change = changed.get(cid)
        if change is None:
            clause: ClauseText = report.new.clauses.get(cid) or report.old.clauses[cid]
            name = clause.title
            pieces: tuple[Piece, ...] = (Piece("equal", tuple(clause.tokens())),)
            status, review, reason, inserted, deleted = "unchanged", None, None, 0, 0
        else:
            name = change.title
            pieces = change.pieces
            status, review, reason = change.status, change.review, change.reason
            inserted, deleted = change.inserted, change.deleted
        paragraphs = _paragraphs(pieces)
        title = tuple(paragraphs[0]) if paragraphs else ()
        out.append(
            RedlineClause(
                cid, name, status, review, reason, title, tuple(tuple(p) for p in paragraphs[1:]), inserted, deleted
            )
        )
    return out


@dataclass(frozen=True)
class ChangeLinks:
    """Where the two versions and the redline are, as links from the file being written."""

    new: str
    old: str
    redline: str


@dataclass(frozen=True)
class NoticeView:
    """Everything a notice template prints: plain text only (templates escape it)."""

    organisation: str
    document: str
    tier: str
    effective: dt.date
    effective_text: str  # the effective date, written in the tenant's locale
    released_text: str
    old_version: str
    new_version: str
    lines: tuple[FactFinding, ...]  # one per finding, most serious first
    effects: tuple[str, ...]  # the likely effects, without repeats
    reviewed: tuple[str, ...]  # titles of clauses reworded with the same facts
    links: ChangeLinks
    accent: str | None
    lang: str

    @property
    def consent(self) -> bool:
        return self.tier == "consent"

    @property
    def dir(self) -> str:
        return text_direction(self.lang)

    @property
    def findings_lang(self) -> str | None:
        """The language of the sentences when none is in the page's: policygen's English, which a page in
        another language marks (lang) and says so. On such a page the findings were said again in its
        language (DiffReport.in_language): when some were, each one left in English is a ForeignWord,
        marked on its own."""
        said = [f.says for f in self.lines] + list(self.effects)
        if source_text_lang(self.lang) is None or not all(isinstance(s, ForeignWord) for s in said):
            return None
        return SOURCE

    @property
    def some_in_english(self) -> bool:
        """Whether some, not all, of the sentences are in English on a page in another language."""
        said = [f.says for f in self.lines] + list(self.effects)
        return self.findings_lang is None and any(isinstance(s, ForeignWord) for s in said)


@dataclass(frozen=True)
class LanguagePage:
    """A redline or notice in a language other than the tenant's authoritative one."""

    source: DocumentPaths  # the document in the authoritative language, whose redline always compares
    compared: bool = True  # False: a version of the pair was not published in this language


@dataclass(frozen=True)
class Uncompared:
    """What a redline in another language says when it cannot compare the text in that language."""

    source_redline: str  # link to the redline in the authoritative language


def notice_view(
    report: DiffReport, organisation: str, document: str, links: ChangeLinks, locale: str, accent: str | None
) -> NoticeView:
    shown = [f for f in report.findings if rank(f.tier) >= rank("minor")]
    shown.sort(key=lambda f: -rank(f.tier))  # stable: facts order within a tier
    effects: list[str] = []
    for f in shown:
        if rank(f.tier) >= rank("material") and f.effect and f.effect not in effects:
            effects.append(f.effect)
    reviewed = tuple(c.title for c in report.clauses if c.review in {"needs-review", "editorial"})
    released = report.new.released or report.new.effective
    return NoticeView(
        organisation,
        document,
        report.tier,
        report.new.effective,
        format_day(report.new.effective, locale),
        format_day(released, locale),
        report.old.label,
        report.new.label,
        tuple(shown),
        tuple(effects),
        reviewed,
        links,
        accent,
        locale,
    )


def change_links(paths: PairPaths, origin: str, base_url: str | None) -> ChangeLinks:
    """The links of a redline or notice at *origin*: absolute with a base_url (emails and apps need that)."""
    return ChangeLinks(
        href(paths.new_page, origin, base_url),
        href(paths.old_page, origin, base_url),
        href(paths.redline, origin, base_url),
    )


def change_outputs(
    theme: SiteTheme,
    report: DiffReport,
    paths: PairPaths,
    *,
    organisation: str,
    document_title: str,
    locale: str,
    accent: str | None,
    base_url: str | None,
    common: Mapping[str, Any],
    language: LanguagePage | None = None,
    translations: Mapping[str, DocumentPaths] | None = None,
) -> list[Output]:
    """The redline of one pair of versions, and its notice when the change is material or consent.

    *language*: the pages are in a language other than the authoritative one; *translations*: every
    language's document paths when the tenant publishes several (hreflang and the switcher)."""

    def output(path: str, kind: str, data: bytes) -> Output:
        return Output(
            path,
            kind,
            data,
            tenant=report.tenant,
            document=report.document,
            version=report.new.label,
            effective=report.new.effective,
        )

    at = paths.redline
    view = notice_view(report, organisation, document_title, change_links(paths, at, base_url), locale, accent)
    context = dict(common)
    if translations:
        same = {lang: p.redline(report.new.effective) for lang, p in translations.items()}
        context["alternates"] = alternates(same, locale, at)
    uncompared = None
    if language is not None and not language.compared:
        source = language.source.pair(report.new.effective, report.old.effective)
        uncompared = Uncompared(relative(source.redline, at))
    page = theme.render(
        "redline.html",
        redline=view,
        clauses=redline_clauses(report) if uncompared is None else [],
        uncompared=uncompared,
        root=root_from(at),
        **context,
    )
    outputs = [output(at, "redline", page)]
    if not report.needs_notice:
        return outputs
    for path, template in (
        (paths.banner, "notice-banner.html"),
        (paths.email_html, "email.html"),
        (paths.email_text, "email.txt"),
    ):
        note = notice_view(report, organisation, document_title, change_links(paths, path, base_url), locale, accent)
        if template.endswith(".txt"):
            note = plain_text(note)
        outputs.append(output(path, "notice", theme.render(template, notice=note, lang=locale)))
    return outputs


def _fact_key(path: str) -> str:
    """The top-level fact a finding's path is under: 'retention' for 'retention.periods[x].period'."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def document_report(space: Workspace, doc_id: str, report: DiffReport) -> DiffReport:
    """The report with only the fact changes that alter this document's text.

    A tenant's facts are shared by all its documents; a notice for one document must not
    announce a change that only another prints. Each top-level fact with findings is put
    back to its old value in the new version's facts: if today's clauses then read the same,
    none of its changes shows in this document. When a mixed render fails (facts that only
    make sense together) the findings are kept: a notice may say too much, never too little.
    """
    baseline = space.try_render(doc_id, report.new.facts)
    if baseline is None or not report.findings:
        return report
    silent: set[str] = set()
    for key in sorted({_fact_key(f.path) for f in report.findings}):
        if key not in type(report.new.facts).model_fields:
            continue
        mixed = report.new.facts.model_copy(update={key: getattr(report.old.facts, key)})
        if space.try_render(doc_id, mixed) == baseline:
            silent.add(key)
    kept = tuple(f for f in report.findings if _fact_key(f.path) not in silent)
    if len(kept) == len(report.findings):
        return report
    markup = dict(report.old.clauses) != dict(report.new.clauses)
    return replace(report, findings=kept, tier=overall(kept, report.clauses, markup))


def plain_text(view: NoticeView) -> NoticeView:
    """The notice for the plain-text email: each fact on its own line. (The template does not escape, so a
    newline in a fact would add lines of its own, such as a forged link.)"""
    return replace(
        view,
        organisation=one_line(view.organisation),
        document=one_line(view.document),
        lines=tuple(replace(f, says=_one_line(f.says)) for f in view.lines),
        effects=tuple(_one_line(e) for e in view.effects),
        reviewed=tuple(one_line(r) for r in view.reviewed),
    )


def _one_line(words: str) -> str:
    """one_line, keeping the mark of a sentence left in English."""
    return ForeignWord(one_line(words), words.lang) if isinstance(words, ForeignWord) else one_line(words)


@dataclass(frozen=True)
class VersionChange:
    """One pair of consecutive versions and what changed between them: decided once, from the facts and
    the source-language clauses, for the pages of every language."""

    old: Snapshot
    new: Snapshot
    report: DiffReport
    rules: RuleSet | None = None  # the rules that decided it, whose sentences say it in each language
    whole: DiffReport | None = None  # the report of every fact change, as a release records its summary

    def summary_in(self, lang: str, frozen: str) -> str | None:
        """The change summary in *lang* (a locale), said again from the facts, when in English it says what
        the snapshot froze (*frozen*); None when it does not, or has no words in *lang*."""
        if self.rules is None or self.whole is None or self.whole.summary != frozen:
            return None
        return self.whole.summary_in(self.rules.sentences(language_of(lang)), self.own_words(lang))

    def own_words(self, locale: str) -> TenantWords:
        """The tenant's own words in *locale* as each of the two versions published them."""
        return TenantWords(_published_words(self.old, locale), _published_words(self.new, locale))


def _published_words(snap: Snapshot, locale: str) -> dict[str, str] | None:
    """A version's free-text facts -> their translation in *locale* as released; None when the release
    recorded none (released before they were recorded, or not in that language)."""
    from .fact_translations import translated_words  # only a tenant that publishes another language needs it

    translation = snap.translation(locale)
    if translation is None or translation.facts is None:
        return None
    return translated_words(snap.facts, translation.facts)


def version_changes(
    project: Project, renderer: ClauseRenderer, tenant: TenantSource, doc_id: str, releases: list[Snapshot]
) -> list[VersionChange]:
    """Every pair of consecutive versions of one document with its report (empty with fewer than two)."""
    if len(releases) < 2:
        return []
    space = Workspace(project, tenant, renderer, load_rules(project.root, tenant.slug))
    changes: list[VersionChange] = []
    for old, report in zip(releases, history(space, doc_id, releases), strict=False):
        new = releases[old.version]  # versions count up from 1 without gaps
        changes.append(VersionChange(old, new, document_report(space, doc_id, report), space.rules, report))
    return changes


def in_language(change: VersionChange, locale: str) -> DiffReport | None:
    """The report with the clauses' words compared in *locale*: the two versions' frozen translations, word
    by word, with the findings, tier and each clause's review from the source-language comparison. None
    when either version was not published in *locale* (a redline never compares two languages)."""
    old, new = change.old.translation(locale), change.new.translation(locale)
    if old is None or new is None:
        return None
    report = change.report
    old_text = {c.id: ClauseText(c.title, c.html) for c in old.clauses}
    new_text = {c.id: ClauseText(c.title, c.html) for c in new.clauses}
    reviews = {c.id: c.review for c in report.clauses}
    clauses = diff_clauses(old_text, new_text, facts_changed=bool(report.findings), recorded=reviews)
    return replace(
        report,
        old=replace(report.old, clauses=old_text),
        new=replace(report.new, clauses=new_text),
        clauses=tuple(clauses),
    )


def document_changes(
    theme: SiteTheme,
    changes: list[VersionChange],
    paths: DocumentPaths,
    *,
    organisation: str,
    title: str,
    locale: str,
    accent: str | None,
    base_url: str | None,
    common: Mapping[str, Any],
    language: LanguagePage | None = None,
    translations: Mapping[str, DocumentPaths] | None = None,
) -> list[Output]:
    """Redlines and notices for every pair of consecutive versions of one document, in one language."""
    outputs: list[Output] = []
    for change in changes:
        report = change.report
        if language is not None:
            compared = in_language(change, locale)
            report = compared or replace(report, clauses=())
            language = replace(language, compared=compared is not None)
            if change.rules is not None:
                report = report.in_language(change.rules.sentences(language_of(locale)), change.own_words(locale))
        outputs.extend(
            change_outputs(
                theme,
                report,
                paths.pair(change.new.effective, change.old.effective),
                organisation=organisation,
                document_title=title,
                locale=locale,
                accent=accent,
                base_url=base_url,
                common=common,
                language=language,
                translations=translations,
            )
        )
    return outputs
