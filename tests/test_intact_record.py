"""The record of a spare output's intact tenant folders (output.intact_record): what a rebuild keeps whole without
looking at one file, written by the build before and read by the next, a line per tenant, never held whole."""

from __future__ import annotations

import hashlib
import os
import sys
import tracemalloc
from pathlib import Path

import pytest

from policygen import output
from policygen.statcache import NO_HASHES, TopHashes


def spare_of(tmp_path: Path) -> Path:
    """A spare output's place in a project's cache, with the folder its records go in."""
    spare = tmp_path / ".cache" / "policygen" / "spares" / "build"
    output.intact_record(spare).parent.mkdir(parents=True)
    return spare


def hashes(names: list[str]) -> TopHashes:
    """A folders hash for each of *names*, told apart by name."""
    return TopHashes.of(names, {name: hashlib.sha256(name.encode()).digest() for name in names})


def test_the_record_is_a_sorted_line_per_folder_and_reads_back_as_it_was_written(tmp_path: Path) -> None:
    spare = spare_of(tmp_path)
    seen = hashes(["ims-pro", "example-fitness", "ihm-connect", "left-out"])
    assert output.remember_intact(spare, seen, ["ims-pro", "example-fitness", "ihm-connect"])
    lines = output.intact_record(spare).read_text(encoding="utf-8").splitlines()
    assert lines == [f"{seen[name].hex()} {name}" for name in ("example-fitness", "ihm-connect", "ims-pro")]
    found = output.read_intact(output.intact_record(spare))
    assert found == hashes(["example-fitness", "ihm-connect", "ims-pro"])
    assert found is not None and all(name is sys.intern(name) for name in found.names)  # the build's own strings


def test_taking_the_record_removes_it_so_that_it_never_outlives_the_spare_it_describes(tmp_path: Path) -> None:
    spare = spare_of(tmp_path)
    output.remember_intact(spare, hashes(["a", "b"]), ["b", "a"])
    assert output._take_intact(spare) == hashes(["a", "b"])
    assert not output.intact_record(spare).exists()
    assert output._take_intact(spare) == NO_HASHES


GOOD = f"{'a' * 64} alpha\n{'b' * 64} beta\n"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{'b' * 64} beta\n{'a' * 64} alpha\n", id="names out of order"),
        pytest.param(f"{'a' * 64} alpha\n{'a' * 64} alpha\n", id="a name twice"),
        pytest.param(GOOD.replace("a" * 64, "A" * 64), id="hex in capitals"),
        pytest.param(GOOD.replace("a" * 64, "a" * 62), id="a hash cut short"),
        pytest.param(GOOD.replace("alpha", "al/pha"), id="a name with a slash"),
        pytest.param(GOOD.replace("alpha", "x" * 64), id="a name longer than a slug"),
        pytest.param(GOOD.replace("alpha", "Alpha"), id="a name that is no slug"),
        pytest.param(GOOD.rstrip("\n"), id="the last line unfinished"),
        pytest.param(GOOD.replace(" alpha", "  alpha"), id="two spaces"),
        pytest.param('{"alpha": "' + "a" * 64 + '"}', id="the JSON of earlier versions"),
    ],
)
def test_a_record_not_as_a_build_writes_it_is_not_used_and_is_removed(tmp_path: Path, text: str) -> None:
    spare = spare_of(tmp_path)
    output.intact_record(spare).write_text(GOOD, encoding="utf-8")
    assert output.read_intact(output.intact_record(spare)) is not None  # the good one is read
    output.intact_record(spare).write_text(text, encoding="utf-8")
    assert output.read_intact(output.intact_record(spare)) is None
    assert output._take_intact(spare) == NO_HASHES
    assert not output.intact_record(spare).exists()


def test_a_record_of_bytes_that_are_not_text_is_not_used(tmp_path: Path) -> None:
    spare = spare_of(tmp_path)
    output.intact_record(spare).write_bytes(b"a" * 64 + b" \xff\xfe\n")
    assert output.read_intact(output.intact_record(spare)) is None


def test_a_record_that_is_a_link_or_a_pipe_is_never_read_through(tmp_path: Path) -> None:
    spare = spare_of(tmp_path)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text(GOOD, encoding="utf-8")
    output.intact_record(spare).symlink_to(elsewhere)
    assert output.read_intact(output.intact_record(spare)) is None
    assert output._take_intact(spare) == NO_HASHES
    assert elsewhere.read_text(encoding="utf-8") == GOOD  # the link is removed, never what it points to
    os.mkfifo(output.intact_record(spare))
    assert output.read_intact(output.intact_record(spare)) is None  # returns at once: no writer is waited for


def test_a_record_in_a_cache_folder_reached_through_a_link_is_neither_read_nor_removed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "build.intact.txt").write_text(GOOD, encoding="utf-8")
    spare = tmp_path / ".cache" / "policygen" / "spares" / "build"
    output.intact_record(spare).parent.parent.mkdir(parents=True)
    output.intact_record(spare).parent.symlink_to(outside)
    assert output.read_intact(output.intact_record(spare)) is None
    assert output._take_intact(spare) == NO_HASHES
    assert (outside / "build.intact.txt").read_text(encoding="utf-8") == GOOD


def test_the_record_of_thirty_thousand_tenants_is_written_and_read_without_being_held_whole(tmp_path: Path) -> None:
    # A rebuild of 30,000 tenants made a dict of their hashes in hex and its JSON text to write the record (9 MB
    # more at the peak of the whole build's process), and the next one read the text and parsed it whole.
    spare = spare_of(tmp_path)
    names = [sys.intern(f"tenant-{i:06d}") for i in range(30_000)]  # the build's own names (tenant_slugs)
    seen = hashes(names)
    remembered = list(reversed(names))
    tracemalloc.start()
    try:
        output.remember_intact(spare, seen, remembered)
        written = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        found = output.read_intact(output.intact_record(spare))
        read = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == seen
    assert written < 200_000  # a buffer of lines; the dict and its text: about 7 MB
    assert read < 40 * 30_000 * 2 + 200_000  # what is kept (40 bytes a tenant) and one copy of the hashes


def test_the_record_is_never_written_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    spare = tmp_path / ".cache" / "policygen" / "spares" / "build"
    output.intact_record(spare).parent.parent.mkdir(parents=True)
    output.intact_record(spare).parent.symlink_to(outside)  # the cache's folder of records, a link
    assert not output.remember_intact(spare, hashes(["a"]), ["a"])
    assert list(outside.iterdir()) == []
    output.intact_record(spare).parent.unlink()
    output.intact_record(spare).parent.mkdir()
    temporary = output.intact_record(spare).with_name(f".{output.intact_record(spare).name}.{os.getpid()}.tmp")
    temporary.symlink_to(outside / "planted")  # where the record is written before it is put in place
    assert not output.remember_intact(spare, hashes(["a"]), ["a"])
    assert list(outside.iterdir()) == [] and not output.intact_record(spare).exists()
