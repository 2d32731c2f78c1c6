"""Work done for each tenant in turn, in worker processes when there are many: what `check`, `translations` and
`upgrade-diff` read, render and compare of a project, a tenant at a time.

A command that looks at every tenant hands its per-tenant work here (`each_tenant`) and takes back what each
tenant's work returned, in the tenants' order, as it comes: it keeps what it needs of each (findings, clause
sources, a comparison) and lets the tenant go, so its memory does not grow with the project. On several cores and
from PARALLEL_MIN_TENANTS tenants, workers forked from the command's process do the work, a batch of tenants at a
time, with a few batches in flight. (The build has its own pool in engine.py: its workers write pages and send
back records that the build's placing of outputs needs as they come.)"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from . import garbage
from .forked import start_method

Done = TypeVar("Done")

# Worker processes pay off only past some tenants: each starts in ~0.3 s and makes the library itself (unless forked).
PARALLEL_MIN_TENANTS = 64

CHUNK_TENANTS = 8  # at most, per batch a worker does and sends back: the caller waits on the slowest batch
IN_FLIGHT = 2  # batches sent to the workers and not yet taken back, per worker


def each_tenant(
    work: Callable[[str], Done], slugs: Sequence[str], ahead: Callable[[], None] | None = None
) -> Iterator[Done]:
    """What *work* returns for each of *slugs*, in their order: done here, or, for many tenants on several cores, by
    worker processes. *work* is sent to them: forked copies of this process have it as it is; a fork server's
    (where fork is not safe: forked.start_method) unpickle it, so it must pickle. *ahead*, when given, is called
    before workers are forked, to make here what every worker would otherwise make for itself (a compiled library)."""
    jobs = os.cpu_count() or 1
    if jobs < 2 or len(slugs) < PARALLEL_MIN_TENANTS:
        yield from (work(slug) for slug in slugs)
        return
    method = start_method()
    if method == "fork" and ahead is not None:
        ahead()
    chunks = (list(slugs[i : i + CHUNK_TENANTS]) for i in range(0, len(slugs), CHUNK_TENANTS))
    context = multiprocessing.get_context(method)
    # Imported here: the build imports this module for PARALLEL_MIN_TENANTS, and a build that starts no pool (a
    # one-tenant rebuild) would pay the import for nothing (engine.py imports it the same way).
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init, initargs=(work,)) as pool:
        # A few batches in flight, never all: a batch's results wait in this process until it takes them, and
        # workers faster than it (on a busy machine) would otherwise pile up every tenant's.
        flight = deque(pool.submit(_worker_run, chunk) for chunk in itertools.islice(chunks, IN_FLIGHT * jobs))
        while flight:
            done = flight.popleft().result()
            flight.extend(pool.submit(_worker_run, chunk) for chunk in itertools.islice(chunks, 1))
            yield from done


_work: Callable[[str], Any] | None = None  # in a worker: the work it was started with


def _worker_init(work: Callable[[str], Any]) -> None:
    global _work
    _work = work
    garbage.start()  # collected between tenants (_worker_run)


def _worker_run(slugs: list[str]) -> list[Any]:
    assert _work is not None
    return garbage.tenant_by_tenant(_work, slugs)
