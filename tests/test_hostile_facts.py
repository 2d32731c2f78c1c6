"""Facts are text in every output: script-injection payloads in every string fact stay inert.

One tenant ("hostile") gets a payload in every string fact the model accepts it in
(free text gets markup, Markdown, entities, Jinja and Unicode tricks; typed facts such
as URLs and emails get the nastiest value their type allows). The tenant releases its
plain facts, then the payloads, so archives, histories, feeds, the redline and the change
notices (page, app snippet and email) carry them too; the site is built while the second
version is announced and again once it is in force. Every
file in the output folder is checked against a build of the same project with clean
facts: HTML (and HTML in JSON fields named *html, Atom html content and Markdown outputs;
other JSON strings are plain text by definition) may contain no element,
attribute or URL scheme the clean build does not have, no event-handler attribute and
no link to a payload's host; and the payloads do show, literally, as text.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup, Tag
from click.testing import CliRunner
from conftest import REPO, copy_project
from markdown_it import MarkdownIt
from pydantic import ValidationError

from policygen.cli import cli
from policygen.facts import Tenant

MARK = "pgx"  # every payload carries it, so its traces are easy to find
PAYLOADS = [
    f'<script>alert("{MARK}1")</script>',
    f'<img src=x onerror=alert("{MARK}2")>',
    f'"><svg onload=alert("{MARK}3")>',
    f"' onmouseover='alert(\"{MARK}4\")' x='",
    f'javascript:alert("{MARK}5")',
    f'[click me](javascript:alert("{MARK}6"))',
    f"![pixel](https://evil.example/{MARK}7.png)",
    f"&lt;script&gt;alert('{MARK}8')&lt;/script&gt; &#60;b&#62;{MARK}8&#60;/b&#62;",
    f"{{{{ 7 * 7 }}}}{{% if true %}}{MARK}9{{% endif %}}{{# hidden #}}",
    f'<a href="https://evil.example/{MARK}10">{MARK}10</a>',
    f"**{MARK}11** _em_ `code` <!-- {MARK}11 --> <https://evil.example/{MARK}11>",
    f"\u202egnp.{MARK}12\u202c and zero\u200bwidth <scr\u200bipt>{MARK}12</scr\u200bipt>",
    f"]]><![CDATA[<script>{MARK}13</script>]]> </title><style>*{{}}</style> </textarea>",
    f'<iframe src="https://evil.example/{MARK}14"></iframe> <form action="https://evil.example"><input></form>',
    f"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg== {MARK}15",
    f"| {MARK}16 | table |\n|---|---|\n| x | y |\n\n# heading {MARK}16",
    f'=HYPERLINK("https://evil.example/{MARK}17","open") @SUM(1) +1 -1',  # spreadsheet formulas, for CSV
]
# Typed facts get the worst value their type accepts.
TYPED = [
    f"https://acme.example/{MARK}?q='onmouseover=alert(1)&x=javascript:alert(1)",
    f"{MARK}{{{{7*7}}}}&amp;*_`x@acme.example",
    "+44 (0) 20-7946-0000",
]
EVIL_HOST = "evil.example"
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "xlink:href", "srcset", "background", "cite"}
SAFE_SCHEMES = {"http", "https", "mailto", "tel"}


def leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaves(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from leaves(value, (*path, i))
    elif isinstance(data, str):
        yield path


def set_at(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def valid(data: dict[str, Any]) -> bool:
    try:
        Tenant.model_validate(data)
    except ValidationError:
        return False
    return True


def base_facts() -> dict[str, Any]:
    """ims-global's facts plus the blocks it lacks, so nearly every kind of string fact is there."""
    data: dict[str, Any] = yaml.safe_load((REPO / "tenants/ims-global/tenant.yaml").read_text(encoding="utf-8"))
    data.setdefault("apps", []).append(
        {
            "id": "app",
            "name": "App",
            "audience": "everyone",
            "platforms": ["android", "ios"],
            "encrypted_in_transit": True,
            "permissions": [{"id": "camera", "name": "Camera", "reason": "photos"}],
        }
    )
    for category in data["data_categories"]:  # app-store labels need them once an app collects the data
        category.setdefault("store_types", ["other", "photos"])
        for answer in ("linked", "tracking", "required", "ephemeral", "sold", "shared"):
            category.setdefault(answer, answer in ("linked", "required"))
    for purpose in data["purposes"]:
        purpose.setdefault("store_purpose", "other")
    data.setdefault("products", []).append({"id": "product", "name": "Product", "description": "a product"})
    data.setdefault("contacts", []).append(
        {
            "id": "support",
            "label": "Support",
            "email": "help@acme.example",
            "phone": "+1 555 0100",
            "url": "https://acme.example/help",
        }
    )
    for role in ("representative", "grievance_officer"):
        data.setdefault(
            role,
            {
                "name": "A Person",
                "title": "Officer",
                "email": "person@acme.example",
                "url": "https://acme.example/person",
            },
        )
    data.setdefault("automated_decisions", "We make no automated decisions.")
    data.setdefault(
        "deletion",
        {"how": "Write to us.", "include": ["your name"], "confirmation": "We confirm.", "exceptions": "Backups."},
    )
    data.setdefault("sharing", {}).setdefault("statement", "We do not sell data.")
    data.get("theme", {}).pop("logo", None)  # a file name, not text shown on a page
    assert valid(data)
    return data


