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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "tenants" / "example-fitness" / "tenant.yaml"

# Runs in the measured process: the build, then its own peak RSS and its largest child's (kB on Linux).
MEASURE = """
import json, resource, sys
from pathlib import Path
from policygen.engine import build
from policygen.site import BuildOptions
import datetime as dt
build(Path(sys.argv[1]), None, BuildOptions(today=dt.date(2026, 11, 22)))
print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))
"""


def make_project(root: Path, count: int) -> None:
    for name in ("content", "themes"):
        shutil.copytree(REPO / name, root / name)
    text = SEED.read_text(encoding="utf-8")
    for i in range(count):
        folder = root / "tenants" / f"t{i:06d}"
        folder.mkdir(parents=True)
        (folder / "tenant.yaml").write_text(text.replace("display_name: ", f"display_name: No. {i} ", 1), "utf-8")


def measure(count: int, tmp: Path | None) -> tuple[int, int, float, int, int, int]:
    """The cold build's peaks (build process, largest worker; kB), its wall time, and the peaks of the
    processes of the first and of a later rebuild after one tenant's edit, and of one after an edit with the
    output touched since its build (kB)."""
    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        root = Path(folder) / "project"
        make_project(root, count)
        started = time.perf_counter()
        main, worker = peaks(root)
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
            rebuilds.append(peaks(root)[0])
    return main, worker, seconds, rebuilds[0], rebuilds[1], rebuilds[2]


def peaks(root: Path) -> tuple[int, int]:
    """A build of *root* in a fresh process: the peak RSS of that process and of its largest child, in kB."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(root)], check=True, capture_output=True, text=True, cwd=REPO
    )
    main, worker = json.loads(done.stdout.strip().splitlines()[-1])
    return int(main), int(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--tmp", type=Path, default=None, help="where the projects go (default: system temp)")
    args = parser.parse_args()
    print(
        "tenants    build process peak   largest worker peak   per tenant (build process)   wall time"
        "   one-tenant rebuild's process peak: first, later, output touched"
    )
    for count in args.counts:
        main_kb, worker_kb, seconds, first_kb, later_kb, touched_kb = measure(count, args.tmp)
        print(
            f"{count:>7,}    {main_kb / 1024:12.0f} MB     {worker_kb / 1024:12.0f} MB       "
            f"{main_kb / count:10.1f} kB                {seconds:7.1f} s   {first_kb / 1024:12.0f} MB,"
            f" {later_kb / 1024:.0f} MB, {touched_kb / 1024:.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
