"""Page composition: every page of a tenant (stable, archive, history, draft, feeds, app files) from its
facts and released versions. The build engine that runs this for every tenant is policygen/engine.py.

Output layout (paths relative to the output folder):
    index.html                        site index
    assets/...                        theme static files
    <tenant>/index.html               the tenant's documents
    <tenant>/assets/<logo>            the tenant's logo, if any
    <tenant>/<document>/index.html    the document's stable URL: the version in force on the build date
    <tenant>/<document>/<YYYY-MM-DD>/index.html, version.json   every released version (archive)
    <tenant>/<document>/history/index.html                      the document's version history
    <tenant>/<document>/draft/index.html                        unreleased edits, with --drafts only
    <tenant>/<document>/feed.xml, <tenant>/feed.xml, feed.xml   Atom feeds of versions
    <tenant>/<document>/<lang>/...    the document's pages, archives, history, redlines, notices and feed in
                                      each other language the tenant publishes (paths.DocumentPaths.folder)
    sitemap.xml                       every public page (with base_url only)
    manifest.json                     every file above, with its kind and dates
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from .clauses import SOURCE_LANGUAGE, language_of
from .dates import format_day, utc_today
from .errors import Collector, InputError
from .feeds import FeedEntry, FeedInfo, atom, entries_in, version_data, version_json
from .history import Committed, TenantRecord, compare_with_build, compare_with_commit
from .inputs import read_bytes
from .labels import policy_document
from .languages import Alternate, alternates, language_name, language_segment, note, source_text_lang, text_direction
from .links import rebase_links
from .output import Output
from .paths import DocumentPaths, TenantPaths, relative, root_from
from .project import Project, TenantSource, document_title
from .render import ClauseRenderer, RenderedClause, RenderedDocument, render_document
from .snippets import InLanguage, app_outputs
from .theme import SiteTheme
from .versions import (
    Snapshot,
    SnapshotClause,
    in_force,
    load_releases,
    reads_as,
    releases_folder_problems,
    successor,
    upcoming,
)
from .vocabulary import ForeignWord

# Comparing versions (notices, and through them diff, factdiff, worddiff, rules) and the other languages'
# texts (translated, fact_translations) serve only tenants with two versions of a document or translations:
# imported where they are used, so a build of the others does not load them (issue 14).
if TYPE_CHECKING:
    from .notices import VersionChange
    from .rules import RuleSet


@dataclass(frozen=True)
class Link:
    href: str
    text: str


BannerKind = Literal["upcoming", "superseded", "current", "draft", "translation"]
PageStatus = Literal["released", "unreleased", "draft"]  # unreleased: the document has no release yet
VersionStatus = Literal["in force", "superseded", "upcoming"]


@dataclass(frozen=True)
class Banner:
    kind: BannerKind
    text: str
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class DocumentLink:
    id: str
    title: str
    path: str
    effective: dt.date


@dataclass(frozen=True)
class TenantView:
    """What theme templates know of a tenant: names and branding, all text. On a page in another language
    a name with no current translation is a ForeignWord, which `|marked(lang)` marks in the page's body."""

    slug: str
    name: str
    legal_name: str
    logo: str | None  # URL of the logo from the site root, percent-encoded
    accent: str | None
    documents: tuple[DocumentLink, ...]
    index_in_language: str | None = None  # the tenant's index in the page's language, when not the authoritative

    @property
    def index(self) -> str:
        """The tenant's index page in the page's language, from the site root."""
        return self.index_in_language or TenantPaths(self.slug).index


@dataclass(frozen=True)
class PageView:
    title: str
    effective: dt.date
    last_updated: dt.date
    version: str | None
    clauses: tuple[RenderedClause | SnapshotClause, ...]
    banners: tuple[Banner, ...] = ()
    status: PageStatus = "released"
    history: str | None = None  # link to the version history, relative to the page
    feed: str | None = None  # link to the document's Atom feed, relative to the page


@dataclass(frozen=True)
class HistoryRow:
    version: int
    effective: dt.date
    released: dt.date
    status: VersionStatus
    href: str
    summary: str | None
    hash: str
    changes: str | None = None  # link to the redline against the version before (policygen/notices.py)
    published: bool = True  # the version was published in the page's language (else its page says so)


