"""Machine-readable history: Atom feeds, sitemap.xml, version.json, and a manifest that matches the output."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import posixpath
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import copy_project
from hypothesis import given, settings
from hypothesis import strategies as st

from policygen import feeds
from policygen.engine import BuildReport, build
from policygen.feeds import SITEMAP, FeedEntry, FeedInfo, SitemapPage, atom, sitemap_of
from policygen.paths import absolute
from policygen.site import BuildOptions
from policygen.versions import load_releases

TODAY = dt.date(2026, 11, 22)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
A = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE = "https://policies.example.org/"
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"
DEMO = "example-fitness"  # the invented demo tenant: the only one with released versions


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The example project (with its releases and base_url) built on a fixed date, with drafts."""
    project = copy_project(tmp_path_factory.mktemp("feeds") / "project")
    (project / "policygen.yaml").write_text(f"base_url: {BASE}\n", encoding="utf-8")
    facts = project / "tenants" / DEMO / "tenant.yaml"  # an unreleased edit, so a draft is published
    facts.write_text(
        facts.read_text(encoding="utf-8").replace("a workout tracking app", "a workout tracking app for members"),
        encoding="utf-8",
    )
    return build(project, project / "build", BuildOptions(today=TODAY, drafts=True))


@pytest.fixture(scope="module")
def built_without_base_url(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    project = copy_project(tmp_path_factory.mktemp("feeds-relative") / "project")
    (project / "policygen.yaml").unlink(missing_ok=True)
    return build(project, project / "build", BuildOptions(today=TODAY))


def parse_feed(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{A}feed", path
    return root


def check_atom(feed: ET.Element) -> None:
    """The elements RFC 4287 requires, in the forms it requires."""
    for tag in ("id", "title", "updated"):
        assert len(feed.findall(f"{A}{tag}")) == 1, tag
    dt.datetime.strptime(feed.findtext(f"{A}updated") or "", RFC3339)
    assert feed.find(f"{A}author/{A}name") is not None  # feed-level author covers every entry
    assert feed.find(f"{A}link[@rel='self']") is not None
    ids = [feed.findtext(f"{A}id")]
    for entry in feed.findall(f"{A}entry"):
        for tag in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{tag}")) == 1, tag
            assert (entry.findtext(f"{A}{tag}") or "").strip(), tag
        dt.datetime.strptime(entry.findtext(f"{A}updated") or "", RFC3339)
        alternate = entry.find(f"{A}link[@rel='alternate']")
        assert alternate is not None and alternate.get("href")
        assert entry.find(f"{A}summary") is not None or entry.find(f"{A}content") is not None
        ids.append(entry.findtext(f"{A}id"))
    assert all(i and (i.startswith(("urn:uuid:", "http"))) for i in ids)
    assert len(set(ids)) == len(ids)


def versions_on_site(out: Path) -> int:
    return sum(1 for _ in out.glob("*/*/*/version.json"))


def test_every_feed_is_valid_atom_with_one_entry_per_version(built: BuildReport) -> None:
    out = built.out
    feeds = sorted(out.rglob("feed.xml"))
    # the site, each tenant, each document, IMS Pro and its policy in Hindi
    assert len(feeds) == 1 + 4 + 6 + 2
    for path in feeds:
        check_atom(parse_feed(path))
    site_feed = parse_feed(out / "feed.xml")
    assert len(site_feed.findall(f"{A}entry")) == versions_on_site(out) == 2  # only the demo tenant has releases
    tenant_feed = parse_feed(out / DEMO / "feed.xml")
    assert len(tenant_feed.findall(f"{A}entry")) == 2
    doc_feed = parse_feed(out / DEMO / "privacy-policy" / "feed.xml")
    entries = doc_feed.findall(f"{A}entry")
    assert [e.findtext(f"{A}updated") for e in entries] == ["2026-01-15T00:00:00Z", "2025-12-01T00:00:00Z"]
    assert doc_feed.findtext(f"{A}updated") == "2026-01-15T00:00:00Z"
    assert [e.find(f"{A}link").get("href") for e in entries] == [  # type: ignore[union-attr]
        BASE + f"{DEMO}/privacy-policy/2026-03-01/",
        BASE + f"{DEMO}/privacy-policy/2026-01-01/",
    ]
    assert parse_feed(out / "ims-global" / "privacy-policy" / "feed.xml").findall(f"{A}entry") == []  # nothing released


def test_feed_entries_keep_their_ids_across_builds_and_sites(built: BuildReport, tmp_path: Path) -> None:
    again = build(built.out.parent, tmp_path / "again", BuildOptions(today=dt.date(2027, 5, 1)))
    ids = lambda out: [e.findtext(f"{A}id") for e in parse_feed(out / "feed.xml").findall(f"{A}entry")]  # noqa: E731
    assert ids(again.out) == ids(built.out)


def test_without_base_url_feed_links_are_relative_and_lead_to_real_files(built_without_base_url: BuildReport) -> None:
    out = built_without_base_url.out
    for path in out.rglob("feed.xml"):
        feed = parse_feed(path)
        check_atom(feed)
        for link in feed.iter(f"{A}link"):
            href = link.get("href") or ""
            assert "://" not in href
            target = Path(posixpath.normpath((path.parent / href).as_posix()))
            assert target.is_file(), f"{path}: {href}"
    assert not (out / "sitemap.xml").exists()  # sitemaps need absolute URLs


def test_the_sitemap_lists_every_public_page_and_no_draft(built: BuildReport) -> None:
    urlset = ET.parse(built.out / "sitemap.xml").getroot()
    locs = [u.findtext(f"{SM}loc") for u in urlset.findall(f"{SM}url")]
    assert all(loc and loc.startswith(BASE) for loc in locs)
    public = {
        o.path
        for o in built.outputs
        if o.kind in ("index", "page", "archive", "history") and o.path.endswith(".html") and o.version != "draft"
    }
    expected = {BASE + (p[: -len("index.html")] if p.endswith("index.html") else p) for p in public}
    assert set(locs) == expected
    assert BASE + f"{DEMO}/privacy-policy/2026-01-01/" in locs
    assert not any("/draft/" in (loc or "") for loc in locs)
    assert any(o.path.endswith("/draft/index.html") for o in built.outputs)  # a draft exists, and is left out


def test_each_version_has_a_json_file_with_its_facts_dates_hashes_and_urls(built: BuildReport) -> None:
    history = load_releases(built.out.parent / "tenants" / DEMO, "privacy-policy")
    data = json.loads((built.out / f"{DEMO}/privacy-policy/2026-01-01/version.json").read_text(encoding="utf-8"))
    assert (data["version"], data["effective"], data["released"]) == (1, "2026-01-01", "2025-12-01")
    assert data["sha256"] == history[0].hash and data["previous_sha256"] is None
    assert data["replaced_by"] == {"version": 2, "effective": "2026-03-01"}
    assert data["facts"]["organisation"]["legal_name"] == "Example Fitness Ltd"
    assert data["snapshot"] == f"tenants/{DEMO}/releases/privacy-policy/0001-2026-01-01.json"
    assert data["urls"]["page"] == BASE + f"{DEMO}/privacy-policy/2026-01-01/"
    assert data["paths"]["stable"] == f"{DEMO}/privacy-policy/index.html"
    assert [c["id"] for c in data["clauses"]][:3] == ["at-a-glance", "introduction", "controller"]
    for path in data["paths"].values():
        assert (built.out / path).is_file(), path


def test_the_manifest_lists_every_file_that_exists_and_nothing_else(built: BuildReport) -> None:
    out = built.out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert listed == on_disk - {"manifest.json"}
    kinds = {f["path"]: f["kind"] for f in manifest["files"]}
    assert kinds["feed.xml"] == kinds[f"{DEMO}/feed.xml"] == kinds[f"{DEMO}/privacy-policy/feed.xml"] == "feed"
    assert kinds["sitemap.xml"] == "data"
    assert kinds[f"{DEMO}/privacy-policy/2026-03-01/version.json"] == "data"
    assert kinds[f"{DEMO}/privacy-policy/2026-03-01/index.html"] == "archive"
    assert kinds[f"{DEMO}/privacy-policy/history/index.html"] == "history"


def test_feeds_and_version_files_are_byte_identical_across_builds(built: BuildReport, tmp_path: Path) -> None:
    again = build(built.out.parent, tmp_path / "again", BuildOptions(today=TODAY, drafts=True))
    for rel in ("feed.xml", "sitemap.xml", f"{DEMO}/feed.xml", f"{DEMO}/privacy-policy/2026-03-01/version.json"):
        assert (again.out / rel).read_bytes() == (built.out / rel).read_bytes(), rel


def test_facts_in_feeds_stay_text_and_the_feed_stays_well_formed(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    facts = project / "tenants" / DEMO / "tenant.yaml"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(
        text.replace("  legal_name: ", '  legal_name: "<b>Evil</b> & Co\\v ]]> "\n  x_old_legal_name: ', 1).replace(
            "  x_old_legal_name: ", "  # ", 1
        ),
        encoding="utf-8",
    )
    from policygen.versions import release

    release(project, DEMO, dt.date(2027, 1, 1), released=dt.date(2026, 11, 1))
    report = build(project, project / "build", BuildOptions(today=TODAY))
    for path in ("feed.xml", f"{DEMO}/feed.xml", f"{DEMO}/privacy-policy/feed.xml"):
        feed = parse_feed(report.out / path)  # well-formed despite the control character
        check_atom(feed)
        titles = [e.findtext(f"{A}title") or "" for e in feed.findall(f"{A}entry")]
        assert any(t.startswith("<b>Evil</b> & Co ]]> : Privacy Policy, version 3") for t in titles), titles
    version = json.loads((report.out / f"{DEMO}/privacy-policy/2027-01-01/version.json").read_text(encoding="utf-8"))
    assert version["organisation"] == "<b>Evil</b> & Co\v ]]> "


def test_pages_advertise_their_feed(built_without_base_url: BuildReport) -> None:
    out = built_without_base_url.out
    for page in (
        "index.html",
        "ims-pro/index.html",
        "ims-pro/privacy-policy/index.html",
        f"{DEMO}/index.html",
        f"{DEMO}/privacy-policy/2026-01-01/index.html",
        f"{DEMO}/privacy-policy/history/index.html",
    ):
        html = BeautifulSoup((out / page).read_text(encoding="utf-8"), "html.parser")
        link = html.find("link", attrs={"rel": "alternate", "type": "application/atom+xml"})
        assert link is not None, page
        assert parse_feed(Path(posixpath.normpath((out / page).parent / link["href"]))) is not None


def test_policygens_default_entry_summary_is_marked_english_in_a_feed_in_another_language() -> None:
    entry = FeedEntry(
        "t", "Org", "privacy-policy", "Privacy policy", 1, dt.date(2026, 1, 1), dt.date(2026, 1, 1), "t/p/"
    )
    info = FeedInfo("t/privacy-policy/hi/feed.xml", "T", "Org", "t/privacy-policy/hi/", dt.date(2026, 1, 1), lang="hi")
    summary = ET.fromstring(atom(info, [entry], None).data).find(f"{A}entry/{A}summary")
    assert summary is not None and summary.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    english = atom(replace(info, lang="en"), [entry], None).data
    assert b'xml:lang="en"' not in english.split(b"<entry>")[1]


def some_entries(count: int) -> list[FeedEntry]:
    return [
        FeedEntry(
            f"t{i % 7}",
            f"Org <{i}> & co",
            "privacy-policy",
            "Privacy policy",
            i,
            dt.date(2026, 1, 1) + dt.timedelta(days=i),
            dt.date(2025, 12, 1) + dt.timedelta(days=i % 11),
            f"t{i % 7}/privacy-policy/{i}/",
            summary=None if i % 3 else f"Summary {i}",
            tier="major" if i % 2 else None,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [0, 1, 5, 13])
def test_a_site_feed_made_a_batch_of_entries_at_a_time_is_byte_for_byte_the_feed_made_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, count: int
) -> None:
    info = FeedInfo("feed.xml", "Policies", "Policies", "index.html", dt.date(2026, 1, 1), lang="hi")
    whole = atom(info, some_entries(count), BASE).data
    assert len(ET.fromstring(whole).findall(f"{A}entry")) == count
    monkeypatch.setattr(feeds, "XML_BATCH", 2)
    assert atom(info, some_entries(count), BASE).data == whole
    written = atom(info, some_entries(count), BASE, into=tmp_path / "feed.xml")
    assert written.data == b"" and (tmp_path / "feed.xml").read_bytes() == whole
    assert written.size == len(whole) and written.sha256 == hashlib.sha256(whole).hexdigest()


@pytest.mark.parametrize("count", [0, 1, 2, 7])
def test_a_sitemap_made_a_batch_of_pages_at_a_time_is_byte_for_byte_the_sitemap_made_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, count: int
) -> None:
    pages = [SitemapPage(f"t/{i:03d}/index.html", dt.date(2026, 1, i + 1) if i % 2 else None) for i in range(count)]
    whole = sitemap_of(pages, BASE)
    assert whole is not None and len(ET.fromstring(whole.data).findall(f"{SM}url")) == count
    monkeypatch.setattr(feeds, "XML_BATCH", 3)
    written = sitemap_of(iter(pages), BASE, into=tmp_path / "sitemap.xml")
    assert written is not None and (tmp_path / "sitemap.xml").read_bytes() == whole.data


def _sitemap_by_element_tree(pages: list[SitemapPage], base: str) -> bytes:
    """sitemap.xml as ElementTree writes the whole tree: what policygen's sitemap is written to equal."""
    ET.register_namespace("", SITEMAP)
    urlset = ET.Element(f"{{{SITEMAP}}}urlset")
    for page in pages:
        url = ET.SubElement(urlset, f"{{{SITEMAP}}}url")
        ET.SubElement(url, f"{{{SITEMAP}}}loc").text = absolute(base, page.path)
        if page.effective is not None:
            ET.SubElement(url, f"{{{SITEMAP}}}lastmod").text = page.effective.isoformat()
    ET.indent(urlset)
    return ET.tostring(urlset, encoding="utf-8", xml_declaration=True) + b"\n"


_PATH_PARTS = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("&<>\"'/ "), max_size=12
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_PATH_PARTS, st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1))), max_size=9),
    st.integers(1, 4),
)
def test_the_sitemap_written_as_text_is_byte_for_byte_what_element_tree_writes(
    items: list[tuple[str, dt.date | None]], batch: int
) -> None:
    pages = [SitemapPage(f"t/{text}/index.html", effective) for text, effective in items]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feeds, "XML_BATCH", batch)
        made = sitemap_of(iter(pages), "https://policies.example/a&b/")
    assert made is not None and made.data == _sitemap_by_element_tree(pages, "https://policies.example/a&b/")


