"""The stat cache of tenant folders (policygen/statcache.py, FolderDigests) is read and written forward
beside the lookups, which a build makes in path order: its memory does not grow with the folders. It is a
cache: whatever its state (damaged, unsorted, from another policygen, looked up in any order), a folder's
hash is the one hashing it gives, and the file saved is the one a save of everything known would write."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from policygen import statcache, tenantfolders
from policygen.engine import build
from policygen.site import BuildOptions

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))


@pytest.fixture(autouse=True)
def remember_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)  # remember folders however recently they changed


def make_folders(base: Path, count: int) -> list[Path]:
    folders = []
    for i in range(count):
        folder = base / "tenants" / f"t{i:05d}"
        folder.mkdir(parents=True)
        (folder / "tenant.yaml").write_text(f"name: {i}\n")
        folders.append(folder)
    return folders


def content_hash(folder: Path) -> str:
    return hashlib.sha256((folder / "tenant.yaml").read_bytes()).hexdigest()


class Hasher:
    """A content hash that counts the folders it hashed."""

    def __init__(self) -> None:
        self.hashed: list[Path] = []

    def __call__(self, folder: Path) -> str:
        self.hashed.append(folder)
        return content_hash(folder)


def look_up(file: Path, folders: list[Path], writable: bool = True, others: bool = True) -> Hasher:
    """Each of *folders* looked up, in that order, then saved (the lines of *others* kept); which were hashed."""
    hasher = Hasher()
    digests = statcache.FolderDigests(file, (lambda: file) if writable else None, others)
    for folder in folders:
        assert digests.digest(folder, hasher) == content_hash(folder)
    digests.save()
    return hasher


def edit(folder: Path, text: str) -> None:
    (folder / "tenant.yaml").write_text(text)


def whole_save(folders: list[Path]) -> bytes:
    """The file a save of everything known, held whole, writes for *folders*: its header, which gives its
    length, then a line for each folder, sorted (as their paths' bytes are)."""
    lines = sorted(
        statcache._digest_line(
            statcache._digest_key(f),
            statcache.tree_stat(str(f), skip_editor_files=True)[0].encode(),  # type: ignore[index]
            content_hash(f).encode(),
        )
        for f in folders
    )
    body = b"".join(lines)
    return statcache._digests_header(statcache._HEADER_SIZE + len(body)) + body


def test_a_folder_whose_stat_is_unchanged_is_not_hashed_again_and_an_edited_one_is(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, 20)
    file = tmp_path / "digests"
    assert look_up(file, folders).hashed == folders
    edit(folders[4], "name: edited\n")
    assert look_up(file, folders).hashed == [folders[4]]
    assert look_up(file, folders).hashed == []


def test_folders_not_looked_up_are_carried_over_and_the_file_is_what_a_whole_save_writes(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, 30)
    file = tmp_path / "digests"
    look_up(file, folders)
    edit(folders[0], "name: first\n")
    edit(folders[17], "name: seventeen\n")
    edit(folders[29], "name: last\n")
    some = [folders[0], folders[10], folders[17], folders[29]]  # the first, a middle one, the last, in order
    assert look_up(file, some).hashed == [folders[0], folders[17], folders[29]]
    assert file.read_bytes() == whole_save(folders)
    assert look_up(file, folders).hashed == []


def test_lookups_of_every_folder_that_counts_drop_the_lines_of_the_others(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, 30)
    file = tmp_path / "digests"
    look_up(file, folders)
    present = [f for i, f in enumerate(folders) if i % 7 != 3]  # tenants deleted: before, between and after
    edit(present[5], "name: five\n")
    assert look_up(file, present, others=False).hashed == [present[5]]
    assert file.read_bytes() == whole_save(present)
    assert look_up(file, present, others=False).hashed == []
    assert file.read_bytes() == whole_save(present)


def test_a_whole_site_build_drops_the_folder_hashes_of_tenants_deleted_and_a_build_of_some_keeps_them(
    project: Path,
) -> None:
    build(project, None, OPTIONS)
    digests = project / ".cache" / "policygen" / "digests"
    slugs = ["example-fitness", "ihm-connect", "ims-global", "ims-pro"]
    assert keys_of(digests) == [statcache._digest_key(project.resolve() / "tenants" / slug) for slug in slugs]
    build(project, None, BuildOptions(today=OPTIONS.today, tenants=["ims-pro"]))
    assert len(keys_of(digests)) == 4  # the others' lines kept: not looked up, but still there
    shutil.rmtree(project / "tenants" / "ihm-connect")
    build(project, None, OPTIONS)
    kept = [slug for slug in slugs if slug != "ihm-connect"]
    assert keys_of(digests) == [statcache._digest_key(project.resolve() / "tenants" / slug) for slug in kept]


def keys_of(file: Path) -> list[bytes]:
    return [line.split(b" ")[0] for line in file.read_bytes().splitlines()[1:]]


def test_new_folders_take_their_place_in_order_among_those_known(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, 12)
    file = tmp_path / "digests"
    look_up(file, folders[3:9:2])
    look_up(file, folders[::3])  # before, between and after those known
    assert file.read_bytes() == whole_save(sorted(set(folders[3:9:2] + folders[::3])))


@pytest.mark.parametrize(
    "order",
    [
        lambda fs: list(reversed(fs)),
        lambda fs: fs[5:] + fs[:5],
        lambda fs: fs[:8] + fs[3:],  # some twice
    ],
    ids=["reversed", "rotated", "twice"],
)
def test_lookups_out_of_order_give_the_same_hashes_and_save_the_same_file(
    tmp_path: Path, order: Callable[[list[Path]], list[Path]]
) -> None:
    folders = make_folders(tmp_path, 16)
    file = tmp_path / "digests"
    look_up(file, folders[::2])
    edit(folders[6], "name: six\n")
    hashed = look_up(file, order(folders)).hashed  # look_up checks every hash given
    assert sorted(set(hashed)) == sorted([folders[6], *folders[1::2]])
    assert len(hashed) == len(set(hashed))  # a folder hashed once is known for its second lookup
    assert file.read_bytes() == whole_save(folders)


def damaged_versions(data: bytes) -> dict[str, bytes]:
    """The file *data* damaged in ways its header shows: none of it is used."""
    body = data[statcache._HEADER_SIZE :]
    lines = body.splitlines(keepends=True)
    return {
        "cut short": data[: len(data) // 2],
        "no last line": data[: -len(lines[-1])],
        "a line more after its end": data + lines[0],
        "another version": data.replace(b"digests 3 ", b"digests 4 ", 1),
        "the previous version": b"policygen folder digests 2\n" + body,
        "the old json": b'{"a": ["b", "c"]}',
        "empty": b"",
    }


@pytest.mark.parametrize("damage", list(damaged_versions(bytes(statcache._HEADER_SIZE) + b"1\n2\n")))
def test_a_file_cut_short_grown_or_of_another_version_is_ignored_and_written_again(tmp_path: Path, damage: str) -> None:
    folders = make_folders(tmp_path, 8)
    file = tmp_path / "digests"
    look_up(file, folders)
    file.write_bytes(damaged_versions(file.read_bytes())[damage])
    assert look_up(file, folders).hashed == folders  # nothing trusted
    assert file.read_bytes() == whole_save(folders)
    assert look_up(file, folders).hashed == []


def changed_field(line: bytes, field: int) -> bytes:
    """*line* with the last hex digit of its field number *field* changed."""
    fields = line[:-1].split(b" ")
    fields[field] = fields[field][:-1] + (b"0" if fields[field][-1:] != b"0" else b"1")
    return b" ".join(fields) + b"\n"


def rewrite_lines(file: Path, change: Callable[[list[bytes]], None]) -> None:
    """*file*'s lines after its header changed in place by *change* (the header, its length, kept)."""
    data = file.read_bytes()
    lines = data[statcache._HEADER_SIZE :].splitlines(keepends=True)
    change(lines)
    file.write_bytes(data[: statcache._HEADER_SIZE] + b"".join(lines))


@pytest.mark.parametrize("field", [2, 1], ids=["its content hash", "the hash binding it to its folder and stat"])
def test_a_line_damaged_in_place_gives_no_hash_and_the_file_is_written_again(tmp_path: Path, field: int) -> None:
    folders = make_folders(tmp_path, 8)
    file = tmp_path / "digests"
    look_up(file, folders)
    rewrite_lines(file, lambda lines: lines.__setitem__(3, changed_field(lines[3], field)))  # of the same length
    assert look_up(file, folders).hashed == [folders[3]]  # the line is as one of a folder that changed
    assert file.read_bytes() == whole_save(folders)
    assert look_up(file, folders).hashed == []


def test_an_unsorted_file_is_used_only_up_to_its_first_line_out_of_order(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, 8)
    file = tmp_path / "digests"
    look_up(file, folders)
    rewrite_lines(file, lambda lines: lines.__setitem__(slice(4, 6), [lines[5], lines[4]]))
    # Folder 4 is looked for where folder 5's line is (not found: hashed), folder 5 is given its own line's
    # hash, and from folder 4's line on, out of order, nothing is used.
    assert look_up(file, folders).hashed == [folders[4], *folders[6:]]
    assert file.read_bytes() == whole_save(folders)
    assert look_up(file, folders).hashed == []


def test_without_a_cache_folder_to_write_to_every_hash_is_still_right_and_nothing_is_written(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, 6)
    file = tmp_path / "digests"
    look_up(file, folders)
    before = file.read_bytes()
    edit(folders[2], "name: two\n")
    assert look_up(file, folders, writable=False).hashed == [folders[2]]
    assert look_up(file, list(reversed(folders)), writable=False).hashed == [folders[2]]
    assert file.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["digests", "tenants"]  # no temporary file left


def test_a_folder_changed_in_the_last_two_seconds_is_dropped_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = make_folders(tmp_path, 5)
    file = tmp_path / "digests"
    look_up(file, folders)
    monkeypatch.setattr(statcache, "RACY_SECONDS", 2)
    edit(folders[1], "name: now\n")  # just now: a second write in this clock tick could keep its stat
    assert look_up(file, folders).hashed == [folders[1]]
    assert file.read_bytes() == whole_save(folders[:1] + folders[2:])
    assert look_up(file, folders).hashed == [folders[1]]


def test_a_content_hash_the_file_cannot_hold_is_given_but_not_remembered(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, 3)
    file = tmp_path / "digests"
    digests = statcache.FolderDigests(file, lambda: file)
    assert [digests.digest(f, lambda f: f"not hex {f.name}\n") for f in folders] == [
        f"not hex {f.name}\n" for f in folders
    ]
    digests.save()
    assert look_up(file, folders).hashed == folders


def test_the_same_object_looks_up_again_after_a_save(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, 4)
    file = tmp_path / "digests"
    digests = statcache.FolderDigests(file, lambda: file)
    hasher = Hasher()
    for _ in range(2):
        for folder in folders:
            digests.digest(folder, hasher)
        digests.save()
    assert hasher.hashed == folders


class Stop(Exception):
    """An exception no lookup expects."""


def test_an_exception_in_a_lookup_leaves_the_file_as_it_was_and_nothing_beside_it(tmp_path: Path) -> None:
    folders = make_folders(tmp_path, 6)
    file = tmp_path / "digests"
    look_up(file, folders)
    before = file.read_bytes()
    edit(folders[1], "name: one\n")  # written into the new file before the exception
    edit(folders[4], "name: four\n")

    def compute(folder: Path) -> str:
        if folder == folders[4]:
            raise Stop
        return content_hash(folder)

    with pytest.raises(Stop), statcache.FolderDigests(file, lambda: file) as digests:
        for folder in folders:
            digests.digest(folder, compute)
    assert file.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["digests", "tenants"]


def test_a_build_whose_lookup_raises_leaves_the_stat_cache_as_it_was_and_nothing_beside_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(project, project / "build", OPTIONS)
    cache = project / ".cache" / "policygen"
    before = (cache / "digests").read_bytes()
    for tenant in sorted((project / "tenants").iterdir())[:2]:  # both hashed again, the second raising
        with (tenant / "tenant.yaml").open("a", encoding="utf-8") as f:
            f.write("# edited\n")
    real, hashed = tenantfolders.checked_tenant_digest, []

    def failing(folder: Path) -> str:
        hashed.append(folder)
        if len(hashed) == 2:
            raise Stop
        return real(folder)

    monkeypatch.setattr(tenantfolders, "checked_tenant_digest", failing)
    with pytest.raises(Stop):
        build(project, project / "build", OPTIONS)
    assert (cache / "digests").read_bytes() == before
    assert [p.name for p in cache.iterdir() if p.name.startswith(".digests")] == []


def lookup_peak(tmp_path: Path, count: int) -> int:
    """The traced peak of a lookup of *count* folders, every one known, one in ten edited."""
    folders = make_folders(tmp_path / str(count), count)
    file = tmp_path / f"digests-{count}"
    look_up(file, folders)
    for folder in folders[::10]:
        edit(folder, "name: edited\n")
    tracemalloc.start()
    try:
        look_up(file, folders)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_looking_up_and_saving_many_folders_holds_no_entry_of_each(tmp_path: Path) -> None:
    small, large = lookup_peak(tmp_path, 500), lookup_peak(tmp_path, 3000)
    # Held whole, an entry is about 400 bytes: 1 MB more for 2,500 folders.
    assert large - small < 100_000, (small, large)


def test_a_remembered_hash_that_is_not_a_tenant_folders_is_not_used_and_the_folder_is_hashed_again(
    project: Path, tmp_path: Path
) -> None:
    """The cache is the project's, and may be edited: a line bound to its folder and stat by hand but giving a
    hash that is not a sha256 (as tenant folders' are) is no hash of the folder."""
    out = project / "build"
    build(project, out, OPTIONS)
    file = project / ".cache" / "policygen" / tenantfolders.DIGESTS
    folders = sorted((project / "tenants").iterdir())
    stat_hash = statcache.tree_stat(str(folders[0]), skip_editor_files=True)[0].encode()  # type: ignore[index]
    forged = statcache._digest_line(statcache._digest_key(folders[0]), stat_hash, b"abc")
    lines = file.read_bytes()[statcache._HEADER_SIZE :].splitlines(keepends=True)
    body = b"".join(sorted([forged, *(line for line in lines if not line.startswith(forged.split(b" ")[0] + b" "))]))
    file.write_bytes(statcache._digests_header(statcache._HEADER_SIZE + len(body)) + body)
    edited = folders[1] / "tenant.yaml"
    edited.write_text(edited.read_text(encoding="utf-8").replace("display_name: ", "display_name: X", 1))

    report = build(project, out, OPTIONS)

    assert report.rendered_tenants == [folders[1].name]  # the first folder's hash, taken again, is its own
    cold = build(project, tmp_path / "cold", OPTIONS).out
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == {
        p.relative_to(cold).as_posix(): p.read_bytes() for p in cold.rglob("*") if p.is_file()
    }


def test_a_tenant_folders_hash_is_of_each_file_by_its_path_and_bytes_files_before_folders_links_by_where_they_point(
    tmp_path: Path,
) -> None:
    folder, outside = tmp_path / "tenants" / "acme", tmp_path / "elsewhere.txt"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "zz").mkdir()
    outside.write_text("not read")
    files = {"tenant.yaml": "a", "b.md": "b", "sub/x.md": "c", "sub/deeper/y": "d", "zz/q r": "e", ".b.md.swp": "-"}
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "link-out").symlink_to(outside)
    (folder / "link-to-folder").symlink_to(folder / "sub")  # a link to a folder is not walked
    # The folder's files by name, then each folder's in turn by name; an editor's scratch file is no input.
    hashed = [
        ("b.md", b"b"),
        ("link-out", os.fsencode(outside)),
        ("tenant.yaml", b"a"),
        ("sub/x.md", b"c"),
        ("sub/deeper/y", b"d"),
        ("zz/q r", b"e"),
    ]
    expected = hashlib.sha256(b"".join(path.encode() + b"\0" + data + b"\0" for path, data in hashed)).hexdigest()
    assert tenantfolders.tenant_digest(folder) == expected
