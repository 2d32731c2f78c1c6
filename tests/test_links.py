"""Where a link of the site leads and whether it arrives (policygen/links.py): a tenant's links settled in its own
folder or against the site-wide files by name, the rest later against every tenant's files."""

from __future__ import annotations

import time

import pytest

from policygen.htmltext import PageLinks
from policygen.links import OUTSIDE, Folder, Names, Pages, SiteFiles, Target, TenantFiles, dead_end, follow, target
from policygen.output import Output


def page(path: str, body: str = "", tenant: str | None = "t") -> Output:
    return Output(path, "page", f"<html><body>{body}</body></html>".encode(), tenant=tenant, document="privacy-policy")


@pytest.mark.parametrize(
    ("href", "leads"),
    [
        ("#rights", Target("t/privacy-policy/index.html", "rights")),
        ("../cookie-policy/", Target("t/cookie-policy", "", folder=True)),
        ("../../index.html#top%20part", Target("index.html", "top part")),
        ("../../../elsewhere.html", OUTSIDE),
        ("/privacy-policy/", OUTSIDE),
        ("https://example.org/x#y", None),
        ("mailto:privacy@example.org", None),
    ],
)
def test_a_link_leads_to_a_path_from_the_sites_root_and_an_anchor(href: str, leads: Target | str | None) -> None:
    assert target("t/privacy-policy/index.html", href) == leads


def test_a_tenants_links_are_settled_in_its_folder_or_by_the_site_files_names_or_else_wait() -> None:
    pages = Pages(
        [
            page(
                "t/privacy-policy/index.html",
                '<h2 id="rights">Rights</h2><a href="#rights">a</a><a href="#gone">b</a><a href="../../index.html">c</a>'
                '<a href="../lost/">d</a><a href="../../index.html#top">e</a><a href="../../u/index.html">f</a>'
                '<a href="../../gone.html">g</a>',
            )
        ]
    )
    folder = Folder("t", pages, Names(frozenset({"index.html", "assets/style.css"})))
    dead, waiting = follow(pages, folder, folder.later)
    assert {(link.href, problem) for link, problem in dead} == {
        ("#gone", "points to '#gone', which is not on this page"),
        ("../lost/", "leads to no file of the site"),
    }
    # An anchor on a site-wide page, another tenant's file, a file the site does not name: followed at the end.
    assert [link.href for link in waiting] == ["../../gone.html", "../../index.html#top", "../../u/index.html"]


def test_the_site_knows_each_tenants_files_by_name_and_makes_a_tenant_again_only_for_its_ids() -> None:
    made: list[str] = []

    def tenant_pages(slug: str) -> Pages | None:
        made.append(slug)
        if slug == "broken":
            return None  # its facts fail
        return Pages([page(f"{slug}/privacy-policy/index.html", '<h2 id="rights">x</h2>', slug)])

    tenants = TenantFiles()
    tenants.add("u", ["u/index.html", "u/privacy-policy/index.html"])
    tenants.add("v", ["v/privacy-policy/index.html", "v/index.html"])
    assert tenants.names["u"] is tenants.names["v"]  # one tuple for tenants with the same files
    others = {"w", "broken"}  # tenants of the project this run did not check: not named, or failing
    site = SiteFiles(Pages([page("index.html", '<a id="top"></a>', None)]), tenants, tenant_pages, others.__contains__)
    here = "t/privacy-policy/index.html"
    assert dead_end(here, Target("u/privacy-policy", "", folder=True), site) is None
    assert dead_end(here, Target("index.html", "top"), site) is None
    assert dead_end(here, Target("nobody/index.html", ""), site) == "leads to no file of the site"
    assert made == []  # no anchor asked of a tenant's page yet
    assert dead_end(here, Target("u/privacy-policy/index.html", "rights"), site) is None
    assert dead_end(here, Target("u/privacy-policy/index.html", "nowhere"), site) == (
        "points to '#nowhere', which is not on u/privacy-policy/index.html"
    )
    assert made == ["u"]
    # Another tenant of the project is made for its files; one whose facts fail cannot be followed into.
    assert site.followed(Target("w/privacy-policy/index.html", "rights"))
    assert dead_end(here, Target("w/privacy-policy/index.html", "rights"), site) is None
    assert dead_end(here, Target("w/cookie-policy/index.html", ""), site) == "leads to no file of the site"
    assert not site.followed(Target("broken/index.html", ""))
    assert site.followed(Target("nobody/index.html", "")) and site.followed(Target("u/index.html", "x"))
    assert made == ["u", "w", "broken"]


def test_a_link_knows_the_clause_section_it_is_first_in() -> None:
    html = (
        '<a href="../index.html">top</a><section id="rights"><div><a href="#a">a</a>'
        '<section><a href="#b">b</a></section></div></section>'
        '<article id="extra"><a href="#a">again</a><a href="../x/">x</a></article>'
    )
    links = {href: section for _, href, section in Pages([page("t/p/index.html", html)]).links()}
    assert links == {"../index.html": None, "#a": "rights", "#b": "rights", "../x/": "extra"}


def test_a_page_is_read_for_its_ids_and_links_as_a_browser_parses_it_each_link_with_its_clauses_section() -> None:
    read = PageLinks.read(
        '<a name="top"></a><img src="logo.svg" alt="">'
        '<article id="policy"><section id="rights"><h2 id="r">Rights</h2>'
        '<p><a href="#r">here</a> and <a href="?a=1&amp;b=2">there</a><a href="#r">again</a></p>'
        '<section><a href="../other/#x" id="">in a section without an id</a></section></section>'
        '<section id="contact"><a href="#r">from contact</a><a href>no value</a></section></article>'
        '<a href="#top">outside</a><p id=unquoted><a id="x" href=mailto:dpo@example.org>mail</a></p>'
    )
    assert read.ids == {"top", "policy", "rights", "r", "contact", "unquoted", "x"}  # an empty id names nothing
    assert read.hrefs == {"logo.svg", "#r", "?a=1&b=2", "../other/#x", "#top", "mailto:dpo@example.org"}
    assert read.sections == {"#r": "rights", "?a=1&b=2": "rights", "../other/#x": "rights"}  # innermost with an id,
    # where each is first written (a link without a value is none)


@pytest.mark.parametrize("tag", ["div", "section"])
def test_a_deep_page_with_many_links_is_read_in_time_that_grows_with_its_size_not_depth_times_links(tag: str) -> None:
    # 20,000 links at the bottom of 20,000 nested elements (a template's loop can write it): each link's climb to
    # its section once took a minute here; each element is passed once now (0.7 s).
    deep = f"<{tag}>" * 20_000 + "".join(f'<a href="#{i}">x</a>' for i in range(20_000)) + f"</{tag}>" * 20_000
    started = time.monotonic()
    read = PageLinks.read(deep)
    assert len(read.hrefs) == 20_000 and read.sections == {}
    assert time.monotonic() - started < 15
