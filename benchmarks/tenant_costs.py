"""Where one build worker's time goes, per tenant: CPU by stage of a cold render, in one process.

    python benchmarks/tenant_costs.py --tenants 1000 --sample 200
    python benchmarks/tenant_costs.py --tenants 1000 --sample 100 --profile worker.prof

Makes `build_speed.py`'s project (copies of the example tenants), renders a few tenants first (so
the templates are compiled and the renderer's reuse is warm, as in a worker that has rendered
some), then renders every N-th tenant into an empty output folder in this process (`jobs=1`: what
one worker process does for its tenants), and prints the user and system CPU per tenant and each
stage's own CPU (a stage's time excludes the stages inside it). With --profile, the same render
runs under cProfile instead (which doubles the Python parts) and the profile is saved for pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from build_speed import make_project, set_aside  # noqa: E402

from policygen import engine, site, theme  # noqa: E402
from policygen.site import BuildOptions  # noqa: E402

# (object holding the function, its name, the stage it stands for)
STAGES: list[tuple[Any, str, str]] = [
    (engine, "load_tenant_source", "read and validate the facts"),
    (engine, "load_histories", "read released versions"),
    (engine, "put_folder", "write the tenant's files"),
    (site, "render_tenant_documents", "clauses (every language)"),
    (site.DocumentPages, "render", "document pages, less the theme"),
    (site, "app_outputs", "app snippets and labels, less the theme"),
    (site, "tenant_feeds", "tenant feeds"),
    (site, "tenant_indexes", "tenant indexes, less the theme"),
    (theme.SiteTheme, "render", "theme templates (pages and snippets)"),
    (engine.Step, "render", "the rest of a tenant's render"),
]


def timed_stages() -> dict[str, float]:
    """Wrap each stage's function so that its own CPU time (less the stages it calls) is added up."""
    spent: dict[str, float] = defaultdict(float)
    inner: list[float] = []

    def wrap(function: Callable[..., Any], stage: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            inner.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                took = time.process_time() - start
                spent[stage] += took - inner.pop()
                if inner:
                    inner[-1] += took

        return timed

    for owner, name, stage in STAGES:
        setattr(owner, name, wrap(getattr(owner, name), stage))
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000, help="tenants in the generated project")
    parser.add_argument("--sample", type=int, default=200, help="tenants rendered and measured (evenly spread)")
    parser.add_argument("--profile", type=Path, help="run under cProfile and save the profile here")
    args = parser.parse_args()
    today = dt.date(2026, 12, 4)
    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "project", Path(tmp) / "out"
        make_project(root, args.tenants)
        slugs = sorted(p.name for p in (root / "tenants").iterdir())
        sample = slugs[:: max(1, len(slugs) // args.sample)][: args.sample]
        builder = engine.Builder(root, out, BuildOptions(tenants=slugs[1::50], today=today, jobs=1))
        builder.build()  # warm: templates compiled, some renders kept for reuse
        for folder in (out, root / ".cache"):
            set_aside(folder, Path(tmp) / "aside")
        builder.options = BuildOptions(tenants=sample, today=today, jobs=1)
        spent = timed_stages() if args.profile is None else {}
        profiler = cProfile.Profile() if args.profile is not None else None
        before = resource.getrusage(resource.RUSAGE_SELF)
        if profiler is not None:
            profiler.enable()
        builder.build()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        after = resource.getrusage(resource.RUSAGE_SELF)
    count = len(sample)
    user = (after.ru_utime - before.ru_utime) * 1000 / count
    system = (after.ru_stime - before.ru_stime) * 1000 / count
    print(f"{count} of {args.tenants} tenants in one process: {user:.2f} ms user + {system:.2f} ms system per tenant")
    for stage, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {stage:40} {seconds * 1000 / count:6.2f} ms")


if __name__ == "__main__":
    main()
