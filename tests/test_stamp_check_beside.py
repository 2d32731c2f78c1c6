"""The output's stamp check runs in a second process while `policygen build` imports the engine and loads
the project (policygen/prebuild.py, policygen/stampcheck.py), and the build takes its result where it used to
run it.

It gives exactly what the check run inline gives; anything that goes wrong in the child means "not
untouched", never a wrong "untouched"; the time the build counts from is taken before the check began, and
an output changed at its top while the check's result waited is not trusted; the child is always waited for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import signal
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import reaped

from policygen import engine, forked, outfolder, output, prebuild, stampcheck, statcache, tenantfolders
from policygen.cli import cli
from policygen.engine import build
from policygen.site import BuildOptions
from policygen.statcache import TopHashes

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))
TODAY = dt.date(2026, 11, 22)


def beside(out: Path, spare: Path) -> contextlib.AbstractContextManager[None]:
    """The child the command line starts, for a build of part of the site into *out*: it checks the stamp only."""
    return prebuild.beside(prebuild.Build(out.parent, TODAY, False, out, spare, whole=False))


def taken(out: Path, spare: Path) -> stampcheck.Checked:
    """The stamp check's result as a build into *out* (of the project beside it) takes it."""
    return prebuild.taken(prebuild.ahead(out.parent, TODAY, False), out, spare).checked


def started() -> forked.Child | None:
    """The child `beside` started, until taken."""
    return None if prebuild._started is None else prebuild._started.child


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def edit_tenant(project: Path, name: str) -> None:
    file = project / "tenants/ims-pro/tenant.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("display_name: ", f"display_name: {name} ", 1))


@pytest.fixture
def stamped(project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """An output built twice (it has a stamp and a spare, and its other tenants were reused), then one tenant
    edited: the next build checks the output's stamp. Its folder and spare."""
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)  # folders changed a moment ago are remembered intact
    out = project / "build"
    for name in ("Once", "Twice"):
        edit_tenant(project, name)
        build(project, out, OPTIONS)
    edit_tenant(project, "Thrice")
    return out.resolve(), output.spare_folder(project, out.resolve())


FORK_IS_SAFE = prebuild.fork_is_safe


@pytest.fixture(autouse=True)
def no_other_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line runs no thread when it forks the check; the test process may (the browser tests'
    servers), so the tests here fork as the command line does, wherever fork is the platform's."""
    monkeypatch.setattr(prebuild, "fork_is_safe", lambda: sys.platform == "linux")


def test_no_check_is_forked_while_another_thread_runs_and_the_build_checks_inline(
    stamped: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prebuild, "fork_is_safe", FORK_IS_SAFE)  # the real rule
    out, spare = stamped
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert not prebuild.fork_is_safe()
        with beside(out, spare):
            assert started() is None
            assert taken(out, spare).matched == stampcheck.check_now(out, spare).matched
    finally:
        stop.set()
        thread.join()


