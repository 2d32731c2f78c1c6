"""A build's memory does not grow with the site by a record of each file: what the build process holds
grows by a few small things per tenant (docs/performance.md, "Memory"), never by the tenant's files."""

from __future__ import annotations

import datetime as dt
import gc
import json
import subprocess
import sys
import time
import tracemalloc
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, many_tenants

from policygen import engine, output, statcache, theme
from policygen.engine import build
from policygen.errors import UsageError
from policygen.site import BuildOptions
from policygen.statcache import TopHashes
from policygen.theme import SiteTheme

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))

# Runs in a fresh process (so that no earlier test's objects count): a cold build of the project, with the
# build process's allocations traced; prints the peak of what it held at once, in bytes.
TRACED_BUILD = """
import datetime as dt, sys, tracemalloc
from pathlib import Path
from policygen import feeds, output
from policygen.engine import build
from policygen.site import BuildOptions
# What is written a batch at a time is held a batch at a time, what a spool or the parts' cache hold is held up
# to a budget, a chunk of tenants' results waits whole for the chunk before it: smaller batches, budgets and
# chunks here, so that both sites measured fill them (each is a fixed amount, not a part of the site). The
# stamp's walk, shared with a second process past a few hundred tenants, copies that one's half in a fixed
# buffer of 1 MB: not shared here, so that the larger site alone does not hold that buffer.
output.WRITE_BATCH, feeds.XML_BATCH = 1 << 14, 16
from policygen import engine, fragments, spool, statcache
spool.BUDGET, fragments.HELD_BUDGET, engine.CHUNK_TENANTS = 1 << 14, 1 << 14, 2
statcache.WALK_SHARED_MIN = 1 << 30
# The worker pool's modules, which a build imports when it starts a pool: once, whatever the tenants' count.
from concurrent.futures import ProcessPoolExecutor
# Compiling the library and the theme ahead of the workers holds a few MB for a moment, whatever the tenants'
# count: more than a small site's build holds later, so the peak is counted from its end.
compile_ahead = engine.compile_ahead
def compiled_ahead(*args):
    compile_ahead(*args)
    tracemalloc.reset_peak()
engine.compile_ahead = compiled_ahead
tracemalloc.start()
build(Path(sys.argv[1]), None, BuildOptions(today=dt.date(2026, 11, 22)))
print(tracemalloc.get_traced_memory()[1])
"""

# A tenant of the example has about 30 files (pages, snippets, feeds, labels, version.json). A build
# that kept a record of each (path, kind, dates, hash, size, stat: a few hundred bytes) grew by 10 kB or
# more per tenant; the build process now keeps a tenant's key, index entry and feed entries, which
# measure about 1.3 kB per tenant here (the example's names and titles are short).
MAX_BYTES_PER_TENANT = 4 * 1024


def traced_peak(project: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", TRACED_BUILD, str(project)], capture_output=True, text=True, cwd=REPO, check=True
    )
    return int(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_the_build_process_holds_no_record_of_each_file_of_the_site(tmp_path: Path) -> None:
    small, large = 70, 280  # both rendered by worker processes, as a large site's are
    peaks = {count: traced_peak(many_tenants(tmp_path / str(count), count)) for count in (small, large)}
    per_tenant = (peaks[large] - peaks[small]) / (large - small)
    assert per_tenant < MAX_BYTES_PER_TENANT, f"{per_tenant:.0f} bytes more per tenant ({peaks})"


def test_the_site_index_is_written_as_it_is_made_never_whole_and_is_the_page_render_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 5)
    whole = build(project, tmp_path / "whole", OPTIONS)
    real = SiteTheme.render

    def render(theme: SiteTheme, template: str, **context: object) -> bytes:
        assert template != "index.html", "the site index rendered whole"
        return real(theme, template, **context)

    monkeypatch.setattr(SiteTheme, "render", render)
    streamed = build(project, tmp_path / "streamed", OPTIONS)
    index = (streamed.out / "index.html").read_bytes()
    assert index == (whole.out / "index.html").read_bytes() and index.count(b'<li><a href="') == 5


