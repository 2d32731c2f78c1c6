"""Where every output file goes, and how one output links to another.

Every module that writes or links an output asks this one: site pages, feeds, version.json,
redlines and notices, in-app snippets and store labels. Paths are site paths (from the output
folder's root, '/'-separated). Links are relative to the file that holds them, or absolute with
a base_url, where a folder's index.html is addressed as the folder (`.../privacy-policy/`).

    index.html, feed.xml, sitemap.xml, manifest.json       the site
    assets/...                                             theme static files
    <tenant>/index.html, <tenant>/feed.xml                 the tenant
    <tenant>/<language>/index.html, feed.xml               the tenant's index and feed in another of its languages
    <tenant>/assets/<logo>                                 the tenant's logo
    <tenant>/apps/<app>/...                                in-app snippets, store labels (snippets.py)
    <document folder>/index.html                           the stable URL: the version in force
    <document folder>/history/index.html, draft/index.html, feed.xml
    <document folder>/<YYYY-MM-DD>/index.html, version.json            a released version
    <document folder>/<YYYY-MM-DD>/changes/index.html                  its redline against the one before
    <document folder>/<YYYY-MM-DD>/notice/banner.html, email.html, email.txt   its change notice

A document's folder is decided in one place, `DocumentPaths.folder`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

T = TypeVar("T")

INDEX = "index.html"
SITE_INDEX = INDEX
SITE_FEED = "feed.xml"
SITEMAP_PATH = "sitemap.xml"
MANIFEST_PATH = "manifest.json"  # every file of the build, with its kind and dates (output.manifest)
THEME_ASSETS = "assets"
TENANT_APPS = "apps"
TENANT_ASSETS = "assets"

# Top-level names of the output folder that are not tenants, and what goes there.
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # a tenant's name: its folder in tenants/ and in the output
RESERVED_SLUGS = {THEME_ASSETS: "theme files"}
# Folder names the build uses inside a tenant's folder, so no document may have them as its id.
RESERVED_DOCUMENT_IDS = {TENANT_APPS: "in-app snippets and store labels", TENANT_ASSETS: "logo"}


def absolute(base_url: str, path: str) -> str:
    """The public address of a site path; folders are addressed without their index.html."""
    if path == INDEX or path.endswith("/" + INDEX):
        path = path[: -len(INDEX)]
    return base_url.rstrip("/") + "/" + path


def relative(path: str, origin: str) -> str:
    """A link to the site path *path* from the file *origin*.

    What posixpath.relpath gives, worked out from the two paths' text: relpath makes both absolute
    first, asking the system for the working folder twice per link, and pages make hundreds of links.
    A path that leads outside the site (absolute, or above its root) is left to relpath itself."""
    start = posixpath.dirname(origin) or "."
    to, at = posixpath.normpath(path), posixpath.normpath(start)
    if not path or to.startswith(("/", "..")) or at.startswith(("/", "..")):
        return posixpath.relpath(path, start)
    to_parts = [] if to == "." else to.split("/")
    at_parts = [] if at == "." else at.split("/")
    common = 0
    for a, b in zip(to_parts, at_parts, strict=False):
        if a != b:
            break
        common += 1
    return "/".join([".."] * (len(at_parts) - common) + to_parts[common:]) or "."


def href(path: str, origin: str, base_url: str | None) -> str:
    """A link to *path* from the file *origin*: absolute with a base_url (feeds, emails and apps need
    that), else relative."""
    if base_url:
        return absolute(base_url, path)
    return relative(path, origin)


def rebase(link: str, source: str, target: str) -> str:
    """A relative link written in the file *source*, rewritten to lead to the same place from *target*."""
    return relative(posixpath.normpath(posixpath.join(posixpath.dirname(source), link)), target)


def root_from(path: str) -> str:
    """The relative link from the file *path* to the site's root folder ('' at the root)."""
    return "../" * path.count("/")


@dataclass(frozen=True)
class TenantPaths:
    slug: str

    @property
    def folder(self) -> str:
        """The folder every file of the tenant is in, and no other file."""
        return self.slug

    @property
    def index(self) -> str:
        return f"{self.slug}/{INDEX}"

    @property
    def feed(self) -> str:
        return f"{self.slug}/feed.xml"

    def feed_in(self, language: str | None) -> str:
        """The tenant's feed beside its index in a language's folder, or its own without one."""
        return f"{self.slug}/{language}/feed.xml" if language else self.feed

    def index_in(self, language: str | None) -> str:
        """The tenant's index in a language's folder (languages.language_segment), or its own without one."""
        return f"{self.slug}/{language}/{INDEX}" if language else self.index

    def logo(self, file_name: str) -> str:
        return f"{self.slug}/{TENANT_ASSETS}/{file_name}"

    def document(self, doc: str, language: str | None = None) -> DocumentPaths:
        return DocumentPaths(self.slug, doc, language)

    def app(self, app: str, language: str | None = None) -> AppPaths:
        return AppPaths(self.slug, app, language)


@dataclass(frozen=True)
class VersionPaths:
    """Where one released version and its document live in the site (paths from the site root)."""

    page: str  # the dated archive page
    stable: str
    history: str
    feed: str
    json: str


