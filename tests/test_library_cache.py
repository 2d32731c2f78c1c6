"""A build keeps the clause library it read in the project's cache, signed, and the next build takes it from
there while every file of the library's folders has the stat it had (policygen/librarycache.py).

It is never taken for folders changed since, never unpickled unless this user's key signed it for those very
folders and this policygen, and deleting it never changes what a build writes.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from policygen import clauses, librarycache
from policygen.clauses import Library
from policygen.engine import build
from policygen.site import BuildOptions

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))


@pytest.fixture(autouse=True)
def kept_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Folders changed a moment ago may be kept (else only a library unchanged for two seconds is)."""
    monkeypatch.setattr(librarycache, "RACY_SECONDS", 0)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The clause files read (clauses.read_clause), from here on."""
    read: list[Path] = []
    real = clauses.read_clause

    def noted(file: Path) -> clauses.Clause:
        read.append(file)
        return real(file)

    monkeypatch.setattr(clauses, "read_clause", noted)
    return read


def same(a: Library, b: Library) -> bool:
    return a == b  # dataclasses: every document, clause and partial compared


def test_an_unchanged_library_is_taken_from_the_cache_without_reading_a_clause(
    project: Path, reads: list[Path]
) -> None:
    first = librarycache.cached_library(project / "content")
    assert reads and (project / ".cache/policygen" / librarycache.FILE).is_file()
    reads.clear()
    again = librarycache.cached_library(project / "content")
    assert reads == [] and same(again, first) and same(again, clauses.load_library(project / "content"))


def test_a_clause_edited_in_place_is_read_again_even_with_its_size_and_time_kept(
    project: Path, reads: list[Path]
) -> None:
    librarycache.cached_library(project / "content")
    clause = next((project / "content").rglob("*.md"))
    before = clause.stat()
    text = clause.read_text(encoding="utf-8")
    clause.write_text(text.replace("a", "b", 1) if "a" in text else text + " ", encoding="utf-8")
    os.utime(clause, ns=(before.st_atime_ns, before.st_mtime_ns))  # the change time cannot be set back
    reads.clear()
    edited = librarycache.cached_library(project / "content")
    assert reads and same(edited, clauses.load_library(project / "content"))


def test_a_clause_added_is_read(project: Path) -> None:
    librarycache.cached_library(project / "content")
    folder = next(p.parent for p in (project / "content").rglob("document.yaml"))
    (folder / "zz-added.md").write_text("---\nid: zz-added\ntitle: Added\norder: 999\n---\nAdded.\n", encoding="utf-8")
    library = librarycache.cached_library(project / "content")
    assert "zz-added" in library.documents[folder.name].clauses


def test_a_kept_library_whose_bytes_changed_under_its_signature_is_never_unpickled(
    project: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = librarycache.cached_library(project / "content")
    file = project / ".cache/policygen" / librarycache.FILE
    data = bytearray(file.read_bytes())
    data[-3] ^= 1
    file.write_bytes(bytes(data))
    monkeypatch.setattr(librarycache.pickle, "loads", lambda _: pytest.fail("unpickled a file not signed"))
    reads.clear()
    assert same(librarycache.cached_library(project / "content"), first) and reads


@pytest.mark.parametrize(
    ("name", "other"),
    [("signing_key", lambda: b"another user's key" + bytes(14)), ("code_digest", lambda: "another policygen")],
    ids=["another key", "another policygen"],
)
def test_a_library_kept_under_another_key_or_by_another_policygen_is_not_taken(
    project: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch, name: str, other: object
) -> None:
    librarycache.cached_library(project / "content")
    monkeypatch.setattr(librarycache, name, other)
    reads.clear()
    librarycache.cached_library(project / "content")
    assert reads


def test_without_a_signing_key_nothing_is_kept(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(librarycache, "signing_key", lambda: None)
    library = librarycache.cached_library(project / "content")
    assert same(library, clauses.load_library(project / "content"))
    assert not (project / ".cache/policygen" / librarycache.FILE).exists()


def test_a_library_changed_in_the_last_two_seconds_is_not_kept(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(librarycache, "RACY_SECONDS", 2)
    (project / "content/_partials").mkdir(exist_ok=True)
    (project / "content/_partials/new.md").write_text("new", encoding="utf-8")
    librarycache.cached_library(project / "content")
    assert not (project / ".cache/policygen" / librarycache.FILE).exists()


def test_a_build_with_the_library_kept_writes_what_a_build_without_it_writes(
    project: Path, tmp_path: Path, reads: list[Path]
) -> None:
    build(project, tmp_path / "first", OPTIONS)
    reads.clear()
    kept = build(project, tmp_path / "kept", OPTIONS)
    assert reads == []  # nor any tenant's own clause: these tenants have none
    for file in (project / ".cache").rglob("*"):
        if file.is_file():
            file.unlink()
    cold = build(project, tmp_path / "cold", OPTIONS)
    assert tree(kept.out) == tree(cold.out)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
