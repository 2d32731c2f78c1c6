"""A rebuild does work proportional to the change: a build whose inputs are the previous build's and
whose output nobody touched writes nothing; a tenant folder's hash is taken from the project's cache
while the stat of everything in it is the one recorded (policygen/statcache.py).

The cache is never trusted past what the stat shows: an edit that keeps a file's size and modification
time still changes its change time (which cannot be set by hand), a folder changed in the last two
seconds is hashed every time (the racy-git rule), and a touched output is compared file by file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from policygen import beside, engine, history, lastbuild, outfolder, output, spool, statcache, tenantfolders
from policygen.engine import build
from policygen.errors import InputError, Problem
from policygen.project import load_project, project_theme
from policygen.site import BuildOptions

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def stats(folder: Path) -> dict[str, tuple[int, int, int]]:
    found = {}
    for p in [folder, *folder.rglob("*")]:
        info = p.lstat()
        found[p.relative_to(folder).as_posix()] = (info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
    return found


def same_size_edit(file: Path, old: str, new: str) -> None:
    """Replace *old* by *new* (of the same length) and set the modification time back to what it was."""
    assert len(old) == len(new)
    before = file.stat()
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file.stat().st_size == before.st_size and file.stat().st_mtime_ns == before.st_mtime_ns


def edit_display_name(project: Path, slug: str, name: str) -> None:
    file = project / "tenants" / slug / "tenant.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("display_name: ", f"display_name: {name} ", 1))


def test_a_build_that_changes_nothing_writes_no_file_and_leaves_the_output_as_it_is(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    first = build(project, out, OPTIONS)
    before = stats(out)
    calls: list[str] = []
    monkeypatch.setattr(output, "_write_site", lambda *a: calls.append("write"))
    again = build(project, out, OPTIONS)
    assert calls == [] and again.unchanged and again.rendered_tenants == []
    assert stats(out) == before  # not one file or folder written, replaced or touched
    assert sorted(o.path for o in again.outputs) == sorted(o.path for o in first.outputs)
    assert "nothing changed" in again.summary()


def test_a_build_that_changes_nothing_counts_the_previous_file_list_an_entry_at_a_time(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsed whole, a large site's list is hundreds of MB (350 MB at 10,000 tenants, for an 88 MB manifest).
    out = project / "build"
    first = build(project, out, OPTIONS)
    size = (out / "manifest.json").stat().st_size
    parsed: list[int] = []
    real = json.loads
    monkeypatch.setattr(engine.json, "loads", lambda text, *a, **k: parsed.append(len(text)) or real(text, *a, **k))
    again = build(project, out, OPTIONS)
    assert again.unchanged and again.built() == first.built()
    listed = [(o.path, o.kind, o.sha256, o.size) for o in again.outputs]  # read when asked for (--verbose)
    assert listed == [(o.path, o.kind, o.sha256, o.size) for o in first.outputs]
    assert max(parsed, default=0) < size // 10  # nothing of the size of the manifest, counted or listed
    assert listed == [(o.path, o.kind, o.sha256, o.size) for o in first.outputs[:]]  # read whole: the same
    assert listed[-1] == (
        "manifest.json",
        "data",
        hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest(),
        size,
    )


def test_a_tenant_added_beside_unchanged_ones_is_rendered_and_the_build_is_not_told_unchanged(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    shutil.copytree(project / "tenants/ims-pro", project / "tenants/ims-pro-2")
    again = build(project, out, OPTIONS)  # every tenant of the previous build is found unchanged
    assert not again.unchanged and again.rendered_tenants == ["ims-pro-2"]
    assert (out / "ims-pro-2/index.html").is_file()


def test_an_output_file_changed_by_hand_makes_the_next_build_write_the_site_again(
    project: Path, tmp_path: Path
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    page = out / "ims-pro/privacy-policy/index.html"
    text = page.read_bytes()
    before = page.stat()
    page.write_bytes(text.replace(b"<", b"{", 1))  # same size, and the same modification time
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
    (out / "ims-pro/stray.html").write_bytes(b"not ours")
    report = build(project, out, OPTIONS)
    assert not report.unchanged
    assert tree(out) == tree(build(project, tmp_path / "fresh", OPTIONS).out)


def test_a_changed_input_is_never_skipped(project: Path, tmp_path: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    facts = project / "tenants/ims-pro/tenant.yaml"
    facts.write_text(facts.read_text(encoding="utf-8").replace("display_name: IMS Pro", "display_name: IMS Pro X"))
    report = build(project, out, OPTIONS)
    assert not report.unchanged and report.rendered_tenants == ["ims-pro"]
    assert tree(out) == tree(build(project, tmp_path / "fresh", OPTIONS).out)


def test_a_build_on_another_date_or_with_one_tenant_more_or_less_is_not_skipped(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    assert not build(project, out, BuildOptions(today=dt.date(2026, 11, 23))).unchanged
    shutil.rmtree(project / "tenants/ihm-connect")
    report = build(project, out, BuildOptions(today=dt.date(2026, 11, 23)))
    assert not report.unchanged and not (out / "ihm-connect").exists()


def test_a_remembered_folder_hash_still_sees_an_edit_that_keeps_size_and_modification_time(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)  # remember folders however recently they changed
    out = project / "build"
    build(project, out, OPTIONS)
    remembered = (project / ".cache/policygen" / tenantfolders.DIGESTS).read_bytes()
    assert str(project.resolve() / "tenants/ims-pro").encode().hex().encode() + b" " in remembered
    same_size_edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pre")
    report = build(project, out, OPTIONS)
    assert report.rendered_tenants == ["ims-pro"]
    assert tree(out) == tree(build(project, tmp_path / "fresh", OPTIONS).out)
    assert "IMS Pre" in (out / "ims-pro/privacy-policy/index.html").read_text(encoding="utf-8")


def test_a_remembered_folder_hash_is_used_while_nothing_in_the_folder_changed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    build(project, project / "build", OPTIONS)
    hashed: list[Path] = []
    real = tenantfolders.checked_tenant_digest
    monkeypatch.setattr(tenantfolders, "checked_tenant_digest", lambda folder: hashed.append(folder) or real(folder))
    assert build(project, project / "build", OPTIONS).unchanged
    assert hashed == []


def test_a_folder_changed_in_the_last_two_seconds_is_not_remembered(project: Path) -> None:
    digests = statcache.FolderDigests(project / "digests", lambda: project / "digests")
    folder = project / "tenants/ims-pro"
    (folder / "tenant.yaml").touch()  # just now: a second write in this clock tick could keep its stat
    digests.digest(folder, lambda f: "a1b2")
    digests.save()
    assert not (project / "digests").exists()
    os.utime(folder / "tenant.yaml", (1, 1))  # the change time stays now: still too recent
    digests.digest(folder, lambda f: "a1b2")
    digests.save()
    assert not (project / "digests").exists()


def test_a_folder_holding_a_link_is_always_hashed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    folder = project / "tenants/ims-pro"
    (folder / "notes.txt").symlink_to(project / "policygen.yaml")
    assert statcache.tree_stat(str(folder)) is None
    digests = statcache.FolderDigests(None)
    calls: list[Path] = []
    for _ in range(2):
        digests.digest(folder, lambda f: calls.append(f) or "hash")
    assert len(calls) == 2


LINKED_OUT = {
    "the folder": (
        lambda tenant, outside: (shutil.move(tenant, outside / "moved"), tenant.symlink_to(outside / "moved")),
        "tenant folder is a symbolic link; policygen reads only files inside the project",
    ),
    "its facts": (
        lambda tenant, outside: (
            shutil.move(tenant / "tenant.yaml", outside / "tenant.yaml"),
            (tenant / "tenant.yaml").symlink_to(outside / "tenant.yaml"),
        ),
        "tenant.yaml is a symbolic link out of the tenant folder; policygen reads only files inside the project",
    ),
}


@pytest.mark.parametrize(("linked", "refused"), LINKED_OUT.values(), ids=list(LINKED_OUT))
def test_a_tenant_linked_out_of_the_project_after_a_build_is_refused_as_in_a_first_build(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linked: Callable[[Path, Path], object], refused: str
) -> None:
    # A build looks for links out only where the stat cache does not vouch for a folder (it vouches only
    # for folders holding no link): the stat cache of a build before must not hide one made since.
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = project / "build"
    build(project, out, OPTIONS)
    site = tree(out)
    outside = tmp_path / "outside"
    outside.mkdir()
    linked(project / "tenants/ims-pro", outside)
    with pytest.raises(InputError) as raised:
        build(project, out, OPTIONS)
    assert [p.message for p in raised.value.problems] == [refused]
    assert tree(out) == site


def test_an_unchanged_tenant_folder_the_stat_cache_vouches_for_is_not_looked_at_for_links_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = project / "build"
    build(project, out, OPTIONS)
    looked: list[str] = []
    real = tenantfolders.no_links_out
    monkeypatch.setattr(tenantfolders, "no_links_out", lambda folder: looked.append(folder.name) or real(folder))
    edit_display_name(project, "ims-pro", "Again")
    report = build(project, out, OPTIONS)
    assert report.rendered_tenants == ["ims-pro"] and "ims-pro" in looked
    assert not {"ihm-connect", "ims-global", "example-fitness"} & set(looked)


# --- telling "nothing changed" before the engine is imported (policygen/lastbuild.py) -----------------------

# The command line in a fresh process, then which heavy modules it imported.
CLI = """
import atexit, sys
from policygen.cli import main
sys.argv = ["policygen", "--project", sys.argv[1], "build", "--today", "2026-11-22"]
atexit.register(lambda: print("imported:", [m for m in ("policygen.engine", "jinja2", "pydantic") if m in sys.modules]))
main()
"""


def cli_build(project: Path) -> str:
    done = subprocess.run([sys.executable, "-c", CLI, str(project)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_a_build_that_changed_nothing_is_told_without_importing_the_engine(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)  # record the inputs however recently they changed
    build(project, project / "build", OPTIONS)
    before = stats(project / "build")
    said = cli_build(project)
    assert "nothing changed" in said and "imported: []" in said
    assert stats(project / "build") == before


@pytest.mark.slow
def test_an_input_edited_since_keeping_size_and_modification_time_is_built(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    build(project, project / "build", OPTIONS)
    same_size_edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pre")
    said = cli_build(project)
    assert "1 rendered" in said and "policygen.engine" in said
    assert "IMS Pre" in (project / "build/ims-pro/privacy-policy/index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_an_output_file_edited_in_place_is_written_again_by_the_next_command_line_build(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = project / "build"
    build(project, out, OPTIONS)
    page = out / "ims-pro/privacy-policy/index.html"
    before = page.stat()
    with open(page, "r+b") as f:  # in place: the same file, the same size, the modification time set back
        f.write(b"{")
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "nothing changed" not in cli_build(project)
    assert tree(out) == tree(build(project, tmp_path / "fresh", OPTIONS).out)


def test_inputs_changed_in_the_two_seconds_before_a_build_are_not_recorded(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)  # the project was copied just now
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is None
    assert build(project, out, OPTIONS).unchanged  # the engine still finds it, from content hashes


def listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders whose inputs are listed (lastbuild.Inputs.seen walks them) from here on."""
    walked: list[str] = []
    real = statcache.walk_paths

    def spy(folder: str, names: Iterable[str]) -> Iterator[str]:
        walked.append(folder)
        return real(folder, names)

    monkeypatch.setattr(statcache, "walk_paths", spy)
    return walked


