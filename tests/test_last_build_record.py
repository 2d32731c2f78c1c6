"""The record of the last whole-site build (policygen/lastbuild.py) lists every input path, two a tenant,
and a build holds it from before it reads its inputs to its end: the paths are held packed, listed without
holding them as they are found, and written to the record as they are held. A record that is damaged in
any way only means building as usual."""

from __future__ import annotations

import datetime as dt
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from policygen import lastbuild, outfolder, statcache
from policygen.engine import build
from policygen.site import BuildOptions

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))
TODAY = dt.date(2026, 11, 22)


def test_paths_are_given_back_as_they_were_packed_a_full_batch_at_a_time() -> None:
    paths = [f"tenants/t{i:05d}/tenant.yaml" for i in range(10_000)] + ["tenants/é", "tenants/\udcff-raw"]
    packed = lastbuild.PathList.of(paths)
    batches = list(packed.batches())
    assert [p for batch in batches for p in batch] == paths
    assert [len(b) for b in batches] == [lastbuild._BATCH] * 2 + [len(paths) - 2 * lastbuild._BATCH]
    assert len(packed.data) < 4 * len(paths)  # a few bytes a path, not 27 (and 60 more as str)
    assert list(lastbuild.PathList.of([]).batches()) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: lastbuild.PathList(p.data[: len(p.data) // 2], p.count),
        lambda p: lastbuild.PathList(p.data + b"more", p.count),
        lambda p: lastbuild.PathList(p.data, p.count + 1),
        lambda p: lastbuild.PathList(p.data, p.count - 1),
        lambda p: lastbuild.PathList(b"y" + p.data[1:], p.count),
    ],
    ids=["cut short", "bytes after", "more counted", "fewer counted", "not zlib"],
)
def test_packed_paths_that_are_not_what_was_packed_are_refused(
    damage: Callable[[lastbuild.PathList], lastbuild.PathList],
) -> None:
    packed = lastbuild.PathList.of([f"tenants/t{i}" for i in range(5000)])
    with pytest.raises(ValueError):
        list(damage(packed).batches())


def record_file(project: Path) -> Path:
    out = (project / "build").resolve()
    return outfolder.cache_record(outfolder.spare_folder(project, out), "build")


def test_a_damaged_record_means_building_as_usual(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)  # record the inputs however recently they changed
    build(project, project / "build", OPTIONS)
    record = record_file(project).read_bytes()
    assert lastbuild.nothing_changed(project, project / "build", TODAY, False) is not None
    head, _, packed = record.partition(b"\n")
    for damaged in (
        record[:-1],
        record + b"\0",
        head + b"\n" + packed[::-1],
        head.replace(b'"project": [', b'"project": [1') + b"\n" + packed,
        b'{"inputs": "x", "project": [], "code": [], "tenants": 1, "files": 1, "pages": 1}',  # an older record
        b"",
    ):
        record_file(project).write_bytes(damaged)
        assert lastbuild.nothing_changed(project, project / "build", TODAY, False) is None, damaged[:80]
    record_file(project).write_bytes(record)
    assert lastbuild.nothing_changed(project, project / "build", TODAY, False) is not None


def test_a_link_among_the_inputs_is_not_recorded(tmp_path: Path) -> None:
    (tmp_path / "tenants/a").mkdir(parents=True)
    (tmp_path / "tenants/a/logo.svg").symlink_to(tmp_path / "elsewhere.svg")
    assert lastbuild.Inputs.seen(tmp_path, TODAY, False) is None


def tenants(root: Path, count: int) -> Path:
    for i in range(count):
        folder = root / "tenants" / f"tenant-number-{i:06d}"
        folder.mkdir(parents=True)
        (folder / "tenant.yaml").write_text("x")
    return root


def seen_peak(root: Path) -> tuple[lastbuild.Inputs, int]:
    tracemalloc.start()
    try:
        seen = lastbuild.Inputs.seen(root, TODAY, False)
        assert seen is not None
        return seen, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_inputs_paths_are_listed_and_held_in_a_few_bytes_a_tenant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lastbuild, "_BATCH", 256)  # what is looked at or unpacked a batch at a time fills
    monkeypatch.setattr(lastbuild, "_UNPACK", 4096)  # its batch in both
    small, small_peak = seen_peak(tenants(tmp_path / "small", 500))
    large, large_peak = seen_peak(tenants(tmp_path / "large", 5000))
    assert large.listed[0].count == 2 * 5000 + 1
    assert len(large.listed[0].data) - len(small.listed[0].data) < 16 * 4500
    # As str in a tuple, two paths a tenant held 150 bytes a tenant, and listing them more: 700 kB here.
    assert large_peak - small_peak < 150_000, (small_peak, large_peak)
    assert sorted(p for b in large.listed[0].batches() for p in b) == sorted(
        [os.path.relpath(p, tmp_path / "large") for p in (tmp_path / "large/tenants").rglob("*")] + ["tenants"]
    )
