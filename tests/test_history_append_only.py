"""Released history is append-only: what a build published, or git committed, stays as it was.

The hash chain alone cannot see the newest version edited with a fresh hash, a chain rewritten
from some version on, or a deleted newest version; the previous build's manifest and git's HEAD
can. Snapshot HTML is sanitised, links and stray files in releases/ are refused, releases take
turns, the previous manifest is never trusted, and facts never drive the terminal or forge lines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, copy_project

from policygen.cli import cli
from policygen.engine import BuildReport, build
from policygen.errors import InputError
from policygen.site import BuildOptions
from policygen.text import one_line
from policygen.versions import canonical, content_hash, load_releases

TODAY = dt.date(2026, 11, 22)
DOC = "privacy-policy"


def _example_with_history() -> tuple[str, str, str]:
    """The first example tenant with apps and two or more released versions: its slug, first and newest file."""
    for folder in sorted((REPO / "tenants").iterdir()):
        files = sorted(p.name for p in (folder / "releases" / DOC).glob("*.json"))
        if len(files) >= 2 and re.search(r"(?m)^apps:", (folder / "tenant.yaml").read_text(encoding="utf-8")):
            return folder.name, files[0], files[-1]
    raise AssertionError("no example tenant has apps and two released versions")


SLUG, FIRST, NEWEST = _example_with_history()


def site(project: Path, out: Path | None = None) -> BuildReport:
    return build(project, out or project / "build", BuildOptions(today=TODAY))


def releases(project: Path, slug: str = SLUG, doc: str = DOC) -> Path:
    return project / "tenants" / slug / "releases" / doc


def rewrite(file: Path, change, previous: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Edit a snapshot as a forger would: change it, recompute its hash (and chain it to *previous*)."""
    data = json.loads(file.read_text(encoding="utf-8"))
    data.pop("hash")
    change(data)
    if previous is not None:
        data["previous"] = previous
    data["hash"] = content_hash(data)
    file.write_bytes(canonical(data))
    return str(data["hash"])


def retitle(data: dict) -> None:  # type: ignore[type-arg]
    data["title"] = "A quieter policy"


def set_fact(project: Path, key: str, value: str) -> str:
    """Set a top-level fact of the organisation (as a double-quoted YAML string); returns the old value."""
    tenant = project / "tenants" / SLUG / "tenant.yaml"
    text = tenant.read_text(encoding="utf-8")
    found = re.search(rf"(?m)^  {key}: (.*)$", text)
    assert found is not None, key
    tenant.write_text(text[: found.start(1)] + f'"{value}"' + text[found.end(1) :], encoding="utf-8")
    return found.group(1)


def rename_organisation(project: Path) -> None:
    """A material change to release: the organisation's legal name."""
    set_fact(project, "legal_name", "Renamed Holdings Ltd")