@dataclass(frozen=True)
class HistoryView:
    title: str
    rows: tuple[HistoryRow, ...]
    stable: str
    feed: str
    draft: str | None = None
    summaries_lang: str | None = None  # the language of the change summaries when it is not the page's


@dataclass
class BuildOptions:
    tenants: list[str] | None = None
    today: dt.date | None = None
    drafts: bool = False
    jobs: int | None = None  # worker processes; default: one per core


def logo_path(tenant: TenantSource) -> str | None:
    """Where the tenant's logo goes in the site, as a file path (in pages it is a URL, encoded: TenantView.logo)."""
    logo = tenant.facts.theme.logo
    return TenantPaths(tenant.slug).logo(Path(logo).name) if logo else None


def tenant_view(tenant: TenantSource, links: tuple[DocumentLink, ...]) -> TenantView:
    facts = tenant.facts
    path = logo_path(tenant)
    # Themes write the logo into src="": a name with spaces, '#', '?' or '%' must be a URL there.
    logo = quote(path, safe="/") if path else None
    return TenantView(
        tenant.slug,
        facts.name,
        facts.organisation.legal_name,
        logo,
        facts.theme.accent,
        links,
    )


def render_tenant_documents(
    project: Project, renderer: ClauseRenderer, tenant: TenantSource, language: str | None = None
) -> list[RenderedDocument]:
    """The tenant's documents from its working text; *language*: in that locale, from the translations."""
    problems = Collector()
    docs: list[RenderedDocument] = []
    for doc_id, clauses in tenant.documents.items():
        try:
            if language is None:
                title = document_title(project, tenant, doc_id)
                docs.append(render_document(renderer, tenant.slug, tenant.facts, doc_id, clauses, title))
            else:
                from .translated import translated_document  # a translation's text: see the imports above

                docs.append(translated_document(project, renderer, tenant, doc_id, language))
        except InputError as exc:
            problems.extend(exc.problems)
    problems.raise_if_any()
    return docs


@dataclass(frozen=True)
class Published:
    """What a tenant's releases must still hold (policygen/history.py): the versions the previous build
    published, and the snapshots committed in git's HEAD."""

    manifest: Path
    built: TenantRecord | None = None
    committed: Committed | None = None


def load_histories(tenant: TenantSource, published: Published | None = None) -> dict[str, list[Snapshot]]:
    """Each document's released versions, verified; every damaged, stray or rewritten snapshot reported together."""
    problems = Collector()
    histories: dict[str, list[Snapshot]] = {}
    for doc_id in tenant.documents:
        try:
            histories[doc_id] = load_releases(tenant.folder, doc_id)
        except InputError as exc:
            problems.extend(exc.problems)
    problems.extend(releases_folder_problems(tenant.folder, list(tenant.documents)))
    if published is not None and published.committed is not None:
        problems.extend(compare_with_commit(published.committed, tenant.slug, tenant.documents))
    if published is not None and published.built is not None:
        root = tenant.folder.parent.parent
        for doc_id, before in sorted(published.built.items()):
            if doc_id in histories:
                problems.extend(
                    compare_with_build(
                        tenant.folder / "releases" / doc_id,
                        [s.recorded for s in histories[doc_id]],
                        before,
                        published.manifest,
                        root,
                    )
                )
    problems.problems = list(dict.fromkeys(problems.problems))  # a linked releases/ is found by two checks
    problems.raise_if_any()
    return histories


def shown_version(releases: list[Snapshot], today: dt.date) -> Snapshot | None:
    """The version at the stable URL: the one in force, or the first one before any is in force."""
    return in_force(releases, today) or (releases[0] if releases else None)


def _rebased(clause: RenderedClause | SnapshotClause, stable: str, page: str) -> RenderedClause | SnapshotClause:
    """The clause, whose relative links were written for the *stable* page, with them leading there from *page*."""
    html = rebase_links(clause.html, stable, page)
    if html == clause.html:
        return clause
    return (
        replace(clause, html=html) if isinstance(clause, RenderedClause) else clause.model_copy(update={"html": html})
    )


