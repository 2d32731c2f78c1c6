"""One forked process working beside the build process, on a rebuild of a few tenants among many unchanged ones.

Such a rebuild has two large parts that need no order between them: rendering the few tenants, and placing
the unchanged ones in the new site (a tenant's folder of the spare kept whole, or its files linked from the
previous output). On two cores, `Beside` forks one child that renders the few and then places unchanged
tenants a chunk at a time, as the build process does from the start: each process takes the next chunk that
neither has taken (a counter in memory both share), so both cores work to the end however long the rendering
takes, and a first rebuild after a cold build (every unchanged file linked, no spare to keep whole) is shared
as evenly as a later one. The child sends what each chunk gave as it ends it; the build process takes that
between its own chunks, so neither holds every tenant's outcome.

The child is a copy of the build process: it has what that one loaded and compiled, and its open files. It
reads files by position only (policygen/spool.py), writes only inside its own tenants' folders of the staging
folder, and leaves by os._exit, so nothing of the build process's is flushed or closed twice. What placing
changed in the build's state (the writer's record of the folders placed) goes back with the outcomes
(`Sides.taken`, `Sides.add`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Generic, NoReturn, Protocol, TypeVar

T = TypeVar("T")  # a tenant's outcome
T_co = TypeVar("T_co", covariant=True)
C = TypeVar("C")  # what placing tenants changed in the build process's state

# Unchanged tenants a process takes at a time: about 2 ms of placing in a later rebuild, 10 ms in a first one,
# so that both processes end within a chunk of each other, and taking one (a lock) costs nothing beside it.
CHUNK = 16
LOCK_WAIT = 1.0  # seconds to wait for the other process to let go of the counter before looking whether it lives


class Sides(Protocol[T_co, C]):
    """What the two processes do: the child renders, both place."""

    def start(self) -> None:
        """In the child, first: be the process that renders."""

    def render(self, slug: str) -> T_co:
        """In the child: a tenant that must be rendered, rendered and written."""

    def place(self, slug: str) -> T_co | None:
        """In either: an unchanged tenant's outcome, its folder placed in the new site; None when it cannot be
        reused after all (the caller renders it, in the build process)."""

    def taken(self) -> C:
        """In the child: what placing changed in this process's state since the last call, to send."""

    def add(self, changes: C) -> None:
        """In the build process: what the child's placing changed (taken there), as if done here."""


@dataclass(frozen=True)
class _Done(Generic[T, C]):
    """Outcomes of the tenants *todo* (rendered) or *unchanged* (placed) from *start* on, in that order: the build
    process names them with its own names (an unpickled copy of each would be kept to the end of the build)."""

    rendered: bool
    start: int
    outcomes: list[T | None]
    changes: C | None


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class Beside(Generic[T, C]):
    """The child, while the `with` block runs (killed at its end if it has not finished); *outcomes* gives
    every tenant's, of *todo* (rendered by the child) and *unchanged* (placed by either)."""

    def __init__(self, sides: Sides[T, C], todo: Sequence[str], unchanged: Sequence[str]) -> None:
        self._sides = sides
        self._todo = todo
        self._unchanged = unchanged
        self._next = multiprocessing.get_context("fork").Value("q", 0)  # the first chunk not taken
        self._pid = 0  # the child's, in the build process
        self._parent = os.getpid()
        self._from_child: Connection | None = None
        self._ended = False

    def __enter__(self) -> Beside[T, C]:
        receive, send = multiprocessing.Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:
            receive.close()
            self._child(send)
        send.close()
        self._pid, self._from_child = pid, receive
        return self

    def __exit__(self, *exc: object) -> None:
        if self._from_child is not None:
            self._from_child.close()
        if self._pid:
            if not self._ended:  # the build failed or was stopped: the child's work is not wanted
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)  # it has sent its last word, or was killed: it is leaving
            self._pid = 0

    def outcomes(self) -> Iterator[tuple[str, T | None]]:
        """Each tenant's outcome as either process ends it: None for an unchanged tenant that must be rendered
        after all, by the caller."""
        while (index := self._take()) is not None:
            for slug in self._unchanged[index * CHUNK : (index + 1) * CHUNK]:
                yield slug, self._sides.place(slug)
            yield from self._received(wait=False)
        yield from self._received(wait=True)

    def _take(self) -> int | None:
        """The next chunk of the unchanged tenants that no process has taken, now taken; None past the last."""
        lock = self._next.get_lock()
        while not lock.acquire(timeout=LOCK_WAIT):
            self._check_the_other()  # a process killed while it held the lock never releases it
        try:
            index = self._next.value
            self._next.value = index + 1
        finally:
            lock.release()
        return index if index * CHUNK < len(self._unchanged) else None

    def _check_the_other(self) -> None:
        """Raise here when the child has ended; in the child, leave when the build process has."""
        if self._pid == 0:  # the child
            if os.getppid() != self._parent:
                os._exit(1)
        elif os.waitpid(self._pid, os.WNOHANG)[0] != 0:
            self._pid = 0  # reaped
            raise ChildProcessError("the process working beside the build ended without finishing")

    def _received(self, wait: bool) -> Iterator[tuple[str, T | None]]:
        """What the child sent (all it has to send, if *wait*); its error raised here."""
        assert self._from_child is not None
        while not self._ended and (wait or self._from_child.poll()):
            try:
                message = self._from_child.recv()
            except EOFError:
                raise ChildProcessError("the process working beside the build ended without finishing") from None
            if message is None:
                self._ended = True
            elif isinstance(message, _Failed):
                self._ended = True  # it is leaving
                raise message.error
            else:
                if message.changes is not None:
                    self._sides.add(message.changes)
                names = self._todo if message.rendered else self._unchanged
                yield from zip(
                    names[message.start : message.start + len(message.outcomes)], message.outcomes, strict=True
                )

    def _child(self, send: Connection) -> NoReturn:
        code = 0
        try:
            self._sides.start()
            for at, slug in enumerate(self._todo):
                send.send(_Done(True, at, [self._sides.render(slug)], None))
            while (index := self._take()) is not None:
                start = index * CHUNK
                outcomes = [self._sides.place(slug) for slug in self._unchanged[start : start + CHUNK]]
                send.send(_Done(False, start, outcomes, self._sides.taken()))
            send.send(None)
        except BaseException as exc:  # raised in the build process, which says it
            code = 1
            with contextlib.suppress(BaseException):
                send.send(_Failed(_sendable(exc)))
        finally:
            os._exit(code)  # nothing of the build process's (buffers, files, atexit) run again here


def _sendable(error: BaseException) -> BaseException:
    """*error*, or what it says if it cannot be sent as it is (pickled and read back the same)."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
