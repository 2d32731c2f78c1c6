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
from typing import Any

import pytest
from conftest import many_tenants
from hypothesis import given
from hypothesis import strategies as st

from policygen import engine, spool
from policygen.engine import TenantResult, build
from policygen.feeds import FEED_CODEC, FeedEntry
from policygen.fragments import Stored
from policygen.lastbuild import Built
from policygen.output import Output
from policygen.site import BuildOptions, DocumentLink, TenantView
from policygen.spool import Codec, Mapped, Spool

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


@given(st.lists(st.integers()), st.integers(min_value=100, max_value=2000), st.booleans())
def test_runs_merged_by_the_order_of_their_bytes_give_the_items_back_sorted_without_decoding_one(
    items: list[int], budget: int, reverse: bool
) -> None:
    decoded: list[bytes] = []

    def decode(data: bytes) -> int:
        decoded.append(data)
        number: int = marshal.loads(data)
        return number

    counted = Codec(NUMBERS.encode, decode, NUMBERS.size, marshal.loads)
    with Spool(counted, lambda n: n, Path(tempfile.gettempdir()), budget, reverse) as numbers:
        for n in items:
            numbers.add(n)
        ordered = numbers.ordered()
        assert decoded == []  # merged as written: only reading them back decodes them
        assert list(ordered) == sorted(items, reverse=reverse)


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


@pytest.mark.parametrize("budget", [1000, 1 << 20])  # written out in runs, or held
def test_a_spool_asked_again_for_its_items_in_order_gives_the_same_sequence(tmp_path: Path, budget: int) -> None:
    with Spool(NUMBERS, lambda n: n, tmp_path, budget=budget) as numbers:
        for n in range(100, 0, -1):
            numbers.add(n)
        first = numbers.ordered()
        assert numbers.ordered() is first and list(numbers.ordered()) == list(range(1, 101))


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
    each spool wrote out, once for each spool (a build may ask one for its items in order more than once)."""
    counts: list[int] = []
    asked: list[Spool[object]] = []  # kept, so that no later spool is taken for one of them
    real = Spool.ordered

    def ordered(self: Spool[object]) -> object:
        made = real(self)
        if not any(self is spool_ for spool_ in asked):
            asked.append(self)
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


def edit(project: Path, slug: str) -> None:
    file = project / "tenants" / slug / "tenant.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("display_name: ", "display_name: Edited ", 1), "utf-8")


def test_a_rebuild_whose_tenants_do_not_fit_in_the_budget_is_a_cold_builds(tmp_path: Path, spilled: list[int]) -> None:
    project = many_tenants(tmp_path / "project", 80)
    build(project, project / "build", OPTIONS)
    edit(project, "ims-pro-003")
    report = build(project, project / "build", OPTIONS)
    assert report.rendered_tenants == ["ims-pro-003"] and all(spilled[2:])
    cold = tmp_path / "cold"
    shutil.copytree(project, cold, ignore=shutil.ignore_patterns(".cache", "build"))
    assert tree(report.out) == tree(build(cold, cold / "build", OPTIONS).out)


def test_a_rebuild_past_the_budget_reads_each_tenants_result_back_once_for_each_site_wide_file_that_lists_it(
    tmp_path: Path, spilled: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The site index, the sitemap (the example project has a base_url), the manifest's file list and its
    # "tenants" object; not for the report's counts, the feed's date, the tenants' files (all written)
    # or to merge the spool's runs: seven or eight times a tenant before these were tallied as kept.
    decoded: list[str] = []
    real = engine._RESULTS

    def decode(data: bytes) -> TenantResult:
        result = real.decode(data)
        decoded.append(result.slug)
        return result

    monkeypatch.setattr(engine, "_RESULTS", Codec(real.encode, decode, real.size, real.order))
    project = many_tenants(tmp_path / "project", 80)
    build(project, project / "build", OPTIONS)
    edit(project, "ims-pro-003")
    decoded.clear()
    report = build(project, project / "build", OPTIONS)
    assert all(spilled[2:])
    assert sorted(decoded) == sorted(report.tenants * 4)


def test_the_site_wide_files_make_each_tenants_index_view_once_past_the_budget(
    tmp_path: Path, spilled: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    views: list[str] = []
    making: list[bool] = []
    real_view, real_site_files = engine.view_from_entry, engine.site_files

    def view_from_entry(slug: str, entry: dict[str, Any]) -> TenantView:
        if making:
            views.append(slug)
        return real_view(slug, entry)

    def site_files(*args: Any, **kwargs: Any) -> list[Output]:
        making.append(True)
        try:
            return real_site_files(*args, **kwargs)
        finally:
            making.clear()

    monkeypatch.setattr(engine, "view_from_entry", view_from_entry)
    monkeypatch.setattr(engine, "site_files", site_files)
    project = many_tenants(tmp_path / "project", 80)
    build(project, project / "build", OPTIONS)
    edit(project, "ims-pro-003")
    views.clear()
    report = build(project, project / "build", OPTIONS)
    # For the site index; not again for the feed's date (tallied as the results are kept).
    assert sorted(views) == report.tenants


def test_a_builds_report_counts_the_results_as_they_were_kept_past_the_budget(
    tmp_path: Path, spilled: list[int]
) -> None:
    project = many_tenants(tmp_path / "project", 80)  # rendered by worker processes: they come in any order
    report = build(project, project / "build", OPTIONS)
    slugs = sorted(p.name for p in (project / "tenants").iterdir())
    files = [p.relative_to(report.out).as_posix() for p in report.out.rglob("*") if p.is_file()]
    assert report.tenants == report.rendered_tenants == slugs
    assert report.built() == Built(80, len(files), sum(1 for f in files if f.endswith(".html")))
    assert report.rendered == sum(1 for o in report.outputs if o.kind == "page")
    edit(project, "ims-pro-003")
    again = build(project, project / "build", OPTIONS)
    assert (again.tenants, again.rendered_tenants, again.built()) == (slugs, ["ims-pro-003"], report.built())
    assert again.rendered == sum(1 for o in again.outputs if o.kind == "page" and o.tenant == "ims-pro-003")


class Word(str):
    """A text that is not exactly a str, as a theme's filters may give (marshal takes exact types only)."""


