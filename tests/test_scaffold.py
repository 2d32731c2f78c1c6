"""policygen init and new-tenant: a new project or tenant in one command."""

from __future__ import annotations

import datetime as dt
import filecmp
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any, get_args

import click
import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO
from pydantic import BaseModel

import policygen
from policygen.check import check
from policygen.cli import cli
from policygen.engine import build
from policygen.errors import InputError, UsageError
from policygen.facts import Jurisdiction, Tenant, load_tenant
from policygen.jurisdictions import JURISDICTIONS
from policygen.scaffold import TenantBasics, ask_basics, init, new_tenant, skeleton

TODAY = dt.date(2026, 11, 22)


def uncomment(text: str) -> str:
    """Every commented YAML line ('# ...') made live; explanations ('## ...') stay comments."""
    return (
        "\n".join(
            re.sub(r"^(\s*)# ", r"\1", line) if not line.lstrip().startswith("##") else line
            for line in text.splitlines()
        )
        + "\n"
    )


# --- init ------------------------------------------------------------------------------------------------


STARTER_FILES = [
    ".github/workflows/policy.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "content/README.md",
    "policygen.yaml",
    "tenants/example/tenant.yaml",
]


def test_init_creates_only_what_a_project_needs_to_start(tmp_path: Path) -> None:
    report = init(tmp_path / "policies")
    root = tmp_path / "policies"
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert report.files == on_disk == STARTER_FILES
    assert not (root / "themes").exists()  # the clause library and the theme come with policygen


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_ignores_everything_a_build_writes_in_a_new_project(tmp_path: Path) -> None:
    # The output, its staging folders and the build's cache (.cache/policygen/) are no input to commit.
    root = init(tmp_path / "policies").root
    build(root)
    tenant = root / "tenants/example/tenant.yaml"
    tenant.write_text(tenant.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    build(root)  # a rebuild keeps the previous output as its spare, in the cache
    (root / ".build.policygen-new").mkdir()  # as a build that crashed leaves them
    (root / ".build.policygen-old").mkdir()
    (root / ".build.policygen-new/page.html").write_text("x", encoding="utf-8")
    (root / ".build.policygen-old/page.html").write_text("x", encoding="utf-8")
    assert (root / ".cache/policygen").is_dir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    listed = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=all"], check=True, capture_output=True, text=True
    )
    assert sorted(line[3:] for line in listed.stdout.splitlines()) == STARTER_FILES


def test_init_creates_a_project_that_builds_and_checks_unchanged(tmp_path: Path) -> None:
    root = init(tmp_path / "policies").root
    site = build(root)
    assert site.tenants == ["example"] and (root / "build/example/privacy-policy/index.html").is_file()
    result = check(root, None, TODAY)
    assert result.exit_code == 0 and result.count("warning") == 0


def test_init_workflow_runs_check_diff_then_shard_builds_and_a_merge(tmp_path: Path) -> None:
    init(tmp_path / "p")
    workflow = yaml.safe_load((tmp_path / "p/.github/workflows/policy.yml").read_text(encoding="utf-8"))
    runs = {name: " ".join(step.get("run", "") for step in job["steps"]) for name, job in workflow["jobs"].items()}
    assert "policygen check" in runs["check"]
    assert "policygen diff" in runs["check"] and "--fail-on material" in runs["check"]
    assert "policygen build" in runs["shard"] and "--shard" in runs["shard"]
    assert "policygen merge" in runs["site"]
    assert all("__VERSION__" not in run and "policygen==" in run for run in runs.values())
    # The whole run, jobs and artifacts, is tested in tests/test_shards.py.
    assert "policygen upgrade-diff" in runs["check"]
    assert f'pip install "policygen=={policygen.__version__}"' in runs["check"]
    text = (tmp_path / "p/.github/workflows/policy.yml").read_text(encoding="utf-8")
    assert 'pip install "git+https://github.com/<owner>/<repo>@<tag>"' in text  # until a release is published


