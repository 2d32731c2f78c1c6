"""Each tenant's part of the site-wide files (its manifest entries, sitemap pages, feed entries and
counts) is kept in .cache/policygen/fragments/ by input key as the tenant is written
(policygen/fragments.py): a rebuild reuses the parts of unchanged tenants instead of checking and
writing out their records again, and the build process keeps no record of each file.

The parts are local state anything may change: one that is missing, damaged, of another tenant or key,
or that names a path outside its tenant's folder is made again, and the output is still byte for byte
a fresh build's. A part signed with the user's key (policygen/signing.py) is used without its entries
being read; one signed otherwise is checked like any other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from policygen import engine, fragments, outfolder, output, signing, statcache
from policygen.engine import build
from policygen.errors import InputError
from policygen.output import Output, spare_folder
from policygen.site import BuildOptions

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))
EDITED = "ims-pro"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def edit(project: Path, slug: str, new_name: str) -> None:
    file = project / "tenants" / slug / "tenant.yaml"
    text = file.read_text(encoding="utf-8")
    assert "display_name: " in text
    file.write_text(text.replace("display_name: ", f"display_name: {new_name} ", 1), encoding="utf-8")


def parts(project: Path) -> Path:
    return project / ".cache" / "policygen" / fragments.FOLDER


def read_part(file: Path) -> tuple[dict[str, Any], str]:
    """A part's line of JSON, and its manifest entries as text (after the line of its signature)."""
    _, head, body = file.read_bytes().split(b"\n", 2)
    return json.loads(head), body.decode()


def write_part(file: Path, head: dict[str, Any], files: str, key: bytes | None = None) -> None:
    """A part with *head* and *files*, signed with *key*, else under the signature it had (which then no
    longer verifies: the part is checked entry by entry)."""
    body = json.dumps(head).encode() + b"\n" + files.encode()
    signature = file.read_bytes().split(b"\n", 1)[0] if key is None else signing.sign(key, PURPOSE, body).hex().encode()
    file.write_bytes(signature + b"\n" + body)


PURPOSE = b"policygen tenant part"


def cold(project: Path, tmp_path: Path) -> dict[str, bytes]:
    """The site a build with no previous output and no cache writes."""
    copy = tmp_path / "cold"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".cache", "build"))
    return tree(build(copy, copy / "build", OPTIONS).out)


def stat_of(file: Path) -> tuple[int, int, int]:
    info = file.stat()
    return info.st_ino, info.st_mtime_ns, info.st_ctime_ns


