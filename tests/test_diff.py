"""policygen diff: fact findings with tiers, word-level clause changes, the report, rules files and release."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import REPO
from helpers import edit_facts

from policygen.cli import cli
from policygen.diff import diff_document
from policygen.errors import InputError
from policygen.htmltext import tokens
from policygen.rules import load_rules
from policygen.versions import load_releases
from policygen.worddiff import ClauseText, diff_clauses, word_diff

DEMO = "example-fitness"  # the invented demo tenant: two released versions


def invoke(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-C", str(project), *args])


def add_advertisers(data: dict[str, Any]) -> None:
    data["recipients"].append({"id": "advertisers", "category": "Advertising networks", "role": "controller"})


def replace_in(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def diff_json(project: Path, *args: str) -> dict[str, Any]:
    result = invoke(project, "diff", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


# --- the clause text differ ----------------------------------------------------------------


def test_clause_text_is_compared_word_by_word_ignoring_markup() -> None:
    assert tokens("<p>Keep it\n<strong>safe</strong></p><ul><li>one</li><li>two &amp; three</li></ul>") == [
        "Keep",
        "it",
        "safe",
        "\n",
        "one",
        "\n",
        "two",
        "&",
        "three",
    ]
    pieces = word_diff(["We", "keep", "data", "for", "18", "months."], ["We", "keep", "data", "for", "2", "years."])
    assert [(p.op, " ".join(p.tokens)) for p in pieces] == [
        ("equal", "We keep data for"),
        ("delete", "18 months."),
        ("insert", "2 years."),
    ]


def test_markup_only_changes_are_no_clause_change() -> None:
    old = {"a": ClauseText("Title", "<p>Same <em>words</em> here</p>")}
    new = {"a": ClauseText("Title", "<div><p>Same words</p> here</div>")}
    assert diff_clauses(old, new, facts_changed=False) == []


def test_a_reworded_clause_with_unchanged_facts_needs_review_unless_marked_editorial() -> None:
    old = {"a": ClauseText("Security", "<p>We protect you data.</p>")}
    new = {"a": ClauseText("Security", "<p>We protect your data.</p>")}
    [change] = diff_clauses(old, new, facts_changed=False)
    assert (change.review, change.hunks()) == ("needs-review", [{"old": "you", "new": "your"}])
    [marked] = diff_clauses(old, new, facts_changed=False, editorial="typo")
    assert (marked.review, marked.reason) == ("editorial", "typo")


# --- policygen diff over the working tree --------------------------------------------------------


def test_unchanged_working_tree_reports_no_change(project: Path) -> None:
    data = diff_json(project, DEMO)
    assert (data["tier"], data["findings"], data["clauses"]) == ("none", [], [])
    assert (data["from"], data["to"]) == ("2", "working")


def test_json_report_has_the_documented_shape(project: Path) -> None:
    edit_facts(project, DEMO, add_advertisers)
    data = diff_json(project, DEMO, "--document", "privacy-policy")
    assert list(data) == [
        "tenant",
        "document",
        "from",
        "to",
        "effective",
        "tier",
        "notice",
        "summary",
        "findings",
        "clauses",
    ]
    assert (data["tenant"], data["document"], data["tier"], data["notice"]) == (
        DEMO,
        "privacy-policy",
        "material",
        True,
    )
    [finding] = data["findings"]
    assert {k: finding[k] for k in ("path", "change", "old", "tier", "rule")} == {
        "path": "recipients[advertisers]",
        "change": "added",
        "old": None,
        "tier": "material",
        "rule": "recipient",
    }
    assert finding["new"] == {"id": "advertisers", "category": "Advertising networks", "role": "controller"}
    assert "WP260 rev.01 para 30" in finding["source"]
    clauses = {c["id"]: c for c in data["clauses"]}
    assert list(clauses) == ["at-a-glance", "sharing"]  # the first layer names the recipients too
    assert all(c["review"] == "follows-facts" for c in clauses.values())
    assert clauses["sharing"]["words"] == [{"old": "", "new": "Advertising networks."}]


def test_text_report_names_path_tier_rule_and_source(project: Path) -> None:
    edit_facts(project, DEMO, add_advertisers)
    result = invoke(project, "diff", DEMO)
    assert result.exit_code == 0
    assert "tier: material" in result.output
    assert "recipients[advertisers] added" in result.output
    assert "rule recipient (EDPB/WP29 WP260 rev.01 para 30" in result.output
    assert "We now share data with a new kind of recipient: Advertising networks." in result.output


def test_fail_on_exits_1_when_the_tier_is_reached_and_0_below(project: Path) -> None:
    edit_facts(project, DEMO, add_advertisers)
    assert invoke(project, "diff", DEMO, "--fail-on", "material").exit_code == 1
    assert invoke(project, "diff", DEMO, "--fail-on", "minor").exit_code == 1
    assert invoke(project, "diff", DEMO, "--fail-on", "consent").exit_code == 0


def test_bad_usage_exits_2_with_a_clear_message(project: Path) -> None:
    result = invoke(project, "diff", DEMO, "--fail-on", "materal")
    assert result.exit_code == 2 and "did you mean 'material'" in result.output
    result = invoke(project, "diff", DEMO, "--from", "7")
    assert result.exit_code == 2 and "no version '7'" in result.output and "1, 2" in result.output
    result = invoke(project, "diff", DEMO, "--document", "privacy-polcy")
    assert result.exit_code == 2 and "did you mean 'privacy-policy'" in result.output
    result = invoke(project, "diff", "nobody")
    assert result.exit_code == 2


def test_a_document_never_released_cannot_be_diffed_yet(tmp_path: Path) -> None:
    from conftest import copy_project

    project = copy_project(tmp_path / "p", releases=False)
    result = invoke(project, "diff", DEMO)
    assert result.exit_code == 2 and "no released version" in result.output and "policygen release" in result.output


def test_a_typo_fixed_in_a_clause_needs_review(project: Path) -> None:
    replace_in(
        project / "content" / "privacy-policy" / "010-introduction.md", "This policy explains", "This policy explians"
    )
    data = diff_json(project, DEMO)
    assert data["findings"] == []
    assert data["tier"] == "needs-review"
    assert [(c["id"], c["review"], c["words"]) for c in data["clauses"]] == [
        ("introduction", "needs-review", [{"old": "explains", "new": "explians"}])
    ]
    assert invoke(project, "diff", DEMO, "--fail-on", "needs-review").exit_code == 1
    assert invoke(project, "diff", DEMO, "--fail-on", "minor").exit_code == 0


def test_a_clause_rewritten_with_a_fact_change_still_needs_review(project: Path) -> None:
    edit_facts(project, DEMO, add_advertisers)
    replace_in(
        project / "content" / "privacy-policy" / "010-introduction.md", "This policy explains", "This policy sets out"
    )
    data = diff_json(project, DEMO)
    reviews = {c["id"]: c["review"] for c in data["clauses"]}
    assert reviews == {"at-a-glance": "follows-facts", "introduction": "needs-review", "sharing": "follows-facts"}
    assert data["tier"] == "material"


def test_theme_changes_alone_are_no_change(project: Path) -> None:
    replace_in(project / "themes" / "default" / "templates" / "document.html", "<h1>", '<h1 class="big">')
    data = diff_json(project, DEMO)
    assert data["tier"] == "none"
    result = invoke(project, "release", DEMO, "--effective", "2027-01-01", "--released", "2026-11-01")
    assert result.exit_code == 1 and "nothing to release" in result.output


def test_retention_lengthened_in_the_working_tree_reads_as_a_notice_line(project: Path) -> None:
    def longer(data: dict[str, Any]) -> None:
        period = next(p for p in data["retention"]["periods"] if p["id"] == "user-account")
        period["period"] = "30 business days"

    assert (
        invoke(project, "release", "ihm-connect", "--effective", "2025-06-01", "--released", "2025-06-01").exit_code
        == 0
    )
    edit_facts(project, "ihm-connect", longer)
    data = diff_json(project, "ihm-connect", "--document", "data-deletion-policy")
    [finding] = [f for f in data["findings"] if f["path"].startswith("retention")]
    assert (finding["path"], finding["change"], finding["tier"]) == (
        "retention.periods[user-account].period",
        "lengthened",
        "material",
    )
    assert (
        finding["says"]
        == "We now keep your Personal user account data for 30 business days instead of 7 business days."
    )


# --- the rules file ----------------------------------------------------------------------


def test_a_project_rules_file_adjusts_a_default_rule(project: Path) -> None:
    (project / "rules.yaml").write_text(
        "notice_days: 45\nrules:\n  - id: recipient-vendor\n    tiers: {added: material}\n", encoding="utf-8"
    )
    rules = load_rules(project)
    vendor = next(r for r in rules.rules if r.id == "recipient-vendor")
    assert vendor.tiers == {"added": "material", "removed": "minor"}
    assert rules.notice_days == 45
    assert rules.files == ("rules.yaml", "rules.yaml")


def test_a_tenant_rule_is_tried_before_the_defaults(project: Path) -> None:
    (project / "tenants" / DEMO / "rules.yaml").write_text(
        yaml.safe_dump(
            {
                "rules": [
                    {
                        "id": "advertising-is-consent",
                        "path": "recipients[*]",
                        "when": {"role": "controller"},
                        "tiers": {"added": "consent"},
                        "sources": ["Our own policy"],
                        "say": {"added": "We would share your data with {item}."},
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    edit_facts(project, DEMO, add_advertisers)
    data = diff_json(project, DEMO)
    [finding] = data["findings"]
    assert (finding["tier"], finding["rule"], finding["source"]) == (
        "consent",
        "advertising-is-consent",
        "Our own policy",
    )
    assert finding["says"] == "We would share your data with Advertising networks."
    assert (
        invoke(project, "release", "ims-global", "--effective", "2021-11-17", "--released", "2021-11-17").exit_code == 0
    )
    edit_facts(project, "ims-global", add_advertisers)
    other = diff_json(project, "ims-global")  # other tenants keep the defaults
    assert other["tier"] == "material"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules:\n  - id: recipient\n    tiers: {added: urgent}\n", "rules[0].tiers.added"),
        ("rules:\n  - id: recipient\n    colour: red\n", "unknown key 'colour'"),
        ("rules:\n  - id: mine\n    tiers: {added: minor}\n", "rule 'mine' is new and has no path"),
        ("rules:\n  - id: recipient\n    path: 'recipients[*'\n", "'[' without ']'"),
        ("rules:\n  - id: recipient\n    say: {added: 'Hello {name}'}\n", "'{name}' is not a placeholder"),
        ("notice_days: -3\n", "notice_days"),
        ("rules: [\n", "YAML syntax error"),
    ],
)
def test_a_bad_rules_file_is_reported_with_file_and_line(project: Path, text: str, expected: str) -> None:
    (project / "rules.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_rules(project)
    report = "\n".join(p.format(project) for p in caught.value.problems)
    assert expected in report and "rules.yaml:" in report
    result = invoke(project, "diff", DEMO)
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_the_default_rules_ship_with_the_package() -> None:
    rules = load_rules()
    assert rules.files == ("rules.yaml",) and rules.notice_days == 30
    assert {r.id for r in rules.rules} >= {
        "purpose",
        "retention-period",
        "recipient",
        "transfer",
        "controller",
        "rights-channel",
        "legal-basis",
        "children-directed",
        "device-permission",
    }
    assert rules.rules[-1].id == "other-fact"


# --- release: the diff recorded, the notice period enforced ---------------------------------------


def test_release_records_the_diff_in_the_snapshot(project: Path) -> None:
    edit_facts(project, DEMO, add_advertisers)
    result = invoke(project, "release", DEMO, "--effective", "2026-12-15", "--released", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert "material change: We now share data with a new kind of recipient" in result.output
    snap = load_releases(project / "tenants" / DEMO, "privacy-policy")[-1]
    assert snap.tier == "material" and snap.changes["from"] == "2"
    assert [f["path"] for f in snap.changes["findings"]] == ["recipients[advertisers]"]
    assert {c["id"]: c["review"] for c in snap.changes["clauses"]}["sharing"] == "follows-facts"
    report = diff_document(project, DEMO, from_version="2", to_version="3")
    assert report.tier == "material"


def test_a_material_release_inside_the_notice_period_is_refused(project: Path) -> None:
    edit_facts(project, DEMO, add_advertisers)
    result = invoke(project, "release", DEMO, "--effective", "2026-11-15", "--released", "2026-11-01")
    assert result.exit_code == 1
    assert "taking effect 14 days after its release" in result.output
    assert "--effective 2026-12-01 or later" in result.output
    assert len(load_releases(project / "tenants" / DEMO, "privacy-policy")) == 2


def test_forcing_a_release_needs_a_reason_which_is_recorded(project: Path) -> None:
    edit_facts(project, DEMO, add_advertisers)
    args = ("release", DEMO, "--effective", "2026-11-15", "--released", "2026-11-01")
    assert invoke(project, *args, "--force").exit_code == 2
    result = invoke(project, *args, "--force", "--reason", "Required by a court order")
    assert result.exit_code == 0, result.output
    snap = load_releases(project / "tenants" / DEMO, "privacy-policy")[-1]
    assert snap.changes["forced"] == "Required by a court order"


def test_the_notice_period_is_configurable(project: Path) -> None:
    (project / "rules.yaml").write_text("notice_days: 10\n", encoding="utf-8")
    edit_facts(project, DEMO, add_advertisers)
    result = invoke(project, "release", DEMO, "--effective", "2026-11-15", "--released", "2026-11-01")
    assert result.exit_code == 0, result.output


def test_an_editorial_release_records_its_reason(project: Path) -> None:
    replace_in(
        project / "content" / "privacy-policy" / "010-introduction.md", "This policy explains", "This policy describes"
    )
    result = invoke(
        project,
        "release",
        DEMO,
        "--effective",
        "2026-11-15",
        "--released",
        "2026-11-01",
        "--editorial",
        "clearer wording, same meaning",
    )
    assert result.exit_code == 0, result.output
    snap = load_releases(project / "tenants" / DEMO, "privacy-policy")[-1]
    assert snap.tier == "editorial"
    assert snap.changes["editorial"] == "clearer wording, same meaning"
    data = diff_json(project, DEMO, "--from", "2", "--to", "3")
    assert data["tier"] == "editorial"
    assert {c["id"]: c["review"] for c in data["clauses"]} == {
        "introduction": "editorial",
        "changes": "follows-facts",
    }  # its effective date


def test_a_reworded_release_without_a_reason_records_needs_review(project: Path) -> None:
    replace_in(
        project / "content" / "privacy-policy" / "010-introduction.md", "This policy explains", "This policy describes"
    )
    assert invoke(project, "release", DEMO, "--effective", "2026-11-15", "--released", "2026-11-01").exit_code == 0
    snap = load_releases(project / "tenants" / DEMO, "privacy-policy")[-1]
    assert snap.tier == "needs-review"


# --- the demo tenant's history -------------------------------------------------------------------

DEMO_HISTORY = [
    (
        "1",
        "2",
        "material",
        [
            ("recipients[coaching]", "added", "material"),
            ("retention.periods[workouts].period", "lengthened", "material"),
        ],
    )
]


def test_the_demo_tenants_history_diffs_as_expected() -> None:
    releases = load_releases(REPO / "tenants" / DEMO, "privacy-policy")
    got = []
    for old, new in itertools.pairwise(releases):
        report = diff_document(REPO, DEMO, "privacy-policy", old.label, new.label)
        got.append((old.label, new.label, report.tier, [(f.path, f.change, f.tier) for f in report.findings]))
        assert new.tier == report.tier, "the tier recorded at release matches the diff"
        assert all(c.review == "follows-facts" for c in report.clauses)
    assert got == DEMO_HISTORY


def test_the_demo_tenants_working_tree_matches_its_last_release() -> None:
    assert diff_document(REPO, DEMO, "privacy-policy").tier == "none"


# --- wording changes of free-text facts ------------------------------------------------------------

TENANT_FILE = Path("tenants") / DEMO / "tenant.yaml"


def misspell_trigger(project: Path) -> None:
    replace_in(project / TENANT_FILE, "trigger: after it is logged", "trigger: after it is loged")


def test_a_spelling_fix_in_a_free_text_fact_needs_review_and_shows_its_words(project: Path) -> None:
    misspell_trigger(project)
    data = diff_json(project, DEMO)
    assert data["tier"] == "needs-review" and data["notice"] is False
    assert data["summary"] == "A few words changed in retention.periods[workouts].trigger; is the meaning the same?"
    [finding] = data["findings"]
    assert (finding["path"], finding["tier"], finding["rule_tier"], finding["words"]) == (
        "retention.periods[workouts].trigger",
        "needs-review",
        "material",
        [{"old": "logged", "new": "loged"}],
    )
    shown = invoke(project, "diff", DEMO).output
    assert "- logged\n            + loged" in shown
    assert "release with --editorial REASON" in shown


def test_a_spelling_fix_in_a_retention_trigger_released_editorial_needs_no_notice(project: Path) -> None:
    misspell_trigger(project)
    result = invoke(
        project, "release", DEMO, "--effective", "2026-11-02", "--released", "2026-11-01", "--editorial", "spelling"
    )
    assert result.exit_code == 0, result.output
    snap = load_releases(project / "tenants" / DEMO, "privacy-policy")[-1]
    assert (snap.tier, snap.changes["editorial"], snap.summary) == (
        "editorial",
        "spelling",
        "Editorial changes: spelling.",
    )
    assert snap.changes["findings"][0]["tier"] == "editorial"
    assert diff_json(project, DEMO, "--from", "2", "--to", "3")["tier"] == "editorial"


def test_the_same_fix_without_editorial_is_held_to_its_rule_and_release_says_how_to_proceed(project: Path) -> None:
    misspell_trigger(project)
    result = invoke(project, "release", DEMO, "--effective", "2026-11-02", "--released", "2026-11-01")
    assert result.exit_code == 1
    assert "retention.periods[workouts].trigger" in result.output
    assert "if the meaning did not, pass --editorial REASON" in result.output
    assert len(load_releases(project / "tenants" / DEMO, "privacy-policy")) == 2


def test_editorial_with_a_changed_duration_is_a_usage_error_naming_it(project: Path) -> None:
    misspell_trigger(project)
    replace_in(project / TENANT_FILE, "period: 24 months", "period: 36 months")
    result = invoke(
        project, "release", DEMO, "--effective", "2026-11-02", "--released", "2026-11-01", "--editorial", "spelling"
    )
    assert result.exit_code == 2, result.output
    assert "otherwise: retention.periods[workouts].period (lengthened);" in result.output
    assert "trigger" not in result.output  # the wording fix itself is not what stands in the way
    assert len(load_releases(project / "tenants" / DEMO, "privacy-policy")) == 2


def test_a_rewritten_free_text_fact_keeps_the_tier_its_rule_gives(project: Path) -> None:
    replace_in(project / TENANT_FILE, "trigger: after it is logged", "trigger: after your account is closed")
    data = diff_json(project, DEMO)
    [finding] = data["findings"]
    assert (finding["tier"], "rule_tier" in finding) == ("material", False)
    assert finding["words"] == [{"old": "it", "new": "your account"}, {"old": "logged", "new": "closed"}]


@pytest.mark.parametrize(
    ("old", "new", "candidate"),
    [
        ("after it is logged", "after it is loged", True),  # one letter
        ("after it is logged", "After it is logged.", True),  # case and punctuation
        ("after teh accont is closed", "after the account is closed", True),  # two words, each a typo
        ("kept for 30 days", "kept for 60 days", False),  # a number is a new meaning
        ("we do share it", "we do not share it", False),  # a word added
        ("after it is logged", "after it is deleted", False),  # a different word
        ("a b c d", "A. B. C. D.", True),  # punctuation and case only, however many words
        ("one two three four", "onr twp thred foue", False),  # more than three words replaced
    ],
)
def test_an_editorial_candidate_is_a_few_typo_like_word_changes(old: str, new: str, candidate: bool) -> None:
    from policygen.factdiff import wording_only

    assert wording_only(old, new) is candidate


def test_free_text_facts_are_told_from_typed_ones_by_their_type() -> None:
    from policygen.facts import Organisation, RetentionPeriod, is_free_text

    assert [is_free_text(RetentionPeriod, name) for name in ("data", "trigger", "id", "period", "kept")] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert [is_free_text(Organisation, name) for name in ("legal_name", "description", "role")] == [True, True, False]
