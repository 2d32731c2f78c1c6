"""A clause render serves every tenant whose facts it reads are the same (policygen/readtrace.py), and never
one whose facts differ in anything the render read: a wrong reuse would print another organisation's words."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, many_tenants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policygen import readtrace
from policygen.clauses import Clause, read_clause
from policygen.engine import build
from policygen.errors import InputError
from policygen.facts import Tenant
from policygen.project import load_project
from policygen.render import ClauseRenderer, fact_context, render_document
from policygen.site import BuildOptions
from policygen.vocabulary import ForeignWord

SEEDS = {p.name: yaml.safe_load((p / "tenant.yaml").read_text(encoding="utf-8")) for p in (REPO / "tenants").iterdir()}


def facts(seed: str = "ims-pro", **changes: Any) -> dict[str, Any]:
    """A seed tenant's facts with changes at dotted paths ("organisation.legal_name": "X"; None removes the key)."""
    data = copy.deepcopy(SEEDS[seed])
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        held = data
        for key in parents:
            held = held.setdefault(key, {})
        if value is None:
            held.pop(last, None)
        else:
            held[last] = value
    return data


def clause(tmp_path: Path, body: str, name: str = "probe.md") -> Clause:
    file = tmp_path / name
    file.write_text(f"---\nid: probe\ntitle: Probe\norder: 1\n---\n{body}", encoding="utf-8")
    return read_clause(file)


def shown(renderer: ClauseRenderer, probe: Clause, data: dict[str, Any], notes: tuple[str, ...] = ()) -> str:
    tenant = Tenant.model_validate(data)
    return renderer.render(probe, fact_context(tenant), tenant, "t", list(notes)).html


def fresh(probe: Clause, data: dict[str, Any]) -> str:
    """The clause rendered for this tenant alone, by a renderer that reuses nothing."""
    renderer = ClauseRenderer(REPO / "content", raw_html=False)
    renderer.reuses_renders = False
    return shown(renderer, probe, data)


@pytest.fixture
def renderer() -> ClauseRenderer:
    return ClauseRenderer(REPO / "content", raw_html=False)


def test_a_clause_that_reads_nothing_the_tenants_differ_in_is_rendered_once(
    tmp_path: Path, renderer: ClauseRenderer
) -> None:
    probe = clause(tmp_path, "Contact {{ organisation.legal_name }} at {{ organisation.email|mailto }}.\n")
    tenants = [facts(organisation__display_name=f"Brand {i}") for i in range(5)]
    pages = [shown(renderer, probe, t) for t in tenants]
    assert renderer.renders == 1
    assert pages == [fresh(probe, t) for t in tenants]


def test_a_clause_that_reads_no_fact_at_all_is_rendered_once_for_every_seed(
    tmp_path: Path, renderer: ClauseRenderer
) -> None:
    probe = clause(tmp_path, "We keep your data safe.\n")
    assert len({shown(renderer, probe, facts(seed)) for seed in SEEDS}) == 1
    # Once per page language: filters write dates and lists in it, so it is part of what a render is kept under.
    assert renderer.renders == len({Tenant.model_validate(facts(seed)).locale for seed in SEEDS}) < len(SEEDS)


def test_tenants_differing_in_one_fact_the_clause_reads_get_their_own_text(
    tmp_path: Path, renderer: ClauseRenderer
) -> None:
    probe = clause(tmp_path, "Contact {{ organisation.legal_name }}.\n")
    first = shown(renderer, probe, facts(organisation__legal_name="First Org Ltd"))
    second = shown(renderer, probe, facts(organisation__legal_name="Second Org Ltd"))
    assert "First Org Ltd" in first and "Second Org Ltd" in second
    assert renderer.renders == 2


