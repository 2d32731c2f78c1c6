"""The prose lint: the broken prose a rendered page can show, and none on well-formed text."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_project
from hypothesis import given
from hypothesis import strategies as st

from policygen.check import check
from policygen.prose import _ALLOWED_DOUBLES, _MAX_PHRASE, block_findings, doubled, lint_document


@dataclass(frozen=True)
class C:
    """A rendered clause, as the lint reads it."""

    id: str
    title: str
    html: str


def rules(html: str, title: str = "Where the data comes from") -> list[str]:
    return [f.rule for f in lint_document([C("clause", title, html)])]


# The broken prose of issue 11, as the pages printed it.
@pytest.mark.parametrize(
    "html, rule",
    [
        ("<p>For transfers to to the United States we rely on standard contractual clauses.</p>", "doubled"),
        (
            "<table><tbody><tr><td>Support tickets</td><td>kept for up to up to 30 days</td></tr></tbody></table>",
            "doubled",
        ),
        (
            "<p>Technical data from analytics providers. Some of them are based Some are based outside the EEA.</p>",
            "capital",
        ),
        ("<p>Some of your data goes Outside the European Economic Area (EEA).</p>", "capital"),
        ("<p>This data is owned and controlled by The institution.</p>", "capital"),
        ("<p>The regulator for Services Based In the EEA is listed below.</p>", "capital"),
        (
            "<ul><li><strong>Access your data</strong> Through your organization administrator.</li></ul>",
            "run-in-label",
        ),
        ("<ul><li><p><strong>Delete your data</strong> By sending an email to us.</p></li></ul>", "run-in-label"),
        ("<p>You can complain to the ICO, the data protection regulator in United Kingdom.</p>", "article"),
    ],
)
def test_the_lint_catches_each_broken_sentence_of_the_issue(html: str, rule: str) -> None:
    assert rule in rules(html)


def doubled_by_definition(tokens: list[str]) -> list[str]:
    """The rule as it reads: at each place, the longest run of words (up to four) that the same words, in any case,
    follow at once; a number pair and the allowed doubles ("that that") are not prose faults."""
    found: list[str] = []
    i = 0
    while i < len(tokens):
        for n in range(_MAX_PHRASE, 0, -1):
            first, second = tokens[i : i + n], tokens[i + n : i + 2 * n]
            words = tuple(t.lower() for t in first)
            if (
                len(second) == n
                and all(t[0].isalnum() for t in first + second)
                and words == tuple(t.lower() for t in second)
                and words not in _ALLOWED_DOUBLES
                and not all(t.isdigit() for t in words)
            ):
                found.append(f"'{' '.join(first)}' is written twice in a row: \"{' '.join(first + second)}\"")
                i += 2 * n - 1
                break
        i += 1
    return found


@given(st.lists(st.sampled_from(["to", "To", "up", "the", "that", "10", ",", ".", "data", "Data"]), max_size=40))
def test_doubled_words_are_found_as_the_rule_reads(tokens: list[str]) -> None:
    assert doubled(tokens) == doubled_by_definition(tokens)


def test_a_run_in_label_is_reported_once_not_also_as_a_capital() -> None:
    assert rules("<ul><li><strong>Access your data</strong> Through your administrator.</li></ul>") == ["run-in-label"]


def test_a_contents_entry_printed_for_every_source_is_reported_once_with_its_count() -> None:
    html = "".join("<h3>From other organisations</h3><p>Analytics providers.</p>" for _ in range(6))
    found = list(lint_document([C("sources", "Where the data comes from", html)]))
    assert [f.rule for f in found] == ["repeated-contents"]
    assert "'From other organisations' 6 times" in found[0].message
    assert (found[0].passage.clause, found[0].passage.index) == ("sources", 3)


def test_a_paragraph_printed_twice_on_a_page_is_reported_at_its_second_place() -> None:
    children = "<p>Our services are not meant for children under 13 years of age.</p>"
    found = lint_document(
        [C("children", "Children", children), C("contact", "Contact us", "<p>Write to us.</p>" + children)]
    )
    assert [(f.rule, f.passage.clause) for f in found] == [("repeated-sentence", "contact")]


@pytest.mark.parametrize(
    "clauses, empty",
    [
        ([C("a", "Apps", "<h3>Field app</h3><h3>Customer app</h3><p>Camera.</p>")], ["Field app"]),
        ([C("a", "Apps", "<p>Two apps.</p><h3>Field app</h3>"), C("b", "Sharing", "<p>No one.</p>")], ["Field app"]),
        ([C("a", "Cookies", ""), C("b", "Sharing", "<p>No one.</p>")], ["Cookies"]),
        ([C("a", "Apps", "<h3>Field app</h3><h4>Permissions</h4><p>Camera.</p>")], []),
    ],
)
def test_a_heading_with_nothing_under_it_before_the_next_heading_of_its_level_is_an_empty_section(
    clauses: list[C], empty: list[str]
) -> None:
    found = [f for f in lint_document(clauses) if f.rule == "empty-section"]
    assert [f.passage.block.text for f in found] == empty


# Well-formed text the lint must leave alone.
@pytest.mark.parametrize(
    "html",
    [
        "<p>We keep your data in the United Kingdom and publish our apps on Google Play and the App Store.</p>",
        "<p>Transfers to the United States, within the European Economic Area and from India are listed.</p>",
        "<p>Our processor is The Open University, based in The Hague, under our Terms Of Service.</p>",
        "<ul><li>Name</li><li>Email address</li><li>Other identifiers you give us</li></ul>",
        "<p>Personal information: Name, Email address, Other contact details, Your login data.</p>",
        "<p>Legitimate interests (For running our business and keeping it safe).</p>",
        "<table><tbody><tr><td>Analytics</td><td>Consent; Our legitimate interests</td></tr></tbody></table>",
        "<ul><li><strong>Camera</strong>: To scan documents.</li><li><strong>Email</strong> privacy@example.org</li></ul>",
        "<ul><li><strong>Access your data.</strong> Ask us for a copy.</li><li><strong>Plan A</strong> (optional)</li></ul>",
        "<p>We said that that data is deleted after 10 10-minute sessions, and I agree.</p>",
        "<h3>How We Share Your Data</h3><p>We use it for the service. You can ask us to stop. We answer within one month.</p>",
        "<p>Effective from 1 May 2026. In May each year we review this policy.</p>",
        "<p>Contact us at https://example.org/Contact or by post. Some requests take longer.</p>",
    ],
)
def test_well_formed_text_has_no_findings(html: str) -> None:
    assert rules(html, "How we use your data") == []


def test_check_reports_prose_at_the_line_of_the_fact_or_clause_that_wrote_it(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project", releases=False)
    facts = root / "tenants" / "ims-pro" / "tenant.yaml"
    text = facts.read_text(encoding="utf-8")
    text = text.replace(
        "\nnotes:\n",
        "\nnotes:\n  - id: team\n    clause: security\n    text: Access is limited to "
        "staff trained by The security team.\n",
        1,
    )
    facts.write_text(text, encoding="utf-8")
    report = check(root, ["ims-pro"], dt.date(2026, 11, 22))
    (tenant,) = report.tenants
    (finding,) = [f for f in tenant.findings if f.id == "prose.capital" and "The security" in f.message]
    line = next(i for i, t in enumerate(facts.read_text(encoding="utf-8").splitlines(), 1) if "The security team" in t)
    assert (finding.level, finding.kind, finding.file, finding.line) == ("warning", "prose", facts, line)
    assert (finding.document, finding.clause) == ("privacy-policy", "security")
    assert finding.fact is not None and "notes[0].text" in finding.fact


# --- the example site and generated variations of it -------------------------------------------------------------

VARIATIONS_PER_TENANT = 100


@functools.cache
def _loaded(root: Path, slug: str) -> tuple[Any, Any, Any]:
    from policygen.project import load_project
    from policygen.render import ClauseRenderer

    project = load_project(root, [slug])
    return project, project.tenants[slug], ClauseRenderer(project.content)


def _lint_tenant(root: Path, slug: str, facts: object | None = None) -> list[str]:
    from policygen.render import render_document
    from policygen.site import document_title

    project, tenant, renderer = _loaded(root, slug)
    found: list[str] = []
    for doc_id, clauses in tenant.documents.items():
        doc = render_document(
            renderer, slug, facts or tenant.facts, doc_id, clauses, document_title(project, tenant, doc_id)
        )
        found.extend(f"{doc_id}#{f.passage.clause}: {f.rule}: {f.message}" for f in lint_document(doc.clauses))
    return found


EXAMPLES = ["example-fitness", "ihm-connect", "ims-global", "ims-pro"]


@pytest.mark.parametrize("slug", EXAMPLES)
def test_the_example_site_has_no_prose_findings(slug: str) -> None:
    from conftest import REPO

    assert _lint_tenant(REPO, slug) == []


def _variation_findings(slug: str) -> tuple[int, list[str]]:
    import yaml
    from conftest import REPO
    from variations import variations

    base = yaml.safe_load((REPO / "tenants" / slug / "tenant.yaml").read_text(encoding="utf-8"))
    made, found = 0, []
    for seed, facts in variations(base, VARIATIONS_PER_TENANT, seed=11):
        made += 1
        found.extend(f"seed {seed}: {f}" for f in _lint_tenant(REPO, slug, facts))
    return made, found


@pytest.mark.parametrize("slug", EXAMPLES)
@pytest.mark.slow
def test_every_variation_of_an_example_tenant_renders_and_lints_the_same_every_run(slug: str) -> None:
    made, found = _variation_findings(slug)
    assert made == VARIATIONS_PER_TENANT
    assert _variation_findings(slug) == (made, found)


@pytest.mark.parametrize("slug", EXAMPLES)
@pytest.mark.slow
def test_variations_of_the_example_tenants_have_no_prose_findings(slug: str) -> None:
    assert _variation_findings(slug)[1] == []


def test_a_block_met_again_in_another_tenants_page_is_linted_once_each_finding_placed_in_its_own_clause() -> None:
    block_findings.cache_clear()
    html = "<p>Data goes to to our regulator in United Kingdom.</p>"
    first = lint_document([C("ours", "Transfers", html)])
    again = lint_document([C("theirs", "Transfers", html)])  # the same block, another tenant's clause
    assert [(f.rule, f.message) for f in again] == [(f.rule, f.message) for f in first]
    assert {f.rule for f in first} >= {"doubled", "article"}
    assert {f.passage.clause for f in first} == {"ours"} and {f.passage.clause for f in again} == {"theirs"}
    assert block_findings.cache_info().hits >= 2  # its title and its paragraph, found again
