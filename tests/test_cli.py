"""The command line: entry points, exit codes, and the documentation kept true to the code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, many_tenants

from policygen.cli import cli
from policygen.reference import PAGE as REFERENCE_PAGE
from policygen.reference import markdown as facts_reference


@pytest.mark.slow
def test_python_dash_m_policygen_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "policygen", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("policygen, version ")


def test_schema_prints_a_json_schema_of_tenant_yaml() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"organisation", "data_categories", "purposes", "documents", "dates"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


def test_build_exits_0_and_says_where_to_look(project: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert "index.html" in result.output and (project / "build" / "index.html").is_file()


def test_bad_facts_exit_1_with_file_line_and_key_path(project: Path) -> None:
    tenant = project / "tenants" / "ims-pro" / "tenant.yaml"
    tenant.write_text(tenant.read_text(encoding="utf-8").replace("  legal_name:", "  legal_nam:", 1), encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(project), "build"])
    assert result.exit_code == 1
    assert "tenants/ims-pro/tenant.yaml:" in result.output
    assert "organisation.legal_nam: unknown key 'legal_nam'" in result.output
    assert "did you mean 'legal_name'?" in result.output
    assert "Traceback" not in result.output


def test_bad_usage_exits_2(project: Path) -> None:
    assert CliRunner().invoke(cli, ["-C", str(project), "build", "--tenant", "nobody"]).exit_code == 2
    assert CliRunner().invoke(cli, ["-C", str(project), "build", "--today", "22/11/2026"]).exit_code == 2
    assert CliRunner().invoke(cli, ["-C", str(project), "build", "--no-such-option"]).exit_code == 2


@pytest.mark.parametrize("made", [False, True], ids=["missing", "a file"])
def test_a_project_folder_that_is_not_one_is_named_in_full(tmp_path: Path, made: bool) -> None:
    folder = tmp_path / "policies"
    if made:
        folder.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(folder), "build"])
    assert result.exit_code == 2 and str(folder) in result.output and "Traceback" not in result.output
    if not made:
        assert result.output == f"error: no project folder at {folder}: it does not exist\n"


def test_a_tenant_asked_for_that_is_not_there_is_named_and_the_others_counted_not_listed(tmp_path: Path) -> None:
    project = many_tenants(tmp_path / "project", 30)
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "-t", "nobody", "-t", "ims-pro", "-t", "xyzzy"])
    assert result.exit_code == 2
    assert result.output == (
        "error: no tenant 'nobody' in tenants/, which holds 30 tenants (a folder each); "
        "no tenant 'xyzzy' in tenants/, which holds 30 tenants (a folder each)\n"
    )
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "-t", "ims-pro-00x"])
    assert result.output == "error: no tenant 'ims-pro-00x' in tenants/; did you mean 'ims-pro-007'?\n"


def test_a_few_tenants_are_named_when_the_one_asked_for_is_not_there(project: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "-t", "nobody"])
    assert result.exit_code == 2
    known = ", ".join(sorted(p.name for p in (project / "tenants").iterdir() if p.is_dir()))
    assert result.output == f"error: no tenant 'nobody' in tenants/ (known: {known})\n"


@pytest.mark.parametrize("asked", [[], ["-t", "ims-pro"]], ids=["the whole site", "one tenant"])
def test_a_build_says_how_many_tenants_it_removed_and_names_them_only_when_verbose(
    project: Path, asked: list[str]
) -> None:
    build = ["-C", str(project), "build", "--today", "2026-11-22"]
    assert CliRunner().invoke(cli, build).exit_code == 0
    shutil.rmtree(project / "tenants/ihm-connect")
    said = CliRunner().invoke(cli, [*build, *asked])
    assert said.exit_code == 0, said.output
    assert "Removed from the site (their folders are gone): 1 tenant\n" in said.output
    assert "ihm-connect" not in said.output and not (project / "build/ihm-connect").exists()
    shutil.rmtree(project / "tenants/ims-global")
    said = CliRunner().invoke(cli, ["-v", *build, *asked])
    assert "removed: ims-global\n" in said.output and "gone): 1 tenant" in said.output


def test_docs_facts_reference_matches_the_model() -> None:
    page = (REPO / REFERENCE_PAGE).read_text(encoding="utf-8")
    assert facts_reference() in page, "run: python -m policygen.reference"
