"""A finding said in another language quotes the tenant's own words in that language: each version's
free-text facts as its release recorded their translations (tenant.<lang>.yaml, current when released).
A stale or missing translation quotes the tenant.yaml text, marked lang="en", as the pages show a word
in another language than its sentence. Materiality is decided once, from the source-language facts.

The tenant is fictional (`t`, Plain Example Ltd), published in English and Hindi: version 1 shares data
with hosting providers, version 2 also with advertisers (a material change, with a notice)."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import one_tenant_project
from test_language_versions import _edit, _release
from test_unknown_facts import REQUIRED

from policygen.engine import build
from policygen.fact_translations import value_hash
from policygen.factdiff import FactFinding, TenantWords, diff_facts
from policygen.facts import Tenant
from policygen.rules import load_rules
from policygen.site import BuildOptions
from policygen.theme import marked
from policygen.vocabulary import ForeignWord, MixedText

TODAY = dt.date(2026, 6, 1)
DOC = "t/privacy-policy"
V1, V2 = "2026-01-01", "2026-03-01"
HINDI_ADDED = "अब हम एक नए प्रकार के प्राप्तकर्ता के साथ डेटा साझा करते हैं: "


def _overlay(root: Path, translations: dict[str, tuple[str, str]]) -> None:
    """tenant.hi.yaml: each key path's Hindi text, translating the English text given."""
    lines = [
        f"{key}:\n  text: {text}\n  translates: {value_hash(english)}\n"
        for key, (text, english) in translations.items()
    ]
    (root / "tenants/t/tenant.hi.yaml").write_text("".join(lines), encoding="utf-8")


def _released(folder: Path, new: list[dict[str, Any]], hindi: dict[str, tuple[str, str]]) -> Path:
    """Version 1 with hosting providers, version 2 adding the *new* recipients, with *hindi* as tenant.hi.yaml
    when version 2 is released; the site built."""
    root = one_tenant_project(
        folder / "project",
        {
            **REQUIRED,
            "locale": "en-GB",
            "languages": ["en-GB", "hi-IN"],
            "recipients": [{"id": "hosting", "category": "Hosting providers"}],
        },
    )
    _release(root, V1, "2025-12-01")
    _edit(root, lambda d: d["recipients"].extend(new))
    _overlay(root, hindi)
    _release(root, V2, "2026-01-15")
    return build(root, root / "out", BuildOptions(today=TODAY)).out


def _read(out: Path, path: str) -> str:
    return html.unescape((out / path).read_text(encoding="utf-8"))


ADS = {"id": "ads", "category": "Advertisers", "role": "controller"}


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with the new recipient's name translated into Hindi, and its site built (at out/)."""
    folder = tmp_path_factory.mktemp("fact-translations")
    _released(folder, [ADS], {"recipients[1].category": ("विज्ञापनदाता", "Advertisers")})
    return folder / "project"


def test_a_hindi_notice_quotes_a_new_recipients_name_in_its_current_hindi_translation(translated: Path) -> None:
    out = translated / "out"
    for name in ("banner.html", "email.html"):
        hindi = _read(out, f"{DOC}/hi/{V2}/notice/{name}")
        assert f"{HINDI_ADDED}विज्ञापनदाता।</li>" in hindi
        assert "Advertisers" not in hindi
    assert f"{HINDI_ADDED}विज्ञापनदाता।" in _read(out, f"{DOC}/hi/{V2}/notice/email.txt")
    assert f'<li class="finding tier-material">{HINDI_ADDED}विज्ञापनदाता।' in _read(
        out, f"{DOC}/hi/{V2}/changes/index.html"
    )
    assert f"{HINDI_ADDED}विज्ञापनदाता। <a" in _read(out, f"{DOC}/hi/history/index.html")
    # Decided once, from the English facts: the English notice is as it always was.
    english = _read(out, f"{DOC}/{V2}/notice/banner.html")
    assert "<li>We now share data with a new kind of recipient: Advertisers.</li>" in english


