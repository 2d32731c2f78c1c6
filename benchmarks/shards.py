"""A whole build against the same site built in shards, one after another, and merged.

    python benchmarks/shards.py --tenants 300 --shards 2 --runs 3

Each run makes a fresh synthetic project (build_speed.make_project), then times, as separate
`policygen` processes with cold outputs: one build of every tenant; each `build --shard K/N`;
`merge` of the shards. It checks the merged site is byte-identical to the whole build, and prints
the median wall times: the whole build, the shards one after another plus the merge (one machine),
and the slowest shard plus the merge (what a CI matrix with one machine per shard waits for).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from build_speed import make_project
from compiled import compile_policygen

TODAY = "2026-06-01"


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "policygen", "--quiet", *args], check=True)
    return time.perf_counter() - start


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def one_run(tenants: int, shards: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        make_project(root, tenants)
        (root / "policygen.yaml").write_text("base_url: https://policies.example.org/\n", encoding="utf-8")
        project = ("-C", str(root))
        whole = timed(*project, "build", "--today", TODAY, "--out", f"{tmp}/whole")
        parts = [
            timed(*project, "build", "--today", TODAY, "--shard", f"{k}/{shards}", "--out", f"{tmp}/shard-{k}")
            for k in range(1, shards + 1)
        ]
        merge = timed(*project, "merge", *(f"{tmp}/shard-{k}" for k in range(1, shards + 1)), "--out", f"{tmp}/merged")
        if files(Path(tmp) / "whole") != files(Path(tmp) / "merged"):
            sys.exit("the merged site differs from the whole build")
        return {
            "whole build": whole,
            "shards in turn + merge": sum(parts) + merge,
            "slowest shard + merge": max(parts) + merge,
            "merge alone": merge,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=300)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    compile_policygen()
    runs = [one_run(args.tenants, args.shards) for _ in range(args.runs)]
    print(f"{args.tenants} tenants, {args.shards} shards, median of {args.runs} runs (merged site byte-identical)")
    whole = statistics.median(r["whole build"] for r in runs)
    for name in runs[0]:
        seconds = statistics.median(r[name] for r in runs)
        print(f"  {name:24} {seconds:7.2f} s   {seconds / whole:5.2f}x the whole build")


if __name__ == "__main__":
    main()
