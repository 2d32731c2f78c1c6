"""What a build looks at before it reads an input is looked at in a second process, forked when `policygen build`
begins, while the build imports the engine and loads the project (policygen/prebuild.py): the inputs' stat for the
record the next build compares, the tenants' folders hashed, and the output's stamp (tests/test_stamp_check_beside.py).

The build takes what the child found, and looks itself at whatever the child did not find, or not in time: a stat
taken after the build began to read is not recorded, a folder that cannot be hashed is hashed and reported by the
build, and a message that is not the child's gives nothing.
"""

from __future__ import annotations

import datetime as dt
import marshal
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import reaped

from policygen import engine, lastbuild, outfolder, output, prebuild, stampcheck, statcache, tenantfolders
from policygen.cli import cli
from policygen.engine import build
from policygen.site import BuildOptions

TODAY = dt.date(2026, 11, 22)
OPTIONS = BuildOptions(today=TODAY)


@pytest.fixture(autouse=True)
def fork_as_the_command_line_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line runs no thread when it forks; the test process may (the browser tests' servers)."""
    monkeypatch.setattr(prebuild, "fork_is_safe", lambda: sys.platform == "linux")
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)  # inputs changed a moment ago are recorded


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def edit_tenant(project: Path, name: str) -> None:
    file = project / "tenants/ims-pro/tenant.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("display_name: ", f"display_name: {name} ", 1))


def built(project: Path, *args: str) -> str:
    done = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", TODAY.isoformat(), *args])
    assert done.exit_code == 0, done.output
    return done.output


def watched(
    monkeypatch: pytest.MonkeyPatch,
    owner: object,
    name: str,
    *,
    pids: Path | None = None,
    began: Path | None = None,
    ended: Path | None = None,
    delay: float = 0.0,
) -> None:
    """*owner*.*name* (a function, or a classmethod of the class *owner*) noting in *pids* the id of each process
    that ran it, and in *began* and *ended* when (time.monotonic_ns); *delay* seconds slower."""
    raw = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    real = raw.__func__ if isinstance(raw, classmethod) else raw

    def noted(*args: object) -> object:
        if began is not None:
            began.write_text(str(time.monotonic_ns()))
        time.sleep(delay)
        if pids is not None:
            with open(pids, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()}\n")
        try:
            return real(*args)
        finally:
            if ended is not None:
                ended.write_text(str(time.monotonic_ns()))

    monkeypatch.setattr(owner, name, classmethod(noted) if isinstance(raw, classmethod) else noted)


def watch_looks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hashed_at: Path | None = None) -> tuple[Path, Path]:
    """The inputs' stat (lastbuild.Inputs.seen) and the tenants' folders hashed (FolderHashes.of) noting the processes
    that ran them, each in one of the two files given back; the hashing's end noted in *hashed_at*."""
    looked, hashed = tmp_path / "looked", tmp_path / "hashed"
    watched(monkeypatch, lastbuild.Inputs, "seen", pids=looked)
    watched(monkeypatch, tenantfolders.FolderHashes, "of", pids=hashed, ended=hashed_at)
    return looked, hashed


def at(file: Path) -> int:
    return int(file.read_text())