def test_the_site_index_comes_a_batch_of_its_pieces_at_a_time_and_is_the_page_render_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 5)
    whole = build(project, tmp_path / "whole", OPTIONS).out / "index.html"
    batches: list[bytes] = []
    real = SiteTheme.stream

    def stream(site_theme: SiteTheme, template: str, **context: object) -> Iterator[bytes]:
        for batch in real(site_theme, template, **context):
            batches.append(batch)
            yield batch

    monkeypatch.setattr(SiteTheme, "stream", stream)
    monkeypatch.setattr(engine.SiteIndexBeside, "start", lambda *args: None)  # rendered here, where batches are seen
    counts = []
    for size in (1, 4):  # a piece a batch (how many pieces the page has), then four
        monkeypatch.setattr(theme, "STREAM_PIECES", size)
        batches.clear()
        streamed = build(project, tmp_path / f"streamed-{size}", OPTIONS).out / "index.html"
        assert b"".join(batches) == streamed.read_bytes() == whole.read_bytes()
        counts.append(len(batches))
    assert counts[0] > 5 * 4 and counts[1] == -(-counts[0] // 4)


def test_a_streamed_file_of_many_small_parts_is_written_holding_few_of_them(tmp_path: Path) -> None:
    parts = [b"<li>%d</li>" % i for i in range(60_000)]  # a site index's parts are a few bytes each
    tracemalloc.start()
    try:
        written = output.write_streamed(tmp_path / "index.html", iter(parts), output.Output("index.html", "index", b""))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (tmp_path / "index.html").read_bytes() == b"".join(parts) and written.size == len(b"".join(parts))
    # A megabyte of them at once (all of these) was joined with 80 bytes more each: 5 MB.
    assert peak < 1_000_000, peak


# Runs in a fresh process: the example tenants' documents rendered for tenants that differ in their legal name
# (every render that prints it is kept, never reused), all kept (no budget); prints what the renders kept since the
# first tenants (compiled, cached) hold, traced, and what the renderer counted of them against its budget.
TRACED_KEPT = """
import copy, gc, sys, tracemalloc, yaml
from pathlib import Path
from policygen import render
from policygen.facts import Tenant
from policygen.project import load_project
root = Path(sys.argv[1])
render.REUSE_BUDGET = 1 << 40
loaded = load_project(root)
library = loaded.library.documents
renderer = render.ClauseRenderer(loaded.content)
seeds = [yaml.safe_load((p / "tenant.yaml").read_text(encoding="utf-8")) for p in sorted((root / "tenants").iterdir())]

def documents(i):
    data = copy.deepcopy(seeds[i % len(seeds)])
    data["organisation"]["legal_name"] = f"Organisation {i} Ltd"
    tenant = Tenant.model_validate(data)
    for d in tenant.documents:
        render.render_document(renderer, "t", tenant, d.id, library[d.id].clauses, d.id)

for i in range(len(seeds)):
    documents(i)
tracemalloc.start()
gc.collect()
before, counted = tracemalloc.get_traced_memory()[0], renderer._kept
for i in range(len(seeds), len(seeds) + 60):
    documents(i)
gc.collect()
print(tracemalloc.get_traced_memory()[0] - before, renderer._kept - counted)
"""


@pytest.mark.slow
def test_what_a_renderer_keeps_for_reuse_holds_no_more_memory_than_its_budget_counts() -> None:
    # A worker renders tenant after tenant and keeps their clause renders up to REUSE_BUDGET, its largest holding.
    # Counted as characters of HTML alone, what it kept held five times the count (a record of every read).
    done = subprocess.run([sys.executable, "-c", TRACED_KEPT, str(REPO)], capture_output=True, text=True, check=True)
    held, counted = map(int, done.stdout.split())
    assert held > 100_000  # sixty tenants' renders were kept
    assert held <= counted <= 2 * held, (held, counted)


def test_a_pool_worker_frees_what_each_render_left_in_cycles_once_the_tenant_is_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A pool's worker runs without the automatic collector (it would run hundreds of times in each render and look
    # through all the worker holds): it collects between tenants, so a render's cyclic garbage never outlives it.
    class Cycle:
        """An object that holds itself: only the cyclic collector frees it."""

        def __init__(self) -> None:
            self.itself = self

    left: list[weakref.ref[Cycle]] = []

    class Render:
        def render(self, slug: str) -> list[Any]:
            left.append(weakref.ref(Cycle()))
            return []

    monkeypatch.setattr(engine, "_step", Render())
    was_enabled = gc.isenabled()
    gc.disable()  # as _pool_worker_init leaves a worker
    try:
        engine._worker_run([f"t{i}" for i in range(5)])
        assert len(left) == 5 and all(ref() is None for ref in left)
    finally:
        if was_enabled:
            gc.enable()


def own_names(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each tenant a build's engine yields: whether its name, and its result's, are this process's own
    strings (not an unpickled copy from another process, which would be kept to the end: written, the tally)."""
    real = engine.Builder._run
    own: list[bool] = []

    def run(
        builder: engine.Builder, step: engine.Step, total: int, lookups: engine.Lookups, placing: object
    ) -> Iterator[tuple[str, object]]:
        slugs = [*lookups.todo, *lookups.found]
        for slug, outcome in real(builder, step, total, lookups, placing):  # type: ignore[arg-type]
            named = isinstance(outcome, engine.TenantResult) and outcome.slug is slug
            own.append(any(slug is name for name in slugs) and named)
            yield slug, outcome

    monkeypatch.setattr(engine.Builder, "_run", run)
    return own


def test_the_names_of_tenants_rendered_by_workers_are_those_of_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 70)  # rendered by worker processes
    own = own_names(monkeypatch)
    build(project, None, BuildOptions(today=dt.date(2026, 11, 22), jobs=2))
    assert len(own) == 70 and all(own)


@pytest.mark.usefixtures("both_place")
def test_the_names_of_tenants_the_process_beside_the_build_rendered_or_placed_are_those_of_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 8)
    build(project, project / "build", BuildOptions(today=dt.date(2026, 11, 22)))
    own = own_names(monkeypatch)
    first = sorted(p.name for p in (project / "tenants").iterdir())[0]
    tenant = project / "tenants" / first / "tenant.yaml"
    tenant.write_text(tenant.read_text(encoding="utf-8").replace("display_name: ", "display_name: Edited ", 1))
    report = build(project, project / "build", BuildOptions(today=dt.date(2026, 11, 22)))
    assert report.rendered_tenants == [first] and len(own) == 8 and all(own)


@pytest.mark.usefixtures("both_place")
def test_the_names_a_rebuild_holds_of_its_tenants_until_the_stamp_are_one_string_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The output's stamp (a message from the process that checks it), the record of the spare's intact folders
    # (lines) and what the process beside the build placed (pickled) each name every tenant: read as they come,
    # each would be another copy of every name, held to the end of the build.
    project = many_tenants(tmp_path / "project", 8)
    options = BuildOptions(today=dt.date(2026, 11, 22))
    tenant = project / "tenants" / "example-fitness" / "tenant.yaml"
    held: dict[str, list[tuple[str, bool]]] = {"intact": [], "stamp": [], "whole": [], "done": []}  # of every build
    real_finish, real_take = output.SiteWriter.finish, output._take_intact

    # Whether each is the one string of its name, told while the build holds its own list of tenants.
    def finish(writer: output.SiteWriter, *args: Any, **kwargs: Any) -> None:
        for kind, names in {"stamp": writer._seen, "whole": writer.whole, "done": writer.done}.items():
            held[kind] += [(name, name is sys.intern(name)) for name in names]
        real_finish(writer, *args, **kwargs)

    def take_intact(spare: Path) -> TopHashes:
        intact = real_take(spare)  # asked for as each tenant is placed (SiteWriter.keep_intact), then let go
        held["intact"] += [(name, name is sys.intern(name)) for name in intact]
        return intact

    monkeypatch.setattr(output.SiteWriter, "finish", finish)
    monkeypatch.setattr(output, "_take_intact", take_intact)
    for edit in ("", "Edited ", "Edited again "):  # the third build finds a record of the second's intact folders
        time.sleep(2.1)  # past the racy margin: the folders are remembered (statcache.RACY_SECONDS)
        tenant.write_text(tenant.read_text(encoding="utf-8").replace("display_name: ", f"display_name: {edit}", 1))
        build(project, project / "build", options)
    unchanged = len(list((project / "tenants").iterdir())) - 1
    assert all(len(held[kind]) >= unchanged for kind in ("intact", "stamp", "whole")), held
    copies = {kind: [name for name, one in names if not one] for kind, names in held.items()}
    assert copies == {"intact": [], "stamp": [], "whole": [], "done": []}


def test_a_rebuild_tells_that_policygen_wrote_the_output_folder_without_reading_its_whole_manifest(
    tmp_path: Path,
) -> None:
    out = tmp_path / "build"
    out.mkdir()
    with open(out / "manifest.json", "wb") as f:
        f.write(b'{\n  "generator": "policygen",\n  "files": [')
        f.truncate(256 << 20)  # a site of about 30,000 tenants: 256 MB (sparse here: nothing past the mark)
    tracemalloc.start()
    try:
        assert output.check_out_dir(out, []) == out.resolve()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Read whole, it was the largest thing a one-tenant rebuild held: 131 MB at 10,000 tenants, 88 MB of it this.
    assert peak < 1 << 20, peak


@pytest.mark.parametrize("at", [0, 65_536 - 10, 65_536 - 1, 65_536, 3 * 65_536 + 7])
def test_the_mark_of_a_manifest_policygen_wrote_is_found_wherever_it_lies(tmp_path: Path, at: int) -> None:
    out = tmp_path / "build"
    out.mkdir()
    (out / "manifest.json").write_bytes(b" " * at + b'{"generator": "policygen"}')
    assert output.check_out_dir(out, []) == out.resolve()
    (out / "manifest.json").write_bytes(b" " * at + b'{"generator": "policygen?"}'[:-5])  # cut short of the mark
    with pytest.raises(UsageError, match="holds files policygen did not write"):
        output.check_out_dir(out, [])


def test_what_a_rebuild_holds_of_a_folder_kept_whole_until_the_stamp_does_not_grow_with_its_folders(
    tmp_path: Path,
) -> None:
    # One is held for each unchanged tenant of a rebuild: a count and two digests, not every folder's path.
    few, many = tmp_path / "few", tmp_path / "many"
    paths = {few: ["t"], many: ["t", *(f"t/{'deep-' * 8}{i}" for i in range(12))]}
    held = {}
    for top, folders in paths.items():
        for folder in folders:
            (top / folder).mkdir(parents=True)
        found = statcache.folders_seen(str(top), folders)
        assert found is not None
        seen = found[1]
        held[top] = sys.getsizeof(seen) + sum(sys.getsizeof(getattr(seen, name)) for name in seen.__slots__)
    assert held[many] == held[few] < 210  # its digests as bytes: as hex text, 48 bytes more each
