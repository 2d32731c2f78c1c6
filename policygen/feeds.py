"""The version history for machines: Atom feeds, sitemap.xml and one JSON file per version.

    <tenant>/<document>/<YYYY-MM-DD>/version.json   one released version: dates, hashes, facts, URLs
    <tenant>/<document>/feed.xml                    Atom (RFC 4287): one entry per version of the document
    <tenant>/feed.xml                               every version of the tenant's documents
    feed.xml                                        every version on the site
    sitemap.xml                                     every public page (only with base_url: sitemaps need absolute URLs)

Without `base_url` in policygen.yaml, feed links are relative to the feed file (feed
readers resolve them against the feed's address) and version.json gives site-relative
paths only. Entry ids are `urn:uuid:` names derived from the tenant, document and
version (and base_url when set), so they never change between builds. Dates are the
release dates at midnight UTC: nothing comes from the clock.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import marshal
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .languages import source_text_lang
from .output import Output, write_streamed
from .paths import SITEMAP_PATH, VersionPaths, absolute, href
from .spans import Layout, Recorder
from .spool import Codec, sized
from .versions import Snapshot
from .vocabulary import ForeignWord

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
PUBLIC_KINDS = ("index", "page", "archive", "history")


@dataclass(frozen=True)
class FeedEntry:
    tenant: str
    organisation: str
    document: str
    title: str  # the document's title in that version
    version: int
    effective: dt.date
    released: dt.date
    page: str  # the archive page, from the site root
    summary: str | None = None
    tier: str | None = None
    heading: str | None = None  # the entry's title as a feed in another language words it

    def order(self) -> tuple[str, str, str, int]:
        return (self.released.isoformat(), self.tenant, self.document, self.version)

    def record(self) -> bytes:
        """The entry as a spool keeps it (policygen/spool.py): its texts as plain text, its dates as days."""
        texts = (self.tenant, self.organisation, self.document, self.title, self.page)
        optional = (self.summary, self.tier, self.heading)
        days = (self.effective.toordinal(), self.released.toordinal())
        return marshal.dumps(
            (*map(str, texts), self.version, *days, *(None if t is None else str(t) for t in optional))
        )

    @classmethod
    def from_record(cls, data: bytes) -> FeedEntry:
        tenant, organisation, document, title, page, version, effective, released, *optional = marshal.loads(data)
        day = dt.date.fromordinal
        return cls(tenant, organisation, document, title, version, day(effective), day(released), page, *optional)

    def size(self) -> int:
        return sized((self.tenant, self.organisation, self.document, self.title, self.page, self.summary, self.heading))


FEED_CODEC = Codec(FeedEntry.record, FeedEntry.from_record, FeedEntry.size)


def newest_first(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    """A feed's entries in the order it lists them."""
    return sorted(entries, key=FeedEntry.order, reverse=True)


# Characters XML 1.0 cannot carry at all, even escaped: dropped from feed text so a fact never breaks a feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(text: str | None) -> str | None:
    return None if text is None else _NOT_XML.sub("", text)


def _stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _urn(base_url: str | None, *parts: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, (base_url or "policygen:") + "/".join(parts)))


# --- per-version JSON --------------------------------------------------------------------


def version_data(
    snap: Snapshot,
    organisation: str,
    paths: VersionPaths,
    base_url: str | None,
    replaced_by: Snapshot | None,
    snapshot_file: str | None,
) -> dict[str, Any]:
    site_paths = {
        "page": paths.page,
        "stable": paths.stable,
        "history": paths.history,
        "feed": paths.feed,
        "json": paths.json,
    }
    return {
        "tenant": snap.tenant,
        "organisation": organisation,
        "document": snap.document,
        "title": snap.title,
        "version": snap.version,
        "effective": snap.effective.isoformat(),
        "released": snap.released.isoformat(),
        "replaced_by": None
        if replaced_by is None
        else {"version": replaced_by.version, "effective": replaced_by.effective.isoformat()},
        "sha256": snap.hash,
        "previous_sha256": snap.previous,
        "snapshot": snapshot_file,
        "changes": snap.changes,
        "summary": snap.summary,
        "tier": snap.tier,
        "paths": site_paths,
        "urls": {k: absolute(base_url, v) for k, v in site_paths.items()} if base_url else None,
        "clauses": [{"id": c.id, "title": c.title, "order": c.order} for c in snap.clauses],
        "facts": snap.facts_data,
    }