@pytest.mark.slow
def test_init_workflow_check_steps_pass_in_the_new_project(tmp_path: Path) -> None:
    """Run the check job's own shell steps (all but installing policygen) in the project it came with."""
    init(tmp_path / "p")
    workflow = yaml.safe_load((tmp_path / "p/.github/workflows/policy.yml").read_text(encoding="utf-8"))
    steps = [s["run"] for s in workflow["jobs"]["check"]["steps"] if "run" in s and "pip install" not in s["run"]]
    assert len(steps) == 4
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "github-output"),
    }
    for script in steps:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path / "p", env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    today = (tmp_path / "github-output").read_text(encoding="utf-8")
    assert today.startswith("today=") and dt.date.fromisoformat(today.removeprefix("today=").strip())


@pytest.mark.slow
def test_init_pre_commit_runs_check_on_facts_and_clauses(tmp_path: Path) -> None:
    init(tmp_path / "p")
    config = yaml.safe_load((tmp_path / "p/.pre-commit-config.yaml").read_text(encoding="utf-8"))
    hook = config["repos"][0]["hooks"][0]
    assert hook["entry"].startswith("policygen check") and re.search(hook["files"], "tenants/x/tenant.yaml")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(hook["entry"].split(), cwd=tmp_path / "p", env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "", done.stderr


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match="not empty"):
        init(tmp_path / "p")
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["notes.txt"]
    init(tmp_path / "empty-ok")  # an empty or new folder is fine


