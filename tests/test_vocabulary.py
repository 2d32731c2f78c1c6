"""Typed facts (rights, lawful bases, permissions, retention events, what is not collected, tracker
categories, regimes, transfer tools) are printed from vocabularies, one per language in
policygen/data/languages/<lang>.yaml, never retyped by a tenant. A word follows the language of the text
it stands in: a translated clause gets its language's words, a clause in the source language English
ones. A language without a word shows the English word marked lang="en".
"""

from __future__ import annotations

import datetime as dt
import typing
from pathlib import Path
from typing import Any

import pytest
from conftest import one_tenant_project
from test_translations import _translate
from test_unknown_facts import REQUIRED

from policygen import facts
from policygen.durations import Duration
from policygen.engine import build
from policygen.fact_translations import value_hash
from policygen.law import REGIME_NAMES, transfer_mechanisms
from policygen.site import BuildOptions
from policygen.vocabulary import (
    ENGLISH_ELSEWHERE,
    ForeignWord,
    VocabularyName,
    duration,
    english,
    every_word,
    shipped_languages,
    text_language,
    vocabulary,
    word,
)

VOCABULARIES: tuple[VocabularyName, ...] = typing.get_args(VocabularyName)
TRANSLATED = [lang for lang in shipped_languages() if lang != "en"]

FACTS: dict[str, Any] = {
    **REQUIRED,
    "purposes": [{"id": "service", "name": "Providing the service", "lawful_bases": [{"basis": "contract"}]}],
    "rights": [{"id": "access"}, {"id": "erasure"}],
    "apps": [
        {
            "id": "app",
            "name": "Example App",
            "audience": "members",
            "permissions": [{"id": "camera", "reason": "To scan receipts"}],
        }
    ],
}


def _ids(name: VocabularyName) -> set[str]:
    """The ids a vocabulary must have a word for in every language."""
    tools = transfer_mechanisms().values()
    if name == "transfer_tools":
        return {t.id for t in tools}
    if name == "transfer_tool_notes":
        return {t.id for t in tools if t.note is not None}
    return set(english(name))


def test_the_shipped_languages_are_english_and_its_translations() -> None:
    assert {"en", "hi", "fr", "de", "es", "ar"} <= set(shipped_languages())


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_id_of_every_vocabulary_has_a_word_in_every_shipped_language(lang: str) -> None:
    words = vocabulary(lang)
    assert words is not None, f"{lang}.yaml has no vocabulary"
    for name in VOCABULARIES:
        given = words.words.get(name, {})
        assert set(given) == _ids(name), f"{lang}: {name}"
        assert all(w.strip() for w in given.values()), f"{lang}: {name} has an empty word"


def test_english_has_a_word_for_every_id_the_facts_allow() -> None:
    assert set(english("rights")) == set(typing.get_args(facts.RightId))
    assert set(english("lawful_bases")) == {b.value for b in facts.Basis}
    assert set(english("not_collected")) == set(typing.get_args(facts.NotCollectedId))
    assert set(english("tracker_categories")) == set(typing.get_args(facts.TrackerCategory))
    assert set(english("retention_while")) == set(typing.get_args(facts.RetentionEvent))
    assert set(english("retention_after")) == set(typing.get_args(facts.RetentionEvent)) - {"indefinitely"}
    assert set(english("regimes")) == set(typing.get_args(facts.Regime)) == set(REGIME_NAMES)
    source = vocabulary("en")
    assert source is not None and not ENGLISH_ELSEWHERE & set(source.words)  # their English is in its own home


@pytest.mark.parametrize("lang", shipped_languages())
def test_a_retention_pattern_has_one_place_for_its_duration(lang: str) -> None:
    words = vocabulary(lang)
    assert words is not None
    assert all(p.count("{}") == 1 for p in words.words["retention_after"].values())


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_shipped_translations_are_marked_not_yet_legally_reviewed(lang: str) -> None:
    words = vocabulary(lang)
    assert words is not None and not words.reviewed


def test_outside_a_translated_clause_every_word_is_english() -> None:
    assert word("rights", "access") == "Access your data"
    token = text_language.set("fr")
    try:
        assert word("rights", "access") == "Accéder à vos données"
    finally:
        text_language.reset(token)


def _build(root: Path) -> Path:
    return build(root, root / "out", BuildOptions(today=dt.date(2026, 6, 1))).out


def _page(out: Path, lang: str | None = None) -> str:
    folder = out / "t" / "privacy-policy"
    return (folder / lang / "index.html" if lang else folder / "index.html").read_text(encoding="utf-8")


def test_a_translated_page_prints_rights_bases_and_permissions_in_its_language(tmp_path: Path) -> None:
    root = one_tenant_project(tmp_path / "p", {**FACTS, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]})
    out = _build(root)
    french, english_page = _page(out, "fr"), _page(out)
    for fr in ("Accéder à vos données", "Supprimer vos données", "L'exécution d'un contrat conclu avec vous"):
        assert fr in french.replace("&#x27;", "'")
    assert "<strong>Appareil photo</strong>" in french
    assert "Access your data" not in french and "<strong>Camera</strong>" not in french
    for en in ("Access your data", "Delete your data", "Performance of a contract with you", "<strong>Camera</strong>"):
        assert en in english_page
    assert "Accéder à vos données" not in english_page


def test_a_tenant_in_one_non_english_locale_keeps_english_words_in_the_english_text(tmp_path: Path) -> None:
    # Its pages are the source text with dates in its locale: a French word in an English sentence would be wrong.
    out = _build(one_tenant_project(tmp_path / "p", {**FACTS, "locale": "fr-FR"}))
    page = _page(out)
    assert "Access your data" in page and "Accéder à vos données" not in page


