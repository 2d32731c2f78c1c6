"""In-app snippets and store labels: what an app team ships inside its apps.

For every app of a tenant, under <tenant>/apps/<app>/:
    policy.html                 the compact full policy, for a WebView or WKWebView
    sections/<clause-id>.html   one snippet per section of the policy
    at-a-glance.html            the policy's first layer (its at-a-glance section), linked into policy.html
    permissions.html            each permission the app asks for, with its reason
    notice.html                 the change-notice banner (notices.py) of the newest material change
                                from the shown version on, links rebased to this folder
    apple-privacy.json          Apple App Privacy details (see labels.py)
    play-data-safety.csv        Google Play Data safety, the Console's import file
    play-data-safety.json       the same answers, readable, with the deletion method
    manifest.json               version, dates, content hashes and paths, for caching

Each snippet is one self-contained HTML file: inline CSS only, no script, no
external request (a Content-Security-Policy says so to the browser as well), a
mobile viewport, light and dark colours, rem/em sizes that follow the platform's
text size, and logical CSS properties with a `dir` attribute for right-to-left
languages. The snippets show the same rendered text as the stable page: the release
in force (or the working text of an unreleased document).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from markupsafe import Markup
from pydantic import ValidationError

from .colours import contrast, luminance
from .errors import Collector, InputError, Problem
from .facts import App, Tenant
from .htmltext import ClauseLike, DocumentLike
from .jsonitems import indented
from .labels import app_labels, check_app, label_stores, policy_document
from .languages import language_segment, text_direction
from .links import HREF, is_relative, rebase_links
from .output import Output
from .paths import TenantPaths, rebase, relative
from .project import Project, TenantSource
from .theme import SiteTheme
from .yamlfile import Located

# Light and dark backgrounds of the snippet theme; the tenant's accent is adjusted to read on each.
LIGHT_BG = "#ffffff"
DARK_BG = "#16181b"
MIN_CONTRAST = 4.8  # a little above WCAG AA's 4.5, so rounding never tips a colour under it

FIRST_LAYER = "at-a-glance"  # the clause id of the privacy policy's summary (content/privacy-policy/)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    html: str


@dataclass(frozen=True)
class SnippetView:
    """What snippet templates know: plain text and already-rendered clause HTML."""

    tenant: str
    app: str
    app_name: str
    document: str
    title: str
    effective: dt.date
    last_updated: dt.date
    version: str | None
    lang: str
    dir: str
    accent_light: str
    accent_dark: str


def change_notice(published: Sequence[Output], slug: str, document: str, shown: dt.date | None) -> Output | None:
    """The in-app banner (policygen/notices.py) of the newest change from the shown version on, if any.

    A banner for an upcoming version is what an app should show now: the notice comes before the change.
    """
    paths = TenantPaths(slug).document(document)
    found = [
        (o.effective, o)
        for o in published
        if o.kind == "notice"
        and o.effective is not None
        and o.path == paths.banner(o.effective)
        and (shown is None or o.effective >= shown)
    ]
    return max(found, key=lambda f: f[0])[1] if found else None


@functools.lru_cache(maxsize=256)
def readable(accent: str, background: str) -> str:
    """The accent, mixed toward black or white just enough to read as link text on *background*.

    Kept by the two colours (a theme's few accents recur over a worker's tenants; up to 21 contrasts each)."""
    toward = 255 if luminance(background) < 0.5 else 0
    rgb = [int(accent[i : i + 2], 16) for i in (1, 3, 5)]
    for step in range(21):
        t = step / 20
        mixed = "#" + "".join(f"{round(c + (toward - c) * t):02x}" for c in rgb)
        if contrast(mixed, background) >= MIN_CONTRAST:
            return mixed
    return "#ffffff" if toward else "#000000"


_HEADING = re.compile(r"<(/?)h([3-6])([^>]*)>")


def _raise_headings(body: str) -> str:
    """A section snippet's h1 is the clause title, so its h3 subheadings become h2 (no skipped levels)."""
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) - 1}{m.group(3)}>", body)


def _out(
    path: str, kind: str, data: bytes, tenant: str, app: str, document: str | None, view: SnippetView | None
) -> Output:
    return Output(
        path,
        kind,
        data,
        tenant=tenant,
        document=document,
        version=view.version if view else None,
        effective=view.effective if view else None,
        app=app,
    )


