"""A stamp's walk shared by two processes (policygen/statcache.py: Stamp.walk with shared=True): past a few
hundred top-level names a forked child walks the later half into an unnamed file while the build walks the
first, and the build copies the child's half after its own. The stamp is byte for byte the one a walk in
one process writes, kept folders included; whatever goes wrong in the child, the build walks that half
itself; where fork is not safe, nothing is forked."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from policygen import forked, prebuild, statcache

TENANTS = [f"tenant-{i:03d}" for i in range(12)]


def site(folder: Path) -> Path:
    """An output of a dozen tenant folders, each with nested folders, and two site files."""
    for path in ("index.html", "manifest.json"):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(path, encoding="utf-8")
    for tenant in TENANTS:
        for path in ("index.html", "privacy-policy/index.html", "privacy-policy/v1/index.html"):
            (folder / tenant / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / tenant / path).write_text(f"{tenant}/{path}", encoding="utf-8")
    return folder


NAMES = ["index.html", "manifest.json", *TENANTS]


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Walks shared past two names, forking as the command line would (the test process may run threads:
    the browser tests' servers). Each group walked is noted with the process that walked it, in the file
    returned (a child's copy of a list in memory would not be seen)."""
    monkeypatch.setattr(statcache, "WALK_SHARED_MIN", 2)
    monkeypatch.setattr(statcache, "fork_is_safe", lambda: sys.platform == "linux")
    log = tmp_path / "walked-by"
    real = statcache._walked_group

    def noted(out: Path, name: str) -> Any:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {name}\n")
        return real(out, name)

    monkeypatch.setattr(statcache, "_walked_group", noted)
    return log


def walkers(log: Path) -> dict[str, int]:
    return {name: int(pid) for pid, name in (line.split() for line in log.read_text().splitlines())}


def kept_whole(out: Path, previous: Path, names: list[str]) -> statcache.Kept:
    """The folders *names* of *out* kept whole from the build whose stamp is *previous*, as a build records them."""
    matched = statcache.Stamp.check(out, previous)
    assert matched is not None
    folders = {
        name: statcache.folders_seen(str(out), [name, f"{name}/privacy-policy", f"{name}/privacy-policy/v1"])
        for name in names
    }
    return statcache.Kept(previous, matched.proof, {name: found[1] for name, found in folders.items() if found})


@pytest.mark.skipif(sys.platform != "linux", reason="shared only where fork is safe: Linux")
def test_a_stamp_walked_by_two_processes_is_the_stamp_one_process_walks(tmp_path: Path, forking: Path) -> None:
    out = site(tmp_path / "out")
    statcache.Stamp.walk(out, NAMES, tmp_path / "alone.stamp")
    forking.unlink()
    assert statcache.Stamp.walk(out, NAMES, tmp_path / "shared.stamp", shared=True) == []
    assert (tmp_path / "shared.stamp").read_bytes() == (tmp_path / "alone.stamp").read_bytes()
    walked = walkers(forking)
    ordered = sorted(walked)
    assert len(walked) == len(NAMES) + 1  # each group once, the output folder's own too
    assert len(set(walked.values())) == 2 and walked[ordered[-1]] != os.getpid()  # the later half by another
    assert statcache.Stamp.matches(out, tmp_path / "shared.stamp")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no file left behind


@pytest.mark.skipif(sys.platform != "linux", reason="shared only where fork is safe: Linux")
def test_the_child_takes_kept_folders_from_the_previous_stamp_as_one_process_would(
    tmp_path: Path, forking: Path
) -> None:
    out = site(tmp_path / "out")
    previous = tmp_path / "previous.stamp"
    statcache.Stamp.walk(out, NAMES, previous)
    time.sleep(0.05)
    kept_names = [TENANTS[1], TENANTS[-1]]  # one in each half
    kept = kept_whole(out, previous, kept_names)
    assert len(kept.folders) == 2
    alone = statcache.Stamp.walk(out, NAMES, tmp_path / "alone.stamp", kept)
    shared = statcache.Stamp.walk(out, NAMES, tmp_path / "shared.stamp", kept, shared=True)
    assert alone == shared == kept_names  # in the stamp's order, each once
    assert all(name is sys.intern(name) for name in shared)  # the child's are the build's strings, not copies
    assert (tmp_path / "shared.stamp").read_bytes() == (tmp_path / "alone.stamp").read_bytes()


def test_a_walk_of_few_groups_besides_the_kept_ones_is_not_shared(
    tmp_path: Path, forking: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = site(tmp_path / "out")
    previous = tmp_path / "previous.stamp"
    statcache.Stamp.walk(out, NAMES, previous)
    time.sleep(0.05)
    kept = kept_whole(out, previous, TENANTS[1:])  # a later rebuild: one tenant rendered, the rest kept whole
    monkeypatch.setattr(statcache, "WALK_SHARED_MIN", 5)  # 4 groups to walk: the folder, two files, one tenant
    forking.unlink(missing_ok=True)
    assert statcache.Stamp.walk(out, NAMES, tmp_path / "later.stamp", kept, shared=True) == TENANTS[1:]
    assert sorted(walkers(forking)) == sorted([statcache.HERE, "index.html", "manifest.json", TENANTS[0]])
    assert set(walkers(forking).values()) == {os.getpid()}  # no process forked for them


@pytest.mark.skipif(sys.platform != "linux", reason="shared only where fork is safe: Linux")
def test_a_child_that_fails_leaves_its_half_to_the_build_and_the_stamp_is_the_same(
    tmp_path: Path, forking: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = site(tmp_path / "out")
    statcache.Stamp.walk(out, NAMES, tmp_path / "alone.stamp")
    forking.unlink()
    monkeypatch.setattr(statcache, "_walk_half", lambda *_: os._exit(3))
    statcache.Stamp.walk(out, NAMES, tmp_path / "shared.stamp", shared=True)
    assert (tmp_path / "shared.stamp").read_bytes() == (tmp_path / "alone.stamp").read_bytes()
    assert set(walkers(forking).values()) == {os.getpid()}  # every group walked by the build itself


def test_nothing_is_forked_where_fork_is_not_safe_or_the_names_are_few(
    tmp_path: Path, forking: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = site(tmp_path / "out")
    monkeypatch.setattr(statcache, "fork_is_safe", lambda: False)
    statcache.Stamp.walk(out, NAMES, tmp_path / "threads.stamp", shared=True)
    assert set(walkers(forking).values()) == {os.getpid()}
    forking.unlink()
    monkeypatch.setattr(statcache, "fork_is_safe", lambda: True)
    monkeypatch.setattr(statcache, "WALK_SHARED_MIN", len(NAMES) + 2)
    statcache.Stamp.walk(out, NAMES, tmp_path / "few.stamp", shared=True)
    assert set(walkers(forking).values()) == {os.getpid()}
    assert (tmp_path / "few.stamp").read_bytes() == (tmp_path / "threads.stamp").read_bytes()


def test_the_real_rule_forks_only_on_linux_while_no_other_thread_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not forked.fork_is_safe()
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert forked.fork_is_safe() == (sys.platform == "linux")
    assert statcache.fork_is_safe is prebuild.fork_is_safe is forked.fork_is_safe  # one rule for every fork
