"""The write path of a rebuild: the previous output is kept in .cache/policygen/ and brought up to date,
so a rebuild writes only the files whose bytes changed, and the site is still swapped in at once.
(And manifest.json, written by hand for speed, is exactly the indented JSON it always was.)

The spare is never trusted: whatever happened to it (edited, emptied, deleted, a link), the output
is byte for byte a fresh build's, and nothing is written outside the project and the output folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policygen import engine, outfolder, output
from policygen.engine import build
from policygen.output import Output, manifest, spare_folder
from policygen.paths import SortedNames
from policygen.site import BuildOptions
from policygen.statcache import SameBytes

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))


def tree(folder: Path) -> dict[str, bytes | str]:
    """Every file (its bytes), link (its target) and empty folder of *folder*."""
    found: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            found[rel] = f"-> {os.readlink(p)}"
        elif p.is_file():
            found[rel] = p.read_bytes()
        elif not any(p.iterdir()):
            found[rel] = "empty folder"
    return found


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def fresh(project: Path, tmp_path: Path) -> dict[str, bytes | str]:
    return tree(build(project, tmp_path / "fresh", OPTIONS).out)


def test_the_previous_output_is_kept_in_the_projects_cache_after_a_rebuild(project: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    spare = spare_folder(project, out)
    assert not spare.exists()  # a first build has no previous output to keep
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Once")
    build(project, out, OPTIONS)
    assert spare.parent == project.resolve() / ".cache/policygen/spare" and spare.is_dir()
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == [".cache"]


def test_a_rebuild_after_one_tenants_edit_writes_only_that_tenants_files_and_the_site_files(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Once")
    build(project, out, OPTIONS)  # from here on the previous output is kept
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Edited")
    written: list[str] = []
    real = Path.write_bytes

    def spy(self: Path, data: bytes) -> int:  # type: ignore[override]
        written.append(self.relative_to(outfolder.staging_folder(out)).as_posix())
        return real(self, data)

    def spy_open(file: str | Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:  # the manifest is streamed
        if "x" in mode or "w" in mode:
            written.append(Path(file).relative_to(outfolder.staging_folder(out)).as_posix())
        return open(file, mode, *args, **kwargs)

    real_new = output.write_new

    def spy_new(file: str, data: bytes) -> None:  # how the writer writes a file of the site
        written.append(Path(file).relative_to(outfolder.staging_folder(out)).as_posix())
        real_new(file, data)

    monkeypatch.setattr(Path, "write_bytes", spy)
    monkeypatch.setattr(output, "write_new", spy_new)
    monkeypatch.setattr(output, "open", spy_open, raising=False)
    monkeypatch.setattr(engine.SiteIndexBeside, "start", lambda *args: None)  # written here, where the spies are
    build(project, out, OPTIONS)
    monkeypatch.undo()
    assert written and all(p.startswith("ims-pro/") or "/" not in p for p in written), written
    assert {"manifest.json", "index.html"} <= set(written)
    assert tree(out) == fresh(project, tmp_path)


def test_a_spare_output_tampered_with_still_gives_exactly_a_fresh_build(project: Path, tmp_path: Path) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    edit(project / "tenants/ims-global/tenant.yaml", "display_name: ", "display_name: Once ")
    build(project, out, OPTIONS)
    spare = spare_folder(project, out)
    page = spare / "ims-pro/privacy-policy/index.html"
    size = page.stat().st_size
    page.unlink()  # the spare's files are linked to the output's: a tamperer replaces, never edits in place
    page.write_bytes(b"x" * size)  # same size, other bytes
    (spare / "ims-global/stray.html").write_bytes(b"not ours")
    (spare / "ims-global/feed.xml").unlink()
    (spare / "ims-global/feed.xml").mkdir()  # a folder where a file goes
    (spare / "ihm-connect/link").symlink_to(tmp_path)
    (spare / "empty/deeper").mkdir(parents=True)
    shutil.rmtree(spare / "ihm-connect/privacy-policy")
    (spare / "ihm-connect/privacy-policy").write_bytes(b"a file where a folder goes")
    shutil.rmtree(spare / "assets")
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Edited")
    build(project, out, OPTIONS)
    assert tree(out) == fresh(project, tmp_path)


def test_deleting_the_cache_never_changes_the_output(project: Path, tmp_path: Path) -> None:
    out = project / "build"
    for _ in range(3):
        build(project, out, OPTIONS)
    kept = tree(out)
    shutil.rmtree(project / ".cache")
    build(project, out, OPTIONS)
    assert tree(out) == kept == fresh(project, tmp_path)


def test_a_cache_folder_that_links_out_of_the_project_is_not_used(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / ".cache").symlink_to(outside)
    out = project / "build"
    for _ in range(3):
        build(project, out, OPTIONS)
    assert list(outside.iterdir()) == []  # nothing written through the link
    assert tree(out) == fresh(project, tmp_path)


texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
outputs = st.lists(
    st.builds(
        Output,
        path=texts.filter(bool),
        kind=st.sampled_from(["page", "feed", "data"]),
        data=st.binary(max_size=8),
        tenant=st.none() | texts,
        document=st.none() | texts,
        version=st.none() | texts,
        effective=st.none() | st.dates(),
        app=st.none() | texts,
    ),
    max_size=5,
    unique_by=lambda o: o.path,
)
extras = st.dictionaries(
    texts.filter(lambda k: k not in {"generator", "files"}),
    st.recursive(
        st.none() | st.booleans() | st.integers() | texts, lambda inner: st.lists(inner) | st.dictionaries(texts, inner)
    ),
    max_size=3,
)


@given(outputs, extras)
def test_the_manifest_is_exactly_the_indented_json_of_its_files_and_extras(
    files: list[Output], extra: dict[str, object]
) -> None:
    body = {"generator": "policygen", "files": [o.entry() for o in sorted(files, key=lambda o: o.path)], **extra}
    expected = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    assert manifest(files, extra).data.decode() == expected


def test_a_rebuild_parses_the_previous_manifest_once_and_still_keeps_the_users_files(
    project: Path, manifest_told: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    (out / "CNAME").write_text("policies.example.com\n", encoding="utf-8")

    def parsed_again(data: Any) -> set[str]:
        raise AssertionError("the swap parsed the manifest the build had read already")

    monkeypatch.setattr(output, "listed_top_level", parsed_again)  # the swap's; the build's own is engine's
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Edited")
    build(project, out, OPTIONS)
    monkeypatch.undo()
    assert (out / "CNAME").read_text(encoding="utf-8") == "policies.example.com\n"
    assert {p: b for p, b in tree(out).items() if p != "CNAME"} == fresh(project, tmp_path)


def test_a_manifest_replaced_after_the_build_read_it_is_read_again_at_the_swap(
    project: Path, manifest_told: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, OPTIONS)
    carry = output._carry_user_entries

    def replaced_first(out: Path, staging: Path, ours_now: set[str], listed: Any = None) -> None:
        # Another build (or anyone) put a manifest listing notes/ there since this build read the previous one.
        data = json.loads((out / "manifest.json").read_bytes())
        data["files"].append({"path": "notes/a.txt"})
        (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
        (out / "notes").mkdir()
        (out / "notes/a.txt").write_text("a previous build's file\n", encoding="utf-8")
        carry(out, staging, ours_now, listed)

    monkeypatch.setattr(output, "_carry_user_entries", replaced_first)
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Edited")
    build(project, out, OPTIONS)
    assert not (out / "notes").exists()  # listed by the manifest there at the swap: policygen's, not the user's


@pytest.mark.parametrize(
    ("encoded", "known"),
    [
        (lambda text: text.encode("utf-8"), False),  # policygen's own: the swap reads it an entry at a time itself
        (lambda text: json.dumps(json.loads(text)).encode("utf-8"), True),  # laid out otherwise: parsed whole
        (lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"), False),  # the build reads it; the swap's text would not
        (lambda text: text.encode("utf-16-le"), False),
        (lambda text: text.replace("}", ', "x": "\ud800"}', 1).encode("utf-8", "surrogatepass"), False),
    ],
)
def test_the_build_hands_the_manifests_names_to_the_swap_only_when_both_read_the_same_text(
    project: Path, encoded: Any, known: bool
) -> None:
    from policygen.engine import Previous

    out = project / "build"
    build(project, out, OPTIONS)
    text = (out / "manifest.json").read_text(encoding="utf-8")
    (out / "manifest.json").write_bytes(encoded(text))
    previous = Previous(out)
    assert previous.damaged is None
    expected = {str(f["path"]).split("/", 1)[0] for f in json.loads(text)["files"]} | {"manifest.json"}
    assert (previous.top_level is not None and set(previous.top_level.names) == expected) is known
    if not known:
        assert previous.top_level is None


def test_the_users_entries_are_told_from_twenty_thousand_tenant_folders_without_holding_a_path_of_each(
    tmp_path: Path,
) -> None:
    # The swap carries the few entries policygen did not write (a CNAME) from an output that holds a folder for
    # every tenant. It held a Path of each entry and a set of the previous manifest's names: about 6 MB here.
    out, staging = tmp_path / "build", tmp_path / "staging"
    staging.mkdir()
    names = sorted(f"tenant-{i:05d}" for i in range(20_000))
    for name in names:
        (out / name).mkdir(parents=True)
    (out / "CNAME").write_text("policies.example.com\n", encoding="utf-8")
    (out / "manifest.json").write_bytes(b"{}")
    listed = output.ListedNames(SameBytes.by_hash(b"{}"), SortedNames([*names, "manifest.json"]))
    tracemalloc.start()
    try:
        output._carry_user_entries(out, staging, (), listed)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sorted(p.name for p in staging.iterdir()) == ["CNAME"]
    assert peak < 1_000_000
