"""Templates from a tenant or a pull request never run code and never hang the build.

Every escape below tries to run `touch <marker>`; each must fail with exit 1 and a message
located in the file that holds it, and the marker must not exist afterwards. The hang cases
of the bad-input corpus must also finish fast.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_errors_corpus import CORPUS, Case, make_project, run_case

from policygen.cli import cli

# Each payload, written as one Jinja expression; SUBJECT is a value the template is given.
ESCAPES = {
    "cycler": "cycler.__init__.__globals__.os.popen('touch MARKER').read()",
    "joiner": "joiner.__init__.__globals__.os.popen('touch MARKER').read()",
    "lipsum": "lipsum.__globals__['os'].popen('touch MARKER').read()",
    "namespace": "namespace.__init__.__globals__['os'].popen('touch MARKER').read()",
    "range": "range.__globals__['os'].popen('touch MARKER').read()",
    "self": "self._TemplateReference__context.cycler.__init__.__globals__.os.popen('touch MARKER').read()",
    "config": "config.__class__.__init__.__globals__['os'].popen('touch MARKER').read()",
    "request": "request.application.__globals__.__builtins__.__import__('os').popen('touch MARKER').read()",
    "class-mro-walk": "(''.__class__.__mro__[1].__subclasses__()|last).__init__.__globals__['os']"
    ".popen('touch MARKER').read()",
    "attr-filter": "(SUBJECT|attr('__init__')|attr('__globals__'))['os'].popen('touch MARKER').read()",
    "getitem": "SUBJECT['__init__']['__globals__']['os'].popen('touch MARKER').read()",
    "str-format": "'{0.__init__.__globals__[os].popen}'.format(SUBJECT)('touch MARKER').read()",
    "method-globals": "SUBJECT.model_dump.__func__.__globals__['os'].popen('touch MARKER').read()",
}

LIBRARY_CLAUSE = "content/policy/010-about.md"
TENANT_CLAUSE = "tenants/acme/content/policy/005-own.md"
LAYOUT = "layouts/index.html"


def _placed(place: str, payload: str) -> tuple[Case, str]:
    """A corpus-style case that puts *payload* in *place*, and the file the error must name."""
    if place == "library clause":
        expression = payload.replace("SUBJECT", "organisation")
        return Case(
            "escape",
            place,
            1,
            "",
            replace={LIBRARY_CLAUSE: [["{{ organisation.display_name }}", "{{ " + expression + " }}"]]},
        ), LIBRARY_CLAUSE
    if place == "tenant clause":
        expression = payload.replace("SUBJECT", "organisation")
        return Case(
            "escape",
            place,
            1,
            "",
            write={TENANT_CLAUSE: "---\nid: own\ntitle: Ours\norder: 5\n---\n{{ " + expression + " }}\n"},
        ), TENANT_CLAUSE
    if place == "when":
        expression = payload.replace("SUBJECT", "organisation")
        return Case(
            "escape", place, 1, "", replace={LIBRARY_CLAUSE: [["order: 10\n", f'order: 10\nwhen: "{expression}"\n']]}
        ), LIBRARY_CLAUSE
    assert place == "theme template"
    expression = payload.replace("SUBJECT", "site")
    return Case(
        "escape", place, 1, "", write={LAYOUT: "<!doctype html>\n<title>x</title>\n<p>{{ " + expression + " }}</p>\n"}
    ), LAYOUT


@pytest.mark.parametrize("place", ["library clause", "tenant clause", "when", "theme template"])
@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_an_escape_from_the_sandbox_runs_no_command_and_is_a_located_error(
    place: str, escape: str, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    case, file = _placed(place, ESCAPES[escape].replace("MARKER", str(marker)))
    code, stderr, exception, out = run_case(case, tmp_path)
    assert exception is None and "Traceback" not in stderr
    assert code == 1, stderr
    assert re.match(rf"{re.escape(file)}:\d+: error: ", stderr), stderr
    assert not marker.exists(), "the payload ran a command"
    assert not out.exists()


@pytest.mark.parametrize(
    "command",
    [["check"], ["diff", "acme"], ["release", "acme", "--effective", "2026-09-01", "--released", "2026-06-01"]],
)
def test_every_command_that_renders_clauses_refuses_the_escape(command: list[str], tmp_path: Path) -> None:
    project, _ = make_project(Case("released", "", 0, ""), tmp_path)
    released = ["-C", str(project), "release", "acme", "--effective", "2026-05-01", "--released", "2026-04-01"]
    assert CliRunner().invoke(cli, released).exit_code == 0  # so that diff has a version to compare with
    history = sorted((project / "tenants" / "acme" / "releases").rglob("*"))
    marker = tmp_path / "marker"
    own = project / TENANT_CLAUSE
    own.parent.mkdir(parents=True)
    own.write_text(
        "---\nid: own\ntitle: Ours\norder: 5\n---\n{{ " + ESCAPES["cycler"].replace("MARKER", str(marker)) + " }}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["-C", str(project), *command], prog_name="policygen")
    report = result.stdout + result.stderr  # check reports on stdout, the others on stderr
    assert result.exit_code == 1 and "Traceback" not in report, report
    assert f"{TENANT_CLAUSE}:6: error:" in report
    assert not marker.exists()
    assert sorted((project / "tenants" / "acme" / "releases").rglob("*")) == history


# Cases of the corpus that would hang or exhaust memory without the sandbox's limits.
HANGS = [
    "clause-when-range-too-big",
    "clause-text-repeated-too-long",
    "clause-power-too-big",
    "clause-nested-loops-too-long",
    "clause-recursive-macro",
    "clause-macro-calls-doubling",
    "clause-text-doubling-in-a-loop",
    "clause-writes-too-much",
    "clause-include-itself-by-a-computed-name",
    "layout-template-loop-without-end",
]


@pytest.mark.parametrize("name", HANGS)
def test_a_template_that_would_hang_stops_within_seconds(name: str, tmp_path: Path) -> None:
    case = Case.read(CORPUS / name)
    started = time.monotonic()
    code, stderr, _, _ = run_case(case, tmp_path)
    elapsed = time.monotonic() - started
    assert code == 1 and stderr == case.stderr
    assert elapsed < 10, f"{name} took {elapsed:.1f}s"  # about 1s alone; generous for a shared CI machine


def _build(project: Path, out: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--out", str(out)], prog_name="policygen")
    return result.exit_code, result.stderr


def test_a_theme_runs_sandboxed_unless_the_project_trusts_it(tmp_path: Path) -> None:
    case = Case(
        "trusted", "", 0, "", write={LAYOUT: "<!doctype html>\n<title>x</title>\n<p>[{{ 'x'.center(5) }}]</p>\n"}
    )
    project, _ = make_project(case, tmp_path)
    code, stderr = _build(project, tmp_path / "sandboxed")
    assert code == 1 and f"{LAYOUT}:3: error:" in stderr and "str.center()" in stderr
    (project / "policygen.yaml").write_text("trusted_theme: true\n", encoding="utf-8")
    code, stderr = _build(project, tmp_path / "trusted")
    assert code == 0, stderr
    assert "<p>[  x  ]</p>" in (tmp_path / "trusted" / "index.html").read_text(encoding="utf-8")


def test_a_clause_may_append_to_a_list_it_made_but_not_to_the_facts(tmp_path: Path) -> None:
    own = "{% set names = [] %}{% for c in data_categories %}{% do names.append(c.name) %}{% endfor %}{{ names|join }}"
    case = Case("own-list", "", 0, "", replace={LIBRARY_CLAUSE: [["{{ organisation.display_name }}", own]]})
    project, _ = make_project(case, tmp_path)
    code, stderr = _build(project, tmp_path / "site")
    assert code == 0, stderr
    assert "Account" in (tmp_path / "site" / "acme" / "policy" / "index.html").read_text(encoding="utf-8")
    facts = "{% do data_categories.append(organisation) %}"
    (project / LIBRARY_CLAUSE).write_text(
        (project / LIBRARY_CLAUSE).read_text(encoding="utf-8").replace(own, facts), encoding="utf-8"
    )
    code, stderr = _build(project, tmp_path / "site2")
    assert code == 1 and "'append' of 'list' object is unsafe" in stderr


@pytest.mark.parametrize(
    "expression",
    [
        "organisation.no_such_fact|default('we never sell data')",  # an unset fact printed as a stated answer
        "dpo|d('none appointed', true)",
        "dpo|string",  # None printed as 'None'
        "[[1] * 1000] * 1000|sum(start=[])",  # work that grows before its result is measured
    ],
)
def test_a_clause_cannot_print_an_unset_fact_as_an_answer_or_outgrow_the_limits_through_a_filter(
    expression: str, tmp_path: Path
) -> None:
    case = Case(
        "filter", "", 1, "", replace={LIBRARY_CLAUSE: [["{{ organisation.display_name }}", "{{ " + expression + " }}"]]}
    )
    project, _ = make_project(case, tmp_path)
    started = time.perf_counter()
    code, stderr = _build(project, tmp_path / "site")
    assert code == 1 and f"{LIBRARY_CLAUSE}:" in stderr and "No filter named" in stderr, stderr
    assert time.perf_counter() - started < 10