def test_a_kept_result_is_read_back_with_the_view_and_manifest_line_it_had() -> None:
    links = (DocumentLink("privacy-policy", Word("Privacy «Policy»"), "acme/privacy-policy/", dt.date(2026, 3, 1)),)
    view = TenantView("acme", Word("Acme"), "Acme Ltd", None, "#123456", links)
    stored = Stored("acme", "k" * 64, "d" * 64, 3, 2, 1)
    result = TenantResult("acme", "k" * 64, [], view, True, written=stored)
    back = engine._RESULTS.decode(engine._RESULTS.encode(result))
    assert back.index_view() == view
    assert back.manifest_entry() == result.manifest_entry()
    assert (back.slug, back.key, back.rendered, back.written, back.newest()) == (
        "acme",
        "k" * 64,
        True,
        stored,
        dt.date(2026, 3, 1),
    )
    assert engine._RESULTS.order is not None and engine._RESULTS.order(engine._RESULTS.encode(result)) == "acme"


def test_a_process_forked_from_the_build_reads_a_spool_while_the_build_does_and_neither_misreads(
    tmp_path: Path,
) -> None:
    # The process beside the build (policygen/beside.py) reads the previous build's tenants from a spool while
    # the build reads them too: the two share the file's offset, so each read says where it reads.
    with Spool(NUMBERS, lambda n: n, tmp_path, budget=1000) as numbers:
        for n in range(3000):
            numbers.add(n)
        ordered = numbers.ordered()
        assert isinstance(ordered, spool.Merged)
        pid = os.fork()
        if pid == 0:
            right = all(ordered[i] == i for _ in range(20) for i in range(0, 3000, 7))
            os._exit(0 if right and list(ordered) == list(range(3000)) else 1)
        right = all(ordered[i] == i for _ in range(20) for i in range(3, 3000, 7))
        assert os.waitpid(pid, 0)[1] == 0, "the forked process misread"
        assert right and list(ordered) == list(range(3000))


def test_a_mapped_sequence_makes_each_view_as_it_is_read_and_holds_none() -> None:
    made: list[int] = []

    def view(item: int) -> str:
        made.append(item)
        return f"<{item}>"

    views = Mapped([3, 1, 2], view)
    assert len(views) == 3 and made == []  # nothing made until read
    assert list(views) == ["<3>", "<1>", "<2>"] and made == [3, 1, 2]  # one pass: each made once
    assert views[-1] == "<2>" and views[0:2] == ["<3>", "<1>"] and views[::-1] == ["<2>", "<1>", "<3>"]
    with pytest.raises(IndexError):
        views[3]