def run(project: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--project", str(project), *args])
    return result.exit_code, result.stdout, result.stderr


def git(project: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, env=env)


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    """The example project as a git repository with everything committed, and no previous build."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = copy_project(tmp_path / "project")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "seed")
    return project


def refused(project: Path, out: Path | None = None) -> list[str]:
    """The problems of a build that must fail, as 'file: message' lines relative to the project."""
    with pytest.raises(InputError) as caught:
        site(project, out)
    return [f"{p.file.relative_to(project).as_posix() if p.file else ''}: {p.message}" for p in caught.value.problems]


# --- compared with the previous build ----------------------------------------------------


def test_the_newest_version_edited_with_a_fresh_hash_is_refused_naming_it(project: Path) -> None:
    before = site(project)
    manifest = (before.out / "manifest.json").read_bytes()
    rewrite(releases(project) / NEWEST, retitle)
    [problem] = refused(project)
    assert problem.startswith(
        f"tenants/{SLUG}/releases/{DOC}/{NEWEST}: version {int(NEWEST[:4])} is not the version the previous "
        "build published"
    )
    assert (before.out / "manifest.json").read_bytes() == manifest  # the published site is left as it was


def test_a_version_deleted_is_refused_even_when_the_tenants_line_of_the_manifest_is_not_policygens(
    project: Path,
) -> None:
    before = site(project)
    manifest = json.loads((before.out / "manifest.json").read_text(encoding="utf-8"))
    del manifest["tenants"][SLUG]["inputs"]  # nothing is reused from this manifest; its releases still count
    (before.out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    (releases(project) / NEWEST).unlink()
    [problem] = refused(project)
    version, effective = int(NEWEST[:4]), NEWEST[5:15]
    assert f"version {version} (effective {effective}) was published by the previous build and is gone" in problem


def test_the_newest_version_deleted_is_refused_naming_it_with_how_to_restore_it(project: Path) -> None:
    site(project)
    (releases(project) / NEWEST).unlink()
    with pytest.raises(InputError) as caught:
        site(project)
    [problem] = caught.value.problems
    assert problem.file == releases(project) / NEWEST
    version, effective = int(NEWEST[:4]), NEWEST[5:15]
    assert (
        f"version {version} (effective {effective}) was published by the previous build and is gone" in problem.message
    )
    assert f"git checkout -- tenants/{SLUG}/releases/{DOC}/{NEWEST}" in (problem.suggestion or "")


def test_a_history_rewritten_from_version_one_on_is_refused_naming_every_version(project: Path) -> None:
    site(project)
    first, second = sorted(releases(project).iterdir())
    rewrite(second, retitle, previous=rewrite(first, retitle))
    assert len(load_releases(project / "tenants" / SLUG, DOC)) == 2  # the chain itself is consistent again
    assert [line.split(":")[0] for line in refused(project)] == [
        f"tenants/{SLUG}/releases/{DOC}/{FIRST}",
        f"tenants/{SLUG}/releases/{DOC}/{NEWEST}",
    ]


def test_restoring_the_version_lets_the_build_go_on_and_new_versions_are_appended(project: Path) -> None:
    site(project)
    original = (releases(project) / NEWEST).read_bytes()
    (releases(project) / NEWEST).unlink()
    refused(project)
    (releases(project) / NEWEST).write_bytes(original)
    site(project)
    rename_organisation(project)
    assert run(project, "release", SLUG, "--effective", "2027-06-01", "--released", "2026-11-22")[0] == 0
    site(project)


def test_a_document_withdrawn_from_the_tenant_with_its_history_is_no_rewrite(project: Path) -> None:
    tenant = project / "tenants" / "ihm-connect"
    if not (tenant / "releases" / "data-deletion-policy").is_dir():
        assert (
            run(
                project,
                "release",
                "ihm-connect",
                "--document",
                "data-deletion-policy",
                "--effective",
                "2026-11-01",
                "--released",
                "2026-11-01",
            )[0]
            == 0
        )
    site(project)
    facts = tenant / "tenant.yaml"
    text = facts.read_text(encoding="utf-8")
    assert "  - id: data-deletion-policy\n" in text
    text = re.sub(
        r"  - id: [a-z-]+\n    clause: (timelines|backups)\n    text: [^\n]*\n", "", text
    )  # its clauses' notes
    facts.write_text(text.replace("  - id: data-deletion-policy\n", "", 1), encoding="utf-8")
    shutil.rmtree(tenant / "releases" / "data-deletion-policy")
    assert "data-deletion-policy" not in {
        d["id"]
        for d in json.loads((site(project).out / "manifest.json").read_text(encoding="utf-8"))["tenants"][
            "ihm-connect"
        ]["documents"]
    }


# --- compared with git's HEAD ------------------------------------------------------------


@pytest.mark.slow
def test_a_committed_version_edited_with_a_fresh_hash_is_refused_without_any_previous_build(committed: Path) -> None:
    rewrite(releases(committed) / NEWEST, retitle)
    with pytest.raises(InputError) as caught:
        site(committed)
    [problem] = caught.value.problems
    assert problem.file == releases(committed) / NEWEST
    assert problem.message == (
        "this released version differs from the one committed in git (HEAD): changed: hash, title"
    )


@pytest.mark.slow
def test_a_committed_version_deleted_is_refused_and_release_refuses_to_chain_onto_the_gap(committed: Path) -> None:
    (releases(committed) / NEWEST).unlink()
    assert refused(committed) == [
        f"tenants/{SLUG}/releases/{DOC}/{NEWEST}: this released version is committed in "
        "git (HEAD) but missing from the working tree"
    ]
    code, _, stderr = run(committed, "release", SLUG, "--effective", "2027-06-01", "--released", "2026-11-22")
    assert code == 1 and "committed in git (HEAD) but missing" in stderr
    assert sorted(p.name for p in releases(committed).iterdir()) == [FIRST]


@pytest.mark.slow
def test_the_committed_example_releases_still_build(committed: Path) -> None:
    assert site(committed).rendered > 0


# --- snapshot HTML -----------------------------------------------------------------------


HOSTILE = (
    '<script>alert("snapshot")</script><p onclick="alert(1)">click</p><img src=x onerror="alert(2)">'
    '<a href="javascript:alert(3)">link</a><iframe src="https://evil.example/"></iframe>'
)


def test_script_added_to_snapshot_html_is_sanitised_out_of_pages_and_app_snippets(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    folder = releases(project)
    previous = None
    for file in sorted(folder.iterdir()):

        def inject(data: dict) -> None:  # type: ignore[type-arg]
            data["clauses"][0]["html"] += HOSTILE

        previous = rewrite(file, inject, previous)
    out = site(project).out
    pages = list(out.rglob("*.html"))
    snippets = list((out / SLUG / "apps").glob("*/policy.html"))
    assert snippets and all("click" in s.read_text(encoding="utf-8") for s in snippets)  # made from the release
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for trace in ("<script", "onclick", "onerror", "javascript:", "<iframe", "<img"):
            assert trace not in html, f"{trace} in {page.relative_to(out)}"
    stable = (out / SLUG / DOC / "index.html").read_text(encoding="utf-8")
    assert "click" in stable and 'data-label="' in stable and '<h3 id="' in stable  # text and our own markup stay


def test_sanitising_leaves_every_example_snapshot_reading_exactly_as_its_working_text(project: Path) -> None:
    # No example document has an unreleased edit, so none may look like a draft after sanitising.
    report = build(project, project / "build", BuildOptions(today=TODAY, drafts=True))
    assert not [o.path for o in report.outputs if o.path.endswith("/draft/index.html")]


# --- releases, one at a time -------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_releases_make_one_version_per_number(project: Path) -> None:
    rename_organisation(project)
    # Different effective dates, so that without the lock each would write a version 3 file of its own.
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "policygen",
                "--project",
                str(project),
                "release",
                SLUG,
                "--effective",
                f"2027-0{month}-01",
                "--released",
                "2026-11-22",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        for month in range(1, 6)
    ]
    results = [(p.returncode, err.decode()) for p in runs for _, err in [p.communicate(timeout=300)]]
    assert sorted(code for code, _ in results) == [0, 1, 1, 1, 1], results
    assert all("nothing to release" in err for code, err in results if code == 1)
    names = sorted(p.name for p in releases(project).iterdir())
    assert len(names) == 3 and names[:2] == [FIRST, NEWEST] and names[2].startswith("0003-")
    assert [s.version for s in load_releases(project / "tenants" / SLUG, DOC)] == [1, 2, 3]


# --- links and dates ---------------------------------------------------------------------


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("linked", ["releases", f"releases/{DOC}"])
def test_release_through_a_linked_releases_folder_writes_nothing_outside(tmp_path: Path, linked: str) -> None:
    project = copy_project(tmp_path / "project")
    outside = tmp_path / "outside"
    (project / "tenants" / SLUG / linked).rename(outside)
    (project / "tenants" / SLUG / linked).symlink_to(outside)
    before = tree(outside)
    rename_organisation(project)
    code, _, stderr = run(project, "release", SLUG, "--effective", "2027-06-01", "--released", "2026-11-22")
    assert code == 1 and f"tenants/{SLUG}/{linked}: error: a symbolic link in the released history" in stderr
    assert tree(outside) == before and not list(outside.rglob(".*"))


def test_a_release_whose_notice_period_would_end_after_9999_12_31_is_a_usage_error(project: Path) -> None:
    rename_organisation(project)
    code, _, stderr = run(project, "release", SLUG, "--effective", "9999-12-31", "--released", "9999-12-30")
    assert code == 2, stderr
    assert stderr == (
        "error: --released 9999-12-30: the 30-day notice period of this material change would end "
        "after 9999-12-31, the last date policygen can write; pass a real release date\n"
    )
    assert len(list(releases(project).iterdir())) == 2


def test_a_version_effective_on_9999_12_31_builds(project: Path) -> None:
    rename_organisation(project)
    assert run(project, "release", SLUG, "--effective", "9999-12-31", "--released", "2026-11-22")[0] == 0
    assert (site(project).out / SLUG / DOC / "9999-12-31" / "index.html").is_file()


# --- the previous manifest is not trusted -----------------------------------------------


def test_a_manifest_that_is_not_json_is_refused_with_a_located_error_not_a_crash(project: Path) -> None:
    out = site(project).out
    (out / "manifest.json").write_text('{"generator": "policygen", "tenants": {', encoding="utf-8")
    code, _, stderr = run(project, "build", "--out", str(out), "--today", TODAY.isoformat())
    assert code == 1, stderr
    assert stderr.startswith("build/manifest.json: error: the previous build's manifest cannot be read: it is not JSON")
    assert "delete build/ and build again" in stderr
    shutil.rmtree(out)
    assert run(project, "build", "--out", str(out), "--today", TODAY.isoformat())[0] == 0


def test_a_manifest_whose_record_of_versions_has_wrong_types_is_refused(project: Path) -> None:
    out = site(project).out
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    data["tenants"][SLUG]["releases"][DOC][1]["version"] = "two"
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    code, _, stderr = run(project, "build", "--out", str(out), "--today", TODAY.isoformat())
    assert code == 1 and f"tenants.{SLUG}.releases:" in stderr


def test_a_manifest_with_paths_out_of_the_output_folder_makes_the_build_read_nothing_there(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    out = site(project).out
    secret = tmp_path / "secret.html"
    secret.write_text("SECRET outside the output folder", encoding="utf-8")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    (out / SLUG / "linked.html").symlink_to(secret)
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for path in ("../secret.html", str(secret), f"{SLUG}/linked.html", f"{SLUG}/../../secret.html"):
        data["files"].append(
            {
                "path": path,
                "kind": "page",
                "tenant": SLUG,
                "document": DOC,
                "version": "1",
                "effective": None,
                "sha256": digest,
                "bytes": secret.stat().st_size,
            }
        )
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    code, _, stderr = run(project, "build", "--out", str(out), "--today", TODAY.isoformat())
    assert code == 0, stderr
    assert secret.stat().st_nlink == 1  # never linked into the site
    assert not [p for p in out.rglob("*") if p.is_file() and b"SECRET" in p.read_bytes()]


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["files"][0].update(sha256=5),
        lambda d: d["files"][0].update(effective="not a date"),
        lambda d: d["files"].append("a string"),
        lambda d: d["tenants"][SLUG].update(name=3, documents="none"),
        lambda d: d["tenants"][SLUG]["documents"][0].update(effective="2026-02-30"),
        lambda d: d.update(files={"a": 1}),
    ],
    ids=[
        "hash-a-number",
        "effective-not-a-date",
        "file-a-string",
        "tenant-wrong-types",
        "impossible-date",
        "files-an-object",
    ],
)
def test_a_manifest_with_wrong_shapes_reuses_nothing_and_the_build_succeeds(project: Path, damage) -> None:  # type: ignore[no-untyped-def]
    out = site(project).out
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    damage(data)
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    result = build(project, out, BuildOptions(today=TODAY))
    assert result.rendered_tenants == result.tenants  # nothing reused from a manifest that is not ours


# --- facts never drive the terminal or forge lines -----------------------------------------


FORGED = "Evil Ltd\\nRead the new version: https://evil.example/\\e[2J\\u2028more"


def forge_legal_name(project: Path) -> None:
    set_fact(project, "legal_name", FORGED)


def test_control_characters_in_facts_are_escaped_in_diff_and_release_output(project: Path) -> None:
    forge_legal_name(project)
    code, diff, _ = run(project, "diff", SLUG)
    assert code == 0 and "\x1b" not in diff and "\u2028" not in diff
    assert "Evil Ltd\\nRead the new version: https://evil.example/\\x1b[2J\\u2028more" in diff
    assert not [line for line in diff.splitlines() if line.startswith("Read the new version")]
    code, _, refusal = run(project, "release", SLUG, "--effective", "2026-11-23", "--released", "2026-11-22")
    assert code == 1 and "people must be told 30 days ahead" in refusal  # the refusal quotes the change too
    assert "\x1b" not in refusal and "\\x1b[2J" in refusal
    code, said, stderr = run(project, "release", SLUG, "--effective", "2027-06-01", "--released", "2026-11-22")
    assert code == 0, stderr
    assert "\x1b" not in said and len(said.splitlines()) == 2 and "\\x1b[2J" in said


def test_a_newline_in_a_fact_forges_no_line_in_the_plain_text_email(project: Path) -> None:
    forge_legal_name(project)
    set_fact(project, "display_name", FORGED.replace("Evil Ltd", "Evil App"))
    assert run(project, "release", SLUG, "--effective", "2027-06-01", "--released", "2026-11-22")[0] == 0
    out = site(project).out
    [email] = list((out / SLUG / DOC / "2027-06-01" / "notice").glob("email.txt"))
    lines = email.read_text(encoding="utf-8").splitlines()
    [link] = [line for line in lines if line.startswith("Read the new version:")]
    assert "evil" not in link
    assert not any("\x1b" in line or "\u2028" in line for line in lines)
    assert "Evil App\\nRead the new version: https://evil.example/\\x1b[2J\\u2028more is updating" in "\n".join(lines)


def test_one_line_escapes_every_control_character_and_line_separator() -> None:
    assert (
        one_line("a\nb\r\tc\x1b[0m\x00\x7f\x85\u2028\u2029 é ü")
        == "a\\nb\\r\\tc\\x1b[0m\\0\\x7f\\x85\\u2028\\u2029 é ü"
    )
    assert one_line("\u202eevil") == "\\u202eevil"  # a bidi override cannot reorder what follows it


def test_committed_snapshots_are_found_by_tenant_and_document_alone() -> None:
    from policygen.history import Committed

    blobs = {
        "tenants/a/releases/doc/0001-2026-01-01.json": "1",
        "tenants/a/releases/doc-2/0001-2026-01-01.json": "2",
        "tenants/a-b/releases/doc/0001-2026-01-01.json": "3",
        "tenants/a/releases/doc/0002-2026-02-01.json": "4",
    }
    committed = Committed(Path("."), blobs)
    assert committed.of_document("a", "doc") == {
        "tenants/a/releases/doc/0001-2026-01-01.json": "1",
        "tenants/a/releases/doc/0002-2026-02-01.json": "4",
    }
    assert committed.of_document("a", "nothing") == {}
