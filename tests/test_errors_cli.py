"""How the command line reports failures: exit codes, no tracebacks unless --debug."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import many_tenants

from policygen.cli import cli, long_lived
from policygen.errors import Problem, merged


def policygen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "policygen", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def break_tenant(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    facts.write_text(
        facts.read_text(encoding="utf-8").replace("organisation:\n", "organisation:\n  legal_nme: x\n", 1),
        encoding="utf-8",
    )


@pytest.mark.slow
def test_bad_input_exits_1_without_a_traceback(project: Path, tmp_path: Path) -> None:
    break_tenant(project)
    result = policygen("-C", str(project), "build", "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "tenants/ims-pro/tenant.yaml:" in result.stderr and "did you mean 'legal_name'?" in result.stderr
    assert result.stderr.rstrip().endswith("1 problem found; nothing was written.")


@pytest.mark.slow
def test_debug_shows_the_traceback(project: Path, tmp_path: Path) -> None:
    break_tenant(project)
    result = policygen("--debug", "-C", str(project), "build", "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "InputError" in result.stderr
    assert "did you mean 'legal_name'?" in result.stderr  # the message comes first, then the traceback


@pytest.mark.slow
def test_bad_usage_exits_2(project: Path) -> None:
    result = policygen("-C", str(project), "build", "--tenant", "../../etc")
    assert result.returncode == 2
    assert result.stderr.startswith("error: '../../etc' is not a tenant slug")
    assert "Traceback" not in result.stderr


def test_a_bug_is_reported_as_one_line_with_exit_3(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import policygen.engine

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(policygen.engine, "build", broken)
    result = CliRunner().invoke(cli, ["-C", str(project), "build"], prog_name="policygen")
    assert result.exit_code == 3
    assert result.stderr == (
        "error: internal error (RuntimeError: boom); this is a bug in policygen. "
        "Run again with --debug for the traceback.\n"
    )
    debug = CliRunner().invoke(cli, ["--debug", "-C", str(project), "build"], prog_name="policygen")
    assert isinstance(debug.exception, RuntimeError)


@pytest.mark.slow
def test_an_output_folder_under_a_file_is_bad_usage(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = policygen("-C", str(project), "build", "--out", str(blocker / "site"))
    assert result.returncode == 2
    assert result.stderr == f"error: the output folder cannot be made: {blocker} is a file\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where nobody can create folders")
@pytest.mark.slow
def test_a_folder_the_build_cannot_write_is_one_clear_line(project: Path) -> None:
    result = policygen("-C", str(project), "build", "--out", "/proc/policygen-site")
    assert result.returncode == 1
    assert result.stderr == "error: No such file or directory: /proc/.policygen-site.policygen-new\n"


def test_problems_format_as_file_line_column_key_path_message_expected_hint(tmp_path: Path) -> None:
    problem = Problem(
        "unknown key 'x'",
        file=tmp_path / "t.yaml",
        line=3,
        column=5,
        key_path="a.b",
        expected="one of: y, z",
        suggestion="did you mean 'y'?\nor 'z'",
    )
    assert problem.format(tmp_path) == (
        "t.yaml:3:5: error: a.b: unknown key 'x'\n"
        "    expected: one of: y, z\n"
        "    hint: did you mean 'y'?\n"
        "          or 'z'"
    )


@pytest.mark.slow
@pytest.mark.parametrize("buffered", [True, False])
def test_a_reader_that_went_away_ends_the_command_quietly_as_sigpipe_would(
    project: Path, tmp_path: Path, buffered: bool
) -> None:
    """`policygen build | head -1`: the build is done; its closed output is no error to report."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if buffered:
        env.pop("PYTHONUNBUFFERED", None)  # the lines fail at the end, when flushed
    else:
        env["PYTHONUNBUFFERED"] = "1"  # the first line fails as it is printed
    with os.fdopen(write_end, "wb") as stdout:
        ended = subprocess.run(
            [sys.executable, "-m", "policygen", "-C", str(project), "build", "--out", str(tmp_path / "out")],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert ended.returncode == 141  # 128 + SIGPIPE, as `yes | head -1` gives
    assert ended.stderr == ""
    assert (tmp_path / "out" / "index.html").is_file()


# --- the end of the process (cli.exit_now) -------------------------------------------------------------


def exit_now_in_child(body: str) -> subprocess.CompletedProcess[str]:
    """A Python process that runs *body*, then ends as the command line ends: cli.exit_now(code)."""
    script = f"import sys\nfrom policygen.cli import exit_now\n{body}"
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}  # stdout buffered
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, env=env
    )