def hostile_facts() -> tuple[dict[str, Any], int]:
    """The facts with a payload in every string the model accepts one in; and how many strings that is."""
    data = base_facts()
    hostile = copy.deepcopy(data)
    count = 0
    for i, path in enumerate(list(leaves(data))):
        for candidate in [PAYLOADS[i % len(PAYLOADS)], *TYPED]:
            trial = copy.deepcopy(hostile)
            set_at(trial, path, candidate)
            if valid(trial):
                hostile = trial
                count += 1
                break
    return hostile, count


@dataclass
class Shape:
    """What markup a set of outputs contains: element names, attribute names, URL schemes."""

    tags: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)
    schemes: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def html(self, where: str, markup: str) -> None:
        soup = BeautifulSoup(markup, "html.parser")
        self.text.append(soup.get_text(" "))
        for element in soup.find_all(True):
            assert isinstance(element, Tag)
            self.tags.add(element.name)
            for name, value in element.attrs.items():
                self.attributes.add(name)
                values = value if isinstance(value, list) else [value]
                if name.startswith("on"):
                    self.problems.append(f"{where}: event handler {name}={value!r} on <{element.name}>")
                if name in URL_ATTRIBUTES:
                    for v in values:
                        self.url(where, f"<{element.name} {name}>", v)
                if name == "style":
                    for v in re.findall(r"url\(\s*['\"]?([^'\")]*)", " ".join(values)):
                        self.url(where, f"<{element.name} style url()>", v)
                # A fact may reach a URL only through a URL fact (TYPED[0]) or as a slugged #fragment.
                if (
                    any(MARK in v and not re.fullmatch(r"#[a-z0-9-]+", v) for v in values)
                    and name in URL_ATTRIBUTES
                    and f"/{MARK}?" not in " ".join(values)
                ):
                    self.problems.append(f"{where}: payload in <{element.name} {name}={value!r}>")

    def url(self, where: str, what: str, value: str) -> None:
        cleaned = re.sub(r"[\x00-\x20\u200b-\u200f\u202a-\u202e]", "", value).lower()
        scheme = re.match(r"([a-z][a-z0-9+.-]*):", cleaned)
        if scheme:
            self.schemes.add(scheme.group(1))
            if scheme.group(1) not in SAFE_SCHEMES:
                self.problems.append(f"{where}: {what} has a {scheme.group(1)}: URL {value!r}")
        if EVIL_HOST in cleaned:
            self.problems.append(f"{where}: {what} points to a payload's host: {value!r}")

    def json(self, where: str, value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                self.json(where, item, str(name))
        elif isinstance(value, list):
            for item in value:
                self.json(where, item, key)
        elif isinstance(value, str):
            self.text.append(value)
            # JSON strings are plain text (facts, sentences made of facts) for the reader to escape,
            # except fields named *html, which hold rendered HTML: those are checked as HTML.
            if key.lower().endswith("html"):
                self.html(where + f" (HTML in JSON {key!r})", value)
            if key.lower().endswith(("url", "href", "link", "uri")):
                self.url(where, f"JSON {key!r}", value)

    def xml(self, where: str, data: bytes) -> None:
        root = ET.fromstring(data)  # raises if a fact broke the XML
        for element in root.iter():
            self.tags.add("xml:" + element.tag)
            for name, value in element.attrib.items():
                self.attributes.add("xml:" + name)
                if name == "href" or name.endswith("}href"):
                    self.url(where, f"<{element.tag} href>", value)
            if element.text and element.get("type") in {"html", "xhtml"}:  # Atom: only these are markup
                self.html(where + f" (HTML in <{element.tag}>)", element.text)
            if element.text:
                self.text.append(element.text)

    def csv(self, where: str, source: str) -> None:
        # A spreadsheet runs a cell that starts with = + - @ as a formula: a fact must never start one.
        for row in csv.reader(io.StringIO(source)):
            for cell in row:
                self.text.append(cell)
                if MARK in cell and cell[:1] in {"=", "+", "-", "@", "\t", "\r"}:
                    self.problems.append(f"{where}: a fact starts a formula cell: {cell[:60]!r}")

    def markdown(self, where: str, source: str) -> None:
        # A Markdown output is markup for whoever renders it: render it as they would.
        self.html(where + " (rendered Markdown)", MarkdownIt("commonmark", {"html": True}).render(source))


def shape_of(out: Path) -> Shape:
    shape = Shape()
    for file in sorted(p for p in out.rglob("*") if p.is_file()):
        where = file.relative_to(out).as_posix()
        if where.startswith("assets/") or "/assets/" in where:
            continue  # theme and logo files, not generated from facts
        data = file.read_bytes()
        suffix = file.suffix.lower()
        if suffix in {".html", ".htm"}:
            shape.html(where, data.decode("utf-8"))
        elif suffix == ".json":
            shape.json(where, json.loads(data))
        elif suffix in {".xml", ".atom", ".rss", ".svg"}:
            shape.xml(where, data)
        elif suffix in {".md", ".markdown"}:
            shape.markdown(where, data.decode("utf-8"))
        elif suffix == ".csv":
            shape.csv(where, data.decode("utf-8"))
        else:
            shape.text.append(data.decode("utf-8", errors="replace"))
    return shape


def build(project: Path, out: Path, today: str = "2026-06-01") -> None:
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--out", str(out), "--today", today])
    assert result.exit_code == 0, result.output


def release(project: Path, slug: str, effective: str = "2026-05-01", released: str = "2026-04-01") -> None:
    result = CliRunner().invoke(
        cli, ["-C", str(project), "release", slug, "--effective", effective, "--released", released]
    )
    assert result.exit_code == 0, result.output


def two_versions(root: Path, first: dict[str, Any], second: dict[str, Any]) -> tuple[Path, Path]:
    """A project whose tenant 'hostile' released *first*, then *second*; built while the second is
    announced (notices, banners, redline) and once it is in force. Returns the two output folders."""
    project = copy_project(root / "project")
    folder = project / "tenants" / "hostile"
    folder.mkdir()
    for facts, effective, released in ((first, "2026-03-01", "2026-02-01"), (second, "2026-05-01", "2026-04-01")):
        (folder / "tenant.yaml").write_text(
            yaml.safe_dump(facts, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        release(project, "hostile", effective, released)
    build(project, root / "announced", today="2026-04-15")
    build(project, root / "in-force", today="2026-06-01")
    return root / "announced", root / "in-force"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> tuple[Shape, Shape, int]:
    """(clean shape, hostile shape, number of string facts carrying a payload).

    Both sites release the base facts first; the clean one then releases a plain renaming, the
    hostile one the payloads, so both have the same kinds of pages (archives, history, redline,
    change notices in pages and apps, feeds) and the hostile one's show payloads in all of them."""
    shapes = []
    hostile, count = hostile_facts()
    renamed = base_facts()
    renamed["organisation"]["legal_name"] = "Renamed Holdings Ltd"
    renamed["data_categories"][0]["items"].append("Shoe size")
    for name, second in (("clean", renamed), ("hostile", hostile)):
        announced, in_force = two_versions(tmp_path_factory.mktemp(name), base_facts(), second)
        shape = shape_of(announced)
        other = shape_of(in_force)
        for part in ("tags", "attributes", "schemes"):
            getattr(shape, part).update(getattr(other, part))
        shape.problems += other.problems
        shape.text += other.text
        shapes.append(shape)
    return shapes[0], shapes[1], count


@pytest.mark.slow
def test_nearly_every_string_fact_carries_a_payload(sites: tuple[Shape, Shape, int]) -> None:
    _, _, count = sites
    assert count >= 150


@pytest.mark.slow
def test_payloads_introduce_no_element(sites: tuple[Shape, Shape, int]) -> None:
    clean, hostile, _ = sites
    assert hostile.tags - clean.tags == set()
    assert not {"script", "img", "svg", "iframe", "form", "input", "style"} & (hostile.tags - clean.tags)


@pytest.mark.slow
def test_payloads_introduce_no_attribute(sites: tuple[Shape, Shape, int]) -> None:
    clean, hostile, _ = sites
    assert hostile.attributes - clean.attributes == set()


@pytest.mark.slow
def test_payloads_introduce_no_url_scheme_event_handler_or_link(sites: tuple[Shape, Shape, int]) -> None:
    clean, hostile, _ = sites
    assert clean.problems == []
    assert hostile.problems == []
    assert hostile.schemes <= SAFE_SCHEMES


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"payload{i}" for i in range(1, len(PAYLOADS) + 1)])
@pytest.mark.slow
def test_each_payload_shows_literally_as_text(sites: tuple[Shape, Shape, int], payload: str) -> None:
    _, hostile, _ = sites
    text = "\n".join(hostile.text)
    # Whitespace may be reflowed (a newline in a fact reads as a space); the characters are all there.
    words = payload.split()
    assert all(word in text for word in words), f"not shown literally: {payload!r}"


@pytest.mark.slow
def test_template_syntax_in_a_fact_is_not_evaluated(sites: tuple[Shape, Shape, int]) -> None:
    _, hostile, _ = sites
    text = "\n".join(hostile.text)
    assert "{{ 7 * 7 }}" in text and "{# hidden #}" in text


def test_urls_in_facts_are_only_web_mail_and_phone_links() -> None:
    for bad in [
        "javascript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "file:///etc/passwd",
        "ftp://acme.example",
        "//evil.example",
        "https://acme.example/<script>",
        " https://acme.example",
        "JaVaScRiPt:alert(1)",
    ]:
        facts = base_facts()
        facts["organisation"]["website"] = bad
        assert not valid(facts), bad


def _project_with_clause(tmp_path: Path, body: str, raw_html: bool | None) -> Path:
    project = copy_project(tmp_path / "project")
    if raw_html is not None:
        with (project / "policygen.yaml").open("a", encoding="utf-8") as config:
            config.write(f"\nraw_html: {'true' if raw_html else 'false'}\n")
    clause = project / "content" / "privacy-policy" / "005-raw.md"
    clause.write_text("---\nid: raw\ntitle: Raw\norder: 5\n---\n" + body, encoding="utf-8")
    return project


RAW = (
    '<div class="box"><b>bold</b> <script>alert(1)</script><img src="https://evil.example/x.png">'
    '<a href="javascript:alert(1)" onclick="alert(1)">x</a>'
    '<a title="{{ organisation.legal_name }}" href="https://acme.example/ok">ok</a></div>\n'
)


def _raw_section(tmp_path: Path, raw_html: bool | None) -> Tag:
    project = _project_with_clause(tmp_path, RAW, raw_html)
    shutil.rmtree(project / "tenants/ims-pro/releases", ignore_errors=True)  # the page then shows today's clauses
    (project / "tenants/ims-pro/tenant.yaml").write_text(
        (project / "tenants/ims-pro/tenant.yaml")
        .read_text(encoding="utf-8")
        .replace("  legal_name: GJ Global IT Ventures Pvt. Ltd.", "  legal_name: 'javascript:alert(2)'"),
        encoding="utf-8",
    )
    build(project, tmp_path / "site")
    page = BeautifulSoup(
        (tmp_path / "site/ims-pro/privacy-policy/index.html").read_text(encoding="utf-8"), "html.parser"
    )
    section = page.find("section", id="raw")
    assert isinstance(section, Tag)
    return section


def test_raw_html_in_clause_files_is_text_by_default(tmp_path: Path) -> None:
    section = _raw_section(tmp_path, None)
    assert section.find("b") is None and section.find("script") is None and section.find("div", class_="box") is None
    assert "<b>bold</b>" in section.get_text()


def test_raw_html_when_turned_on_is_sanitised(tmp_path: Path) -> None:
    section = _raw_section(tmp_path, True)
    assert section.find("b") is not None and section.find("b").get_text() == "bold"
    assert section.find("script") is None and section.find("img") is None
    assert all(not name.startswith("on") for el in section.find_all(True) for name in el.attrs)
    hrefs = [a.get("href") for a in section.find_all("a")]
    assert "https://acme.example/ok" in hrefs
    assert not any(h and h.lower().startswith("javascript") for h in hrefs)
    assert section.find("a", title="javascript:alert(2)") is not None  # a fact in a title is text
    assert "alert(1)" not in section.get_text()  # script content is dropped, not shown


@pytest.mark.parametrize(
    "fact",
    [
        "javascript:alert(2)",
        "JaVaScRiPt:alert(2)",
        "//evil.example",
        "evil.example/x",
        "data:text/html,x",
        " https://acme.example",
        "/relative/path",
    ],
)
def test_with_raw_html_a_fact_in_an_href_must_be_a_web_mail_or_phone_link(tmp_path: Path, fact: str) -> None:
    project = _project_with_clause(tmp_path, '<a href="{{ organisation.legal_name }}">legal</a>\n', True)
    facts = project / "tenants/ims-pro/tenant.yaml"
    facts.write_text(
        facts.read_text(encoding="utf-8").replace(
            "  legal_name: GJ Global IT Ventures Pvt. Ltd.", f"  legal_name: '{fact}'"
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--out", str(tmp_path / "site")])
    assert result.exit_code == 1
    assert "content/privacy-policy/005-raw.md:6: error: tenant 'ims-pro': a fact in the href of <a>" in result.stderr
    assert not (tmp_path / "site").exists()


def test_with_raw_html_a_fact_in_an_href_that_is_a_link_is_kept(tmp_path: Path) -> None:
    body = (
        '{% if organisation.website and organisation.email %}<a href="{{ organisation.website }}">site</a> '
        '<a href="mailto:{{ organisation.email }}">mail</a>{% endif %}\n'
    )
    project = _project_with_clause(tmp_path, body, True)
    shutil.rmtree(project / "tenants/ims-pro/releases", ignore_errors=True)
    facts = project / "tenants/ims-pro/tenant.yaml"
    facts.write_text(
        facts.read_text(encoding="utf-8").replace(
            "  email: apps@gjglobalsoft.com\n",
            "  email: apps@gjglobalsoft.com\n  website: https://gjglobalsoft.example/\n",
            1,
        ),
        encoding="utf-8",
    )
    build(project, tmp_path / "site")
    page = BeautifulSoup(
        (tmp_path / "site/ims-pro/privacy-policy/index.html").read_text(encoding="utf-8"), "html.parser"
    )
    section = page.find("section", id="raw")
    assert isinstance(section, Tag)
    assert [a["href"] for a in section.find_all("a")] == [
        "https://gjglobalsoft.example/",
        "mailto:apps@gjglobalsoft.com",
    ]
