"""Pages per language: a tenant lists the languages it publishes (`languages`) and its authoritative one
(`locale`, whose text prevails). The authoritative pages keep their addresses; each other language's
page is at <slug>/<doc>/<lang>/, carries lang (and dir="rtl" for right-to-left scripts), hreflang
alternates both ways and a language switcher, and reads each clause from its translation. A stale
translation is never published silently: the page shows the source text with a note in the reader's
language (stale_translations: fallback), or the build stops with a located error (refuse).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import one_tenant_project
from test_translations import INTRO, _change_intro, _translate
from test_unknown_facts import REQUIRED

from policygen.check import check
from policygen.cli import cli
from policygen.engine import BuildReport, build
from policygen.errors import InputError
from policygen.fact_translations import value_hash
from policygen.site import BuildOptions
from policygen.snippets import resolve_language
from policygen.translation_files import source_hash

DAY = dt.date(2026, 6, 1)


def _build(root: Path) -> Path:
    return build(root, root / "out", BuildOptions(today=DAY)).out


def _project(tmp_path: Path, facts: dict[str, Any], translate: str | None = "fr") -> Path:
    root = one_tenant_project(tmp_path / "project", facts)
    if translate:
        _translate(root, INTRO, translate, "À propos de cette politique")
    return root


def _section(page: str, clause: str) -> str:
    start = page.index(f'<section id="{clause}"')
    return page[start : page.index("</section>", start)]


def test_the_example_ims_pro_publishes_english_and_hindi_with_hreflang_both_ways(example_site: BuildReport) -> None:
    english = (example_site.out / "ims-pro/privacy-policy/index.html").read_text(encoding="utf-8")
    hindi = (example_site.out / "ims-pro/privacy-policy/hi/index.html").read_text(encoding="utf-8")
    assert '<html lang="en-IN">' in english and '<html lang="hi-IN">' in hindi
    assert '<link rel="alternate" hreflang="hi-IN" href="hi/index.html">' in english
    assert '<link rel="alternate" hreflang="en-IN" href="index.html">' in english
    assert '<link rel="alternate" hreflang="en-IN" href="../index.html">' in hindi
    assert '<link rel="alternate" hreflang="hi-IN" href="index.html">' in hindi
    assert "<h1>गोपनीयता नीति</h1>" in hindi
    # A starter translation of a policy whose English text prevails: the Hindi page says so.
    assert "अंग्रेज़ी पाठ ही मान्य होगा" in hindi


def test_a_page_in_another_language_reads_translated_clauses_with_the_source_when(tmp_path: Path) -> None:
    root = _project(tmp_path, {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]})
    (root / "content/privacy-policy/180-contact.fr.md").unlink()  # the contact clause is not translated
    out = _build(root)
    french = (out / "t/privacy-policy/fr/index.html").read_text(encoding="utf-8")
    assert '<html lang="fr-FR">' in french
    assert "À propos de cette politique" in _section(french, "introduction")
    assert "1 janvier 2026" in french  # dates in the page's locale (Babel)
    assert "<dt>En vigueur</dt>" in french  # the theme's own words from its i18n/fr.yaml
    # A clause with no French translation is the English text, marked as English, with a French note.
    contact = _section(french, "contact")
    assert "Cette section n'est pas encore traduite ; elle est affichée en anglais." in contact
    assert '<div lang="en" dir="ltr">' in contact


def test_a_stale_translation_falls_back_to_the_source_with_a_note_in_the_readers_language(tmp_path: Path) -> None:
    root = _project(tmp_path, {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]})
    _change_intro(root)
    french = (_build(root) / "t/privacy-policy/fr/index.html").read_text(encoding="utf-8")
    intro = _section(french, "introduction")
    assert "Cette section est affichée en anglais : sa traduction est en cours de mise à jour." in intro
    assert "how long we store it" in intro  # the source as it is now, not the stale translation


def test_a_project_that_refuses_stale_translations_stops_the_build_with_a_located_error(tmp_path: Path) -> None:
    root = _project(tmp_path, {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]})
    (root / "policygen.yaml").write_text("stale_translations: refuse\n", encoding="utf-8")
    _change_intro(root)
    with pytest.raises(InputError) as raised:
        _build(root)
    [problem] = raised.value.problems
    assert problem.file == root / "content/privacy-policy/010-introduction.fr.md"
    assert (problem.line, problem.key_path) == (3, "translates")
    result = CliRunner().invoke(cli, ["-C", str(root), "build", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "010-introduction.fr.md:3: error: translates: this translation is stale" in result.output
    assert not (tmp_path / "out").exists()


def test_a_right_to_left_language_gets_dir_rtl(tmp_path: Path) -> None:
    out = _build(_project(tmp_path, {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "ar"]}, None))
    arabic = (out / "t/privacy-policy/ar/index.html").read_text(encoding="utf-8")
    assert '<html lang="ar" dir="rtl">' in arabic
    english = (out / "t/privacy-policy/index.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' not in english


def test_one_language_listed_is_the_same_site_as_locale_alone(tmp_path: Path) -> None:
    alone = _build(_project(tmp_path / "a", {**REQUIRED, "locale": "en-GB"}, None))
    listed = _build(_project(tmp_path / "b", {**REQUIRED, "locale": "en-GB", "languages": ["en-GB"]}, None))
    files = sorted(p.relative_to(alone) for p in alone.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert files == sorted(
        p.relative_to(listed) for p in listed.rglob("*") if p.is_file() and p.name != "manifest.json"
    )
    for file in files:
        assert (alone / file).read_bytes() == (listed / file).read_bytes(), file


def test_a_translated_clause_reads_its_partials_in_the_pages_language(tmp_path: Path) -> None:
    root = _project(tmp_path, {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]}, None)
    _translate(root, Path("content/privacy-policy/060-purposes.md"), "fr", "Utilisation de vos données")
    partials = root / "content/_partials"
    source = (partials / "facts.md").read_bytes()
    translated = source.decode().replace("| What we use it for |", "| Finalité |")
    (partials / "facts.fr.md").write_text(f"{{#- translates: {source_hash(source)} -#}}\n{translated}", "utf-8")
    out = _build(root)
    assert "<th>Finalité</th>" in (out / "t/privacy-policy/fr/index.html").read_text(encoding="utf-8")
    assert "<th>What we use it for</th>" in (out / "t/privacy-policy/index.html").read_text(encoding="utf-8")


def _change_facts_partial(root: Path) -> None:
    """An edit of the source partial every translation of facts.md was made from: they are all stale now."""
    file = root / "content/_partials/facts.md"
    file.write_text(file.read_text().replace("What we use it for", "Why we use it"), encoding="utf-8")


def test_a_clause_reading_a_stale_partial_falls_back_to_the_source_with_the_stale_note(tmp_path: Path) -> None:
    root = _project(tmp_path, {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]}, None)
    _change_facts_partial(root)
    french = (_build(root) / "t/privacy-policy/fr/index.html").read_text(encoding="utf-8")
    purposes = _section(french, "purposes")  # imports _partials/facts.md
    assert "Cette section est affichée en anglais : sa traduction est en cours de mise à jour." in purposes
    assert '<div lang="en" dir="ltr">' in purposes and "<th>Why we use it</th>" in purposes
    assert "translation-note" not in _section(french, "introduction")  # imports no partial: still French


def test_a_project_that_refuses_stale_translations_stops_at_a_stale_partial(tmp_path: Path) -> None:
    root = _project(tmp_path, {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]}, None)
    (root / "policygen.yaml").write_text("stale_translations: refuse\n", encoding="utf-8")
    _change_facts_partial(root)
    with pytest.raises(InputError) as raised:
        _build(root)
    stale = {(p.file, p.line, p.key_path) for p in raised.value.problems}
    assert stale == {(root / "content/_partials/facts.fr.md", 1, "translates")}
    assert not (root / "out").exists()


def test_app_snippets_resolve_a_locale_to_its_language_then_to_the_authoritative_one(
    example_site: BuildReport,
) -> None:
    apps = example_site.out / "ims-pro/apps"
    for app in sorted(p for p in apps.iterdir() if p.is_dir()):
        manifest = json.loads((app / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["languages"] == [
            {"lang": "en-IN", "path": "", "authoritative": True},
            {"lang": "hi-IN", "path": "hi/", "authoritative": False},
        ]
        published = [entry["lang"] for entry in manifest["languages"]]
        assert resolve_language("hi-IN", published, "en-IN") == "hi-IN"
        assert resolve_language("hi", published, "en-IN") == "hi-IN"
        assert resolve_language("fr-CA", published, "en-IN") == "en-IN"  # no French: the authoritative text
        hindi = (app / "hi/policy.html").read_text(encoding="utf-8")
        assert '<html lang="hi-IN" dir="ltr">' in hindi and "इस नीति के बारे में" in hindi
        assert not list((app / "hi").glob("*.json")) or [p.name for p in (app / "hi").glob("*.json")] == [
            "manifest.json"
        ]  # store labels are language-neutral: only in the app's own folder


def test_a_locale_of_a_published_language_resolves_to_it() -> None:
    assert resolve_language("fr-CA", ["en-GB", "fr-FR"], "en-GB") == "fr-FR"
    assert resolve_language("fr_CA", ["en-GB", "fr"], "en-GB") == "fr"
    assert resolve_language("de-AT", ["en-GB", "fr"], "en-GB") == "en-GB"


DESCRIBED: dict[str, Any] = {
    **REQUIRED,
    "organisation": {**REQUIRED["organisation"], "description": "a plain example service"},
    "locale": "en-GB",
    "languages": ["en-GB", "fr-FR"],
}


def _overlay(root: Path, text: str, translates: str) -> None:
    (root / "tenants/t/tenant.fr.yaml").write_text(
        f"organisation.description:\n  text: {text}\n  translates: {translates}\n", encoding="utf-8"
    )


def test_a_current_fact_translation_prints_on_its_languages_pages_only(tmp_path: Path) -> None:
    root = _project(tmp_path, DESCRIBED)
    _overlay(root, "un service d'exemple", value_hash("a plain example service"))
    out = _build(root)
    # The translated description unmarked; the name, which has no French, marked as English.
    french = (out / "t/privacy-policy/fr/index.html").read_text()
    assert '<span lang="en">Plain Example</span> is un service d&#x27;exemple.' in french
    assert "Plain Example is a plain example service." in (out / "t/privacy-policy/index.html").read_text()


def test_a_stale_fact_translation_prints_the_tenants_value_or_stops_the_build(tmp_path: Path) -> None:
    root = _project(tmp_path, DESCRIBED)
    _overlay(root, "un service d'exemple", value_hash("an older description"))
    french = (_build(root) / "t/privacy-policy/fr/index.html").read_text()
    assert "a plain example service" in french and "un service d" not in french
    [finding] = [f for f in check(root).tenants[0].findings if f.id == "translation.fact_stale"]
    assert finding.file == root / "tenants/t/tenant.fr.yaml" and finding.line == 1
    assert value_hash("a plain example service") in (finding.fact or "")
    (root / "policygen.yaml").write_text("stale_translations: refuse\n", encoding="utf-8")
    shutil.rmtree(root / "out")
    with pytest.raises(InputError) as raised:
        _build(root)
    [problem] = raised.value.problems
    assert (problem.file, problem.line, problem.key_path) == (
        root / "tenants/t/tenant.fr.yaml",
        3,
        "organisation.description.translates",
    )


def test_the_schema_of_fact_translations_is_printed_by_policygen_schema() -> None:
    result = CliRunner().invoke(cli, ["schema", "--translation"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "policygen translations of a tenant's facts (tenant.<lang>.yaml)"
    assert set(schema["$defs"]["FactTranslation"]["required"]) == {"text", "translates"}


def test_an_edited_translation_re_renders_its_tenant_in_the_next_build(tmp_path: Path) -> None:
    root = _project(tmp_path, {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]})
    out = _build(root)
    file = root / "content/privacy-policy/010-introduction.fr.md"
    file.write_text(file.read_text(encoding="utf-8").replace("À propos de cette politique", "Cette politique"))
    report = build(root, out, BuildOptions(today=DAY))
    assert report.reused_tenants == []
    assert '<h2 id="introduction-title">Cette politique</h2>' in (out / "t/privacy-policy/fr/index.html").read_text()
