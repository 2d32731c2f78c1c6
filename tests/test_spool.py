"""What a build keeps of each tenant until the site-wide files (its manifest line, the note of its part,
its feed entries) is kept in spools (policygen/spool.py): items given back sorted, held in memory up to a
budget and past it written, sorted a batch at a time, to unnamed files in the project's cache and merged.
A site is the same byte for byte whether its tenants fit in the budget or not."""

from __future__ import annotations

import datetime as dt
import marshal
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import many_tenants
from hypothesis import given
from hypothesis import strategies as st

from policygen import spool
from policygen.engine import build
from policygen.feeds import FEED_CODEC, FeedEntry
from policygen.site import BuildOptions
from policygen.spool import Codec, Spool

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))
NUMBERS: Codec[int] = Codec(lambda n: marshal.dumps(n), marshal.loads, lambda n: 100)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@given(st.lists(st.integers()), st.integers(min_value=100, max_value=2000), st.booleans(), st.booleans())
def test_a_spool_gives_its_items_back_sorted_whatever_its_budget(
    items: list[int], budget: int, reverse: bool, added_in_order: bool
) -> None:
    if added_in_order:  # as a previous manifest's tenants come: their runs follow each other
        items = sorted(items, reverse=reverse)
    folder = Path(tempfile.gettempdir())
    with Spool(NUMBERS, lambda n: n, folder, budget, reverse) as numbers:
        for n in items:
            numbers.add(n)
        ordered = numbers.ordered()
        expected = sorted(items, reverse=reverse)
        assert list(ordered) == expected
        assert list(ordered) == expected  # read again: as often as the site-wide files need
        assert len(ordered) == len(items)
        assert [ordered[i] for i in range(len(items))] == expected
        assert list(ordered[1:-1]) == expected[1:-1]
        assert numbers.spilled == (0 if len(items) * 100 < budget else len(items))


def test_items_past_the_budget_are_written_out_to_unnamed_files_in_the_folder_given(tmp_path: Path) -> None:
    with Spool(NUMBERS, lambda n: n, tmp_path, budget=1000) as numbers:
        for n in range(100, 0, -1):
            numbers.add(n)
        assert numbers.spilled == 100  # ten runs of ten
        assert list(numbers.ordered()) == list(range(1, 101))
        assert os.listdir(tmp_path) == []  # nothing named, so nothing a crash could leave behind
    with pytest.raises(IndexError):
        Spool(NUMBERS, lambda n: n, tmp_path, budget=1000).ordered()[0]


def test_runs_of_items_added_in_order_are_read_through_not_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[tuple[int, int]] = []
    real = spool._frames

    def frames(file: object, start: int, end: int) -> object:
        read.append((start, end))
        return real(file, start, end)  # type: ignore[arg-type]

    monkeypatch.setattr(spool, "_frames", frames)
    with Spool(NUMBERS, lambda n: n, tmp_path, budget=1000) as numbers:
        for n in range(1, 101):
            numbers.add(n)
        assert numbers.spilled == 100  # ten runs of ten
        assert list(numbers.ordered()) == list(range(1, 101))
    assert len(read) == 2  # the runs read through at once (each one held a chunk), then the merged file once


def test_without_a_folder_every_item_stays_in_memory() -> None:
    numbers = Spool(NUMBERS, lambda n: n, None, budget=1)
    for n in (3, 1, 2):
        numbers.add(n)
    assert numbers.spilled == 0
    assert numbers.ordered() == [1, 2, 3]


def test_a_feed_entry_is_read_back_as_it_was_written() -> None:
    entry = FeedEntry(
        "acme", "Acme «Ltd»", "privacy-policy", "Privacy", 3, dt.date(2026, 1, 2), dt.date(2025, 12, 1), "acme/p/"
    )
    for each in (entry, FeedEntry(**{**entry.__dict__, "summary": "Less data.", "tier": "material", "heading": "H"})):
        assert FEED_CODEC.decode(FEED_CODEC.encode(each)) == each


@pytest.fixture
def spilled(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A budget of half a kilobyte, so that a build of a few dozen tenants writes its spools out; the items
    each spool wrote out."""
    counts: list[int] = []
    real = Spool.ordered

    def ordered(self: Spool[object]) -> object:
        made = real(self)
        counts.append(self.spilled)
        return made

    monkeypatch.setattr(spool, "BUDGET", 512)
    monkeypatch.setattr(Spool, "ordered", ordered)
    return counts


def test_a_site_whose_tenants_do_not_fit_in_the_budget_is_byte_for_byte_the_same(
    tmp_path: Path, spilled: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 80 tenants: rendered by worker processes, so they come in any order; "ims-pro-000" and "ims-pro"
    # sort one way as names and the other as folders ("ims-pro-000/" before "ims-pro/").
    project = many_tenants(tmp_path / "spilled", 80)
    other = tmp_path / "held"
    shutil.copytree(project, other)
    small = tree(build(project, project / "build", OPTIONS).out)
    assert len(spilled) == 2 and all(spilled), spilled  # the tenants' results and the feed's entries
    monkeypatch.setattr(spool, "BUDGET", 1 << 30)
    assert small == tree(build(other, other / "build", OPTIONS).out)
    assert spilled[2:] == [0, 0]


def test_a_rebuild_whose_tenants_do_not_fit_in_the_budget_is_a_cold_builds(tmp_path: Path, spilled: list[int]) -> None:
    project = many_tenants(tmp_path / "project", 80)
    build(project, project / "build", OPTIONS)
    file = project / "tenants" / "ims-pro-003" / "tenant.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("display_name: ", "display_name: Edited ", 1), "utf-8")
    report = build(project, project / "build", OPTIONS)
    assert report.rendered_tenants == ["ims-pro-003"] and all(spilled[2:])
    cold = tmp_path / "cold"
    shutil.copytree(project, cold, ignore=shutil.ignore_patterns(".cache", "build"))
    assert tree(report.out) == tree(build(cold, cold / "build", OPTIONS).out)