@dataclass
class DocumentPages:
    """Renders one document's pages in one language: stable, archive, history, draft, version.json, redlines,
    notices and feed."""

    project: Project
    theme: SiteTheme
    renderer: ClauseRenderer
    tenant: TenantSource
    doc: RenderedDocument  # the working text, in this language
    releases: list[Snapshot]
    today: dt.date
    common: dict[str, Any]
    outputs: list[Output] = field(default_factory=list)
    language: str | None = None  # a locale other than the authoritative one: the page is a translation
    translations: dict[str, DocumentPaths] = field(default_factory=dict)  # every language's paths, when several
    changes: list[VersionChange] = field(default_factory=list)  # each pair of consecutive versions (notices.py)
    entries: list[FeedEntry] = field(default_factory=list)  # the versions its feed lists, once rendered

    @property
    def paths(self) -> DocumentPaths:
        segment = language_segment(self.language, self.tenant.facts.locale) if self.language else None
        return TenantPaths(self.tenant.slug).document(self.doc.id, segment)

    @property
    def source_paths(self) -> DocumentPaths:
        """The document's pages in the authoritative language."""
        return TenantPaths(self.tenant.slug).document(self.doc.id)

    def date(self, day: dt.date) -> str:
        return format_day(day, self.lang)

    def words(self, text: str, **values: str | int) -> str:
        """One of the sentences the pages add (banners, notes), in the page's language from the theme's
        words (i18n/<lang>.yaml), with each {name} replaced by its value (SiteTheme.translate)."""
        return self.theme.translate(text, self.lang, **values)

    def alternates(self, at: str, same: Callable[[DocumentPaths], str]) -> tuple[Alternate, ...]:
        """The page at *at* in every language the tenant publishes, this one included (*same*: where the same
        page is in a language's folder), for hreflang and the switcher."""
        return alternates({locale: same(paths) for locale, paths in self.translations.items()}, self.lang, at)

    @property
    def lang(self) -> str:
        return self.language or self.tenant.facts.locale

    def page(
        self,
        path: str,
        kind: str,
        view: PageView,
        version: str | None,
        effective: dt.date | None,
        released: Snapshot | None = None,
        same: Callable[[DocumentPaths], str] | None = None,
    ) -> None:
        root = root_from(path)
        common = self.as_released(released) if released is not None else self.common
        stable = self.paths.stable  # a property that makes the paths anew: once, not once per clause
        view = replace(view, clauses=tuple(_rebased(c, stable, path) for c in view.clauses))
        if self.translations and same is not None:
            common = {**common, "alternates": self.alternates(path, same)}
        self.outputs.append(
            Output(
                path,
                kind,
                self.theme.render("document.html", page=view, root=root, **common),
                tenant=self.tenant.slug,
                document=self.doc.id,
                version=version,
                effective=effective,
            )
        )

    def as_released(self, snap: Snapshot) -> dict[str, Any]:
        """The page's surroundings for a released version: the tenant's name and branding as released.

        A renamed or rebranded tenant must not rewrite what an old version showed. The logo is the
        tenant's current file, and only when the version named the same file. In another language the names
        are the translations released with the version; a name it did not translate is marked (in_language).
        """
        facts, now = snap.facts, self.common["tenant"]
        logo = now.logo if facts.theme.logo and facts.theme.logo == self.tenant.facts.theme.logo else None
        if self.language is not None:  # its names as that version printed them in this language
            from .fact_translations import in_language  # a translation's facts: see the imports above

            frozen = snap.translation(self.language)
            facts = in_language(facts, frozen.facts or {} if frozen is not None else {})
        view = replace(
            now, name=facts.name, legal_name=facts.organisation.legal_name, logo=logo, accent=facts.theme.accent
        )
        return {**self.common, "tenant": view, "accent": facts.theme.accent}

    def text_of(self, snap: Snapshot) -> tuple[str, tuple[SnapshotClause, ...]] | None:
        """A version's title and clauses in the page's language as released; None when the version was not
        published in it (released before the tenant published the language, or before translations were
        frozen): such a version is never shown in a translation made later."""
        if self.language is None:
            return snap.title, snap.clauses
        frozen = snap.translation(self.language)
        return (frozen.title, frozen.clauses) if frozen is not None else None

    def snapshot_view(self, snap: Snapshot, at: str, banners: list[Banner]) -> PageView:
        text = self.text_of(snap)
        if text is None:
            return self.unpublished_view(snap, at, banners)
        return self.version_view(snap, text, at, banners)

    def version_view(
        self,
        snap: Snapshot,
        text: tuple[str, tuple[RenderedClause | SnapshotClause, ...]],
        at: str,
        banners: list[Banner],
    ) -> PageView:
        """A released version's page with *text* (its title and clauses in the page's language)."""
        title, clauses = text
        if self.language is not None:
            banners = [*banners, Banner("translation", note(self.language, "prevails_note"))]
        return PageView(
            title,
            snap.effective,
            snap.released,
            snap.label,
            clauses,
            tuple(banners),
            history=relative(self.paths.history, at),
            feed=relative(self.paths.feed, at),
        )

    def unpublished_view(self, snap: Snapshot, at: str, banners: list[Banner]) -> PageView:
        """The page of a version not published in this language: it says so and links the authoritative text."""
        authoritative = language_name(self.tenant.facts.locale, self.lang)
        missing = Banner(
            "translation",
            self.words(
                "Version {version} was not published in {language}. Its text is in {authoritative}.",
                version=snap.version,
                language=language_name(self.lang, self.lang),
                authoritative=authoritative,
            ),
            (
                Link(
                    relative(self.source_paths.archive(snap.effective), at),
                    self.words(
                        "Read version {version} in {authoritative}", version=snap.version, authoritative=authoritative
                    ),
                ),
            ),
        )
        return PageView(
            self.doc.title,
            snap.effective,
            snap.released,
            snap.label,
            (),
            (*banners, missing),
            history=relative(self.paths.history, at),
            feed=relative(self.paths.feed, at),
        )

    def render(self, drafts: bool) -> list[Output]:
        paths, facts, doc = self.paths, self.tenant.facts, self.doc
        if not self.releases:
            # A document never released is published from the working tree, as projects that don't version expect.
            effective = facts.dates.effective
            banners = (Banner("translation", note(self.language, "prevails_note")),) if self.language else ()
            view = PageView(
                doc.title,
                effective,
                facts.dates.last_updated or effective,
                None,
                doc.clauses,
                banners,
                status="unreleased",
                feed=relative(paths.feed, paths.stable),
            )
            self.page(paths.stable, "page", view, None, effective, same=lambda p: p.stable)
        else:
            self.stable()
            for snap in self.releases:
                self.archive(snap)
            if self.changes:  # with two versions or more
                self.outputs.extend(self.redlines())
            # The history links the draft page only when there is one (edits since the last release); drafts
            # are reviewed in the authoritative language.
            self.history(self.draft() if drafts and self.language is None else False)
        self.feed()
        return self.outputs

    def redlines(self) -> list[Output]:
        """The redline of each pair of consecutive versions, and the notice of each material one (policygen/notices.py)."""
        from .notices import LanguagePage, document_changes  # comparing versions: see the imports above

        return document_changes(
            self.theme,
            self.changes,
            self.paths,
            organisation=self.common["tenant"].name,  # in another language: as its pages name it
            title=self.doc.title,
            locale=self.lang,
            accent=self.tenant.facts.theme.accent,
            base_url=self.project.config.base_url,
            common=self.common,
            language=LanguagePage(self.source_paths) if self.language else None,
            translations=self.translations,
        )

    def summary_of(self, snap: Snapshot) -> str | None:
        """A version's change summary as the page's language says it: as its snapshot froze it in the
        authoritative language; in another, said again from the facts when in English that says what was
        frozen, else the frozen English words, marked (a ForeignWord)."""
        frozen = snap.summary
        if frozen is None or self.language is None:
            return frozen
        from .rules import SOURCE_SUMMARY  # the summary in another language: see the imports above

        change = next((c for c in self.changes if c.new.version == snap.version), None)
        said = change.summary_in(self.lang, frozen) if change is not None else None
        if change is None and snap.version == 1 and frozen == SOURCE_SUMMARY.first:
            said = self.rules.sentences(language_of(self.lang)).summary.get("first")
        return said if said is not None else ForeignWord(frozen, SOURCE_LANGUAGE)

    @functools.cached_property
    def rules(self) -> RuleSet:
        """The tenant's rules, whose sentences say a first version's summary in the page's language."""
        from .rules import load_rules  # the summary in another language: see the imports above

        return load_rules(self.project.root, self.tenant.slug)

    def stable_text(self, shown: Snapshot) -> tuple[str, tuple[RenderedClause | SnapshotClause, ...]] | None:
        """The text at the stable page: in the authoritative language the version shown; in another, the
        translation as maintained now while the working text reads as the version shown (a translation
        fixed since the release shows at once), else the translation frozen with that version."""
        if self.language is not None:
            source = self.tenant.documents[self.doc.id]
            facts = self.tenant.facts
            if reads_as(self.renderer, self.tenant.slug, facts, self.doc.id, source, shown.title, shown):
                return self.doc.title, self.doc.clauses
        return self.text_of(shown)

    def stable(self) -> None:
        current, shown = in_force(self.releases, self.today), shown_version(self.releases, self.today)
        assert shown is not None
        text = self.stable_text(shown)
        if text is None:
            return  # a translation of edits not yet released, or of a version never published in this language
        at = self.paths.stable
        banners: list[Banner] = []
        if current is None:
            banners.append(
                Banner("upcoming", self.words("This policy takes effect on {date}.", date=self.date(shown.effective)))
            )
        for later in upcoming(self.releases, self.today):
            if later is not shown:
                # The redline of the new version against the one before it (policygen/notices.py).
                changes = self.paths.redline(later.effective) if later.version > 1 else self.paths.history
                banners.append(
                    Banner(
                        "upcoming",
                        self.words("This policy changes on {date}.", date=self.date(later.effective)),
                        (
                            Link(relative(self.paths.archive(later.effective), at), self.words("Read the new version")),
                            Link(relative(changes, at), self.words("See what changes")),
                        ),
                    )
                )
        view = self.version_view(shown, text, at, banners)
        self.page(at, "page", view, shown.label, shown.effective, shown, same=lambda p: p.stable)

    def archive(self, snap: Snapshot) -> None:
        at, current = self.paths.archive(snap.effective), in_force(self.releases, self.today)
        stable = Link(relative(self.paths.stable, at), self.words("Read the current version"))
        banners: list[Banner] = []
        following = successor(self.releases, snap)
        if snap.effective > self.today:
            banners.append(
                Banner(
                    "upcoming",
                    self.words("This version takes effect on {date}.", date=self.date(snap.effective)),
                    (stable,) if current else (),
                )
            )
        elif snap is current:
            banners.append(
                Banner(
                    "current",
                    self.words("Version {version} is the version in force.", version=snap.version),
                    (Link(relative(self.paths.stable, at), self.words("Go to the policy's permanent address")),),
                )
            )
        elif following is not None:
            banners.append(
                Banner(
                    "superseded",
                    self.words(
                        "This is an old version. It was in force from {start} until {end}, when version {next} "
                        "replaced it.",
                        start=self.date(snap.effective),
                        end=self.date(following.effective),
                        next=following.version,
                    ),
                    (
                        Link(
                            relative(self.paths.archive(following.effective), at),
                            self.words("Read version {version}", version=following.version),
                        ),
                        stable,
                    ),
                )
            )
        view = self.snapshot_view(snap, at, banners)
        self.page(at, "archive", view, snap.label, snap.effective, snap, same=lambda p: p.archive(snap.effective))
        if self.language is not None:
            return  # version.json is language-neutral: one per version, beside the authoritative archive page
        snapshot_file = None
        if snap.path is not None and snap.path.is_relative_to(self.project.root):
            snapshot_file = snap.path.relative_to(self.project.root).as_posix()
        data = version_data(
            snap,
            self.tenant.facts.organisation.legal_name,
            self.paths.version(snap.effective),
            self.project.config.base_url,
            following,
            snapshot_file,
        )
        self.outputs.append(version_json(data))

    def history(self, drafts: bool) -> None:
        at, current = self.paths.history, in_force(self.releases, self.today)
        rows = []
        for snap in reversed(self.releases):
            status: VersionStatus = (
                "upcoming" if snap.effective > self.today else "in force" if snap is current else "superseded"
            )
            redline = self.paths.redline(snap.effective) if snap.version > 1 else None
            rows.append(
                HistoryRow(
                    snap.version,
                    snap.effective,
                    snap.released,
                    status,
                    relative(self.paths.archive(snap.effective), at),
                    self.summary_of(snap),
                    snap.hash,
                    relative(redline, at) if redline else None,
                    self.text_of(snap) is not None,
                )
            )
        view = HistoryView(
            self.doc.title,
            tuple(rows),
            relative(self.paths.stable, at),
            relative(self.paths.feed, at),
            relative(self.paths.draft, at) if drafts else None,
            summaries_lang=source_text_lang(self.lang) if _all_foreign([r.summary for r in rows]) else None,
        )
        common = self.common
        if self.translations:
            common = {**common, "alternates": self.alternates(at, lambda p: p.history)}
        self.outputs.append(
            Output(
                at,
                "history",
                self.theme.render("history.html", history=view, root=root_from(at), **common),
                tenant=self.tenant.slug,
                document=self.doc.id,
            )
        )

    def draft(self) -> bool:
        """Unreleased edits for review, at draft/ (only when the text differs from the last release)."""
        last, doc, facts = self.releases[-1], self.doc, self.tenant.facts
        if reads_as(self.renderer, self.tenant.slug, facts, doc.id, self.tenant.documents[doc.id], doc.title, last):
            return False
        at = self.paths.draft
        banner = Banner(
            "draft",
            f"Draft for review: these edits are not released and not in force. "
            f"The latest release is version {last.version}.",
            (Link(relative(self.paths.stable, at), "Read the published version"),),
        )
        effective = facts.dates.effective
        view = PageView(
            doc.title,
            effective,
            facts.dates.last_updated or effective,
            "draft",
            doc.clauses,
            (banner,),
            status="draft",
            history=relative(self.paths.history, at),
        )
        self.page(at, "page", view, "draft", None)
        return True

    def feed(self) -> None:
        facts = self.tenant.facts
        info = FeedInfo(
            self.paths.feed,
            f"{facts.name}: {self.doc.title}",
            facts.organisation.legal_name,
            self.paths.history if self.releases else self.paths.stable,
            facts.dates.last_updated or facts.dates.effective,
            lang=self.lang if self.translations else None,
            alternates=tuple((locale, p.feed) for locale, p in self.translations.items() if locale != self.lang),
        )
        entries = entries_in(self.outputs) if self.language is None else self.feed_entries()
        self.entries = entries  # the tenant's feed in this language lists them too
        self.outputs.append(
            atom(info, entries, self.project.config.base_url, tenant=self.tenant.slug, document=self.doc.id)
        )

    def feed_entries(self) -> list[FeedEntry]:
        """The versions in this language's feed: each links its archive page in this language, titled in it."""
        organisation = self.tenant.facts.name
        entries = []
        for snap in self.releases:
            text = self.text_of(snap)
            entries.append(
                FeedEntry(
                    self.tenant.slug,
                    organisation,
                    self.doc.id,
                    text[0] if text else self.doc.title,
                    snap.version,
                    snap.effective,
                    snap.released,
                    self.paths.archive(snap.effective),
                    self.summary_of(snap),
                    snap.tier,
                    heading=self.words(
                        "{organisation}: {title}, version {version} (effective {date})",
                        organisation=organisation,
                        title=text[0] if text else self.doc.title,
                        version=snap.version,
                        date=self.date(snap.effective),
                    ),
                )
            )
        return entries