def version_json(data: dict[str, Any]) -> Output:
    body = (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
    return Output(
        data["paths"]["json"],
        "data",
        body,
        tenant=data["tenant"],
        document=data["document"],
        version=str(data["version"]),
        effective=dt.date.fromisoformat(data["effective"]),
    )


def entry_of(data: dict[str, Any]) -> FeedEntry:
    """The feed entry of a version, from its version.json data."""
    return FeedEntry(
        data["tenant"],
        data["organisation"],
        data["document"],
        data["title"],
        data["version"],
        dt.date.fromisoformat(data["effective"]),
        dt.date.fromisoformat(data["released"]),
        data["paths"]["page"],
        data.get("summary"),
        data.get("tier"),
    )


def entries_in(outputs: list[Output]) -> list[FeedEntry]:
    """Every version published among *outputs* (read back from their version.json files)."""
    return [entry_of(json.loads(o.data)) for o in outputs if records_a_version(o)]


def records_a_version(output: Output) -> bool:
    """Whether *output* is a version's version.json, which the feeds are made from."""
    return output.kind == "data" and output.path.endswith("/version.json")


# --- Atom --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedInfo:
    path: str  # where the feed is written, from the site root
    title: str
    author: str
    alternate: str  # the HTML page the feed is about, from the site root
    fallback_updated: dt.date  # <updated> of a feed with no entries yet
    lang: str | None = None  # xml:lang, for a document published in several languages
    alternates: tuple[tuple[str, str], ...] = ()  # (locale, path from the site root) of the feed in other languages


def atom(
    info: FeedInfo,
    entries: list[FeedEntry],
    base_url: str | None,
    tenant: str | None = None,
    document: str | None = None,
    into: Path | None = None,
) -> Output:
    """The Atom feed of *entries* (in any order); given *into* (its path in the staging folder), written
    there a batch of entries at a time and returned without its bytes (see output.write_streamed)."""
    return atom_of(info, newest_first(entries), base_url, tenant, document, into)


def atom_of(
    info: FeedInfo,
    ordered: Iterable[FeedEntry],
    base_url: str | None,
    tenant: str | None = None,
    document: str | None = None,
    into: Path | None = None,
) -> Output:
    """The Atom feed of *ordered*, its entries already newest first (newest_first): a site's, sorted on disk."""
    parts = atom_parts(info, ordered, base_url)
    made = Output(info.path, "feed", b"", tenant=tenant, document=document)
    return write_streamed(into, parts, made) if into is not None else replace(made, data=b"".join(parts))


def atom_parts(info: FeedInfo, ordered: Iterable[FeedEntry], base_url: str | None) -> Iterator[bytes]:
    """The feed's bytes a batch of entries at a time, of *ordered* (newest first, FeedEntry.order): what
    ElementTree writes for the whole tree, indented (ET.indent), with the XML declaration and a newline. Written as
    text, the feed's own elements (_atom_head) and its entries (_atom_entry), all of fixed shape: ElementTree's tree
    and serializer, in Python, took about 35 us an entry and 0.2 ms a feed, and a tenant has a feed per document and
    language (tests/test_feeds.py compares the two byte for byte)."""
    entries = iter(ordered)
    newest = next(entries, None)
    yield _atom_head(info, info.fallback_updated if newest is None else newest.released, base_url).encode()
    everything = entries if newest is None else itertools.chain([newest], entries)
    english = bool(info.lang and source_text_lang(info.lang))  # policygen's own English is marked as such
    while chunk := list(itertools.islice(everything, XML_BATCH)):
        yield "".join([_atom_entry(entry, info.path, base_url, english) for entry in chunk]).encode()
    yield b"\n</feed>\n"


def _atom_head(info: FeedInfo, updated: dt.date, base_url: str | None) -> str:
    """The feed's declaration, start tag and own elements, as ElementTree writes them before the first entry."""
    lang = f' xml:lang="{_xml_attribute(info.lang)}"' if info.lang else ""
    links = [
        f'\n  <link rel="self" type="application/atom+xml" href="{_attribute(href(info.path, info.path, base_url))}" />',
        f'\n  <link rel="alternate" type="text/html" href="{_attribute(href(info.alternate, info.path, base_url))}" />',
        *(
            f'\n  <link rel="alternate" type="application/atom+xml" hreflang="{_attribute(locale)}" '
            f'href="{_attribute(href(path, info.path, base_url))}" />'
            for locale, path in info.alternates
        ),
    ]
    return (
        f"<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns=\"{ATOM}\"{lang}>"
        f"\n  <id>{_urn(base_url, 'feed', info.path)}</id>"
        + _xml_element("title", info.title, "  ")
        + f"\n  <updated>{_stamp(updated)}</updated>"
        + f"\n  <author>{_xml_element('name', info.author)}\n  </author>"
        + "".join(links)
        + "\n  <generator>policygen</generator>"
    )


def _atom_entry(e: FeedEntry, feed_path: str, base_url: str | None, mark_english: bool) -> str:
    """One entry of a feed at *feed_path*, as ElementTree writes it among the feed's children (indented). Its
    id (hex digits) and dates (digits) have nothing to escape; every other text is cleaned and escaped."""
    released = _stamp(e.released)
    title = e.heading or f"{e.organisation}: {e.title}, version {e.version} (effective {e.effective.isoformat()})"
    category = ""
    if e.tier:
        category = f'\n    <category term="{_attribute(e.tier)}" label="{_attribute(f"{e.tier} change")}" />'
    summary = e.summary or ForeignWord(  # policygen's own English: marked as such in a feed in another language
        f"Version {e.version} of the {e.title} of {e.organisation}, released "
        f"{e.released.isoformat()}, takes effect on {e.effective.isoformat()}."
    )
    summary_attributes = ' type="text"'
    if isinstance(summary, ForeignWord) and mark_english:
        summary_attributes += f' xml:lang="{_xml_attribute(summary.lang)}"'
    return (
        f"\n  <entry>\n    <id>{_urn(base_url, e.tenant, e.document, str(e.version))}</id>"
        + _xml_element("title", title)
        + f"\n    <published>{released}</published>\n    <updated>{released}</updated>"
        + f"\n    <author>{_xml_element('name', e.organisation, '      ')}\n    </author>"
        + f'\n    <link rel="alternate" type="text/html" href="{_attribute(href(e.page, feed_path, base_url))}" />'
        + category
        + _xml_element("summary", summary, attributes=summary_attributes)
        + "\n  </entry>"
    )


def _xml_element(tag: str, text: str, indent: str = "    ", attributes: str = "") -> str:
    """An element without children, on a line of its own, as ElementTree writes it (empty: `<tag />`)."""
    content = _xml_text(text)
    if not content:
        return f"\n{indent}<{tag}{attributes} />"
    return f"\n{indent}<{tag}{attributes}>{html.escape(content, quote=False)}</{tag}>"  # &, < and >, as ElementTree


def _attribute(value: str) -> str:
    """An attribute's value as `sub` sets it (control characters dropped) and ElementTree writes it."""
    return _xml_attribute(_xml_text(value) or "")


def _xml_attribute(value: str) -> str:
    """An attribute's value escaped as ElementTree escapes it (not html.escape: it escapes quotes too)."""
    for char, entity in _ATTRIBUTE_ESCAPES:
        if char in value:
            value = value.replace(char, entity)
    return value


_ATTRIBUTE_ESCAPES = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ('"', "&quot;"),
    ("\r", "&#13;"),
    ("\n", "&#10;"),
    ("\t", "&#09;"),
)


