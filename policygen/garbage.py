"""When a worker process collects its cyclic garbage: between tenants, not while it renders one.

Python's collector, left to itself, runs every 700 containers made: hundreds of times in one tenant's render,
and every tenth or hundredth time through older objects too, a worker's kept clause renders among them (about
4% of a build worker's time, docs/performance.md). A build's or a check's pool worker starts with the collector
off (`start`), what it inherited set aside, and collects after each tenant (`tenant_by_tenant`): what a render made
and let go is young when the render ends, so collecting the youngest generation frees it; every FULL_EVERY tenants
a full collection frees anything older too. A render's garbage is bounded by that one render."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from typing import TypeVar

Item = TypeVar("Item")
Done = TypeVar("Done")

FULL_EVERY = 500  # tenants between full collections

_done = 0  # tenants this process has finished


def start() -> None:
    """Make this process (a pool's worker, just started) collect only when told. What it holds now (the build
    process's objects, forked, or its imports) lives as long as it does: set aside, never looked through."""
    gc.disable()
    gc.freeze()


def tenant_by_tenant(work: Callable[[Item], Done], tenants: Iterable[Item]) -> list[Done]:
    """*work* done for each of *tenants* in turn, what each left in cycles freed before the next."""
    global _done
    done = []
    for tenant in tenants:
        done.append(work(tenant))
        _done += 1
        gc.collect(2 if _done % FULL_EVERY == 0 else 0)
    return done
