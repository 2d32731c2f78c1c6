"""A child process forked beside the build: when forking is safe, the work it does, its message, and its end.

The output's stamp check (stampcheck.py, and the grandchild it may share that check with) and the new stamp's
walk (statcache.Stamp.walk) each fork a child for part of their work, and the build's workers start as forked
copies of the build (start_method): they all ask here whether a fork is safe, and the first ones start
their children here (`Child.start`), take what they send and end them."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable

MOST = 1 << 28  # bytes: more is not a message a child of policygen's wrote (a site's top-level names are a few MB)
_DONE = b"done\n"  # what begins a message the work returned: a child that ends otherwise, even with status 0, sent none
_PR_SET_PDEATHSIG = 1  # Linux's prctl option: a signal sent to this process when its parent dies


def start_method() -> str:
    """How a pool's workers start (the build's, engine.py; check's and others', tenantpool.py): forked where it is
    safe (fork_is_safe), else by a fork server."""
    if fork_is_safe():
        return "fork"
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def fork_is_safe() -> bool:
    """On Linux (elsewhere system libraries may not survive a fork), while this process runs no other thread
    (a forked copy of a thread's held lock is never released; serve runs threads)."""
    return sys.platform == "linux" and threading.active_count() == 1


class Child:
    """A forked child doing some work, and the pipe its message (the work's bytes) comes through."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid  # 0: none to wait for
        self.fd = fd  # the pipe's end this process reads; -1: closed

    @classmethod
    def start(cls, work: Callable[[], bytes], die_with_parent: bool = False) -> Child | None:
        """*work* run in a forked child, which sends what it returns and leaves at once (os._exit: none of this
        process's exit handlers or buffered output runs twice); any failure in it, Ctrl-C too, ends it with a
        status `message` refuses. None when no child could be forked. *die_with_parent*: the child is killed
        when this process dies, even killed outright."""
        parent = os.getpid()
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return None
        if pid == 0:  # pragma: no cover - the child; coverage does not follow a fork
            code = 1
            try:
                os.close(read)
                if die_with_parent:
                    _die_with_parent(parent)
                _write_all(write, _DONE + work())
                code = 0
            except BaseException:  # anything means no message, which the status says
                pass
            finally:
                os._exit(code)
        os.close(write)  # so that the read end sees the message end when the child's end closes
        return cls(pid, read)

    def message(self) -> bytes | None:
        """What the child sent, once it has ended well; None when it failed, or sent more than a child sends
        (MOST: it may still be writing, and `end` kills it)."""
        if not self.pid:
            return None
        data = _read_all(self.fd)
        if data is None:
            return None
        status = os.waitpid(self.pid, 0)[1]
        self.pid = 0  # reaped: its number may be another process's from here
        if os.waitstatus_to_exitcode(status) != 0 or not data.startswith(_DONE):
            return None
        return data[len(_DONE) :]

    def end(self) -> None:
        """Kill the child if it still runs (its work is not wanted), wait for it (no zombie is left), close the pipe."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _read_all(fd: int) -> bytes | None:
    """What the child sent through the pipe *fd*, to its end; None past what a child sends (MOST)."""
    parts: list[bytes] = []
    size = 0
    while part := os.read(fd, 1 << 16):
        parts.append(part)
        size += len(part)
        if size > MOST:
            return None
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:  # pragma: no cover - in the child
    """*data* sent through the pipe *fd*, which is then closed: the parent reads to its end."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)


def _die_with_parent(parent: int) -> None:  # pragma: no cover - in the child
    """Be killed when the process *parent* dies (killed outright, it cannot end the child): a child waiting for
    the output's lock, which another build holds, must not outlive the build that wanted the answer."""
    import ctypes  # here: only a child that asks pays for it

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request
        os._exit(1)