def _all_foreign(summaries: list[str | None]) -> bool:
    """Whether every summary a page shows is left in English (a ForeignWord): one note then says so."""
    return all(isinstance(s, ForeignWord) for s in summaries if s is not None)


def tenant_outputs(
    project: Project,
    theme: SiteTheme,
    renderer: ClauseRenderer,
    tenant: TenantSource,
    options: BuildOptions,
    histories: dict[str, list[Snapshot]] | None = None,
    docs: list[RenderedDocument] | None = None,
) -> tuple[list[Output], TenantView]:
    """The tenant's every file; *docs* are its documents' working text when the caller rendered them already."""
    facts = tenant.facts
    today = options.today or utc_today()
    docs = render_tenant_documents(project, renderer, tenant) if docs is None else docs
    histories = load_histories(tenant) if histories is None else histories
    links: list[DocumentLink] = []
    for d in docs:
        shown = shown_version(histories[d.id], today)
        links.append(
            DocumentLink(
                d.id,
                shown.title if shown else d.title,
                TenantPaths(tenant.slug).document(d.id).stable,
                shown.effective if shown else facts.dates.effective,
            )
        )
    view = tenant_view(tenant, tuple(links))
    outputs: list[Output] = []
    common = {"site": project.config, "tenant": view, "lang": facts.locale, "accent": facts.theme.accent}
    # What changed between consecutive versions, decided once for the pages of every language.
    changes = {d.id: version_changes(project, renderer, tenant, d.id, histories[d.id]) for d in docs}
    for doc in docs:
        outputs.extend(
            DocumentPages(
                project,
                theme,
                renderer,
                tenant,
                doc,
                histories[doc.id],
                today,
                common,
                translations=language_paths(tenant, doc.id),
                changes=changes[doc.id],
            ).render(options.drafts)
        )
    translated, in_languages, in_languages_views, feeds = translated_outputs(
        project, theme, renderer, tenant, histories, changes, today, common
    )
    outputs.extend(translated)
    # In-app snippets and store labels, per app, from the version the stable page shows.
    shown_versions = {d.id: shown_version(histories[d.id], today) for d in docs}
    outputs.extend(app_outputs(project, theme, tenant, docs, shown_versions, outputs, in_languages))
    feeds[facts.locale] = entries_in(outputs)
    outputs.extend(tenant_feeds(theme, tenant, feeds, project.config.base_url))
    outputs.extend(tenant_indexes(theme, tenant, common, in_languages_views))
    path = logo_path(tenant)
    if path is not None and facts.theme.logo:
        outputs.append(Output(path, "asset", read_bytes(tenant.folder / facts.theme.logo), tenant=tenant.slug))
    return outputs, view


