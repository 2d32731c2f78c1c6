"""Where one build's wall time goes: `policygen build` run as the command line runs it, each phase's start and end
printed as it happens, in milliseconds from the start.

    python benchmarks/phases.py PROJECT [policygen build options]

Use it on a project built before (a one-tenant rebuild: edit a tenant first) or with no output and no
`.cache/policygen` (a cold build). The engine's functions are wrapped as their modules are imported, so the
command line keeps its own order: the look-ahead process starts before the engine is imported, as it always does
(wrapping them after importing the engine first would time another build). Worker processes print when each
batch of tenants begins and ends, and each of their first tenants' render time (a worker's first tenant of each
kind costs what later ones reuse: docs/performance.md, "Where the remaining misses stand").

The names wrapped are the engine's own: a phase renamed in the code is left out here (and said so at the end)
until this list is updated. One run is one sample: compare runs side by side, on a quiet machine.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.append(str(REPO))  # after PYTHONPATH: another checkout's policygen may be timed

from compiled import compile_policygen  # noqa: E402  (imports no policygen)

START = time.perf_counter()  # CLOCK_MONOTONIC: the same clock in the forked workers
FIRST_TENANTS = 40  # a worker's tenants whose render time is printed

# Module -> (holder, name) of each function timed; holder "" is the module itself.
PHASES: dict[str, Sequence[tuple[str, str]]] = {
    "policygen.lastbuild": [("Inputs", "again")],
    "policygen.render": [("ClauseRenderer", "compile_clauses")],
    "policygen.theme": [("SiteTheme", "compile_templates")],
    "policygen.outfolder": [("", "record_stamp")],
    "policygen.output": [("SiteWriter", "finish")],
    "policygen.engine": [
        ("", "load_base"),
        ("Previous", "_take"),
        ("", "hash_folders"),
        ("prebuild", "taken"),
        ("Builder", "_lookups"),
        ("", "compile_ahead"),
        ("Builder", "_stream"),
        ("Builder", "assemble"),
        ("", "remember"),
    ],
}
missing: list[str] = []


def say(text: str) -> None:
    print(f"{(time.perf_counter() - START) * 1000:9.1f} ms  [{os.getpid()}] {text}", file=sys.stderr, flush=True)


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        say(f"> {name}")
        try:
            return function(*args, **kwargs)
        finally:
            say(f"< {name}")

    return run


def wrap(module: ModuleType, holder: str, name: str) -> None:
    owner = getattr(module, holder, None) if holder else module
    if owner is None or not callable(getattr(owner, name, None)):
        missing.append(f"{module.__name__}.{holder + '.' if holder else ''}{name}")
        return
    setattr(owner, name, timed(f"{holder + '.' if holder else ''}{name}", getattr(owner, name)))


def time_batches(garbage: ModuleType) -> None:
    """Each worker's batches, and its first tenants one by one (garbage.tenant_by_tenant runs every batch)."""
    batches = garbage.tenant_by_tenant
    rendered: list[str] = []

    def by_tenant(work: Callable[[Any], Any], tenants: Sequence[Any]) -> list[Any]:
        say(f"batch of {len(tenants)} begins")

        def one(tenant: Any) -> Any:
            began = time.perf_counter()
            done = work(tenant)
            if len(rendered) < FIRST_TENANTS:
                rendered.append(tenant)
                say(f"  {tenant}: {(time.perf_counter() - began) * 1000:.1f} ms")
            return done

        result = batches(one, tenants)
        say("batch ends")
        return result

    garbage.tenant_by_tenant = by_tenant


class Wrapping(importlib.abc.MetaPathFinder):
    """Wraps the phases of each module of PHASES once it is imported."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name not in PHASES and name != "policygen.garbage":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            say(f"imported {name}")
            if name == "policygen.garbage":
                time_batches(module)
            for holder, function in PHASES.get(name, ()):
                wrap(module, holder, function)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def main() -> None:
    if len(sys.argv) < 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: python benchmarks/phases.py PROJECT [policygen build options]")
    compile_policygen()
    global START
    START = time.perf_counter()  # from here: compiling policygen's modules is not the build's time
    os.chdir(sys.argv[1])
    sys.meta_path.insert(0, Wrapping())
    from policygen.cli import main as policygen

    say("command line imported")
    sys.argv = ["policygen", "build", *sys.argv[2:]]
    real_exit = os._exit

    def ending(code: int) -> None:  # the command line ends without Python's teardown
        say(f"end (exit {code})" + (f"; not found, so not timed: {', '.join(missing)}" if missing else ""))
        real_exit(code)

    os._exit = ending  # type: ignore[assignment]
    try:
        policygen()
    finally:
        say("end" + (f"; not found, so not timed: {', '.join(missing)}" if missing else ""))


if __name__ == "__main__":
    main()
