"""`policygen check`, and the other commands that read every tenant, on many tenants: their time against a cold
build of the same project, and their memory.

    python benchmarks/check_speed.py --tenants 300 1000 --runs 3
    python benchmarks/check_speed.py --tenants 1000 10000 --commands translations upgrade-diff

For each count, a project of that many tenants (variations of the example tenants, as build_speed.py makes
them) is checked by `policygen check --format json` (or each of --commands, in JSON) in a fresh process, and
built cold by `policygen build` in another. Printed: the medians of their wall times and their ratio (a check
renders every page a build does, then reads them: it cannot be cheaper than a cold build; `translations` and
`upgrade-diff` only read each tenant, and compare the released ones), and the peak resident set size of the
command's process and of its largest worker process, with the command's process's per tenant. A command that
streams has a flat memory curve; one that holds every tenant grows with the count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.build_speed import make_project, set_aside  # noqa: E402
from benchmarks.compiled import compile_policygen  # noqa: E402

TODAY = "2026-11-22"

# Runs in the measured process: the command, then its own peak RSS and its largest child's (kB on Linux).
MEASURE = """
import json, resource, sys
from policygen.cli import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]), file=sys.stderr)
"""


def run(args: list[str]) -> tuple[float, int, int]:
    """*args* of policygen in a fresh process: its wall time, its peak RSS and its largest child's (kB)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, cwd=REPO, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # check exits 1 when it finds errors
        raise SystemExit(done.stderr)
    main, worker = json.loads(done.stderr.strip().splitlines()[-1])
    return seconds, int(main), int(worker)


COMMANDS = {
    "check": ["check", "--format", "json", "--today", TODAY],
    "translations": ["translations", "--format", "json"],
    "upgrade-diff": ["upgrade-diff", "--format", "json"],
}


def measure(count: int, commands: list[str], runs: int, tmp: Path | None) -> None:
    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        root = Path(folder) / "project"
        make_project(root, count)
        found: dict[str, list[tuple[float, int, int]]] = {command: [] for command in commands}
        builds = []
        for _ in range(runs):
            for command in commands:
                found[command].append(run(["-C", str(root), *COMMANDS[command]]))
            set_aside(root / "build", Path(folder) / "aside")
            set_aside(root / ".cache", Path(folder) / "aside")
            builds.append(run(["-C", str(root), "-q", "build", "--today", TODAY])[0])
            set_aside(root / "build", Path(folder) / "aside")
            set_aside(root / ".cache", Path(folder) / "aside")
        build_s = statistics.median(builds)
        for command, runs_of in found.items():
            seconds = statistics.median(r[0] for r in runs_of)
            main_kb = max(r[1] for r in runs_of)
            worker_kb = max(r[2] for r in runs_of)
            print(
                f"{count:>7,}   {command:<12}   {seconds:8.2f} s   {build_s:8.2f} s   {seconds / build_s:6.2f}x   "
                f"{main_kb / 1024:8.0f} MB   {worker_kb / 1024:8.0f} MB   {main_kb / count:8.1f} kB",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--commands", nargs="+", choices=sorted(COMMANDS), default=["check"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tmp", type=Path, default=None, help="where the projects go (default: system temp)")
    args = parser.parse_args()
    compile_policygen()
    print("tenants   command            time   cold build    ratio   its peak   worker peak   per tenant (its process)")
    for count in args.tenants:
        measure(count, args.commands, args.runs, args.tmp)


if __name__ == "__main__":
    main()