def version_changes(
    project: Project, renderer: ClauseRenderer, tenant: TenantSource, doc_id: str, releases: list[Snapshot]
) -> list[VersionChange]:
    """Each pair of consecutive versions of a document with what changed (notices.version_changes)."""
    if len(releases) < 2:
        return []  # nothing to compare
    from .notices import version_changes as compared  # comparing versions: see the imports above

    return compared(project, renderer, tenant, doc_id, releases)


def tenant_feeds(
    theme: SiteTheme, tenant: TenantSource, feeds: dict[str, list[FeedEntry]], base_url: str | None
) -> list[Output]:
    """The tenant's feed of every version of its documents, and one in each other language it publishes
    (*feeds*: that language's entries) beside its index in that language, with xml:lang and hreflang both ways."""
    facts, paths = tenant.facts, TenantPaths(tenant.slug)
    several = len(facts.published_languages) > 1
    where = {locale: paths.feed_in(language_segment(locale, facts.locale)) for locale in facts.published_languages}
    outputs = []
    for locale, at in where.items():
        info = FeedInfo(
            at,
            theme.translate("{organisation}: privacy documents", locale, organisation=facts.name),
            facts.organisation.legal_name,
            paths.index_in(language_segment(locale, facts.locale)),
            facts.dates.last_updated or facts.dates.effective,
            lang=locale if several else None,
            alternates=tuple((other, path) for other, path in where.items() if other != locale),
        )
        outputs.append(atom(info, feeds.get(locale, []), base_url, tenant=tenant.slug))
    return outputs


