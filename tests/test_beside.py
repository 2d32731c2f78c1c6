"""One forked process works beside the build process (policygen/beside.py): it renders the few tenants to
render, then places unchanged tenants a chunk at a time as the build process does, each taking the next chunk
neither has taken. Every tenant's outcome comes back once, whichever process ended it; what the child's placing
changed is handed to the build process; the child's error is raised in the build process, a child that dies is
told, and leaving early leaves no child behind."""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from policygen import beside
from policygen.beside import Beside

UNCHANGED = [f"u{i:03d}" for i in range(60)]


class Noted:
    """Sides whose outcomes say which process ended them. With *wait*, each process's first placing waits for
    the other's (up to 30 s), so that both surely place some whichever takes a chunk first."""

    def __init__(self, folder: Path, must_render: frozenset[str] = frozenset(), wait: bool = True) -> None:
        self.here = os.getpid()
        self.folder = folder
        self.must_render = must_render
        self.wait = wait
        self.placed: list[str] = []  # in the child: since the last `taken`
        self.added: list[str] = []  # here: what the child said it placed

    def start(self) -> None:
        part = self.folder / "child.part"
        part.write_text(str(os.getpid()))
        part.rename(self.folder / "child")  # whole when it appears: a test waits for it to exist, then reads it

    def render(self, slug: str) -> str:
        return f"{slug} rendered by {os.getpid()}"

    def place(self, slug: str) -> str | None:
        mine, other = ("here", "child") if os.getpid() == self.here else ("child", "here")
        (self.folder / f"{mine} placing").touch()
        deadline = time.monotonic() + 30
        while self.wait and not (self.folder / f"{other} placing").exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        if slug in self.must_render:
            return None
        self.placed.append(slug)
        return f"{slug} placed by {os.getpid()}"

    def taken(self) -> list[str]:
        placed, self.placed = self.placed, []
        return placed

    def add(self, changes: list[str]) -> None:
        self.added.extend(changes)

    def child(self) -> int:
        return int((self.folder / "child").read_text())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_every_tenant_comes_once_whichever_process_ends_it_and_the_childs_changes_are_added(tmp_path: Path) -> None:
    sides = Noted(tmp_path)
    with Beside(sides, ["r1", "r2"], UNCHANGED) as working:
        outcomes = dict(working.outcomes())
    child = sides.child()
    assert sorted(outcomes) == sorted(["r1", "r2", *UNCHANGED])
    assert outcomes["r1"] == f"r1 rendered by {child}" and outcomes["r2"] == f"r2 rendered by {child}"
    by_child = {slug for slug, said in outcomes.items() if said == f"{slug} placed by {child}"}
    by_this = {slug for slug, said in outcomes.items() if said == f"{slug} placed by {os.getpid()}"}
    assert by_child and by_this and by_child | by_this == set(UNCHANGED)
    assert sorted(sides.added) == sorted(by_child)  # each chunk's changes with its outcomes, none twice
    assert gone(child)


def test_with_nothing_to_render_the_child_only_places(tmp_path: Path) -> None:
    sides = Noted(tmp_path)
    with Beside(sides, [], UNCHANGED) as working:
        outcomes = dict(working.outcomes())
    assert sorted(outcomes) == UNCHANGED
    assert any(said.endswith(f"placed by {sides.child()}") for said in outcomes.values())


def test_an_unchanged_tenant_that_cannot_be_placed_comes_as_none_for_the_caller_to_render(tmp_path: Path) -> None:
    sides = Noted(tmp_path, must_render=frozenset({"u000", "u059"}))
    with Beside(sides, ["r1"], UNCHANGED) as working:
        outcomes = dict(working.outcomes())
    assert outcomes["u000"] is None and outcomes["u059"] is None
    assert all(said is not None for slug, said in outcomes.items() if slug not in {"u000", "u059"})


class FailsInTheChild(Noted):
    def __init__(self, folder: Path, error: BaseException) -> None:
        super().__init__(folder, wait=False)
        self.error = error

    def render(self, slug: str) -> str:
        raise self.error


def test_an_error_in_the_child_is_raised_here_as_it_was_and_the_child_is_gone(tmp_path: Path) -> None:
    sides = FailsInTheChild(tmp_path, OSError(errno.ENOSPC, "No space left on device", "site/x.html"))
    with pytest.raises(OSError) as raised, Beside(sides, ["r1"], UNCHANGED) as working:
        list(working.outcomes())
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == "site/x.html"
    assert gone(sides.child())


def test_an_error_that_cannot_be_sent_as_it_is_is_raised_as_what_it_says(tmp_path: Path) -> None:
    class Local(Exception):  # a class pickle cannot name
        pass

    sides = FailsInTheChild(tmp_path, Local("the disk went away"))
    with pytest.raises(RuntimeError, match="Local: the disk went away"), Beside(sides, ["r1"], UNCHANGED) as working:
        list(working.outcomes())


class DiesInTheChild(Noted):
    def render(self, slug: str) -> str:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("killed")


def test_a_child_that_dies_is_told_and_not_waited_for(tmp_path: Path) -> None:
    sides = DiesInTheChild(tmp_path, wait=False)
    with (
        pytest.raises(ChildProcessError, match="ended without finishing"),
        Beside(sides, ["r1"], UNCHANGED) as working,
    ):
        list(working.outcomes())


class SlowInTheChild(Noted):
    def render(self, slug: str) -> str:
        time.sleep(60)
        return slug


def test_leaving_before_the_end_stops_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(beside, "CHUNK", 1)
    sides = SlowInTheChild(tmp_path, wait=False)
    started = time.monotonic()
    with Beside(sides, ["r1"], UNCHANGED) as working:
        first = next(iter(working.outcomes()))
        while not (tmp_path / "child").exists():  # it has started
            time.sleep(0.005)
    assert first[0] == "u000"
    assert time.monotonic() - started < 30
    assert gone(sides.child())


class DiesHoldingTheCounter(Noted):
    lock: Any = None

    def render(self, slug: str) -> str:
        self.lock.acquire()  # the counter's lock, as when taking a chunk
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("killed")


def test_a_child_that_dies_holding_the_counter_is_told_and_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(beside, "LOCK_WAIT", 0.05)
    sides = DiesHoldingTheCounter(tmp_path, wait=False)
    working = Beside(sides, ["r1"], UNCHANGED)
    sides.lock = working._next.get_lock()
    started = time.monotonic()
    with pytest.raises(ChildProcessError, match="ended without finishing"), working:
        deadline = time.monotonic() + 30
        while not (tmp_path / "child").exists() and time.monotonic() < deadline:  # it has started
            time.sleep(0.01)
        while not gone_or_zombie(sides.child()) and time.monotonic() < deadline:  # it has died, holding the lock
            time.sleep(0.01)
        list(working.outcomes())
    assert time.monotonic() - started < 30


def gone_or_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
