"""Words that fit their place: each broken sentence of issue 11 stays fixed.

The example site once printed "Some of them are based Some are based outside the EEA",
"goes Outside the European Economic Area", "owned and controlled by The institution", "the data
protection regulator in United Kingdom", "Access your data Through your organization
administrator", "kept for up to up to 30 days", a contents list naming "From other organisations"
six times, IMS Pro's children paragraph twice, deletion deadlines as retention periods, and notes
at the end of unrelated sub-sections. Each has a test here, on the example site or a fixture.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup, Tag
from conftest import REPO, build_one_tenant

from policygen.engine import BuildReport, build
from policygen.site import BuildOptions


def soup(site: BuildReport, page: str) -> BeautifulSoup:
    return BeautifulSoup((site.out / page).read_text(encoding="utf-8"), "html.parser")


def words(node: Tag) -> str:
    return " ".join(node.get_text(" ").split())


def section(site: BuildReport, page: str, clause: str) -> str:
    found = soup(site, page).find("section", id=clause)
    assert isinstance(found, Tag), f"{page} has no #{clause}"
    return words(found)


def blocks(site: BuildReport) -> list[tuple[str, str]]:
    """Every paragraph, list item and table cell of every document page, with its page."""
    out = []
    for page in sorted(p.relative_to(site.out).as_posix() for p in site.out.glob("*/*/index.html")):
        main = soup(site, page).find("main")
        assert isinstance(main, Tag)
        out += [(page, words(b)) for b in main.find_all(["p", "li", "td"]) if not b.find(["ul", "ol", "p"])]
    return out


PP = "ims-global/privacy-policy/index.html"


def test_a_source_outside_the_home_region_reads_as_its_own_sentence(example_site: BuildReport) -> None:
    text = section(example_site, PP, "sources")
    assert "Some of them are based Some" not in text
    assert "Technical Data from analytics providers. Some are based outside the EEA." in text


def test_each_kind_of_source_is_one_heading_in_the_contents(example_site: BuildReport) -> None:
    contents = [words(a) for a in soup(example_site, PP).select("nav a")]
    assert contents.count("From other organisations") == 1
    assert section(example_site, PP, "sources").count("From other organisations") == 1


def test_a_transfer_destination_is_not_forced_into_lower_case_mid_sentence(example_site: BuildReport) -> None:
    text = section(example_site, PP, "transfers")
    assert "goes Outside" not in text
    assert "Where the data goes: Outside the European Economic Area (EEA)." in text


def test_a_country_takes_its_article(example_site: BuildReport) -> None:
    text = section(example_site, PP, "complaints")
    assert "regulator in United Kingdom" not in text
    assert "the data protection regulator in the United Kingdom: Information Commissioner’s Office (ICO)." in text


def test_an_owner_reads_after_a_label_not_mid_sentence(example_site: BuildReport) -> None:
    for page in ("ihm-connect/privacy-policy/index.html", "ihm-connect/data-usage-policy/index.html"):
        text = words(soup(example_site, page))
        assert "owned and controlled by The institution" not in text
        assert "Who owns and controls it: The institution (school or business) that uploads it." in text


def test_a_bold_label_is_followed_by_punctuation_before_its_sentence(example_site: BuildReport) -> None:
    text = section(example_site, "ims-pro/privacy-policy/index.html", "rights")
    assert "Access your data Through" not in text
    assert "Access your data. How to use this right: Through your organization administrator" in text


def test_a_minimum_age_is_said_once_when_the_tenant_says_it_in_its_own_words(example_site: BuildReport) -> None:
    text = section(example_site, "ims-pro/privacy-policy/index.html", "children")
    assert text.count("18") == 1 and "not directed to children under the age of 18" in text


def test_deletion_deadlines_are_not_shown_as_how_long_data_is_kept(example_site: BuildReport) -> None:
    for page in ("ihm-connect/privacy-policy/index.html", "ihm-connect/data-usage-policy/index.html"):
        kept = section(example_site, page, "retention")
        assert "7 business days" not in kept and "30-45 business days" not in kept, page
    deadlines = section(example_site, "ihm-connect/data-deletion-policy/index.html", "timelines")
    assert "Personal user account data 7 business days" in deadlines
    assert "Institution-managed system data 30-45 business days after verification" in deadlines


def test_no_block_of_the_example_site_doubles_a_word(example_site: BuildReport) -> None:
    doubled = [
        (page, m.group(0))
        for page, text in blocks(example_site)
        for m in re.finditer(r"\b(\w+) \1\b", text, re.IGNORECASE)
    ]
    assert doubled == []


def test_no_paragraph_of_a_page_is_printed_twice(example_site: BuildReport) -> None:
    for page in sorted(p.relative_to(example_site.out).as_posix() for p in example_site.out.glob("*/*/index.html")):
        main = soup(example_site, page).find("main")
        assert isinstance(main, Tag)
        paragraphs = [words(p) for p in main.find_all("p") if len(words(p)) > 40]
        assert len(paragraphs) == len(set(paragraphs)), page


# --- fixtures for the facts the example tenants do not have -------------------------------------------


def fixture_page(tmp_path: Path, facts: dict[str, Any]) -> BeautifulSoup:
    out = build_one_tenant(tmp_path / "project", facts)
    return BeautifulSoup((out / "t" / "privacy-policy" / "index.html").read_text(encoding="utf-8"), "html.parser")


BASE: dict[str, Any] = {
    "organisation": {"legal_name": "Fixture Ltd", "display_name": "Fixture"},
    "data_categories": [{"id": "account", "name": "Account data", "items": ["Name"]}],
    "purposes": [{"id": "service", "name": "Providing the service"}],
    "documents": [{"id": "privacy-policy"}],
    "dates": {"effective": "2026-01-01"},
}


@pytest.mark.parametrize("period", ["up to 30 days", "30 days"])
def test_a_duration_never_doubles_its_bound(tmp_path: Path, period: str) -> None:
    page = fixture_page(
        tmp_path, {**BASE, "retention": {"summary": "We keep data while needed.", "backups": {"period": period}}}
    )
    text = words(page)
    assert "up to up to" not in text and "Copies in backups are kept for up to 30 days." in text


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ("the United States", "Where the data goes: the United States."),
        ("Outside the UK", "Where the data goes: Outside the UK."),
    ],
)
def test_a_transfer_reads_the_same_whatever_the_destination_starts_with(
    tmp_path: Path, destination: str, expected: str
) -> None:
    page = fixture_page(
        tmp_path,
        {**BASE, "transfers": [{"id": "t", "destination": destination, "mechanism": ["Standard contractual clauses"]}]},
    )
    text = words(page)
    assert expected in text and "to to" not in text
    assert "We protect it there with this safeguard: Standard contractual clauses" in text  # one: singular


def test_lists_in_sentences_join_with_the_page_languages_words(tmp_path: Path) -> None:
    facts = {
        **BASE,
        "rights": [{"id": "access"}],
        "requests": {
            "channels": [{"kind": "email", "value": "a@example.org"}, {"kind": "in_app"}, {"kind": "account_settings"}]
        },
    }
    text = words(fixture_page(tmp_path / "gb", {**facts, "locale": "en-GB"})).replace(" ,", ",")  # after the link
    assert "contact us by email to a@example.org, in the app or in your account settings." in text
    text = words(fixture_page(tmp_path / "us", {**facts, "locale": "en-US"})).replace(" ,", ",")  # serial comma
    assert "contact us by email to a@example.org, in the app, or in your account settings." in text


def test_a_note_prints_in_its_clause_before_the_sub_sections(tmp_path: Path) -> None:
    facts = {
        **BASE,
        "dpo": {"email": "dpo@example.org"},
        "notes": [{"id": "n", "clause": "controller", "text": "A note about who is responsible."}],
    }
    controller = fixture_page(tmp_path, facts).find("section", id="controller")
    assert isinstance(controller, Tag)
    html = str(controller)
    assert html.index("A note about who is responsible.") < html.index("Data protection officer")
    assert html.count("A note about who is responsible.") == 1


def test_a_note_for_a_clause_id_two_documents_share_can_name_its_document(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for folder in ("content", "themes"):
        shutil.copytree(REPO / folder, project / folder)
    facts = {
        **BASE,
        "documents": [{"id": "privacy-policy"}, {"id": "data-usage-policy"}],
        "retention": {"summary": "We keep data while needed."},
        "notes": [{"id": "n", "clause": "retention", "document": "data-usage-policy", "text": "Only here."}],
    }
    (project / "tenants" / "t").mkdir(parents=True)
    (project / "tenants" / "t" / "tenant.yaml").write_text(yaml.safe_dump(facts, sort_keys=False), encoding="utf-8")
    report = build(project, project / "out", BuildOptions(today=dt.date(2026, 6, 1)))
    assert "Only here." in (report.out / "t/data-usage-policy/index.html").read_text(encoding="utf-8")
    assert "Only here." not in (report.out / "t/privacy-policy/index.html").read_text(encoding="utf-8")