@pytest.mark.parametrize(
    ("body", "one", "other"),
    [
        # a branch on a fact: only that the fact is set is read, then its own fields
        (
            "{% if dpo %}Our DPO: {{ dpo.name }}{% else %}No DPO.{% endif %}\n",
            {"dpo": {"name": "Ann Ward", "email": "dpo@ims.example"}},
            {"dpo": None},
        ),
        # a fact-query method: what it reads inside, through the same hook
        (
            "{{ tenant.category(tenant.data_categories[0].id).name }}\n",
            {},
            {
                "data_categories": [
                    {**SEEDS["ims-pro"]["data_categories"][0], "name": "Renamed category"},
                    *SEEDS["ims-pro"]["data_categories"][1:],
                ]
            },
        ),
        # a property: tenant.name is the theme's display name, else the organisation's
        ("{{ tenant.name }}\n", {"theme": {"display_name": "Theme Brand"}}, {}),
        # the same fact reached by two paths in one clause
        (
            "{{ organisation.legal_name }} / {{ tenant.organisation.display_name }}\n",
            {"organisation__display_name": "One Brand"},
            {"organisation__display_name": "Other Brand"},
        ),
        # a list read whole (its length), and a fact printed whole
        ("{{ purposes|length }} purposes\n", {}, {"purposes": SEEDS["ims-pro"]["purposes"][:1]}),
        (
            "{{ organisation.address }}\n",
            {"organisation__address": {"lines": ["1 High Street"], "country": "United Kingdom"}},
            {"organisation__address": {"lines": ["2 High Street"], "country": "United Kingdom"}},
        ),
        # the global document_url: whether the tenant publishes the document
        (
            "{{ document_url('cookie-policy') or 'no cookie policy' }}\n",
            {"documents": [{"id": "privacy-policy"}, {"id": "cookie-policy"}]},
            {"documents": [{"id": "privacy-policy"}]},
        ),
        # the page's language: filters format in it
        (
            "{{ dates.effective|date }}\n",
            {"locale": "en-GB", "languages": None},
            {"locale": "de-DE", "languages": None},
        ),
    ],
)
def test_whatever_way_a_clause_reads_a_fact_a_tenant_differing_in_it_gets_its_own_text(
    tmp_path: Path, renderer: ClauseRenderer, body: str, one: dict[str, Any], other: dict[str, Any]
) -> None:
    probe = clause(tmp_path, body)
    first, second = facts(**one), facts(**other)
    assert shown(renderer, probe, first) == fresh(probe, first)
    assert shown(renderer, probe, second) == fresh(probe, second)
    assert fresh(probe, first) != fresh(probe, second)  # the cases are built to differ
    assert renderer.renders == 2


def test_a_clause_shown_only_when_a_fact_is_set_is_shown_for_exactly_the_tenants_that_set_it(
    tmp_path: Path, renderer: ClauseRenderer
) -> None:
    file = tmp_path / "dpo.md"
    file.write_text("---\nid: dpo\ntitle: DPO\norder: 1\nwhen: dpo and dpo.email\n---\nText.\n", encoding="utf-8")
    probe = read_clause(file)
    dpo = {"name": "Ann Ward", "email": "dpo@ims.example"}
    answers = []
    for data in (facts(dpo=dpo), facts(dpo=None), facts(dpo=dpo, organisation__display_name="Other"), facts(dpo=None)):
        tenant = Tenant.model_validate(data)
        answers.append(renderer.applies(probe, fact_context(tenant), "t"))
    assert answers == [True, False, True, False]


def test_values_that_python_finds_equal_but_print_differently_are_told_apart() -> None:
    assert readtrace.fingerprint(True) != readtrace.fingerprint(1)
    assert readtrace.fingerprint(1) != readtrace.fingerprint(1.0)
    assert readtrace.fingerprint(0.0) != readtrace.fingerprint(-0.0)
    assert readtrace.fingerprint("1") != readtrace.fingerprint(1)
    assert readtrace.fingerprint([1, 2]) != readtrace.fingerprint((1, 2))
    assert readtrace.fingerprint({"a": 1, "b": 2}) != readtrace.fingerprint({"b": 2, "a": 1})  # loops see order
    assert readtrace.fingerprint(dt.date(2026, 1, 2)) == readtrace.fingerprint(dt.date(2026, 1, 2))