def _atom_by_element_tree(info: FeedInfo, entries: list[FeedEntry], base: str | None) -> bytes:
    """A feed as ElementTree writes the whole tree (the way policygen made feeds before their entries were
    written as text): what policygen's feeds are written to equal."""
    ET.register_namespace("", feeds.ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{A}{tag}", {k: feeds._xml_text(v) or "" for k, v in attrs.items()})
        node.text = feeds._xml_text(text)
        return node

    root = ET.Element(f"{A}feed", {XML_LANG: info.lang} if info.lang else {})
    sub(root, "id", feeds._urn(base, "feed", info.path))
    sub(root, "title", info.title)
    sub(root, "updated", feeds._stamp(entries[0].released if entries else info.fallback_updated))
    sub(sub(root, "author"), "name", info.author)
    sub(root, "link", rel="self", type="application/atom+xml", href=feeds.href(info.path, info.path, base))
    sub(root, "link", rel="alternate", type="text/html", href=feeds.href(info.alternate, info.path, base))
    for lang, path in info.alternates:
        link = {"rel": "alternate", "type": "application/atom+xml", "hreflang": lang}
        sub(root, "link", **link, href=feeds.href(path, info.path, base))
    sub(root, "generator", "policygen")
    for e in entries:
        entry = sub(root, "entry")
        sub(entry, "id", feeds._urn(base, e.tenant, e.document, str(e.version)))
        effective = e.effective.isoformat()
        sub(entry, "title", e.heading or f"{e.organisation}: {e.title}, version {e.version} (effective {effective})")
        sub(entry, "published", feeds._stamp(e.released))
        sub(entry, "updated", feeds._stamp(e.released))
        sub(sub(entry, "author"), "name", e.organisation)
        sub(entry, "link", rel="alternate", type="text/html", href=feeds.href(e.page, info.path, base))
        if e.tier:
            sub(entry, "category", term=e.tier, label=f"{e.tier} change")
        summary = e.summary or feeds.ForeignWord(
            f"Version {e.version} of the {e.title} of {e.organisation}, released "
            f"{e.released.isoformat()}, takes effect on {effective}."
        )
        node = sub(entry, "summary", summary, type="text")
        if isinstance(summary, feeds.ForeignWord) and info.lang and feeds.source_text_lang(info.lang):
            node.set(XML_LANG, summary.lang)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# Any text a fact or a title may hold: XML's special characters, quotes, white space and control characters
# (which a feed drops), letters of any script.
_FEED_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]) | st.sampled_from("&<>\"'\r\n\t \x01"), max_size=10
)
_FEED_ENTRIES = st.lists(
    st.builds(
        FeedEntry,
        tenant=_FEED_TEXT,
        organisation=_FEED_TEXT,
        document=_FEED_TEXT,
        title=_FEED_TEXT,
        version=st.integers(1, 30),
        effective=st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
        released=st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
        page=_FEED_TEXT.map(lambda text: f"t/{text}/index.html"),
        summary=st.none() | _FEED_TEXT,
        tier=st.none() | st.sampled_from(["material", "minor"]) | _FEED_TEXT,
        heading=st.none() | _FEED_TEXT,
    ),
    max_size=6,
)


_FEED_INFOS = st.builds(
    FeedInfo,
    path=_FEED_TEXT.map(lambda text: f"t/{text}/feed.xml"),
    title=_FEED_TEXT,
    author=_FEED_TEXT,
    alternate=_FEED_TEXT.map(lambda text: f"t/{text}/index.html"),
    fallback_updated=st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
    lang=st.none() | st.sampled_from(["en", "hi", "fr", "ar"]),
    alternates=st.lists(st.tuples(_FEED_TEXT, _FEED_TEXT.map(lambda text: f"t/{text}/feed.xml")), max_size=3).map(
        tuple
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    _FEED_ENTRIES,
    _FEED_INFOS,
    st.none() | st.just(BASE) | st.just("https://policies.example/a&b/"),
    st.integers(1, 4),
)
def test_a_feed_written_as_text_is_byte_for_byte_what_element_tree_writes(
    entries: list[FeedEntry], info: FeedInfo, base: str | None, batch: int
) -> None:
    ordered = feeds.newest_first(entries)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feeds, "XML_BATCH", batch)
        made = atom(info, entries, base).data
    assert made == _atom_by_element_tree(info, ordered, base)
