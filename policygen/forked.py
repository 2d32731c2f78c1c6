"""A child process forked beside the build: when forking is safe, the child's message, and its end.

The output's stamp check (stampcheck.py) and the new stamp's walk (statcache.Stamp.walk) each fork a child
for part of their work, and the build's workers start as forked copies of the build (engine.start_method):
they all ask here whether a fork is safe, and the first two read and write their messages and end their
children here."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

MOST = 1 << 28  # bytes: more is not a message a child of policygen's wrote (a site's top-level names are a few MB)


def fork_is_safe() -> bool:
    """On Linux (elsewhere system libraries may not survive a fork), while this process runs no other thread
    (a forked copy of a thread's held lock is never released; serve runs threads)."""
    return sys.platform == "linux" and threading.active_count() == 1


def read_all(fd: int) -> bytes | None:
    """What the child sent through the pipe *fd*, to its end; None past what a child sends (MOST)."""
    parts: list[bytes] = []
    size = 0
    while part := os.read(fd, 1 << 16):
        parts.append(part)
        size += len(part)
        if size > MOST:
            return None
    return b"".join(parts)


def write_all(fd: int, data: bytes) -> None:  # pragma: no cover - in the child
    """*data* sent through the pipe *fd*, which is then closed: the parent reads to its end."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)


def end(pid: int) -> None:
    """Kill the child *pid* if it still runs (its work is not wanted), and wait for it: no zombie is left."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
