"""A build's tenant files reach the disk while its site-wide files are made, not all at once before the swap.

The kernel keeps written files in memory for up to 30 seconds; the syncfs before the swap (which makes the
new site durable before it becomes visible) then waited for every file of a cold build at once, on one core.
output.flushing starts that writing from a thread while the build makes the site-wide files; the syncfs before
the swap still runs, and finds less left.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import many_tenants

from policygen import engine, output
from policygen.engine import Builder
from policygen.site import BuildOptions

TODAY = dt.date(2026, 11, 22)


def recording_syncfs(answer: int = 0) -> tuple[list[tuple[str, int]], Callable[[int], int]]:
    """A stand-in for syncfs that records, for each call, the calling thread's name and the inode of the folder
    whose file system it flushes; and answers *answer* (0: done, -1: failed)."""
    calls: list[tuple[str, int]] = []

    def syncfs(fd: int) -> int:
        calls.append((threading.current_thread().name, os.fstat(fd).st_ino))
        return answer

    return calls, syncfs


def flush_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "policygen-flush"]


def test_the_folders_file_system_is_flushed_once_by_a_thread_that_has_ended_on_leaving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, syncfs = recording_syncfs()
    monkeypatch.setattr(output, "_syncfs", syncfs)
    with output.flushing(tmp_path):
        pass
    assert calls == [("policygen-flush", tmp_path.stat().st_ino)]
    assert not flush_threads()


def test_a_flush_that_fails_is_left_to_the_sync_before_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, syncfs = recording_syncfs(answer=-1)
    monkeypatch.setattr(output, "_syncfs", syncfs)
    with output.flushing(tmp_path):
        pass
    assert len(calls) == 1 and not flush_threads()


def test_without_syncfs_no_thread_is_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "_syncfs", None)  # not Linux: each process syncs the files it wrote

    def no_thread(*_: object, **__: object) -> None:
        raise AssertionError("a thread started")

    monkeypatch.setattr(output.threading, "Thread", no_thread)
    with output.flushing(tmp_path):
        pass


def test_an_error_inside_waits_for_the_flush_and_goes_on_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, syncfs = recording_syncfs()
    monkeypatch.setattr(output, "_syncfs", syncfs)
    with pytest.raises(KeyError), output.flushing(tmp_path):
        raise KeyError("a site-wide file that failed")
    assert len(calls) == 1 and not flush_threads()


@pytest.mark.parametrize("tenants", [6, engine.PARALLEL_MIN_TENANTS + 6], ids=["in this process", "in workers"])
def test_a_build_flushes_its_staging_folder_beside_the_site_wide_files_then_syncs_it_before_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tenants: int
) -> None:
    project = many_tenants(tmp_path / "project", tenants)
    calls, syncfs = recording_syncfs()
    monkeypatch.setattr(output, "_syncfs", syncfs)
    Builder(project, tmp_path / "out", BuildOptions(today=TODAY, jobs=2)).build()
    staging = (tmp_path / "out").stat().st_ino  # swapped in as the output: the same folder, the same inode
    # Once beside, and once by the build itself before the swap (the word that counts), no other: no thread
    # ran while the workers were forked.
    assert calls == [("policygen-flush", staging), ("MainThread", staging)]
    assert not flush_threads()
