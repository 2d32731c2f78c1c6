"""The clause library and the default theme ship with policygen; a project overrides only what it changes.

Lookup, first match wins: a tenant's own clauses, the project's content/, the packaged library; for
the theme: the project's layouts/ and static/, its themes/<name>/, the packaged default theme.
`policygen upgrade-diff` shows what a new library changes in each tenant's text.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

from policygen import packaged
from policygen.cli import cli
from policygen.deps import tenant_key
from policygen.engine import build
from policygen.errors import InputError
from policygen.project import load_project
from policygen.scaffold import init
from policygen.upgrade import library_upgrade
from policygen.versions import release

PAGE = "build/example/privacy-policy/index.html"
SECURITY = "content/privacy-policy/100-security.md"


@pytest.fixture
def lean(tmp_path: Path) -> Path:
    """A project as `policygen init` makes it: no clause of its own, no theme of its own."""
    return init(tmp_path / "lean").root


@pytest.fixture
def old_library(tmp_path: Path) -> Path:
    """A copy of today's library as an older release of it: one clause reads differently, one is missing."""
    old = tmp_path / "old-library"
    shutil.copytree(REPO / "content", old)
    intro = old / "privacy-policy/010-introduction.md"
    intro.write_text(
        intro.read_text(encoding="utf-8").replace("This policy explains", "This notice sets out"), encoding="utf-8"
    )
    (old / "privacy-policy/140-complaints.md").unlink()
    return old


def write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


def page(root: Path) -> str:
    build(root)
    return (root / PAGE).read_text(encoding="utf-8")


# --- lookup ----------------------------------------------------------------------------------------------


def test_the_repositorys_content_is_the_packaged_library_and_overrides_nothing() -> None:
    assert packaged.library_folders(REPO / "content") == (packaged.library_dir().resolve(),)
    assert packaged.theme_folders(REPO, "default") == (packaged.packaged_theme("default"),)


def test_a_project_without_content_reads_every_document_from_the_packaged_library(lean: Path) -> None:
    shutil.rmtree(lean / "content")
    project = load_project(lean)
    assert sorted(project.library.documents) == sorted(
        p.name for p in (REPO / "content").iterdir() if p.is_dir() and not p.name.startswith("_")
    )
    assert "Keeping your data safe" in page(lean)


def test_a_project_clause_with_a_library_id_replaces_the_library_clause(lean: Path) -> None:
    write(
        lean,
        "content/privacy-policy/security.md",
        "---\nid: security\ntitle: How we guard data\norder: 100\n---\nOur own words on security.\n",
    )
    text = page(lean)
    assert "Our own words on security." in text and "How we guard data" in text
    assert "Keeping your data safe" not in text


def test_a_project_clause_with_a_new_id_is_added_in_its_order(lean: Path) -> None:
    write(
        lean,
        "content/privacy-policy/015-extra.md",
        "---\nid: extra\ntitle: A project's extra\norder: 15\n---\nExtra.\n",
    )
    text = page(lean)
    assert text.index("About this policy") < text.index("A project&#39;s extra") < text.index("Keeping your data safe")


def test_a_tenant_clause_comes_before_the_projects_override(lean: Path) -> None:
    write(
        lean,
        "content/privacy-policy/security.md",
        "---\nid: security\ntitle: Project\norder: 100\n---\nBy the project.\n",
    )
    write(
        lean,
        "tenants/example/content/privacy-policy/security.md",
        "---\nid: security\ntitle: Tenant\norder: 100\n---\nBy the tenant.\n",
    )
    text = page(lean)
    assert "By the tenant." in text and "By the project." not in text


def test_a_project_partial_replaces_the_library_partial_of_that_file_name(lean: Path) -> None:
    partial = (packaged.library_dir() / "_partials/facts.md").read_text(encoding="utf-8")
    assert ", {{ a.country }}" in partial
    write(lean, "content/_partials/facts.md", partial.replace(", {{ a.country }}", ", land of {{ a.country }}"))
    assert "land of Ireland" in page(lean)


