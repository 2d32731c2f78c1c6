"""A child forked for part of a build's work (policygen/forked.py): what it returns is its message; whatever
goes wrong in it is no message; it is always waited for."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from helpers import reaped

from policygen.forked import Child

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="policygen forks only on Linux")


def test_what_the_work_returns_is_the_message_and_the_child_is_waited_for() -> None:
    child = Child.start(lambda: b"a message" * 100_000)
    assert child is not None
    pid = child.pid
    assert child.message() == b"a message" * 100_000
    child.end()
    assert reaped(pid) and child.fd == -1


def _raises() -> bytes:
    raise RuntimeError("a bug")


@pytest.mark.parametrize(
    "work",
    [_raises, lambda: os._exit(0), lambda: os._exit(3), lambda: os.kill(os.getpid(), signal.SIGKILL)],
    ids=["raises", "exits at once, status 0", "exits with an error", "is killed"],
)
def test_a_child_that_fails_sends_no_message_and_is_waited_for(work: object) -> None:
    child = Child.start(work)  # type: ignore[arg-type]
    assert child is not None
    pid = child.pid
    assert child.message() is None
    child.end()
    assert reaped(pid)


def test_a_child_whose_work_is_not_wanted_is_killed_and_waited_for() -> None:
    child = Child.start(lambda: time.sleep(60) or b"")
    assert child is not None
    pid = child.pid
    child.end()
    assert reaped(pid) and child.pid == 0
