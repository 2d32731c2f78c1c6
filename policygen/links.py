"""Where a link of the site leads, and whether it arrives there: check's dead links and anchors.

`check` follows a site of a hundred thousand tenants without holding its pages. Each tenant's pages are
followed where they are made, against the tenant's own files: its folder is its own (no other tenant's file
and no site-wide file is in it), so a link into it is settled there. A link that leaves the folder (to the
site's index, the theme's assets, another tenant) is kept as a `Link` and followed at the end against
`SiteFiles`: the site-wide pages and every tenant's file names, which are few and shared by tenants with the
same documents. Only a link to an anchor on another tenant's page needs that page's ids; its tenant is made
again for them, once.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlsplit

from .htmltext import PageLinks
from .output import Output
from .paths import INDEX, rebase

OUTSIDE = "leads outside the site"
HREF = re.compile(r'href="([^"]*)"')  # a link as policygen's HTML writes it (a quote inside is escaped)
_VALID_ANYWHERE = re.compile(r"[a-z][a-z0-9+.-]*:|#|/")  # absolute, fragment-only or site-absolute


def is_relative(href: str) -> bool:
    """Whether *href* leads elsewhere from another page: it is not empty, absolute, fragment-only or site-absolute."""
    return bool(href) and not _VALID_ANYWHERE.match(href)


def rebase_links(html: str, source: str, target: str) -> str:
    """Relative links of HTML written for the page at *source*, rewritten for the same HTML at *target* (site
    paths)."""

    def one(m: re.Match[str]) -> str:
        href = m.group(1)
        return f'href="{rebase(href, source, target)}"' if is_relative(href) else m.group(0)

    return HREF.sub(one, html)


@dataclass(frozen=True)
class Target:
    """Where a link leads: a path from the site's root (the page itself for '#anchor'), the anchor unquoted ('' for
    none), and whether the link names a folder (only the folder's index.html answers it)."""

    path: str
    fragment: str
    folder: bool = False


def target(page: str, href: str) -> Target | str | None:
    """Where *href* on *page* leads; None for a link to another host (checked by no one offline, never fetched);
    a problem when it leads out of the site's folder."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    fragment = unquote(parts.fragment)
    if not parts.path:
        return Target(page, fragment)
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(parts.path)))
    if parts.path.startswith("/") or joined.startswith(".."):
        return OUTSIDE
    return Target(joined, fragment, parts.path.endswith("/"))


class Files(Protocol):
    """The files a link may lead to: whether a path is one, and the ids of a page (None when it has none known)."""

    def has(self, path: str) -> bool: ...
    def ids(self, path: str) -> Collection[str] | None: ...


def dead_end(page: str, to: Target, files: Files) -> str | None:
    """What is wrong with a link from *page* to *to*, or None when it arrives."""
    path = to.path
    if to.folder or not files.has(path):
        index = posixpath.join(path, INDEX) if path != "." else INDEX
        if not files.has(index):
            return "leads to no file of the site"
        path = index
    ids = files.ids(path) if to.fragment else None
    if ids is not None and to.fragment not in ids:
        return f"points to '#{to.fragment}', which is not on {'this page' if path == page else path}"
    return None


class Pages:
    """Files of the site in hand, their pages read for ids and links (PageLinks)."""

    def __init__(self, outputs: Iterable[Output]) -> None:
        self.files: dict[str, Output] = {}
        self.read: dict[str, PageLinks] = {}
        for o in outputs:
            self.files[o.path] = o
            if o.path.endswith(".html"):
                self.read[o.path] = PageLinks.read(o.data.decode("utf-8", "replace"))

    def has(self, path: str) -> bool:
        return path in self.files

    def ids(self, path: str) -> Collection[str] | None:
        page = self.read.get(path)
        return None if page is None else page.ids

    def links(self) -> Iterator[tuple[Output, str, str | None]]:
        """Each page's links, in path order, each href once, with the section it is first in (PageLinks)."""
        for path, page in sorted(self.read.items()):
            for href in sorted(page.hrefs):
                yield self.files[path], href, page.sections.get(href)


@dataclass(frozen=True)
class Link:
    """A link from *page* (of *tenant*'s *document*, if any; in its *section*, if any) to *to*, written *href*."""

    page: str
    href: str
    to: Target
    tenant: str | None
    document: str | None
    section: str | None = None


def inside(path: str, folder: str) -> bool:
    """Whether *path* is the folder *folder* or in it."""
    return path == folder or path.startswith(folder + "/")


@dataclass(frozen=True)
class Names:
    """Files known by their paths alone: none has ids known."""

    paths: frozenset[str]

    def has(self, path: str) -> bool:
        return path in self.paths

    def ids(self, path: str) -> Collection[str] | None:
        return None


@dataclass(frozen=True)
class Folder:
    """A tenant's folder (*path*), every file of which is in hand (*pages*), and the site-wide files known by name
    (*site*): the files a tenant's link is followed to where the tenant is made."""

    path: str
    pages: Pages
    site: Names

    def has(self, path: str) -> bool:
        return self.pages.has(path) or self.site.has(path)

    def ids(self, path: str) -> Collection[str] | None:
        return self.pages.ids(path)

    def later(self, to: Target) -> bool:
        """Whether a link to *to* waits for the whole site: it leaves the folder, and leads to an anchor or to a file
        that is not a site-wide one (another tenant's, or none)."""
        return not inside(to.path, self.path) and (bool(to.fragment) or dead_end("", to, self.site) is not None)


def follow(
    pages: Pages, files: Files, later: Callable[[Target], bool] | None = None
) -> tuple[list[tuple[Link, str]], list[Link]]:
    """The links of *pages* that arrive nowhere in *files*, with what is wrong; and those *later* says to follow
    later, when more files are known (Folder.later)."""
    dead: list[tuple[Link, str]] = []
    waiting: list[Link] = []
    for output, href, section in pages.links():
        to = target(output.path, href)
        if to is None:
            continue
        leads = Target(output.path, "") if isinstance(to, str) else to
        link = Link(output.path, href, leads, output.tenant, output.document, section)
        if isinstance(to, str):
            dead.append((link, to))
        elif later is not None and later(to):
            waiting.append(link)
        elif (problem := dead_end(output.path, to, files)) is not None:
            dead.append((link, problem))
    return dead, waiting


class TenantFiles:
    """Each tenant's file names, from its folder: few, and one tuple for the tenants with the same documents."""

    def __init__(self) -> None:
        self.names: dict[str, tuple[str, ...]] = {}
        self._shared: dict[tuple[str, ...], tuple[str, ...]] = {}

    def add(self, slug: str, paths: Iterable[str]) -> None:
        """A tenant's files, by their paths from the site's root (all in the folder named after it)."""
        names = tuple(sorted(posixpath.relpath(p, slug) for p in paths))
        self.names[slug] = self._shared.setdefault(names, names)

    def __contains__(self, slug: str) -> bool:
        return slug in self.names


class SiteFiles:
    """Every file of the site, for the links that leave a tenant's folder: the site-wide files in hand (*site*), the
    checked tenants' files by name (*tenants*), and the project's other tenants (*other*: not named in this run, or
    whose facts fail). A tenant's pages are made by *tenant_pages* when a link needs their ids, or, for another
    tenant, its files; None when they cannot be (its facts or templates fail): a link there cannot be followed. The
    last tenant made is kept: links are followed in page order, and a page's links to one tenant come together."""

    def __init__(
        self,
        site: Pages,
        tenants: TenantFiles,
        tenant_pages: Callable[[str], Pages | None],
        other: Callable[[str], bool],
    ) -> None:
        self.site = site
        self.tenants = tenants
        self._tenant_pages = tenant_pages
        self._other = other
        self._made: tuple[str, Pages | None] | None = None

    def followed(self, to: Target) -> bool:
        """Whether a link to *to* can be followed: it leads into no tenant whose pages cannot be made."""
        slug = to.path.partition("/")[0]
        return (
            slug in self.tenants or self.site.has(to.path) or not self._other(slug) or self._made_of(slug) is not None
        )

    def has(self, path: str) -> bool:
        if self.site.has(path):
            return True
        slug, _, name = path.partition("/")
        if slug in self.tenants:
            return name in self.tenants.names[slug]
        pages = self._made_of(slug) if self._other(slug) else None
        return pages is not None and pages.has(path)

    def ids(self, path: str) -> Collection[str] | None:
        if self.site.has(path):
            return self.site.ids(path)
        slug = path.partition("/")[0]
        if slug not in self.tenants and not self._other(slug):
            return None
        pages = self._made_of(slug)
        return None if pages is None else pages.ids(path)

    def _made_of(self, slug: str) -> Pages | None:
        if self._made is None or self._made[0] != slug:
            self._made = (slug, self._tenant_pages(slug))
        return self._made[1]
