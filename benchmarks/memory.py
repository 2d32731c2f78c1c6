"""Peak memory of a cold build by tenant count: does it grow with the number of tenants?

    python benchmarks/memory.py --counts 1000 10000 100000

For each count, a project of that many small tenants (copies of the example-fitness tenant, one
document) is built cold by `policygen build` in a fresh process, and the peak resident set size
(RSS) of the build process and of its largest worker process is printed, with the peak per tenant.
Then one tenant is edited and the project built again in another fresh process, twice: the peaks of
those rebuilds' processes are printed too (a rebuild reads what the previous build left: its manifest,
the cache; the first after a cold build links every unchanged file, a later one keeps the unchanged
folders of the spare output whole and holds a record of each until the stamp). Then once more with a
file of the output touched first, as a CI cache restored leaves it: its stamp no longer matches, so every
file reused is read and checked against the manifest. A build that streams has a flat curve; one that
holds the site in memory grows with the count.

    python benchmarks/memory.py --counts 2000 8000 --traced

also traces the cold build's Python allocations (tracemalloc) and prints their peak: what the build itself
holds at once, where the resident memory counts the C allocator's heap around it too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from compiled import compile_policygen

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "tenants" / "example-fitness" / "tenant.yaml"

# Runs in the measured process: the build, then its own peak RSS and its largest child's (kB on Linux), and with
# "traced" the peak of what Python allocated during the build (bytes, tracemalloc: the build's objects, not the
# interpreter's modules nor the C allocator's heap around them).
MEASURE = """
import json, resource, sys, tracemalloc
from pathlib import Path
from policygen.engine import build
from policygen.site import BuildOptions
import datetime as dt
traced = sys.argv[2:] == ["traced"]
if traced:
    tracemalloc.start()
build(Path(sys.argv[1]), None, BuildOptions(today=dt.date(2026, 11, 22)))
print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  tracemalloc.get_traced_memory()[1] if traced else None]))
"""


def make_project(root: Path, count: int) -> None:
    for name in ("content", "themes"):
        shutil.copytree(REPO / name, root / name)
    text = SEED.read_text(encoding="utf-8")
    for i in range(count):
        folder = root / "tenants" / f"t{i:06d}"
        folder.mkdir(parents=True)
        (folder / "tenant.yaml").write_text(text.replace("display_name: ", f"display_name: No. {i} ", 1), "utf-8")


class Peaks(NamedTuple):
    """What one build's processes peaked at."""

    main: int  # the build process's resident memory, kB
    worker: int  # its largest child's, kB
    traced: int | None  # with tracing: what Python allocated during the build, at most at once, bytes


@dataclass(frozen=True)
class Measured:
    cold: Peaks
    seconds: float  # the cold build's wall time (slower when traced)
    rebuilds: tuple[int, int, int]  # the build process's peak (kB): the first rebuild, a later one, output touched


def measure(count: int, tmp: Path | None, traced: bool) -> Measured:
    """The cold build's peaks, its wall time, and the build process's peaks in the first and in a later rebuild after
    one tenant's edit, and in one after an edit with the output touched since its build."""
    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        root = Path(folder) / "project"
        make_project(root, count)
        started = time.perf_counter()
        cold = peaks(root, traced)
        seconds = time.perf_counter() - started
        facts = root / "tenants" / f"t{0:06d}" / "tenant.yaml"
        # As a person edits and builds: a manifest written in the last two seconds is read whole and hashed
        # (statcache.SameBytes), one older told unchanged by its stat and only its tenants read.
        rebuilds = []
        for touched in (False, False, True):
            time.sleep(2.5)
            if touched:  # its stamp no longer matches (a CI cache restored): every file reused is checked
                os.utime(root / "build" / "t000001" / "index.html")
            facts.write_text(
                facts.read_text(encoding="utf-8").replace("display_name: ", "display_name: Edited ", 1), "utf-8"
            )
            rebuilds.append(peaks(root, traced=False).main)
    return Measured(cold, seconds, (rebuilds[0], rebuilds[1], rebuilds[2]))


def peaks(root: Path, traced: bool) -> Peaks:
    """A build of *root* in a fresh process, and what its processes peaked at."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(root), *(["traced"] if traced else [])],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    main, worker, allocated = json.loads(done.stdout.strip().splitlines()[-1])
    return Peaks(int(main), int(worker), None if allocated is None else int(allocated))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--tmp", type=Path, default=None, help="where the projects go (default: system temp)")
    parser.add_argument(
        "--traced",
        action="store_true",
        help="also trace the cold build's Python allocations (tracemalloc): its own objects' peak, beside the "
        "resident memory, which counts the allocator's heap too (the cold build is slower so)",
    )
    args = parser.parse_args()
    compile_policygen()
    print(
        "tenants    build process peak   largest worker peak   per tenant (build process)   wall time"
        "   one-tenant rebuild's process peak: first, later, output touched"
        + ("   cold build's traced peak" if args.traced else "")
    )
    for count in args.counts:
        found = measure(count, args.tmp, args.traced)
        first, later, touched = found.rebuilds
        traced = "" if found.cold.traced is None else f"   {found.cold.traced / 2**20:12.1f} MB"
        print(
            f"{count:>7,}    {found.cold.main / 1024:12.0f} MB     {found.cold.worker / 1024:12.0f} MB       "
            f"{found.cold.main / count:10.1f} kB                {found.seconds:7.1f} s   {first / 1024:12.0f} MB,"
            f" {later / 1024:.0f} MB, {touched / 1024:.0f} MB{traced}",
            flush=True,
        )


if __name__ == "__main__":
    main()
