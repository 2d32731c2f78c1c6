"""Translations of the clause library: each records the hash of the source it translates, so a changed
source makes exactly its translations stale, in `policygen translations` and in `check`.

The file format (content/<doc>/<name>.<lang>.md beside the source, `translates: <hash>`) is described
in policygen/translation_files.py and docs/languages.md.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, one_tenant_project
from test_unknown_facts import REQUIRED

from policygen import translation_files
from policygen.check import check
from policygen.clauses import is_translation, translation_parts
from policygen.cli import cli
from policygen.engine import build
from policygen.site import BuildOptions
from policygen.translation_files import code_difference, read_head, source_body, source_hash

INTRO = Path("content/privacy-policy/010-introduction.md")
COMPLAINTS = Path("content/privacy-policy/140-complaints.md")
BILINGUAL: dict[str, Any] = {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]}


pytestmark = pytest.mark.slow  # the fixtures make git repositories: a process each


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def _translate(root: Path, source: Path, lang: str, title: str) -> Path:
    """A translation of *source* that keeps its body (the template code is the point here, not the words)."""
    data = (root / source).read_bytes()
    file = root / source.with_name(f"{source.stem}.{lang}.md")
    body = source_body(root / source, data)
    file.write_text(f"---\ntitle: {title}\ntranslates: {source_hash(data)}\n---\n{body}", encoding="utf-8")
    return file


@pytest.fixture
def bilingual(tmp_path: Path) -> Path:
    """A one-tenant project publishing English and French, in git, with two clauses translated into French."""
    root = one_tenant_project(tmp_path / "project", BILINGUAL)
    _translate(root, INTRO, "fr", "À propos de cette politique")
    _translate(root, COMPLAINTS, "fr", "Réclamations")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "start")
    return root


def _change_intro(root: Path) -> None:
    file = root / INTRO
    file.write_text(file.read_text().replace("how long we keep it", "how long we store it"), encoding="utf-8")


def _translations(root: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["-C", str(root), "translations", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "json" in args else result.output


def _stale(report: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(s["language"], s["clause"]) for s in report if s["status"] == "stale"}


def _translated(root: Path, source: Path) -> set[str]:
    """The languages *source* has translations in (the library may ship more than this test writes)."""
    return {
        lang
        for f in (root / source).parent.iterdir()
        if (p := translation_parts(f.name)) and p[0] == source.name
        for lang in [p[1]]
    }


def test_a_new_translation_is_current_and_an_untranslated_clause_is_missing(bilingual: Path) -> None:
    report = _translations(bilingual, "--format", "json")
    by_key = {(s["language"], s["clause"]): s for s in report}
    assert by_key[("fr", "privacy-policy/introduction")]["status"] == "current"
    assert by_key[("fr", "privacy-policy/complaints")]["status"] == "current"
    assert not _stale(report)
    assert all(s["status"] in ("current", "missing") for s in report)


def test_changing_one_source_clause_makes_exactly_its_translations_stale_with_the_word_diff(bilingual: Path) -> None:
    _change_intro(bilingual)
    report = _translations(bilingual, "--format", "json")
    assert _stale(report) == {(lang, "privacy-policy/introduction") for lang in _translated(bilingual, INTRO)}
    french = next(s for s in report if s["language"] == "fr" and s["clause"] == "privacy-policy/introduction")
    assert french["source_change"] == [{"old": "keep", "new": "store"}]
    text = _translations(bilingual)
    assert "stale    privacy-policy/introduction" in text
    assert "- keep" in text and "+ store" in text


def test_check_reports_exactly_the_stale_translation(bilingual: Path) -> None:
    _change_intro(bilingual)
    findings = check(bilingual).tenants[0].findings
    stale = [f for f in findings if f.id == "translation.stale"]
    assert [(f.clause, f.level) for f in stale] == [("privacy-policy/introduction", "warning")]
    assert "'keep' -> 'store'" in stale[0].message
    assert stale[0].file == bilingual / "content/privacy-policy/010-introduction.fr.md"


def test_a_project_that_refuses_stale_translations_makes_them_located_errors_in_check(bilingual: Path) -> None:
    (bilingual / "policygen.yaml").write_text("stale_translations: refuse\n", encoding="utf-8")
    _change_intro(bilingual)
    report = check(bilingual)  # the French pages cannot be built: check says where and why
    assert [(p.file, p.key_path) for p in report.problems] == [
        (bilingual / "content/privacy-policy/010-introduction.fr.md", "translates")
    ]
    assert (
        "this translation is stale: 010-introduction.md changed since it was translated" in report.problems[0].message
    )
    assert report.exit_code == 1


def test_check_reports_missing_and_not_legally_reviewed_translations(bilingual: Path) -> None:
    (bilingual / "content/privacy-policy/180-contact.fr.md").unlink(missing_ok=True)  # the library may ship one
    findings = check(bilingual).tenants[0].findings
    missing = {f.clause for f in findings if f.id == "translation.missing"}
    assert "privacy-policy/contact" in missing
    assert "privacy-policy/introduction" not in missing
    unreviewed = [f for f in findings if f.id == "translation.unreviewed"]
    assert len(unreviewed) == 1 and "'fr' translation(s) are not yet legally reviewed" in unreviewed[0].message


def _unreviewed(root: Path) -> int:
    found = [f for f in check(root).tenants[0].findings if f.id == "translation.unreviewed"]
    return int(found[0].message.split()[0]) if found else 0


def test_a_translation_with_a_recorded_legal_review_is_not_counted_as_unreviewed(bilingual: Path) -> None:
    before = _unreviewed(bilingual)
    file = bilingual / "content/privacy-policy/010-introduction.fr.md"
    file.write_text(
        file.read_text().replace("---\n", "---\nreviewed_by: Cabinet Exemple\nreviewed_on: 2026-11-30\n", 1)
    )
    assert _unreviewed(bilingual) == before - 1


def test_a_stale_translation_says_the_diff_is_unavailable_without_git_history(tmp_path: Path) -> None:
    root = one_tenant_project(tmp_path / "project", BILINGUAL)
    _translate(root, INTRO, "fr", "À propos")
    _change_intro(root)
    report = _translations(root, "--format", "json")
    french = next(s for s in report if s["language"] == "fr" and s["clause"] == "privacy-policy/introduction")
    assert french["status"] == "stale"
    assert french["source_change"] == []
    assert "not in the git history" in french["source_change_unavailable"]


def test_mark_records_the_current_source_hash_and_nothing_else(bilingual: Path) -> None:
    _change_intro(bilingual)
    file = bilingual / "content/privacy-policy/010-introduction.fr.md"
    before = file.read_text(encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["-C", str(bilingual), "translations", "mark", "fr", "privacy-policy/introduction"]
    )
    assert result.exit_code == 0, result.output
    new_hash = source_hash((bilingual / INTRO).read_bytes())
    assert read_head(file).translates == new_hash
    assert [line for line in file.read_text(encoding="utf-8").splitlines() if "translates" not in line] == [
        line for line in before.splitlines() if "translates" not in line
    ]
    assert ("fr", "privacy-policy/introduction") not in _stale(_translations(bilingual, "--format", "json"))


def test_mark_of_a_clause_without_that_translation_is_bad_usage(bilingual: Path) -> None:
    result = CliRunner().invoke(
        cli, ["-C", str(bilingual), "translations", "mark", "xx", "privacy-policy/introduction"]
    )
    assert result.exit_code == 2
    assert "has no 'xx' translation" in result.output


def test_translated_words_and_strings_are_allowed_but_not_other_template_code() -> None:
    source = '{% if a %}Hello {{ b|join(", ") }} and {{ c }}{% endif %}'
    assert code_difference(source, '{% if a %}Bonjour {{ c }} et {{ b|join(" ; ") }}{% endif %}') is None
    assert code_difference(source, "{% if not a %}Bonjour {{ b|join(', ') }} {{ c }}{% endif %}") == (
        "tag 1 is {% if not a %} where the source has {% if a %}"
    )
    assert "missing {{ c }}" in (code_difference(source, '{% if a %}{{ b|join(", ") }}{% endif %}') or "")


def test_translation_files_are_not_read_as_clauses_of_their_own() -> None:
    assert is_translation("010-introduction.hi.md") and is_translation("document.pt-BR.yaml")
    assert not is_translation("010-introduction.md") and not is_translation("document.yaml")


def _library_translations() -> list[Path]:
    return sorted(f for f in (REPO / "content").rglob("*") if f.is_file() and is_translation(f.name))


@pytest.mark.parametrize("file", _library_translations(), ids=lambda f: f.relative_to(REPO).as_posix())
def test_every_translation_in_the_library_keeps_its_sources_template_code(file: Path) -> None:
    parts = translation_parts(file.name)
    assert parts is not None
    source = file.with_name(parts[0])
    head = read_head(file)  # a malformed head fails here, located
    if file.suffix == ".md":
        assert code_difference(source_body(source, source.read_bytes()), head.body) is None


def test_the_us_clauses_say_how_long_data_is_kept_in_the_pages_language(tmp_path: Path) -> None:
    facts = yaml.safe_load((REPO / "tests/fixtures/law/us/tenant.yaml").read_text(encoding="utf-8"))
    facts["languages"] = ["en-US", "fr-FR", "de-DE"]
    root = one_tenant_project(tmp_path / "project", facts)
    out = build(root, root / "out", BuildOptions(today=dt.date(2026, 11, 22))).out
    for doc in ("privacy-policy", "notice-at-collection"):
        english = (out / f"t/{doc}/index.html").read_text(encoding="utf-8")
        french = (out / f"t/{doc}/fr/index.html").read_text(encoding="utf-8")
        german = (out / f"t/{doc}/de/index.html").read_text(encoding="utf-8")
        assert "How long we keep it: 13 months." in english, doc
        assert "Durée de conservation : 13\xa0mois." in french, doc
        assert "Wie lange wir sie aufbewahren: 13\xa0Monate."  # Babel: a no-break space in german, doc
        assert "13 months" not in french + german, doc


HINDI: dict[str, Any] = {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "hi-IN"]}


def _words_unreviewed(root: Path) -> list[Any]:
    return [f for f in check(root).site if f.id == "translation.words_unreviewed"]


def test_check_says_once_which_of_policygens_own_words_in_a_published_language_are_not_reviewed(
    tmp_path: Path,
) -> None:
    root = one_tenant_project(tmp_path / "project", HINDI)
    shutil.rmtree(root / "themes")  # the theme policygen ships, with its Hindi words
    [finding] = _words_unreviewed(root)
    assert finding.level == "warning" and finding.kind == "translation"
    assert finding.message.startswith("policygen's own 'hi' words are not yet legally reviewed")
    for words in ("policygen/data/languages/hi.yaml", "policygen/data/rules.hi.yaml", "i18n/hi.yaml"):
        assert words in finding.message
    assert "languages: {hi: ...} in rules.yaml" in (finding.fact or "")
    assert "A project cannot replace the vocabulary" in (finding.fact or "")
    result = CliRunner().invoke(cli, ["-C", str(root), "check", "--format", "json"])
    [said] = [f for f in json.loads(result.output)["site"] if f["id"] == "translation.words_unreviewed"]
    assert said["level"] == "warning" and "policygen/data/languages/hi.yaml" in said["message"]
    # The project's own theme words replace policygen's: they are no longer policygen's to review.
    (root / "themes/default/i18n").mkdir(parents=True)
    (root / "themes/default/i18n/hi.yaml").write_text("Contents: विषय-सूची\n", encoding="utf-8")
    [finding] = _words_unreviewed(root)
    assert "i18n/hi.yaml" not in finding.message and "policygen/data/languages/hi.yaml" in finding.message


def test_policygens_sentences_a_projects_rules_yaml_replaces_are_no_longer_its_to_review(tmp_path: Path) -> None:
    root = one_tenant_project(tmp_path / "project", HINDI)
    (root / "themes/default/i18n").mkdir(parents=True, exist_ok=True)
    (root / "themes/default/i18n/hi.yaml").write_text("Contents: विषय-सूची\n", encoding="utf-8")
    packaged = yaml.safe_load((REPO / "policygen/data/rules.hi.yaml").read_text(encoding="utf-8"))
    [finding] = _words_unreviewed(root)
    [count] = [part for part in finding.message.split("; ") if "rules.hi.yaml" in part]
    replaced_all = {"languages": {"hi": packaged}}
    (root / "rules.yaml").write_text(yaml.safe_dump(replaced_all, allow_unicode=True), encoding="utf-8")
    [finding] = _words_unreviewed(root)
    assert "rules.hi.yaml" not in finding.message and "languages/hi.yaml" in finding.message
    del packaged["summary"]["unchanged"]  # one sentence left to policygen's
    (root / "rules.yaml").write_text(yaml.safe_dump(replaced_all, allow_unicode=True), encoding="utf-8")
    [finding] = _words_unreviewed(root)
    assert "(policygen/data/rules.hi.yaml: 1 of " in finding.message
    assert "not replaced by the project's rules.yaml" in count


def test_a_project_publishing_only_english_gets_no_finding_about_policygens_words(tmp_path: Path) -> None:
    root = one_tenant_project(tmp_path / "project", {**HINDI, "languages": ["en-GB"]})
    shutil.rmtree(root / "themes")
    assert _words_unreviewed(root) == []


def test_a_translation_read_again_unchanged_is_parsed_once_and_read_anew_once_edited(tmp_path: Path) -> None:
    file = tmp_path / "010-introduction.fr.md"
    file.write_text("---\ntitle: À propos\ntranslates: 0123456789abcdef\n---\nBonjour {{ name }}.\n", encoding="utf-8")
    translation_files._head.cache_clear()
    first = read_head(file)
    assert read_head(file) == first and translation_files._head.cache_info().hits == 1  # another tenant's ask
    file.write_text("---\ntitle: À propos\ntranslates: fedcba9876543210\n---\nBonjour {{ name }}.\n", encoding="utf-8")
    assert read_head(file).translates == "fedcba9876543210"  # edited: its new text is read
    assert code_difference("Hello {{ name }}.", first.body) is None
    assert (
        code_difference("Hello {{ name }}.", "Bonjour {{ nom }}.") == "missing {{ name }}; not in the source {{ nom }}"
    )
