"""Every bad input gets one clear, located message: the corpus in tests/bad_inputs/.

Each case is a folder tests/bad_inputs/<name>/ with a case.yaml that says how to
break the small valid project in tests/bad_inputs/_project/ (plus the example
themes), the command to run, the exit status, and the exact text policygen must
print on stderr: `file:line:column: error: key.path: message`, then `expected:`
and `hint:` lines, then the count. Files under the case's tree/ folder are
copied over the project as they are (for bytes YAML cannot hold, like invalid
UTF-8).

case.yaml keys:
    about:    what the case shows
    args:     the command after `policygen -C <project>` (default [build, --out, "{out}"]);
              "{out}", "{project}" and "{outside}" stand for those folders
    exit:     1 for bad input, 2 for bad usage
    write:    {path: text} files to write (relative to the project)
    replace:  {path: [[old, new], ...]} exact replacements in the project's files
    remove:   [path, ...]
    generate: [{path, head, body, times, tail}] text built as head + body*times + tail
    outside:  {path: text} files written beside the project, in a folder named outside/
    symlink:  {path: target} symlinks to create; "{outside}" in a target is that folder
    before:   [args, ...] commands that must succeed before `args` runs, in the project as broken
              (e.g. the shard builds a `merge` case joins); the same placeholders as args
    stderr:   the exact expected stderr ("{project}" and "{outside}" stand for their absolute paths)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO

from policygen.cli import cli

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
BASE = CORPUS / "_project"


@dataclass
class Case:
    name: str
    about: str
    exit: int
    stderr: str
    args: list[str] = field(default_factory=lambda: ["build", "--out", "{out}"])
    write: dict[str, str] = field(default_factory=dict)
    replace: dict[str, list[list[str]]] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)
    generate: list[dict[str, Any]] = field(default_factory=list)
    outside: dict[str, str] = field(default_factory=dict)
    symlink: dict[str, str] = field(default_factory=dict)
    before: list[list[str]] = field(default_factory=list)

    @classmethod
    def read(cls, folder: Path) -> Case:
        data = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))
        return cls(name=folder.name, **data)


def load_cases() -> list[Case]:
    return [Case.read(p) for p in sorted(CORPUS.iterdir()) if (p / "case.yaml").is_file()]


CASES = load_cases()


def make_project(case: Case, tmp: Path) -> tuple[Path, Path]:
    """The base project with the case's breakage applied; returns (project, outside)."""
    project = tmp / "project"
    outside = tmp / "outside"
    shutil.copytree(BASE, project)
    shutil.copytree(REPO / "themes", project / "themes")
    folder = CORPUS / case.name
    if (folder / "tree").is_dir():
        shutil.copytree(folder / "tree", project, dirs_exist_ok=True)
    for path, text in case.write.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text, encoding="utf-8")
    for path, pairs in case.replace.items():
        text = (project / path).read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, f"{case.name}: {old!r} not in {path}"
            text = text.replace(old, new, 1)
        (project / path).write_text(text, encoding="utf-8")
    for path in case.remove:
        target = project / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    for spec in case.generate:
        text = spec.get("head", "") + spec["body"] * int(spec["times"]) + spec.get("tail", "")
        (project / spec["path"]).write_text(text, encoding="utf-8")
    for path, text in case.outside.items():
        (outside / path).parent.mkdir(parents=True, exist_ok=True)
        (outside / path).write_text(text, encoding="utf-8")
    for path, target in case.symlink.items():
        link = project / path
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target.replace("{outside}", str(outside)))
    return project, outside


def run_case(case: Case, tmp: Path) -> tuple[int, str, BaseException | None, Path]:
    project, outside = make_project(case, tmp)
    out = tmp / "site"

    def command(given: list[str]) -> list[str]:
        return [
            "-C",
            str(project),
            *(
                a.replace("{out}", str(out)).replace("{project}", str(project)).replace("{outside}", str(outside))
                for a in given
            ),
        ]

    for given in case.before:
        done = CliRunner().invoke(cli, command(given), prog_name="policygen", catch_exceptions=True)
        assert done.exit_code == 0, f"{case.name}: before: {given}: {done.output}"
    result = CliRunner().invoke(cli, command(case.args), prog_name="policygen", catch_exceptions=True)
    stderr = result.stderr.replace(str(project.resolve()), "{project}").replace(str(outside.resolve()), "{outside}")
    return result.exit_code, stderr, result.exception if not isinstance(result.exception, SystemExit) else None, out


def test_the_corpus_has_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


def test_the_base_project_builds(tmp_path: Path) -> None:
    project, _ = make_project(Case("_project", "base", 0, ""), tmp_path)
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "acme" / "policy" / "index.html").is_file()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_clear_message(case: Case, tmp_path: Path) -> None:
    code, stderr, exception, out = run_case(case, tmp_path)
    assert exception is None, f"{case.name}: unhandled {exception!r}"
    assert "Traceback" not in stderr
    assert stderr == case.stderr, f"{case.name}: {case.about}"
    assert code == case.exit
    assert not out.exists(), "a failed build wrote output"