def tenant_indexes(
    theme: SiteTheme, tenant: TenantSource, common: dict[str, Any], views: dict[str, TenantView]
) -> list[Output]:
    """The tenant's index page, and one in each other language it publishes (*views*: the tenant as that
    language's pages show it, with that language's document links), linked by hreflang and the switcher."""
    facts, paths = tenant.facts, TenantPaths(tenant.slug)
    where = {locale: paths.index_in(language_segment(locale, facts.locale)) for locale in facts.published_languages}
    outputs = []
    for locale, at in where.items():
        context = dict(common)
        if locale != facts.locale:
            context.update(tenant=views[locale], lang=locale, dir=text_direction(locale))
        if len(where) > 1:
            context["alternates"] = alternates(where, locale, at)
        page = theme.render("tenant.html", root=root_from(at), **context)
        outputs.append(Output(at, "index", page, tenant=tenant.slug))
    return outputs


def language_paths(tenant: TenantSource, doc_id: str) -> dict[str, DocumentPaths]:
    """Where a document is in each language a tenant publishes; empty for a tenant with one language."""
    facts = tenant.facts
    if len(facts.published_languages) < 2:
        return {}
    return {
        locale: TenantPaths(tenant.slug).document(doc_id, language_segment(locale, facts.locale))
        for locale in facts.published_languages
    }


