"""A crash loses nothing: builds and releases killed with SIGKILL at chosen points.

A child process runs the real `policygen build` (or `release`) with one function
wrapped so that it stops at a chosen point and tells the parent, which then kills
it with SIGKILL: before anything is written, in the middle of writing the staging
folder, just before and just after the swap, and while the old output is being
removed. Afterwards the output folder must be exactly one complete site (the
previous one, or the new one once the swap happened), checked file by file
against its manifest; nothing outside it may have changed; and a rerun must succeed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_project

from policygen.cli import cli
from policygen.versions import load_releases

TODAY = "2026-06-01"

# The child: wrap one function so that it signals the parent and waits to be killed.
CHILD = r"""
import os, pathlib, shutil, sys, time
point, nth, ready = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
calls = [0]

def stop():
    ready.write_text(point)
    time.sleep(600)

def nth_call():
    calls[0] += 1
    return calls[0] == nth

import policygen.output as output
import policygen.engine as engine

if point == "before-write":
    engine.write_site = lambda *a, **k: stop()
elif point == "mid-write":  # the writer writes a site's files with output.write_new, others with write_bytes
    real_write_bytes, real_write_new = pathlib.Path.write_bytes, output.write_new
    def write_bytes(self, data):
        if ".policygen-new" in str(self) and nth_call():
            stop()
        return real_write_bytes(self, data)
    def write_new(file, data):
        if ".policygen-new" in str(file) and nth_call():
            stop()
        return real_write_new(file, data)
    pathlib.Path.write_bytes, output.write_new = write_bytes, write_new
elif point == "pause-mid-write":  # like mid-write, but goes on once the parent creates <ready>.go
    real_write_bytes, real_write_new = pathlib.Path.write_bytes, output.write_new
    def pause(file):
        if ".policygen-new" in str(file) and nth_call():
            ready.write_text(point)
            go = ready.with_name(ready.name + ".go")
            while not go.exists():
                time.sleep(0.01)
    def write_bytes(self, data):
        pause(self)
        return real_write_bytes(self, data)
    def write_new(file, data):
        pause(file)
        return real_write_new(file, data)
    pathlib.Path.write_bytes, output.write_new = write_bytes, write_new
elif point == "note-lock":  # says when it asks for the output lock, then asks
    import fcntl
    real_flock = fcntl.flock
    def flock(fd, op):
        ready.write_text(point)
        return real_flock(fd, op)
    fcntl.flock = flock
elif point == "before-swap":
    output._swap = lambda staging, out: stop()
elif point == "after-swap":
    real_swap = output._swap
    def swap(staging, out):
        real_swap(staging, out)
        stop()
    output._swap = swap