def test_init_command_then_build_command(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path / "p")]).exit_code == 0
    result = runner.invoke(cli, ["-C", str(tmp_path / "p"), "build"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p/build/index.html").is_file()


def test_an_init_project_builds_the_same_pages_as_one_holding_a_copy_of_the_whole_library(tmp_path: Path) -> None:
    lean = init(tmp_path / "lean").root
    full = init(tmp_path / "full").root
    shutil.copytree(REPO / "content", full / "content", dirs_exist_ok=True)  # like a project made by an older init
    shutil.copytree(REPO / "themes", full / "themes")
    build(lean)
    build(full)
    # manifest.json holds the build's input key, which hashes the project's own copies too.
    pages = sorted(
        p.relative_to(lean / "build").as_posix()
        for p in (lean / "build").rglob("*")
        if p.is_file() and p.name != "manifest.json"
    )
    assert "example/privacy-policy/index.html" in pages and "assets/style.css" in pages
    _, mismatch, errors = filecmp.cmpfiles(lean / "build", full / "build", pages, shallow=False)
    assert mismatch == [] and errors == []


@pytest.mark.slow
def test_a_non_editable_install_can_init_a_project_that_builds(tmp_path: Path) -> None:
    # Build from a copy: the repository's build/ folder is the example site, not a place for setuptools.
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("policygen", "content", "themes"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "site-packages"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    script = (
        "import policygen, sys; from pathlib import Path; from policygen.cli import main;"
        "assert Path(policygen.__file__).is_relative_to(Path(sys.argv[1])), policygen.__file__;"
        "sys.argv = ['policygen', *sys.argv[2:]]; main()"
    )
    # -S: no .pth files, so the development (editable) install cannot answer `import policygen`;
    # the dependencies still come from this environment's site-packages.
    env = {"PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]]), "PATH": "/usr/bin:/bin"}
    project = tmp_path / "project"

    def policygen(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-S", "-c", script, str(target), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    policygen("init", str(project))
    policygen("-C", str(project), "build")
    page = project / "build/example/privacy-policy/index.html"
    assert "About this policy" in page.read_text(encoding="utf-8")  # the packaged library's clause
    # The installed library is a folder inside the package, which a project's content/ overrides by clause id.
    own = project / "content/privacy-policy/010-introduction.md"
    own.parent.mkdir()
    own.write_text(
        "---\nid: introduction\ntitle: Our own introduction\norder: 10\n---\nWritten by the project.\n",
        encoding="utf-8",
    )
    policygen("-C", str(project), "build")
    text = page.read_text(encoding="utf-8")
    assert "Written by the project." in text and "About this policy" not in text
    assert "0 with text changes" in policygen("-C", str(project), "upgrade-diff")


# --- new-tenant --------------------------------------------------------------------------------------------


def test_new_tenant_fails_to_load_with_located_fill_in_errors(project: Path) -> None:
    file = new_tenant(project, "acme", TenantBasics("Acme Ltd", "Acme", "privacy@acme.example", ("uk_gdpr",)), TODAY)
    assert file == project / "tenants/acme/tenant.yaml"
    with pytest.raises(InputError) as caught:
        load_tenant(file)
    problems = caught.value.problems
    assert sorted(p.key_path or "" for p in problems) == ["data_categories", "dates", "purposes"]
    assert all(p.file == file and p.line is not None and "required fact is missing" in p.message for p in problems)


def test_new_tenant_uncommented_loads_builds_and_keeps_the_basics(project: Path) -> None:
    file = new_tenant(project, "acme", TenantBasics("Acme Ltd", "Acme", "privacy@acme.example", ("uk_gdpr",)), TODAY)
    file.write_text(uncomment(file.read_text(encoding="utf-8")), encoding="utf-8")
    tenant = load_tenant(file)
    assert (tenant.organisation.legal_name, tenant.organisation.display_name) == ("Acme Ltd", "Acme")
    assert tenant.organisation.email == "privacy@acme.example"
    assert tenant.jurisdictions == ["uk_gdpr"] and tenant.locale == "en-GB" and tenant.dates.effective == TODAY
    report = build(project, project / "out")
    assert "acme" in report.tenants


def test_new_tenant_without_basics_leaves_the_organisation_a_placeholder(project: Path) -> None:
    file = new_tenant(project, "blank", TenantBasics(), TODAY)
    with pytest.raises(InputError) as caught:
        load_tenant(file)
    assert "organisation" in {p.key_path for p in caught.value.problems}
    assert (
        load_tenant_text(uncomment(file.read_text(encoding="utf-8")), file).organisation.legal_name
        == "Your Company Ltd"
    )


def load_tenant_text(text: str, file: Path) -> Any:
    file.write_text(text, encoding="utf-8")
    return load_tenant(file)


def test_new_tenant_names_stay_text(project: Path) -> None:
    name = 'Acme: "Quotes" & {{ braces }} # not a comment'
    file = new_tenant(project, "acme", TenantBasics(name, "A*B", None, ()), TODAY)
    text = uncomment(file.read_text(encoding="utf-8"))
    assert load_tenant_text(text, file).organisation.legal_name == name


def test_new_tenant_refuses_an_existing_tenant_and_bad_input(project: Path) -> None:
    with pytest.raises(UsageError, match="exists already"):
        new_tenant(project, "ims-pro", TenantBasics(), TODAY)
    with pytest.raises(UsageError, match="not a tenant slug"):
        new_tenant(project, "../evil", TenantBasics(), TODAY)
    with pytest.raises(UsageError, match="not an email"):
        new_tenant(project, "acme", TenantBasics(email="nope"), TODAY)
    assert not (project / "tenants/acme").exists()


def test_new_tenant_refuses_what_the_build_would_refuse(project: Path) -> None:
    with pytest.raises(UsageError, match="'assets' cannot be a tenant slug"):
        new_tenant(project, "assets", TenantBasics(), TODAY)
    for blank in ("   ", "\u200b", "\u202e\u200d"):
        with pytest.raises(UsageError, match="legal name is empty or has nothing visible"):
            new_tenant(project, "acme", TenantBasics(legal_name=blank), TODAY)
    assert not (project / "tenants/assets").exists() and not (project / "tenants/acme").exists()


def test_new_tenant_command_with_flags_needs_no_terminal(project: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "-C",
            str(project),
            "new-tenant",
            "acme",
            "--legal-name",
            "Acme Ltd",
            "--display-name",
            "Acme",
            "--email",
            "p@acme.example",
            "--jurisdiction",
            "in_dpdp",
            "--jurisdiction",
            "us_ca",
        ],
    )
    assert result.exit_code == 0, result.output
    tenant = load_tenant_text(
        uncomment((project / "tenants/acme/tenant.yaml").read_text(encoding="utf-8")),
        project / "tenants/acme/tenant.yaml",
    )
    assert tenant.jurisdictions == ["in_dpdp", "us_ca"] and tenant.locale == "en-IN"


def test_new_tenant_command_does_not_prompt_without_a_terminal(project: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(project), "new-tenant", "acme"], input="should not be read\n")
    assert result.exit_code == 0 and "Legal name" not in result.output


def test_ask_basics_prompts_only_for_what_is_missing() -> None:
    asked: list[str] = []
    answers = {
        "Legal name of the organisation": "Acme Ltd",
        "Name people know it by": "Acme",
        "Email for privacy questions": "p@acme.example",
    }

    def prompt(text: str, **kw: Any) -> str:
        asked.append(text)
        return answers.get(text, "eu_gdpr, uk_gdpr")

    basics = ask_basics(TenantBasics(display_name="Given"), prompt)
    assert basics == TenantBasics("Acme Ltd", "Given", "p@acme.example", ("eu_gdpr", "uk_gdpr"))
    assert "Name people know it by" not in asked and len(asked) == 3


def test_ask_basics_asks_again_for_an_answer_it_cannot_take_keeping_the_others() -> None:
    typed = "\n".join(["   ", "Acme Ltd", "", "not-an-email", "p@acme.example", "eu_gdpr, xx", "eu_gdpr, uk_gdpr", ""])
    with CliRunner().isolation(input=typed) as (out, *_):
        basics = ask_basics(TenantBasics(), click.prompt)
    said = out.getvalue().decode()
    assert basics == TenantBasics("Acme Ltd", "Acme Ltd", "p@acme.example", ("eu_gdpr", "uk_gdpr"))
    assert "legal name is empty or has nothing visible" in said
    assert "'not-an-email' is not an email address" in said
    assert "'xx' is not a jurisdiction" in said
    assert said.count("Jurisdiction (") == 2 and said.count("Email for privacy questions") == 2


def test_ask_basics_takes_no_email_and_no_jurisdiction_when_left_empty() -> None:
    with CliRunner().isolation(input="Acme Ltd\nAcme\n\n\n"):
        basics = ask_basics(TenantBasics(), click.prompt)
    assert basics == TenantBasics("Acme Ltd", "Acme", None, ())


def test_skeleton_lists_every_required_fact() -> None:
    text = skeleton("acme", TenantBasics(), TODAY)
    for key in ("organisation", "data_categories", "purposes", "documents", "dates"):
        assert re.search(rf"^(# )?{key}:", text, re.M), key


def test_jurisdictions_offered_are_the_ones_facts_accept() -> None:
    from policygen.cli import new_tenant as new_tenant_command

    offered = next(p for p in new_tenant_command.params if p.name == "jurisdictions")
    assert isinstance(offered.type, click.Choice)
    assert tuple(offered.type.choices) == get_args(Jurisdiction) == JURISDICTIONS


def _models_under(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The tenant model and every model a field of it holds, each once."""
    seen: list[type[BaseModel]] = []
    todo = [model]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        for field in current.model_fields.values():
            todo += [m for m in _inner_models(field.annotation) if m not in seen]
    return seen


def _inner_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _inner_models(arg)]


def test_new_tenant_writes_a_commented_placeholder_for_every_fact_of_the_model() -> None:
    text = skeleton("acme", TenantBasics(), TODAY)
    missing = [
        f"{m.__name__}.{name}"
        for m in _models_under(Tenant)
        for name in m.model_fields
        if not re.search(rf"^[ #-]*{name}:", text, re.M)
    ]
    assert missing == []
    assert yaml.safe_load(text) is not None  # still YAML, every placeholder a comment