def test_a_release_records_the_current_translations_of_the_tenants_facts_with_its_text(translated: Path) -> None:
    folder = translated / "tenants/t/releases/privacy-policy"
    first = json.loads((folder / "0001-2026-01-01.json").read_text(encoding="utf-8"))
    second = json.loads((folder / "0002-2026-03-01.json").read_text(encoding="utf-8"))
    assert "facts" not in first["translations"]["hi-IN"]  # no fact was translated then: nothing recorded
    assert second["translations"]["hi-IN"]["facts"] == {"recipients[1].category": "विज्ञापनदाता"}


def test_a_stale_or_missing_translation_quotes_the_english_text_marked_lang_en_and_escaped(tmp_path: Path) -> None:
    # The first new name's translation is of words it no longer has; the second has none.
    hostile = {"id": "other", "category": "Ads <b>& co</b>", "role": "controller"}
    out = _released(tmp_path, [ADS, hostile], {"recipients[1].category": ("विज्ञापनदाता", "Advertising partners")})
    raw = (out / f"{DOC}/hi/{V2}/notice/banner.html").read_text(encoding="utf-8")
    assert f'<li>{HINDI_ADDED}<span lang="en">Ads &lt;b&gt;&amp; co&lt;/b&gt;</span>।</li>' in raw
    banner = _read(out, f"{DOC}/hi/{V2}/notice/banner.html")
    assert f'<li>{HINDI_ADDED}<span lang="en">Advertisers</span>।</li>' in banner
    assert "विज्ञापनदाता" not in banner
    assert f"{HINDI_ADDED}Advertisers।" in _read(out, f"{DOC}/hi/{V2}/notice/email.txt")  # plain text: no markup
    history = _read(out, f"{DOC}/hi/history/index.html")
    assert f'{HINDI_ADDED}<span lang="en">Advertisers</span>। ' in history  # the summary: one more change follows


def test_an_old_value_is_quoted_as_the_older_version_published_it(tmp_path: Path) -> None:
    root = one_tenant_project(
        tmp_path / "project",
        {
            **REQUIRED,
            "locale": "en-GB",
            "languages": ["en-GB", "hi-IN"],
            "recipients": [{"id": "hosting", "category": "Hosting providers", "location": "Ireland"}],
        },
    )
    # The project's own rule, with Hindi words that quote both locations.
    (root / "rules.yaml").write_text(
        "rules:\n"
        "  - id: where-hosted\n"
        "    path: recipients[*].location\n"
        "    tiers: {changed: material}\n"
        "    say: {changed: '{subject} are now in {new}, not {old}.'}\n"
        "    effect: {changed: 'Your data is kept somewhere else.'}\n"
        "languages:\n"
        "  hi:\n"
        "    rules:\n"
        "      where-hosted:\n"
        "        say: {changed: '{subject} अब {old} के बजाय {new} में हैं।'}\n"
        "        effect: {changed: 'आपका डेटा कहीं और रखा जाता है।'}\n",
        encoding="utf-8",
    )
    hosting = ("होस्टिंग प्रदाता", "Hosting providers")
    _overlay(root, {"recipients[0].category": hosting, "recipients[0].location": ("आयरलैंड", "Ireland")})
    _release(root, V1, "2025-12-01")
    _edit(root, lambda d: d["recipients"][0].update(location="Germany"))
    _overlay(root, {"recipients[0].category": hosting, "recipients[0].location": ("जर्मनी", "Germany")})
    _release(root, V2, "2026-01-15")
    out = build(root, root / "out", BuildOptions(today=TODAY)).out
    banner = _read(out, f"{DOC}/hi/{V2}/notice/banner.html")
    assert "<li>होस्टिंग प्रदाता अब आयरलैंड के बजाय जर्मनी में हैं।</li>" in banner


def test_a_version_without_recorded_translations_quotes_its_words_marked() -> None:
    words = TenantWords(old=None, new={"Advertisers": "विज्ञापनदाता"})
    assert words.quote("Advertisers", "new") == "विज्ञापनदाता"
    quoted = words.quote("Advertisers", "old")
    assert isinstance(quoted, ForeignWord) and quoted.lang == "en"


