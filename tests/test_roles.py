"""Roles: per data category and purpose, the organisation says whether it is the controller or a processor.

A B2B service is usually both: a processor for its customers' records, a controller for its own
billing and marketing data. organisation.role is the organisation's own statement; a role on a
data category or a purpose refines it. A role not stated prints nothing; a processor role names
the organisation it acts for; `check` asks a controller_and_processor organisation under GDPR to
say which data it controls. The located errors for inconsistent roles are in the corpus
(tests/bad_inputs/role-*).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from conftest import one_tenant_project
from test_unknown_facts import REQUIRED, page_text, with_fact

from policygen.check import check
from policygen.engine import build
from policygen.site import BuildOptions

BOTH: dict[str, Any] = {
    **REQUIRED,
    "organisation": {**REQUIRED["organisation"], "role": "controller_and_processor", "email": "privacy@example.org"},
    "data_categories": [
        {"id": "billing", "name": "Billing data", "items": ["Invoices"], "role": "controller"},
        {
            "id": "records",
            "name": "Customer records",
            "items": ["Pupil names"],
            "role": "processor",
            "owner": "The school that uses our service",
        },
    ],
    "purposes": [
        {"id": "invoicing", "name": "Invoicing our customers", "data": ["billing"], "role": "controller"},
        {
            "id": "hosting",
            "name": "Hosting the school's records",
            "data": ["records"],
            "role": "processor",
            "controller": "The school that uses our service",
        },
    ],
}


def _project(tmp: Path, facts: dict[str, Any]) -> Path:
    return one_tenant_project(tmp / "project", facts)


def test_a_role_stated_per_category_prints_in_the_data_and_controller_clauses(tmp_path: Path) -> None:
    text = page_text(tmp_path, BOTH, "both")
    assert "Billing data : Invoices. We decide how this data is used, as its data controller." in text
    assert (
        "Customer records : Pupil names. Who owns and controls it: The school that uses our service. "
        "We handle this data on the owner's behalf, as a data processor."
    ) in text
    assert "Data we decide about, as the data controller: Billing data." in text
    assert "Data we handle for other organisations, as a data processor: Customer records." in text


def test_a_role_stated_per_purpose_prints_with_whom_the_purpose_is_served_for(tmp_path: Path) -> None:
    text = page_text(tmp_path, BOTH, "both")
    assert "Who decides how data is used for each purpose:" in text
    assert "Invoicing our customers. We decide how data is used for this purpose, as the data controller." in text
    assert (
        "Hosting the school's records. We serve this purpose as a data processor. "
        "Who decides on it: The school that uses our service."
    ) in text


def test_a_role_not_stated_prints_nothing(tmp_path: Path) -> None:
    unstated = with_fact(
        BOTH, "data_categories", [{k: v for k, v in c.items() if k != "role"} for c in BOTH["data_categories"]]
    )
    unstated = with_fact(
        unstated,
        "purposes",
        [{k: v for k, v in p.items() if k not in ("role", "controller")} for p in BOTH["purposes"]],
    )
    text = page_text(tmp_path, unstated, "unstated")
    for words in (
        "Who decides how data is used",
        "as its data controller",
        "on the owner's behalf",
        "Data we decide about",
        "Data we handle for",
        "for this purpose",
        "Who decides on it",
    ):
        assert words not in text


def _identity(tmp: Path, facts: dict[str, Any]) -> list[str]:
    facts = {**facts, "jurisdictions": ["eu_gdpr"]}
    report = check(_project(tmp, facts), today=dt.date(2026, 6, 1))
    assert not report.problems, report.problems
    return [f.message for t in report.tenants for f in t.findings if f.id == "gdpr.identity"]


def test_gdpr_check_names_the_categories_whose_role_a_controller_and_processor_does_not_state(tmp_path: Path) -> None:
    facts = with_fact(
        BOTH,
        "data_categories",
        [{k: v for k, v in BOTH["data_categories"][0].items() if k != "role"}, BOTH["data_categories"][1]],
    )
    (message,) = _identity(tmp_path, facts)
    assert message.endswith("(billing)")


def test_gdpr_check_is_satisfied_once_every_category_states_its_role(tmp_path: Path) -> None:
    assert _identity(tmp_path, BOTH) == []


def test_an_organisation_with_one_role_needs_no_role_per_category(tmp_path: Path) -> None:
    facts = with_fact(REQUIRED, "organisation.role", "controller")
    facts = with_fact(facts, "organisation.email", "privacy@example.org")
    assert _identity(tmp_path, facts) == []


def test_the_readable_play_answers_name_each_stated_role_and_processor_data_stays_labelled(tmp_path: Path) -> None:
    answers = {
        "store_types": ["name"],
        "linked": True,
        "tracking": False,
        "required": True,
        "ephemeral": False,
        "sold": False,
        "shared": False,
    }
    facts = with_fact(BOTH, "data_categories", [{**c, **answers} for c in BOTH["data_categories"]])
    facts = with_fact(facts, "purposes", [{**p, "store_purpose": "app-functionality"} for p in BOTH["purposes"]])
    facts["apps"] = [
        {
            "id": "app",
            "name": "Example App",
            "audience": "schools",
            "platforms": ["android"],
            "encrypted_in_transit": True,
        }
    ]
    project = _project(tmp_path, facts)
    report = build(project, project / "out", BuildOptions(today=dt.date(2026, 6, 1)))
    play = json.loads((report.out / "t" / "apps" / "app" / "play-data-safety.json").read_text(encoding="utf-8"))
    (name,) = play["data_types"]
    assert name["collected"] is True and name["from"] == ["billing", "records"]
    assert name["roles"] == {"billing": "controller", "records": "processor"}
