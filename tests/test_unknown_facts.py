"""Unknown is not false: a practice fact the tenant has not set prints nothing, and each one set prints its sentence.

A policy is the organisation's own statement. A fact it has not given (does it sell data? are
backups encrypted? may people refuse a permission?) is unknown, and no clause may answer it. These
tests build a tenant with only the required facts, then add one practice fact at a time and check
that exactly its sentence appears, and nothing else changes.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from conftest import build_one_tenant

REQUIRED: dict[str, Any] = {
    "organisation": {"legal_name": "Plain Example Ltd", "display_name": "Plain Example"},
    "data_categories": [{"id": "account", "name": "Account data", "items": ["Name", "Email address"]}],
    "purposes": [{"id": "service", "name": "Providing the service"}],
    "documents": [{"id": "privacy-policy"}],
    "dates": {"effective": "2026-01-01"},
}
# The required facts plus facts that only give a practice fact somewhere to live (an app with a
# permission, backups, a way to make requests, a recipient for the sharing section): none of them states
# a practice.
HOLDERS: dict[str, Any] = {
    **REQUIRED,
    "apps": [
        {
            "id": "app",
            "name": "Example App",
            "audience": "members",
            "permissions": [{"id": "camera", "reason": "To scan receipts"}],
        }
    ],
    "retention": {"summary": "We keep account data while the account is open.", "backups": {"period": "30 days"}},
    "requests": {"channels": [{"kind": "email", "value": "privacy@example.org"}]},
    "children": {"min_age": 16, "statement": "Schools decide which pupils use the service."},
    "recipients": [{"id": "hosting", "category": "Hosting providers"}],
}


def page_text(tmp: Path, facts: dict[str, Any], name: str) -> str:
    """The built privacy policy's main text, one space between words."""
    out = build_one_tenant(tmp / name, facts)
    main = BeautifulSoup((out / "t" / "privacy-policy" / "index.html").read_text(encoding="utf-8"), "html.parser").find(
        "main"
    )
    assert main is not None
    return " ".join(main.get_text(" ").split())