@pytest.fixture
def checkers(stamped: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """stampcheck's check, noting the id of the process that ran it (and when) in the file returned (once
    the output is *stamped*)."""
    log = tmp_path / "checked-by"
    real = stampcheck.untouched

    def noted(
        out: Path, spare: Path, since: int | None = None, check: outfolder.StampCheck = statcache.Stamp.check
    ) -> statcache.Matched | None:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {time.time_ns()}\n")
        return real(out, spare, since, check)

    monkeypatch.setattr(stampcheck, "untouched", noted)
    return log


def checked_by(log: Path) -> list[tuple[int, int]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [(int(pid), int(ns)) for pid, ns in (line.split() for line in lines)]


def finished(child: forked.Child) -> None:
    """Wait until the child has ended (its message is in the pipe), without taking its result."""
    for _ in range(500):
        if os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return
        time.sleep(0.01)
    raise AssertionError("the check did not end")


# --- the same result, from another process ------------------------------------------------------------


@pytest.mark.parametrize("touched", [False, True], ids=["matching", "touched"])
def test_the_check_runs_in_a_child_process_and_gives_exactly_the_inline_result(
    project: Path, stamped: tuple[Path, Path], checkers: Path, touched: bool
) -> None:
    out, spare = stamped
    if touched:
        (out / "ims-pro/privacy-policy/stray.html").write_bytes(b"x")
    inline = stampcheck.check_now(out, spare)
    with beside(out, spare):
        child = started()
        assert child is not None
        pid = child.pid
        result = taken(out, spare)
    assert (result.matched is None) == touched
    assert result.matched == inline.matched  # the proof and the very top-level names
    assert [each for each, _ in checked_by(checkers)] == [os.getpid(), pid]  # inline, then the child
    assert reaped(pid)


def test_a_command_line_build_takes_the_childs_result_and_writes_what_a_cold_build_writes(
    project: Path, stamped: tuple[Path, Path], tmp_path: Path, checkers: Path
) -> None:
    out, _ = stamped
    done = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", "2026-11-22"])
    assert done.exit_code == 0, done.output
    pids = [pid for pid, _ in checked_by(checkers)]
    assert len(pids) == 1 and pids[0] != os.getpid()  # checked once, by another process
    assert "1 rendered" in done.output
    assert tree(out) == tree(build(project, tmp_path / "cold", OPTIONS).out)


def test_the_child_hashes_the_tenants_folders_and_the_build_reads_the_manifest_while_the_stamp_is_checked(
    project: Path, stamped: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither needs the check's result: the child hashes the folders before it checks the stamp (the build
    needs them first), and the build reads the previous manifest meanwhile instead of waiting."""
    out, _ = stamped
    began, ended, hashed_by = tmp_path / "check-began", tmp_path / "check-ended", tmp_path / "hashed-by"
    real = stampcheck.untouched

    def slow(
        out: Path, spare: Path, since: int | None = None, check: outfolder.StampCheck = statcache.Stamp.check
    ) -> statcache.Matched | None:
        began.write_text(str(time.monotonic_ns()))
        time.sleep(1)
        try:
            return real(out, spare, since, check)
        finally:
            ended.write_text(str(time.monotonic_ns()))

    read_manifest = engine.Previous._read
    hash_folders = tenantfolders.FolderHashes.of.__func__  # type: ignore[attr-defined]
    done: dict[str, int] = {}

    def hashed(cls: type[tenantfolders.FolderHashes], *args: object) -> tenantfolders.FolderHashes:
        try:
            return hash_folders(cls, *args)  # type: ignore[no-any-return]
        finally:
            with open(hashed_by, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {time.monotonic_ns()}\n")

    def read(self: engine.Previous) -> object:
        try:
            return read_manifest(self)
        finally:
            done["manifest read"] = time.monotonic_ns()

    stamped_with: list[statcache.Matched | None] = []
    real_stamped = engine.Previous.stamped

    def stamped(self: engine.Previous, matched: statcache.Matched | None) -> None:
        stamped_with.append(matched)
        real_stamped(self, matched)

    monkeypatch.setattr(stampcheck, "untouched", slow)
    monkeypatch.setattr(tenantfolders.FolderHashes, "of", classmethod(hashed))
    monkeypatch.setattr(engine.Previous, "_read", read)
    monkeypatch.setattr(engine.Previous, "stamped", stamped)
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", "2026-11-22"])

    assert result.exit_code == 0, result.output
    assert "1 rendered" in result.output  # the others were placed as unchanged
    assert len(stamped_with) == 1 and stamped_with[0] is not None  # the child's result, a match, was taken
    ((pid, hashed_at),) = [tuple(map(int, line.split())) for line in hashed_by.read_text().splitlines()]
    assert pid != os.getpid() and hashed_at <= int(began.read_text())  # hashed once, by the child, first
    assert done["manifest read"] < int(ended.read_text())
    assert tree(out) == tree(build(project, tmp_path / "cold", OPTIONS).out)


def test_a_builder_used_without_the_command_line_checks_in_its_own_process(
    project: Path, stamped: tuple[Path, Path], checkers: Path
) -> None:
    out, _ = stamped
    engine.Builder(project, out, OPTIONS).build()  # as serve uses it
    assert [pid for pid, _ in checked_by(checkers)] == [os.getpid()]


def test_a_builder_used_without_the_command_line_shares_a_large_stamps_check_with_a_child_of_its_own(
    project: Path, stamped: tuple[Path, Path], shares: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = stamped
    on_cores(monkeypatch, 2)
    monkeypatch.setattr(stampcheck, "SHARED_MIN_WAITED", 0)  # it waits for the check, as for "nothing changed"
    report = engine.Builder(project, out, OPTIONS).build()
    checks = noted_shares(shares)
    assert in_two_shares_by_two_processes(checks) and (os.getpid(), 0, 2) in checks
    assert report.rendered_tenants == ["ims-pro"]  # found untouched: every other tenant reused
    assert tree(out) == tree(build(project, tmp_path / "cold", OPTIONS).out)


def test_a_check_started_for_another_output_is_ended_and_the_check_run_inline(
    project: Path, stamped: tuple[Path, Path], checkers: Path
) -> None:
    out, spare = stamped
    other = project / "elsewhere"
    with beside(out, spare):
        child = started()
        assert child is not None
        pid = child.pid
        assert taken(other, output.spare_folder(project, other)).matched is None
        assert reaped(pid) and started() is None
        assert taken(out, spare).matched is not None  # run inline: nothing left to take
    assert checked_by(checkers)[-1][0] == os.getpid()


@pytest.mark.parametrize("why", ["no fork here", "no stamp"])
def test_no_child_is_started_where_fork_is_not_safe_or_there_is_no_stamp(
    project: Path, stamped: tuple[Path, Path], checkers: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    out, spare = stamped
    if why == "no fork here":
        monkeypatch.setattr(sys, "platform", "win32")
    else:
        outfolder.stamp_file(spare).unlink()
    with beside(out, spare):
        assert started() is None
        result = taken(out, spare)
    assert (result.matched is None) == (why == "no stamp")
    assert [pid for pid, _ in checked_by(checkers)] == [os.getpid()]


# --- an output changed while the result waited ---------------------------------------------------------


def test_the_time_a_build_counts_from_is_taken_before_the_check_began(
    project: Path, stamped: tuple[Path, Path], checkers: Path
) -> None:
    out, spare = stamped
    before = time.time_ns()
    with beside(out, spare):
        result = taken(out, spare)
    ((pid, began),) = checked_by(checkers)
    assert pid != os.getpid() and before <= result.since <= began


@pytest.mark.parametrize(
    "change",
    [
        lambda out: (out / "stray.html").write_bytes(b"x"),
        lambda out: os.replace(out / "manifest.json", out / "index.html"),
        lambda out: (out / "index.html").rename(out / "index.htm"),
    ],
    ids=["an entry added", "a file replaced", "an entry renamed"],
)
def test_an_output_changed_at_its_top_after_the_check_ended_is_not_taken_as_untouched(
    project: Path, stamped: tuple[Path, Path], checkers: Path, change: Callable[[Path], object]
) -> None:
    out, spare = stamped
    with beside(out, spare):
        child = started()
        assert child is not None
        finished(child)  # the child found the output matching its stamp, and said so
        time.sleep(0.01)
        change(out)
        assert taken(out, spare).matched is None
    assert stampcheck.check_now(out, spare).matched is None  # as the check run now says


def test_a_stamp_written_again_after_the_check_ended_is_not_taken(
    project: Path, stamped: tuple[Path, Path], checkers: Path
) -> None:
    out, spare = stamped
    with beside(out, spare):
        child = started()
        assert child is not None
        finished(child)
        file = outfolder.stamp_file(spare)
        statcache.Stamp.walk(out, {p.name for p in out.iterdir()}, file)  # as another build's would be
        assert taken(out, spare).matched is None


def test_a_tenant_folder_changed_after_the_check_began_is_not_taken_as_intact_by_the_next_build(
    project: Path, stamped: tuple[Path, Path], tmp_path: Path, checkers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file added deep in the output changes no stat at its top: the build takes the output as untouched
    # and keeps the spare's copy of that tenant (the very files the stamp vouched for). What it remembers of
    # the output's folders for the next build (SiteWriter.keep_intact) is their stat as the check saw it,
    # before the change: the changed folder (now the spare's) no longer has it, so the next build does not
    # keep it whole, and the stray file is in neither site.
    out, spare = stamped
    real = prebuild.taken

    def added_meanwhile(looking: prebuild.Ahead | None, out: Path, spare: Path) -> prebuild.Looked:
        assert looking is not None
        finished(looking.started.child)
        time.sleep(0.01)
        (out / "ihm-connect/privacy-policy/stray.html").write_bytes(b"not policygen's")
        return real(looking, out, spare)

    monkeypatch.setattr(prebuild, "taken", added_meanwhile)
    done = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", "2026-11-22"])
    assert done.exit_code == 0, done.output
    monkeypatch.setattr(prebuild, "taken", real)
    assert tree(out) == tree(build(project, tmp_path / "cold", OPTIONS).out)
    intact = output.read_intact(output.intact_record(spare))
    assert intact is not None
    assert intact["ims-global"] == statcache.folders_seen(str(spare), folders_in(spare, "ims-global"))[0]  # type: ignore[index]
    assert intact["ihm-connect"] != statcache.folders_seen(str(spare), folders_in(spare, "ihm-connect"))[0]  # type: ignore[index]
    kept: list[str] = []
    real_keep = output.SiteWriter.keep_intact

    def keep_spy(writer: output.SiteWriter, top: str, folders: Collection[str]) -> bool:
        taken = real_keep(writer, top, folders)
        kept.extend([top] if taken else [])
        return taken

    monkeypatch.setattr(output.SiteWriter, "keep_intact", keep_spy)
    edit_tenant(project, "Again")
    build(project, out, OPTIONS)
    assert "ims-global" in kept and "ihm-connect" not in kept
    assert tree(out) == tree(build(project, tmp_path / "cold2", OPTIONS).out)


def test_what_a_build_remembers_of_the_outputs_folders_is_what_the_stamp_check_saw(
    stamped: tuple[Path, Path], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The output's folders are looked at once, by the check, not again to be remembered.
    out, spare = stamped
    real = prebuild.taken

    def as_seen(looking: prebuild.Ahead | None, out: Path, spare: Path) -> prebuild.Looked:
        looked = real(looking, out, spare)
        checked = looked.checked
        assert checked.matched is not None and "ims-global" in checked.matched.folders
        folders = TopHashes.of(checked.matched.names, {**checked.matched.folders, "ims-global": b"\x55" * 32})
        return replace(looked, checked=replace(checked, matched=replace(checked.matched, folders=folders)))

    monkeypatch.setattr(prebuild, "taken", as_seen)
    build(project, out, OPTIONS)
    intact = output.read_intact(output.intact_record(spare))
    assert intact is not None and intact["ims-global"] == b"\x55" * 32


def test_a_stamp_check_sees_each_folders_stat_unless_changed_lately(stamped: tuple[Path, Path]) -> None:
    out, spare = stamped
    file = outfolder.stamp_file(spare)
    matched = statcache.Stamp.check(out, file, time.time_ns())
    assert matched is not None and set(matched.folders) == {p.name for p in out.iterdir() if p.is_dir()}
    for name, hashed in matched.folders.items():
        assert hashed == statcache.folders_seen(str(out), folders_in(out, name))[0]  # type: ignore[index]
    assert statcache.Stamp.check(out, file) == replace(matched, folders=TopHashes.of(matched.names, {}))  # none seen
    latest = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in out.glob("ims-pro/**/") if p.is_dir())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(statcache, "RACY_SECONDS", 1)
        lately = statcache.Stamp.check(out, file, latest + 10**9)
    assert lately is not None and "ims-pro" not in lately.folders and "ims-global" in lately.folders


def folders_in(out: Path, name: str) -> list[str]:
    return [p.relative_to(out).as_posix() for p in [out / name, *(out / name).rglob("*")] if p.is_dir()]


# --- a child that fails -------------------------------------------------------------------------------


TESTS = os.getpid()
CHECK = stampcheck.untouched
ENCODED = stampcheck._encoded


def in_the_child(failure: Callable[[Path, Path], object]) -> Callable[[Path, Path], object]:
    """A check that fails as *failure* does in a child process, and runs as usual in the tests' own."""

    def check(
        out: Path, spare: Path, since: int | None = None, check: outfolder.StampCheck = statcache.Stamp.check
    ) -> object:
        return CHECK(out, spare, since, check) if os.getpid() == TESTS else failure(out, spare)

    return check


def _raises(out: Path, spare: Path) -> None:
    raise RuntimeError("a bug")


FAILURES: dict[str, tuple[str, Callable[..., object]]] = {
    "exits at once, status 0": ("untouched", in_the_child(lambda out, spare: os._exit(0))),
    "exits with an error": ("untouched", in_the_child(lambda out, spare: os._exit(3))),
    "is killed": ("untouched", in_the_child(lambda out, spare: os.kill(os.getpid(), signal.SIGKILL))),
    "raises": ("untouched", in_the_child(_raises)),
    "sends garbage": ("_encoded", lambda matched: b"policygen stamp check 3\nmatched yes\n"),
    "sends a result cut short": ("_encoded", lambda matched: ENCODED(matched)[:-2]),
    "sends a result and more": ("_encoded", lambda matched: ENCODED(matched) + b"\0extra"),
    "sends another format": ("_encoded", lambda matched: ENCODED(matched).replace(b"check 3", b"check 2")),
    "sends its hashes cut short": ("_encoded", lambda matched: ENCODED(matched)[:-1]),
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=list(FAILURES))
def test_a_child_that_fails_or_sends_garbage_means_not_untouched_and_the_build_is_still_right(
    project: Path,
    stamped: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: tuple[str, Callable[..., object]],
) -> None:
    out, spare = stamped
    assert stampcheck.check_now(out, spare).matched is not None  # inline, the output is untouched
    monkeypatch.setattr(stampcheck, *failure)
    with beside(out, spare):
        child = started()
        assert child is not None
        pid = child.pid
        assert taken(out, spare).matched is None
    assert reaped(pid)
    done = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", "2026-11-22"])
    assert done.exit_code == 0, done.output
    assert tree(out) == tree(build(project, tmp_path / "cold", OPTIONS).out)


def test_a_result_the_child_did_send_is_read_back_as_it_was(stamped: tuple[Path, Path]) -> None:
    out, spare = stamped
    matched = stampcheck.check_now(out, spare).matched
    assert matched is not None and len(matched.names) > 3 and matched.folders
    assert stampcheck.matched_in(stampcheck._encoded(matched)) == matched
    odd = statcache.Matched("0" * 64, TopHashes.of(["caf\udce9", "a b"], {"a b": b"\x11" * 32}))  # not UTF-8; a space
    assert stampcheck.matched_in(stampcheck._encoded(odd)) == odd
    assert stampcheck.matched_in(stampcheck._encoded(None)) is None


def test_a_result_of_thirty_thousand_names_is_read_without_a_copy_of_all_of_it() -> None:
    # The names and hashes are sliced from the message: a copy of all that follows its first line was made too.
    names = [sys.intern(f"tenant-{i:05d}") for i in range(30_000)]  # the build's own (tenant_slugs)
    matched = statcache.Matched("0" * 64, TopHashes.of(names, {n: hashlib.sha256(n.encode()).digest() for n in names}))
    data = stampcheck._encoded(matched)
    tracemalloc.start()
    try:
        assert stampcheck.matched_in(data) == matched
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.85 * len(data)  # the names split, the hashes kept; with the copy, about 3.4 times


def test_a_result_with_its_names_out_of_order_or_twice_is_none() -> None:
    for names in (["b", "a"], ["a", "a"]):
        message = stampcheck._encoded(statcache.Matched("0" * 64, TopHashes(names, bytes(64))))
        assert stampcheck.matched_in(message) is None


def test_the_top_level_names_are_held_sorted_with_a_hash_for_those_that_have_one() -> None:
    hashes = TopHashes.of(["b", "index.html", "a"], {"a": b"\x01" * 32, "b": b"\x02" * 32})
    assert hashes.names == ["a", "b", "index.html"]
    assert dict(hashes) == {"a": b"\x01" * 32, "b": b"\x02" * 32}  # a file has none
    assert "index.html" not in hashes and "c" not in hashes and hashes.get("c") is None
    assert len(hashes) == 2


def test_two_shares_of_one_check_join_each_name_with_the_hash_of_the_share_that_took_it() -> None:
    names = ["a", "b", "c"]
    first = TopHashes.of(names, {"a": b"\x01" * 32})
    second = TopHashes.of(names, {"c": b"\x03" * 32})
    joined = first.joined(second)
    assert joined is not None and dict(joined) == {"a": b"\x01" * 32, "c": b"\x03" * 32}
    assert joined.names == names
    assert first.joined(TopHashes.of(["a", "b"], {})) is None  # another stamp's names
    proof = "0" * 64
    assert statcache.Matched(proof, first).joined(statcache.Matched("1" * 64, second)) is None  # another stamp


# --- no stray process ----------------------------------------------------------------------------------


@pytest.fixture
def slow_check(stamped: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The output *stamped*, with a check that takes a minute."""
    monkeypatch.setattr(stampcheck, "untouched", lambda out, spare, since, check: time.sleep(60))
    return stamped


def test_an_interrupted_build_ends_the_check_at_once_and_waits_for_it(slow_check: tuple[Path, Path]) -> None:
    out, spare = slow_check
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt), beside(out, spare):
        child = started()
        assert child is not None
        pid = child.pid
        raise KeyboardInterrupt
    assert time.monotonic() - began < 10 and reaped(pid)


def test_ctrl_c_while_the_build_waits_for_the_result_ends_the_check(slow_check: tuple[Path, Path]) -> None:
    out, spare = slow_check

    def ctrl_c(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, ctrl_c)
    began = time.monotonic()
    try:
        with beside(out, spare):
            child = started()
            assert child is not None
            pid = child.pid
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            with pytest.raises(KeyboardInterrupt):
                taken(out, spare)  # waits on the pipe until Ctrl-C
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - began < 10 and reaped(pid)


def gone(pid: int) -> bool:
    """Whether the process *pid* (not this one's child) has ended: no such process, or one that is a zombie
    waiting for whoever reaps orphans here."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_a_build_killed_outright_takes_its_check_with_it(slow_check: tuple[Path, Path]) -> None:
    out, spare = slow_check
    read, write = os.pipe()
    build_pid = os.fork()
    if build_pid == 0:  # the build: starts the check, says its id, and waits to be killed
        try:
            with beside(out, spare):
                child = started()
                os.write(write, str(child.pid if child else 0).encode())
                time.sleep(60)
        finally:
            os._exit(1)
    os.close(write)
    check_pid = int(os.read(read, 100))
    os.close(read)
    assert check_pid and not gone(check_pid)
    time.sleep(0.2)  # the child has asked to die with its parent
    os.kill(build_pid, signal.SIGKILL)  # no finally, no exit handler runs
    os.waitpid(build_pid, 0)
    for _ in range(200):
        if gone(check_pid):
            break
        time.sleep(0.01)
    assert gone(check_pid)


# --- a large stamp's check shared with a grandchild ---------------------------------------------------


def share_of(out: Path, spare: Path, index: int) -> list[str]:
    """The top-level folders whose groups the share *index* (of two) checks, in the stamp's order."""
    file = outfolder.stamp_file(spare)
    matched = statcache.Stamp.check(out, file, time.time_ns(), statcache.Share(index, 2))
    assert matched is not None
    return sorted(matched.folders)


def test_a_shared_check_gives_exactly_the_whole_checks_result(stamped: tuple[Path, Path]) -> None:
    out, spare = stamped
    file = outfolder.stamp_file(spare)
    since = time.time_ns()
    whole = statcache.Stamp.check(out, file, since)
    assert whole is not None and len(whole.folders) > 3
    assert stampcheck._shared_check(out, file, since) == whole
    assert stampcheck._shared_check(out, file, None) == statcache.Stamp.check(out, file)  # no folders asked
    first, second = share_of(out, spare, 0), share_of(out, spare, 1)
    assert first and second and not set(first) & set(second)  # each share looked at its own folders only
    assert set(first) | set(second) == set(whole.folders)


@pytest.mark.parametrize("index", [0, 1], ids=["this process's share", "the grandchild's share"])
def test_a_change_in_either_share_means_not_untouched(stamped: tuple[Path, Path], index: int) -> None:
    out, spare = stamped
    file = outfolder.stamp_file(spare)
    name = share_of(out, spare, index)[0]
    (out / name / "stray.html").write_bytes(b"not policygen's")
    assert statcache.Stamp.check(out, file, None, statcache.Share(index, 2)) is None
    assert statcache.Stamp.check(out, file, None, statcache.Share(1 - index, 2)) is not None  # it is not in the other
    assert stampcheck._shared_check(out, file, time.time_ns()) is None


REAL_STAMP_CHECK = statcache.Stamp.check


def in_the_grandchild(failure: Callable[[], object]) -> Callable[..., object]:
    """Stamp.check failing as *failure* does for the grandchild's share, and as usual for any other."""

    def check(out: Path, file: Path, since: int | None = None, share: statcache.Share = statcache.WHOLE) -> object:
        return failure() if share.number == 1 else REAL_STAMP_CHECK(out, file, since, share)

    return check


GRANDCHILD_FAILURES: dict[str, tuple[object, str, Callable[..., object]]] = {
    "is killed": (statcache.Stamp, "check", in_the_grandchild(lambda: os.kill(os.getpid(), signal.SIGKILL))),
    "exits with an error": (statcache.Stamp, "check", in_the_grandchild(lambda: os._exit(3))),
    "raises": (statcache.Stamp, "check", in_the_grandchild(lambda: _raises(Path(), Path()))),
    "finds no match": (statcache.Stamp, "check", in_the_grandchild(lambda: None)),
    "sends garbage": (stampcheck, "_encoded", lambda matched: b"policygen stamp check 3\nmatched yes\n"),
    "sends another proof": (
        stampcheck,
        "_encoded",
        lambda matched: ENCODED(replace(matched, proof="0" * 64)),
    ),
}


@pytest.mark.parametrize("failure", GRANDCHILD_FAILURES.values(), ids=list(GRANDCHILD_FAILURES))
def test_a_grandchild_that_fails_means_not_untouched_and_is_waited_for(
    stamped: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, failure: tuple[object, str, Callable[..., object]]
) -> None:
    out, spare = stamped
    file = outfolder.stamp_file(spare)
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        forked.append(pid)
        return pid

    monkeypatch.setattr(stampcheck.os, "fork", fork)
    monkeypatch.setattr(*failure)
    assert stampcheck._shared_check(out, file, time.time_ns()) is None
    (pid,) = forked
    assert reaped(pid)


@pytest.fixture
def shares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every stamp check noted (the process that ran it and its share) in the file returned."""
    log = tmp_path / "shares"

    def noted(out: Path, file: Path, since: int | None = None, share: statcache.Share = statcache.WHOLE) -> object:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {share.number} {share.of}\n")
        return REAL_STAMP_CHECK(out, file, since, share)

    monkeypatch.setattr(statcache.Stamp, "check", staticmethod(noted))
    return log


def noted_shares(log: Path) -> list[tuple[int, int, int]]:
    return [
        (int(pid), int(index), int(of)) for pid, index, of in (line.split() for line in log.read_text().splitlines())
    ]


def in_two_shares_by_two_processes(checks: list[tuple[int, int, int]]) -> bool:
    """Whether the stamp was checked in two halves, each by a process of its own."""
    return (
        sorted((index, of) for _, index, of in checks) == [(0, 2), (1, 2)] and len({pid for pid, _, _ in checks}) == 2
    )


def on_cores(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """The machine as the stamp check sees it: *count* cores, whatever runs the tests."""
    monkeypatch.setattr(stampcheck.os, "sched_getaffinity", lambda pid: set(range(count)))


@pytest.mark.parametrize("large", [True, False], ids=["a large stamp", "a small one"])
def test_a_command_line_build_shares_a_large_stamps_check_between_two_processes(
    project: Path,
    stamped: tuple[Path, Path],
    tmp_path: Path,
    shares: Path,
    monkeypatch: pytest.MonkeyPatch,
    large: bool,
) -> None:
    out, _ = stamped
    on_cores(monkeypatch, 2)
    if large:
        monkeypatch.setattr(stampcheck, "SHARED_MIN", 0)
    done = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", "2026-11-22"])
    assert done.exit_code == 0, done.output
    checks = noted_shares(shares)
    assert all(pid != os.getpid() for pid, _, _ in checks)
    if large:
        assert in_two_shares_by_two_processes(checks)
    else:
        assert [(index, of) for _, index, of in checks] == [(0, 1)]
    assert "1 rendered" in done.output  # the output was found untouched: every other tenant reused
    assert tree(out) == tree(build(project, tmp_path / "cold", OPTIONS).out)


@pytest.mark.parametrize("touched", [False, True], ids=["untouched", "a page edited in each tenant's folder"])
def test_the_command_lines_check_that_nothing_changed_shares_a_large_stamps_check_between_two_processes(
    project: Path,
    stamped: tuple[Path, Path],
    shares: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    touched: bool,
) -> None:
    out, _ = stamped
    build(project, out, OPTIONS)  # the edit built: the inputs are recorded, and nothing changes since
    on_cores(monkeypatch, 2)
    # The example's stamp is smaller than a few hundred tenants'.
    monkeypatch.setattr(stampcheck, "SHARED_MIN_WAITED", 0)
    if touched:  # whichever share checks each of them
        for page in out.glob("*/privacy-policy/index.html"):
            with open(page, "r+b") as f:
                f.write(b"<!-- x -->")
    shares.unlink(missing_ok=True)
    done = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", "2026-11-22"])
    assert done.exit_code == 0, done.output
    checks = noted_shares(shares)
    mine = checks.index((os.getpid(), 0, 2))  # the command line's own check, shared
    assert all(of == 2 and pid != os.getpid() for pid, _, of in checks[:mine])  # before it, only its child's share
    if touched:  # its child may be ended before it begins: this process found the change first
        assert "nothing changed" not in done.output
        assert tree(out) == tree(build(project, tmp_path / "cold", OPTIONS).out)
    else:
        assert "nothing changed" in done.output
        assert in_two_shares_by_two_processes(checks)  # and no other check: no build


def test_a_stamp_is_checked_by_one_process_on_one_core(
    stamped: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, spare = stamped
    file = outfolder.stamp_file(spare)
    monkeypatch.setattr(stampcheck, "SHARED_MIN", 0)
    on_cores(monkeypatch, 2)
    assert stampcheck.check_for(file) is stampcheck._shared_check
    on_cores(monkeypatch, 1)
    assert stampcheck.check_for(file) is statcache.Stamp.check