def test_values_inside_lists_and_facts_are_told_apart_as_they_are_alone() -> None:
    for a, b in ((True, 1), (1, 1.0), (0.0, -0.0), ("1", 1), ([1], (1,)), (ForeignWord("Acme", "en"), "Acme")):
        assert readtrace.fingerprint([a]) != readtrace.fingerprint([b])
        assert readtrace.fingerprint(("x", a)) != readtrace.fingerprint(("x", b))
    named = Tenant.model_validate(facts())
    renamed = Tenant.model_validate(facts(organisation__display_name="Other"))
    assert readtrace.fingerprint(named) != readtrace.fingerprint(renamed)
    assert readtrace.fingerprint(named.organisation) != readtrace.fingerprint(renamed.organisation)
    assert readtrace.fingerprint(named) == readtrace.fingerprint(Tenant.model_validate(facts()))


def test_a_value_of_an_unknown_kind_makes_its_render_unreusable(tmp_path: Path) -> None:
    with pytest.raises(readtrace.Unreusable):
        readtrace.fingerprint(object())


def test_a_tenant_lacking_a_fact_the_reused_render_read_gets_the_error_not_the_text(
    tmp_path: Path, renderer: ClauseRenderer
) -> None:
    probe = clause(tmp_path, "Write to {{ dpo.email }}.\n")
    with_dpo = facts(dpo={"name": "Ann Ward", "email": "dpo@ims.example"})
    assert "dpo@ims.example" in shown(renderer, probe, with_dpo)
    with pytest.raises(InputError, match="'None' has no attribute 'email'"):
        shown(renderer, probe, facts(dpo=None))


def test_a_template_asking_whether_two_values_are_one_object_is_never_reused(
    tmp_path: Path, renderer: ClauseRenderer
) -> None:
    probe = clause(tmp_path, "{% if organisation is sameas tenant.organisation %}one{% endif %}\n")
    shown(renderer, probe, facts())
    shown(renderer, probe, facts())
    assert renderer.renders == 2


def test_tenants_with_different_notes_in_a_clause_get_their_own_notes(tmp_path: Path, renderer: ClauseRenderer) -> None:
    probe = clause(tmp_path, "Text.\n")
    assert "First note" in shown(renderer, probe, facts(), ("First note",))
    assert "Second note" in shown(renderer, probe, facts(), ("Second note",))
    assert "note" not in shown(renderer, probe, facts())


