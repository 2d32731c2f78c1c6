"""Store privacy labels come from the same facts as the policy, and a mismatch fails the build."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_project
from helpers import edit

from policygen.cli import cli
from policygen.engine import BuildReport, build
from policygen.errors import InputError
from policygen.facts import load_tenant
from policygen.labels import app_labels, vocabulary
from policygen.site import BuildOptions

APP = "ims-pro/apps/customer-app"
# IMS Pro's source says nothing the stores ask, so the example writes no labels for its apps. These tests
# give a copy of it the answers an app team would (a test fixture, not IMS Pro's statements).
ANSWERS = "    linked: true\n    tracking: false\n    ephemeral: false\n    required: true\n    sold: false\n    shared: false\n"

edit_once = functools.partial(edit, once=True)  # a label edit must hit exactly one place


def with_store_answers(project: Path) -> Path:
    facts = project / "tenants/ims-pro/tenant.yaml"
    text = re.sub(r"(    store_types: \[[^\]]*\]\n)", lambda m: m.group(1) + ANSWERS, facts.read_text(encoding="utf-8"))
    for app in ("customer-app", "field-app"):
        text = text.replace(
            f"  - id: {app}\n", f"  - id: {app}\n    platforms: [android, ios]\n    encrypted_in_transit: true\n"
        )
    facts.write_text(text, encoding="utf-8")
    return project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An unversioned copy of the example, IMS Pro's apps with store answers."""
    return with_store_answers(copy_project(tmp_path / "project", releases=False))