def test_a_project_document_yaml_retitles_a_library_document_and_adds_a_new_one(lean: Path) -> None:
    write(lean, "content/privacy-policy/document.yaml", "title: How Example treats your data\n")
    write(lean, "content/house-rules/document.yaml", "title: House rules\n")
    write(lean, "content/house-rules/010-rule.md", "---\nid: rule\ntitle: The rule\norder: 10\n---\nBe kind.\n")
    project = load_project(lean)
    assert project.library.documents["privacy-policy"].meta.title == "How Example treats your data"
    assert project.library.documents["privacy-policy"].folder == lean / "content/privacy-policy"
    assert list(project.library.documents["house-rules"].clauses) == ["rule"]
    assert "How Example treats your data" in page(lean)


def test_a_new_project_document_without_document_yaml_is_a_located_error(lean: Path) -> None:
    write(lean, "content/house-rules/010-rule.md", "---\nid: rule\ntitle: The rule\norder: 10\n---\nBe kind.\n")
    with pytest.raises(InputError) as caught:
        load_project(lean)
    [problem] = caught.value.problems
    assert problem.message == "document folder has no document.yaml" and problem.file == lean / "content/house-rules"


def test_a_project_theme_template_and_static_file_replace_the_packaged_themes(lean: Path) -> None:
    shipped = packaged.packaged_theme("default")
    assert shipped is not None
    base = (shipped / "templates/base.html").read_text(encoding="utf-8")
    write(lean, "themes/default/templates/base.html", base.replace("<body", "<body data-project-theme", 1))
    write(lean, "themes/default/static/style.css", "body { color: black; }\n")
    text = page(lean)
    assert "data-project-theme" in text
    assert (lean / "build/assets/style.css").read_text(encoding="utf-8") == "body { color: black; }\n"


def test_layouts_come_before_the_projects_theme_folder(lean: Path) -> None:
    base = (packaged.packaged_theme("default") / "templates/base.html").read_text(encoding="utf-8")  # type: ignore[operator]
    write(lean, "themes/default/templates/base.html", base.replace("<body", "<body data-theme-folder", 1))
    write(lean, "layouts/base.html", base.replace("<body", "<body data-layouts", 1))
    text = page(lean)
    assert "data-layouts" in text and "data-theme-folder" not in text


