"""Clause rendering: facts stay text, rendering is strict, tenants and projects override without copying."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import edit

from policygen import markdown
from policygen.engine import build
from policygen.errors import InputError
from policygen.project import load_project
from policygen.render import ClauseRenderer, render_document
from policygen.site import BuildOptions

OPTS = BuildOptions(today=dt.date(2026, 11, 22))
DRAFTS = BuildOptions(today=dt.date(2026, 11, 22), drafts=True)  # edits to released documents show as drafts


def page(out: Path, slug: str, doc: str = "privacy-policy", draft: bool = False) -> BeautifulSoup:
    file = out / slug / doc / ("draft" if draft else "") / "index.html"
    return BeautifulSoup(file.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.parametrize(
    "value",
    [
        "<b>Bold</b> & <script>alert(1)</script>",
        "*stars* and _underscores_ and `code`",
        "[a link](https://evil.example) ![img](https://evil.example/x.png)",
        "{{ organisation.legal_name }} {% if true %}x{% endif %}",
        "# not a heading",
        "line one\n\n- not a list",
        "| not | a | cell |",
        "&amp; &lt;b&gt;",
    ],
)
def test_a_fact_containing_markup_shows_literally(project: Path, value: str) -> None:
    tenant = project / "tenants" / "ims-pro" / "tenant.yaml"
    edit(tenant, "reason: To upload attachments and download documents", "reason: " + json.dumps(value))
    report = build(project, project / "build", DRAFTS)
    soup = page(report.out, "ims-pro")
    section = soup.find("section", id="apps-permissions")
    assert " ".join(value.split()) in " ".join(section.get_text(" ").split())
    for tag in ("script", "img", "em", "code", "h1", "table"):
        assert section.find(tag) is None, tag
    assert all(a["href"] != "https://evil.example" for a in soup.find_all("a", href=True))


def test_printing_an_undefined_fact_names_the_tenant_the_clause_file_and_the_line(project: Path) -> None:
    clause = project / "content" / "privacy-policy" / "100-security.md"
    edit(clause, "{{ security.summary }}", "{{ security.summary }}\n\n{{ security.sumary }}")
    with pytest.raises(InputError) as caught:
        build(project, project / "build", OPTS)
    problems = caught.value.problems
    assert {p.file for p in problems} == {clause}
    assert all(p.line == 9 for p in problems)
    assert all("sumary" in p.message for p in problems)
    tenants = sorted(p.message.split("'")[1] for p in problems)
    assert tenants == ["ihm-connect", "ims-global", "ims-pro"]  # every tenant reported in one run


def test_printing_an_unset_optional_fact_is_an_error_not_an_empty_string(project: Path) -> None:
    clause = project / "content" / "privacy-policy" / "180-contact.md"
    edit(clause, "If you have a question", "Phone {{ organisation.phone }}. If you have a question")
    with pytest.raises(InputError) as caught:
        build(project, project / "build", BuildOptions(tenants=["ims-pro"], today=OPTS.today))
    [problem] = caught.value.problems
    assert problem.file == clause and problem.line == 7
    assert "not set" in problem.message and "ims-pro" in problem.message


def test_a_clause_whose_condition_is_false_is_left_out(project: Path) -> None:
    report = build(project, project / "build", OPTS)
    assert page(report.out, "ims-pro").find("section", id="transfers") is None
    assert page(report.out, "ims-global").find("section", id="transfers") is not None


def test_a_tenant_clause_with_a_library_id_replaces_it_for_that_tenant_only(project: Path) -> None:
    own = project / "tenants" / "ims-pro" / "content" / "privacy-policy"
    own.mkdir(parents=True)
    (own / "security.md").write_text(
        "---\nid: security\ntitle: How we protect data\norder: 100\n---\nOur own words about {{ organisation.display_name }}.\n",
        encoding="utf-8",
    )
    (own / "extra.md").write_text(
        "---\nid: field-work\ntitle: Field work\norder: 55\n---\nAn added clause.\n", encoding="utf-8"
    )
    report = build(project, project / "build", DRAFTS)
    mine = page(report.out, "ims-pro")
    assert mine.find("section", id="security").get_text(" ").split() == [
        "How",
        "we",
        "protect",
        "data",
        "Our",
        "own",
        "words",
        "about",
        "IMS",
        "Pro.",
    ]
    ids = [s["id"] for s in mine.find_all("section")]
    assert ids.index("field-work") == ids.index("apps-permissions") + 1
    other = page(report.out, "ims-global")
    assert "Our own words" not in other.get_text() and other.find("section", id="field-work") is None


def test_a_project_overrides_one_theme_template_without_copying_the_theme(project: Path) -> None:
    layouts = project / "layouts"
    layouts.mkdir()
    base = (project / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    (layouts / "base.html").write_text(
        base.replace("<footer", '<p id="house-rule">House style</p><footer'), encoding="utf-8"
    )
    report = build(project, project / "build", OPTS)
    assert page(report.out, "ims-pro").find(id="house-rule") is not None
    assert page(report.out, "ims-pro").find("nav", class_="toc") is not None  # document.html still the theme's


def test_tenant_branding_sets_the_accent_colour_and_logo(project: Path) -> None:
    folder = project / "tenants" / "ims-pro"
    (folder / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>', encoding="utf-8")
    edit(folder / "tenant.yaml", "theme:\n", "theme:\n  logo: logo.svg\n  display_name: IMS Pro Support\n")
    report = build(project, project / "build", OPTS)
    soup = page(report.out, "ims-pro")
    assert soup.find("img", src="../../ims-pro/assets/logo.svg") is not None
    assert (report.out / "ims-pro" / "assets" / "logo.svg").is_file()
    assert "IMS Pro Support" in soup.find("header").get_text()
    assert "--accent: #" in soup.find("style").get_text()


def test_every_page_has_a_title_dates_and_a_table_of_contents_with_stable_anchors(example_site) -> None:  # type: ignore[no-untyped-def]
    soup = page(example_site.out, "ihm-connect", "data-deletion-policy")
    assert soup.find("h1").get_text() == "Data Deletion Policy"
    dates = soup.find("dl", class_="dates").get_text(" ")
    assert "Effective" in dates and "Last updated" in dates
    toc = [a["href"] for a in soup.find("nav", class_="toc").find_all("a")]
    sections = ["#" + s["id"] for s in soup.find_all("section")]
    assert toc[: len(sections)] == sections or set(sections) <= set(toc)
    assert "#timelines" in toc and "#backups" in toc
    levels = [int(h.name[1]) for h in soup.find_all(["h1", "h2", "h3", "h4"])]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels))
    assert soup.find("main") and soup.find("header") and soup.find("footer")


def test_pages_make_no_external_requests(example_site) -> None:  # type: ignore[no-untyped-def]
    for file in example_site.out.rglob("*.html"):
        soup = BeautifulSoup(file.read_text(encoding="utf-8"), "html.parser")
        for tag, attr in (("link", "href"), ("script", "src"), ("img", "src"), ("iframe", "src")):
            for el in soup.find_all(tag):
                assert not str(el.get(attr, "")).startswith(("http:", "https:", "//")), (file, el)


def test_the_rust_and_python_markdown_renderers_agree_on_every_clause(project: Path) -> None:
    rust, python = markdown.rust_renderer(), markdown.python_renderer()
    seen: list[str] = []
    original = markdown._render

    def spy(source: str) -> str:
        seen.append(source)
        return original(source)

    markdown.render.cache_clear()
    loaded = load_project(project)
    renderer = ClauseRenderer(loaded.content)
    markdown._render = spy
    try:
        for tenant in loaded.tenants.values():
            for doc_id, clauses in tenant.documents.items():
                render_document(renderer, tenant.slug, tenant.facts, doc_id, clauses, doc_id)
    finally:
        markdown._render = original
        markdown.render.cache_clear()
    assert len(seen) > 30
    for source in seen:
        assert rust(source) == python(source), source


def test_clause_skeletons_are_shared_between_tenants_so_markdown_is_rendered_once(project: Path) -> None:
    markdown.render.cache_clear()
    loaded = load_project(project)
    renderer = ClauseRenderer(loaded.content)
    renderer.reuses_renders = False  # every clause rendered again: the Markdown cache alone is under test
    tenant = loaded.tenants["ims-pro"]
    render_document(renderer, "ims-pro", tenant.facts, "privacy-policy", tenant.documents["privacy-policy"], "P")
    first = markdown.render.cache_info()
    other = tenant.facts.model_copy(
        update={
            "organisation": tenant.facts.organisation.model_copy(
                update={"legal_name": "Another Org Ltd", "email": "privacy@another.example"}
            )
        }
    )
    render_document(renderer, "other", other, "privacy-policy", tenant.documents["privacy-policy"], "P")
    second = markdown.render.cache_info()
    # Only clauses whose shape depends on a changed value: the email is a link target (not a placeholder)
    # in the controller, contact and at-a-glance clauses.
    assert second.misses - first.misses <= 3
    assert second.hits - first.hits >= 8


def test_an_accent_colour_too_light_to_read_on_white_is_refused_with_a_darker_suggestion(project: Path) -> None:
    tenant = project / "tenants" / "ims-pro" / "tenant.yaml"
    text = tenant.read_text(encoding="utf-8")
    import re

    tenant.write_text(re.sub(r"accent: '#[0-9a-f]{6}'", "accent: '#7fbfff'", text), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        build(project, project / "build", OPTS)
    [problem] = caught.value.problems
    assert problem.key_path == "theme" and problem.line is not None
    assert "contrast 1.9:1" in problem.message and "darker shade such as #" in problem.message
    from policygen.colours import contrast

    suggested = problem.message.split("such as ")[1].split()[0]
    assert contrast(suggested, "#ffffff") >= 4.5