elif point == "mid-cleanup":
    real_swap = output._swap
    def swap(staging, out):
        real_swap(staging, out)
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        for p in files[: len(files) // 2]:
            p.unlink()
        stop()
    output._swap = swap
elif point == "release-before-link":
    real_link = os.link
    def link(src, dst, **kw):
        if nth_call():
            stop()
        return real_link(src, dst, **kw)
    os.link = link
elif point == "release-after-link":
    real_link = os.link
    def link(src, dst, **kw):
        result = real_link(src, dst, **kw)
        if nth_call():
            stop()
        return result
    os.link = link
elif point == "release-mid-temp":
    real_fsync = os.fsync
    def fsync(fd):
        if nth_call():
            stop()
        return real_fsync(fd)
    os.fsync = fsync
elif point != "none":
    raise SystemExit(f"unknown point {point}")

from policygen.cli import main
sys.argv = ["policygen", *sys.argv[4:]]
main()
"""


def run_and_kill(tmp: Path, point: str, nth: int, args: list[str]) -> None:
    """Run policygen in a child stopped at *point*, and SIGKILL it there."""
    ready = tmp / f"ready-{point}-{nth}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, point, str(nth), str(ready), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not ready.exists():
            if child.poll() is not None:
                pytest.fail(f"the child ended (exit {child.returncode}) before reaching {point}: {child.stderr.read()}")
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL


def kill_after(delay: float, args: list[str]) -> int:
    """Run policygen and SIGKILL it after *delay* seconds (if it is still running); its exit status."""
    child = subprocess.Popen(
        [sys.executable, "-m", "policygen", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        child.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    return child.returncode


def tree(folder: Path) -> dict[str, str]:
    """Every file under *folder* and the hash of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# What a build remembers of file metadata (policygen/statcache.py) and the clause library as it read it
# (policygen/librarycache.py): scratch, saved before the output is written and never trusted without checking
# the files' stat again, so a crash may leave it either way. The library is kept only once its folders have
# been still for two seconds (the racy-git rule): whether the killed build, or only the rerun, keeps it
# depends on how long the fixture's builds took after the project was copied.
SCRATCH = (".cache/policygen/digests", ".cache/policygen/stamps/", ".cache/policygen/library")


def sources_of(project: Path) -> dict[str, str]:
    """The project's files, without the build's scratch records of file metadata and of the library read."""
    return {k: v for k, v in tree(project).items() if not k.startswith(SCRATCH)}


def assert_complete_site(out: Path) -> bytes:
    """The folder holds exactly the files its manifest lists, each with the listed hash; returns the manifest."""
    manifest = (out / "manifest.json").read_bytes()
    listed = {entry["path"]: entry["sha256"] for entry in json.loads(manifest)["files"]}
    on_disk = tree(out)
    on_disk.pop("manifest.json")
    assert on_disk == listed
    return manifest


def build_in_process(project: Path, out: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--out", str(out), "--today", TODAY])
    assert result.exit_code == 0, result.output


@pytest.fixture
def sites(tmp_path: Path) -> tuple[Path, Path, bytes, bytes]:
    """(project, out, the manifest of the site in out, the manifest the edited project builds)."""
    project = copy_project(tmp_path / "work" / "project")
    out = tmp_path / "work" / "site"
    build_in_process(project, out)
    previous = assert_complete_site(out)
    facts = project / "tenants/ims-pro/tenant.yaml"
    facts.write_text(
        facts.read_text(encoding="utf-8").replace("display_name: IMS Pro", "display_name: IMS Pro Two", 1),
        encoding="utf-8",
    )
    build_in_process(project, tmp_path / "expected")
    expected = assert_complete_site(tmp_path / "expected")
    assert expected != previous
    return project, out, previous, expected


POINTS = [
    ("before-write", 1),
    ("mid-write", 1),
    ("mid-write", 12),
    ("before-swap", 1),
    ("after-swap", 1),
    ("mid-cleanup", 1),
]


@pytest.mark.parametrize(("point", "nth"), POINTS, ids=[f"{p}-{n}" for p, n in POINTS])
@pytest.mark.slow
def test_a_killed_build_leaves_one_complete_site_and_a_rerun_succeeds(
    sites: tuple[Path, Path, bytes, bytes], tmp_path: Path, point: str, nth: int
) -> None:
    project, out, previous, expected = sites
    work = out.parent
    sources = sources_of(project)
    run_and_kill(tmp_path, point, nth, ["-C", str(project), "build", "--out", str(out), "--today", TODAY])

    manifest = assert_complete_site(out)
    assert manifest == (expected if point in {"after-swap", "mid-cleanup"} else previous)
    assert sources_of(project) == sources  # nothing outside the output folder changed ...
    leftovers = sorted(p.name for p in work.iterdir())
    assert set(leftovers) <= {
        "project",
        "site",
        ".site.policygen-new",
        ".site.policygen-old",
    }  # ... but policygen's staging

    build_in_process(project, out)
    assert assert_complete_site(out) == expected
    assert sorted(p.name for p in work.iterdir()) == ["project", "site"]  # the rerun cleared the staging folder


SPARE_POINTS = [("mid-write", 1), ("before-swap", 1), ("after-swap", 1), ("mid-cleanup", 1)]


@pytest.mark.slow
@pytest.mark.parametrize(("point", "nth"), SPARE_POINTS, ids=[f"{p}-{n}" for p, n in SPARE_POINTS])
def test_a_build_killed_while_updating_the_kept_previous_output_leaves_one_complete_site(
    tmp_path: Path, point: str, nth: int
) -> None:
    project = copy_project(tmp_path / "work" / "project")
    out = tmp_path / "work" / "site"
    build_in_process(project, out)
    build_in_process(project, out)  # keeps the first output in .cache/policygen/ for the next build to update
    previous = assert_complete_site(out)
    facts = project / "tenants/ims-pro/tenant.yaml"
    facts.write_text(facts.read_text(encoding="utf-8").replace("IMS Pro", "IMS Pro Two", 1), encoding="utf-8")
    build_in_process(project, tmp_path / "expected")
    expected = assert_complete_site(tmp_path / "expected")
    run_and_kill(tmp_path, point, nth, ["-C", str(project), "build", "--out", str(out), "--today", TODAY])

    assert assert_complete_site(out) == (expected if point in {"after-swap", "mid-cleanup"} else previous)
    build_in_process(project, out)
    assert assert_complete_site(out) == expected
    assert sorted(p.name for p in out.parent.iterdir()) == ["project", "site"]
    build_in_process(project, out)  # and the output kept after the crash gives the same site again
    assert assert_complete_site(out) == expected


@pytest.mark.slow
def test_builds_killed_at_random_moments_always_leave_a_complete_site(sites: tuple[Path, Path, bytes, bytes]) -> None:
    project, out, previous, expected = sites
    chance = random.Random(20261122)
    for _ in range(4):
        kill_after(chance.uniform(0.2, 2.5), ["-C", str(project), "build", "--out", str(out), "--today", TODAY])
        assert assert_complete_site(out) in {previous, expected}
    build_in_process(project, out)
    assert assert_complete_site(out) == expected


def start(tmp: Path, point: str, nth: int, args: list[str]) -> tuple[subprocess.Popen[str], Path]:
    """Start policygen in a child with *point* armed; wait until it gets there (or ends)."""
    ready = tmp / f"ready-{point}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, point, str(nth), str(ready), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not ready.exists() and child.poll() is None:
        time.sleep(0.01)
    return child, ready


@pytest.mark.slow
def test_two_builds_into_one_folder_take_turns_and_never_tear_it(
    sites: tuple[Path, Path, bytes, bytes], tmp_path: Path
) -> None:
    project, out, _, expected = sites
    args = ["-C", str(project), "build", "--out", str(out), "--today", TODAY]
    first, first_ready = start(tmp_path, "pause-mid-write", 10, args)
    assert first_ready.exists(), "the first build never reached its tenth file"
    second, _ = start(tmp_path, "note-lock", 1, args)  # waits for the first, or (unlocked) runs to its end
    first_ready.with_name(first_ready.name + ".go").write_text("go")
    for child in (first, second):
        assert child.wait(timeout=300) == 0, child.stderr.read() if child.stderr else ""
        if child.stderr:
            child.stderr.close()
    assert assert_complete_site(out) == expected
    assert sorted(p.name for p in out.parent.iterdir()) == ["project", "site"]


def test_a_build_writes_nothing_outside_its_output_folder_and_the_projects_cache(
    sites: tuple[Path, Path, bytes, bytes],
) -> None:
    project, out, _, _ = sites
    before = sources_of(project)
    neighbours = sorted(p.name for p in out.parent.iterdir())
    build_in_process(project, out)
    # The previous output is kept in the project's git-ignored cache for the next build to update, with
    # what it remembers of file metadata.
    assert {p for p in sources_of(project) if not p.startswith(".cache/policygen/spare/")} == set(before)
    assert {k: v for k, v in sources_of(project).items() if k in before} == before
    assert sorted(p.name for p in out.parent.iterdir()) == neighbours


# --- releases -------------------------------------------------------------------------------

DOCUMENTS = ["data-deletion-policy", "data-usage-policy", "privacy-policy"]


def histories(tenant: Path) -> dict[str, list[str]]:
    """Each document's verified snapshot hashes; load_releases raises on a torn or damaged file."""
    return {doc: [s.hash for s in load_releases(tenant, doc)] for doc in DOCUMENTS}


@pytest.fixture
def releasable(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    """A project whose ihm-connect has an edit in all three documents, and its histories before."""
    project = copy_project(tmp_path / "project")
    facts = project / "tenants/ihm-connect/tenant.yaml"
    text = facts.read_text(encoding="utf-8")
    name = text.split("legal_name:", 1)[1].split("\n", 1)[0].strip()
    facts.write_text(text.replace(f"legal_name: {name}", "legal_name: IHM Connect Renamed Ltd", 1), encoding="utf-8")
    clause = sorted((project / "content/data-deletion-policy").glob("*.md"))[-1]  # the deletion policy names no company
    clause.write_text(clause.read_text(encoding="utf-8") + "\nWe answer every request.\n", encoding="utf-8")
    return project, histories(project / "tenants/ihm-connect")


RELEASE_POINTS = [
    ("release-mid-temp", 1),
    ("release-before-link", 1),
    ("release-after-link", 1),
    ("release-after-link", 2),
    ("release-after-link", 3),
]


@pytest.mark.parametrize(("point", "nth"), RELEASE_POINTS, ids=[f"{p}-{n}" for p, n in RELEASE_POINTS])
@pytest.mark.slow
def test_a_killed_release_leaves_no_torn_snapshot_and_a_rerun_completes_it(
    releasable: tuple[Path, dict[str, list[str]]], tmp_path: Path, point: str, nth: int
) -> None:
    project, before = releasable
    tenant = project / "tenants/ihm-connect"
    args = ["-C", str(project), "release", "ihm-connect", "--effective", "2027-01-01", "--released", "2026-11-22"]
    run_and_kill(tmp_path, point, nth, args)

    after = histories(tenant)  # every snapshot file there verifies
    for doc in DOCUMENTS:
        assert after[doc][: len(before[doc])] == before[doc]  # released history is untouched
        assert len(after[doc]) - len(before[doc]) in {0, 1}
    released = sum(len(after[d]) - len(before[d]) for d in DOCUMENTS)
    assert released == (nth if point == "release-after-link" else 0)

    rerun = CliRunner().invoke(cli, args)
    if released == len(DOCUMENTS):
        assert rerun.exit_code == 1 and "nothing to release" in rerun.stderr
    else:
        assert rerun.exit_code == 0, rerun.output
    final = histories(tenant)
    assert all(len(final[d]) == len(before[d]) + 1 for d in DOCUMENTS)
    assert not list(tenant.glob("releases/*/.*.tmp"))  # the rerun removed what the killed release left
    build_in_process(project, tmp_path / "site")
