"""Hostile files in a project: pipes, devices, dangling links, YAML bombs and code tags.

Each finishes fast, in bounded memory, with a located message (exit 1) and no code run.
The memory bounds are real: the build runs in a child process under RLIMIT_AS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tracemalloc
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policygen import filebytes, inputs
from policygen.cli import cli
from policygen.errors import InputError, Problem
from policygen.facts import read_tenant
from policygen.inputs import MAX_BYTES, ensure_inside, link_out, read_bytes

BASE = Path(__file__).resolve().parent / "bad_inputs" / "_project"
MEMORY = 1024 * 1024 * 1024  # address space for the whole child: interpreter, pydantic, babel and the build
SECONDS = 60  # a hang would run for ever; the child is stopped (and the test fails) after this
FAST = 20  # each refusal takes about a second here; far below what expanding or reading everything takes

# The child limits its own address space, then runs the command line as a user would.
CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
from policygen.cli import main
sys.argv = ["policygen", *sys.argv[1:]]
main()
"""


def small_project(tmp: Path) -> Path:
    project = tmp / "project"
    shutil.copytree(BASE, project)
    shutil.copytree(REPO / "themes", project / "themes")
    return project


def bounded_build(project: Path, *args: str) -> tuple[int, str, float]:
    """Run `policygen build` in a child with at most MEMORY of address space; (exit, stderr, seconds)."""
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD.format(memory=MEMORY),
            "-C",
            str(project),
            "build",
            "--out",
            str(project.parent / "site"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, done.stderr, time.monotonic() - started


@pytest.mark.slow
def test_the_child_builds_the_plain_project_within_the_memory_bound(tmp_path: Path) -> None:
    # Without this, a refusal below could be the limit killing every build.
    code, stderr, _ = bounded_build(small_project(tmp_path))
    assert code == 0, stderr


MERGE_BOMB = "".join(
    [f"a: &a {{{', '.join(f'x{i}: {i}' for i in range(8))}}}\n"]
    + [f"{n}: &{n} {{<<: [{', '.join([f'*{p}'] * 8)}]}}\n" for p, n in zip("abcdefghij", "bcdefghijk", strict=True)]
)


@pytest.mark.slow
def test_a_merge_key_bomb_is_refused_fast_in_bounded_memory(tmp_path: Path) -> None:
    project = small_project(tmp_path)
    (project / "tenants/acme/tenant.yaml").write_text(MERGE_BOMB, encoding="utf-8")
    assert len(MERGE_BOMB) < 1000  # 8**10 merged entries from under a kilobyte
    code, stderr, seconds = bounded_build(project)
    assert code == 1, stderr
    assert "document expands to more than 200000 values" in stderr
    assert seconds < FAST


@pytest.mark.slow
def test_a_plain_document_of_a_million_items_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    project = small_project(tmp_path)
    items = "1," * (MAX_BYTES // 2 - 100)
    (project / "tenants/acme/tenant.yaml").write_text(f"data_categories: [{items}1]\n", encoding="utf-8")
    code, stderr, seconds = bounded_build(project)
    assert code == 1, stderr
    assert "tenants/acme/tenant.yaml:1:1: error: data_categories: document expands to more than 200000 values" in stderr
    assert seconds < FAST


@pytest.mark.parametrize(
    "where",
    [
        "tenants/acme/inbox",
        "tenants/acme/tenant.yaml",
        "content/policy/030-pipe.md",
        "content/_partials/pipe.md",
        "policygen.yaml",
        "rules.yaml",
    ],
)
@pytest.mark.slow
def test_a_named_pipe_is_refused_not_waited_on(tmp_path: Path, where: str) -> None:
    project = small_project(tmp_path)
    pipe = project / where
    pipe.unlink(missing_ok=True)
    os.mkfifo(pipe)
    code, stderr, _ = bounded_build(project)  # a read would wait for a writer until the timeout
    assert code == 1, stderr
    assert f"{where}: error: a named pipe, not a regular file" in stderr


@pytest.mark.parametrize(
    "where",
    [
        "content/policy/030-zero.md",
        "policygen.yaml",
        "tenants/acme/tenant.yaml",
        "tenants/acme/content/policy/030-zero.md",
    ],
)
@pytest.mark.slow
def test_a_link_to_dev_zero_is_never_read(tmp_path: Path, where: str) -> None:
    project = small_project(tmp_path)
    link = project / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to("/dev/zero")
    code, stderr, _ = bounded_build(project)  # reading it would never end, or end in MemoryError
    assert code == 1, stderr
    assert f"{where}: error: " in stderr
    assert "internal error" not in stderr


@pytest.mark.slow
def test_a_link_to_dev_zero_nobody_uses_is_not_read_either(tmp_path: Path) -> None:
    project = small_project(tmp_path)
    (project / "tenants/acme/zero").symlink_to("/dev/zero")  # hashed by where it points, never opened
    code, stderr, _ = bounded_build(project)
    assert code == 0, stderr


# --- tags that would run code ----------------------------------------------------------------------

PAYLOADS = [
    "!!python/object/apply:os.system [{command}]",
    "!!python/object/new:os.system [{command}]",
    "!!python/name:os.system",
    "!!python/object:os.system {{}}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize(
    "file, template, args",
    [
        ("tenants/acme/tenant.yaml", None, ["build", "--out", "{out}"]),
        (
            "content/policy/030-evil.md",
            "---\nid: evil\ntitle: Evil\norder: {value}\n---\nText.\n",
            ["build", "--out", "{out}"],
        ),
        ("policygen.yaml", "title: {value}\n", ["build", "--out", "{out}"]),
        ("rules.yaml", "notice_days: {value}\n", ["diff", "acme"]),
    ],
)
def test_a_python_tag_in_any_yaml_file_runs_no_code(
    tmp_path: Path, payload: str, file: str, template: str | None, args: list[str]
) -> None:
    project = small_project(tmp_path)
    marker = tmp_path / "ran"
    value = payload.format(command=f"'touch {marker}'")
    target = project / file
    if template is None:
        text = target.read_text(encoding="utf-8").replace("effective: 2026-04-01", f"effective: {value}")
    else:
        text = template.format(value=value)
    target.write_text(text, encoding="utf-8")
    out = tmp_path / "site"
    result = CliRunner().invoke(cli, ["-C", str(project), *(a.replace("{out}", str(out)) for a in args)])
    assert result.exit_code == 1, result.output
    assert f"{file}:" in result.stderr and "is not allowed" in result.stderr
    assert not marker.exists(), "a YAML tag ran a command"
    assert not out.exists()


# --- the shared helpers ----------------------------------------------------------------------------


def test_read_bytes_refuses_a_folder_and_a_file_over_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 11)
    with pytest.raises(InputError) as folder:
        read_bytes(tmp_path)
    assert folder.value.problems[0].message == "a folder, not a regular file"
    with pytest.raises(InputError) as large:
        read_bytes(big, limit=10)
    assert large.value.problems[0].message == "file is 11 bytes, larger than the 10 bytes policygen reads"
    assert read_bytes(big, limit=11) == b"x" * 11


def test_a_file_that_grew_since_its_stat_is_read_whole_and_still_refused_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grown = tmp_path / "grown.yaml"
    grown.write_bytes(bytes(range(256)) * 800)  # 204,800 bytes: past the stat's 10 and several pieces on
    # The stat read_bytes took says 10 bytes, as if the file grew after it (the system's own stat is left alone).
    monkeypatch.setattr(inputs, "read_open", lambda fd, limit, size: filebytes.read_open(fd, limit, 10))
    assert read_bytes(grown) == grown.read_bytes()
    # Past the limit, what was read stops one byte after it, which read_bytes refuses with the size read.
    fd = os.open(grown, os.O_RDONLY)
    try:
        assert filebytes.read_open(fd, 150_000, 10) == grown.read_bytes()[:150_001]
    finally:
        os.close(fd)
    monkeypatch.setattr(inputs, "read_open", lambda fd, limit, size: b"x" * (limit + 1))
    with pytest.raises(InputError) as large:
        read_bytes(tmp_path / "grown.yaml", limit=300_000)
    assert large.value.problems[0].message == "file is 300001 bytes, larger than the 300000 bytes policygen reads"


def test_reading_a_small_file_takes_memory_for_its_bytes_not_for_the_limit(tmp_path: Path) -> None:
    small = tmp_path / "tenant.yaml"
    small.write_text("slug: x\n" * 100)
    tracemalloc.start()
    try:
        assert read_bytes(small) == small.read_bytes()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024  # a buffer of the limit's 2 MB for each file read, before


def test_a_releases_folder_linked_out_of_the_project_is_named_by_the_link(tmp_path: Path) -> None:
    project = small_project(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    releases = project / "tenants/acme/releases"
    releases.symlink_to(outside)
    assert link_out(project, releases / "policy" / "v1.json") == releases  # not yet there: checked through its parents
    with pytest.raises(InputError) as refused:
        ensure_inside(project, releases / "policy", "the releases folder")
    problem = refused.value.problems[0]
    assert problem.file == releases
    assert problem.message.startswith("the releases folder is reached through a symbolic link out of the project")


def test_links_that_stay_inside_the_project_are_fine(tmp_path: Path) -> None:
    project = small_project(tmp_path)
    (project / "tenants/acme/shared").symlink_to(project / "content")
    assert link_out(project, project / "tenants/acme/shared/policy/010-about.md") is None
    assert link_out(project, project / "tenants/acme/releases/policy") is None  # does not exist yet
    ensure_inside(project, project / "rules.yaml", "rules.yaml")


# --- properties ------------------------------------------------------------------------------------

# YAML's own punctuation, tags, anchors and merge keys, plus any character at all.
yamlish = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "\n",
                "  ",
                "- ",
                ": ",
                "[",
                "]",
                "{",
                "}",
                ",",
                "&a ",
                "*a",
                "<<: ",
                "!!int ",
                "!!bool ",
                "!!timestamp ",
                "!!python/object:os.system ",
                "!x ",
                "'",
                '"',
                "#",
                "0",
                "017",
                "0x1f",
                "true",
                "2026-02-30",
                "\\u0000",
                "organisation",
                "dates",
                "effective",
                "min_age",
                "~",
                "|",
                ">",
            ]
        ),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(yamlish)
def test_any_tenant_file_is_read_or_refused_with_located_problems(tmp_path: Path, text: str) -> None:
    file = tmp_path / "tenant.yaml"
    file.write_text(text, encoding="utf-8")
    try:
        read_tenant(file)
    except InputError as exc:
        assert exc.problems and all(p.file == file for p in exc.problems)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(), st.text())
def test_a_printed_problem_has_no_control_characters_whatever_it_quotes(message: str, key: str, value: str) -> None:
    problem = Problem(
        f"'{value}' {message}",
        file=Path("t.yaml"),
        line=1,
        column=1,
        key_path=key or None,
        expected="some text",
        suggestion=value,
    )
    lines = problem.format().split("\n")
    assert len(lines) == 2 + bool(value) + value.count("\n")  # only the report's own line breaks, and the hint's
    for line in lines:
        # Control, format (bidi, zero-width), surrogate, private-use, unassigned, line and paragraph separators.
        assert not [ch for ch in line if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}], line