@pytest.mark.slow
@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (1, 1), (2, 2), ("a message", 1)])
def test_the_process_ends_with_the_status_sys_exit_would_give(code: object, status: int) -> None:
    ended = exit_now_in_child(f"exit_now({code!r})")
    assert ended.returncode == status
    assert ended.stderr == ("a message\n" if code == "a message" else "")


@pytest.mark.slow
def test_output_written_before_the_end_is_flushed_and_exit_handlers_run() -> None:
    ended = exit_now_in_child(
        "import atexit\n"
        "atexit.register(lambda: print('handler ran', flush=True))\n"
        "sys.stdout.write('unflushed line\\n')\n"
        "exit_now(0)"
    )
    assert ended.stdout == "unflushed line\nhandler ran\n" and ended.returncode == 0


@pytest.mark.slow
def test_a_thread_that_is_not_a_daemon_is_waited_for_before_the_end() -> None:
    ended = exit_now_in_child(
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done', flush=True))).start()\n"
        "exit_now(0)"
    )
    assert ended.stdout == "thread done\n"


@pytest.mark.slow
def test_output_that_cannot_be_flushed_at_the_end_gives_the_status_python_gives() -> None:
    ended = exit_now_in_child("import os\nsys.stdout.write('text')\nos.close(1)\nexit_now(0)")  # stdout is gone
    assert ended.returncode == 120


# --- objects that live to the end of the process (cli.long_lived) -------------------------------------


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # what a test set aside goes back to the collector: the test process lives on


def test_what_is_made_long_lived_is_set_aside_from_collections_and_the_collector_runs_again(unfrozen: None) -> None:
    with long_lived():
        assert not gc.isenabled()  # no collection while the modules are imported
        made = {"a module's": ["objects"]}
    assert gc.isenabled()
    assert gc.is_tracked(made)
    assert not any(seen is made for seen in gc.get_objects())  # no generation holds it: a collection skips it


def test_a_failed_import_still_turns_the_collector_back_on(unfrozen: None) -> None:
    with pytest.raises(ImportError), long_lived():
        import policygen.no_such_module  # noqa: F401
    assert gc.isenabled()


def test_a_clause_that_does_not_compile_is_one_problem_however_many_tenants_use_it(tmp_path: Path) -> None:
    project = many_tenants(tmp_path / "project", 70)  # enough for the build's worker processes
    clause = project / "content/privacy-policy/005-at-a-glance.md"
    lines = clause.read_text(encoding="utf-8").count("\n")
    clause.write_text(clause.read_text(encoding="utf-8") + "{% if %}\n", encoding="utf-8")
    built = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", "2026-11-22"])
    assert built.exit_code == 1
    where = f"content/privacy-policy/005-at-a-glance.md:{lines + 1}: error: template syntax error"
    assert built.output.count(where) == 1
    assert "(found 70 times)" in built.output and built.output.endswith("1 problem found; nothing was written.\n")
    checked = CliRunner().invoke(cli, ["-C", str(project), "check", "--format", "json"])
    assert checked.exit_code == 1
    (problem,) = json.loads(checked.output)["problems"]
    assert problem["file"] == "content/privacy-policy/005-at-a-glance.md" and problem["times"] == 70


def test_problems_alike_are_merged_and_counted_and_others_kept_apart() -> None:
    broken = Problem("template syntax error", Path("c.md"), 3)
    other = Problem("template syntax error", Path("c.md"), 4)
    assert merged([broken, other, broken, broken]) == [replace(broken, times=3), other]
    assert merged([replace(broken, times=2), broken]) == [replace(broken, times=3)]
    assert replace(broken, times=3).format() == "c.md:3: error: template syntax error (found 3 times)"
    assert broken.format() == "c.md:3: error: template syntax error"
