"""A rebuild copies the manifest entries and the sitemap URLs of the tenants that did not change from the previous
manifest and sitemap, found by a record of where each tenant's lie in them, kept beside the output's stamp
(policygen/spans.py). The files it writes are byte for byte the ones a cold build writes; a record or a file that
cannot be trusted copies nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from policygen import output, statcache
from policygen.engine import build
from policygen.errors import InputError
from policygen.output import MANIFEST_SPANS, SITEMAP_SPANS, TENANTS_SPANS, span_record, spare_folder
from policygen.paths import MANIFEST_PATH, SITEMAP_PATH
from policygen.shards import Shard, build_shard
from policygen.site import BuildOptions
from policygen.spans import MANIFEST, TENANTS, Copier, Recorder

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))
TENANTS_SLUGS = ["example-fitness", "ihm-connect", "ims-global", "ims-pro"]


@pytest.fixture
def copied(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The tenants whose entries a build copied from the previous manifest's file list, in the order it copied them
    (and those whose item of its "tenants" object it copied, named "tenants:<slug>", and whose URLs it copied from
    the previous sitemap, "sitemap:<slug>")."""
    log: list[str] = []
    entries = Copier.entries

    def logged(self: Copier, first: str) -> bytes | None:
        found = entries(self, first)
        if found is not None:
            slug = first.removesuffix("/")
            log.append(
                slug
                if self._layout is MANIFEST
                else f"tenants:{slug}"
                if self._layout is TENANTS
                else f"sitemap:{slug}"
            )
        return found

    monkeypatch.setattr(Copier, "entries", logged)
    yield log


def rename(project: Path, slug: str, prefix: str = "New") -> None:
    file = project / "tenants" / slug / "tenant.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("display_name: ", f"display_name: {prefix} ", 1), "utf-8")


def cold_file(project: Path, tmp_path: Path, path: str) -> bytes:
    """The file at *path* a cold build of a copy of *project* (no output, no cache) writes."""
    copy = tmp_path / "cold"
    if not copy.exists():
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".cache", "build"))
        build(copy, copy / "build", OPTIONS)
    return (copy / "build" / path).read_bytes()


def assert_as_cold(
    project: Path, out: Path, tmp_path: Path, paths: tuple[str, ...] = (MANIFEST_PATH, SITEMAP_PATH)
) -> None:
    """The site-wide files at *paths* a build wrote into *out* are byte for byte a cold build's."""
    for path in paths:
        assert (out / path).read_bytes() == cold_file(project, tmp_path, path), path


def record_lines(project: Path, out: Path, what: str = MANIFEST_SPANS) -> list[tuple[int, int, str]]:
    text = span_record(spare_folder(project, out), what).read_text(encoding="utf-8")
    return [(int(start), int(end), first) for start, end, first in (line.split(" ") for line in text.splitlines())]


def manifest_copies(copied: list[str]) -> list[str]:
    """Of *copied*, the tenants whose entries of the manifest's file list were copied."""
    return [slug for slug in copied if ":" not in slug]


