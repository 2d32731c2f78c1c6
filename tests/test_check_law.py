"""policygen check holds each tenant to the law in force on the day checked (--today).

The tenants in tests/fixtures/law/ need the dated law: one relies on the Privacy Shield, one uses
today's transfer tools, one is an Indian company between the IT (SPDI) Rules 2011 and the DPDP Act.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import REPO, copy_project
from helpers import set_facts

from policygen.check import check
from policygen.checkreport import CheckFinding, CheckReport
from policygen.engine import build
from policygen.law import Status, transfer_mechanisms
from policygen.site import BuildOptions

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "law"
CHECKLISTS = REPO / "policygen" / "data" / "checklists"
TODAY = dt.date(2026, 11, 22)
DPDP_DAY = dt.date(2027, 5, 13)


@pytest.fixture
def law(tmp_path: Path) -> Path:
    project = copy_project(tmp_path / "project", releases=False)
    for tenant in ("shield", "current", "india"):
        shutil.copytree(FIXTURES / tenant, project / "tenants" / tenant)
    return project


def findings(report: CheckReport, slug: str) -> list[CheckFinding]:
    return next(t for t in report.tenants if t.slug == slug).findings


def ids(report: CheckReport, slug: str, level: str) -> set[str]:
    return {f.id for f in findings(report, slug) if f.level == level}


# --- the law as data ----------------------------------------------------------------------------------


def test_every_checklist_item_has_a_source_and_a_date() -> None:
    for file in sorted(CHECKLISTS.glob("*.yaml")):
        for item in yaml.safe_load(file.read_text(encoding="utf-8"))["items"]:
            span = item.get("in_force") or {}
            assert isinstance(span.get("from"), dt.date), f"{file.name}: {item['id']} has no date it applies from"
            assert str(span.get("source", "")).strip(), f"{file.name}: {item['id']} has no source for its dates"
            assert str(item.get("reference", "")).strip(), f"{file.name}: {item['id']} has no legal reference"


def test_every_transfer_tool_has_a_source_and_a_date_and_an_ended_one_names_its_successors() -> None:
    tools = transfer_mechanisms()
    assert {
        "eu-us-privacy-shield",
        "swiss-us-privacy-shield",
        "eu-us-dpf",
        "uk-us-data-bridge",
        "eu-sccs-2021",
        "uk-idta",
        "uk-addendum",
    } <= set(tools)
    for tool in tools.values():
        assert tool.in_force.source.strip() and tool.in_force.start, tool.id
        if tool.in_force.until is not None:
            assert tool.replaced_by, f"{tool.id} ended without a successor"
            assert all(
                tools[r].in_force.start <= tool.in_force.until or tools[r].in_force.until is None
                for r in tool.replaced_by
            )


def test_the_privacy_shield_ended_on_the_day_of_schrems_ii() -> None:
    shield = transfer_mechanisms()["eu-us-privacy-shield"].in_force
    assert shield.status(dt.date(2020, 7, 15)) is Status.IN_FORCE
    assert shield.status(dt.date(2020, 7, 16)) is Status.ENDED
    assert "C-311/18" in shield.source
    assert transfer_mechanisms()["eu-us-dpf"].in_force.start == dt.date(2023, 7, 10)
    assert transfer_mechanisms()["uk-us-data-bridge"].in_force.start == dt.date(2023, 10, 12)


# --- India: the SPDI Rules until 2027-05-13, then the DPDP Act -------------------------------------------


def test_before_2027_05_13_an_indian_tenant_is_held_to_the_spdi_rules_and_warned_of_the_dpdp_duties(law: Path) -> None:
    report = check(law, ["india"], dt.date(2027, 5, 12))
    assert ids(report, "india", "error") == set()
    warned = {f.id: f for f in findings(report, "india") if f.jurisdiction == "in_dpdp"}
    assert {"dpdp.board", "dpdp.rights", "dpdp.withdraw"} <= set(warned)
    assert all(
        f.level == "warning" and f.applies_from == DPDP_DAY and f.message.startswith("from 2027-05-13")
        for f in warned.values()
    )


def test_from_2027_05_13_the_dpdp_duties_are_errors_and_the_spdi_rules_no_longer_apply(law: Path) -> None:
    report = check(law, ["india"], DPDP_DAY)
    assert ids(report, "india", "error") == {"dpdp.board", "dpdp.children", "dpdp.rights", "dpdp.withdraw"}
    assert not any(f.id.startswith("spdi.") for f in findings(report, "india"))


def test_spdi_asks_a_named_grievance_officer_who_answers_within_one_month(law: Path) -> None:
    set_facts(law, "india", {"complaints": {"response_days": 45}})
    late = {f.id: f for f in findings(check(law, ["india"], TODAY), "india")}
    assert late["spdi.grievance-time"].level == "error" and "r.5(9)" in (late["spdi.grievance-time"].reference or "")
    set_facts(law, "india", {"grievance_officer": {"email": "grievance@kaveri.example"}})  # no name
    assert "spdi.grievance-officer" in ids(check(law, ["india"], TODAY), "india", "error")


def test_ims_pro_before_and_after_the_dpdp_day(law: Path) -> None:
    before = check(law, ["ims-pro"], TODAY)
    assert ids(before, "ims-pro", "error") == {"spdi.grievance-officer", "spdi.grievance-time"}
    after = check(law, ["ims-pro"], DPDP_DAY)
    # dpdp.contact is met: the contact clause publishes apps@gjglobalsoft.com.
    assert ids(after, "ims-pro", "error") == {"dpdp.board", "dpdp.grievance-time", "dpdp.rights", "dpdp.withdraw"}


# --- transfer tools -------------------------------------------------------------------------------------


def test_relying_on_the_privacy_shield_is_an_error_that_names_the_replacements(law: Path) -> None:
    report = check(law, ["shield"], TODAY)
    tools = {f.message.split("'")[1]: f for f in findings(report, "shield") if f.id == "transfer.tool"}
    assert set(tools) == {"us-from-eu", "us-from-ch"} and all(f.level == "error" for f in tools.values())
    eu = tools["us-from-eu"]
    assert "the EU-US Privacy Shield, which cannot be used since 2020-07-16" in eu.message
    assert (
        "the EU-US Data Privacy Framework" in eu.message and "adopted by the European Commission in 2021" in eu.message
    )
    assert "IDTA" not in eu.message  # a UK tool is no help for data leaving the EU
    assert "C-311/18" in (eu.reference or "")
    swiss = tools["us-from-ch"]
    assert "since 2020-09-08" in swiss.message and "the Swiss-US Data Privacy Framework" in swiss.message
    assert report.exit_code == 1


def test_before_schrems_ii_the_privacy_shield_was_a_lawful_tool(law: Path) -> None:
    assert not any(f.id == "transfer.tool" for f in findings(check(law, ["shield"], dt.date(2019, 6, 1)), "shield"))
    between = [f for f in findings(check(law, ["shield"], dt.date(2020, 8, 1)), "shield") if f.id == "transfer.tool"]
    assert [f.message.split("'")[1] for f in between] == ["us-from-eu"]  # the Swiss one ended on 2020-09-08


def test_replacements_are_only_tools_in_force_on_the_day(law: Path) -> None:
    found = next(
        f
        for f in findings(check(law, ["shield"], dt.date(2023, 1, 1)), "shield")
        if f.id == "transfer.tool" and "us-from-eu" in f.message
    )
    assert "Data Privacy Framework" not in found.message and "2021" in found.message


def test_a_uk_exporter_on_the_privacy_shield_is_pointed_to_uk_tools() -> None:
    found = next(f for f in findings(check(REPO, ["ims-global"], TODAY), "ims-global") if f.id == "transfer.tool")
    assert "Privacy Shield" in found.message
    assert "IDTA" in found.message and "UK Addendum" in found.message and "UK Extension" in found.message


def test_current_tools_pass_and_a_tool_used_before_it_exists_is_an_error(law: Path) -> None:
    now = findings(check(law, ["current"], TODAY), "current")
    assert not {"transfer.tool", "uk.transfers", "gdpr.transfers"} & {f.id for f in now}
    early = [f for f in findings(check(law, ["current"], dt.date(2023, 8, 1)), "current") if f.id == "transfer.tool"]
    assert len(early) == 1 and "UK Extension" in early[0].message and "only from 2023-10-12" in early[0].message


def test_a_uk_transfer_needs_a_uk_tool_not_a_derogation(law: Path) -> None:
    data = yaml.safe_load((law / "tenants/current/tenant.yaml").read_text(encoding="utf-8"))
    data["transfers"][1]["safeguards"] = ["consent"]
    set_facts(law, "current", {"transfers": data["transfers"]})
    found = next(f for f in findings(check(law, ["current"], TODAY), "current") if f.id == "uk.transfers")
    assert "us-from-uk" in found.message and "us-from-eu" not in found.message


def test_the_transfers_clause_prints_the_tools_of_each_regime(law: Path, tmp_path: Path) -> None:
    build(law, tmp_path / "out", BuildOptions(tenants=["current"], today=TODAY))
    page = BeautifulSoup(
        (tmp_path / "out/current/privacy-policy/index.html").read_text(encoding="utf-8"), "html.parser"
    )
    paragraphs = page.find("section", id="transfers").get_text(" ", strip=True).split("Where data from")
    eu, uk = paragraphs[1], paragraphs[2]
    assert "from the European Union and the EEA" in eu and "the EU-US Data Privacy Framework" in eu
    assert "Standard Contractual Clauses adopted by the European Commission in 2021" in eu and "IDTA" not in eu
    assert "from the United Kingdom" in uk and "UK Extension" in uk and "(IDTA)" in uk
    assert "the EU-US Data Privacy Framework, for" not in uk


# --- the documents, not the facts, decide: false positives fixed ----------------------------------------------


def test_withdraw_consent_passes_when_the_page_already_says_it(law: Path) -> None:
    data = yaml.safe_load((law / "tenants/current/tenant.yaml").read_text(encoding="utf-8"))
    data["purposes"][0]["lawful_bases"] = [{"basis": "consent"}]  # the purposes clause then says it can be withdrawn
    set_facts(law, "current", {"purposes": data["purposes"]})
    assert "gdpr.withdraw-consent" not in {f.id for f in findings(check(law, ["current"], TODAY), "current")}


def test_withdraw_consent_is_missing_when_no_page_says_it(law: Path) -> None:
    # The tenant lists its own rights (so the law's full list is not printed for it), without withdrawal.
    set_facts(
        law,
        "current",
        {
            "marketing": {"basis": "consent", "opt_out": "Use the unsubscribe link in each email."},
            "rights": [{"id": "access"}, {"id": "erasure"}],
        },
    )
    assert "gdpr.withdraw-consent" in ids(check(law, ["current"], TODAY), "current", "error")


def test_observed_data_does_not_call_for_the_sources_of_article_14(law: Path) -> None:
    data = yaml.safe_load((law / "tenants/current/tenant.yaml").read_text(encoding="utf-8"))
    data["data_categories"].append(
        {"id": "usage", "name": "Usage data", "items": ["Pages visited"], "sources": ["automated"]}
    )
    set_facts(law, "current", {"data_categories": data["data_categories"]})
    assert not {"gdpr.sources", "gdpr.categories"} & {f.id for f in findings(check(law, ["current"], TODAY), "current")}
    data["data_categories"][-1]["sources"] = ["third_party"]
    set_facts(law, "current", {"data_categories": data["data_categories"]})
    assert "gdpr.sources" in ids(check(law, ["current"], TODAY), "current", "error")


def test_a_published_contact_email_answers_dpdp_contact(law: Path) -> None:
    set_facts(law, "india", {"grievance_officer": None})
    assert "dpdp.contact" not in {f.id for f in findings(check(law, ["india"], DPDP_DAY), "india")}
    data = yaml.safe_load((law / "tenants/india/tenant.yaml").read_text(encoding="utf-8"))
    data["organisation"].pop("email")
    data["organisation"]["phone"] = "+91 80 1234 5678"
    set_facts(law, "india", {"organisation": data["organisation"]})
    assert "dpdp.contact" in ids(check(law, ["india"], DPDP_DAY), "india", "error")


def test_a_bullet_list_of_nouns_is_not_scored_as_hard_prose() -> None:
    pro = next(t for t in check(REPO, ["ims-pro"], TODAY).tenants)
    # Was -53.3 when "Administrative safeguards", "Organizational safeguards" each counted as a sentence;
    # without them the clause has too few words of prose to score.
    assert all(s.score.reading_ease > 0 for s in pro.readability if s.clause == "security")
    assert "security" not in {f.clause for f in pro.findings if f.id == "readability.hard"}


# Items that are not about what a page says (the declared law, the page's language).
NOT_ON_A_PAGE = {"baseline.jurisdiction", "dpdp.languages"}


def test_every_item_is_judged_on_the_rendered_documents() -> None:
    from policygen.check import checklists

    for checklist in checklists().values():
        for item in checklist.items:
            if item.id in NOT_ON_A_PAGE:
                continue
            on_page = item.mentions or item.clause or any(f in (item.test or "") for f in ("mentioned(", "printed("))
            assert on_page, f"{item.id} passes on facts alone: name the clause that prints them, or test the text"


def test_a_fact_no_page_prints_does_not_pass_provision(law: Path) -> None:
    data = yaml.safe_load((law / "tenants/current/tenant.yaml").read_text(encoding="utf-8"))
    data["purposes"][0]["provision"] = "contractual"  # no library clause prints it
    set_facts(law, "current", {"purposes": data["purposes"]})
    assert "gdpr.provision" in {f.id for f in findings(check(law, ["current"], TODAY), "current")}


def test_own_words_naming_a_tool_of_any_year_are_not_called_too_early(law: Path) -> None:
    data = yaml.safe_load((law / "tenants/current/tenant.yaml").read_text(encoding="utf-8"))
    for transfer in data["transfers"]:
        transfer.pop("safeguards")
        transfer.pop("leaves")
        transfer["mechanism"] = ["Standard contractual clauses approved by the European Commission"]
    set_facts(law, "current", {"transfers": data["transfers"]})
    # "Standard contractual clauses" may be the clauses of 2010 in 2020: only the 2021 ones are listed as such.
    assert not any(f.id == "transfer.tool" for f in findings(check(law, ["current"], dt.date(2020, 1, 1)), "current"))


def test_one_transfer_per_regime_reads_without_repeated_sentences(law: Path) -> None:
    repeated = [
        f for f in findings(check(law, ["current"], TODAY), "current") if f.kind == "prose" and "transfers" in f.message
    ]
    assert repeated == []


# Dates checked against the instruments (docs/regimes.md names them): a change here must be a change of the law.
VERIFIED_TOOLS = {
    "eu-sccs-2021": (dt.date(2021, 6, 27), None),  # Decision (EU) 2021/914, Art. 4: 20 days after 2021-06-07
    "eu-sccs-2010": (dt.date(2018, 5, 25), dt.date(2022, 12, 27)),  # Decision (EU) 2021/914, Art. 4(4)
    "ch-sccs": (dt.date(2021, 8, 27), None),  # FDPIC recognition of 27 August 2021
    "swiss-us-dpf": (dt.date(2024, 9, 15), None),  # Federal Council decision of 14 August 2024
    "swiss-us-privacy-shield": (dt.date(2017, 4, 12), dt.date(2020, 9, 8)),  # FDPIC position paper of 8 Sept 2020
}
VERIFIED_ITEMS = {
    "uk_gdpr": {"gdpr.identity": dt.date(2021, 1, 1), "uk.complaints": dt.date(2026, 6, 19)},  # SI 2026/82
    "us_ca": {"ccpa.collected": dt.date(2023, 1, 1), "ccpa.opt-out-signals": dt.date(2023, 3, 29)},
    "us_va": {"vcdpa.rights": dt.date(2023, 1, 1)},
    "us_co": {"cpa.rights": dt.date(2023, 7, 1), "cpa.universal-opt-out": dt.date(2024, 7, 1)},
    "us_ct": {"ctdpa.rights": dt.date(2023, 7, 1), "ctdpa.universal-opt-out": dt.date(2025, 1, 1)},
    "us_tx": {"tdpsa.rights": dt.date(2024, 7, 1), "tdpsa.universal-opt-out": dt.date(2025, 1, 1)},
    "us_or": {"ocpa.rights": dt.date(2024, 7, 1), "ocpa.universal-opt-out": dt.date(2026, 1, 1)},
}


def test_the_verified_dates_stand() -> None:
    from policygen.check import checklists

    tools = transfer_mechanisms()
    assert {t: (tools[t].in_force.start, tools[t].in_force.until) for t in VERIFIED_TOOLS} == VERIFIED_TOOLS
    for jurisdiction, items in VERIFIED_ITEMS.items():
        listed = {i.id: i.in_force.start for i in checklists()[jurisdiction].items}
        assert {i: listed[i] for i in items} == items, jurisdiction
