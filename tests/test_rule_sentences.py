"""The rules' sentences in each language policygen ships (policygen/data/rules.<lang>.yaml): every packaged
rule's `say` and `effect` and every summary sentence has its words in each language, with the same
{placeholders} as the English, so a finding is never said with a value missing or invented."""

from __future__ import annotations

import dataclasses
import string
from importlib import resources
from pathlib import Path

import pytest

from policygen.durations import Duration
from policygen.factdiff import FIELD_WORDS, SECTION_NAMES, VALUE_NAMES, FactFinding, Filled, value_table
from policygen.rules import SOURCE_SUMMARY, load_rules, packaged_sentences
from policygen.vocabulary import ForeignWord

SHIPPED = sorted(
    f.name.split(".")[0]
    for f in resources.files("policygen").joinpath("data", "languages").iterdir()
    if f.name.endswith(".yaml") and f.name != "en.yaml"
)
TRANSLATED = [lang for lang in SHIPPED if resources.files("policygen").joinpath("data", f"rules.{lang}.yaml").is_file()]


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_policygen_ships_the_rule_sentences_in_every_language_it_ships_words_for() -> None:
    assert SHIPPED == ["ar", "de", "es", "fr", "hi"]
    assert TRANSLATED == SHIPPED


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_packaged_rule_sentence_has_its_words_in_the_language_with_the_same_placeholders(lang: str) -> None:
    words = load_rules().sentences(lang)
    missing, different = [], []
    for rule in load_rules().rules:
        for part, templates in (("say", rule.say), ("effect", rule.effect)):
            for change, english in templates.items():
                said = words.rule(rule.id, part, change)
                if said is None:
                    missing.append(f"{rule.id}.{part}.{change}")
                elif _names(said) != _names(english):
                    different.append(f"{rule.id}.{part}.{change}: {said}")
    assert not missing, missing
    assert not different, different


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_summary_sentence_has_its_words_in_the_language_with_the_same_placeholders(lang: str) -> None:
    words = packaged_sentences(lang).summary.model_dump()
    for name, english in SOURCE_SUMMARY.model_dump().items():
        assert words[name] is not None, name
        assert _names(words[name]) == _names(english), name


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_packaged_sentences_name_only_rules_that_exist(lang: str) -> None:
    ids = {rule.id for rule in load_rules().rules}
    assert set(packaged_sentences(lang).rules) <= ids


def test_a_local_file_that_rewords_a_rules_english_drops_the_packaged_translation(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - id: recipient\n    say: {added: 'We now also work with {item}.'}\n", encoding="utf-8"
    )
    words = load_rules(tmp_path).sentences("fr")
    assert words.rule("recipient", "say", "added") is None  # the French says the old English: not used
    assert words.rule("recipient", "effect", "added") is not None  # the effect's English is unchanged


# The tables of policygen's own words that every shipped language has a word for each key of.
WORDED: dict[str, set[str]] = {"sections": set(SECTION_NAMES), "yes_no": {"yes", "no"}}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_section_name_and_yes_no_has_a_word_in_the_language(lang: str) -> None:
    words = packaged_sentences(lang).words
    missing = [
        f"{table}.{key}" for table, keys in WORDED.items() for key in sorted(keys) if key not in words.get(table, {})
    ]
    assert missing == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_packaged_words_name_only_tables_and_keys_that_exist(lang: str) -> None:
    tables = {**WORDED, "fields": set(FIELD_WORDS), **{value_table(*k): set(v) for k, v in VALUE_NAMES.items()}}
    unknown = [
        f"{table}.{key}"
        for table, keyed in packaged_sentences(lang).words.items()
        for key in keyed
        if key not in tables.get(table, set())
    ]
    assert unknown == []


def _officer_removed() -> FactFinding:
    return FactFinding(
        "dpo",
        "removed",
        {"name": "Ada"},
        None,
        "material",
        "officer",
        "",
        "You can no longer reach our data protection officer (Ada).",
        "Use our other contact details instead.",
        fill=(
            Filled("subject", "our data protection officer", True, ("sections", "dpo")),
            Filled("item", "Ada", False),
            Filled("old", "Ada", False),
            Filled("new", "none", True, None),
        ),
    )


def test_a_section_name_is_said_by_the_languages_word_for_it() -> None:
    french = _officer_removed().in_language(load_rules().sentences("fr"))
    assert french.says == "Vous ne pouvez plus joindre notre délégué à la protection des données (Ada)."
    assert not isinstance(french.says, ForeignWord)


def test_a_value_with_no_word_in_the_language_keeps_the_finding_in_english_marked() -> None:
    sentences = load_rules().sentences("fr")
    without = dataclasses.replace(
        sentences, words={k: w for k, w in sentences.words.items() if k != ("sections", "dpo")}
    )
    said = _officer_removed().in_language(without)
    assert said.says == "You can no longer reach our data protection officer (Ada)."
    assert isinstance(said.says, ForeignWord) and isinstance(said.effect, ForeignWord)


def test_a_projects_rules_file_gives_words_a_language_has_none_for(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "languages:\n"
        "  it:\n    words:\n      fields: {sells: vendere dati personali}\n"
        "  hi:\n    words:\n      fields: {sells: निजी डेटा बेचना}\n",
        encoding="utf-8",
    )
    assert load_rules().sentences("it").word(("fields", "sells")) is None
    assert load_rules(tmp_path).sentences("it").word(("fields", "sells")) == "vendere dati personali"
    words = load_rules(tmp_path).sentences("hi")
    assert words.word(("fields", "sells")) == "निजी डेटा बेचना"  # the project's word wins
    assert words.word(("sections", "dpo")) == "हमारे डेटा संरक्षण अधिकारी"  # the packaged words stay


def test_a_duration_in_a_finding_is_said_in_the_languages_units() -> None:
    finding = FactFinding(
        "retention.periods[accounts].period",
        "lengthened",
        "1 year",
        "2 years",
        "material",
        "retention-period",
        "",
        "We now keep your accounts for 2 years instead of 1 year.",
        "",
        fill=(
            Filled("subject", "accounts", False),
            Filled("item", "period", True, None),
            Filled("old", "1 year", True, None, Duration.parse("1 year")),
            Filled("new", "2 years", True, None, Duration.parse("2 years")),
        ),
    )
    french = finding.in_language(load_rules().sentences("fr"))
    assert french.says == "Nous conservons désormais vos données « accounts » pendant 2 ans au lieu de 1 an."


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_field_has_its_words_in_every_shipped_language(lang: str) -> None:
    fields = packaged_sentences(lang).words.get("fields", {})
    assert sorted(set(FIELD_WORDS) - set(fields)) == []


# The smaller tables of values' names, worded in rules.<lang>.yaml.
NAMED_VALUES = [
    ("Organisation", "role"),
    ("Children", "consent"),
    ("Purpose", "provision"),
    ("Changes", "how_notified"),
    ("Tracker", "party"),
    ("Tracker", "duration"),
    ("Permission", "platforms"),
    ("Permission", "asked"),
    ("DataCategory", "sources"),
]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_value_of_the_smaller_value_tables_has_a_name_in_every_shipped_language(lang: str) -> None:
    words = packaged_sentences(lang).words
    missing = [
        f"{value_table(*table)}.{value}"
        for table in NAMED_VALUES
        for value in sorted(VALUE_NAMES[table])
        if value not in words.get(value_table(*table), {})
    ]
    assert missing == []