def pids(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def edited(project: Path) -> Path:
    """The project built once, then one tenant edited: the next build renders that tenant."""
    built(project)
    edit_tenant(project, "Edited")
    return project


def record(project: Path) -> Path:
    out = (project / "build").resolve()
    return outfolder.cache_record(output.spare_folder(project, out), "build")


# --- what the child finds, the build takes --------------------------------------------------------------


def shortcut_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A build that must find "nothing changed" from the record, before the engine runs."""
    monkeypatch.setattr(engine.Builder, "build", lambda self: pytest.fail("the engine ran"))


def test_a_command_line_build_takes_the_inputs_stat_and_the_folders_hashes_from_the_child(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, (looked, hashed) = edited, watch_looks(monkeypatch, tmp_path)

    said = built(project)

    assert "1 rendered" in said
    assert len(pids(looked)) == 1 and pids(looked) == pids(hashed) != [os.getpid()]  # once each, by the child
    assert tree(project / "build") == tree(build(project, tmp_path / "cold", OPTIONS).out)
    shortcut_only(monkeypatch)
    assert "nothing changed" in built(project)  # the record made of the child's stat is the inputs' own


def test_the_build_reads_no_input_before_the_child_has_taken_the_inputs_stat(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file changed between the build's read and a later stat would be recorded as built: the next build would
    # then find "nothing changed" and keep a page made from the file's old text.
    project, seen, read = edited, tmp_path / "seen", tmp_path / "read"
    watched(monkeypatch, lastbuild.Inputs, "seen", ended=seen, delay=1.0)  # far slower than the build's start
    watched(monkeypatch, engine, "load_base", began=read)

    assert "1 rendered" in built(project)
    assert at(seen) < at(read)
    shortcut_only(monkeypatch)
    assert "nothing changed" in built(project)


def test_a_child_that_ends_before_its_word_leaves_the_stat_to_the_build_before_it_reads(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, parent, looked = edited, os.getpid(), tmp_path / "looked"
    watched(monkeypatch, lastbuild.Inputs, "seen", pids=looked)
    seen = lastbuild.Inputs.__dict__["seen"].__func__  # noting the process

    def dying(cls: type, *args: object) -> object:
        if os.getpid() != parent:
            os._exit(3)  # the child, killed before it says its word
        return seen(cls, *args)

    monkeypatch.setattr(lastbuild.Inputs, "seen", classmethod(dying))

    assert "1 rendered" in built(project)
    assert pids(looked) == [parent]
    assert tree(project / "build") == tree(build(project, tmp_path / "cold", OPTIONS).out)
    shortcut_only(monkeypatch)
    assert "nothing changed" in built(project)


def test_a_folder_that_cannot_be_hashed_is_hashed_and_reported_by_the_build_itself(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(project / "tenants/ims-pro", project / "tenants/IMS_Copy")
    hashed = tmp_path / "hashed"
    watched(monkeypatch, tenantfolders.FolderHashes, "of", pids=hashed)

    done = CliRunner().invoke(cli, ["-C", str(project), "build", "--today", TODAY.isoformat()])

    assert done.exit_code == 1
    assert "tenants/IMS_Copy: error: folder name 'IMS_Copy' is not a tenant slug" in done.output
    assert "rename the folder to 'ims-copy'" in done.output
    assert len(pids(hashed)) == 2 and pids(hashed)[1] == os.getpid()  # the child's hashes were not sent


def test_past_a_size_the_child_checks_the_stamp_only_and_the_build_looks_at_the_rest_itself(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large output's stamp check keeps the second core busy: looking at the inputs too, the child would end
    # after the build needs what it found. The build hashes while the stamp is checked, not after.
    monkeypatch.setattr(prebuild, "AHEAD_MOST", 0)
    project, (looked, hashed) = edited, watch_looks(monkeypatch, tmp_path, hashed_at=tmp_path / "hashed-at")
    watched(monkeypatch, stampcheck, "untouched", ended=tmp_path / "checked", delay=1.0)

    said = built(project)

    assert "1 rendered" in said
    assert pids(looked) == pids(hashed) == [os.getpid()]
    assert at(tmp_path / "hashed-at") < at(tmp_path / "checked")
    assert "nothing changed" in built(project)


def test_a_build_of_some_tenants_has_the_child_check_the_stamp_only(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Such a build records nothing, and hashes only the tenants it builds.
    project, (looked, hashed) = edited, watch_looks(monkeypatch, tmp_path)

    said = built(project, "--tenant", "ims-pro")

    assert "1 rendered" in said
    assert pids(looked) == [] and pids(hashed) == [os.getpid()]


# --- what is not the child's, or not for this build, is not taken ----------------------------------------


def a_build(project: Path, today: dt.date = TODAY) -> prebuild.Build:
    out = (project / "build").resolve()
    return prebuild.Build(project.resolve(), today, False, out, output.spare_folder(project, out), whole=True)


def test_a_child_started_for_another_day_is_ended_and_the_build_looks_itself(project: Path) -> None:
    built(project)
    with prebuild.beside(a_build(project)):
        started = prebuild._started
        assert started is not None
        pid = started.child.pid
        assert prebuild.ahead(project.resolve(), TODAY + dt.timedelta(days=1), False) is None
        assert reaped(pid) and prebuild._started is None


def test_the_childs_message_is_read_back_and_anything_else_gives_nothing(project: Path) -> None:
    built(project)
    this = a_build(project)
    read, write = os.pipe()
    message = prebuild._looked_at(this, write, time.time_ns(), stamped=True)  # what the child sends, made here
    assert os.read(read, 2) == b"s"  # its word, then the end of the pipe
    os.close(read)
    inputs, tenants, stamp = prebuild._decoded(message, this)
    now = lastbuild.Inputs.seen(this.root, TODAY, False)
    assert inputs is not None and now is not None
    assert (inputs.digest, inputs.folders, inputs.listed) == (now.digest, now.folders, now.listed)
    assert tenants is not None and tenants.slugs == tenantfolders.tenant_slugs(project)
    assert [tenants.hashes.digest(i) for i in range(len(tenants.slugs))] == [
        tenantfolders.tenant_digest(project / "tenants" / slug) for slug in tenants.slugs
    ]
    assert stamp is not None and stampcheck.matched_in(stamp) == stampcheck.check_now(this.out, this.spare).matched

    version, key, sent, slugs, hashes, checked = marshal.loads(message)
    for other in (
        message[:-1],  # cut short
        b"garbage",
        marshal.dumps(("policygen prebuild 0", key, sent, slugs, hashes, checked)),  # another version's
        prebuild._looked_at(a_build(project, TODAY + dt.timedelta(days=1)), -1, 0, stamped=False),  # another build's
        marshal.dumps((version, key, sent, slugs, hashes)),  # not the child's shape
    ):
        assert prebuild._decoded(other, this) == (None, None, None)
    assert prebuild._decoded(marshal.dumps((version, key, sent, slugs, hashes[:-1], checked)), this)[1] is None
    assert prebuild._decoded(marshal.dumps((version, key, sent[:-1], slugs, hashes, checked)), this)[0] is None
