"""Build speed on a synthetic project of many tenants (variations of the example tenants).

    python benchmarks/build_speed.py --tenants 1000 --runs 3

Reports the median wall time of: a cold build (empty output), a no-change rebuild,
a rebuild after editing one tenant (the first after the cold build, which has no spare
output to update yet, and a later one), and after editing one library clause, with the
number of pages each re-rendered; each edit 2.5 s after the build before it, as a person
edits. Run it on a quiet machine; compare ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from policygen.engine import Builder  # noqa: E402
from policygen.site import BuildOptions  # noqa: E402


def make_project(root: Path, count: int) -> None:
    for name in ("content", "themes"):
        shutil.copytree(REPO / name, root / name)
    seeds = sorted(p for p in (REPO / "tenants").iterdir() if (p / "tenant.yaml").is_file())
    for i in range(count):
        seed = seeds[i % len(seeds)]
        folder = root / "tenants" / f"{seed.name}-{i:05d}"
        folder.mkdir(parents=True)
        text = (seed / "tenant.yaml").read_text(encoding="utf-8")
        (folder / "tenant.yaml").write_text(
            text.replace("display_name: ", f"display_name: No. {i} ", 1), encoding="utf-8"
        )


def set_aside(folder: Path, aside: Path) -> None:
    """Move *folder* (if there is one) into the folder *aside* instead of deleting it, to be deleted with the
    benchmark's temporary folder after every timed run. On ext4 without a journal (the machine these benchmarks
    were first run on), each inode a new file could take is first checked for a recent deletion (the kernel's
    recently_deleted: the last 60 to 360 seconds), so creating thousands of files soon after
    deleting thousands near them costs several times the system time: a cold build of 1,000 tenants measured
    1 s of system time after its old output was moved aside, 4 to 8 s right after it was deleted
    (docs/performance.md)."""
    if folder.exists():
        aside.mkdir(exist_ok=True)
        folder.rename(aside / f"{len(list(aside.iterdir()))}-{folder.name}")


def timed(builder: Builder) -> tuple[float, int]:
    start = time.perf_counter()
    report = builder.build()
    return time.perf_counter() - start, report.rendered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    args = parser.parse_args()
    results: dict[str, list[tuple[float, int]]] = {
        "cold": [],
        "no change": [],
        "first edit": [],
        "later edit": [],
        "one clause": [],
    }
    with tempfile.TemporaryDirectory() as tmp:  # every run's project kept to the end: see set_aside
        for run in range(args.runs):
            root = Path(tmp) / f"project-{run}"
            make_project(root, args.tenants)
            out = root / "build"
            options = BuildOptions(jobs=args.jobs)
            results["cold"].append(timed(Builder(root, out, options)))
            results["no change"].append(timed(Builder(root, out, options)))
            tenant = next((root / "tenants").iterdir()) / "tenant.yaml"
            for name in ("first edit", "later edit"):
                # Not within the 2 s after a build, whose output folders are not yet trusted by their stat.
                time.sleep(2.5)
                tenant.write_text(
                    tenant.read_text(encoding="utf-8").replace("display_name: ", "display_name: Edited ", 1),
                    encoding="utf-8",
                )
                results[name].append(timed(Builder(root, out, options)))
            time.sleep(2.5)
            clause = root / "content" / "data-deletion-policy" / "040-backups.md"
            clause.write_text(clause.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
            results["one clause"].append(timed(Builder(root, out, options)))
    print(f"{args.tenants} tenants, median of {args.runs} runs")
    for name, runs in results.items():
        seconds = statistics.median(t for t, _ in runs)
        print(f"  {name:11} {seconds * 1000:8.0f} ms   pages rendered: {runs[0][1]}")


if __name__ == "__main__":
    main()
