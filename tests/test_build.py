"""policygen build: what it writes, that it is deterministic and atomic, and what a rebuild re-renders."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import copy_project, many_tenants
from helpers import edit

from policygen import engine, output
from policygen.engine import Builder, build
from policygen.errors import InputError, UsageError
from policygen.site import BuildOptions
from policygen.tenantfolders import tenant_slugs

TODAY = BuildOptions(today=__import__("datetime").date(2026, 11, 22))


def opts(**kw: object) -> BuildOptions:
    return BuildOptions(**{"today": TODAY.today, **kw})  # type: ignore[arg-type]


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_build_writes_a_page_per_tenant_document_an_index_per_tenant_and_a_site_index(project: Path) -> None:
    report = build(project, project / "build", opts())
    files = tree(report.out)
    for slug, docs in {
        "ims-pro": ["privacy-policy"],
        "ims-global": ["privacy-policy"],
        "ihm-connect": ["privacy-policy", "data-usage-policy", "data-deletion-policy"],
    }.items():
        assert f"{slug}/index.html" in files
        for doc in docs:
            assert f"{slug}/{doc}/index.html" in files
    assert "index.html" in files and "assets/style.css" in files and "manifest.json" in files


def test_manifest_lists_every_file_written_with_its_kind_and_hash(project: Path) -> None:
    report = build(project, project / "build", opts())
    data = json.loads((report.out / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["path"]: f for f in data["files"]}
    on_disk = set(tree(report.out)) - {"manifest.json"}
    assert set(listed) == on_disk
    page = listed["ims-global/privacy-policy/index.html"]
    assert page["kind"] == "page" and page["tenant"] == "ims-global" and page["document"] == "privacy-policy"
    assert page["effective"] is not None
    import hashlib

    assert page["sha256"] == hashlib.sha256((report.out / page["path"]).read_bytes()).hexdigest()
    assert set(data["tenants"]) == {"example-fitness", "ims-pro", "ims-global", "ihm-connect"}


def test_two_builds_of_the_same_input_are_byte_identical(project: Path, tmp_path: Path) -> None:
    first = build(project, tmp_path / "one", opts())
    second = build(project, tmp_path / "two", opts())
    assert tree(first.out) == tree(second.out)


def test_worker_processes_give_the_same_bytes_as_one_process(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = build(project, tmp_path / "serial", opts(jobs=1))
    monkeypatch.setattr(engine, "PARALLEL_MIN_TENANTS", 1)
    parallel = build(project, tmp_path / "parallel", opts(jobs=2))
    assert tree(serial.out) == tree(parallel.out)


def test_a_failed_build_leaves_the_previous_output_untouched(project: Path) -> None:
    out = project / "build"
    build(project, out, opts())
    before = tree(out)
    edit(project / "tenants" / "ims-pro" / "tenant.yaml", "legal_name:", "legal_nam:")
    with pytest.raises(InputError):
        build(project, out, opts())
    assert tree(out) == before
    # No staging left behind (.cache/ is the project's cache: the first build's output stamp is there).
    assert [p.name for p in project.iterdir() if p.name.startswith(".") and p.name != ".cache"] == []


def test_an_unchanged_rebuild_renders_nothing_and_writes_the_same_site(project: Path) -> None:
    out = project / "build"
    build(project, out, opts())
    before = tree(out)
    report = build(project, out, opts())
    assert report.rendered == 0 and report.rendered_tenants == []
    assert tree(out) == before


def test_editing_one_tenant_re_renders_only_that_tenant(project: Path) -> None:
    out = project / "build"
    build(project, out, opts(drafts=True))
    edit(project / "tenants" / "ims-pro" / "tenant.yaml", "To upload attachments", "To upload files")
    report = build(project, out, opts(drafts=True))
    assert report.rendered_tenants == ["ims-pro"]
    assert "To upload files" in (out / "ims-pro" / "privacy-policy" / "index.html").read_text(encoding="utf-8")


def test_showing_drafts_or_not_re_renders_only_the_tenants_that_have_released_a_version(
    project: Path, tmp_path: Path
) -> None:
    # serve shows drafts and `policygen build` does not. A draft page is an unreleased edit of a released document,
    # so a tenant that has released nothing has the same pages either way, and is reused across the switch.
    out = project / "build"
    draft = out / "example-fitness" / "privacy-policy" / "draft" / "index.html"
    edit(
        project / "tenants" / "example-fitness" / "tenant.yaml",
        "legal_name: Example Fitness Ltd",
        "legal_name: Fit Ltd",
    )
    build(project, out, opts())
    assert not draft.exists()
    shown = build(project, out, opts(drafts=True))
    assert shown.rendered_tenants == ["example-fitness"] and draft.is_file()
    assert tree(out) == tree(build(project, tmp_path / "shown", opts(drafts=True)).out)
    hidden = build(project, out, opts())
    assert hidden.rendered_tenants == ["example-fitness"] and not draft.exists()
    assert tree(out) == tree(build(project, tmp_path / "hidden", opts()).out)


def test_editing_a_clause_re_renders_only_the_tenants_whose_documents_use_it(project: Path) -> None:
    out = project / "build"
    build(project, out, opts())
    edit(
        project / "content" / "data-deletion-policy" / "030-confirmation.md",
        "{{ deletion.confirmation }}",
        "Confirmation: {{ deletion.confirmation }}",
    )
    report = build(project, out, opts())
    assert report.rendered_tenants == ["ihm-connect"]


def test_touching_a_file_without_changing_it_re_renders_nothing(project: Path) -> None:
    out = project / "build"
    build(project, out, opts())
    clause = project / "content" / "privacy-policy" / "010-introduction.md"
    clause.write_bytes(clause.read_bytes())
    assert build(project, out, opts()).rendered == 0


def test_a_theme_change_re_renders_every_tenant(project: Path) -> None:
    out = project / "build"
    build(project, out, opts())
    edit(project / "themes" / "default" / "templates" / "base.html", "Skip to content", "Skip to the policy")
    report = build(project, out, opts())
    assert report.rendered_tenants == ["example-fitness", "ihm-connect", "ims-global", "ims-pro"]


def test_a_long_lived_builder_rebuilds_one_tenant_from_memory(project: Path) -> None:
    builder = Builder(project, project / "build", opts())
    builder.build()
    edit(project / "tenants" / "ihm-connect" / "tenant.yaml", "support@ihmconnect.com", "help@ihmconnect.com")
    report = builder.build()
    assert report.rendered_tenants == ["ihm-connect"] and report.rendered >= 3


def test_building_one_tenant_keeps_the_other_tenants_previous_output(project: Path) -> None:
    out = project / "build"
    build(project, out, opts())
    before = tree(out)
    edit(project / "tenants" / "ims-global" / "tenant.yaml", "Simon Sherwood", "Simone Sherwood")
    edit(project / "tenants" / "ims-pro" / "tenant.yaml", "To upload attachments", "To upload files")
    report = build(project, out, opts(tenants=["ims-pro"]))
    assert report.rendered_tenants == ["ims-pro"]
    after = tree(out)
    assert {p: b for p, b in after.items() if p.startswith("ims-global/")} == {
        p: b for p, b in before.items() if p.startswith("ims-global/")
    }
    assert b"IMS Global" in after["index.html"] or b"Integrated Management" in after["index.html"]


def test_an_unknown_tenant_is_a_usage_error(project: Path) -> None:
    with pytest.raises(UsageError, match=r"no tenant 'ims-por'.*did you mean 'ims-pro'"):
        build(project, project / "build", opts(tenants=["ims-por"]))


@pytest.mark.parametrize("folder", ["", "content", "tenants", "themes"])
def test_the_output_folder_cannot_hold_the_projects_sources(project: Path, folder: str) -> None:
    with pytest.raises(UsageError, match="output folder cannot be"):
        build(project, project / folder if folder else project, opts())
    assert (project / "tenants" / "ims-pro" / "tenant.yaml").is_file()


def test_an_edited_output_file_is_rendered_again_rather_than_reused(project: Path) -> None:
    out = project / "build"
    build(project, out, opts())
    page = out / "ims-pro" / "privacy-policy" / "index.html"
    good = page.read_bytes()
    page.write_bytes(b"tampered")
    report = build(project, out, opts())
    assert report.rendered_tenants == ["ims-pro"]
    assert page.read_bytes() == good


def test_a_copy_of_the_project_builds_without_the_repository(tmp_path: Path) -> None:
    from conftest import REPO, copy_project

    copy = copy_project(tmp_path / "elsewhere")
    shutil.rmtree(copy / "tenants" / "ims-pro")
    report = build(copy, copy / "build", opts())
    assert report.tenants == ["example-fitness", "ihm-connect", "ims-global"]
    assert REPO not in report.out.parents


def test_an_unchanged_tenant_is_reused_without_parsing_its_facts(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = project / "build"
    build(project, out, opts())
    edit(project / "tenants" / "ims-pro" / "tenant.yaml", "To upload attachments", "To upload files")
    parsed: list[str] = []
    original = engine.load_tenant_source

    def spy(project_: object, slug: str, problems: object) -> object:
        parsed.append(slug)
        return original(project_, slug, problems)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "load_tenant_source", spy)
    build(project, out, opts())
    assert parsed == ["ims-pro"]


def test_identical_files_are_written_once_and_linked(tmp_path: Path) -> None:
    from policygen.output import Output, write_site

    same = b"<p>shared section</p>"
    write_site(
        tmp_path / "out",
        [
            Output("a/one.html", "snippet", same),
            Output("b/two.html", "snippet", same),
            Output("c/other.html", "snippet", b"different"),
        ],
    )
    one, two, other = (tmp_path / "out" / p for p in ("a/one.html", "b/two.html", "c/other.html"))
    assert one.read_bytes() == two.read_bytes() == same and other.read_bytes() == b"different"
    assert one.stat().st_ino == two.stat().st_ino != other.stat().st_ino


@pytest.mark.slow
def test_one_builder_builds_twice_in_worker_processes_with_many_tenants(tmp_path: Path) -> None:
    # A long-lived builder (serve) keeps compiled templates; they must never be sent to a worker process.
    project = many_tenants(tmp_path / "project", engine.PARALLEL_MIN_TENANTS + 6)
    builder = Builder(project, tmp_path / "out", opts(jobs=2))
    first = builder.build()
    assert len(first.rendered_tenants) == engine.PARALLEL_MIN_TENANTS + 6
    edit(project / "themes/default/templates/tenant.html", "{% endblock %}", "<p>Edited theme.</p>\n{% endblock %}")
    second = builder.build()  # every tenant again, through the worker processes
    assert second.rendered_tenants == first.rendered_tenants
    assert b"Edited theme." in (tmp_path / "out/ims-pro/index.html").read_bytes()
    assert builder.build().rendered_tenants == []  # and nothing when nothing changed


@pytest.mark.parametrize("tenants", [1, 7, 64, 70, 1000, 5000])
@pytest.mark.parametrize("jobs", [2, 3])
def test_workers_take_every_tenant_once_in_small_strided_batches_ending_with_quarter_ones(
    tenants: int, jobs: int
) -> None:
    todo = [f"t{i:05d}" for i in range(tenants)]
    chunks = engine._chunks(todo, jobs)
    assert sorted(slug for chunk in chunks for slug in chunk) == todo
    assert all(0 < len(chunk) <= engine.CHUNK_TENANTS for chunk in chunks)
    bulk = max(len(chunk) for chunk in chunks)
    tail = chunks[-2 * jobs * 4 :] if len(chunks) > 2 * jobs * 4 else chunks
    assert all(len(chunk) <= -(-bulk // 4) for chunk in tail) or bulk < 4
    if tenants >= 1000:  # each batch from across the list, not a run of neighbours
        assert all(int(chunk[-1][1:]) - int(chunk[0][1:]) > tenants // 2 for chunk in chunks[: -2 * jobs * 4])


def test_one_builder_shows_a_translation_edited_between_its_builds(tmp_path: Path) -> None:
    # A translation is read once per build for every tenant; a long-lived builder (serve) reads it again.
    project = copy_project(tmp_path / "project", releases=False)
    builder = Builder(project, tmp_path / "out", opts(jobs=1))
    builder.build()
    page = tmp_path / "out/ims-pro/privacy-policy/hi/index.html"
    assert "यह नीति बताती है" in page.read_text(encoding="utf-8")
    edit(project / "content/privacy-policy/010-introduction.hi.md", "यह नीति बताती है", "यह संशोधित नीति बताती है")
    builder.build()
    assert "यह संशोधित नीति बताती है" in page.read_text(encoding="utf-8")


def test_editor_lock_swap_and_backup_files_are_not_input(project: Path, tmp_path: Path) -> None:
    before = build(project, tmp_path / "before", opts())
    tenant, clauses = project / "tenants/ims-pro", project / "content/privacy-policy"
    (tenant / ".#tenant.yaml").symlink_to("writer@host.4242:1767225600")  # Emacs: a dangling link
    (clauses / ".#010-introduction.md").symlink_to("writer@host.4242:1767225600")
    for name in (
        "tenant.yaml~",
        ".tenant.yaml.swp",
        ".tenant.yaml.swx",
        "4913",
        "#tenant.yaml#",
        "tenant.yaml.bak",
        ".DS_Store",
        "tenant.yaml.tmp",
    ):
        (tenant / name).write_text("organisation: [", encoding="utf-8")
    (clauses / "010-introduction.md~").write_text("no front matter", encoding="utf-8")
    (project / "themes/default/static/style.css~").write_text("an older style", encoding="utf-8")
    (project / "themes/default/static/.#style.css").symlink_to("writer@host.4242:1767225600")
    after = build(project, tmp_path / "after", opts())
    assert tree(after.out) == tree(before.out)


def test_a_logo_is_published_as_it_is_and_its_name_is_a_url_in_pages(project: Path, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    (project / "tenants/ims-pro/my logo #1?.png").write_bytes(png)
    edit(project / "tenants/ims-pro/tenant.yaml", "theme:\n", "theme:\n  logo: 'my logo #1?.png'\n")
    report = build(project, tmp_path / "out", opts())
    assert (report.out / "ims-pro/assets/my logo #1?.png").read_bytes() == png
    page = (report.out / "ims-pro/privacy-policy/index.html").read_text(encoding="utf-8")
    assert 'src="../../ims-pro/assets/my%20logo%20%231%3F.png"' in page
    assert "my logo #1?.png" not in page


def test_build_tenant_drops_a_tenant_whose_folder_was_deleted(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(project, out, opts())
    shutil.rmtree(project / "tenants/ims-global")
    report = build(project, out, opts(tenants=["ims-pro"]))
    assert report.dropped == ["ims-global"] and report.tenants == ["example-fitness", "ihm-connect", "ims-pro"]
    assert not (out / "ims-global").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "ims-global" not in manifest["tenants"]
    assert not any(f["path"].startswith("ims-global/") for f in manifest["files"])
    assert b"ims-global/" not in (out / "index.html").read_bytes()


def test_the_files_a_user_put_at_the_top_of_the_output_folder_are_kept(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(project, out, opts())
    (out / "CNAME").write_text("policies.example.com\n", encoding="utf-8")
    (out / ".nojekyll").write_bytes(b"")
    (out / ".git/objects/ab").mkdir(parents=True)
    (out / ".git/HEAD").write_text("ref: refs/heads/gh-pages\n", encoding="utf-8")
    (out / ".git/objects/ab/cdef").write_bytes(b"\x78\x01 a git object")
    (out / ".git/current").symlink_to("HEAD")
    user = {p: (out / p).read_bytes() for p in ("CNAME", ".nojekyll", ".git/HEAD", ".git/objects/ab/cdef")}
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Edited")
    build(project, out, opts())
    shutil.rmtree(project / "tenants/ims-global")
    build(project, out, opts())
    assert {p: (out / p).read_bytes() for p in user} == user
    assert (out / ".git/current").readlink() == Path("HEAD")
    assert not (out / "ims-global").exists()  # written by policygen (in the manifest): removed with its tenant
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert not any(f["path"].split("/")[0] in ("CNAME", ".nojekyll", ".git") for f in manifest["files"])


def test_the_output_folder_keeps_its_mode(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(project, out, opts())
    out.chmod(0o700)
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Edited")
    build(project, out, opts())
    assert out.stat().st_mode & 0o7777 == 0o700


def test_a_full_disk_is_one_line_naming_the_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from policygen.cli import cli

    out = tmp_path / "out"
    build(project, out, opts())
    before = tree(out)

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write() says it: no file name

    def full_new(file: str, data: bytes) -> None:  # how the writer writes a file of the site
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    monkeypatch.setattr(output, "write_new", full_new)
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Edited")
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--out", str(out), "--today", "2026-11-22"])
    assert result.exit_code == 1
    assert re.fullmatch(r"error: No space left on device: .*\.out\.policygen-new/\S+\n", result.stderr), result.stderr
    assert tree(out) == before


def test_a_tenant_is_a_folder_of_tenants_holding_a_tenant_yaml_of_any_kind(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants"
    for name in ("acme", "beta", "gamma", "delta", ".hidden", "empty"):
        (tenants / name).mkdir(parents=True)
    (tenants / "acme" / "tenant.yaml").write_text("x: 1\n", encoding="utf-8")
    (tenants / "beta" / "tenant.yaml").symlink_to(tmp_path / "nowhere.yaml")  # refused when read, not skipped
    os.mkfifo(tenants / "gamma" / "tenant.yaml")  # likewise
    (tenants / "delta" / "tenant.yml").write_text("x: 1\n", encoding="utf-8")  # not its name
    (tenants / ".hidden" / "tenant.yaml").write_text("x: 1\n", encoding="utf-8")
    (tenants / "file").write_text("x: 1\n", encoding="utf-8")
    (tenants / "linked").symlink_to(tenants / "acme")  # listed; its build refuses a folder that is a link
    assert tenant_slugs(tmp_path) == ["acme", "beta", "gamma", "linked"]
    assert tenant_slugs(tmp_path / "elsewhere") == []