# --- sitemap -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SitemapPage:
    """A page sitemap.xml lists."""

    path: str
    effective: dt.date | None


def sitemap_pages(outputs: Iterable[Output]) -> list[SitemapPage]:
    """The public pages among *outputs*, which sitemap.xml lists (drafts are not public)."""
    return [
        SitemapPage(o.path, o.effective)
        for o in outputs
        if o.kind in PUBLIC_KINDS and o.path.endswith(".html") and o.version != "draft"
    ]


def sitemap(outputs: list[Output], base_url: str | None) -> Output | None:
    """sitemap.xml of every public page; None without a base_url (sitemaps need absolute URLs)."""
    return sitemap_of(sorted(sitemap_pages(outputs), key=lambda p: p.path), base_url)


@dataclass(frozen=True)
class CopiedPages:
    """A tenant's URLs as the previous sitemap.xml holds them, copied (policygen/spans.py)."""

    path: str  # the tenant's folder, "<slug>/": where its URLs sort among the pages
    data: bytes


def sitemap_of(
    pages: Iterable[SitemapPage | CopiedPages],
    base_url: str | None,
    into: Path | None = None,
    recorder: Recorder | None = None,
) -> Output | None:
    """sitemap.xml of *pages*, given in path order (a site's are many: they are never all in memory); None
    without a base_url (sitemaps need absolute URLs). Given *into*, written there a batch at a time. The
    *recorder*, if given, writes down where each folder's URLs lie in it (policygen/spans.py)."""
    if not base_url:
        return None
    parts = _sitemap_parts(pages, base_url, recorder)
    made = Output(SITEMAP_PATH, "data", b"")
    return write_streamed(into, parts, made) if into is not None else replace(made, data=b"".join(parts))