@pytest.fixture
def recorded(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The output of a whole-site build of *project* whose inputs it recorded (the racy margin set to nothing)."""
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = project / "build"
    build(project, out, OPTIONS)
    time.sleep(0.05)  # an edit from here has another modification time
    return out


def unchanged(project: Path, out: Path, today: dt.date = OPTIONS.today) -> bool:
    return lastbuild.nothing_changed(project, out, today, False) is not None


def test_a_build_records_the_inputs_nothing_changed_saw_without_listing_them_again(
    project: Path, recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    facts.write_text(facts.read_text(encoding="utf-8").replace("IMS Pro", "IMS Pro Two", 1), encoding="utf-8")
    assert not unchanged(project, recorded)  # a file edited in place
    walked = listings(monkeypatch)
    assert not build(project, recorded, OPTIONS).unchanged
    assert walked == []  # no path added or removed since the record: its listing is every path there is
    assert unchanged(project, recorded)  # what it saw, recorded


def test_a_path_added_since_the_record_is_listed_again_and_recorded(
    project: Path, recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = project / "tenants/ims-pro/notes.md"
    notes.write_text("x", encoding="utf-8")
    assert not unchanged(project, recorded)
    walked = listings(monkeypatch)
    build(project, recorded, OPTIONS)
    assert str(project.resolve()) in walked
    assert unchanged(project, recorded)
    time.sleep(0.05)
    notes.write_text("y", encoding="utf-8")  # in place: only the added file's own stat tells it
    assert not unchanged(project, recorded)


def test_what_nothing_changed_saw_for_another_date_is_not_what_a_build_records(
    project: Path, recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not unchanged(project, recorded, dt.date(2026, 11, 23))
    walked = listings(monkeypatch)
    assert build(project, recorded, OPTIONS).unchanged
    assert str(project.resolve()) in walked


def test_where_no_tenant_has_released_a_version_the_record_holds_with_drafts_or_without(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A draft is an unreleased edit of a released document: with no releases/ folder, serve (drafts) and
    # `policygen build` (none) write the same site, and each finds the other's output as it would write it.
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    shutil.rmtree(project / "tenants/example-fitness/releases")
    out = project / "build"
    build(project, out, OPTIONS)
    drafts = dataclasses.replace(OPTIONS, drafts=True)
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, True) is not None
    assert tree(build(project, tmp_path / "drafts", drafts).out) == tree(out)
    (project / "tenants/ims-pro/releases").mkdir()  # a tenant with a releases/ folder: its drafts may show
    build(project, out, OPTIONS)
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is not None
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, True) is None


def test_the_record_is_only_for_the_same_date_and_options_and_is_dropped_by_a_partial_build(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = project / "build"
    build(project, out, OPTIONS)
    same = lastbuild.nothing_changed(project, out, OPTIONS.today, False)
    assert same is not None and same.built.tenants == len(os.listdir(project / "tenants"))
    assert lastbuild.nothing_changed(project, out, dt.date(2026, 11, 23), False) is None
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, True) is None
    assert lastbuild.nothing_changed(project, project / "elsewhere", OPTIONS.today, False) is None
    build(project, out, BuildOptions(["ims-pro"], OPTIONS.today))
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is None


def test_a_warm_builder_reads_an_edited_partial_and_its_translation_again(project: Path, tmp_path: Path) -> None:
    # serve keeps one Builder: its compiled clauses, reused renders and stale-translation answers are keyed by
    # clause, so an edited partial must not leave a page built from the partial as it was.
    warm = engine.Builder(project, project / "build", BuildOptions(today=OPTIONS.today, drafts=True))
    warm.build()
    partial = project / "content" / "_partials" / "facts.md"
    partial.write_text(partial.read_text(encoding="utf-8").replace("- Email: ", "- ZZQQ: "))
    warm.build()
    build(project, tmp_path / "fresh", BuildOptions(today=OPTIONS.today, drafts=True))
    rebuilt, fresh = tree(project / "build"), tree(tmp_path / "fresh")
    assert any(b"ZZQQ" in data for data in fresh.values())
    # the Hindi translation of the partial is now stale: its pages fall back, in both builds
    assert {k: v for k, v in rebuilt.items() if k != "manifest.json"} == {
        k: v for k, v in fresh.items() if k != "manifest.json"
    }


# --- the output's stamp (statcache.Stamp): one stat of each recorded path, no folder listed again ----------


def small_site(folder: Path) -> Path:
    """An output folder of a few files in nested folders, as a build leaves it."""
    for path in ("index.html", "manifest.json", "acme/privacy-policy/index.html", "acme/privacy-policy/v1/index.html"):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(f"<p>{path}</p>", encoding="utf-8")
    return folder


def test_a_stamp_is_the_same_whatever_the_order_of_its_names_and_however_often_each_comes(tmp_path: Path) -> None:
    out = small_site(tmp_path / "out")
    statcache.Stamp.walk(out, {"index.html", "manifest.json", "acme"}, tmp_path / "from-a-set.stamp")
    names = iter(["manifest.json", "acme", "index.html", "acme", statcache.HERE])  # the writer's names, chained
    statcache.Stamp.walk(out, names, tmp_path / "from-a-stream.stamp")
    assert (tmp_path / "from-a-stream.stamp").read_bytes() == (tmp_path / "from-a-set.stamp").read_bytes()
    assert statcache.Stamp.matches(out, tmp_path / "from-a-stream.stamp")


def stamped(out: Path, file: Path) -> Path:
    statcache.Stamp.walk(out, ["index.html", "manifest.json", "acme"], file)
    assert file.is_file()
    time.sleep(0.05)  # a later clock tick: an edit in the stamp's own tick is the documented limit
    return file


def folder_group_end(data: bytes) -> int:
    """Where a stamp's group of the output folder itself ends (its line, then its one path "."): what a
    forged stamp keeps before its own groups."""
    return data.index(b"\n", len(statcache._STAMP_HEADER)) + 1 + len(statcache.HERE)


def rewrite_in_place(file: Path, restore_time: bool) -> None:
    before = file.stat()
    with open(file, "r+b") as f:  # the same file, the same size
        f.write(b"{")
    if restore_time:
        os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file.stat().st_size == before.st_size


EDITS = {
    "a file rewritten in place, its modification time set back": lambda out: rewrite_in_place(
        out / "acme/privacy-policy/v1/index.html", restore_time=True
    ),
    "a file rewritten in place": lambda out: rewrite_in_place(out / "index.html", restore_time=False),
    "a file added deep inside": lambda out: (out / "acme/privacy-policy/v1/stray.html").write_bytes(b"x"),
    "a file added at the top": lambda out: (out / "stray.html").write_bytes(b"x"),
    "a file removed": lambda out: (out / "acme/privacy-policy/v1/index.html").unlink(),
    "a folder renamed": lambda out: (out / "acme/privacy-policy/v1").rename(out / "acme/privacy-policy/v2"),
    "a file replaced by a link to the same bytes": lambda out: (
        (out / "copy.html").write_bytes((out / "index.html").read_bytes()),
        (out / "index.html").unlink(),
        (out / "index.html").symlink_to(out / "copy.html"),
    ),
    "a file linked from elsewhere": lambda out: os.link(out / "index.html", out.parent / "elsewhere.html"),
    "the output folder replaced by a link": lambda out: (out.rename(out.parent / "real"), out.symlink_to("real")),
}


def test_an_untouched_output_matches_its_stamp(tmp_path: Path) -> None:
    out = small_site(tmp_path / "out")
    file = stamped(out, tmp_path / "site.stamp")
    assert statcache.Stamp.matches(out, file)
    (out / "index.html").read_bytes()  # reading changes no stat the stamp keeps
    assert statcache.Stamp.matches(out, file)


@pytest.mark.parametrize("edit", EDITS.values(), ids=list(EDITS))
def test_an_output_edited_added_to_removed_from_or_renamed_in_no_longer_matches_its_stamp(
    tmp_path: Path, edit: Callable[[Path], object]
) -> None:
    out = small_site(tmp_path / "out")
    file = stamped(out, tmp_path / "site.stamp")
    edit(out)
    assert not statcache.Stamp.matches(out, file)


def test_an_output_holding_a_link_or_a_damaged_stamp_is_never_taken_as_untouched(tmp_path: Path) -> None:
    out = small_site(tmp_path / "out")
    (out / "acme/link.html").symlink_to(out / "index.html")
    statcache.Stamp.walk(out, ["acme"], tmp_path / "linked.stamp")
    assert not (tmp_path / "linked.stamp").exists()
    (out / "acme/link.html").unlink()
    file = stamped(out, tmp_path / "site.stamp")
    data = file.read_bytes()
    first = folder_group_end(data)
    for damaged in (
        b"",
        data[:40],
        data.replace(statcache._STAMP_HEADER, b"policygen output stamp 9\n"),
        data + b"\0../../etc",
        statcache._STAMP_HEADER + b"[" * 100_000 + b"\n",
        data[:-3],
        statcache._STAMP_HEADER,  # no group: not even the folder itself
        data.replace(b"\n2e 1 0 ", b"\n2e 0 1 ", 1),  # the folder itself counted a file
        huge_group(data, paths=10**9, size=10**14),  # claims more than is there
        huge_group(data, paths=1, size=1 << 24) + b"a" * (1 << 24),  # one path longer than any a build writes
        data[:first] + data[len(statcache._STAMP_HEADER) : first] + data[first:],  # the folder itself twice
    ):
        file.write_bytes(damaged)
        assert not statcache.Stamp.matches(out, file)
    assert not statcache.Stamp.matches(out, tmp_path / "no such stamp")
    file.unlink()
    os.mkfifo(file)  # a pipe is not opened to wait on
    assert not statcache.Stamp.matches(out, file)


def huge_group(data: bytes, paths: int, size: int) -> bytes:
    """A stamp's first group followed by one whose header claims *paths* files in *size* bytes."""
    first = data.index(b"\n", len(statcache._STAMP_HEADER)) + 1
    here = data[: first + 1]  # the folder itself: its header line and its path, '.'
    head = statcache._Head("acme", 0, paths, "0" * 64, "0" * 64, size)
    return here + head.line()


BY_HAND = {
    "edited in place": lambda tenant: rewrite_in_place(tenant / "privacy-policy/index.html", restore_time=True),
    "added": lambda tenant: (tenant / "privacy-policy/stray.html").write_bytes(b"x"),
    "removed": lambda tenant: (tenant / "privacy-policy/feed.xml").unlink(),
    "folder renamed": lambda tenant: (tenant / "privacy-policy").rename(tenant / "privacy-policy-old"),
}


@pytest.mark.parametrize("edit", BY_HAND.values(), ids=list(BY_HAND))
def test_an_output_changed_by_hand_in_any_way_is_built_again_not_told_unchanged(
    project: Path, monkeypatch: pytest.MonkeyPatch, edit: Callable[[Path], object]
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = project / "build"
    build(project, out, OPTIONS)
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is not None
    site = tree(out)
    time.sleep(0.05)
    edit(out / "ims-pro")
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is None
    report = build(project, out, OPTIONS)
    assert not report.unchanged and tree(out) == site
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is not None  # stamped again


INPUT_CHANGES = {
    "a file added to a tenant's folder": lambda project: (project / "tenants/ims-pro/notes.md").write_text("x"),
    "a tenant added": lambda project: shutil.copytree(project / "tenants/ims-pro", project / "tenants/ims-pro-2"),
    "a tenant removed": lambda project: shutil.rmtree(project / "tenants/ihm-connect"),
    "an input folder that was not there": lambda project: (project / "static").mkdir(),
    "rules.yaml added": lambda project: (project / "rules.yaml").write_text("{}\n"),
    "a tenant's folder renamed": lambda project: (project / "tenants/ims-pro").rename(project / "tenants/ims-pre"),
    "a tenant file replaced by a link": lambda project: (
        (project / "tenants/ims-pro/tenant.yaml").rename(project / "elsewhere.yaml"),
        (project / "tenants/ims-pro/tenant.yaml").symlink_to(project / "elsewhere.yaml"),
    ),
}


@pytest.mark.parametrize("change", INPUT_CHANGES.values(), ids=list(INPUT_CHANGES))
def test_an_input_added_removed_or_renamed_since_the_last_build_is_never_told_unchanged(
    project: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[Path], object]
) -> None:
    # The record lists the inputs' paths, and the check looks at those again without listing any folder:
    # what is added or removed shows in the stat of the folder that holds it, or of the project's inputs.
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = project / "build"
    build(project, out, OPTIONS)
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is not None
    time.sleep(0.05)
    change(project)
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is None


def twice_reused(project: Path) -> Path:
    """An output whose tenants but ims-pro were reused by the build that wrote it (its spare the build
    before), ims-pro edited since: the next build keeps the other tenants' spare folders whole."""
    out = project / "build"
    for name in ("", "Once", "Twice"):
        if name:
            file = project / "tenants/ims-pro/tenant.yaml"
            file.write_text(file.read_text(encoding="utf-8").replace("display_name: ", f"display_name: {name} ", 1))
        if name != "Twice":
            build(project, out, OPTIONS)
    return out


def seen(out: Path, folders: Iterable[str]) -> statcache.SeenFolders:
    """*folders* of *out* as a build that kept them whole saw them (SiteWriter.keep_intact)."""
    found = statcache.folders_seen(str(out), folders)
    assert found is not None
    return found[1]


def groups(file: Path) -> dict[str, tuple[set[bytes], set[bytes]]]:
    """The folders and the files a stamp lists, by top-level entry."""
    found = {}
    with open(file, "rb") as f:
        reader = statcache._Reader(f)
        reader.next_head()
        while (head := reader.head) is not None:
            paths = [path for block in reader.paths() for path in block]
            found[head.name] = (set(paths[: head.folders]), set(paths[head.folders :]))
    return found


def stamp_file(project: Path, out: Path) -> Path:
    return outfolder.stamp_file(output.spare_folder(project, out))


def test_a_one_tenant_rebuild_takes_the_stamp_of_the_folders_it_kept_whole_from_the_previous_one(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kept folders hold the previous output's very files (hard links), which the build found matching
    # their stamp before it began: their files are not listed nor looked at again after the swap, and their
    # folders' stat is the one the build took when it kept them.
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = twice_reused(project)
    listed: list[str] = []
    looked_at: list[str] = []
    real, real_stats = statcache.paths_under, statcache.stats_in

    def spy(folder: str, names: Iterable[str]) -> tuple[list[str], dict[str, os.stat_result]] | None:
        names = list(names)
        listed.extend(names)
        return real(folder, names)

    def stats_spy(folder: Path, paths: list[str] | list[bytes]) -> list[tuple[int, ...]]:
        looked_at.extend(os.fsdecode(path).split("/")[0] for path in paths)
        return real_stats(folder, paths)

    monkeypatch.setattr(statcache, "paths_under", spy)
    monkeypatch.setattr(statcache, "stats_in", stats_spy)
    report = build(project, out, OPTIONS)
    assert report.rendered_tenants == ["ims-pro"]
    assert "ims-pro" in listed and not {"ihm-connect", "ims-global", "example-fitness"} & set(listed)
    assert "ims-pro" in looked_at and not {"ihm-connect", "ims-global", "example-fitness"} & set(looked_at)
    file = stamp_file(project, out)
    assert statcache.Stamp.matches(out, file)
    statcache.Stamp.walk(out, {p.name for p in out.iterdir()}, project / "walked.stamp")
    assert groups(file) == groups(project / "walked.stamp")


KEPT_BY_HAND = {
    **BY_HAND,
    "linked from elsewhere": lambda tenant: os.link(tenant / "privacy-policy/index.html", tenant.parent.parent / "x"),
    "a folder added": lambda tenant: (tenant / "privacy-policy/more").mkdir(),
}


@pytest.mark.parametrize("edit", KEPT_BY_HAND.values(), ids=list(KEPT_BY_HAND))
def test_a_folder_whose_stamp_came_from_the_previous_one_is_built_again_when_changed_by_hand(
    project: Path, monkeypatch: pytest.MonkeyPatch, edit: Callable[[Path], object]
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = twice_reused(project)
    kept: list[str] = []
    real = statcache.Stamp.walk

    def spy(
        out: Path,
        names: Iterable[str],
        file: Path,
        previous: statcache.Kept | None = None,
        shared: bool = False,
        ahead: statcache.Ahead | None = None,
    ) -> list[str]:
        taken = real(out, names, file, previous, shared, ahead)
        kept.extend(taken)
        return taken

    monkeypatch.setattr(statcache.Stamp, "walk", staticmethod(spy))
    build(project, out, OPTIONS)
    assert "ihm-connect" in kept
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is not None
    site = tree(out)
    time.sleep(0.05)
    edit(out / "ihm-connect")
    assert lastbuild.nothing_changed(project, out, OPTIONS.today, False) is None
    report = build(project, out, OPTIONS)
    assert not report.unchanged and tree(out) == site


def test_the_previous_stamp_is_not_taken_when_it_is_not_the_one_found_matching_or_lists_other_folders(
    tmp_path: Path,
) -> None:
    out = small_site(tmp_path / "out")
    file = stamped(out, tmp_path / "site.stamp")
    matched = statcache.Stamp.check(out, file)
    assert matched is not None and matched.names == ["acme", "index.html", "manifest.json"]  # sorted
    proof = matched.proof
    names, after = ["index.html", "manifest.json", "acme"], tmp_path / "next.stamp"
    folders = {"acme", "acme/privacy-policy", "acme/privacy-policy/v1"}
    assert statcache.Stamp.walk(out, names, after, statcache.Kept(file, proof, {"acme": seen(out, folders)})) == [
        "acme"
    ]
    assert groups(after) == groups(file) and statcache.Stamp.matches(out, after)
    other = {"acme": seen(out, folders - {"acme/privacy-policy/v1"})}
    assert statcache.Stamp.walk(out, names, after, statcache.Kept(file, proof, other)) == []
    assert groups(after) == groups(file)  # looked at whole
    (out / "acme/privacy-policy/v1/stray.html").write_bytes(b"x")
    statcache.Stamp.walk(out, names, file)  # another stamp since: another hash
    after.unlink()
    assert statcache.Stamp.walk(out, names, after, statcache.Kept(file, proof, {"acme": seen(out, folders)})) == []
    assert not after.exists()  # not saved: its kept part was read from a stamp that was not the one found matching


def test_a_file_added_while_the_output_is_being_listed_for_its_stamp_is_noticed_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each folder's stat is taken before it is listed: one taken after would already count a file added
    # in between, which the listing does not hold, and that file would never be noticed.
    out = small_site(tmp_path / "out")
    time.sleep(0.05)
    real = os.scandir

    @contextlib.contextmanager
    def listing_then_someone_adds_a_file(path: str) -> Iterator[list[os.DirEntry[str]]]:
        with real(path) as entries:
            listed = list(entries)
        if path.endswith("v1"):
            (Path(path) / "stray.html").write_bytes(b"x")
        yield listed

    monkeypatch.setattr(statcache.os, "scandir", listing_then_someone_adds_a_file)
    statcache.Stamp.walk(out, ["index.html", "manifest.json", "acme"], tmp_path / "site.stamp")
    monkeypatch.undo()
    assert (out / "acme/privacy-policy/v1/stray.html").exists()
    assert not statcache.Stamp.matches(out, tmp_path / "site.stamp")


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_a_stamp_read_a_block_of_paths_at_a_time_matches_wherever_the_blocks_split_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    out = small_site(tmp_path / "out")
    file = stamped(out, tmp_path / "site.stamp")
    monkeypatch.setattr(statcache, "_MATCH_BLOCK", block)
    assert statcache.Stamp.matches(out, file)
    (out / "acme/privacy-policy/v1/stray.html").write_bytes(b"x")
    assert not statcache.Stamp.matches(out, file)


MANY = 200_000  # paths (the same file, listed again and again): held at once they would take tens of MB
LISTED = b"acme/privacy-policy/v1/index.html"


def stamp_of_many_paths(tmp_path: Path, folders: list[str]) -> tuple[Path, Path]:
    """A small site and its stamp, whose group of acme lists *folders* and then LISTED MANY times over, with
    the digests of their stat as they are: the stamp matches the site."""
    out = small_site(tmp_path / "out")
    file = stamped(out, tmp_path / "site.stamp")
    data = file.read_bytes()
    listed = b"\0".join([*(f.encode() for f in folders), *[LISTED] * MANY])
    folders_digest = statcache._digest(statcache.stats_in(out, folders))
    files_digest = statcache._digest(statcache.stats_in(out, [LISTED]) * MANY)
    head = statcache._Head("acme", len(folders), MANY, folders_digest, files_digest, len(listed))
    file.write_bytes(data[: folder_group_end(data)] + head.line() + listed)
    assert file.stat().st_size > 6_000_000
    return out, file


def test_a_stamp_listing_very_many_paths_is_checked_with_bounded_memory(tmp_path: Path) -> None:
    out, file = stamp_of_many_paths(tmp_path, [])
    tracemalloc.start()
    try:
        matched = statcache.Stamp.check(out, file)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert matched is not None and matched.proof == hashlib.sha256(file.read_bytes()).hexdigest()
    assert peak < min(6_000_000, file.stat().st_size), peak  # less than the file's bytes alone
    rewrite_in_place(out / LISTED.decode(), restore_time=True)
    assert not statcache.Stamp.matches(out, file)


def test_a_kept_folder_of_very_many_files_is_copied_from_the_previous_stamp_with_bounded_memory(tmp_path: Path) -> None:
    # The previous stamp lists 200,000 files in the kept folder: its part is copied as it is read.
    folders = ["acme", "acme/privacy-policy", "acme/privacy-policy/v1"]
    out, file = stamp_of_many_paths(tmp_path, folders)
    matched = statcache.Stamp.check(out, file)
    assert matched is not None
    after = tmp_path / "next.stamp"
    tracemalloc.start()
    try:
        kept = statcache.Kept(file, matched.proof, {"acme": seen(out, folders)})
        taken = statcache.Stamp.walk(out, ["acme"], after, kept)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert taken == ["acme"] and after.read_bytes() == file.read_bytes()
    assert peak < min(6_000_000, file.stat().st_size), peak


def test_a_walked_stamp_is_written_a_top_level_entry_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What the walk holds is one top-level entry's paths (a tenant's folder), never the whole site's.
    out = small_site(tmp_path / "out")
    real = statcache.paths_under
    asked: list[list[str]] = []

    def one_entry(folder: str, names: Iterable[str]) -> tuple[list[str], dict[str, os.stat_result]] | None:
        asked.append(list(names))
        return real(folder, names)

    monkeypatch.setattr(statcache, "paths_under", one_entry)
    statcache.Stamp.walk(out, ["manifest.json", "acme", "index.html"], tmp_path / "site.stamp")
    assert asked == [["acme"], ["index.html"], ["manifest.json"]]
    time.sleep(0.05)
    assert statcache.Stamp.matches(out, tmp_path / "site.stamp")


# --- the previous manifest of an untouched output: its "tenants" object read alone ------------------------


def read_previous(out: Path, matched: statcache.Matched | None, folder: Path | None = None) -> engine.Previous:
    """The previous build as a build reads it, once the output's stamp check has *matched* (or not)."""
    previous = engine.Previous(out, folder)
    previous.stamped(matched)
    return previous


def untouched_previous(project: Path) -> tuple[Path, engine.Previous]:
    out = project / "build"
    build(project, out, OPTIONS)
    matched = outfolder.untouched(out, output.spare_folder(project, out))
    assert matched is not None
    return out, read_previous(out, matched)


def test_an_untouched_outputs_manifest_is_read_for_its_tenants_alone_and_says_the_same(
    project: Path, manifest_told: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, previous = untouched_previous(project)
    whole = engine.Previous(out)  # as for an output edited since: no names from its stamp
    assert previous._listed is engine._LATER  # the file list not parsed yet
    assert (list(previous.tenants), previous.damaged) == (list(whole.tenants), None)
    assert len(previous.tenants) == 4
    assert previous.top_level is not None and whole.top_level is None  # the swap reads the manifest's itself
    parsed = json.loads((out / "manifest.json").read_bytes())
    names = {str(entry["path"]).split("/", 1)[0] for entry in parsed["files"]}
    assert set(previous.top_level.names) == {*names, "manifest.json"}  # the stamp's names are the manifest's
    assert parsed["tenants"] == {e.slug: e.listing.entry for e in previous.tenants}
    listed, as_whole = previous.listed(4), whole.listed(4)  # read when first asked for
    assert listed is not None and as_whole is not None
    assert listed[0] == as_whole[0] and list(listed[1]) == list(as_whole[1])
    for slug in parsed["tenants"]:  # each tenant's files, as the whole list parsed gives them, in its order
        expected = [engine._FILE.validate_python(e) for e in parsed["files"] if e.get("tenant") == slug]
        assert expected and previous.files.get(slug) == whole.files.get(slug) == expected


def test_a_manifest_changed_after_its_tenants_were_read_gives_no_file_to_reuse(
    project: Path, manifest_told: str
) -> None:
    out, previous = untouched_previous(project)
    text = (out / "manifest.json").read_text(encoding="utf-8")
    (out / "manifest.json").write_text(text.replace('"bytes": ', '"bytes":  '), encoding="utf-8")
    assert previous.listed(4) is None
    slugs = ("example-fitness", "ihm-connect", "ims-global", "ims-pro")
    assert [previous.files.get(slug) for slug in slugs] == [[]] * 4 and len(previous.tenants) == 0  # none reused


def test_a_rebuild_of_an_untouched_output_never_parses_the_previous_manifest_whole(
    project: Path, manifest_told: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    never_parsed_whole(out / "manifest.json", monkeypatch)
    report = rename_ims_pro_and_build(project, out)
    monkeypatch.undo()
    assert report.rendered_tenants == ["ims-pro"]
    assert tree(out) == cold_build_tree(project, tmp_path)


@pytest.mark.parametrize("budget", [spool.BUDGET, 1], ids=["held", "every tenant's files written out"])
def test_a_rebuild_of_a_touched_output_reads_the_previous_manifest_an_entry_at_a_time(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    # An output changed since its build (a CI cache restored, a file touched): every file reused is checked,
    # but the manifest is not parsed whole, neither for the tenants' files nor for the swap's names (at 10,000
    # tenants it is 88 MB, and 530 MB held once parsed).
    out = project / "build"
    build(project, out, OPTIONS)
    os.utime(out / "example-fitness" / "index.html")  # the stamp no longer matches
    never_parsed_whole(out / "manifest.json", monkeypatch)
    monkeypatch.setattr(spool, "BUDGET", budget)
    report = rename_ims_pro_and_build(project, out)
    monkeypatch.undo()
    assert report.rendered_tenants == ["ims-pro"]  # the others reused, each file checked against its hash
    assert tree(out) == cold_build_tree(project, tmp_path)


@pytest.mark.usefixtures("both_place")
def test_a_touched_outputs_file_list_is_read_once_not_by_both_processes_that_place_tenants(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    os.utime(out / "example-fitness" / "index.html")  # the stamp no longer matches: every tenant's files listed
    reads = tmp_path / "reads"
    real = engine.manifest_file_entries

    def entries(f: BinaryIO) -> Iterator[Any]:
        with reads.open("a") as log:  # appended by whichever process reads it
            log.write(f"{os.getpid()}\n")
        return real(f)

    monkeypatch.setattr(engine, "manifest_file_entries", entries)
    report = rename_ims_pro_and_build(project, out)
    assert report.rendered_tenants == ["ims-pro"]
    assert reads.read_text().splitlines() == [str(os.getpid())]  # by the build process, before the fork
    assert (tmp_path / "forked placing").exists()  # the other process placed tenants too


def never_parsed_whole(manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """json.loads refuses the bytes of *manifest* as they are now (until monkeypatch.undo())."""
    data, real = manifest.read_bytes(), json.loads

    def loads(text: str | bytes, **kwargs: object) -> object:
        assert text not in (data, data.decode()), "the previous manifest parsed whole"
        return real(text, **kwargs)

    monkeypatch.setattr(json, "loads", loads)


def rename_ims_pro_and_build(project: Path, out: Path) -> engine.BuildReport:
    """One tenant's facts edited (ims-pro's display name), and the project built into *out* again."""
    edit = project / "tenants" / "ims-pro" / "tenant.yaml"
    edit.write_text(edit.read_text(encoding="utf-8").replace("display_name: ", "display_name: New ", 1), "utf-8")
    return build(project, out, OPTIONS)


def cold_build_tree(project: Path, tmp_path: Path) -> dict[str, bytes]:
    """The files a cold build of a copy of *project* (no output, no cache) writes."""
    copy = tmp_path / "cold"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".cache", "build"))
    return tree(build(copy, copy / "build", OPTIONS).out)


# --- the previous build's tenants: read item by item, kept in a spool past its budget ---------------------


@dataclasses.dataclass(frozen=True)
class Item:
    slug: str
    n: int


class Read(list[Item]):
    """Items with a slug, counting the passes made over them (each a read of a spool's file past its budget)."""

    passes = 0

    def __iter__(self) -> Iterator[Item]:
        self.passes += 1
        return super().__iter__()


def test_a_tenants_items_are_read_on_in_slug_order_and_from_the_first_only_when_one_before_is_asked_for() -> None:
    items = Read([Item("a", 1), Item("b", 2), Item("b", 3), Item("d", 4)])
    ordered = engine.InSlugOrder(items)
    asked = [(slug, [item.n for item in ordered.of(slug)]) for slug in ("a", "b", "b", "c", "d")]
    assert asked == [("a", [1]), ("b", [2, 3]), ("b", [2, 3]), ("c", []), ("d", [4])]
    assert items.passes == 1  # in slug order, and the same one again: one pass
    assert [item.n for item in ordered.of("b")] == [2, 3] and items.passes == 2  # one before: from the first


def test_the_previous_builds_tenants_kept_in_a_spool_are_looked_up_in_slug_order_and_again_from_the_first(
    project: Path, manifest_told: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(spool, "BUDGET", 1)  # every tenant written out to the spool's file
    out, _ = untouched_previous(project)
    matched = outfolder.untouched(out, output.spare_folder(project, out))
    whole = engine.Previous(out)  # read whole, kept in memory
    with read_previous(out, matched, tmp_path) as previous:
        assert list(previous.tenants) == list(whole.tenants) and len(previous.tenants) == 4
        assert previous.tenants._spool is not None and previous.tenants._spool.spilled == 4
        slugs = [earlier.slug for earlier in whole.tenants]
        assert slugs == sorted(slugs)
        for _ in range(2):  # a build's lookups, then its reuse of each unchanged tenant, from the first again
            assert [found.slug for s in slugs if (found := previous.tenants.get(s)) is not None] == slugs
        assert previous.tenants.get("a") is None and previous.tenants.get("zzz") is None
        assert previous.tenants.get(slugs[1]) == list(whole.tenants)[1]


def test_a_rebuild_whose_previous_tenants_are_spooled_writes_the_site_a_cold_build_writes(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    monkeypatch.setattr(spool, "BUDGET", 1)
    report = rename_ims_pro_and_build(project, out)
    assert report.rendered_tenants == ["ims-pro"] and len(report.tenants) == 4
    again = build(project, out, OPTIONS)
    assert again.unchanged  # every tenant found in the spooled record of the previous build
    assert tree(out) == cold_build_tree(project, tmp_path)


def test_the_previous_manifests_tenants_are_read_holding_the_spools_budget_not_the_site(
    project: Path, manifest_told: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(spool, "BUDGET", 64 << 10)  # written lately or not, its tenants are read from the end
    out, _ = untouched_previous(project)
    matched = outfolder.untouched(out, output.spare_folder(project, out))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    line = manifest["tenants"]["example-fitness"]  # with versions published
    manifest["tenants"] = {f"t{i:05d}": line for i in range(6_000)}  # a site of 6,000 tenants: about 4 MB
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"  # laid out as policygen writes it
    (out / "manifest.json").write_text(text, encoding="utf-8")
    tracemalloc.start()
    try:
        with read_previous(out, matched, tmp_path) as previous:
            peak = tracemalloc.get_traced_memory()[1]
            assert previous._listed is engine._LATER and len(previous.tenants) == 6_000  # read from the end
            assert previous.published.get("t05999")  # read from its line when asked for
    finally:
        tracemalloc.stop()
    tenants_object = len(text) - text.index('\n  "tenants": ')
    # Read whole, parsed and checked, it was held several times over: a peak of 35 MB here, and 16 MB kept
    # through the build (each tenant's line, and the versions each published as pydantic models).
    assert peak < tenants_object / 4, (peak, tenants_object)


def test_a_previous_tenants_line_is_kept_as_the_build_that_wrote_it_would_list_it(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    previous = engine.Previous(out)
    assert previous.published.get("example-fitness")  # a tenant with versions published, whose line lists them
    for earlier in previous.tenants:
        entry = manifest["tenants"][earlier.slug]
        view = engine.view_from_entry(earlier.slug, entry)
        releases = history.read_tenant_record(entry["releases"])
        assert earlier.releases() == releases == previous.published.get(earlier.slug)
        listed = engine.Listing.of(view, entry["inputs"], releases)
        assert json.dumps(earlier.listing.entry) == json.dumps(listed.entry)  # the same keys, in the same order
        assert (earlier.inputs, earlier.documents) == (entry["inputs"], tuple(d.id for d in view.documents))


def test_workers_get_the_published_versions_of_the_tenants_they_render_and_no_others(
    project: Path, tmp_path: Path
) -> None:
    builder = engine.Builder(project, project / "build", OPTIONS)
    builder.build()
    loaded = load_project(project)
    with engine.Previous(project / "build", tmp_path) as previous:
        step = engine.Step(
            loaded, project_theme(loaded), builder._renderer, OPTIONS, "", previous.tenants, previous.published
        )  # type: ignore[arg-type]
        sent = pickle.loads(pickle.dumps(step.for_workers(["example-fitness", "ims-pro"])))
        assert sent.published == {"example-fitness": previous.published.get("example-fitness")}
        assert len(sent.previous) == 0  # nor any tenant to look up: a worker renders


def test_an_untouched_manifest_with_a_line_policygen_does_not_write_is_read_once_and_reuses_nothing(
    project: Path, manifest_told: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out, _ = untouched_previous(project)
    matched = outfolder.untouched(out, output.spare_folder(project, out))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    del manifest["tenants"]["ims-pro"]["inputs"]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    taken: list[object] = []
    real = engine.Previous._take
    monkeypatch.setattr(engine.Previous, "_take", lambda self, items: taken.append(real(self, items)))
    with read_previous(out, matched, tmp_path) as previous:
        assert len(taken) == 1  # laid out as policygen writes it: not read whole after its end
        assert len(previous.tenants) == 0 and previous.tenants.get("example-fitness") is None
        assert previous.published.get("example-fitness")  # its versions are still checked


# --- a few tenants rendered in a second process beside the many linked (Builder._beside) ---------------------


@pytest.fixture
def rendered_by(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The worker's render, noting the id of the process that ran it in the file returned; forking allowed
    (the test process may run other threads) and any number of unchanged tenants enough to render beside."""
    log = tmp_path / "rendered-by"
    real = engine.Step.render

    def noted(step: engine.Step, slug: str) -> engine.TenantResult | list[Problem]:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {slug}\n")
        return real(step, slug)

    monkeypatch.setattr(engine.Step, "render", noted)  # a forked child has it too
    monkeypatch.setattr(engine, "start_method", lambda: "fork")
    monkeypatch.setattr(engine, "BESIDE_MIN_REUSED", 1)
    return log


def test_a_tenant_edited_among_many_unchanged_is_rendered_in_a_second_process_and_the_site_is_the_same(
    project: Path, tmp_path: Path, rendered_by: Path
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    rendered_by.unlink()
    edit_display_name(project, "ims-pro", "Beside")
    report = build(project, out, OPTIONS)
    ((pid, slug),) = [line.split(" ", 1) for line in rendered_by.read_text().splitlines()]
    assert int(pid) != os.getpid() and slug == "ims-pro"
    assert report.rendered_tenants == ["ims-pro"]
    assert tree(out) == tree(build(project, tmp_path / "cold", BuildOptions(today=OPTIONS.today, jobs=1)).out)


@pytest.mark.parametrize("why", ["one job asked for", "too few unchanged to link meanwhile"])
def test_a_tenant_edited_is_rendered_in_this_process_when_a_second_one_does_not_pay(
    project: Path, rendered_by: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    rendered_by.unlink()
    edit_display_name(project, "ims-pro", "Here")
    options = OPTIONS
    if why == "one job asked for":
        options = BuildOptions(today=OPTIONS.today, jobs=1)
    else:
        monkeypatch.setattr(engine, "BESIDE_MIN_REUSED", 4)  # three are unchanged
    assert build(project, out, options).rendered_tenants == ["ims-pro"]
    assert rendered_by.read_text().splitlines() == [f"{os.getpid()} ims-pro"]


@pytest.fixture
def placed_by(rendered_by: Path, both_place: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each unchanged tenant's placing, by this process and the forked one (both surely: both_place), noted with
    the id of the process that placed it and whether its folder was kept whole, in the file returned."""
    log = tmp_path / "placed-by"
    real = output.SiteWriter.keep_intact

    def keep(writer: output.SiteWriter, top: str, folders: Iterable[str]) -> bool:
        kept = real(writer, top, list(folders))
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {top} {'whole' if kept else 'linked'}\n")
        return kept

    monkeypatch.setattr(output.SiteWriter, "keep_intact", keep)
    return log


def placings(log: Path) -> list[tuple[int, str, str]]:
    found = [line.split(" ") for line in log.read_text().splitlines()]
    log.unlink()
    for flag in ("here placing", "forked placing"):
        (log.parent / flag).unlink()
    return sorted((int(pid), slug, how) for pid, slug, how in found)


def test_unchanged_tenants_are_placed_by_both_processes_and_the_site_and_its_records_are_a_single_ones(
    project: Path, tmp_path: Path, placed_by: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first rebuild after a cold build links every unchanged file (no spare yet); the next keeps the spare's
    # folders whole, those the forked process placed too (the writer's records of them came back); after both,
    # a build with nothing changed is told unchanged (the stamp lists every folder either process placed).
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    out = project / "build"
    build(project, out, OPTIONS)
    unchanged = ["example-fitness", "ihm-connect", "ims-global"]
    for name, how in (("First", "linked"), ("Second", "whole")):
        edit_display_name(project, "ims-pro", name)
        report = build(project, out, OPTIONS)
        assert report.rendered_tenants == ["ims-pro"]
        placed = placings(placed_by)
        assert sorted(slug for _, slug, _ in placed) == unchanged  # each once
        pids = {pid for pid, _, _ in placed}
        assert os.getpid() in pids and len(pids) == 2  # this process and the forked one
        assert {h for _, _, h in placed} == {how}
        cold = build(project, tmp_path / f"cold-{name}", BuildOptions(today=OPTIONS.today, jobs=1)).out
        assert tree(out) == tree(cold)
        walked = tmp_path / f"walked-{name}.stamp"  # the stamp covers every folder, as a walk of the output
        statcache.Stamp.walk(out, {p.name for p in out.iterdir()}, walked)
        assert groups(stamp_file(project, out)) == groups(walked)
    assert build(project, out, OPTIONS).unchanged


@pytest.mark.parametrize("how", ["an error", "killed"])
def test_a_forked_process_that_fails_while_placing_fails_the_build_and_leaves_the_output_as_it_was(
    project: Path, tmp_path: Path, rendered_by: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    before = tree(out)
    here, real, tried = os.getpid(), engine._Placing.place, tmp_path / "forked one tried"

    def place(placing: engine._Placing, slug: str) -> engine.TenantResult | list[Problem] | None:
        if os.getpid() != here:
            tried.touch()
            if how == "killed":
                os.kill(os.getpid(), 9)
            raise OSError(28, "No space left on device", slug)
        deadline = time.monotonic() + 30  # this process waits for the forked one to take a chunk
        while not tried.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        return real(placing, slug)

    monkeypatch.setattr(beside, "CHUNK", 1)
    monkeypatch.setattr(engine._Placing, "place", place)
    edit_display_name(project, "ims-pro", "Failing")
    with pytest.raises(OSError) as raised:
        build(project, out, OPTIONS)
    if how == "killed":
        assert isinstance(raised.value, ChildProcessError)
    else:
        assert raised.value.errno == 28 and raised.value.filename in {"example-fitness", "ihm-connect", "ims-global"}
    assert tree(out) == before
    monkeypatch.setattr(engine._Placing, "place", real)
    build(project, out, OPTIONS)
    assert tree(out) == tree(build(project, tmp_path / "cold", BuildOptions(today=OPTIONS.today, jobs=1)).out)
