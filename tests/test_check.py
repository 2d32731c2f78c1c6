"""policygen check: what each tenant's policies lack, for the laws it declares."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO
from helpers import see_also_clause, set_facts

from policygen.check import _helpers, add_months, check, checklists, evaluate
from policygen.checkreport import CheckFinding, CheckReport, format_text
from policygen.cli import cli
from policygen.jurisdictions import JURISDICTIONS, US_STATE_LAWS
from policygen.project import load_project
from policygen.render import fact_context

TODAY = dt.date(2026, 11, 22)
DPDP_DAY = dt.date(2027, 5, 13)  # the DPDP notice duties apply; the IT (SPDI) Rules 2011 end
REFERENCE = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "disclosures.md"
)  # shared/ is beside the checkout

# What the seed tenants' real policies lack on TODAY (their facts model the seeds in ../shared/seeds/).
SEED_ERRORS = {
    # IMS Pro (India), held to the IT (SPDI) Rules 2011 until 2027-05-13: no named grievance officer, no
    # one-month answer to grievances.
    "ims-pro": {"spdi.grievance-officer", "spdi.grievance-time"},
    # IMS (UK): transfers rest on EU mechanisms and the Privacy Shield (invalid since 2020-07-16), with no UK
    # safeguard (IDTA / Addendum).
    "ims-global": {"uk.transfers", "transfer.tool"},
    # IHM Connect declares no jurisdiction: only the baseline (warnings) applies.
    "ihm-connect": set(),
}
SEED_WARNINGS = {
    # "as long as necessary", no period or criteria; and the DPDP duties it will lack on 2027-05-13
    "ims-pro": {"baseline.retention-periods", "dpdp.board", "dpdp.grievance-time", "dpdp.rights", "dpdp.withdraw"},
    "ims-global": {"gdpr.automated-decisions"},
    "ihm-connect": {"baseline.jurisdiction", "notify.changes"},  # "continued use ... implies acceptance"
}


# The same tenants from 2027-05-13: the DPDP duties apply and the SPDI Rules end; nothing else moves.
SEED_ERRORS_FROM_DPDP_DAY = {
    "ims-pro": {"dpdp.board", "dpdp.grievance-time", "dpdp.rights", "dpdp.withdraw"},
    "ims-global": {"uk.transfers", "transfer.tool"},
    "ihm-connect": set(),
}


@pytest.fixture(scope="module")
def seeds() -> CheckReport:
    return check(REPO, None, TODAY)


def ids(report: CheckReport, slug: str, level: str) -> set[str]:
    tenant = next(t for t in report.tenants if t.slug == slug)
    return {f.id for f in tenant.findings if f.level == level}


def findings(report: CheckReport, slug: str) -> list[CheckFinding]:
    return next(t for t in report.tenants if t.slug == slug).findings


@pytest.mark.parametrize("slug", sorted(SEED_ERRORS))
def test_seed_tenants_errors_are_exactly_what_their_policies_lack(seeds: CheckReport, slug: str) -> None:
    assert ids(seeds, slug, "error") == SEED_ERRORS[slug]


@pytest.fixture(scope="module")
def seeds_from_dpdp_day() -> CheckReport:
    return check(REPO, None, DPDP_DAY)


@pytest.mark.parametrize("slug", sorted(SEED_ERRORS_FROM_DPDP_DAY))
def test_seed_tenants_errors_from_the_dpdp_day(seeds_from_dpdp_day: CheckReport, slug: str) -> None:
    assert ids(seeds_from_dpdp_day, slug, "error") == SEED_ERRORS_FROM_DPDP_DAY[slug]
    assert not any(f.applies_from for f in findings(seeds_from_dpdp_day, slug))  # nothing left to come


@pytest.mark.parametrize("slug", sorted(SEED_WARNINGS))
def test_seed_tenants_warnings_include_the_known_gaps(seeds: CheckReport, slug: str) -> None:
    assert SEED_WARNINGS[slug] <= ids(seeds, slug, "warning")


def test_ims_pro_finding_names_the_reference_and_the_fact_to_add(seeds: CheckReport) -> None:
    board = next(f for f in findings(seeds, "ims-pro") if f.id == "dpdp.board")
    assert board.level == "warning" and board.applies_from == DPDP_DAY
    assert board.jurisdiction == "in_dpdp"
    assert "Rule 3(c)(iii)" in (board.reference or "")
    assert board.fact is not None and board.fact.startswith("supervisory_authority")
    assert board.file == REPO / "tenants" / "ims-pro" / "tenant.yaml"


def test_a_finding_about_a_present_fact_points_at_its_line(seeds: CheckReport) -> None:
    transfers = next(f for f in findings(seeds, "ims-global") if f.id == "uk.transfers")
    lines = (REPO / "tenants" / "ims-global" / "tenant.yaml").read_text(encoding="utf-8").splitlines()
    assert transfers.line is not None and lines[transfers.line - 1].startswith("transfers:")
    assert "outside-eea" in transfers.message


def test_tenant_without_jurisdiction_gets_only_the_baseline(seeds: CheckReport) -> None:
    ihm = findings(seeds, "ihm-connect")
    assert {f.jurisdiction for f in ihm if f.kind == "disclosure"} == {"baseline"}
    assert all(f.level == "warning" for f in ihm)


def test_check_exits_1_on_errors_and_prints_each_with_reference(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(REPO), "check", "ims-pro", "--today", "2027-05-13"])
    assert result.exit_code == 1
    assert "tenants/ims-pro/tenant.yaml: error: dpdp.board:" in result.output
    assert "reference: DPDP s5(1)(iii); Rule 3(c)(iii)" in result.output
    assert "add: supervisory_authority" in result.output


def test_check_exits_0_when_only_warnings_remain() -> None:
    result = CliRunner().invoke(cli, ["-C", str(REPO), "check", "ihm-connect", "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output


def test_json_output_has_summary_tenants_and_findings() -> None:
    result = CliRunner().invoke(cli, ["-C", str(REPO), "check", "--format", "json", "--today", "2026-11-22"])
    data = json.loads(result.output)
    assert result.exit_code == 1
    assert data["today"] == "2026-11-22"
    assert [t["tenant"] for t in data["tenants"]] == ["example-fitness", "ihm-connect", "ims-global", "ims-pro"]
    pro = next(t for t in data["tenants"] if t["tenant"] == "ims-pro")
    assert pro["errors"] == len(SEED_ERRORS["ims-pro"])
    board = next(f for f in pro["findings"] if f["id"] == "dpdp.board")
    assert board["file"] == "tenants/ims-pro/tenant.yaml"
    assert set(board) == {
        "id",
        "level",
        "kind",
        "jurisdiction",
        "message",
        "reference",
        "fact",
        "file",
        "line",
        "document",
        "clause",
        "applies_from",
    }
    assert board["level"] == "warning" and board["applies_from"] == "2027-05-13"
    assert {"document", "clause", "reading_ease", "band", "words", "sentences", "file"} == set(pro["readability"][0])


def test_adding_the_missing_fact_clears_the_finding(project: Path) -> None:
    assert "dpdp.board" in ids(check(project, ["ims-pro"], DPDP_DAY), "ims-pro", "error")
    set_facts(
        project, "ims-pro", {"supervisory_authority": {"name": "Data Protection Board of India", "country": "India"}}
    )
    assert "dpdp.board" not in ids(check(project, ["ims-pro"], DPDP_DAY), "ims-pro", "error")


def test_conditional_item_applies_only_when_its_condition_holds(project: Path) -> None:
    # ims-global bases purposes on legitimate interest and states each interest: satisfied.
    assert "gdpr.legitimate-interest" not in ids(check(project, ["ims-global"], TODAY), "ims-global", "error")
    data = yaml.safe_load((project / "tenants/ims-global/tenant.yaml").read_text(encoding="utf-8"))
    for purpose in data["purposes"]:
        for basis in purpose["lawful_bases"]:
            basis.pop("interest", None)
    set_facts(project, "ims-global", {"purposes": data["purposes"]})
    found = next(
        f for f in findings(check(project, ["ims-global"], TODAY), "ims-global") if f.id == "gdpr.legitimate-interest"
    )
    assert "advertising" in found.message
    # With no legitimate-interest basis at all, the item does not apply.
    for purpose in data["purposes"]:
        purpose["lawful_bases"] = [{"basis": "contract"}]
    set_facts(project, "ims-global", {"purposes": data["purposes"]})
    report = check(project, ["ims-global"], TODAY)
    assert "gdpr.legitimate-interest" not in ids(report, "ims-global", "error")
    assert "gdpr.withdraw-consent" not in ids(report, "ims-global", "error")  # no consent basis either


def test_california_policy_older_than_12_months_is_an_error(project: Path) -> None:
    set_facts(project, "ims-global", {"jurisdictions": ["us_ca"], "dates": {"effective": "2025-01-10"}})
    late = findings(check(project, ["ims-global"], dt.date(2026, 1, 11)), "ims-global")
    assert any(f.id == "ccpa.updated" and f.level == "error" and "2026-01-10" in f.message for f in late)
    on_time = findings(check(project, ["ims-global"], dt.date(2026, 1, 10)), "ims-global")
    assert not any(f.id == "ccpa.updated" for f in on_time)


def test_a_fact_no_document_shows_is_reported(project: Path) -> None:
    # A tenant override drops the complaints clause: the authority is in the facts, but no page says it.
    own = project / "tenants/ims-global/content/privacy-policy"
    own.mkdir(parents=True)
    (own / "complaints.md").write_text(
        '---\nid: complaints\ntitle: Complaints\norder: 140\nwhen: "false"\n---\nx\n', encoding="utf-8"
    )
    found = {f.id: f for f in findings(check(project, ["ims-global"], TODAY), "ims-global")}
    assert "gdpr.complaint" in found and "no document shows the 'complaints' clause" in found["gdpr.complaint"].message


def test_links_that_lead_nowhere_are_errors(project: Path) -> None:
    see_also_clause(
        project,
        "ims-pro",
        "See [our rights section](#rights), [a missing one](#nowhere), [an index](../../index.html) "
        "and [a lost page](../missing/index.html).",
    )
    dead = [f for f in findings(check(project, ["ims-pro"], TODAY), "ims-pro") if f.id == "link.dead"]
    # Checked on every page the clause is on: the published one and each app's snippets of it.
    hrefs = {re.search(r"link '([^']+)'", f.message).group(1) for f in dead}  # type: ignore[union-attr]
    assert {"#nowhere", "../missing/index.html"} <= hrefs
    assert all(h.endswith(("#nowhere", "/missing/index.html")) for h in hrefs), hrefs
    assert all(f.level == "error" and f.document == "privacy-policy" for f in dead)


def test_telling_readers_to_check_the_page_is_an_error_when_nobody_is_notified(project: Path) -> None:
    set_facts(
        project,
        "ims-pro",
        {"changes": {"how_notified": ["page"], "statement": "Please check this page regularly for any updates."}},
    )
    found = [f for f in findings(check(project, ["ims-pro"], TODAY), "ims-pro") if f.id == "notify.changes"]
    assert len(found) == 1 and found[0].level == "error" and found[0].clause == "changes"
    set_facts(
        project,
        "ims-pro",
        {"changes": {"how_notified": ["email"], "statement": "We suggest you review this policy from time to time."}},
    )
    found = [f for f in findings(check(project, ["ims-pro"], TODAY), "ims-pro") if f.id == "notify.changes"]
    assert len(found) == 1 and found[0].level == "warning"


def test_readability_flags_the_hardest_clauses_first(seeds: CheckReport) -> None:
    pro = next(t for t in seeds.tenants if t.slug == "ims-pro")
    scores = [s.score.reading_ease for s in pro.readability]
    assert scores == sorted(scores) and len(scores) >= 5
    hard = [f for f in pro.findings if f.id == "readability.hard"]
    assert {f.clause for f in hard} == {s.clause for s in pro.readability if s.score.reading_ease < 30}
    assert "hardest to read" in format_text(seeds)


def test_broken_facts_are_reported_as_located_problems_and_exit_1_and_the_other_tenants_are_still_checked(
    project: Path,
) -> None:
    file = project / "tenants/ims-pro/tenant.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("  legal_name: GJ", "  legal_nme: GJ"), encoding="utf-8")
    report = check(project, None, TODAY)
    assert report.exit_code == 1
    checked = {t.slug for t in report.tenants}
    assert "ims-pro" not in checked and {"ims-global", "ihm-connect"} <= checked
    assert ids(report, "ims-global", "error") == SEED_ERRORS["ims-global"]
    assert any(p.file == file and p.line is not None and "legal_nme" in p.message for p in report.problems)
    result = CliRunner().invoke(cli, ["-C", str(project), "check", "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["problems"][0]["file"].endswith("tenant.yaml")


def test_quiet_prints_only_what_is_at_error_level_and_the_summary() -> None:
    loud = CliRunner().invoke(cli, ["-C", str(REPO), "check", "--today", TODAY.isoformat()])
    quiet = CliRunner().invoke(cli, ["-C", str(REPO), "check", "-q", "--today", TODAY.isoformat()])
    assert loud.exit_code == quiet.exit_code == 1
    assert "warning:" in loud.output and "hardest to read" in loud.output
    assert "warning:" not in quiet.output and "hardest to read" not in quiet.output
    errors = [line for line in loud.output.splitlines() if ": error: " in line or line.startswith("  error: ")]
    assert errors and errors == [line for line in quiet.output.splitlines() if "error: " in line]
    assert "ihm-connect" not in quiet.output  # a tenant with warnings only
    assert quiet.output.splitlines()[-1] == loud.output.splitlines()[-1]


def test_the_sites_findings_come_under_a_heading_of_their_own() -> None:
    lines = CliRunner().invoke(cli, ["-C", str(REPO), "check", "--today", TODAY.isoformat()]).output.splitlines()
    heading = lines.index("the site (findings about no one tenant)")
    assert "translation.words_unreviewed" in lines[heading + 1] and lines[heading - 1].startswith("  ")


def test_unknown_tenant_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["-C", str(REPO), "check", "ims-prro"])
    assert result.exit_code == 2 and "did you mean 'ims-pro'" in result.output


def test_add_months_keeps_the_day_or_the_month_end() -> None:
    assert add_months(dt.date(2025, 1, 10), 12) == dt.date(2026, 1, 10)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)


# --- the checklists as data ------------------------------------------------------------------------------


def test_checklists_exist_for_every_jurisdiction_a_tenant_can_declare() -> None:
    assert set(checklists()) == {"baseline", *JURISDICTIONS}
    for checklist in checklists().values():
        item_ids = [i.id for i in checklist.items]
        assert len(item_ids) == len(set(item_ids)), checklist.jurisdiction
        assert all(i.test or i.lacking or i.mentions for i in checklist.items)


# Rows of the reference that are checked elsewhere or cannot be checked from facts (see the checklist files).
NOT_ITEMS = {"gdpr.joint-controllers", "gdpr.plain-language", "dpdp.standalone", "ccpa.updated"}
# Items from the reference's table of dates rather than its tables of rows: India's SPDI Rules 2011.
DATED_ITEMS = {
    "spdi.data-types",
    "spdi.purposes",
    "spdi.disclosures",
    "spdi.security",
    "spdi.grievance-officer",
    "spdi.grievance-time",
}


@pytest.mark.skipif(not REFERENCE.is_file(), reason="the shared reference is not here")
def test_checklists_cover_every_row_of_the_reference() -> None:
    rows = set(re.findall(r"^\| ((?:gdpr|uk|ccpa|dpdp)\.[a-z0-9-]+) \|", REFERENCE.read_text(encoding="utf-8"), re.M))
    listed = {i.id for c in checklists().values() for i in c.items}
    assert rows - NOT_ITEMS - listed == set()
    # The other US state laws are a table of regimes in the reference, not rows; California's authorised agents
    # (the reference's ccpa.methods row), financial incentives (11 CCR 7016) and the opt-out link (1798.135) have items.
    states = {i.id for j in US_STATE_LAWS if j != "us_ca" for i in checklists()[j].items}
    beyond = states | {"ccpa.agents", "ccpa.financial-incentives", "ccpa.opt-out-link"}
    assert listed - {i.id for i in checklists()["baseline"].items} - DATED_ITEMS - beyond <= rows


def test_uk_checklist_is_the_gdpr_rows_with_the_uk_age() -> None:
    eu = {i.id for i in checklists()["eu_gdpr"].items}
    uk = {i.id for i in checklists()["uk_gdpr"].items}
    assert eu - {"gdpr.child-age"} <= uk and "uk.child-age" in uk and "gdpr.child-age" not in uk


def test_every_checklist_expression_evaluates_on_every_seed_tenant() -> None:
    project = load_project(REPO)
    for tenant in project.tenants.values():
        context = fact_context(tenant.facts) | _helpers(tenant.facts, "", TODAY)
        for checklist in checklists().values():
            for item in checklist.items:
                applies, short = evaluate(item, context, "")
                assert isinstance(applies, bool) and isinstance(short, list), item.id


def test_verbose_lists_the_score_of_every_clause() -> None:
    runner = CliRunner()
    short = runner.invoke(cli, ["-C", str(REPO), "check", "ims-global", "--today", "2026-11-22"]).output
    every = runner.invoke(cli, ["-C", str(REPO), "check", "ims-global", "--today", "2026-11-22", "-v"]).output
    line = next(s for s in short.splitlines() if "hardest to read" in s)
    full = next(s for s in every.splitlines() if "hardest to read" in s)
    assert line.count("privacy-policy#") == 3 and full.count("privacy-policy#") > 10


# --- unknowns the law requires are reported, never filled in -------------------------------------------


def test_an_unstated_role_is_reported_as_not_saying_who_the_controller_is(project: Path) -> None:
    data = yaml.safe_load((project / "tenants/ims-global/tenant.yaml").read_text(encoding="utf-8"))
    organisation = {k: v for k, v in data["organisation"].items() if k != "role"}
    set_facts(project, "ims-global", {"organisation": organisation})
    assert "gdpr.identity" in ids(check(project, ["ims-global"], TODAY), "ims-global", "error")
    set_facts(project, "ims-global", {"organisation": {**organisation, "role": "controller"}})
    assert "gdpr.identity" not in ids(check(project, ["ims-global"], TODAY), "ims-global", "error")


def test_california_needs_selling_stated_not_assumed(project: Path) -> None:
    set_facts(project, "ims-global", {"jurisdictions": ["us_ca"]})
    found = ids(check(project, ["ims-global"], TODAY), "ims-global", "error")
    assert {"ccpa.sold-shared", "ccpa.under-16"} <= found  # nothing says whether data is sold, or children's
    children = yaml.safe_load((project / "tenants/ims-global/tenant.yaml").read_text(encoding="utf-8"))["children"]
    set_facts(
        project,
        "ims-global",
        {"sharing": {"sells": False}, "children": {**children, "sells_or_shares_under_16": False}},
    )
    found = ids(check(project, ["ims-global"], TODAY), "ims-global", "error")
    assert not {"ccpa.sold-shared", "ccpa.under-16"} & found


def test_check_renders_each_tenant_once_in_each_language(monkeypatch: pytest.MonkeyPatch) -> None:
    from policygen import check as check_module
    from policygen import site

    rendered: list[tuple[str, str | None]] = []
    real = site.render_tenant_documents

    def counting(*args: Any) -> Any:
        rendered.append((args[2].slug, args[3] if len(args) > 3 else None))  # (project, renderer, tenant, locale)
        return real(*args)

    monkeypatch.setattr(site, "render_tenant_documents", counting)
    monkeypatch.setattr(check_module, "render_tenant_documents", counting)
    report = check(REPO, today=TODAY)
    assert not report.problems
    assert len(rendered) == len(set(rendered))  # nothing rendered twice
    languages = {t.slug: len(t.facts.published_languages) for t in load_project(REPO).tenants.values()}
    assert sorted(slug for slug, _ in rendered) == sorted(s for s, n in languages.items() for _ in range(n))
    assert languages["ims-pro"] == 2  # English and Hindi


@pytest.mark.parametrize("published", [False, True], ids=["a language no tenant publishes", "a published one"])
def test_a_translation_with_other_template_code_is_found_whether_or_not_a_tenant_publishes_it(
    project: Path, published: bool
) -> None:
    # A broken translation is found before a tenant first publishes its language: a warning for the site, since
    # no page is made from it yet; once published, an error (here its tag does not compile where it renders).
    translation = project / "content/privacy-policy/005-at-a-glance.de.md"
    translation.write_text(translation.read_text(encoding="utf-8") + "{% if %}\n", encoding="utf-8")
    if published:
        set_facts(project, "ihm-connect", {"languages": ["en-IN", "de"]})
    report = check(project, today=dt.date(2026, 11, 22))
    site = [f for f in report.site if f.id == "translation.code"]
    tenant = [f for t in report.tenants for f in t.findings if f.id == "translation.code"]
    if published:
        assert site == [] and [(p.level, p.file) for p in report.problems] == [("error", translation)]
    else:
        assert tenant == [] and [(f.level, f.file) for f in site] == [("warning", translation)]
        assert "no tenant publishes 'de' yet" in site[0].message
