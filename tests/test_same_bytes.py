"""A build tells that a file it read (the previous manifest) still holds the same bytes without reading
them again, by its stat, unless the file changed too lately for its stat to tell (statcache.SameBytes);
and it reads an untouched manifest's "tenants" object from the end of the file, not the whole file."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policygen import engine, statcache
from policygen.statcache import SameBytes


def written(file: Path, data: bytes, seconds_ago: float = 0) -> Path:
    file.write_bytes(data)
    if seconds_ago:
        past = time.time_ns() - int(seconds_ago * 1e9)
        os.utime(file, ns=(past, past))  # the change time stays now: only the modification time goes back
    return file


def test_a_file_changed_lately_is_not_told_by_its_stat(tmp_path: Path) -> None:
    file = written(tmp_path / "m.json", b"{}", seconds_ago=60)
    with file.open("rb") as f:
        assert SameBytes.by_stat(f) is None  # its change time is now, whatever its modification time says


def test_a_file_told_by_its_stat_is_not_the_same_once_written_again_even_with_the_same_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)  # as if written long ago
    file = written(tmp_path / "m.json", b'{"a": 1}')
    with file.open("rb") as f:
        same = SameBytes.by_stat(f)
    assert same is not None and same.sha256 is None
    with file.open("rb") as f:
        assert same.held_by(f)
    time.sleep(0.05)  # past the file system's clock tick: the racy rule covers writes within one
    file.write_bytes(b'{"a": 2}')
    with file.open("rb") as f:
        assert not same.held_by(f)


def test_a_file_replaced_by_another_is_not_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    file = written(tmp_path / "m.json", b"{}")
    with file.open("rb") as f:
        same = SameBytes.by_stat(f)
    assert same is not None
    written(tmp_path / "other.json", b"{}").replace(file)  # the same bytes in another file
    with file.open("rb") as f:
        assert not same.held_by(f)


def test_a_file_told_by_its_hash_is_the_same_while_its_bytes_are_and_is_read_from_its_start(tmp_path: Path) -> None:
    file = written(tmp_path / "m.json", b'{"a": 1}')
    with file.open("rb") as f:
        same = SameBytes.by_hash(f.read())
    file.write_bytes(b'{"a": 1}')  # written again: another change time, the same bytes
    with file.open("rb") as f:
        assert same.held_by(f)
        assert f.read() == b'{"a": 1}'  # left at its start for the caller to read
    file.write_bytes(b'{"a": 2}')
    with file.open("rb") as f:
        assert not same.held_by(f)


def manifest_text(tenants: dict[str, object], padding: int) -> str:
    """A manifest laid out as policygen writes it, its file list *padding* characters long or so."""
    files = [{"path": f"t/{i}.html", "note": "x" * (padding % 97)} for i in range(padding // 120)]
    body = {"generator": "policygen", "files": files, "tenants": tenants}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    padding=st.integers(0, 300_000),
    names=st.lists(st.text(min_size=1, max_size=8), max_size=30),
)
def test_an_untouched_manifests_tenants_read_from_its_end_are_those_of_the_whole_text(
    tmp_path: Path, padding: int, names: list[str]
) -> None:
    tenants = {name: {"name": name * 50, "documents": []} for name in sorted(names)}  # as policygen writes them
    text = manifest_text(tenants, padding)  # the key lands anywhere against the pieces read from the end
    file = tmp_path / "manifest.json"
    file.write_text(text, encoding="utf-8")
    with file.open("rb") as f:
        assert tenants_at_end(f) == json.loads(text)["tenants"] == tenants


def tenants_at_end(f: BinaryIO) -> dict[str, Any] | None:
    """The tenants read from the end of a manifest, item by item; None when they cannot be read so."""
    items = engine.manifest_tenants(f)
    try:
        return None if items is None else dict(items)
    except ValueError:
        return None


@pytest.mark.parametrize(
    "text",
    [
        '{\n  "generator": "policygen",\n  "tenants": {},\n  "files": []\n}\n',  # another layout
        '{\n  "generator": "policygen",\n  "files": [],\n  "tenants": {\n}\n',  # cut short
        '{\n  "generator": "policygen",\n  "files": []\n}\n',  # no tenants
        '{\n  "files": [],\n  "tenants": {"b": 1, "a": 2}\n}\n',  # not in slug order
        '{\n  "files": [],\n  "tenants": {"a": 1, "a": 2}\n}\n',  # a name twice (json.loads keeps the last)
        '{\n  "files": [],\n  "tenants": {"a": 1} {}\n}\n',  # more after the object
        '{\n  "generator": "policygen",\n  "files": [],\n  "tenants": {},\n  "shard": "1/2"\n}\n',  # a key after
    ],
)
def test_a_manifest_not_laid_out_as_policygen_writes_it_gives_no_tenants_from_its_end(
    tmp_path: Path, text: str
) -> None:
    file = tmp_path / "manifest.json"
    file.write_text(text, encoding="utf-8")
    with file.open("rb") as f:
        assert tenants_at_end(f) is None


def test_a_manifest_whose_end_is_not_utf8_gives_no_tenants_from_its_end(tmp_path: Path) -> None:
    file = tmp_path / "manifest.json"
    file.write_bytes(b'{\n  "files": [],\n  "tenants": {"\xff": 1}\n}\n')
    with file.open("rb") as f:
        assert tenants_at_end(f) is None


def test_a_file_written_lately_is_told_by_its_hash_taken_a_piece_at_a_time(tmp_path: Path) -> None:
    file = tmp_path / "manifest.json"
    with open(file, "wb") as f:
        f.write(b"{")
        f.truncate(64 << 20)  # a manifest of about 7,000 tenants (sparse here)
    tracemalloc.start()
    try:
        with file.open("rb") as f:
            same = SameBytes.by_hash_of(f)
            assert f.tell() == 0 and same.held_by(f) and f.tell() == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak  # read whole, each took the file's size
    with open(file, "r+b") as f:
        f.seek(32 << 20)
        f.write(b"x")
    with file.open("rb") as f:
        assert not same.held_by(f)