def test_the_marked_filter_escapes_text_and_marks_each_part_in_another_language() -> None:
    text = MixedText("à <b> ", ForeignWord("A & B", "en"), ".")
    assert str(marked(text)) == 'à &lt;b&gt; <span lang="en">A &amp; B</span>.'
    assert str(marked("<i>")) == "&lt;i&gt;"


def _added(old: list[dict[str, Any]], new: list[dict[str, Any]], rule: str) -> FactFinding:
    """The finding of *rule* when the recipients *old* become *new*."""
    before, after = (Tenant.model_validate({**REQUIRED, "recipients": r}) for r in (old, new))
    [finding] = [f for f in diff_facts(before, after, load_rules()) if f.rule == rule]
    return finding


HOSTING = {"id": "hosting", "category": "Hosting providers"}


def test_a_quote_is_a_part_of_its_own_in_the_sentence_and_capitalised_when_it_starts_it() -> None:
    hindi = load_rules().sentences("hi")
    said = _added([HOSTING], [HOSTING, ADS], "recipient").in_language(hindi)
    assert isinstance(said.says, MixedText) and said.says.parts == (HINDI_ADDED, "Advertisers", "।")
    assert isinstance(said.says.parts[1], ForeignWord) and said.says.parts[1].lang == "en"
    translated = _added([HOSTING], [HOSTING, ADS], "recipient").in_language(
        hindi, TenantWords(new={"Advertisers": "विज्ञापनदाता"})
    )
    assert translated.says == f"{HINDI_ADDED}विज्ञापनदाता।" and not isinstance(translated.says, MixedText)
    # "{item} अब हमारे प्राप्तकर्ताओं में से एक है: {subject}।" with a vendor's name as the tenant wrote it
    vendor = _added([HOSTING], [{**HOSTING, "names": ["acme cloud"]}], "recipient-vendor").in_language(
        hindi, TenantWords(new={"Hosting providers": "होस्टिंग प्रदाता"})
    )
    assert isinstance(vendor.says, MixedText)
    assert vendor.says.parts == ("Acme cloud", " अब हमारे प्राप्तकर्ताओं में से एक है: होस्टिंग प्रदाता।")


def test_a_tenants_text_holding_the_characters_that_mark_quotes_leaves_the_finding_in_english_marked() -> None:
    sneaky = {**ADS, "category": "Ads \ue003 and \ue002co"}
    said = _added([HOSTING], [HOSTING, sneaky], "recipient").in_language(load_rules().sentences("hi"))
    assert isinstance(said.says, ForeignWord) and said.says.lang == "en"
    assert said.says == "We now share data with a new kind of recipient: Ads \ue003 and \ue002co."


def test_a_hindi_notice_email_marks_the_tenants_untranslated_name_in_its_text_only(translated: Path) -> None:
    out = translated / "out"
    email = (out / f"{DOC}/hi/{V2}/notice/email.html").read_text(encoding="utf-8")
    title = email[email.index("<title>") : email.index("</title>")]
    body = email[email.index("<body") :]
    assert "Plain Example" in title and "<span" not in title
    assert '<span lang="en">Plain Example</span>' in body
    text = (out / f"{DOC}/hi/{V2}/notice/email.txt").read_text(encoding="utf-8")
    assert "Plain Example" in text and "<span" not in text


def test_a_hindi_archive_page_marks_the_tenants_names_it_released_untranslated(translated: Path) -> None:
    archive = (translated / "out" / f"{DOC}/hi/{V2}/index.html").read_text(encoding="utf-8")
    assert (
        '<a class="brand" href="../../../../t/hi/index.html"><span><span lang="en">Plain Example</span></span></a>'
        in archive
    )
    assert '<p><span lang="en">Plain Example Ltd</span> · <a' in archive


def test_a_hindi_archive_page_names_the_tenant_as_its_release_recorded_the_translation(tmp_path: Path) -> None:
    out = _released(tmp_path, [ADS], {"organisation.display_name": ("प्लेन उदाहरण", "Plain Example")})
    second = _read(out, f"{DOC}/hi/{V2}/index.html")
    assert '<a class="brand" href="../../../../t/hi/index.html"><span>प्लेन उदाहरण</span></a>' in second
    assert '<span lang="en">Plain Example</span>' not in second
