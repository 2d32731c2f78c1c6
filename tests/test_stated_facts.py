"""Facts real policies state (issue 12): each prints its sentence when set, and nothing when unset.

The base is test_unknown_facts.HOLDERS: required facts plus places for practice facts, stating no
practice. Each case sets one new fact and finds its sentence on the built page, absent before.
How a change of each fact is classified is in test_diff_rules.py (the "facts real policies state" cases).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import build_one_tenant
from test_unknown_facts import HOLDERS, page_text, with_fact

from policygen.engine import build
from policygen.site import BuildOptions

TRACKERS = [
    {
        "id": "sid",
        "name": "sid",
        "provider": "Plain Example",
        "party": "first",
        "purpose": "Keeps you signed in",
        "category": "strictly_necessary",
        "duration": "session",
    },
    {
        "id": "ga",
        "name": "_ga",
        "technology": "cookie",
        "provider": "Google Analytics",
        "party": "third",
        "purpose": "Counts visits",
        "category": "analytics",
        "duration": "2 years",
        "consent": True,
    },
]
WITH_PRODUCT = {**HOLDERS, "products": [{"id": "vault", "name": "Plain Vault"}]}

# (name, facts, a sentence only those facts print)
CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "targeted advertising (US state laws)",
        with_fact(HOLDERS, "us_privacy.targeted_advertising", True),
        "We use personal data for targeted advertising. You can opt out.",
    ),
    (
        "no profiling (US state laws)",
        with_fact(HOLDERS, "us_privacy.profiling", False),
        "We do not use personal data for profiling that decides things with legal or similarly significant effects.",
    ),
    (
        "sensitive data sold (Texas)",
        with_fact(HOLDERS, "us_privacy.sells_sensitive", True),
        "NOTICE: We may sell your sensitive personal data.",
    ),
    (
        "authorised agents (California)",
        with_fact(HOLDERS, "us_privacy.authorised_agents", "An agent sends us your signed permission."),
        "Authorised agents. An agent sends us your signed permission.",
    ),
    (
        "no financial incentives (California)",
        with_fact(HOLDERS, "us_privacy.financial_incentives", False),
        "We do not offer financial incentives or different prices or services for personal data.",
    ),
    (
        "appeals (US state laws)",
        with_fact(HOLDERS, "us_privacy.appeals", "Reply to our answer within 45 days."),
        "Appeals. Reply to our answer within 45 days.",
    ),
    (
        "the opt-out page (California)",
        with_fact(HOLDERS, "us_privacy.opt_out_url", "https://example.org/do-not-sell"),
        "use Do Not Sell or Share My Personal Information .",
    ),
    (
        "permission asked on one platform",
        with_fact(HOLDERS, "apps[0].permissions[0].platforms", ["android"]),
        "Asked on Android only.",
    ),
    (
        "permission asked on first use",
        with_fact(HOLDERS, "apps[0].permissions[0].asked", "first_use"),
        "Asked the first time you use the feature that needs it.",
    ),
    (
        "data a recipient receives",
        with_fact(HOLDERS, "recipients[0].data", ["account"]),
        "What they receive: Account data.",
    ),
    (
        "published list of processors",
        with_fact(HOLDERS, "sharing.subprocessor_list", "https://example.org/processors"),
        "We publish the full list of the processors that receive personal data at https://example.org/processors .",
    ),
    (
        "kept a time after the account closes",
        with_fact(
            HOLDERS,
            "retention.periods",
            [{"id": "a", "data": "Profiles", "kept": {"until": "account_closed", "then": "60 days"}}],
        ),
        "Profiles 60 days after your account is closed",
    ),
    (
        "kept while the account is open",
        with_fact(HOLDERS, "retention.periods", [{"id": "a", "data": "Profiles", "kept": {"until": "account_closed"}}]),
        "Profiles while your account is open",
    ),
    (
        "kept indefinitely",
        with_fact(HOLDERS, "retention.periods", [{"id": "a", "data": "Invoices", "kept": {"until": "indefinitely"}}]),
        "Invoices indefinitely",
    ),
    (
        "measure in one product",
        with_fact(
            WITH_PRODUCT,
            "security",
            {
                "summary": "We protect data.",
                "scoped_measures": [{"applies_to": ["vault", "app"], "measure": "We encrypt every field"}],
            },
        ),
        "In Plain Vault and Example App: We encrypt every field.",
    ),
    (
        "regulator where you live",
        with_fact(
            HOLDERS,
            "authorities_where_you_live",
            {
                "list_url": "https://edpb.europa.eu/about-edpb/members_en",
                "list_by": "the European Data Protection Board",
            },
        ),
        "You can complain to the data protection regulator where you live. The official list of regulators, published "
        "by the European Data Protection Board, is at https://edpb.europa.eu/about-edpb/members_en .",
    ),
    (
        "changes on a blog",
        with_fact(HOLDERS, "changes.announced_on", [{"kind": "blog", "url": "https://example.org/blog"}]),
        "We also write about changes on our blog at https://example.org/blog .",
    ),
    (
        "a public change log",
        with_fact(HOLDERS, "changes.announced_on", [{"kind": "change_log", "url": "https://example.org/changes"}]),
        "Every change is listed in our public change log at https://example.org/changes .",
    ),
    (
        "data not collected",
        with_fact(HOLDERS, "not_collected", ["biometric_data", "precise_location"]),
        "We do not collect biometric data (such as fingerprints or face scans) or your precise location.",
    ),
    (
        "law-enforcement requests",
        with_fact(HOLDERS, "law_enforcement", {"how": "We answer only a court order"}),
        "Requests from the police and other authorities We answer only a court order.",
    ),
    (
        "people told about requests",
        with_fact(HOLDERS, "law_enforcement", {"how": "We answer only a court order", "notify": True}),
        "We tell you when an authority asks for your data, unless the law forbids us to.",
    ),
    (
        "trackers listed in the privacy policy",
        with_fact(HOLDERS, "trackers", TRACKERS),
        "_ga (cookie) Google Analytics (Another company) Counts visits 2 years Yes",
    ),
    (
        "cookie choices",
        with_fact(HOLDERS, "cookie_choices", "Use the cookie settings link at the foot of every page."),
        "Use the cookie settings link at the foot of every page.",
    ),
    (
        "Do Not Track honoured",
        with_fact(HOLDERS, "signals.do_not_track", True),
        "We honour the Do Not Track signal your browser can send.",
    ),
    (
        "Do Not Track not honoured",
        with_fact(HOLDERS, "signals.do_not_track", False),
        "We do not respond to the Do Not Track signal your browser can send.",
    ),
    (
        "Global Privacy Control honoured",
        with_fact(HOLDERS, "signals.global_privacy_control", True),
        "We honour the Global Privacy Control signal your browser can send.",
    ),
]


@pytest.fixture(scope="module")
def holders_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    return page_text(tmp_path_factory.mktemp("holders"), HOLDERS, "holders")


@pytest.mark.parametrize(("name", "facts", "sentence"), CASES, ids=[c[0] for c in CASES])
def test_each_new_fact_prints_its_sentence_only_when_set(
    tmp_path: Path, holders_text: str, name: str, facts: dict[str, Any], sentence: str
) -> None:
    assert sentence not in holders_text
    assert sentence in page_text(tmp_path, facts, "after")


def test_unset_new_facts_add_no_section(holders_text: str) -> None:
    for title in (
        "Requests from the police and other authorities",
        "Cookies",
        "Cookie Policy",
        "regulator where you live",
        "Do Not Track",
        "Global Privacy Control",
        "We do not collect",
        "What they receive",
        "Asked on",
    ):
        assert title not in holders_text


def document_text(tmp: Path, facts: dict[str, Any], doc: str) -> str:
    out = build_one_tenant(tmp / "project", facts)
    main = BeautifulSoup((out / "t" / doc / "index.html").read_text(encoding="utf-8"), "html.parser").find("main")
    assert main is not None
    return " ".join(main.get_text(" ").split())


def with_cookie_policy(facts: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(facts)
    out["documents"] = [{"id": "privacy-policy"}, {"id": "cookie-policy"}]
    return out


def test_the_cookie_policy_lists_each_tracker_by_category_with_its_facts(tmp_path: Path) -> None:
    facts = with_cookie_policy(with_fact(HOLDERS, "trackers", TRACKERS))
    text = document_text(tmp_path, facts, "cookie-policy")
    assert (
        "Strictly necessary Name Set by What it is for How long it stays sid Plain Example (Us) Keeps you signed in "
        "Until you close the browser" in text
    )
    assert (
        "Analytics Name Set by What it is for How long it stays Asked first _ga (cookie) Google Analytics "
        "(Another company) Counts visits 2 years Yes" in text
    )
    assert "Preferences" not in text and "Advertising" not in text  # no heading for a category without trackers
    assert 'We set a cookie whose "Asked first" column says Yes only after you agree to it.' in text


def test_a_cookie_policy_without_trackers_lists_none_and_asks_nothing(tmp_path: Path) -> None:
    text = document_text(tmp_path, with_cookie_policy(HOLDERS), "cookie-policy")
    assert "The cookies we use" not in text and "Asked first" not in text and "Your choices" not in text


def test_the_privacy_policy_points_to_the_cookie_policy_only_when_the_tenant_publishes_it(tmp_path: Path) -> None:
    facts = with_fact(HOLDERS, "trackers", TRACKERS)
    pointer = "Our Cookie Policy lists each cookie and similar technology we use"
    published = document_text(tmp_path / "with", with_cookie_policy(facts), "privacy-policy")
    alone = document_text(tmp_path / "without", facts, "privacy-policy")
    assert pointer in published and "_ga" not in published  # the list lives in the cookie policy
    assert pointer not in alone and "_ga (cookie)" in alone


def test_consent_is_a_column_only_when_some_tracker_states_it(tmp_path: Path) -> None:
    unstated = [dict(t) for t in TRACKERS]
    unstated[1].pop("consent")
    text = document_text(tmp_path, with_fact(HOLDERS, "trackers", unstated), "privacy-policy")
    assert "_ga (cookie)" in text and "Asked first" not in text


def test_the_json_schema_describes_the_new_facts() -> None:
    from policygen.facts import json_schema

    schema = json_schema()
    top = schema["properties"]
    for name in (
        "trackers",
        "cookie_choices",
        "signals",
        "not_collected",
        "law_enforcement",
        "authorities_where_you_live",
    ):
        assert name in top, name
    defs = schema["$defs"]
    assert set(defs["Tracker"]["required"]) == {"id", "name", "provider", "party", "purpose", "category", "duration"}
    assert {"kept"} <= set(defs["RetentionPeriod"]["properties"])
    assert {"until", "then"} == set(defs["Kept"]["properties"])
    assert {"platforms", "asked"} <= set(defs["Permission"]["properties"])
    assert "data" in defs["Recipient"]["properties"] and "subprocessor_list" in defs["Sharing"]["properties"]
    assert "announced_on" in defs["Changes"]["properties"] and "scoped_measures" in defs["Security"]["properties"]


# Every new fact set at once, as a tenant a writer could publish: its pages must lint clean and be explained.
EVERY_NEW_FACT: dict[str, Any] = {
    **WITH_PRODUCT,
    "organisation": {
        "legal_name": "Plain Example Ltd",
        "display_name": "Plain Example",
        "email": "privacy@example.org",
    },
    "apps": [
        {
            "id": "app",
            "name": "Example App",
            "audience": "members",
            "permissions": [
                {"id": "camera", "reason": "To scan receipts", "platforms": ["android"], "asked": "first_use"}
            ],
        }
    ],
    "recipients": [{"id": "hosting", "category": "Hosting providers", "data": ["account"]}],
    "sharing": {"subprocessor_list": "https://example.org/processors"},
    "retention": {
        "summary": "We keep data only as long as we need it.",
        "periods": [
            {"id": "profile", "data": "Profiles", "kept": {"until": "account_closed", "then": "60 days"}},
            {"id": "invoices", "data": "Invoices", "kept": {"until": "indefinitely"}},
        ],
    },
    "security": {
        "summary": "We protect data.",
        "scoped_measures": [{"applies_to": ["vault"], "measure": "We encrypt every field"}],
    },
    "not_collected": ["biometric_data", "precise_location"],
    "law_enforcement": {
        "how": "We answer a request only when it comes with a court order",
        "notify": True,
        "report_url": "https://example.org/transparency",
    },
    "authorities_where_you_live": {
        "list_url": "https://edpb.europa.eu/about-edpb/members_en",
        "list_by": "the European Data Protection Board",
    },
    "changes": {
        "how_notified": ["page"],
        "announced_on": [
            {"kind": "blog", "url": "https://example.org/blog"},
            {"kind": "change_log", "url": "https://example.org/changes"},
        ],
    },
    "trackers": TRACKERS,
    "cookie_choices": "You can change your choices at any time with the cookie settings link.",
    "signals": {"do_not_track": False, "global_privacy_control": True},
    "us_privacy": {
        "targeted_advertising": True,
        "profiling": False,
        "sells_sensitive": False,
        "opt_out_url": "https://example.org/do-not-sell",
        "authorised_agents": "An agent sends us your signed permission.",
        "financial_incentives": True,
        "financial_incentive_terms": "Members get a discount for their purchase history.",
        "appeals": "Reply to our answer within 45 days.",
    },
    "documents": [{"id": "privacy-policy"}, {"id": "cookie-policy"}, {"id": "notice-at-collection"}],
}


@pytest.fixture(scope="module")
def every_fact_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import copy_project

    root = copy_project(tmp_path_factory.mktemp("every") / "project", releases=False)
    (root / "tenants" / "every-fact").mkdir()
    (root / "tenants" / "every-fact" / "tenant.yaml").write_text(
        yaml.safe_dump(EVERY_NEW_FACT, sort_keys=False), encoding="utf-8"
    )
    build(root, root / "build", BuildOptions())
    return root


def test_the_new_sentences_pass_the_prose_lint(every_fact_project: Path) -> None:
    from test_prose import _lint_tenant

    assert _lint_tenant(every_fact_project, "every-fact") == []


def test_explain_attributes_every_block_of_the_new_sentences(every_fact_project: Path) -> None:
    from test_explain import _page_parts

    from policygen.explain import explain
    from policygen.htmltext import blocks

    explained = explain(every_fact_project, "every-fact")
    assert {e.document for e in explained} == {"privacy-policy", "cookie-policy", "notice-at-collection"}
    for e in explained:
        page = (every_fact_project / "build" / "every-fact" / e.document / "index.html").read_text(encoding="utf-8")
        assert [b.text for b in blocks(_page_parts(page)[2])] == [b.text for b in e.blocks if b.clause is not None]
        for b in e.blocks:
            assert b.source.file.is_file() and b.source.line is not None, (e.document, b)


# (what changes in the demo tenant, finding path, change, tier, rule): through `policygen diff`, as people run it.
DIFFED = [
    (lambda d: d.update(trackers=[TRACKERS[1]]), "trackers[ga]", "added", "material", "tracker"),
    (
        lambda d: d.update(signals={"global_privacy_control": False}),
        "signals.global_privacy_control",
        "disabled",
        "material",
        "browser-signals",
    ),
    (lambda d: d.update(not_collected=["biometric_data"]), "not_collected", "added", "minor", "not-collected"),
    (
        lambda d: d.update(law_enforcement={"how": "We answer only court orders."}),
        "law_enforcement",
        "added",
        "minor",
        "law-enforcement",
    ),
    (
        lambda d: d["changes"].update(announced_on=[{"kind": "change_log", "url": "https://example.org/changes"}]),
        "changes.announced_on[change_log]",
        "added",
        "minor",
        "change-announcement",
    ),
]


@pytest.mark.parametrize(("edit", "path", "change", "tier", "rule"), DIFFED, ids=[d[1] for d in DIFFED])
def test_policygen_diff_reports_a_new_fact_with_its_rule_and_tier(
    project: Path, edit: Any, path: str, change: str, tier: str, rule: str
) -> None:
    from test_diff import DEMO, diff_json, edit_facts

    edit_facts(project, DEMO, edit)
    data = diff_json(project, DEMO, "--document", "privacy-policy")
    [finding] = [f for f in data["findings"] if f["path"] == path]
    assert (finding["change"], finding["tier"], finding["rule"]) == (change, tier, rule)
    assert finding["source"]


def with_deletion_timeline(facts: dict[str, Any], period: dict[str, Any]) -> dict[str, Any]:
    """*facts* publishing a data deletion policy whose one deletion timeline is the retention *period*."""
    out = with_fact(facts, "retention.periods", [{"id": "account", "data": "Account data", **period}])
    out["deletion"] = {"how": "Email us to ask.", "timelines": ["account"]}
    out["documents"] = [{"id": "privacy-policy"}, {"id": "data-deletion-policy"}]
    return out


@pytest.mark.parametrize("lang", ["en", "fr", "de", "es", "hi"])
def test_a_deletion_timeline_kept_until_an_event_says_so_and_never_none(tmp_path: Path, lang: str) -> None:
    """A timeline's period with only `kept:` (no `period`, no `criteria`) printed "None" in its cell."""
    facts = with_deletion_timeline(HOLDERS, {"kept": {"until": "account_closed", "then": "60 days"}})
    if lang != "en":
        facts["locale"] = "en"
        facts["languages"] = ["en", lang]
    page = "data-deletion-policy" if lang == "en" else f"data-deletion-policy/{lang}"
    text = document_text(tmp_path, facts, page)
    assert "None" not in text
    assert KEPT_60_DAYS_AFTER_CLOSING[lang] in text  # the kept words: a typed fact, in the page's language


# How the typed fact kept: {until: account_closed, then: 60 days} reads in each language (the vocabulary's
# pattern with the duration in Babel's words; the text reads Babel's no-break space as a space).
KEPT_60_DAYS_AFTER_CLOSING = {
    "en": "Account data 60 days after your account is closed",
    "fr": "Account data 60 jours après la fermeture de votre compte",
    "de": "Account data 60 Tage nach der Schließung Ihres Kontos",
    "es": "Account data 60 días después del cierre de su cuenta",
    "hi": "Account data आपका खाता बंद होने के 60 दिन बाद",
}


def test_a_deletion_timeline_says_its_period_trigger_and_criteria(tmp_path: Path) -> None:
    period = {"period": "30 days", "trigger": "after we confirm who you are", "criteria": "Backups roll over."}
    text = document_text(tmp_path, with_deletion_timeline(HOLDERS, period), "data-deletion-policy")
    assert "Account data 30 days after we confirm who you are. Backups roll over." in text