def test_an_unknown_theme_names_the_packaged_default_among_the_known(lean: Path) -> None:
    (lean / "policygen.yaml").write_text("theme: fancy\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_project(lean)
    [problem] = caught.value.problems
    assert problem.message == "theme 'fancy' not found" and problem.expected is not None
    assert problem.expected.endswith("themes here: default") and problem.line == 1


def test_the_build_key_follows_the_packaged_library(
    lean: Path, old_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def key() -> str:
        project = load_project(lean)
        tenant = project.tenants["example"]
        return tenant_key(project, tenant.digest, list(tenant.documents), "shared", False)

    today = key()
    monkeypatch.setattr(packaged, "library_dir", lambda: old_library)
    assert key() != today  # a policygen upgrade that changes the library re-renders what uses it


# --- upgrade-diff --------------------------------------------------------------------------------------


def test_upgrade_diff_from_an_older_library_shows_each_changed_clause_with_its_tier(
    lean: Path, old_library: Path
) -> None:
    result = library_upgrade(lean, old_library=old_library)
    [report] = result.reports
    assert (report.tenant, report.document) == ("example", "privacy-policy")
    changes = {c["id"]: c for c in report.json["clauses"]}
    assert set(changes) == {"introduction", "complaints"}
    assert changes["introduction"]["status"] == "changed" and changes["complaints"]["status"] == "added"
    assert changes["introduction"]["words"][0] == {"old": "notice sets out", "new": "policy explains"}
    assert report.json["findings"] == [] and report.tier == result.tier == "needs-review"  # wording, not facts


def test_upgrade_diff_leaves_out_what_the_project_overrides(lean: Path, old_library: Path) -> None:
    own = (REPO / "content/privacy-policy/010-introduction.md").read_text(encoding="utf-8")
    write(lean, "content/privacy-policy/010-introduction.md", own)
    result = library_upgrade(lean, old_library=old_library)
    [report] = result.reports
    assert [c["id"] for c in report.json["clauses"]] == ["complaints"]
    # ... but says which library change the project's own file keeps out
    assert [s.to_json(lean) for s in result.shadowed] == [
        {"file": "content/privacy-policy/010-introduction.md", "document": "privacy-policy", "clause": "introduction"}
    ]
    assert (
        "the library changed these, but the project's own files replace them:\n"
        "  content/privacy-policy/010-introduction.md (clause privacy-policy/introduction)\n"
    ) in result.to_text()


def test_upgrade_diff_names_a_project_partial_that_keeps_a_library_change_out(lean: Path, old_library: Path) -> None:
    partial = (old_library / "_partials/facts.md").read_text(encoding="utf-8")
    write(lean, "content/_partials/facts.md", partial)  # the project's copy of the old partial
    (old_library / "_partials/facts.md").write_text(
        partial.replace("{{ a.country }}", "{{ a.country }}."), encoding="utf-8"
    )
    assert [(s.document, s.name) for s in library_upgrade(lean, old_library=old_library).shadowed] == [
        (None, "_partials/facts.md")
    ]


def test_upgrade_diff_against_the_last_release_shows_the_librarys_changes_not_fact_edits(
    lean: Path, old_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packaged, "library_dir", lambda: old_library)
    release(lean, "example", dt.date(2026, 12, 1), released=dt.date(2026, 11, 1))
    assert library_upgrade(lean).tier == "none"  # nothing changed since the release
    monkeypatch.undo()  # policygen upgraded: today's library
    facts = lean / "tenants/example/tenant.yaml"
    facts.write_text(
        facts.read_text(encoding="utf-8").replace("Example Services Ltd", "Example Holdings Ltd"), encoding="utf-8"
    )
    result = library_upgrade(lean)
    [report] = result.reports
    assert report.json["from"] == "1" and {c["id"] for c in report.json["clauses"]} == {"introduction", "complaints"}
    assert "Holdings" not in json.dumps(result.to_json())  # a fact edited since the release is not the library's


@pytest.mark.slow
def test_upgrade_diff_command_text_json_and_fail_on(lean: Path, old_library: Path) -> None:
    runner = CliRunner()
    base = ["-C", str(lean), "upgrade-diff", "--from-library", str(old_library)]
    text = runner.invoke(cli, base)
    assert text.exit_code == 0, text.output
    assert text.output.startswith("example/privacy-policy: old library (")
    assert "  complaints (added, " in text.output
    assert text.output.endswith("1 document compared, 1 with text changes; overall tier: needs-review\n")
    data = json.loads(runner.invoke(cli, [*base, "--format", "json"]).output)
    assert data["against"] == "library" and data["tier"] == "needs-review"
    assert [d["from"] for d in data["documents"]] == ["old library"]
    assert runner.invoke(cli, [*base, "--fail-on", "needs-review"]).exit_code == 1
    assert runner.invoke(cli, [*base, "--fail-on", "material"]).exit_code == 0


def test_upgrade_diff_without_releases_says_there_is_nothing_to_compare(lean: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(lean), "upgrade-diff"])
    assert result.exit_code == 0
    assert result.output == (
        "example/privacy-policy: not released yet; nothing to compare\n\n"
        "0 documents compared, 0 with text changes; overall tier: none\n"
    )


def test_upgrade_diff_bad_usage_exits_2(lean: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["-C", str(lean), "upgrade-diff", "--from-library", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not a folder" in missing.output
    tier = runner.invoke(cli, ["-C", str(lean), "upgrade-diff", "--fail-on", "huge"])
    assert tier.exit_code == 2 and "--fail-on" in tier.output
    unknown = runner.invoke(cli, ["-C", str(lean), "upgrade-diff", "nobody"])
    assert unknown.exit_code == 2 and "no tenant 'nobody'" in unknown.output


def test_a_project_drops_a_library_clause_by_overriding_its_id_with_when_false(lean: Path) -> None:
    write(
        lean,
        "content/privacy-policy/security.md",
        '---\nid: security\ntitle: Dropped\norder: 100\nwhen: "false"\n---\n',
    )
    text = page(lean)
    assert "Keeping your data safe" not in text and "Dropped" not in text