def parts_stat(project: Path) -> dict[str, tuple[int, int, int]]:
    """Each kept part's inode and times: a part written again, even with the same bytes, changes them."""
    return {p.name: stat_of(p) for p in parts(project).glob("*.json")}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tenants whose part a build makes (rather than finds in the cache)."""
    made: list[str] = []
    real = fragments.Fragments.put

    def put(self: fragments.Fragments, part: fragments.Fragment) -> fragments.Stored:
        made.append(part.slug)
        return real(self, part)

    monkeypatch.setattr(fragments.Fragments, "put", put)
    return made


def test_a_build_keeps_each_tenants_part_of_the_site_files_in_the_cache(project: Path) -> None:
    report = build(project, project / "build", OPTIONS)
    kept = sorted(p.stem for p in parts(project).glob("*.json"))
    assert kept == report.tenants
    part, files = read_part(parts(project) / f"{EDITED}.json")
    manifest = (project / "build/manifest.json").read_text(encoding="utf-8")
    assert part["key"] == json.loads(manifest)["tenants"][EDITED]["inputs"]
    listed = [f for f in json.loads(manifest)["files"] if f["tenant"] == EDITED]
    assert json.loads(f"[{files}]") == listed and part["count"] == len(listed)
    assert files in manifest  # the very text of the manifest


def test_after_one_tenants_edit_only_that_tenants_part_is_made_again_and_the_site_is_a_cold_builds(
    project: Path, tmp_path: Path, counted: list[str]
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    before = parts_stat(project)
    counted.clear()
    edit(project, EDITED, "Edited")
    report = build(project, out, OPTIONS)
    assert report.rendered_tenants == [EDITED] and counted == [EDITED]
    after = parts_stat(project)
    assert {name for name in after if after[name] != before[name]} == {f"{EDITED}.json"}  # the others untouched
    assert tree(out) == cold(project, tmp_path)  # manifest.json, sitemap, feed included, byte for byte


def test_a_build_whose_output_was_deleted_leaves_each_part_it_makes_again_byte_for_byte_untouched(
    project: Path, tmp_path: Path, counted: list[str]
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    before = parts_stat(project)
    shutil.rmtree(out)  # as a CI run that restores the cache and not the output
    counted.clear()
    report = build(project, out, OPTIONS)
    assert sorted(counted) == report.tenants  # every part made again
    assert parts_stat(project) == before  # none written: same inode, times
    assert tree(out) == cold(project, tmp_path)


def test_a_part_whose_file_differs_or_is_no_regular_file_is_written_in_its_place(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    made = (parts(project) / f"{EDITED}.json").read_bytes()
    (parts(project) / f"{EDITED}.json").write_bytes(made[:-1] + b" ")  # the same size, one byte changed
    os.unlink(parts(project) / "ihm-connect.json")
    os.mkfifo(parts(project) / "ihm-connect.json")  # opened to compare, a FIFO would wait for a writer
    shutil.rmtree(out)
    build(project, out, OPTIONS)
    assert (parts(project) / f"{EDITED}.json").read_bytes() == made
    assert (parts(project) / "ihm-connect.json").is_file()


def test_the_part_of_a_tenant_deleted_from_the_project_is_removed_by_the_next_build(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    shutil.rmtree(project / "tenants" / "ihm-connect")
    build(project, out, BuildOptions(today=OPTIONS.today, tenants=[EDITED]))  # a build of some tenants too
    assert not (parts(project) / "ihm-connect.json").exists()
    assert (parts(project) / "ims-global.json").exists()  # a tenant that is there, though not built: kept


def test_the_files_a_build_lists_are_read_back_from_its_manifest(project: Path) -> None:
    report = build(project, project / "build", OPTIONS)
    listed = json.loads((report.out / "manifest.json").read_bytes())["files"]
    assert [o.path for o in report.outputs] == [f["path"] for f in listed] + ["manifest.json"]
    assert report.built().files == len(listed) + 1
    assert report.built().pages == sum(1 for f in listed if f["path"].endswith(".html"))


@pytest.mark.parametrize(
    "damage",
    [
        "missing",
        "not json",
        "another format",
        "another tenant's part",
        "a path outside the tenant",
        "a path out of the output",
        "a path out of the output, signed with another key",
        "wrong counts",
        "no folders listed",
        "an entry policygen does not write",
        "an entry with a negative size",
        "an entry whose document is no text",
        "an entry whose date is no date",
        "a link",
    ],
)
def test_a_damaged_or_foreign_part_is_made_again_and_never_trusted(
    project: Path, tmp_path: Path, counted: list[str], damage: str
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    file = parts(project) / "ihm-connect.json"
    part, files = read_part(file)
    other, other_files = read_part(parts(project) / "ims-global.json")
    first = json.loads(f"[{files}]")
    outside = tmp_path / "outside"
    if damage == "missing":
        file.unlink()
    elif damage == "not json":
        file.write_bytes(b"{not json")
    elif damage == "another format":
        write_part(file, {**part, "format": 0}, files)
    elif damage == "another tenant's part":
        write_part(file, {**other, "slug": "ihm-connect", "key": part["key"]}, other_files)
    elif damage.startswith(("a path outside the tenant", "a path out of the output")):
        page = next(e for e in first if e["path"].endswith(".html"))  # the counts stay right
        path = "ims-global/privacy-policy/index.html" if "tenant" in damage else "ihm-connect/../../outside/x.html"
        sitemap = [[path if p == page["path"] else p, day] for p, day in part["sitemap"]]  # and the sitemap
        page["path"] = path
        text = ",\n".join(json.dumps(e) for e in first)
        folders = [*part["folders"], "ihm-connect/../../outside"]
        write_part(file, {**part, "sitemap": sitemap, "folders": folders}, text, b"k" * 32 if "key" in damage else None)
    elif damage == "wrong counts":
        write_part(file, {**part, "count": part["count"] + 1}, files)
    elif damage == "no folders listed":
        write_part(file, {k: v for k, v in part.items() if k != "folders"}, files)
    elif damage.startswith("an entry"):
        field, value = {
            "an entry policygen does not write": ("sha256", "not a hash"),
            "an entry with a negative size": ("bytes", -1),
            "an entry whose document is no text": ("document", ["privacy-policy"]),
            "an entry whose date is no date": ("effective", "2026-02-30"),
        }[damage]
        first[-1][field] = value
        write_part(file, part, ",\n".join(json.dumps(e) for e in first))
    elif damage == "a link":
        outside.write_bytes(file.read_bytes())
        file.unlink()
        file.symlink_to(outside)
    counted.clear()
    edit(project, EDITED, "Edited")  # a build that reuses ihm-connect
    report = build(project, out, OPTIONS)
    assert "ihm-connect" in report.reused_tenants
    assert sorted(counted) == sorted({EDITED, "ihm-connect"})  # made again, from the previous output
    assert tree(out) == cold(project, tmp_path)
    assert not (tmp_path / "outside" / "x.html").exists()
    assert read_part(file)[0]["key"] == part["key"] and not file.is_symlink()


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each part a build found in the cache, with whether it was signed with the user's key."""
    found: list[tuple[str, bool]] = []
    real = fragments.Fragments.cached

    def cached(self: fragments.Fragments, slug: str, key: str) -> tuple[fragments.Fragment, fragments.Stored] | None:
        before = self.trusted
        result = real(self, slug, key)
        if result is not None:
            found.append((slug, self.trusted > before))
        return result

    monkeypatch.setattr(fragments.Fragments, "cached", cached)
    return found


