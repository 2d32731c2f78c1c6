"""The build: read the whole project, render every page in memory, then write it all at once.

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
    sitemap.xml                       every public page (with base_url only)
    manifest.json                     every file above, with its kind and dates
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
import stat
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from .dates import format_day
from .deps import project_digest, tenant_key
from .errors import Collector, InputError, Problem
from .fact_translations import translated_facts
from .feeds import FeedInfo, VersionPaths, atom, entries_in, href, sitemap, version_data, version_json
from .history import (
    Committed,
    TenantRecord,
    committed_releases,
    compare_with_build,
    compare_with_commit,
    read_tenant_record,
    record_json,
)
from .htmltext import DocumentLike
from .inputs import read_bytes
from .labels import policy_document
from .languages import language_name, language_segment, note, text_direction
from .notices import document_changes, redline_path
from .output import Discard, Output, check_out_dir, manifest, write_site
from .project import (
    Project,
    TenantSource,
    document_title,
    load_base,
    load_project,
    load_tenant_source,
    project_theme,
    select_tenants,
    tenant_digest,
    tenant_folder,
    tenant_slugs,
)
from .render import ClauseRenderer, RenderedClause, RenderedDocument, render_document
from .snippets import app_outputs
from .theme import Theme
from .translation_files import document_title as translation_title
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


def utc_today() -> dt.date:
    """The build date when --today is not given: today in UTC, so the machine's time zone cannot change a build."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class Banner:
    kind: str  # upcoming, superseded, current, draft
    text: str
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class DocumentLink:
    id: str
    title: str
    path: str
    effective: dt.date


@dataclass(frozen=True)
class Alternate:
    """A page in one of the languages a document is published in."""

    lang: str  # BCP 47, for hreflang and lang
    href: str  # relative to the page that links it
    name: str  # the language's name in itself: हिन्दी, English
    current: bool  # the page that links it is this one


@dataclass(frozen=True)
class TenantView:
    """What theme templates know of a tenant: names and branding, all plain text."""

    slug: str
    name: str
    legal_name: str
    logo: str | None  # URL of the logo from the site root, percent-encoded
    accent: str | None
    documents: tuple[DocumentLink, ...]


@dataclass(frozen=True)
class PageView:
    title: str
    effective: dt.date
    last_updated: dt.date
    version: str | None
    clauses: tuple[RenderedClause | SnapshotClause, ...]
    banners: tuple[Banner, ...] = ()
    status: str = "released"  # released, unreleased (the document has no release yet) or draft
    history: str | None = None  # link to the version history, relative to the page
    feed: str | None = None  # link to the document's Atom feed, relative to the page


@dataclass(frozen=True)
class HistoryRow:
    version: int
    effective: dt.date
    released: dt.date
    status: str  # in force, superseded, upcoming
    href: str
    summary: str | None
    hash: str
    changes: str | None = None  # link to the redline against the version before (policygen/notices.py)


@dataclass(frozen=True)
class HistoryView:
    title: str
    rows: tuple[HistoryRow, ...]
    stable: str
    feed: str
    draft: str | None = None


@dataclass
class BuildOptions:
    tenants: list[str] | None = None
    today: dt.date | None = None
    drafts: bool = False
    jobs: int | None = None  # worker processes; default: one per core


@dataclass
class BuildReport:
    out: Path
    outputs: list[Output]
    rendered: int = 0  # document pages rendered in this build (not reused)
    tenants: list[str] = field(default_factory=list)
    rendered_tenants: list[str] = field(default_factory=list)
    dropped: list[str] = field(
        default_factory=list
    )  # with --tenant: tenants of the previous output whose folder is gone
    seconds: float = 0.0  # wall time of the build

    @property
    def reused_tenants(self) -> list[str]:
        rendered = set(self.rendered_tenants)
        return [slug for slug in self.tenants if slug not in rendered]

    def tally(self) -> str:
        """Counts, never names: one line whether the site has three tenants or a hundred thousand."""
        return f"{len(self.rendered_tenants):,} rendered, {len(self.reused_tenants):,} reused"

    def summary(self) -> str:
        return (
            f"Built {counted(len(self.tenants), 'tenant')} in {self.seconds:.2f} s ({self.tally()}): "
            f"{files_written(self.outputs)}, in {self.out}"
        )

    def names(self) -> list[str]:
        """The tenants by name, for --verbose."""
        return [
            f"rendered: {', '.join(self.rendered_tenants) or 'none'}",
            f"reused: {', '.join(self.reused_tenants) or 'none'}",
        ]


def counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def files_written(outputs: list[Output]) -> str:
    return f"{counted(len(outputs), 'file')} ({counted(sum(1 for o in outputs if o.path.endswith('.html')), 'page')})"