def test_a_renderer_keeps_no_more_renders_than_its_budget_and_then_starts_again(
    tmp_path: Path, renderer: ClauseRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import policygen.render

    monkeypatch.setattr(policygen.render, "REUSE_BUDGET", 5_000)  # a few renders of this clause, as _keep counts them
    probe = clause(tmp_path, "Contact {{ organisation.legal_name }}.\n" * 3)
    kept = []
    for i in range(10):
        data = facts(organisation__legal_name=f"Org {i} Ltd")
        assert shown(renderer, probe, data) == fresh(probe, data)
        kept.append(renderer._kept)
    assert 0 < max(kept) <= 5_000
    assert any(later < earlier for earlier, later in itertools.pairwise(kept))  # let go of what it kept, then kept more


def test_a_renderer_that_starts_again_holds_no_step_of_the_renders_it_let_go(
    tmp_path: Path, renderer: ClauseRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import policygen.render

    monkeypatch.setattr(policygen.render, "REUSE_BUDGET", 5_000)
    for i in range(40):  # each tenant's own clause looks up a name no other clause does
        probe = clause(
            tmp_path, f"{{% if own_{i} is defined %}}x{{% endif %}}{{{{ organisation.legal_name }}}}.\n", f"c{i}.md"
        )
        shown(renderer, probe, facts())
    own = [step for step in renderer._steps if step[0][0].startswith("own_")]
    assert 0 < len(own) < 10  # those of the renders kept since it last started again, not of every one it kept


def test_a_renderer_keeps_the_templates_of_the_clauses_used_most_recently_and_compiles_again_one_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import policygen.render
    import policygen.sandbox

    monkeypatch.setattr(policygen.render, "KEPT_CODES", 8)
    monkeypatch.setattr(policygen.sandbox, "KEPT_CODES", 8)
    renderer = ClauseRenderer(REPO / "content", raw_html=False)
    renderer.reuses_renders = False  # every render runs its template
    shared = clause(tmp_path, "Contact {{ organisation.legal_name }}.\n", "shared.md")
    own = [
        clause(tmp_path, f"Words of tenant {i} alone: {{{{ organisation.legal_name }}}}.\n", f"own{i}.md")
        for i in range(30)
    ]
    first = shown(renderer, own[0], facts())
    for i, own_clause in enumerate(own):  # each tenant has a clause of its own, and every tenant the shared one
        data = facts(organisation__legal_name=f"Org {i} Ltd")
        assert f"Org {i} Ltd" in shown(renderer, shared, data)
        assert f"tenant {i} alone: Org {i} Ltd" in shown(renderer, own_clause, data)
    assert len(renderer._templates) <= 8
    assert len(renderer.compiled._codes) <= 8
    compiles = renderer.compiled.compiles
    shown(renderer, shared, facts())
    assert renderer.compiled.compiles == compiles  # used by every tenant: kept
    assert shown(renderer, own[0], facts()) == first == fresh(own[0], facts())
    assert renderer.compiled.compiles == compiles + 1  # let go thirty tenants ago: compiled again, the same HTML


# --- every clause of the library, for tenants that differ at random ------------------------------------------

# Changes a tenant may make, each at dotted paths (None: remove the fact).
CHANGES = st.sampled_from(
    [
        {"organisation__display_name": "Another Brand"},
        {"organisation__legal_name": "Another Org Ltd"},
        {"organisation__email": "privacy@another.example"},
        {"organisation__website": None},
        {"dpo": None},
        {"dpo": {"name": "Ann Ward", "email": "dpo@another.example"}},
        {"locale": "en-GB", "languages": None},
        {"locale": "en-US", "languages": None},
        {"theme": {"display_name": "Theme Brand"}},
        {"dates": {"effective": "2025-02-03"}},
        {"cookies": None},
        {"cookies": "We use one cookie."},
        {"apps": []},
        {"trackers": []},
        {"children": None},
        {"jurisdictions": ["gdpr"]},
        {"jurisdictions": []},
        {"automated_decisions": "We do not decide anything by machine alone."},
        {"not_collected": []},
        {"marketing": None},
    ]
)


def _documents(renderer: ClauseRenderer, loaded: Any, data: dict[str, Any]) -> list[Any]:
    tenant = Tenant.model_validate(data)
    library = loaded.library.documents
    return [
        render_document(renderer, "t", tenant, d.id, library[d.id].clauses, d.id)
        for d in tenant.documents
        if d.id in library
    ]


@pytest.fixture(scope="module")
def shared() -> tuple[ClauseRenderer, Any]:
    """One renderer for every example below: its reuse sees many tenants, as a build's does."""
    loaded = load_project(REPO)
    return ClauseRenderer(loaded.content), loaded


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(SEEDS)), st.lists(CHANGES, max_size=4))
@pytest.mark.slow
def test_every_document_reads_the_same_reused_or_rendered_afresh(
    shared: tuple[ClauseRenderer, Any], seed: str, changes: list[dict[str, Any]]
) -> None:
    renderer, loaded = shared
    data = facts(seed, **{k: v for change in changes for k, v in change.items()})
    try:
        Tenant.model_validate(data)
    except ValueError:
        return  # a change this seed's facts do not allow (a reference to a removed fact)
    alone = ClauseRenderer(loaded.content)
    alone.reuses_renders = False
    try:
        expected = _documents(alone, loaded, data)
    except InputError as exc:
        with pytest.raises(InputError) as found:
            _documents(renderer, loaded, data)
        assert [p.message for p in found.value.problems] == [p.message for p in exc.problems]
        return
    assert _documents(renderer, loaded, data) == expected


@pytest.mark.slow
def test_a_build_of_many_tenants_reusing_renders_writes_the_same_files_as_one_rendering_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 12)
    for i, folder in enumerate(sorted((project / "tenants").iterdir())):
        file = folder / "tenant.yaml"
        file.write_text(file.read_text(encoding="utf-8").replace("display_name: ", f"display_name: No. {i} ", 1))
    options = BuildOptions(jobs=1, today=dt.date(2026, 12, 4))
    reused = build(project, tmp_path / "reused", options).out
    monkeypatch.setattr(ClauseRenderer, "reuses_renders", False)
    alone = build(project, tmp_path / "alone", options).out
    assert _files(reused) == _files(alone)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