def test_a_part_signed_with_the_users_key_is_used_without_its_entries_being_read(
    project: Path,
    tmp_path: Path,
    parsed: list[tuple[str, bool]],
    folders_put: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = twice_reused(project)  # so that the unchanged tenants' folders are kept whole: their files not listed
    checked: list[str] = []
    real = fragments._entries
    monkeypatch.setattr(fragments, "_entries", lambda files: checked.append(files) or real(files))
    parsed.clear()
    report = build(project, out, OPTIONS)
    assert parsed == [(slug, True) for slug in report.reused_tenants] and len(parsed) > 1
    assert checked == []
    assert tree(out) == cold(project, tmp_path)


def test_parts_signed_with_another_key_are_checked_entry_by_entry_and_the_site_is_the_same(
    project: Path, tmp_path: Path, parsed: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    report = build(project, out, OPTIONS)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))  # the cache came from elsewhere
    assert signing.signing_key() is not None
    edit(project, EDITED, "Edited")
    build(project, out, OPTIONS)
    assert parsed == [(slug, False) for slug in sorted(set(report.tenants) - {EDITED})]
    assert tree(out) == cold(project, tmp_path)


def test_a_part_read_back_past_the_budget_and_changed_during_the_build_stops_it_with_the_output_left_as_it_was(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fragments, "HELD_BUDGET", 0)  # every part is read back from the cache
    out = project / "build"
    build(project, out, OPTIONS)
    edit(project, EDITED, "Once")
    build(project, out, OPTIONS)
    before = tree(out)
    real = engine.site_files

    def tampered(*args: Any, **kwargs: Any) -> list[Output]:
        # The edited tenant's part, just made: an unchanged tenant's is not read back (its sitemap URLs and manifest
        # entries are copied from the previous files, policygen/spans.py).
        (parts(project) / f"{EDITED}.json").write_bytes(b"{}")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "site_files", tampered)
    edit(project, EDITED, "Twice")
    with pytest.raises(InputError) as raised:
        build(project, out, OPTIONS)
    assert "cache changed while the build was reading it" in raised.value.problems[0].message
    assert tree(out) == before


