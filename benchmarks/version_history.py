"""Cost of a long version history: releasing, verifying and publishing many versions.

    python benchmarks/version_history.py --versions 100

Copies the example project, releases the privacy policy of Example Fitness (the fictional tenant that
carries the version-history demo) VERSIONS more times (each with a one-note edit), and reports the median
time per release, the time to load and verify the whole history, and a cold build of the site with drafts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from policygen.engine import build  # noqa: E402
from policygen.site import BuildOptions  # noqa: E402
from policygen.versions import load_releases, release  # noqa: E402

TENANT = "example-fitness"  # fictional: a real organisation's tenant publishes only what its source says


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        for name in ("content", "themes", "tenants"):
            shutil.copytree(REPO / name, root / name)
        facts = root / "tenants" / TENANT / "tenant.yaml"
        text = facts.read_text(encoding="utf-8")
        assert "\nnotes:" not in text  # the notes below are the tenant's only ones
        text += "\nnotes:\n"
        day = dt.date(2026, 4, 1)
        times: list[float] = []
        for i in range(args.versions):
            text += f"  - id: bench-{i}\n    clause: changes\n    text: Change number {i}.\n"
            facts.write_text(text, encoding="utf-8")
            start = time.perf_counter()
            release(root, TENANT, day + dt.timedelta(days=i), released=day)
            times.append(time.perf_counter() - start)
        folder = root / "tenants" / TENANT
        start = time.perf_counter()
        history = load_releases(folder, "privacy-policy")
        load = time.perf_counter() - start
        start = time.perf_counter()
        report = build(root, root / "build", BuildOptions(today=day + dt.timedelta(days=args.versions), drafts=True))
        cold = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (folder / "releases").rglob("*.json"))
        print(f"versions: {len(history)}, snapshots on disk: {size / 1e6:.1f} MB")
        print(f"release: median {statistics.median(times) * 1000:.0f} ms, last {times[-1] * 1000:.0f} ms")
        print(f"load and verify the history: {load * 1000:.0f} ms")
        print(f"cold build of the site: {cold:.2f} s, {len(report.outputs)} files")


if __name__ == "__main__":
    main()
