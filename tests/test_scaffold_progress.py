"""Progress and output levels: a bar on a terminal for long builds, quiet in CI; -q/-v on every command."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from policygen.cli import cli
from policygen.engine import Builder
from policygen.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_for_long_builds() -> None:
    stream = Terminal()
    with ProgressBar("Building", enabled=True, stream=stream, minimum=3) as bar:
        for done in range(1, 6):
            bar(done, 5)
    assert "Building" in stream.getvalue() and "5/5" in stream.getvalue()


def test_progress_bar_is_silent_in_ci_logs_quiet_mode_and_short_builds() -> None:
    for stream, enabled, total in ((io.StringIO(), True, 50), (Terminal(), False, 50), (Terminal(), True, 2)):
        with ProgressBar("Building", enabled=enabled, stream=stream, minimum=3) as bar:
            for done in range(1, total + 1):
                bar(done, total)
        assert stream.getvalue() == ""


def test_the_build_reports_progress_through_its_callback_and_prints_nothing(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[int, int]] = []
    Builder(project, tmp_path / "out", progress=lambda done, total: calls.append((done, total))).build()
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    "args",
    [
        ["build", "--quiet"],
        ["build", "-q"],
        ["-q", "build"],
        ["check", "ihm-connect", "--quiet"],
        ["schema", "--quiet"],
    ],
)
def test_quiet_is_accepted_before_or_after_any_command(project: Path, tmp_path: Path, args: list[str]) -> None:
    if "build" in args:
        args = [*args, "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, ["-C", str(project), *args])
    assert result.exit_code == 0, result.output
    if "schema" not in args:
        assert result.output == ""


def test_verbose_after_the_command_lists_every_file(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--out", str(tmp_path / "out"), "--verbose"])
    assert result.exit_code == 0 and "ims-pro/privacy-policy/index.html" in result.output


def test_every_command_accepts_quiet_and_verbose() -> None:
    for name, command in cli.commands.items():
        opts = {opt for p in command.params for opt in getattr(p, "opts", [])}
        assert {"--quiet", "--verbose"} <= opts, name


def test_quiet_and_verbose_together_is_a_usage_error(project: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(project), "-q", "build", "-v"])
    assert result.exit_code == 2 and "contradict" in result.output