def translated_outputs(
    project: Project,
    theme: SiteTheme,
    renderer: ClauseRenderer,
    tenant: TenantSource,
    histories: dict[str, list[Snapshot]],
    changes: dict[str, list[VersionChange]],
    today: dt.date,
    common: dict[str, Any],
) -> tuple[list[Output], dict[str, InLanguage], dict[str, TenantView], dict[str, list[FeedEntry]]]:
    """The pages of every language the tenant publishes besides its authoritative one (each document,
    archive version, history, redline, notice and feed), its policy document in each of them with the names
    its pages print (for the apps' snippets), the tenant as each language's pages show it (its names, the links of its index) and the
    entries of the tenant's feed in each."""
    outputs: list[Output] = []
    feeds: dict[str, list[FeedEntry]] = {}
    policies: dict[str, InLanguage] = {}
    views: dict[str, TenantView] = {}
    kinds = {doc_id: project.library.documents[doc_id].meta.kind for doc_id in tenant.documents}
    for locale in tenant.facts.published_languages[1:]:
        docs = render_tenant_documents(project, renderer, tenant, locale)  # first: it reports every problem
        index = TenantPaths(tenant.slug).index_in(language_segment(locale, tenant.facts.locale))
        from .fact_translations import translated_facts  # a translation's facts: see the imports above

        # Its names as the documents print them (a stale translation the project refuses stopped them above).
        named = translated_facts(tenant.folder, locale, tenant.facts, refuse_stale=False)
        view = replace(
            common["tenant"], name=named.name, legal_name=named.organisation.legal_name, index_in_language=index
        )
        in_language_common = {**common, "tenant": view, "lang": locale, "dir": text_direction(locale)}
        links: list[DocumentLink] = []
        feeds[locale] = []
        policy = policy_document(docs, kinds)
        if policy is not None:
            policies[locale] = InLanguage(policy, named)
        for doc in docs:
            pages = DocumentPages(
                project,
                theme,
                renderer,
                tenant,
                doc,
                histories[doc.id],
                today,
                in_language_common,
                language=locale,
                translations=language_paths(tenant, doc.id),
                changes=changes[doc.id],
            )
            made = pages.render(drafts=False)
            outputs.extend(made)
            feeds[locale].extend(pages.entries)
            links.append(language_link(doc, locale, pages.paths.stable, histories[doc.id], today, made, view))
        views[locale] = replace(view, documents=tuple(links))
    return outputs, policies, views, feeds


def language_link(
    doc: RenderedDocument,
    locale: str,
    stable: str,
    releases: list[Snapshot],
    today: dt.date,
    made: list[Output],
    view: TenantView,
) -> DocumentLink:
    """A document's entry on the tenant's index in a language: its page in that language with the title
    it shows, or the authoritative page when the language has none (a version never published in it)."""
    if not any(o.path == stable for o in made):
        return next(d for d in view.documents if d.id == doc.id)
    shown = shown_version(releases, today)
    if shown is None:
        return replace(next(d for d in view.documents if d.id == doc.id), title=doc.title, path=stable)
    frozen = shown.translation(locale)
    return DocumentLink(doc.id, frozen.title if frozen else doc.title, stable, shown.effective)