def logo_path(tenant: TenantSource) -> str | None:
    """Where the tenant's logo goes in the site, as a file path (in pages it is a URL, encoded: TenantView.logo)."""
    return f"{tenant.slug}/assets/{Path(tenant.facts.theme.logo).name}" if tenant.facts.theme.logo else None


def tenant_view(tenant: TenantSource, links: tuple[DocumentLink, ...]) -> TenantView:
    facts = tenant.facts
    path = logo_path(tenant)
    # Themes write the logo into src="": a name with spaces, '#', '?' or '%' must be a URL there.
    logo = quote(path, safe="/") if path else None
    return TenantView(tenant.slug, facts.name, facts.organisation.legal_name, logo, facts.theme.accent, links)


def render_tenant_documents(
    project: Project, renderer: ClauseRenderer, tenant: TenantSource, language: str | None = None
) -> list[RenderedDocument]:
    """The tenant's documents from its working text; *language*: in that locale, from the translations."""
    problems = Collector()
    docs: list[RenderedDocument] = []
    for doc_id, clauses in tenant.documents.items():
        try:
            title = document_title(project, tenant, doc_id)
            facts = tenant.facts
            if language is not None:
                title = translated_title(project, tenant, doc_id, language, renderer.refuse_stale) or title
                facts = translated_facts(tenant.folder, language, facts, renderer.refuse_stale)
            docs.append(render_document(renderer, tenant.slug, facts, doc_id, clauses, title, language))
        except InputError as exc:
            problems.extend(exc.problems)
    problems.raise_if_any()
    return docs


def translated_title(
    project: Project, tenant: TenantSource, doc_id: str, language: str, refuse_stale: bool
) -> str | None:
    """A document's title in *language* from the library's document.<lang>.yaml; the tenant's own title
    for the document (its text, printed as it is) comes first."""
    if any(d.title for d in tenant.facts.documents if d.id == doc_id):
        return None
    return translation_title(project.library.documents[doc_id].folder / "document.yaml", language, refuse_stale)


@dataclass(frozen=True)
class DocumentPaths:
    """Where a document's pages go, from the site root."""

    slug: str
    doc: str
    language: str | None = None  # the folder of a language other than the authoritative one (languages.py)

    @property
    def folder(self) -> str:
        return f"{self.slug}/{self.doc}" + (f"/{self.language}" if self.language else "")

    @property
    def stable(self) -> str:
        return f"{self.folder}/index.html"

    @property
    def history(self) -> str:
        return f"{self.folder}/history/index.html"

    @property
    def draft(self) -> str:
        return f"{self.folder}/draft/index.html"

    @property
    def feed(self) -> str:
        return f"{self.folder}/feed.xml"

    def archive(self, snap: Snapshot) -> str:
        return f"{self.folder}/{snap.effective.isoformat()}/index.html"

    def json(self, snap: Snapshot) -> str:
        return f"{self.folder}/{snap.effective.isoformat()}/version.json"

    def version(self, snap: Snapshot) -> VersionPaths:
        return VersionPaths(self.archive(snap), self.stable, self.history, self.feed, self.json(snap))


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


def history_record(histories: dict[str, list[Snapshot]]) -> TenantRecord:
    return {doc_id: tuple(s.recorded for s in releases) for doc_id, releases in histories.items() if releases}


def shown_version(releases: list[Snapshot], today: dt.date) -> Snapshot | None:
    """The version at the stable URL: the one in force, or the first one before any is in force."""
    return in_force(releases, today) or (releases[0] if releases else None)