def with_fact(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of *base* with *value* at *path* ('a.b', 'a[0].b')."""
    facts = copy.deepcopy(base)
    keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")]
    here = facts
    for key in keys[:-1]:
        here = here.setdefault(key, {}) if isinstance(key, str) else here[key]
    here[keys[-1]] = value
    return facts


PROMISES = [
    "sell",
    "rent",
    "advertising",
    "encrypted",
    "optional",
    "(optional)",
    "Required for the app",
    "before it takes effect",
    "earlier version",
    "version history",
    "data controller",
    "data processor",
    "We answer within",
    "If you do not give us data",
    "only when you use a feature",
    "such as by email, phone, post or in person",
    "We do not share personal data with anyone else",
    "appreciate the chance",
    "for good",
]


def test_a_tenant_with_only_the_required_facts_promises_no_practice(tmp_path: Path) -> None:
    text = page_text(tmp_path, REQUIRED, "required")
    assert [p for p in PROMISES if p.lower() in text.lower()] == []
    # Its data and purposes are still there, and what the law gives needs no fact (none declared here).
    assert "Account data" in text and "Providing the service" in text


def test_the_holders_of_practice_facts_state_no_practice_either(tmp_path: Path) -> None:
    text = page_text(tmp_path, HOLDERS, "holders")
    assert [p for p in PROMISES if p.lower() in text.lower()] == []


# (fact path, value, the one sentence it adds)
ONE_FACT = [
    ("sharing.sells", False, "We do not sell personal data."),
    ("sharing.sells", True, "We sell personal data."),
    ("sharing.rents", False, "We do not rent personal data out."),
    ("sharing.shares_for_advertising", False, "We do not share personal data for advertising."),
    ("sharing.shares_for_advertising", True, "We share personal data for advertising."),
    ("retention.backups.encrypted", False, "The backups are not encrypted."),
    ("apps[0].permissions[0].optional", True, "Optional: the app works without it."),
    ("apps[0].permissions[0].optional", False, "Required for the app to work."),
    ("changes.notice_before", True, "If a change affects how we use your data, we tell you before it takes effect."),
    ("changes.public_history", True, "Every earlier version stays available in this policy's version history."),
    ("changes.how_notified", ["email"], "We tell you about a change by email."),
    (
        "changes.how_notified",
        ["page"],
        "When we change this policy, we publish the new version on this page with its effective date.",
    ),
    ("data_categories[0].required", True, "Giving us this data is required."),
    ("data_categories[0].required", False, "Giving us this data is optional."),
    ("requests.response_time", "one month", "We answer within one month."),
    (
        "purposes[0].provision",
        "contractual",
        "Providing the service. Whether you must give us the data: a contract requires the data for this purpose.",
    ),
    ("data_categories[0].ccpa_category", "Identifiers", "California category: Identifiers."),
    (
        "children.sells_or_shares_under_16",
        False,
        "We do not knowingly sell or share the personal data of people under 16.",
    ),
]


@pytest.mark.parametrize(("path", "value", "sentence"), ONE_FACT, ids=[f"{p}={v}" for p, v, _ in ONE_FACT])
def test_setting_one_practice_fact_adds_exactly_its_sentence(
    tmp_path: Path, path: str, value: Any, sentence: str
) -> None:
    before = page_text(tmp_path, HOLDERS, "before")
    after = page_text(tmp_path, with_fact(HOLDERS, path, value), "after")
    assert sentence in after and sentence not in before
    assert after.replace(" " + sentence, "", 1) == before


def test_both_selling_and_renting_denied_read_as_one_sentence(tmp_path: Path) -> None:
    before = page_text(tmp_path, HOLDERS, "before")
    facts = with_fact(with_fact(HOLDERS, "sharing.sells", False), "sharing.rents", False)
    after = page_text(tmp_path, facts, "after")
    assert after.replace(" We do not sell personal data or rent it out.", "", 1) == before


def test_encrypted_backups_say_encrypted_only_when_the_fact_says_so(tmp_path: Path) -> None:
    before = page_text(tmp_path, HOLDERS, "before")
    after = page_text(tmp_path, with_fact(HOLDERS, "retention.backups.encrypted", True), "after")
    assert "Copies in backups are kept for up to 30 days." in before
    assert "Copies in encrypted backups are kept for up to 30 days." in after
    assert after.replace("encrypted backups", "backups", 1) == before


@pytest.mark.parametrize(
    ("role", "sentence"),
    [
        ("controller", "Plain Example Ltd is the data controller"),
        ("processor", "Plain Example Ltd is a data processor"),
    ],
)
def test_the_role_is_stated_only_when_the_organisation_states_it(tmp_path: Path, role: str, sentence: str) -> None:
    before = page_text(tmp_path, REQUIRED, "before")
    after = page_text(tmp_path, with_fact(REQUIRED, "organisation.role", role), "after")
    assert sentence not in before and "This policy is published by Plain Example Ltd." in before
    assert sentence in after and "This policy is published by" not in after


def test_a_declared_law_gives_its_rights_and_regulator_without_any_fact(tmp_path: Path) -> None:
    text = page_text(tmp_path, {**REQUIRED, "jurisdictions": ["uk_gdpr"]}, "uk")
    assert "Under the UK General Data Protection Regulation (UK GDPR) you have the right to:" in text
    assert "Access your data." in text and "Take your data with you." in text
    assert "Information Commissioner's Office (ICO)" in text
    # Rights the tenant lists replace the law's list; the regulator it names replaces the law's.
    own = {
        **REQUIRED,
        "jurisdictions": ["uk_gdpr"],
        "rights": [{"id": "access"}],
        "supervisory_authority": {"name": "The Regulator", "country": "United Kingdom"},
    }
    text = page_text(tmp_path, own, "own")
    assert "you have the right to:" not in text and "Information Commissioner" not in text
    assert "the data protection regulator in the United Kingdom: The Regulator." in text


@pytest.mark.slow
def test_an_app_snippet_says_optional_only_when_the_permission_says_so(tmp_path: Path) -> None:
    def snippet(facts: dict[str, Any], name: str) -> str:
        page_text(tmp_path, facts, name)
        return (tmp_path / name / "out" / "t" / "apps" / "app" / "permissions.html").read_text(encoding="utf-8")

    assert "(optional)" not in snippet(HOLDERS, "unset") and "required for the app" not in snippet(HOLDERS, "unset2")
    assert "(optional)" in snippet(with_fact(HOLDERS, "apps[0].permissions[0].optional", True), "optional")


def permissions_snippet(tmp: Path, facts: dict[str, Any], name: str) -> str:
    """The built permissions snippet of the tenant's app, as text."""
    page_text(tmp, facts, name)
    html = (tmp / name / "out" / "t" / "apps" / "app" / "permissions.html").read_text(encoding="utf-8")
    return " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())


def test_the_permissions_snippet_says_when_a_permission_is_asked_only_when_the_fact_says_so(tmp_path: Path) -> None:
    before = permissions_snippet(tmp_path, HOLDERS, "before")
    assert "only when you use a feature" not in before and "turn a permission off" not in before
    assert "Asked" not in before
    after = permissions_snippet(tmp_path, with_fact(HOLDERS, "apps[0].permissions[0].asked", "first_use"), "after")
    assert "Asked the first time you use the feature that needs it." in after


def test_children_are_said_to_be_out_of_scope_only_when_the_tenant_says_so(tmp_path: Path) -> None:
    unstated = page_text(tmp_path, {**REQUIRED, "children": {"min_age": 16}}, "unstated")
    assert "not meant for anyone under" not in unstated and "Children" not in unstated  # no empty section either
    stated = page_text(tmp_path, {**REQUIRED, "children": {"min_age": 16, "directed_at_children": False}}, "stated")
    assert "Our services are not meant for anyone under 16." in stated