class Released(Protocol):
    """A released version as versions.py keeps it (only what snippets need)."""

    @property
    def title(self) -> str: ...
    @property
    def clauses(self) -> Sequence[ClauseLike]: ...
    @property
    def effective(self) -> dt.date: ...
    @property
    def released(self) -> dt.date: ...
    @property
    def label(self) -> str: ...
    @property
    def facts(self) -> Tenant: ...
    @property
    def path(self) -> Path | None: ...


@dataclass(frozen=True)
class Shown:
    """The document the stable page shows, with the facts it was rendered from."""

    id: str
    title: str
    clauses: Sequence[ClauseLike]
    effective: dt.date
    last_updated: dt.date
    version: str | None
    facts: Tenant
    file: Path  # where those facts are: tenant.yaml, or the release file
    located: Located | None


def shown_document(tenant: TenantSource, document: DocumentLike, released: Released | None) -> Shown:
    """The page's version: the release in force (or first) when there are releases, else the working tree."""
    facts = tenant.facts
    if released is None:
        return Shown(
            document.id,
            document.title,
            document.clauses,
            facts.dates.effective,
            facts.dates.last_updated or facts.dates.effective,
            None,
            facts,
            tenant.folder / "tenant.yaml",
            tenant.located,
        )
    file = released.path or tenant.folder / "releases"
    try:
        old = released.facts
    except ValidationError as exc:
        raise InputError(
            [
                Problem(
                    f"the released facts no longer validate: {exc.error_count()} problem(s)",
                    file=file,
                    suggestion="release a new version of the document",
                )
            ]
        ) from None
    return Shown(
        document.id,
        released.title,
        released.clauses,
        released.effective,
        released.released,
        released.label,
        old,
        file,
        None,
    )


@dataclass(frozen=True)
class InLanguage:
    """An app's policy document in another language, and the tenant's facts as that language's pages print
    them (fact_translations.translated_facts: a current translation, else a marked ForeignWord), read once
    by the pages for their names and used again by the snippets for theirs."""

    document: DocumentLike
    names: Tenant


def app_outputs(
    project: Project,
    theme: SiteTheme,
    tenant: TenantSource,
    documents: Sequence[DocumentLike],
    shown: Mapping[str, Released | None] | None = None,
    published: Sequence[Output] = (),
    translations: Mapping[str, InLanguage] | None = None,
) -> list[Output]:
    """Every app's snippets, labels and manifest; InputError if labels and policy disagree.

    *shown* maps a document id to the released version its stable page shows; the snippets,
    labels and their check then use that version's text and facts, so all three agree with the page.
    *published* are the tenant's files so far: a change-notice banner among them becomes notice.html.
    *translations*: the policy document in each other language the tenant publishes, with the names its pages
    print there, for the snippets in <app>/<lang>/ (store labels are language-neutral: made once).
    """
    translations = translations or {}
    kinds = {doc_id: project.library.documents[doc_id].meta.kind for doc_id in tenant.documents}
    document = policy_document(documents, kinds)
    if document is None:
        return []
    released = (shown or {}).get(document.id)
    policy = shown_document(tenant, document, released)
    notice = change_notice(published, tenant.slug, document.id, released.effective if released else None)
    # The other languages whose page of this document is published, each with its snippets' folder.
    paths = {o.path for o in published}
    languages = [
        (locale, folder)
        for locale in tenant.facts.published_languages[1:]
        if (folder := language_segment(locale, tenant.facts.locale))
        and f"{tenant.slug}/{document.id}/{folder}/index.html" in paths
    ]
    problems = Collector()
    outputs: list[Output] = []
    for app in policy.facts.apps:
        try:
            outputs.extend(one_app(theme, tenant.slug, app, policy, notice, languages=languages))
            for locale, folder in languages:
                other = translations[locale]
                translated = replace(policy, title=other.document.title, clauses=other.document.clauses)
                outputs.extend(one_app(theme, tenant.slug, app, translated, None, (locale, folder), names=other.names))
        except InputError as exc:
            problems.extend(exc.problems)
    problems.raise_if_any()
    return outputs


