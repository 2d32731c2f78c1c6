"""A build imports only what it uses (issue 14: a one-tenant rebuild under 0.5 s).

Parts of policygen serve only some tenants: comparing two versions of a document (the redlines and
notices), the other languages a tenant publishes, and a tenant's logo. The release command's hooks serve
no build. A build of tenants that need none of them imports none of them; each test asks a fresh
interpreter which modules it imported, since this process has imported them all already.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, copy_project
from helpers import edit_facts

pytestmark = pytest.mark.slow  # each probe is a fresh interpreter

COMPARING = frozenset({"notices", "diff", "factdiff", "worddiff", "rules"})  # two versions of a document
TRANSLATING = frozenset({"translated", "fact_translations", "translation_files"})  # another language
LOGO = frozenset({"logos"})  # a tenant's logo, checked
RELEASING = frozenset({"release"})  # `policygen release`'s hooks: no build needs them
SOME_TENANTS = COMPARING | TRANSLATING | LOGO | RELEASING

# Imports the engine and the command line, builds the project named on the command line, if any, in this
# process (jobs=1: every tenant is rendered here, not in a worker), and prints the modules it imported.
_PROBE = """
import datetime as dt, json, sys
from pathlib import Path
import policygen.cli
import policygen.engine
from policygen.site import BuildOptions
for root in map(Path, sys.argv[1:]):
    policygen.engine.build(root, root / "out", BuildOptions(today=dt.date(2026, 6, 1), jobs=1))
print(json.dumps(list(sys.modules)))
"""


def every_module_imported(*projects: Path) -> frozenset[str]:
    """The modules a fresh interpreter imported to build *projects*, by their full names."""
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, *map(str, projects)], capture_output=True, text=True, cwd=REPO, check=True
    )
    return frozenset(json.loads(run.stdout))


def imported(*projects: Path) -> frozenset[str]:
    """policygen's modules (without the package name) a fresh interpreter imported to build *projects*."""
    return frozenset(
        name.removeprefix("policygen.") for name in every_module_imported(*projects) if name.startswith("policygen.")
    )


def one_language_project(root: Path, releases: bool) -> Path:
    """The example project without ims-pro, the one tenant that publishes another language (Hindi)."""
    project = copy_project(root / "project", releases=releases)
    shutil.rmtree(project / "tenants" / "ims-pro")
    return project


def test_importing_the_engine_and_the_command_line_imports_nothing_that_only_some_tenants_use() -> None:
    assert imported() & SOME_TENANTS == set()


def test_a_build_that_renders_few_tenants_imports_no_worker_pool(tmp_path: Path) -> None:
    # A pool pays off from engine.PARALLEL_MIN_TENANTS tenants to render; its import is a few milliseconds of
    # every build's start, a one-tenant rebuild's included.
    assert "concurrent.futures" not in every_module_imported(one_language_project(tmp_path, releases=False))


def test_building_tenants_with_one_version_one_language_and_no_logo_imports_nothing_that_only_some_use(
    tmp_path: Path,
) -> None:
    assert imported(one_language_project(tmp_path, releases=False)) & SOME_TENANTS == set()


def test_a_build_imports_no_reader_of_pages_for_their_links(tmp_path: Path) -> None:
    # Only check reads pages for their links (htmltext.PageLinks, with lexbor): 6 ms of a build's start.
    assert "selectolax" not in every_module_imported(one_language_project(tmp_path, releases=False))


def test_a_document_with_two_versions_imports_the_comparison_and_nothing_else_that_only_some_tenants_use(
    tmp_path: Path,
) -> None:
    found = imported(one_language_project(tmp_path, releases=True))  # example-fitness has released two versions
    assert found & SOME_TENANTS == COMPARING


def test_a_tenant_that_publishes_another_language_imports_the_translation_and_not_the_comparison(
    tmp_path: Path,
) -> None:
    found = imported(copy_project(tmp_path / "project", releases=False))  # ims-pro publishes Hindi too
    assert found & SOME_TENANTS == TRANSLATING


def test_a_tenant_with_a_logo_imports_the_logo_check(tmp_path: Path) -> None:
    project = one_language_project(tmp_path, releases=False)
    (project / "tenants" / "ihm-connect" / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>\n',
        encoding="utf-8",
    )

    def with_logo(facts: dict[str, Any]) -> None:
        facts["theme"]["logo"] = "logo.svg"

    edit_facts(project, "ihm-connect", with_logo)
    assert imported(project) & SOME_TENANTS == LOGO
