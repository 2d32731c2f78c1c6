"""The site index is written by a child forked when the site-wide files begin, while the build writes the feed, the
sitemap and the manifest (engine.SiteIndexBeside): the same bytes as when the build writes it itself, which it
does where fork is not safe or the child fails, and a theme's error in it is reported as before."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import many_tenants
from helpers import edit

from policygen import engine
from policygen.engine import Builder
from policygen.errors import InputError
from policygen.site import BuildOptions

TODAY = BuildOptions(today=dt.date(2026, 11, 22))


def _site(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _rendering_index_logs_its_process(monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
    """engine.site_index, noting the process that runs it in *log* (a child's note is a line of the file too)."""
    render = engine.site_index

    def noted(*args: Any, **kwargs: Any) -> Any:
        with log.open("a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        return render(*args, **kwargs)

    monkeypatch.setattr(engine, "site_index", noted)


def _built(project: Path, out: Path) -> dict[str, bytes]:
    Builder(project, out, TODAY).build()
    return _site(out)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(engine, "fork_is_safe", lambda: sys.platform == "linux")  # pytest may hold other tests' threads
    monkeypatch.setattr(engine, "INDEX_BESIDE_MIN_TENANTS", 6)
    return many_tenants(tmp_path / "project", 6)


def test_a_child_writes_the_site_index_and_the_site_is_the_one_the_build_writes_alone(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "index.log"
    _rendering_index_logs_its_process(monkeypatch, log)
    beside = _built(project, tmp_path / "beside")
    assert [int(pid) for pid in log.read_text().split()] != [os.getpid()]
    assert len(log.read_text().split()) == 1

    log.unlink()
    with monkeypatch.context() as no_fork:
        no_fork.setattr(engine, "fork_is_safe", lambda: False)
        alone = _built(project, tmp_path / "alone")
    assert [int(pid) for pid in log.read_text().split()] == [os.getpid()]
    assert beside == alone
    assert beside["index.html"].count(b"<li>") == 6  # every tenant listed


def test_a_child_that_fails_leaves_the_site_index_to_the_build(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(render: Callable[[], Any]) -> bytes:
        raise RuntimeError("the child fails")

    alone = _built(project, tmp_path / "alone")
    monkeypatch.setattr(engine, "_index_beside", failing)
    log = tmp_path / "index.log"
    _rendering_index_logs_its_process(monkeypatch, log)
    assert _built(project, tmp_path / "after-failure") == alone
    assert [int(pid) for pid in log.read_text().split()] == [os.getpid()]


def test_a_theme_error_in_the_site_index_is_located_and_keeps_the_previous_output(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    before = _built(project, out)
    edit(project / "themes/default/templates/index.html", "{{ tenant.name }}", "{{ tenant.name.nope.deeper }}")
    with pytest.raises(InputError) as failed:
        Builder(project, out, TODAY).build()
    problem = failed.value.problems[0]
    assert problem.file is not None and problem.file.name == "index.html"
    assert problem.line is not None
    assert _site(out) == before


def test_a_site_smaller_than_a_fork_is_worth_writes_its_index_in_the_build_process(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "INDEX_BESIDE_MIN_TENANTS", 7)  # one more than the project has
    log = tmp_path / "index.log"
    _rendering_index_logs_its_process(monkeypatch, log)
    _built(project, tmp_path / "out")
    assert [int(pid) for pid in log.read_text().split()] == [os.getpid()]