@pytest.mark.parametrize("raw_html", [False, True])
def test_a_language_without_a_vocabulary_shows_the_english_word_marked_as_english(
    tmp_path: Path, raw_html: bool
) -> None:
    root = one_tenant_project(tmp_path / "p", {**FACTS, "locale": "en-GB", "languages": ["en-GB", "pt-PT"]})
    if raw_html:  # the sanitiser that cleans clauses' own HTML keeps the mark
        (root / "policygen.yaml").write_text("raw_html: true\n", encoding="utf-8")
    _translate(root, Path("content/privacy-policy/130-rights.md"), "pt", "Os seus direitos")
    portuguese = _page(_build(root), "pt")
    start = portuguese.index('<section id="rights"')
    rights = portuguese[start : portuguese.index("</section>", start)]
    assert '<strong><span lang="en">Access your data</span>.</strong>' in rights
    assert '<div lang="en"' not in rights  # the clause itself is translated: only the words are English


COUNTRIES: dict[str, Any] = {
    **REQUIRED,
    "organisation": {
        "legal_name": "Plain Example Ltd",
        "display_name": "Plain Example",
        "address": {"lines": ["1 High Street"], "locality": "London", "country": "United Kingdom"},
    },
    "supervisory_authority": {"name": "Úřad pro ochranu osobních údajů", "country": "Czech Republic"},
    "locale": "en-GB",
    "languages": ["en-GB", "fr-FR"],
}


def test_a_country_reads_in_the_pages_language_and_as_written_in_english(tmp_path: Path) -> None:
    out = _build(one_tenant_project(tmp_path / "p", COUNTRIES))
    french, english_page = _page(out, "fr"), _page(out)
    # The town is the tenant's words with no French translation: marked (test_fact_language_marks.py).
    assert '<span lang="en">1 High Street</span>, <span lang="en">London</span>, Royaume-Uni' in french
    assert "Tchéquie" in french  # an English name Babel spells otherwise (Czechia) is recognised too
    assert "1 High Street, London, United Kingdom" in english_page
    assert "in the Czech Republic" in english_page and "Czechia" not in english_page


def test_a_country_babel_does_not_know_is_printed_as_the_tenant_wrote_it(tmp_path: Path) -> None:
    facts_ = {**COUNTRIES, "supervisory_authority": {"name": "The Office", "country": "Atlantis"}}
    assert "Atlantis" in _page(_build(one_tenant_project(tmp_path / "p", facts_)), "fr")


@pytest.mark.parametrize(
    ("written", "lang", "printed"),
    [
        ("60 days", "en", "60 days"),
        ("one month", "en", "one month"),  # English prints the tenant's words as written
        ("2 years", "hi", "2 वर्ष"),
        ("one month", "fr", "1\xa0mois"),
        ("3 years", "fr", "3 ans"),
        ("30-45 business days", "es", "30–45 días hábiles"),
        ("1 business day", "de", "1 Werktag"),
        ("up to 90 days", "fr", "jusqu'à 90\xa0jours"),  # "up to" is the language's up_to
        ("within 2 years", "es", "en un plazo de 2 años"),
        ("18 months", "ar", "18 شهرًا"),
    ],
)
def test_a_duration_reads_in_the_language_of_its_text(written: str, lang: str, printed: str) -> None:
    token = text_language.set(lang)
    try:
        assert duration(Duration.parse(written)) == printed
    finally:
        text_language.reset(token)


def test_a_duration_a_language_has_no_words_for_is_english_and_marked() -> None:
    token = text_language.set("pt")  # Babel knows Portuguese units; policygen has no Portuguese vocabulary
    try:
        assert duration(Duration.parse("2 years")) == "2 anos"
        for written in ("30 business days", "up to 90 days"):
            shown = duration(Duration.parse(written))
            assert isinstance(shown, ForeignWord) and (shown, shown.lang) == (written, "en")
    finally:
        text_language.reset(token)


def test_a_retention_rule_reads_whole_in_english_when_a_part_has_no_word() -> None:
    kept = facts.Kept.model_validate({"until": "account_closed", "then": "10 business days"})
    token = text_language.set("pt")
    try:
        shown = kept.words
    finally:
        text_language.reset(token)
    assert isinstance(shown, ForeignWord) and shown == "10 business days after your account is closed"


def test_a_fact_translation_of_a_country_takes_precedence_over_babels_name(tmp_path: Path) -> None:
    root = one_tenant_project(tmp_path / "p", COUNTRIES)
    overlay = f"organisation.address.country:\n  text: Grande-Bretagne\n  translates: {value_hash('United Kingdom')}\n"
    (root / "tenants/t/tenant.fr.yaml").write_text(overlay, encoding="utf-8")
    french = _page(_build(root), "fr")
    assert (
        '<span lang="en">1 High Street</span>, <span lang="en">London</span>, Grande-Bretagne' in french
        and "Royaume-Uni" not in french
    )


@pytest.mark.parametrize("name", VOCABULARIES)
def test_every_name_of_a_word_is_the_same_kept_or_worked_out_afresh(name: VocabularyName) -> None:
    # every_word is kept per vocabulary and key (each app's permissions ask for it): what is kept is
    # what reading policygen's language files gives, in every language, for every key.
    for key in english(name):
        fresh = every_word.__wrapped__(name, key)
        assert every_word(name, key) == fresh and english(name)[key] in fresh
        assert all(
            any(v.words.get(name, {}).get(key) == w for v in map(vocabulary, shipped_languages()) if v) for w in fresh
        )