_URL_START = "\n  <url>\n    <loc>"


def sitemap_layout(base_url: str) -> Layout:
    """How sitemap.xml's URLs look (_sitemap_parts), for checking a tenant's copied from the previous one."""

    def folder_start(first: str) -> bytes:
        return (_URL_START + html.escape(absolute(base_url, first), quote=False)).encode()

    return Layout(_URL_START.encode(), b"\n  </url>", b"", b"\n</urlset>", folder_start)


def _sitemap_parts(
    pages: Iterable[SitemapPage | CopiedPages], base_url: str, recorder: Recorder | None = None
) -> Iterator[bytes]:
    """The bytes ElementTree gives for the sitemap's tree, indented (ET.indent), with its XML declaration
    and a newline, a batch of URLs at a time. Written as text: a URL is three elements of fixed shape, and
    ElementTree's serializer, in Python, was most of a rebuild's sitemap (tests/test_feeds.py compares
    the two)."""
    head = f"<?xml version='1.0' encoding='utf-8'?>\n<urlset xmlns=\"{SITEMAP}\""
    items = iter(pages)
    first = next(items, None)
    if first is None:
        yield (head + " />\n").encode()
        return
    batch = [(head + ">").encode()]
    at = len(batch[0])  # where the next URL begins in the file
    folder, began = None, at  # the folder of the URLs written last, and where its first began
    for item in itertools.chain([first], items):
        here = _folder(item.path)
        if here != folder:
            if folder is not None and recorder is not None:
                recorder.add(folder, began, at)
            folder, began = here, at
        if isinstance(item, CopiedPages):
            data = item.data
        else:
            url = html.escape(absolute(base_url, item.path), quote=False)  # &, < and >, as ElementTree escapes text
            lastmod = "" if item.effective is None else f"\n    <lastmod>{item.effective.isoformat()}</lastmod>"
            data = f"{_URL_START}{url}</loc>{lastmod}\n  </url>".encode()
        batch.append(data)
        at += len(data)
        if len(batch) >= XML_BATCH:
            yield b"".join(batch)
            batch = []
    if folder is not None and recorder is not None:
        recorder.add(folder, began, at)
    batch.append(b"\n</urlset>\n")
    yield b"".join(batch)


def _folder(path: str) -> str | None:
    """The top-level folder of a site path, "<slug>/"; None for a file at the top."""
    slash = path.find("/")
    return None if slash < 0 else path[: slash + 1]


XML_BATCH = 256  # elements (feed entries, sitemap URLs) written at a time