@dataclass
class DocumentPages:
    """Renders one document's pages: stable, archive, history, draft, version.json and feed."""

    project: Project
    theme: Theme
    renderer: ClauseRenderer
    tenant: TenantSource
    doc: RenderedDocument
    releases: list[Snapshot]
    today: dt.date
    common: dict[str, Any]
    outputs: list[Output] = field(default_factory=list)
    language: str | None = None  # a locale other than the authoritative one: the page is a translation
    translations: dict[str, DocumentPaths] = field(default_factory=dict)  # every language's paths, when several

    @property
    def paths(self) -> DocumentPaths:
        if self.language is None:
            return DocumentPaths(self.tenant.slug, self.doc.id)
        return DocumentPaths(self.tenant.slug, self.doc.id, language_segment(self.language, self.tenant.facts.locale))

    def date(self, day: dt.date) -> str:
        return format_day(day, self.language or self.tenant.facts.locale)

    def alternates(self, at: str) -> tuple[Alternate, ...]:
        """The page in every language the tenant publishes (this one included), for hreflang and the switcher."""
        return tuple(
            Alternate(locale, href(paths.stable, at, None), language_name(locale, locale), locale == self.lang)
            for locale, paths in self.translations.items()
        )

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
    ) -> None:
        root = "../" * path.count("/")
        common = self.as_released(released) if released is not None else self.common
        if self.translations and path == self.paths.stable:
            common = {**common, "alternates": self.alternates(path)}
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
        tenant's current file, and only when the version named the same file.
        """
        facts, now = snap.facts, self.common["tenant"]
        logo = now.logo if facts.theme.logo and facts.theme.logo == self.tenant.facts.theme.logo else None
        view = replace(
            now, name=facts.name, legal_name=facts.organisation.legal_name, logo=logo, accent=facts.theme.accent
        )
        return {**self.common, "tenant": view, "accent": facts.theme.accent}

    def snapshot_view(self, snap: Snapshot, at: str, banners: list[Banner]) -> PageView:
        return PageView(
            snap.title,
            snap.effective,
            snap.released,
            snap.label,
            snap.clauses,
            tuple(banners),
            history=href(self.paths.history, at, None),
            feed=href(self.paths.feed, at, None),
        )

    def render(self, drafts: bool) -> list[Output]:
        paths, facts, doc = self.paths, self.tenant.facts, self.doc
        if not self.releases:
            # A document never released is published from the working tree, as projects that don't version expect.
            effective = facts.dates.effective
            view = PageView(
                doc.title,
                effective,
                facts.dates.last_updated or effective,
                None,
                doc.clauses,
                status="unreleased",
                feed=href(paths.feed, paths.stable, None),
            )
            self.page(paths.stable, "page", view, None, effective)
        else:
            self.stable()
            for snap in self.releases:
                self.archive(snap)
            # redlines for each pair of consecutive versions, and notices for material ones (policygen/notices.py)
            self.outputs.extend(
                document_changes(
                    self.project,
                    self.theme,
                    self.renderer,
                    self.tenant,
                    self.doc.id,
                    self.doc.title,
                    self.releases,
                    self.paths.archive,
                    self.common,
                )
            )
            # The history links the draft page only when there is one (edits since the last release).
            self.history(self.draft() if drafts else False)
        self.feed()
        return self.outputs

    def translated(self) -> list[Output]:
        """The document's stable page in a language other than the authoritative one, noting that the
        authoritative text prevails. A released document gets it only while its working text reads as the
        version in force; archives, history, redlines and feeds stay in the authoritative language."""
        assert self.language is not None
        facts, doc = self.tenant.facts, self.doc
        prevails = Banner("translation", note(self.language, "prevails_note"))
        shown = shown_version(self.releases, self.today)
        if shown is None:
            effective = facts.dates.effective
            last_updated, label, status = facts.dates.last_updated or effective, None, "unreleased"
        else:
            source = self.tenant.documents[doc.id]
            if not reads_as(self.renderer, self.tenant.slug, facts, doc.id, source, shown.title, shown):
                return self.outputs  # the translation would be of edits not yet released
            effective, last_updated, label, status = shown.effective, shown.released, shown.label, "released"
        view = PageView(doc.title, effective, last_updated, label, doc.clauses, (prevails,), status=status)
        self.page(self.paths.stable, "page", view, label, effective)
        return self.outputs

    def stable(self) -> None:
        current, shown = in_force(self.releases, self.today), shown_version(self.releases, self.today)
        assert shown is not None
        at = self.paths.stable
        banners: list[Banner] = []
        if current is None:
            banners.append(Banner("upcoming", f"This policy takes effect on {self.date(shown.effective)}."))
        for later in upcoming(self.releases, self.today):
            if later is not shown:
                # The redline of the new version against the one before it (policygen/notices.py).
                changes = redline_path(self.paths.archive(later)) if later.version > 1 else self.paths.history
                banners.append(
                    Banner(
                        "upcoming",
                        f"This policy changes on {self.date(later.effective)}.",
                        (
                            Link(href(self.paths.archive(later), at, None), "Read the new version"),
                            Link(href(changes, at, None), "See what changes"),
                        ),
                    )
                )
        self.page(at, "page", self.snapshot_view(shown, at, banners), shown.label, shown.effective, shown)

    def archive(self, snap: Snapshot) -> None:
        at, current = self.paths.archive(snap), in_force(self.releases, self.today)
        stable = Link(href(self.paths.stable, at, None), "Read the current version")
        banners: list[Banner] = []
        following = successor(self.releases, snap)
        if snap.effective > self.today:
            banners.append(
                Banner(
                    "upcoming",
                    f"This version takes effect on {self.date(snap.effective)}.",
                    (stable,) if current else (),
                )
            )
        elif snap is current:
            banners.append(
                Banner(
                    "current",
                    f"Version {snap.version} is the version in force.",
                    (Link(href(self.paths.stable, at, None), "Go to the policy's permanent address"),),
                )
            )
        elif following is not None:
            banners.append(
                Banner(
                    "superseded",
                    f"This is an old version. It was in force from {self.date(snap.effective)} until "
                    f"{self.date(following.effective)}, when version {following.version} replaced it.",
                    (Link(href(self.paths.archive(following), at, None), f"Read version {following.version}"), stable),
                )
            )
        self.page(at, "archive", self.snapshot_view(snap, at, banners), snap.label, snap.effective, snap)
        snapshot_file = None
        if snap.path is not None and snap.path.is_relative_to(self.project.root):
            snapshot_file = snap.path.relative_to(self.project.root).as_posix()
        data = version_data(
            snap,
            self.tenant.facts.organisation.legal_name,
            self.paths.version(snap),
            self.project.config.base_url,
            following,
            snapshot_file,
        )
        self.outputs.append(version_json(data))

    def history(self, drafts: bool) -> None:
        at, current = self.paths.history, in_force(self.releases, self.today)
        rows = []
        for snap in reversed(self.releases):
            status = "upcoming" if snap.effective > self.today else "in force" if snap is current else "superseded"
            redline = redline_path(self.paths.archive(snap)) if snap.version > 1 else None
            rows.append(
                HistoryRow(
                    snap.version,
                    snap.effective,
                    snap.released,
                    status,
                    href(self.paths.archive(snap), at, None),
                    snap.summary,
                    snap.hash,
                    href(redline, at, None) if redline else None,
                )
            )
        view = HistoryView(
            self.doc.title,
            tuple(rows),
            href(self.paths.stable, at, None),
            href(self.paths.feed, at, None),
            href(self.paths.draft, at, None) if drafts else None,
        )
        root = "../" * at.count("/")
        self.outputs.append(
            Output(
                at,
                "history",
                self.theme.render("history.html", history=view, root=root, **self.common),
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
            (Link(href(self.paths.stable, at, None), "Read the published version"),),
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
            history=href(self.paths.history, at, None),
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
        )
        self.outputs.append(
            atom(
                info,
                entries_in(self.outputs),
                self.project.config.base_url,
                tenant=self.tenant.slug,
                document=self.doc.id,
            )
        )


def tenant_outputs(
    project: Project,
    theme: Theme,
    renderer: ClauseRenderer,
    tenant: TenantSource,
    options: BuildOptions,
    histories: dict[str, list[Snapshot]] | None = None,
) -> tuple[list[Output], TenantView]:
    facts = tenant.facts
    today = options.today or utc_today()
    docs = render_tenant_documents(project, renderer, tenant)
    histories = load_histories(tenant) if histories is None else histories
    links: list[DocumentLink] = []
    for d in docs:
        shown = shown_version(histories[d.id], today)
        links.append(
            DocumentLink(
                d.id,
                shown.title if shown else d.title,
                DocumentPaths(tenant.slug, d.id).stable,
                shown.effective if shown else facts.dates.effective,
            )
        )
    view = tenant_view(tenant, tuple(links))
    outputs: list[Output] = []
    common = {"site": project.config, "tenant": view, "lang": facts.locale, "accent": facts.theme.accent}
    for doc in docs:
        translations = language_paths(tenant, doc.id)
        outputs.extend(
            DocumentPages(
                project, theme, renderer, tenant, doc, histories[doc.id], today, common, translations=translations
            ).render(options.drafts)
        )
    translated, in_languages = translated_outputs(project, theme, renderer, tenant, histories, today, common)
    outputs.extend(translated)
    # In-app snippets and store labels, per app, from the version the stable page shows.
    shown_versions = {d.id: shown_version(histories[d.id], today) for d in docs}
    outputs.extend(app_outputs(project, theme, tenant, docs, shown_versions, outputs, in_languages))
    info = FeedInfo(
        f"{tenant.slug}/feed.xml",
        f"{facts.name}: privacy documents",
        facts.organisation.legal_name,
        f"{tenant.slug}/index.html",
        facts.dates.last_updated or facts.dates.effective,
    )
    outputs.append(atom(info, entries_in(outputs), project.config.base_url, tenant=tenant.slug))
    outputs.append(
        Output(
            f"{tenant.slug}/index.html", "index", theme.render("tenant.html", root="../", **common), tenant=tenant.slug
        )
    )
    path = logo_path(tenant)
    if path is not None and facts.theme.logo:
        outputs.append(Output(path, "asset", read_bytes(tenant.folder / facts.theme.logo), tenant=tenant.slug))
    return outputs, view


def language_paths(tenant: TenantSource, doc_id: str) -> dict[str, DocumentPaths]:
    """Where a document is in each language a tenant publishes; empty for a tenant with one language."""
    facts = tenant.facts
    if len(facts.published_languages) < 2:
        return {}
    return {
        locale: DocumentPaths(tenant.slug, doc_id, language_segment(locale, facts.locale))
        for locale in facts.published_languages
    }


def translated_outputs(
    project: Project,
    theme: Theme,
    renderer: ClauseRenderer,
    tenant: TenantSource,
    histories: dict[str, list[Snapshot]],
    today: dt.date,
    common: dict[str, Any],
) -> tuple[list[Output], dict[str, DocumentLike]]:
    """The pages of every language the tenant publishes besides its authoritative one, and its policy
    document in each of them (for the apps' snippets)."""
    outputs: list[Output] = []
    policies: dict[str, DocumentLike] = {}
    kinds = {doc_id: project.library.documents[doc_id].meta.kind for doc_id in tenant.documents}
    for locale in tenant.facts.published_languages[1:]:
        in_language = {**common, "lang": locale, "dir": text_direction(locale)}
        docs = render_tenant_documents(project, renderer, tenant, locale)
        policy = policy_document(tenant.facts, docs, kinds)
        if policy is not None:
            policies[locale] = policy
        for doc in docs:
            pages = DocumentPages(
                project,
                theme,
                renderer,
                tenant,
                doc,
                histories[doc.id],
                today,
                in_language,
                language=locale,
                translations=language_paths(tenant, doc.id),
            )
            outputs.extend(pages.translated())
    return outputs, policies


def tenant_entry(view: TenantView, key: str, releases: TenantRecord) -> dict[str, object]:
    """A tenant's line in manifest.json: what the site index needs, the input key for reuse, and every
    version published, so that the next build can refuse one that vanished or changed."""
    return {
        "name": view.name,
        "legal_name": view.legal_name,
        "logo": view.logo,
        "accent": view.accent,
        "documents": [
            {"id": d.id, "title": d.title, "path": d.path, "effective": d.effective.isoformat()} for d in view.documents
        ],
        "inputs": key,
        "releases": record_json(releases),
    }


def view_from_entry(slug: str, entry: dict[str, Any]) -> TenantView:
    docs = tuple(
        DocumentLink(d["id"], d["title"], d["path"], dt.date.fromisoformat(d["effective"])) for d in entry["documents"]
    )
    return TenantView(slug, entry["name"], entry["legal_name"], entry["logo"], entry["accent"], docs)


def shared_key(project: Project, theme_digest: str, options: BuildOptions) -> str:
    """The part of every tenant's input key that all tenants share, for a build with these options."""
    return project_digest(project, theme_digest, f"{options.today}|{options.drafts}")


@dataclass
class TenantResult:
    slug: str
    key: str
    outputs: list[Output]
    view: TenantView
    rendered: bool  # False when reused from the previous build
    source: TenantSource | None = field(default=None, compare=False, repr=False)
    releases: TenantRecord = field(default_factory=dict)  # the versions published


def _relative_path(path: str) -> str:
    parts = path.split("/")
    if "\0" in path or any(part in {"", ".", ".."} for part in parts):
        raise ValueError("not a relative path inside the output folder")
    return path


class _FileEntry(BaseModel):
    """A file of the previous build, as far as reusing it needs; anything else in the manifest is ignored."""

    model_config = ConfigDict(extra="ignore")

    path: Annotated[str, AfterValidator(_relative_path)]
    kind: str
    tenant: str | None = None
    document: str | None = None
    version: str | None = None
    effective: dt.date | None = None
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    app: str | None = None


class _DocumentEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    title: str
    path: str
    effective: dt.date


class _TenantEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    legal_name: str
    logo: str | None
    accent: str | None
    documents: list[_DocumentEntry]
    inputs: str


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    files: list[_FileEntry]
    tenants: dict[str, _TenantEntry] = {}


class Previous:
    """The previous build, read back from its manifest: unchanged tenants are reused from it, and the
    versions it published must all still be there (policygen/history.py).

    The manifest is a file in the output folder, so it is not trusted: its paths are read only when
    they lead to a regular file inside the output folder; one that does not fit the expected shape
    reuses nothing. A manifest whose record of published versions cannot be read is `damaged`: the
    build refuses rather than skip the comparison that would catch a rewritten history.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.file = out / "manifest.json"
        self.tenants: dict[str, dict[str, Any]] = {}
        self.files: dict[str, list[dict[str, Any]]] = {}
        self.published: dict[str, TenantRecord] = {}
        self.damaged: Problem | None = None
        data = self._read()
        if data is None:
            return
        try:
            self.published = self._published(data)
        except ValueError as exc:
            self.damaged = self._damage(str(exc))
            return
        try:
            parsed = _Manifest.model_validate(data).model_dump(mode="json")
        except ValidationError:
            return  # nothing reusable; the build renders every tenant
        self.tenants = parsed["tenants"]
        for entry in parsed["files"]:
            if entry["tenant"]:
                self.files.setdefault(entry["tenant"], []).append(entry)

    def _read(self) -> Any:
        try:
            info = self.file.lstat()
        except OSError:
            return None  # no previous build
        if not stat.S_ISREG(info.st_mode):
            self.damaged = self._damage("it is not a regular file")
            return None
        try:
            return json.loads(self.file.read_bytes())
        except (OSError, ValueError, RecursionError) as exc:
            self.damaged = self._damage(f"it is not JSON ({type(exc).__name__})")
            return None

    @staticmethod
    def _published(data: Any) -> dict[str, TenantRecord]:
        if not isinstance(data, dict) or not isinstance(data.get("tenants", {}), dict):
            raise ValueError("it is not a JSON object with a 'tenants' object")
        published: dict[str, TenantRecord] = {}
        for slug, entry in data.get("tenants", {}).items():
            if not isinstance(entry, dict):
                raise ValueError(f"tenants.{slug} is not an object")
            if entry.get("releases") is not None:  # absent in manifests of older policygen versions
                try:
                    published[slug] = read_tenant_record(entry["releases"])
                except ValueError as exc:
                    raise ValueError(f"tenants.{slug}.releases: {exc}") from None
        return published

    def _damage(self, why: str) -> Problem:
        return Problem(
            f"the previous build's manifest cannot be read: {why}; it records the released versions "
            "that build published, and without it policygen cannot check that none has vanished or "
            "changed since",
            file=self.file,
            expected="manifest.json as policygen wrote it",
            suggestion="if the released history is intact (git status shows no change in "
            f"tenants/*/releases/), delete {self.out.name}/ and build again",
        )

    def intact(self, path: str) -> Path | None:
        """The previous build's file at *path*, if it is a regular file inside the output folder."""
        target = self.out / path
        try:
            if not stat.S_ISREG(target.lstat().st_mode) or not target.resolve().is_relative_to(self.out.resolve()):
                return None
        except (OSError, RuntimeError):
            return None
        return target

    def reuse(self, slug: str, key: str | None) -> TenantResult | None:
        """The tenant's previous files, if built from the same inputs and still intact on disk."""
        entry = self.tenants.get(slug)
        if entry is None or (key is not None and entry.get("inputs") != key):
            return None
        outputs: list[Output] = []
        for f in self.files.get(slug, []):
            target = self.intact(f["path"])
            if target is None or target.stat().st_size != f["bytes"]:
                return None
            try:
                data = target.read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != f["sha256"]:
                return None  # edited or damaged since: render again
            effective = dt.date.fromisoformat(f["effective"]) if f.get("effective") else None
            outputs.append(
                Output(
                    f["path"],
                    f["kind"],
                    data,
                    tenant=slug,
                    document=f.get("document"),
                    version=f.get("version"),
                    effective=effective,
                    app=f.get("app"),
                    origin=target,
                )
            )
        return TenantResult(
            slug,
            entry["inputs"],
            outputs,
            view_from_entry(slug, entry),
            rendered=False,
            releases=self.published.get(slug, {}),
        )


@dataclass
class Step:
    """What the build needs to know to do one tenant: load it, then render it unless reusable."""

    project: Project
    theme: Theme
    renderer: ClauseRenderer
    options: BuildOptions
    shared: str  # the key part every tenant shares
    previous: dict[str, tuple[str, tuple[str, ...]]]  # slug -> (input key, documents) of the previous build
    published: dict[str, TenantRecord] = field(default_factory=dict)  # slug -> versions the previous build published
    manifest: Path = Path("manifest.json")  # the previous build's, named in problems
    committed: Committed | None = None  # snapshots in git's HEAD

    def lookup(self, slug: str, cached: dict[str, TenantResult]) -> Reusable | TenantResult | list[Problem] | None:
        """What an unchanged tenant needs no rendering for (a result of this builder, or the previous
        output), problems with its folder, or None when it must be rendered."""
        try:
            folder = tenant_folder(self.project.root, slug)  # bad names and links out are input problems
            digest = tenant_digest(folder)  # so are pipes, devices and dangling links in the folder
        except InputError as exc:
            return exc.problems
        hit = cached.get(slug)
        if hit is not None and hit.key == tenant_key(
            self.project, digest, (d.id for d in hit.view.documents), self.shared
        ):
            return replace(hit, rendered=False)
        before = self.previous.get(slug)
        if before is not None and before[0] == tenant_key(self.project, digest, before[1], self.shared):
            return Reusable(slug, before[0])  # unchanged: not even its YAML needs parsing
        return None

    def render(self, slug: str) -> TenantResult | list[Problem]:
        problems = Collector()
        tenant = load_tenant_source(self.project, slug, problems)
        if tenant is None:
            return problems.problems
        key = tenant_key(self.project, tenant.digest, tenant.documents, self.shared)
        try:
            histories = load_histories(tenant, Published(self.manifest, self.published.get(slug), self.committed))
            outputs, view = tenant_outputs(self.project, self.theme, self.renderer, tenant, self.options, histories)
        except InputError as exc:
            return exc.problems
        return TenantResult(slug, key, outputs, view, rendered=True, source=tenant, releases=history_record(histories))

    def for_workers(self) -> Step:
        """This step with a new renderer and theme: the warm ones hold compiled templates, which cannot be
        pickled (weak references), and stay in this process for the next build; each worker compiles its own."""
        return replace(
            self,
            renderer=ClauseRenderer(self.renderer.content, self.renderer.raw_html),
            theme=project_theme(self.project),
        )


@dataclass(frozen=True)
class Reusable:
    slug: str
    key: str


# Worker processes pay off only past some tenants: each starts in ~0.3 s and loads the library itself.
PARALLEL_MIN_TENANTS = 64
_step: Step | None = None


def _worker_init(step: Step) -> None:
    global _step
    _step = step


def _worker_run(slugs: list[str]) -> list[tuple[str, TenantResult | list[Problem]]]:
    assert _step is not None
    return [(slug, _step.render(slug)) for slug in slugs]


class Builder:
    """Builds a project's site, re-rendering only the tenants whose inputs changed.

    Keeps compiled templates and rendered Markdown between builds, so a long-lived
    Builder (policygen serve) rebuilds one tenant's edit in milliseconds; a fresh one
    (policygen build) reuses unchanged tenants from the previous output's manifest.
    Tenants are loaded and rendered in worker processes when there are many.
    """

    def __init__(
        self,
        root: Path,
        out: Path | None = None,
        options: BuildOptions | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.root = root
        self.out_arg = out
        self.options = options or BuildOptions()
        self.progress = progress  # called with (tenants done, tenants in all); the build itself never prints
        self._renderer: ClauseRenderer | None = None
        self._theme: tuple[tuple[Path, str], Theme] | None = None
        self._results: dict[str, TenantResult] = {}
        self.discard: Discard = shutil.rmtree  # what removes the previous output once the new one is in place

    def build(self) -> BuildReport:
        started = time.perf_counter()
        # The build date decides which release is in force, so it is fixed once and is part of every key.
        options = replace(self.options, today=self.options.today or utc_today())
        problems = Collector()
        project = load_base(self.root, problems)
        if problems.problems:
            load_project(self.root, options.tenants)  # raises with the tenants' problems reported too
        slugs = self.scope(select_tenants(project.root, options.tenants))
        out = check_out_dir(self.out_arg if self.out_arg is not None else project.root / "build", project.reserved)
        theme = project_theme(project)
        theme_digest = theme.digest()
        # Keep the compiled theme templates while no template or static file changed (serve rebuilds often).
        if self._theme is not None and self._theme[0] == (theme.folder, theme_digest):
            theme = self._theme[1]
        self._theme = ((theme.folder, theme_digest), theme)
        if self._renderer is None or self._renderer.content != project.content:
            self._renderer = ClauseRenderer(project.content)
        previous = Previous(out)
        if previous.damaged is not None:
            problems.add(previous.damaged)
        step = Step(
            project,
            theme,
            self._renderer,
            options,
            shared_key(project, theme_digest, options),
            {
                slug: (str(entry.get("inputs")), tuple(str(d.get("id")) for d in entry.get("documents", [])))
                for slug, entry in previous.tenants.items()
            },
            previous.published,
            previous.file,
            committed_releases(project.root),
        )

        results: dict[str, TenantResult] = {}
        for slug, outcome in self._run(step, slugs):
            if isinstance(outcome, list):
                problems.extend(outcome)
                continue
            if isinstance(outcome, Reusable):  # unchanged since the previous build
                reused = previous.reuse(slug, outcome.key)
                outcome = reused if reused is not None else step.render(slug)
                if isinstance(outcome, list):
                    problems.extend(outcome)
                    continue
                assert isinstance(outcome, TenantResult)
            if outcome.source is not None:
                project.tenants[slug] = outcome.source
            results[slug] = outcome
        problems.raise_if_any()
        dropped: list[str] = []
        if options.tenants:  # tenants not asked for keep their previous output as it was, while their folder is there
            present = set(tenant_slugs(project.root))
            for slug in sorted(previous.tenants):
                if slug in results:
                    continue
                if slug not in present:
                    dropped.append(slug)  # deleted from the project: no longer published
                elif (carried := previous.reuse(slug, None)) is not None:
                    results[slug] = carried

        ordered = [results[slug] for slug in sorted(results)]
        outputs = self.assemble(project, theme, ordered, options)
        write_site(out, outputs, self.discard)
        self._results = {r.slug: r for r in ordered if r.slug in slugs}
        rendered = [r for r in ordered if r.rendered]
        return BuildReport(
            out=out,
            outputs=outputs,
            rendered=sum(1 for r in rendered for o in r.outputs if o.kind == "page"),
            tenants=sorted(results),
            rendered_tenants=[r.slug for r in rendered],
            dropped=dropped,
            seconds=time.perf_counter() - started,
        )

    def scope(self, slugs: list[str]) -> list[str]:
        """The tenants this build renders, of those selected (a shard build takes its part: policygen/shards.py)."""
        return slugs

    def assemble(
        self, project: Project, theme: Theme, results: list[TenantResult], options: BuildOptions
    ) -> list[Output]:
        """Every file of the output, from the tenants' results in slug order."""
        return site_files(project, theme, results, options)

    def _run(self, step: Step, slugs: list[str]) -> list[tuple[str, Reusable | TenantResult | list[Problem]]]:
        # Unchanged tenants are found here, in this process, against this builder's warm results; only the
        # tenants that must be rendered go to worker processes, and only when there are enough of them.
        done: list[tuple[str, Reusable | TenantResult | list[Problem]]] = []
        todo: list[str] = []
        for slug in slugs:
            found = step.lookup(slug, self._results)
            if found is None:
                todo.append(slug)
            else:
                done.append((slug, found))
                self._report(len(done), len(slugs))
        jobs = step.options.jobs or os.cpu_count() or 1
        if jobs < 2 or len(todo) < PARALLEL_MIN_TENANTS:
            for slug in todo:
                done.append((slug, step.render(slug)))
                self._report(len(done), len(slugs))
            return done
        chunks = [c for c in (todo[i :: jobs * 8] for i in range(jobs * 8)) if c]
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_worker_init,
            initargs=(step.for_workers(),),
        ) as pool:
            for chunk in pool.map(_worker_run, chunks):
                done.extend(chunk)
                self._report(len(done), len(slugs))
        return done

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None and total:
            self.progress(done, total)


def site_files(project: Project, theme: Theme, results: list[TenantResult], options: BuildOptions) -> list[Output]:
    """The whole site from its tenants' results (in slug order): theme files, tenant files, site files, manifest.

    A build and `policygen merge` (policygen/shards.py) both make the site here, so they agree byte for byte.
    """
    outputs: list[Output] = list(theme.assets())
    for result in results:
        outputs.extend(result.outputs)
    outputs.extend(site_outputs(project, theme, [r.view for r in results], options, outputs))
    outputs.append(manifest(outputs, {"tenants": {r.slug: tenant_entry(r.view, r.key, r.releases) for r in results}}))
    return outputs


def site_outputs(
    project: Project,
    theme: Theme,
    views: list[TenantView],
    options: BuildOptions,
    tenant_files: list[Output] | None = None,
) -> list[Output]:
    """Files about the whole site, made after every tenant: the site index, the site feed and sitemap.xml."""
    files = tenant_files or []
    outputs = [
        Output(
            "index.html",
            "index",
            theme.render("index.html", site=project.config, tenants=views, root="", lang="en", accent=None),
        )
    ]
    latest = max((d.effective for v in views for d in v.documents), default=dt.date(1970, 1, 1))
    info = FeedInfo("feed.xml", project.config.title, project.config.title, "index.html", latest)
    outputs.append(atom(info, entries_in(files), project.config.base_url))
    site_map = sitemap([*files, *outputs], project.config.base_url)
    return [*outputs, site_map] if site_map else outputs


def build(
    root: Path,
    out: Path | None = None,
    options: BuildOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build the site of the project at *root* into *out* (default: root/build)."""
    return Builder(root, out, options, progress).build()