@pytest.mark.parametrize("sitemap", ["with a base_url", "without"])
def test_a_signed_parts_sitemap_pages_are_made_once_and_only_for_a_site_with_a_sitemap(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sitemap: str
) -> None:
    if sitemap == "without":
        (project / "policygen.yaml").write_text("", encoding="utf-8")
    out = project / "build"
    build(project, out, OPTIONS)
    edit(project, EDITED, "Edited")
    made: list[str] = []
    real = fragments.SitemapPage
    monkeypatch.setattr(fragments, "SitemapPage", lambda path, day: made.append(path) or real(path, day))
    build(project, out, OPTIONS)
    # EDITED's part read back for the sitemap; the others' URLs are copied from the previous one (policygen/spans.py).
    listed = [path for path, _ in read_part(parts(project) / f"{EDITED}.json")[0]["sitemap"]]
    assert len(listed) > 1 and (out / "sitemap.xml").exists() == (sitemap != "without")
    assert sorted(made) == (sorted(listed) if sitemap != "without" else [])
    assert tree(out) == cold(project, tmp_path)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The parts a build reads from the cache, by file name, each time it reads one."""
    read: list[str] = []
    real = fragments._read
    monkeypatch.setattr(fragments, "_read", lambda file: read.append(os.path.basename(file)) or real(file))
    return read


def test_a_rebuild_reads_each_unchanged_tenants_part_once_while_the_parts_fit_in_the_budget(
    project: Path, tmp_path: Path, reads: list[str]
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    edit(project, EDITED, "Edited")
    reads.clear()
    report = build(project, out, OPTIONS)
    # Not again for the sitemap and the manifest; the edited tenant's part, made by the build, for those two.
    assert sorted(reads) == sorted([f"{slug}.json" for slug in report.reused_tenants] + [f"{EDITED}.json"] * 2)
    assert tree(out) == cold(project, tmp_path)


def test_past_the_budget_a_rebuild_reads_the_parts_back_and_writes_the_same_site(
    project: Path, tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    edit(project, EDITED, "Edited")
    monkeypatch.setattr(fragments, "HELD_BUDGET", 0)
    reads.clear()
    report = build(project, out, OPTIONS)
    # Found for reuse (their sitemap URLs and manifest entries are copied from the previous files:
    # policygen/spans.py); the edited tenant's for the sitemap and the manifest.
    expected = sorted([f"{slug}.json" for slug in report.reused_tenants] + [f"{EDITED}.json"] * 2)
    assert sorted(reads) == expected
    assert tree(out) == cold(project, tmp_path)


def test_a_part_changed_in_the_cache_during_the_build_is_not_used_when_the_build_holds_it(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    edit(project, EDITED, "Once")
    real = engine.site_files

    def tampered(*args: Any, **kwargs: Any) -> list[Output]:
        (parts(project) / "ihm-connect.json").write_bytes(b"{}")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "site_files", tampered)
    build(project, out, OPTIONS)
    assert tree(out) == cold(project, tmp_path)


def test_without_a_usable_cache_the_parts_stay_in_memory_and_the_site_is_the_same(
    project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, project / ".cache")  # a committed link is never used
    report = build(project, project / "build", OPTIONS)
    assert not list(elsewhere.rglob("*.json"))
    assert report.built().files == len(report.outputs)
    os.unlink(project / ".cache")
    assert tree(report.out) == cold(project, tmp_path)


def test_a_build_checks_the_parts_folder_once_not_once_a_tenant(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[Path] = []
    real = outfolder.plain_folder

    def spy(folder: Path) -> bool:
        checked.append(folder)
        return real(folder)

    monkeypatch.setattr(outfolder, "plain_folder", spy)
    report = build(project, project / "build", OPTIONS)
    assert len(report.tenants) > 1 and len(list(parts(project).glob("*.json"))) == len(report.tenants)
    assert checked.count(parts(project)) == 1


def test_a_part_that_cannot_be_written_leaves_no_file_in_its_place(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "t.json").write_bytes(b"an older part")
    (folder / f".t.json.{os.getpid()}.tmp").mkdir()  # where the new part would be written first
    records = outfolder.CacheRecords(folder)
    assert not records.write("t.json", b"the new part")
    assert sorted(p.name for p in folder.iterdir()) == [f".t.json.{os.getpid()}.tmp"]
    assert records.write("u.json", b"another part") and (folder / "u.json").read_bytes() == b"another part"


def test_parts_are_never_written_through_a_link_to_their_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "parts").mkdir(parents=True)
    (tmp_path / "cache").symlink_to(elsewhere)
    records = outfolder.CacheRecords(tmp_path / "cache" / "parts")
    assert not records.write("t.json", b"a part")
    assert list((elsewhere / "parts").iterdir()) == []


@pytest.fixture
def folders_put(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tenant folders a build writes or links file by file (not kept whole)."""
    put: list[str] = []
    real = output._put_folder

    def spy(staging: output.Staging, top: str, outputs: list[Output]) -> tuple[list[Output], list[Path]]:
        put.append(top)
        return real(staging, top, outputs)

    monkeypatch.setattr(output, "_put_folder", spy)
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)  # the builds follow each other within a second
    return put