def resolve_language(requested: str, published: Sequence[str], authoritative: str) -> str:
    """The language of snippets an app shows for its user's locale: the same locale (hi-IN), else a locale
    of the same language (fr-CA -> fr-FR, hi -> hi-IN), else the tenant's authoritative language."""
    wanted = requested.replace("_", "-").lower()
    by_tag = {p.lower(): p for p in published}
    if wanted in by_tag:
        return by_tag[wanted]
    language = wanted.split("-")[0]
    return next((p for p in published if p.lower().split("-")[0] == language), authoritative)


def one_app(
    theme: SiteTheme,
    slug: str,
    app: App,
    document: Shown,
    notice: Output | None = None,
    language: tuple[str, str] | None = None,
    languages: Sequence[tuple[str, str]] = (),
    names: Tenant | None = None,
) -> list[Output]:
    """An app's snippets, labels and manifest; with *language* (locale, folder), its snippets in that
    language in <app>/<folder>/, naming the tenant and app as *names* (the facts as that language's pages
    print them) does. *languages*: the other languages' (locale, folder), for the manifest."""
    facts = document.facts
    labels = app_labels(facts, app, document.file, document.located, slug)
    problems = check_app(facts, app, labels, document, document.file, document.located)
    if problems:
        raise InputError(problems)
    view = snippet_view(facts, document, app, language[0] if language else None, names)
    at = TenantPaths(slug).app(app.id, language[1] if language else None)
    snippets: list[tuple[str, str, str | None, Output]] = []  # (role, relative path, section id, output)

    def add(role: str, rel: str, section: str | None, data: bytes) -> None:
        snippets.append((role, rel, section, _out(at.file(rel), "snippet", data, slug, app.id, document.id, view)))

    # the stable page the clause HTML was written for
    page = TenantPaths(slug).document(document.id, language[1] if language else None).stable
    rebased = [_Rebased(c.id, c.title, rebase_links(c.html, page, at.file("policy.html"))) for c in document.clauses]
    add("policy", "policy.html", None, policy_snippet(theme, view, replace(document, clauses=rebased)))
    source = source_line(theme, view)
    lines = {"source": source} if source is not None else {}
    for clause in document.clauses:
        add(
            "section",
            f"sections/{clause.id}.html",
            clause.id,
            theme.render(
                "snippets/section.html",
                view=view,
                clause=_section(clause, page, at.file(f"sections/{clause.id}.html"), at.file("policy.html")),
                **lines,
            ),
        )
    glance = next((c for c in document.clauses if c.id == FIRST_LAYER), None)
    if glance is not None:  # a version released before the library had the first layer has none
        add(
            "at-a-glance",
            "at-a-glance.html",
            None,
            theme.render(
                "snippets/at-a-glance.html",
                view=view,
                clause=_section(glance, page, at.file("at-a-glance.html"), at.file("policy.html")),
                **lines,
            ),
        )
    add("permissions", "permissions.html", None, theme.render("snippets/permissions.html", view=view, app=app))
    if notice is not None:
        banner = rebase_links(notice.data.decode(), notice.path, at.file("notice.html"))
        banner = re.sub(
            r'<html lang="([^"]*)">', lambda m: f'<html lang="{m.group(1)}" dir="{view.dir}">', banner, count=1
        )
        add("notice", "notice.html", None, banner.encode())

    # Store labels are language-neutral: once, in the app's own folder, for the stores that ask for them.
    stores = label_stores(app) if language is None else set()
    label_files = []
    if "ios" in stores:
        label_files.append(("apple-privacy", "apple-privacy.json", labels.apple_json()))
    if "android" in stores:
        label_files += [
            ("play-data-safety", "play-data-safety.csv", labels.play_csv()),
            ("play-data-safety-answers", "play-data-safety.json", labels.play_json()),
        ]
    outputs = [o for *_, o in snippets]
    hashes = [hashlib.sha256(o.data) for o in outputs]  # each snippet's, for the manifest's two uses below
    outputs += [_out(at.file(rel), "label", data, slug, app.id, None, None) for _, rel, data in label_files]
    body = {
        "tenant": slug,
        "app": app.id,
        "name": app.name,
        "platforms": list(app.platforms),
        "document": document.id,
        "title": document.title,
        "version": view.version,
        "effective": view.effective.isoformat(),
        "last_updated": view.last_updated.isoformat(),
        "lang": view.lang,
        "dir": view.dir,
        # One hash over every snippet: an app compares it with its cached copy to know when to refresh.
        "content_sha256": hashlib.sha256(b"".join(h.digest() for h in hashes)).hexdigest(),
        "snippets": [
            {
                "kind": role,
                "path": rel,
                **({"section": section} if section else {}),
                "sha256": h.hexdigest(),
                "bytes": len(o.data),
            }
            for (role, rel, section, o), h in zip(snippets, hashes, strict=True)
        ],
        "labels": [
            {"kind": role, "path": rel, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for role, rel, data in label_files
        ],
    }
    if languages:
        # Every language's snippets; an app picks one for its user's locale by resolve_language's rule.
        body["languages"] = [
            {"lang": view.lang, "path": "", "authoritative": True},
            *({"lang": locale, "path": f"{folder}/", "authoritative": False} for locale, folder in languages),
        ]
    data = (indented(body) + "\n").encode()
    outputs.append(_out(at.file("manifest.json"), "data", data, slug, app.id, document.id, view))
    return outputs


def snippet_view(
    facts: Tenant,
    document: DocumentLike,
    app: App | None = None,
    locale: str | None = None,
    names: Tenant | None = None,
) -> SnippetView:
    """What a snippet's template knows; the tenant's and app's names from *names* when given (in another
    language: a current translation, else a ForeignWord that `|marked(lang)` marks)."""
    named = names if names is not None else facts
    named_app = next((a for a in named.apps if a.id == app.id), app) if app else None
    accent = facts.theme.accent or "#1f5f8b"
    effective = document.effective if isinstance(document, Shown) else facts.dates.effective
    last_updated = document.last_updated if isinstance(document, Shown) else facts.dates.last_updated or effective
    return SnippetView(
        tenant=named.name,
        app=app.id if app else "",
        app_name=named_app.name if named_app else named.name,
        document=document.id,
        title=document.title,
        effective=effective,
        last_updated=last_updated,
        version=document.version if isinstance(document, Shown) else None,
        lang=locale or facts.locale,
        dir=text_direction(locale or facts.locale),
        accent_light=readable(accent, LIGHT_BG),
        accent_dark=readable(accent, DARK_BG),
    )


def policy_snippet(theme: SiteTheme, view: SnippetView, document: DocumentLike) -> bytes:
    """The compact full document: every section, a collapsed table of contents, nothing else."""
    return theme.render("snippets/policy.html", view=view, clauses=document.clauses)


SOURCE_LINE = "snippets/_source.html"


def source_line(theme: SiteTheme, view: SnippetView) -> Markup | None:
    """The line under every section snippet and the first layer ("From the ... of ..., effective ..."):
    the theme's snippets/_source.html, rendered once for all of an app's snippets in one language (it
    reads only *view*) instead of once in each, where it was half of a section snippet's render.
    The theme's render escaped the tenant's text in it, so the snippets print it as it is.
    None when the theme has no such template: a project's own theme made before it existed, whose
    section.html and at-a-glance.html write the line themselves."""
    if not theme.has_template(SOURCE_LINE):
        return None
    return Markup(theme.render(SOURCE_LINE, view=view).decode())


def _relinked(clause: ClauseLike, page: str, snippet: str, whole: str) -> str:
    """Clause HTML written for the page, with its links made to work from the snippet.

    Relative links are rebased from the page's folder; a link to an anchor that is not in
    this snippet goes to the same anchor in the compact policy (*whole*). One pass over the
    HTML does both (rebasing changes only links, never an id).
    """
    here = set(_ID.findall(clause.html)) | {clause.id}
    whole_href = relative(whole, snippet)

    def one(m: re.Match[str]) -> str:
        href, link = m.group(1), m.group(0)
        if is_relative(href):
            href = rebase(href, page, snippet)
            link = f'href="{href}"'
        return f'href="{whole_href}{href}"' if href.startswith("#") and href[1:] not in here else link

    return HREF.sub(one, clause.html)


_ID = re.compile(r'id="([^"]+)"')


def _section(clause: ClauseLike, page: str, snippet: str, whole: str) -> Section:
    return Section(clause.id, clause.title, _raise_headings(_relinked(clause, page, snippet, whole)))


@dataclass(frozen=True)
class _Rebased:
    id: str
    title: str
    html: str