@pytest.fixture(scope="module")
def labelled_site(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    project = with_store_answers(copy_project(tmp_path_factory.mktemp("labels") / "project", releases=False))
    return build(project, project / "out", BuildOptions(tenants=["ims-pro"]))


def read(report: BuildReport, path: str) -> bytes:
    listed = next(o for o in report.outputs if o.path == path)  # written as the build streams: read back
    return (report.out / listed.path).read_bytes()


def build_error(project: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        build(project, project / "out", BuildOptions(tenants=["ims-pro"]))
    return caught.value


def csv_answers(data: bytes) -> dict[tuple[str, str], str]:
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == [
        "Question ID (machine readable)",
        "Response ID (machine readable)",
        "Response value",
        "Answer requirement",
        "Human-friendly question label",
    ]
    return {(r[0], r[1]): r[2] for r in rows[1:]}


# --- the exports ---------------------------------------------------------------------------------------


def test_apple_privacy_lists_each_data_type_with_purposes_and_linkage(labelled_site: BuildReport) -> None:
    entries = json.loads(read(labelled_site, f"{APP}/apple-privacy.json"))
    by_type = {e["category"]: e for e in entries}
    assert {
        "NAME",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "USER_ID",
        "PHOTOS_OR_VIDEOS",
        "CUSTOMER_SUPPORT",
        "PRODUCT_INTERACTION",
        "CRASH_DATA",
        "PERFORMANCE_DATA",
    } <= set(by_type)
    assert by_type["NAME"]["data_protections"] == ["DATA_LINKED_TO_YOU"]
    # ims-pro's purposes are service provision, notifications, improvement and security: DPV names map them.
    assert by_type["NAME"]["purposes"] == ["ANALYTICS", "APP_FUNCTIONALITY"]
    assert all(set(e) == {"category", "purposes", "data_protections"} for e in entries)
    assert set(by_type) <= set(vocabulary().apple_types)


def test_play_csv_answers_every_form_question_in_the_console_import_format(labelled_site: BuildReport) -> None:
    answers = csv_answers(read(labelled_site, f"{APP}/play-data-safety.csv"))
    assert answers[("PSL_DATA_COLLECTION_COLLECTS_PERSONAL_DATA", "")] == "true"
    assert answers[("PSL_DATA_COLLECTION_ENCRYPTED_IN_TRANSIT", "")] == "true"
    assert answers[("PSL_DATA_COLLECTION_USER_REQUEST_DELETE", "")] == "true"
    assert answers[("PSL_DATA_TYPES_PERSONAL", "PSL_NAME")] == "true"
    assert answers[("PSL_DATA_TYPES_PHOTOS_AND_VIDEOS", "PSL_PHOTOS")] == "true"
    assert answers[("PSL_DATA_TYPES_LOCATION", "PSL_PRECISE_LOCATION")] == ""  # not collected
    usage = "PSL_DATA_USAGE_RESPONSES:PSL_NAME"
    assert answers[(f"{usage}:PSL_DATA_USAGE_COLLECTION_AND_SHARING", "PSL_DATA_USAGE_ONLY_COLLECTED")] == "true"
    assert answers[(f"{usage}:PSL_DATA_USAGE_COLLECTION_AND_SHARING", "PSL_DATA_USAGE_ONLY_SHARED")] == ""
    assert answers[(f"{usage}:PSL_DATA_USAGE_EPHEMERAL", "")] == "false"
    assert answers[(f"{usage}:DATA_USAGE_USER_CONTROL", "PSL_DATA_USAGE_USER_CONTROL_REQUIRED")] == "true"
    assert answers[(f"{usage}:DATA_USAGE_COLLECTION_PURPOSE", "PSL_FRAUD_PREVENTION_SECURITY")] == "true"
    assert answers[(f"{usage}:DATA_USAGE_COLLECTION_PURPOSE", "PSL_ADVERTISING")] == ""
    assert not any(q.startswith("PSL_DATA_USAGE_RESPONSES:PSL_PRECISE_LOCATION") for q, _ in answers)


def test_play_answers_carry_the_deletion_method_from_the_policy(labelled_site: BuildReport) -> None:
    body = json.loads(read(labelled_site, f"{APP}/play-data-safety.json"))
    assert body["deletion"]["request"] is True
    assert "organization administrator" in body["deletion"]["method"]
    assert body["encrypted_in_transit"] is True
    name = next(t for t in body["data_types"] if t["id"] == "PSL_NAME")
    assert name["from"] == ["account"] and name["required"] is True and name["collected"] is True


def test_label_flags_come_from_the_facts(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    edit_once(
        facts,
        "    store_types: [crash-logs, performance, other-diagnostics]\n" + ANSWERS,
        "    store_types: [crash-logs, performance, other-diagnostics]\n"
        "    linked: false\n    tracking: true\n    ephemeral: true\n    required: false\n    sold: false\n    shared: true\n",
    )
    edit_once(
        facts,
        "  - id: customer-app\n    platforms: [android, ios]\n    encrypted_in_transit: true\n",
        "  - id: customer-app\n    platforms: [android, ios]\n    encrypted_in_transit: false\n",
    )
    report = build(project, project / "out", BuildOptions(tenants=["ims-pro"]))
    crash = next(e for e in json.loads(read(report, f"{APP}/apple-privacy.json")) if e["category"] == "CRASH_DATA")
    assert crash["data_protections"] == ["DATA_NOT_LINKED_TO_YOU", "DATA_USED_TO_TRACK_YOU"]
    answers = csv_answers(read(report, f"{APP}/play-data-safety.csv"))
    usage = "PSL_DATA_USAGE_RESPONSES:PSL_CRASH_LOGS"
    assert answers[("PSL_DATA_COLLECTION_ENCRYPTED_IN_TRANSIT", "")] == "false"
    assert answers[(f"{usage}:PSL_DATA_USAGE_EPHEMERAL", "")] == "true"
    assert answers[(f"{usage}:DATA_USAGE_USER_CONTROL", "PSL_DATA_USAGE_USER_CONTROL_OPTIONAL")] == "true"
    assert answers[(f"{usage}:PSL_DATA_USAGE_COLLECTION_AND_SHARING", "PSL_DATA_USAGE_ONLY_SHARED")] == "true"
    assert answers[(f"{usage}:DATA_USAGE_SHARING_PURPOSE", "PSL_ADVERTISING")] == "true"


def test_an_app_without_labelled_data_says_it_collects_none(tmp_path: Path) -> None:
    file = tmp_path / "tenant.yaml"
    file.write_text(
        "organisation: {legal_name: Example Ltd, display_name: Example, email: a@example.org}\n"
        "apps: [{id: app, name: Example App, audience: everyone}]\n"
        "data_categories: [{id: c, name: Notes, items: [Notes]}]\n"
        "purposes: [{id: p, name: Service, dpv: 'dpv:ServiceProvision'}]\n"
        "documents: [{id: privacy-policy}]\ndates: {effective: 2026-01-01}\n",
        encoding="utf-8",
    )
    facts = load_tenant(file)
    labels = app_labels(facts, facts.apps[0], file)
    assert json.loads(labels.apple_json()) == [{"data_protections": ["DATA_NOT_COLLECTED"]}]
    assert csv_answers(labels.play_csv())[("PSL_DATA_COLLECTION_COLLECTS_PERSONAL_DATA", "")] == "false"


def test_the_vocabularies_hold_every_store_name_of_the_disclosures_reference() -> None:
    vocab = vocabulary()
    apple = [
        "Name",
        "Email Address",
        "Phone Number",
        "Physical Address",
        "Other User Contact Info",
        "Health",
        "Fitness",
        "Payment Info",
        "Credit Info",
        "Other Financial Info",
        "Precise Location",
        "Coarse Location",
        "Sensitive Info",
        "Contacts",
        "Emails or Text Messages",
        "Photos or Videos",
        "Audio Data",
        "Gameplay Content",
        "Customer Support",
        "Other User Content",
        "Browsing History",
        "Search History",
        "User ID",
        "Device ID",
        "Purchase History",
        "Product Interaction",
        "Advertising Data",
        "Other Usage Data",
        "Crash Data",
        "Performance Data",
        "Other Diagnostic Data",
        "Environment Scanning",
        "Hands",
        "Head",
        "Other Data Types",
    ]
    assert sorted(vocab.apple_types.values()) == sorted(apple)
    assert set(vocab.apple_purposes.values()) == {
        "Third-Party Advertising",
        "Developer's Advertising or Marketing",
        "Analytics",
        "Product Personalization",
        "App Functionality",
        "Other Purposes",
    }
    assert set(vocab.play_purposes.values()) == {
        "App functionality",
        "Analytics",
        "Developer communications",
        "Advertising or marketing",
        "Fraud prevention, security, and compliance",
        "Personalization",
        "Account management",
    }
    groups = {label.split(" / ")[0] for _, label in vocab.play_types.values()}
    assert groups == {
        "Location",
        "Personal info",
        "Financial info",
        "Health and fitness",
        "Messages",
        "Photos and videos",
        "Audio files",
        "Files and docs",
        "Calendar",
        "Contacts",
        "App activity",
        "Web browsing",
        "App info and performance",
        "Device or other IDs",
    }
    # Every Play type and every Apple type that can be labelled at all is reachable from a policygen type.
    assert {play for _, play in vocab.types.values()} == set(vocab.play_types)


# --- bad facts ----------------------------------------------------------------------------------------


def test_an_unknown_store_type_is_a_located_error_with_a_suggestion(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    edit_once(facts, "store_types: [name, email,", "store_types: [name, emial,")
    error = build_error(project)
    [problem] = error.problems
    assert problem.file == facts and problem.key_path == "data_categories[0].store_types[1]"
    line = facts.read_text().splitlines()[(problem.line or 0) - 1]
    assert "emial" in line
    assert "did you mean 'email'" in problem.message


def test_a_permission_the_policy_does_not_list_fails_naming_both_sides(project: Path) -> None:
    # A tenant's own apps-permissions clause that forgets a permission and invents another.
    override = project / "tenants/ims-pro/content/privacy-policy/permissions.md"
    override.parent.mkdir(parents=True)
    override.write_text(
        "---\nid: apps-permissions\ntitle: What our apps ask permission for\norder: 50\n---\n"
        "### IMS Pro Customer App\n\n- **Camera**: photos\n- **Storage / Files**: files\n- **Microphone**: voice notes\n"
        "\n### IMS Pro Field App\n\n- **Camera**: photos\n- **Storage / Files**: files\n- **Notifications**: updates\n",
        encoding="utf-8",
    )
    problems = build_error(project).problems
    messages = [(p.key_path, p.message) for p in problems]
    assert len(problems) == 2, messages
    missing = next(p for p in problems if "Notifications" in p.message)
    assert missing.key_path == "apps[0].permissions[2]" and missing.file == project / "tenants/ims-pro/tenant.yaml"
    assert "customer-app" in missing.message and "Privacy Policy" in missing.message
    assert (
        "notifications" in (project / "tenants/ims-pro/tenant.yaml").read_text().splitlines()[(missing.line or 0) - 1]
    )
    extra = next(p for p in problems if "Microphone" in p.message)
    assert extra.key_path == "apps[0].permissions" and "does not ask for it" in extra.message


def test_a_permission_whose_data_is_not_labelled_fails(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    edit_once(
        facts,
        "store_types: [user-content, customer-support, photos, files]",
        "store_types: [user-content, customer-support]",
    )
    problems = build_error(project).problems
    assert {p.key_path for p in problems} == {
        "apps[0].permissions[0]",
        "apps[0].permissions[1]",
        "apps[1].permissions[0]",
        "apps[1].permissions[1]",
    }
    camera = next(p for p in problems if p.key_path == "apps[0].permissions[0]")
    assert "Camera" in camera.message and "photos or videos" in camera.message


def test_a_permission_used_only_on_the_device_needs_no_label(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    edit_once(
        facts,
        "store_types: [user-content, customer-support, photos, files]",
        "store_types: [user-content, customer-support]",
    )
    text = facts.read_text()
    text = text.replace("      - id: camera\n", "      - id: camera\n        on_device: true\n")
    text = text.replace("      - id: storage\n", "      - id: storage\n        on_device: true\n")
    facts.write_text(text)
    report = build(project, project / "out", BuildOptions(tenants=["ims-pro"]))
    types = {e["category"] for e in json.loads(read(report, f"{APP}/apple-privacy.json"))}
    assert "PHOTOS_OR_VIDEOS" not in types


def test_a_disclosed_category_without_store_types_fails(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    edit_once(facts, "    store_types: [product-interaction, other-usage]\n" + ANSWERS, "")
    problems = build_error(project).problems
    assert [p.key_path for p in problems] == ["data_categories[2]", "data_categories[2]"]  # one per app
    assert "Operational Data" in problems[0].message and "store_types" in problems[0].message


def test_a_labelled_category_the_policy_does_not_disclose_fails(project: Path) -> None:
    override = project / "tenants/ims-pro/content/privacy-policy/data.md"
    override.parent.mkdir(parents=True)
    override.write_text(
        "---\nid: data-we-collect\ntitle: The data we collect\norder: 30\n---\n"
        "We collect your account details and your service requests.\n",
        encoding="utf-8",
    )
    # The first layer names the categories too: an override that leaves them out as well.
    (override.parent / "glance.md").write_text(
        "---\nid: at-a-glance\ntitle: At a glance\norder: 5\n---\nA short summary.\n", encoding="utf-8"
    )
    problems = build_error(project).problems
    assert {p.key_path for p in problems} == {f"data_categories[{i}].store_types" for i in range(4)}
    assert any("Account Information" in p.message and "does not disclose" in p.message for p in problems)


def test_a_purpose_with_no_store_purpose_fails_until_it_names_one(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    edit_once(facts, "    dpv: dpv:ServiceOptimisation\n", "    dpv: dpv:SomethingElse\n")
    problems = build_error(project).problems
    assert [p.key_path for p in problems] == ["purposes[3]", "purposes[3]"]  # one per app
    assert "store_purpose" in (problems[0].expected or "")
    edit_once(facts, "    dpv: dpv:SomethingElse\n", "    dpv: dpv:SomethingElse\n    store_purpose: analytics\n")
    build(project, project / "out", BuildOptions(tenants=["ims-pro"]))


def test_the_cli_reports_a_label_mismatch_with_exit_status_1(project: Path) -> None:
    edit_once(
        project / "tenants/ims-pro/tenant.yaml", "    store_types: [product-interaction, other-usage]\n" + ANSWERS, ""
    )
    result = CliRunner().invoke(cli, ["--project", str(project), "build", "--out", str(project / "out")])
    assert result.exit_code == 1, result.output
    assert re.search(r"tenants/ims-pro/tenant\.yaml:\d+", result.output)
    assert "data_categories[2]" in result.output


# --- no answer from a default ---------------------------------------------------------------------------


def test_an_app_whose_platforms_are_not_stated_gets_no_store_labels(example_site: BuildReport) -> None:
    # IMS Pro's source names no app store: its apps get snippets, and no label answers anything.
    files = {o.path for o in example_site.outputs if o.path.startswith("ims-pro/apps/")}
    assert f"{APP}/policy.html" in files
    assert not [f for f in files if f.endswith(("apple-privacy.json", "play-data-safety.csv", "play-data-safety.json"))]


def test_labels_are_written_only_for_the_stores_of_the_apps_platforms(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    edit_once(
        facts, "  - id: customer-app\n    platforms: [android, ios]\n", "  - id: customer-app\n    platforms: [ios]\n"
    )
    report = build(project, project / "out", BuildOptions(tenants=["ims-pro"]))
    files = {o.path for o in report.outputs}
    assert f"{APP}/apple-privacy.json" in files and f"{APP}/play-data-safety.csv" not in files
    assert "ims-pro/apps/field-app/play-data-safety.csv" in files


@pytest.mark.parametrize(
    ("fact", "store_question"),
    [
        ("encrypted_in_transit", "encrypted in transit?"),
        ("linked", "linked to the user's identity?"),
        ("tracking", "used to track the user?"),
        ("required", "required, or can users choose?"),
        ("ephemeral", "processed ephemerally?"),
        ("sold", "(sold)?"),
        ("shared", "(for advertising)?"),
    ],
)
def test_an_unset_store_answer_is_an_error_naming_the_fact_and_the_store_question(
    project: Path, fact: str, store_question: str
) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    text = facts.read_text(encoding="utf-8")
    if fact == "encrypted_in_transit":
        text = text.replace("    encrypted_in_transit: true\n", "", 1)  # the customer app's answer only
    else:
        text = text.replace(
            ANSWERS, ANSWERS.replace(f"    {fact}: ", f"    # {fact}: "), 1
        )  # the first category's only
    facts.write_text(text, encoding="utf-8")
    problems = build_error(project).problems
    assert problems, fact
    assert all(p.key_path is not None and p.key_path.endswith(f".{fact}") for p in problems), problems
    assert all(store_question in p.message and f"'{fact}'" in p.message for p in problems)
    assert all(p.file == facts and p.line is not None for p in problems)