def twice_reused(project: Path) -> Path:
    """An output whose tenants but EDITED were reused by the build that wrote it, its spare the build before."""
    out = project / "build"
    build(project, out, OPTIONS)
    edit(project, EDITED, "Once")
    build(project, out, OPTIONS)
    edit(project, EDITED, "Twice")
    return out


def test_an_unchanged_tenant_whose_spare_folder_is_known_intact_is_kept_without_looking_at_its_files(
    project: Path, tmp_path: Path, folders_put: list[str]
) -> None:
    out = twice_reused(project)
    folders_put.clear()
    report = build(project, out, OPTIONS)
    assert folders_put == [EDITED] and report.rendered_tenants == [EDITED]
    edit(project, EDITED, "Thrice")
    folders_put.clear()
    build(project, out, OPTIONS)  # and again: the folder kept whole is remembered intact
    assert folders_put == [EDITED]
    assert tree(out) == cold(project, tmp_path)


@pytest.mark.parametrize("change", ["a stray file", "a file removed", "a file edited in place", "a folder added"])
def test_a_spare_folder_changed_since_is_not_kept_whole_and_the_site_is_still_a_cold_builds(
    project: Path, tmp_path: Path, folders_put: list[str], change: str
) -> None:
    out = twice_reused(project)
    folder = spare_folder(project, out) / "ihm-connect"
    page = folder / "privacy-policy" / "index.html"
    if change == "a stray file":
        (folder / "privacy-policy" / "stray.html").write_bytes(b"not ours")
    elif change == "a file removed":
        page.unlink()
    elif change == "a file edited in place":  # the output's file too (a hard link): its stamp no longer matches
        with open(page, "r+b") as f:
            f.write(b"<!-- x -->")
    else:
        (folder / "privacy-policy" / "more").mkdir()
    folders_put.clear()
    build(project, out, OPTIONS)
    assert "ihm-connect" in folders_put
    assert tree(out) == cold(project, tmp_path)


def inodes(out: Path, tenants: list[str]) -> dict[str, int]:
    return {
        p.relative_to(out).as_posix(): p.stat().st_ino for t in tenants for p in (out / t).rglob("*") if p.is_file()
    }