def test_a_rebuild_after_one_tenants_edit_copies_every_other_tenants_entries_and_writes_a_cold_builds_files(
    project: Path, tmp_path: Path, copied: list[str], manifest_told: str
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    assert copied == []  # nothing to copy from
    rename(project, "ims-pro")
    report = build(project, out, OPTIONS)
    assert report.rendered_tenants == ["ims-pro"]
    others = ["example-fitness", "ihm-connect", "ims-global"]
    # The sitemap is written first, then the manifest's file list and its "tenants" object.
    assert copied == [f"sitemap:{slug}" for slug in others] + others + [f"tenants:{slug}" for slug in others]
    assert_as_cold(project, out, tmp_path)


def test_without_a_base_url_there_is_no_sitemap_and_the_manifest_is_copied_alone(
    project: Path, tmp_path: Path, copied: list[str]
) -> None:
    settings = project / "policygen.yaml"
    settings.write_text(
        "".join(line for line in settings.read_text(encoding="utf-8").splitlines(True) if "base_url" not in line)
    )
    out = project / "build"
    build(project, out, OPTIONS)
    assert not (out / SITEMAP_PATH).exists() and not span_record(spare_folder(project, out), SITEMAP_SPANS).exists()
    rename(project, "ims-pro")
    build(project, out, OPTIONS)
    assert manifest_copies(copied) == ["example-fitness", "ihm-connect", "ims-global"]
    assert_as_cold(project, out, tmp_path, (MANIFEST_PATH,))


def test_a_manifest_told_by_its_hash_is_hashed_once_for_both_copies_from_it(
    project: Path, monkeypatch: pytest.MonkeyPatch, copied: list[str]
) -> None:
    monkeypatch.setattr(statcache.SameBytes, "by_stat", classmethod(lambda cls, f: None))  # written lately
    out = project / "build"
    build(project, out, OPTIONS)
    hashed: list[str] = []
    sha256_of = statcache._sha256_of

    def named(f: BinaryIO) -> str:  # a file opened by its descriptor is named by the number
        return Path(f.name if isinstance(f.name, str) else os.readlink(f"/proc/self/fd/{f.name}")).name

    monkeypatch.setattr(statcache, "_sha256_of", lambda f: hashed.append(named(f)) or sha256_of(f))
    rename(project, "ims-pro")
    build(project, out, OPTIONS)
    # When it is read, before its file list and its "tenants" object are copied from it (one look for both), and
    # when the swap carries the output's files policygen did not write (output._carry_user_entries).
    assert hashed.count(MANIFEST_PATH) == 3
    assert manifest_copies(copied) == ["example-fitness", "ihm-connect", "ims-global"]


def test_the_record_says_where_each_tenants_entries_lie_in_the_manifest_and_nothing_else(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    manifest = (out / MANIFEST_PATH).read_bytes()
    files = json.loads(manifest)["files"]
    lines = record_lines(project, out)
    assert [first for _, _, first in lines] == [f"{slug}/" for slug in TENANTS_SLUGS]
    for start, end, first in lines:
        entries = json.loads(b"[" + manifest[start:end] + b"]")
        assert entries == [f for f in files if f["path"].startswith(first)]  # all of them, in order
        assert manifest[start - 2 : start] in (b"[\n", b",\n") and manifest[end : end + 2] in (b",\n", b"\n ")


def test_the_sitemaps_record_says_where_each_tenants_urls_lie_in_it(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    sitemap = (out / SITEMAP_PATH).read_bytes()
    lines = record_lines(project, out, SITEMAP_SPANS)
    assert [first for _, _, first in lines] == [f"{slug}/" for slug in TENANTS_SLUGS]
    for start, end, first in lines:
        urls = sitemap[start:end].split(b"\n  <url>\n    <loc>")
        assert urls[0] == b"" and all(
            url.startswith(f"https://policies.example.org/{first}".encode()) for url in urls[1:]
        )
        assert sitemap.count(f"<loc>https://policies.example.org/{first}".encode()) == len(urls) - 1  # all of them


def test_the_tenants_objects_record_says_where_each_tenants_item_lies_in_it(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    manifest = (out / MANIFEST_PATH).read_bytes()
    tenants = json.loads(manifest)["tenants"]
    lines = record_lines(project, out, TENANTS_SPANS)
    assert [first for _, _, first in lines] == TENANTS_SLUGS
    for start, end, slug in lines:
        assert json.loads(b"{" + manifest[start:end] + b"}") == {slug: tenants[slug]}


def test_a_build_that_changed_nothing_keeps_the_record_of_the_manifest_it_left_as_it_was(
    project: Path, copied: list[str]
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    before = record_lines(project, out)
    assert build(project, out, OPTIONS).unchanged
    assert record_lines(project, out) == before
    rename(project, "ihm-connect")
    build(project, out, OPTIONS)
    assert manifest_copies(copied) == ["example-fitness", "ims-global", "ims-pro"]


def test_an_output_changed_by_hand_has_nothing_copied_from_its_manifest_or_sitemap(
    project: Path, tmp_path: Path, copied: list[str]
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    page = out / "ims-global" / "index.html"
    page.write_bytes(page.read_bytes() + b"\n")  # the output no longer matches its stamp: no record is vouched for
    rename(project, "ims-pro")
    build(project, out, OPTIONS)
    assert copied == []
    assert_as_cold(project, out, tmp_path)


@pytest.mark.parametrize(
    "damage",
    ["every span one byte later", "every span one byte shorter", "two tenants' spans swapped", "lines out of order"],
)
def test_a_record_that_does_not_fit_its_file_copies_nothing_that_does_not_fit(
    project: Path, tmp_path: Path, copied: list[str], damage: str
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    for what in (MANIFEST_SPANS, TENANTS_SPANS, SITEMAP_SPANS):
        lines = record_lines(project, out, what)
        if damage == "every span one byte later":
            lines = [(start + 1, end + 1, first) for start, end, first in lines]
        elif damage == "every span one byte shorter":
            lines = [(start, end - 1, first) for start, end, first in lines]
        elif damage == "two tenants' spans swapped":
            (a, b), rest = lines[:2], lines[2:]
            lines = [(b[0], b[1], a[2]), (a[0], a[1], b[2]), *rest]
        else:
            lines = list(reversed(lines))
        record = span_record(spare_folder(project, out), what)
        record.write_text("".join(f"{start} {end} {first}\n" for start, end, first in lines), encoding="utf-8")
    rename(project, "ims-pro")
    build(project, out, OPTIONS)
    # Out of order, only the first line is read (ims-pro's, which is rendered anew): the second ends the record.
    assert copied == []
    assert_as_cold(project, out, tmp_path)


def test_a_record_line_stretched_over_the_next_tenants_entries_copies_neither_and_the_files_are_a_cold_builds(
    project: Path, tmp_path: Path, copied: list[str]
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    for what in (MANIFEST_SPANS, TENANTS_SPANS, SITEMAP_SPANS):
        (start, _, first), (_, end, _), *rest = record_lines(project, out, what)
        record = span_record(spare_folder(project, out), what)
        lines = [(start, end, first), *rest]  # the first tenant's span runs to the end of the second's, whose is gone
        record.write_text("".join(f"{a} {b} {c}\n" for a, b, c in lines), encoding="utf-8")
    rename(project, "ims-pro")
    build(project, out, OPTIONS)
    stretched = {"example-fitness", "ihm-connect"}
    assert not {c.rpartition(":")[2] for c in copied} & stretched
    assert "ims-global" in copied and "tenants:ims-global" in copied and "sitemap:ims-global" in copied
    assert_as_cold(project, out, tmp_path)


def test_a_build_that_fails_writes_no_record_and_the_next_ones_manifest_is_a_cold_builds(
    project: Path, tmp_path: Path, copied: list[str]
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    before = record_lines(project, out)
    facts = project / "tenants" / "ims-pro" / "tenant.yaml"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(text.replace("display_name: ", "display_name: [", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"tenant\.yaml"):
        build(project, out, OPTIONS)
    assert record_lines(project, out) == before
    assert not any(
        p.name.endswith("-written.json") for p in span_record(spare_folder(project, out), "x").parent.iterdir()
    )
    # The failed build changed the spare, whose files are the output's by hard link: the output no longer matches its
    # stamp, which vouches for the record no more. The next build copies nothing; the one after it does again.
    facts.write_text(text, encoding="utf-8")
    rename(project, "ims-global")
    build(project, out, OPTIONS)
    assert copied == []
    assert_as_cold(project, out, tmp_path)
    rename(project, "ims-global", "Newer")
    build(project, out, OPTIONS)
    assert manifest_copies(copied) == ["example-fitness", "ihm-connect", "ims-pro"]


def test_a_shards_rebuild_copies_its_manifests_entries_and_writes_what_a_cold_shard_build_writes(
    project: Path, tmp_path: Path, copied: list[str]
) -> None:
    shard = Shard(1, 1)  # every tenant: one whose part is copied, one edited
    out = project / "shard"
    build_shard(project, out, OPTIONS, shard)
    rename(project, "ims-pro")
    build_shard(project, out, OPTIONS, shard)
    others = ["example-fitness", "ihm-connect", "ims-global"]
    assert copied == others + [f"tenants:{slug}" for slug in others]  # a shard has no sitemap
    assert not (out / SITEMAP_PATH).exists() and not span_record(spare_folder(project, out), SITEMAP_SPANS).exists()
    cold = tmp_path / "cold"
    shutil.copytree(project, cold, ignore=shutil.ignore_patterns(".cache", "shard"))
    build_shard(cold, cold / "shard", OPTIONS, shard)
    assert (out / MANIFEST_PATH).read_bytes() == (cold / "shard" / MANIFEST_PATH).read_bytes()


# --- the copier and the recorder alone ----------------------------------------------------------------------------


def entry(path: str) -> str:
    return output._entry_text({"path": path, "kind": "page"})


def manifest_of(paths: list[str]) -> tuple[bytes, str]:
    """A manifest's bytes with files at *paths*, and the record of where each folder's entries lie in it."""
    record = io.StringIO()
    recorder = Recorder(record)
    by_folder: dict[str, list[str]] = {}
    for path in paths:
        by_folder.setdefault(path.split("/")[0] + "/", []).append(entry(path))
    blocks = [output.Block(first, lambda texts=texts: ",\n".join(texts)) for first, texts in by_folder.items()]
    data = output.manifest([], {}, None, blocks, recorder).data
    return data, record.getvalue()


@contextlib.contextmanager
def copier(data: bytes, record: str, tmp_path: Path) -> Iterator[Copier]:
    file = tmp_path / "manifest.json"
    file.write_bytes(data)
    with file.open("rb") as manifest:
        yield Copier(manifest, io.StringIO(record), MANIFEST)


def test_entries_are_copied_as_the_manifest_holds_them_and_only_for_a_folder_the_record_names(tmp_path: Path) -> None:
    data, record = manifest_of(["a/1.html", "a/2.html", "b/1.html", "c/1.html"])
    with copier(data, record, tmp_path) as found:
        assert found.entries("a/") == (entry("a/1.html") + ",\n" + entry("a/2.html")).encode()
        assert found.entries("b-and-more/") is None  # none recorded
        assert found.entries("c/") == entry("c/1.html").encode()
        assert found.entries("d/") is None


def test_a_span_that_leaves_out_the_folders_last_entry_is_not_copied(tmp_path: Path) -> None:
    data, record = manifest_of(["a/1.html", "a/2.html", "b/1.html"])
    start, _, first = record.splitlines()[0].split(" ")
    short = int(start) + len(entry("a/1.html"))  # ends where a/1.html's entry ends: still an entry's end
    assert data[int(start) : short].endswith(MANIFEST.entry_end)
    with copier(data, f"{start} {short} {first}\n" + "\n".join(record.splitlines()[1:]) + "\n", tmp_path) as found:
        assert found.entries("a/") is None
        assert found.entries("b/") == entry("b/1.html").encode()


def test_a_span_that_runs_over_the_next_folders_entries_is_not_copied(tmp_path: Path) -> None:
    data, record = manifest_of(["a/1.html", "a/2.html", "b/1.html", "c/1.html"])
    (a_start, _, _), (_, b_end, _), c = (line.split(" ") for line in record.splitlines()[:3])
    # a/'s line stretched to the end of b/'s entries, b/'s line left out: begins and ends as a/'s would.
    with copier(data, f"{a_start} {b_end} a/\n{' '.join(c)}\n", tmp_path) as found:
        assert found.entries("a/") is None
        assert found.entries("b/") is None
        assert found.entries("c/") == entry("c/1.html").encode()


def test_an_item_span_that_runs_over_the_next_tenants_item_is_not_copied(tmp_path: Path) -> None:
    record = io.StringIO()
    items = output.Items(lambda: [("a", {"name": "A"}), ("b", {"name": "B"}), ("c", {"name": "C"})])
    data = output.manifest([], {"tenants": items}, None, (), None, Recorder(record)).data
    (a_start, _, _), (_, b_end, _), c = (line.split(" ") for line in record.getvalue().splitlines())
    file = tmp_path / "manifest.json"
    file.write_bytes(data)
    with file.open("rb") as manifest:
        found = Copier(manifest, io.StringIO(f"{a_start} {b_end} a\n{' '.join(c)}\n"), TENANTS)
        assert found.entries("a") is None
        assert found.entries("c") == b'    "c": {\n      "name": "C"\n    }'


def test_a_damaged_record_line_ends_the_record(tmp_path: Path) -> None:
    data, record = manifest_of(["a/1.html", "b/1.html"])
    lines = record.splitlines()
    with copier(data, f"{lines[0]}\nnot a line\n{lines[1]}\n", tmp_path) as found:
        assert found.entries("a/") is not None
        assert found.entries("b/") is None


def test_a_recorder_that_cannot_write_says_so(tmp_path: Path) -> None:
    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    recorder = Recorder(Full())
    recorder.add("a/", 10, 20)
    assert recorder.failed


def test_a_record_that_could_not_be_written_whole_is_not_kept(
    project: Path, tmp_path: Path, copied: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    add = Recorder.add

    def full_at_the_second(self: Recorder, first: str, start: int, end: int) -> None:
        if first.startswith("ihm-connect"):  # in every record: "ihm-connect/", or the slug alone
            self.failed = True
        add(self, first, start, end)

    monkeypatch.setattr(Recorder, "add", full_at_the_second)
    rename(project, "ims-pro")
    build(project, out, OPTIONS)
    assert manifest_copies(copied) == ["example-fitness", "ihm-connect", "ims-global"]  # by the first build's record
    assert not span_record(spare_folder(project, out), MANIFEST_SPANS).exists()  # the second's was not written whole
    monkeypatch.setattr(Recorder, "add", add)
    copied.clear()
    rename(project, "ims-pro", "Newer")
    build(project, out, OPTIONS)
    assert copied == []
    assert_as_cold(project, out, tmp_path)
