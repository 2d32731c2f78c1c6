"""The US state privacy laws: a fictional US retailer (tests/fixtures/law/us) that declares California and the
other state laws, with every fact they ask for set, passes every item; removing one fact reports exactly its item.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import copy_project

from policygen.check import check, checklists
from policygen.jurisdictions import US_STATE_LAWS

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "law" / "us" / "tenant.yaml"
TODAY = dt.date(2026, 11, 22)
Edit = Callable[[dict[str, Any]], object]


def facts() -> dict[str, Any]:
    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def findings_for(tmp_path: Path, data: dict[str, Any], today: dt.date = TODAY) -> set[str]:
    project = copy_project(tmp_path / "project", releases=False)
    folder = project / "tenants" / "us"
    folder.mkdir()
    (folder / "tenant.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    report = check(project, ["us"], today)
    assert report.problems == []
    return {f.id for f in report.tenants[0].findings if f.kind in ("disclosure", "stale")}


def drop_right(right: str) -> Edit:
    return lambda d: d.update(rights=[r for r in d["rights"] if r["id"] != right])


def drop(*path: str) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        d.pop(path[-1])

    return edit


def on_categories(key: str, value: object = None) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        for c in d["data_categories"]:
            if value is None:
                c.pop(key, None)
            else:
                c[key] = value

    return edit


# Each fact the laws ask for, and the items (California's and the other states') that report it missing.
REMOVALS: list[tuple[str, Edit, set[str]]] = [
    ("an online contact (Connecticut)", drop("organisation", "email"), {"ctdpa.contact"}),
    ("California categories", on_categories("ccpa_category"), {"ccpa.collected"}),
    ("sources of each category", on_categories("sources", []), {"ccpa.sources"}),
    ("retention of each category", on_categories("retention"), {"ccpa.retention"}),
    (
        "whether data is sold",
        lambda d: (on_categories("sold")(d), d["sharing"].pop("sells")),
        {
            "ccpa.sold-shared",
            "vcdpa.sale-advertising",
            "cpa.sale-advertising",
            "ctdpa.sale-advertising",
            "tdpsa.sale-advertising",
            "ocpa.sale-advertising",
        },
    ),
    (
        "the recipients",
        lambda d: d.pop("recipients"),
        {
            "ccpa.disclosed",
            "ccpa.sold-shared",
            "vcdpa.third-parties",
            "cpa.third-parties",
            "ctdpa.third-parties",
            "tdpsa.third-parties",
            "ocpa.third-parties",
        },
    ),
    ("selling or sharing data of people under 16", drop("children", "sells_or_shares_under_16"), {"ccpa.under-16"}),
    ("use of sensitive data", drop("us_privacy", "sensitive_beyond_permitted"), {"ccpa.sensitive"}),
    ("authorised agents", drop("us_privacy", "authorised_agents"), {"ccpa.agents"}),
    ("the opt-out link", drop("us_privacy", "opt_out_url"), {"ccpa.opt-out-link"}),
    ("financial incentives", drop("us_privacy", "financial_incentive_terms"), {"ccpa.financial-incentives"}),
    (
        "the right to know",
        drop_right("access"),
        {"ccpa.rights", "vcdpa.rights", "cpa.rights", "ctdpa.rights", "tdpsa.rights", "ocpa.rights"},
    ),
    (
        "the right to opt out of sale or sharing",
        drop_right("opt_out_sale"),
        {"ccpa.rights", "vcdpa.rights", "cpa.rights", "ctdpa.rights", "tdpsa.rights", "ocpa.rights"},
    ),
    ("the right not to be discriminated against", drop_right("non_discrimination"), {"ccpa.rights"}),
    (
        "a second way to make a request",
        lambda d: d["requests"].update(channels=d["requests"]["channels"][:1]),
        {"ccpa.methods"},
    ),
    ("how requests are verified", drop("requests", "verification"), {"ccpa.methods"}),
    (
        "Global Privacy Control",
        drop("signals", "global_privacy_control"),
        {
            "ccpa.opt-out-signals",
            "cpa.universal-opt-out",
            "ctdpa.universal-opt-out",
            "tdpsa.universal-opt-out",
            "ocpa.universal-opt-out",
        },
    ),
    (
        "targeted advertising",
        drop("us_privacy", "targeted_advertising"),
        {
            "vcdpa.sale-advertising",
            "cpa.sale-advertising",
            "ctdpa.sale-advertising",
            "tdpsa.sale-advertising",
            "ocpa.sale-advertising",
        },
    ),
    (
        "profiling",
        drop("us_privacy", "profiling"),
        {"vcdpa.profiling", "cpa.profiling", "ctdpa.profiling", "tdpsa.profiling", "ocpa.profiling"},
    ),
    (
        "the right to opt out of targeted advertising",
        drop_right("opt_out_targeted_advertising"),
        {"vcdpa.rights", "cpa.rights", "ctdpa.rights", "tdpsa.rights", "ocpa.rights"},
    ),
    (
        "appeals",
        drop("us_privacy", "appeals"),
        {"vcdpa.appeal", "cpa.appeal", "ctdpa.appeal", "tdpsa.appeal", "ocpa.appeal"},
    ),
    ("whether sensitive data is sold (Texas)", drop("us_privacy", "sells_sensitive"), {"tdpsa.sensitive-sale"}),
]


def test_a_us_tenant_with_every_fact_set_lacks_nothing(tmp_path: Path) -> None:
    assert findings_for(tmp_path, facts()) == set()


@pytest.mark.parametrize(("edit", "expected"), [(e, x) for _, e, x in REMOVALS], ids=[n for n, _, _ in REMOVALS])
def test_removing_a_fact_reports_exactly_its_items(tmp_path: Path, edit: Edit, expected: set[str]) -> None:
    data = copy.deepcopy(facts())
    edit(data)
    assert findings_for(tmp_path, data) == expected


def test_a_policy_not_updated_in_12_months_is_reported(tmp_path: Path) -> None:
    assert findings_for(tmp_path, facts(), dt.date(2027, 6, 2)) == {"ccpa.updated"}


def test_every_item_of_the_us_checklists_is_reached_by_a_removal() -> None:
    reached = set().union(*(x for _, _, x in REMOVALS))
    listed = {i.id for j in US_STATE_LAWS for i in checklists()[j].items}
    # Always said for a tenant with data and purposes: the categories and purposes clauses print them.
    always = {
        f"{p}.{k}" for p in ("vcdpa", "cpa", "ctdpa", "tdpsa", "ocpa") for k in ("categories", "purposes", "methods")
    }
    assert listed - reached - always - {"ccpa.purposes"} == set()


def test_the_colorado_universal_opt_out_is_an_error_from_2024_07_01(tmp_path: Path) -> None:
    data = facts()
    data["signals"]["global_privacy_control"] = False
    project = copy_project(tmp_path / "project", releases=False)
    (project / "tenants" / "us").mkdir()
    (project / "tenants" / "us" / "tenant.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")

    def level(day: dt.date) -> str | None:
        found = [f for f in check(project, ["us"], day).tenants[0].findings if f.id == "cpa.universal-opt-out"]
        return found[0].level if found else None

    assert (level(dt.date(2024, 6, 30)), level(dt.date(2024, 7, 1))) == ("warning", "error")


def test_unset_us_practices_are_never_printed_as_a_no(tmp_path: Path) -> None:
    from policygen.htmltext import html_text
    from policygen.project import load_project
    from policygen.render import ClauseRenderer
    from policygen.site import render_tenant_documents

    data = facts()
    data.pop("us_privacy")
    for c in data["data_categories"]:
        c.pop("sold")
        c.pop("shared")
    findings_for(tmp_path, data)  # writes the project
    project = load_project(tmp_path / "project", ["us"])
    docs = render_tenant_documents(project, ClauseRenderer(project.content), project.tenants["us"])
    said = " ".join(html_text(c.html) for d in docs for c in d.clauses if c.id == "us-privacy")
    assert "Under the Texas Data Privacy and Security Act" in said  # what the law gives is still said
    assert " not " not in said and "We sell" not in said and "We share" not in said


def test_the_notice_at_collection_lists_each_category_with_its_purposes_sale_and_retention(tmp_path: Path) -> None:
    from policygen.htmltext import html_text
    from policygen.project import load_project
    from policygen.render import ClauseRenderer
    from policygen.site import render_tenant_documents

    findings_for(tmp_path, facts())
    project = load_project(tmp_path / "project", ["us"])
    docs = render_tenant_documents(project, ClauseRenderer(project.content), project.tenants["us"])
    notice = next(d for d in docs if d.id == "notice-at-collection")
    said = " ".join(html_text(c.html) for c in notice.clauses)
    assert "Precise location (California category: Sensitive personal information (precise geolocation))" in said
    assert "Why: Finding a store near you. We do not sell it." in said
    assert "How long we keep it: 13 months." in said
    assert "Do Not Sell or Share My Personal Information" in said and "Privacy Policy" in said
    links = " ".join(c.html for c in notice.clauses)
    assert 'href="../privacy-policy/index.html"' in links
    assert 'href="https://bramblewood.example/do-not-sell-or-share"' in links


def test_the_privacy_policy_says_whom_each_category_is_sold_to_or_shared_with(tmp_path: Path) -> None:
    from policygen.htmltext import html_text
    from policygen.project import load_project
    from policygen.render import ClauseRenderer
    from policygen.site import render_tenant_documents

    findings_for(tmp_path, facts())
    project = load_project(tmp_path / "project", ["us"])
    docs = render_tenant_documents(project, ClauseRenderer(project.content), project.tenants["us"])
    policy = next(d for d in docs if d.id == "privacy-policy")
    said = " ".join(html_text(c.html) for c in policy.clauses if c.id == "us-privacy")
    assert "Shared for cross-context behavioural advertising with: Advertising networks." in said
    assert "Sold to:" not in said  # sold_to: false says nothing more than the category's "We do not sell it"