def test_a_first_rebuild_links_each_unchanged_tenants_folder_whole_not_file_by_file(
    project: Path, tmp_path: Path, folders_put: list[str]
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)  # a cold build: no spare output yet
    unchanged = sorted(p.name for p in (project / "tenants").iterdir() if p.name != EDITED)
    before = inodes(out, unchanged)
    edit(project, EDITED, "Once")
    folders_put.clear()
    build(project, out, OPTIONS)
    assert folders_put == [EDITED]  # the others linked whole, no record of each of their files made
    assert inodes(out, unchanged) == before  # each the very file of the previous output
    assert tree(out) == cold(project, tmp_path)
    edit(project, EDITED, "Twice")
    folders_put.clear()
    build(project, out, OPTIONS)  # and remembered: the next build keeps them whole
    assert folders_put == [EDITED]
    assert tree(out) == cold(project, tmp_path / "again")


def test_a_folder_that_cannot_be_linked_whole_is_put_file_by_file_and_the_site_is_still_a_cold_builds(
    project: Path, tmp_path: Path, folders_put: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    edit(project, EDITED, "Once")
    real = os.link

    def across_file_systems(source: str, target: str, **kwargs: Any) -> None:
        if kwargs.get("src_dir_fd") is not None:  # the folder-by-folder link: as on another file system
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(source, target, **kwargs)

    monkeypatch.setattr(os, "link", across_file_systems)
    folders_put.clear()
    build(project, out, OPTIONS)
    assert sorted(folders_put) == sorted(p.name for p in (project / "tenants").iterdir())
    assert tree(out) == cold(project, tmp_path)


def test_a_folder_holding_a_link_is_not_linked_whole_and_nothing_of_it_is_left(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    (previous / "t" / "docs").mkdir(parents=True)
    (previous / "t" / "docs" / "a.html").write_bytes(b"<p>a</p>")
    (previous / "u" / "docs").mkdir(parents=True)
    (previous / "u" / "docs" / "b.html").write_bytes(b"<p>b</p>")
    (previous / "u" / "docs" / "elsewhere").symlink_to(tmp_path)
    with output.SiteWriter(tmp_path / "out", None) as writer:
        staging = writer.staging.folder
        assert writer.link_whole("t", str(previous))
        assert (staging / "t/docs/a.html").stat().st_ino == (previous / "t/docs/a.html").stat().st_ino
        assert not writer.link_whole("u", str(previous))
        assert not (staging / "u").exists()
        assert not writer.link_whole("t", str(previous))  # already there: put compares it
        assert writer.done == ["t"]


def test_an_updated_spare_is_never_linked_into_whole(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    (previous / "t").mkdir(parents=True)
    (previous / "t" / "a.html").write_bytes(b"<p>a</p>")
    spare = tmp_path / "spare"
    (spare / "t").mkdir(parents=True)
    with output.SiteWriter(tmp_path / "out", spare) as writer:
        assert writer.staging.updating
        assert not writer.link_whole("t", str(previous))
        assert list((writer.staging.folder / "t").iterdir()) == []  # left for put to compare


def test_a_file_once_written_keeps_every_field_but_its_bytes() -> None:
    """Output.on_disk, for each field of the class given a value of its own: what dataclasses.replace makes."""
    values: dict[str, Any] = {"path": "t/a.html", "kind": "page", "data": b"<p>a</p>", "effective": dt.date(2026, 1, 2)}
    for each in dataclasses.fields(Output):
        values.setdefault(each.name, f"a {each.name}" if each.name not in ("size", "sha256") else None)
    written = Output(**values)
    digest = hashlib.sha256(b"<p>a</p>").hexdigest()
    expected = dataclasses.replace(written, data=b"", origin="old/t/a.html", sha256=digest, size=8)
    found = written.on_disk("old/t/a.html")
    assert [getattr(found, f.name) for f in dataclasses.fields(Output)] == [
        getattr(expected, f.name) for f in dataclasses.fields(Output)
    ]