def _redline_in(version_folder: str) -> str:
    return f"{version_folder}/changes/{INDEX}"


def _banner_in(version_folder: str) -> str:
    return f"{version_folder}/notice/banner.html"


@dataclass(frozen=True)
class PairPaths:
    """The files of one pair of consecutive versions, from the site root."""

    folder: str  # the newer version's folder
    new_page: str
    old_page: str

    @property
    def redline(self) -> str:
        return _redline_in(self.folder)

    @property
    def banner(self) -> str:
        return _banner_in(self.folder)

    @property
    def email_html(self) -> str:
        return f"{self.folder}/notice/email.html"

    @property
    def email_text(self) -> str:
        return f"{self.folder}/notice/email.txt"


@dataclass(frozen=True)
class DocumentPaths:
    """Where a document's pages go, from the site root."""

    slug: str
    doc: str
    language: str | None = None  # the folder of a language other than the authoritative one (languages.py)

    @property
    def folder(self) -> str:
        # The one place a document's folder is decided.
        return f"{self.slug}/{self.doc}" + (f"/{self.language}" if self.language else "")

    @property
    def stable(self) -> str:
        return f"{self.folder}/{INDEX}"

    @property
    def history(self) -> str:
        return f"{self.folder}/history/{INDEX}"

    @property
    def draft(self) -> str:
        return f"{self.folder}/draft/{INDEX}"

    @property
    def feed(self) -> str:
        return f"{self.folder}/feed.xml"

    def version_folder(self, effective: dt.date) -> str:
        return f"{self.folder}/{effective.isoformat()}"

    def archive(self, effective: dt.date) -> str:
        return f"{self.version_folder(effective)}/{INDEX}"

    def json(self, effective: dt.date) -> str:
        return f"{self.version_folder(effective)}/version.json"

    def version(self, effective: dt.date) -> VersionPaths:
        return VersionPaths(self.archive(effective), self.stable, self.history, self.feed, self.json(effective))

    def pair(self, new: dt.date, old: dt.date) -> PairPaths:
        """The redline and notices of the version effective on *new* against the one effective on *old*."""
        return PairPaths(self.version_folder(new), self.archive(new), self.archive(old))

    def redline(self, effective: dt.date) -> str:
        """The redline of the version effective on *effective* against the one before it."""
        return _redline_in(self.version_folder(effective))

    def banner(self, effective: dt.date) -> str:
        """The in-app change-notice banner of the version effective on *effective*."""
        return _banner_in(self.version_folder(effective))


def document_page(path: str) -> tuple[DocumentPaths, Literal["stable", "draft"]] | None:
    """The document whose stable or draft page *path* is, or None for any other path (the inverse of
    DocumentPaths.stable and .draft, for serve's sources overlay)."""
    parts = tuple(path.split("/"))
    if len(parts) == 4 and parts[2:] == ("draft", INDEX):
        return DocumentPaths(parts[0], parts[1]), "draft"
    if len(parts) == 3 and parts[2] == INDEX:
        return DocumentPaths(parts[0], parts[1]), "stable"
    return None


@dataclass(frozen=True)
class AppPaths:
    """One app's snippets, labels and manifest: `<tenant>/apps/<app>/<name>`."""

    slug: str
    app: str
    language: str | None = None  # the snippets of a language other than the authoritative one

    @property
    def folder(self) -> str:
        return f"{self.slug}/{TENANT_APPS}/{self.app}" + (f"/{self.language}" if self.language else "")

    def file(self, name: str) -> str:
        """*name* is the file's path inside the app's folder, as the app's manifest.json lists it."""
        return f"{self.folder}/{name}"


def between_documents(source: str, target: str, language: str | None = None) -> str:
    """The link from one document's stable page in the authoritative language to another's of the same tenant in
    one language's folder (written into clauses, whose links are written for that page)."""
    return relative(DocumentPaths("_", target, language).stable, DocumentPaths("_", source).stable)


class SortedNames(Collection[str]):
    """Names listed in sorted order (the project's tenants, as tenantfolders.tenant_slugs lists them), each looked
    up by bisection: a build asks about a hundred thousand of them without a set of them all beside the list
    (about 50 bytes more a name)."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = names

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        at = bisect.bisect_left(self._names, name)
        return at < len(self._names) and self._names[at] == name

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def in_folder_order(items: Iterable[T], slug: Callable[[T], str]) -> Iterator[T]:
    """*items*, sorted by their tenant's *slug*, in the order of their folders' paths ("<slug>/..."), which
    differs where a slug is the start of another ("acme-uk/" sorts before "acme/"). As they come: only a
    chain of slugs each the start of the next is held back, never the whole list."""
    held: list[tuple[str, T]] = []  # each slug the start of the next one's, followed by a character before "/"
    for item in items:
        name = slug(item)
        while held and not _folder_inside(name, held[-1][0]):
            yield held.pop()[1]
        held.append((name, item))
    while held:
        yield held.pop()[1]


def _folder_inside(name: str, before: str) -> bool:
    """Whether *name*'s folder sorts before that of *before*, which sorts before it as a slug."""
    return name.startswith(before) and len(name) > len(before) and name[len(before)] < "/"
