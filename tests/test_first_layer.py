"""The privacy policy's first layer: an "At a glance" summary from the facts alone, linked to the sections below.

Regulators ask for layered notices (WP260 para 35-38; the ICO's guidance on the right to be
informed). The summary states only what the facts say: each line appears when its fact is set and
not otherwise, and each line links to the section of the same page that says more.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from conftest import REPO, build_one_tenant
from test_snippets import BUDGET
from test_unknown_facts import REQUIRED, with_fact

from policygen.engine import BuildReport
from policygen.explain import explain

EXAMPLES = ["example-fitness", "ihm-connect", "ims-global", "ims-pro"]
GLANCE = "at-a-glance"


def _page(report_out: Path, slug: str) -> BeautifulSoup:
    return BeautifulSoup(
        (report_out / slug / "privacy-policy" / "index.html").read_text(encoding="utf-8"), "html.parser"
    )


def _glance_lines(page: BeautifulSoup) -> dict[str, str]:
    """Each line of the summary by its link text, with the section it links to."""
    section = page.find(id=GLANCE)
    assert isinstance(section, Tag)
    lines: dict[str, str] = {}
    for item in section.find_all("li"):
        link = item.find("a")
        assert isinstance(link, Tag), item
        lines[link.get_text()] = str(link["href"])
    return lines


def _built(tmp: Path, facts: dict[str, Any], name: str) -> BeautifulSoup:
    return _page(build_one_tenant(tmp / name, facts), "t")


@pytest.mark.parametrize("slug", EXAMPLES)
def test_the_privacy_policy_of_every_example_tenant_starts_with_the_summary(
    example_site: BuildReport, slug: str
) -> None:
    page = _page(example_site.out, slug)
    sections = [s["id"] for s in page.find_all("section") if s.get("id")]
    assert sections[0] == GLANCE
    assert {"Who is responsible", "What data we collect", "Why we use it"} <= set(_glance_lines(page))


@pytest.mark.parametrize("slug", EXAMPLES)
def test_every_summary_line_links_to_a_section_of_the_same_page(example_site: BuildReport, slug: str) -> None:
    page = _page(example_site.out, slug)
    for label, href in _glance_lines(page).items():
        assert href.startswith("#"), (label, href)
        target = page.find(id=href[1:])
        assert isinstance(target, Tag) and target.name == "section", (label, href)


# Each optional line: the fact that makes it, a value, the line's label and the words it then prints.
OPTIONAL_LINES = [
    (
        "recipients",
        [{"id": "hosting", "category": "Cloud hosting providers"}],
        "Who receives it",
        "Cloud hosting providers",
    ),
    (
        "retention",
        {"summary": "We keep account data while the account is open."},
        "How long we keep it",
        "while the account is open",
    ),
    ("rights", [{"id": "access"}, {"id": "erasure"}], "Your rights", "Access your data; Delete your data"),
    ("organisation.email", "privacy@example.org", "How to contact us", "Email: privacy@example.org."),
    (
        "organisation.contact_url",
        "https://example.org/privacy",
        "How to contact us",
        "Web: https://example.org/privacy.",
    ),
    ("organisation.phone", "+44 20 7946 0000", "How to contact us", "Phone: +44 20 7946 0000."),
]


def test_a_tenant_with_only_the_required_facts_gets_only_the_required_lines(tmp_path: Path) -> None:
    page = _built(tmp_path, REQUIRED, "required")
    assert list(_glance_lines(page)) == ["Who is responsible", "What data we collect", "Why we use it"]
    text = " ".join(page.find(id=GLANCE).get_text(" ").split())  # type: ignore[union-attr]
    assert "Plain Example Ltd." in text and "Account data" in text and "Providing the service" in text
    assert "controller" not in text and "processor" not in text  # no role was stated


@pytest.mark.parametrize(("path", "value", "label", "words"), OPTIONAL_LINES, ids=[o[0] for o in OPTIONAL_LINES])
def test_each_optional_line_appears_once_its_fact_is_set(
    tmp_path: Path, path: str, value: Any, label: str, words: str
) -> None:
    page = _built(tmp_path, with_fact(REQUIRED, path, value), "with")
    lines = _glance_lines(page)
    assert label in lines
    item = next(li for li in page.find(id=GLANCE).find_all("li") if li.find("a").get_text() == label)  # type: ignore[union-attr]
    assert words in " ".join(item.get_text().split())
    assert page.find(id=lines[label][1:]) is not None  # the section it points to is there because the fact is


@pytest.mark.parametrize(
    ("role", "words"),
    [
        ("controller", "We are the data controller."),
        ("processor", "We are a data processor"),
        ("controller_and_processor", "We are the data controller for our own purposes, and a data processor"),
    ],
)
def test_the_responsible_line_states_the_role_only_as_stated(tmp_path: Path, role: str, words: str) -> None:
    page = _built(tmp_path, with_fact(REQUIRED, "organisation.role", role), role)
    item = page.find(id=GLANCE).find("li")  # type: ignore[union-attr]
    assert words in " ".join(item.get_text(" ").split())  # type: ignore[union-attr]


def test_every_block_of_the_summary_is_attributed_to_the_clause_and_its_facts() -> None:
    for slug in ("ihm-connect", "ims-global", "ims-pro"):
        (doc,) = explain(REPO, slug, "privacy-policy")
        blocks = doc.clause_blocks(GLANCE)
        assert blocks and all(b.source.file.name == "005-at-a-glance.md" and b.source.line for b in blocks)
        items = [b for b in blocks if b.kind == "item"]
        assert items and all(b.facts for b in items), [b.text for b in items if not b.facts]
        paths = {f.path.split("[")[0].split(".")[0] for b in items for f in b.facts}
        assert {"organisation", "data_categories", "purposes"} <= paths


def test_every_app_ships_the_summary_as_a_self_contained_snippet_within_budget(example_site: BuildReport) -> None:
    apps = sorted(
        o.path.rsplit("/", 1)[0]
        for o in example_site.outputs
        if "/apps/" in o.path and o.path.endswith("/manifest.json")
    )
    assert apps  # the example tenants have apps
    out = {o.path: (example_site.out / o.path).read_bytes() for o in example_site.outputs}
    for app in apps:
        manifest = json.loads(out[f"{app}/manifest.json"])
        entry = next(s for s in manifest["snippets"] if s["kind"] == "at-a-glance")
        page = out[f"{app}/{entry['path']}"].decode()
        assert entry["bytes"] < BUDGET
        assert "<script" not in page and "default-src 'none'" in page
        hrefs = re.findall(r'href="([^"]*)"', page)
        assert "policy.html#controller" in hrefs and "policy.html" in hrefs
