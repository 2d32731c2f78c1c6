"""The documentation: README.md stays a front page that leads into docs/, and docs/ builds as a site.

The tenant.yaml reference page is kept current by tests/test_cli.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

README = REPO / "README.md"
# [text](target): the relative targets are files of the repository, so they work on GitHub too.
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _relative_links(markdown: str) -> list[str]:
    return [t for t in LINK.findall(markdown) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def test_readme_links_lead_to_files_of_the_repository() -> None:
    links = _relative_links(README.read_text(encoding="utf-8"))
    assert links, "the README links into docs/"
    missing = [t for t in links if not (REPO / t.split("#")[0]).is_file()]
    assert missing == []


def test_readme_links_to_every_page_of_the_documentation() -> None:
    linked = {(REPO / t.split("#")[0]).resolve() for t in _relative_links(README.read_text(encoding="utf-8"))}
    pages = {p.resolve() for p in (REPO / "docs").glob("*.md")} - {(REPO / "docs" / "architecture.md").resolve()}
    assert sorted(p.name for p in pages - linked) == []


def test_readme_quick_start_runs_the_test_command_ci_runs() -> None:
    readme = README.read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", quick_start, re.S)[0].splitlines()
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/policygen build",
        "./scripts/test",
    ]
    assert "./scripts/test" in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()[-1]


@pytest.mark.slow
def test_the_documentation_site_builds_with_no_warning(tmp_path: Path) -> None:
    # mkdocs.yml turns a broken link or anchor and a page missing from the nav into warnings;
    # --strict makes any warning fail the build.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(REPO / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "WARNING" not in output, output
    assert (tmp_path / "site" / "tenant-reference" / "index.html").is_file()
    assert (tmp_path / "site" / "errors-and-safety" / "index.html").is_file()
    # Readable offline: no page loads a script, style sheet or image from elsewhere (links are fine).
    external = re.compile(r"<(?:script|img)[^>]*\ssrc=\"(?:https?:)?//|<link[^>]*\shref=\"(?:https?:)?//")
    assert [p.name for p in (tmp_path / "site").rglob("*.html") if external.search(p.read_text(encoding="utf-8"))] == []
