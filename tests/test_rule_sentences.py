"""The rules' sentences in each language policygen ships (policygen/data/rules.<lang>.yaml): every packaged
rule's `say` and `effect` and every summary sentence has its words in each language, with the same
{placeholders} as the English, so a finding is never said with a value missing or invented."""

from __future__ import annotations

import copy
import dataclasses
import string
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from test_diff_rules import BASE, CASES, Case, first, tenant, versions

from policygen import vocabulary as vocabulary_module
from policygen.durations import Duration
from policygen.factdiff import (
    FIELD_WORDS,
    SECTION_NAMES,
    VALUE_NAMES,
    VALUE_VOCABULARIES,
    DurationWords,
    FactFinding,
    Filled,
    TableWord,
    TenantText,
    TenantWords,
    _filled_in,
    _wording,
    choices,
    diff_facts,
    text,
    value_table,
)
from policygen.facts import Tenant
from policygen.law import transfer_mechanisms
from policygen.rules import (
    SOURCE_SENTENCES,
    SOURCE_SUMMARY,
    PluralForms,
    SummarySentences,
    load_rules,
    packaged_sentences,
    plural_category,
)
from policygen.vocabulary import ForeignWord, LeftToRight, MixedText
from policygen.vocabulary import english as english_words

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
    summary = packaged_sentences(lang).summary
    for name, english in SOURCE_SUMMARY:
        said = getattr(summary, name)
        if name == "one_more" and isinstance(summary.more, PluralForms):
            continue  # the plural forms of `more` say one more change too
        if isinstance(said, PluralForms):
            assert all(_names(form) <= _names(str(english)) for form in said.forms()), name
            assert _names(said.other) == _names(str(english)), name
        else:
            assert said is not None, name
            assert _names(said) == _names(str(english)), name


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_count_of_more_changes_has_a_form_for_every_plural_category_the_language_uses(lang: str) -> None:
    more = packaged_sentences(lang).summary.more
    assert isinstance(more, PluralForms)
    used = {plural_category(lang, n) for n in range(1001)}
    assert sorted(c for c in used if getattr(more, c) is None) == []


ARABIC_MORE = {
    0: "(ولا تغييرات أخرى.)",
    1: "(وتغيير آخر.)",
    2: "(وتغييران آخران.)",
    3: "(و3 تغييرات أخرى.)",
    11: "(و11 تغييرًا آخر.)",
    100: "(و100 تغيير آخر.)",
}


@pytest.mark.parametrize("count", sorted(ARABIC_MORE))
def test_arabic_says_the_count_of_more_changes_in_the_form_of_its_plural_category(count: int) -> None:
    assert load_rules().sentences("ar").more(count) == ARABIC_MORE[count]


def test_english_says_one_more_change_and_more_changes_as_before() -> None:
    assert [SOURCE_SENTENCES.more(n) for n in (1, 2, 1234)] == [
        "(1 more change.)",
        "(2 more changes.)",
        "(1234 more changes.)",
    ]


def test_a_projects_rules_file_may_write_the_count_as_one_sentence_or_per_plural_category(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "languages:\n"
        "  ar:\n    summary:\n      more: {one: '(تغيير واحد إضافي.)', other: '({more} تغييرات إضافية.)'}\n"
        "  fr:\n    summary:\n      one_more: '({more} modification de plus.)'\n"
        "      more: '({more} modifications de plus.)'\n",
        encoding="utf-8",
    )
    arabic = load_rules(tmp_path).sentences("ar")
    assert [arabic.more(n) for n in (1, 2, 11)] == [
        "(تغيير واحد إضافي.)",
        "(2 تغييرات إضافية.)",  # no `two` form: `other` says it
        "(11 تغييرات إضافية.)",
    ]
    french = load_rules(tmp_path).sentences("fr")  # one sentence, and one_more for 1, as in English
    assert [french.more(n) for n in (0, 1, 2)] == [
        "(0 modifications de plus.)",
        "(1 modification de plus.)",
        "(2 modifications de plus.)",
    ]


def test_plural_forms_with_an_unknown_category_or_without_other_are_refused_with_a_hint() -> None:
    with pytest.raises(ValidationError) as refused:
        SummarySentences.model_validate({"more": {"one": "({more} change)", "plural": "({more} changes)"}})
    messages = str(refused.value)
    assert "'plural' is not a plural category" in messages
    assert "plural forms without 'other'" in messages


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


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every field name of a facts model and the models inside it."""
    seen = seen if seen is not None else set()
    seen.add(model)
    names = set(model.model_fields)
    for info in model.model_fields.values():
        for inner in _models_in(info.annotation):
            if inner not in seen:
                names |= _field_names(inner, seen)
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found = [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []
    return found + [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_packaged_words_name_only_tables_and_keys_that_exist(lang: str) -> None:
    tables = {
        **WORDED,
        "fields": set(FIELD_WORDS) | _field_names(Tenant),
        **{value_table(*k): set(v) for k, v in VALUE_NAMES.items() if k not in VALUE_VOCABULARIES},
        **{value_table(model.__name__, name): set(values) for model, name, values in _choice_fields()},
    }
    unknown = [
        f"{table}.{key}"
        for table, keyed in packaged_sentences(lang).words.items()
        for key in keyed
        if key not in tables.get(table, set())
    ]
    assert unknown == []


# Choices said by the vocabulary, never by a table of words: a right (its name), a retention rule's event.
SAID_BY_VOCABULARY = {("Right", "id"), ("Kept", "until")}


def _choice_fields(model: type[BaseModel] = Tenant, seen: set[type[BaseModel]] | None = None) -> list[Any]:
    """(model, field, its choices) for every field of the facts that is a choice no VALUE_NAMES table names."""
    seen = seen if seen is not None else set()
    seen.add(model)
    found = []
    for name, info in model.model_fields.items():
        values = choices(model, name)
        key = (model.__name__, name)
        if values and key not in VALUE_NAMES and key not in SAID_BY_VOCABULARY:
            found.append((model, name, values))
        for inner in _models_in(info.annotation):
            if inner not in seen:
                found.extend(_choice_fields(inner, seen))
    return found


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_choice_of_the_facts_has_a_word_in_every_shipped_language(lang: str) -> None:
    """A choice no table names in English ("processor", "cookie") has its word under <Model>.<field>."""
    words = packaged_sentences(lang).words
    missing = [
        f"{value_table(model.__name__, name)}.{value}"
        for model, name, values in _choice_fields()
        for value in sorted(values)
        if value not in words.get(value_table(model.__name__, name), {})
    ]
    assert missing == []


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
            Filled("subject", "our data protection officer", True, TableWord("sections", "dpo")),
            Filled("item", "Ada", False),
            Filled("old", "Ada", False),
            Filled("new", "none", True),
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
            Filled("item", "period", True),
            Filled("old", "1 year", True, DurationWords(Duration.parse("1 year"))),
            Filled("new", "2 years", True, DurationWords(Duration.parse("2 years"))),
        ),
    )
    french = finding.in_language(load_rules().sentences("fr"))
    assert french.says == "Nous conservons désormais vos données « accounts » pendant 2 ans au lieu de 1 an."


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_field_has_its_words_in_every_shipped_language(lang: str) -> None:
    """FIELD_WORDS' and every other field of the facts (whose English words are its name: "technology")."""
    fields = packaged_sentences(lang).words.get("fields", {})
    assert sorted((set(FIELD_WORDS) | _field_names(Tenant)) - set(fields)) == []


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
    ("Announcement", "kind"),
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


# --- values named by the vocabulary, retention rules and lists, said in each language ------------------


def _transfer_tool_changed() -> list[FactFinding]:
    after = copy.deepcopy(BASE)
    after["transfers"][0]["safeguards"] = ["eu-us-dpf"]
    return [f for f in diff_facts(tenant(BASE), tenant(after), load_rules()) if f.path == "transfers[us].safeguards"]


def test_a_transfer_tool_in_a_french_finding_is_the_vocabularys_word_for_it() -> None:
    added = next(f for f in _transfer_tool_changed() if f.change == "added")
    french = added.in_language(load_rules().sentences("fr"))
    assert french.says == (
        "Pour les transferts vers the United States, nous nous appuyons désormais sur "
        "le cadre de protection des données UE-États-Unis (Data Privacy Framework)."
    )
    assert not isinstance(french.says, ForeignWord)


def test_the_vocabulary_is_the_one_place_that_names_a_transfer_tool_in_a_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = vocabulary_module.vocabulary("fr")
    assert real is not None

    def french_with(tools: dict[str, str]) -> Any:
        words = {**real.words, "transfer_tools": tools}
        return lambda lang: real.model_copy(update={"words": words}) if lang == "fr" else None

    added = next(f for f in _transfer_tool_changed() if f.change == "added")
    monkeypatch.setattr(vocabulary_module, "vocabulary", french_with({"eu-us-dpf": "le DPF renommé"}))
    assert added.in_language(load_rules().sentences("fr")).says.endswith("sur le DPF renommé.")
    monkeypatch.setattr(vocabulary_module, "vocabulary", french_with({}))  # no word: English, marked
    said = added.in_language(load_rules().sentences("fr"))
    assert said.says == "For transfers to the United States, we now rely on the EU-US Data Privacy Framework."
    assert isinstance(said.says, ForeignWord) and isinstance(said.effect, ForeignWord)


@pytest.mark.parametrize("table", sorted(VALUE_VOCABULARIES))
def test_a_value_table_named_by_a_vocabulary_has_the_vocabularys_english_names_and_no_second_table(
    table: tuple[str, str],
) -> None:
    name = VALUE_VOCABULARIES[table]
    source = {m.id: m.name for m in transfer_mechanisms().values()} if name == "transfer_tools" else english_words(name)
    assert VALUE_NAMES[table] == source
    assert all(value_table(*table) not in packaged_sentences(lang).words for lang in TRANSLATED)


RETENTION = {
    "fr": "Nous conservons désormais vos données « Server logs » 60 jours après la fermeture de votre compte "
    "au lieu de tant que votre compte est ouvert.",
    "hi": 'अब हम आपका डेटा "Server logs" जब तक आपका खाता खुला है के बजाय आपका खाता बंद होने के 60 दिन बाद रखते हैं।',
    "ar": "نحتفظ الآن ببياناتك «Server logs» 60 يومًا بعد إغلاق حسابك بدلًا من ما دام حسابك مفتوحًا.",
}


@pytest.mark.parametrize("lang", sorted(RETENTION))
def test_a_retention_rule_in_a_finding_is_said_through_the_vocabulary_and_the_languages_units(lang: str) -> None:
    before, after = copy.deepcopy(BASE), copy.deepcopy(BASE)
    first(before["retention"]["periods"], "logs")["kept"] = {"until": "account_closed"}
    first(after["retention"]["periods"], "logs")["kept"] = {"until": "account_closed", "then": "60 days"}
    (found,) = diff_facts(tenant(before), tenant(after), load_rules())
    assert found.in_language(load_rules().sentences(lang)).says == RETENTION[lang]


def test_a_list_of_policygens_words_is_joined_the_languages_way() -> None:
    words = text([True, False, True])
    assert words == "yes, no, yes"  # English as it always read
    listed = Filled("new", words, True, _wording(words))
    assert [listed.said(load_rules().sentences(lang)) for lang in ("fr", "de", "hi", "ar")] == [
        "oui, non et oui",
        "ja, nein und ja",
        "हाँ, नहीं और हाँ",
        "نعم ولا ونعم",
    ]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_finding_is_said_in_every_shipped_language_or_in_none(case: Case) -> None:
    """Every language has the same words: a finding that French says, Hindi and Arabic say too."""
    before, after = versions(case)
    sentences = [load_rules().sentences(lang) for lang in TRANSLATED]
    for old, new in ((before, after), (after, before)):
        for finding in diff_facts(old, new, load_rules()):
            english = {lang.lang for lang in sentences if isinstance(finding.in_language(lang).says, ForeignWord)}
            assert english in (set(), set(TRANSLATED)), (finding.path, finding.change, sorted(english))


# --- every finding of the rules' table, said wholly in each shipped language ----------------------

# The findings of test_diff_rules.py's table that truly cannot be said in another language yet, by
# (case, path, change), each with why: such a finding stays wholly in English, marked lang="en".
STILL_ENGLISH: dict[tuple[str, str, str], str] = {
    # None left: every field, choice, address, country and tenant's word of the table has its words.
}


def _unsaid(finding: FactFinding, sentences: Any) -> list[str]:
    """Why *finding* stays in English in *sentences*' language: each value it is filled with that has no
    words there (its name, its English words and how policygen would say them)."""
    if finding.fill is None:
        return ["read back from a snapshot: no values to say again"]
    templates = [sentences.rule(finding.rule, part, finding.change) for part in ("say", "effect")]
    if None in templates:
        return ["no sentence in the language"]
    used = set().union(*(_names(t) for t in templates if t is not None))
    return [
        f"{{{f.name}}} = {f.text!r} ({type(f.wording).__name__ if f.wording else 'no wording'})"
        for f in finding.fill
        if f.name in used and f.said(sentences) is None
    ] or ["a quote mark in the words"]


def _tenants_words(finding: FactFinding) -> set[str]:
    """The tenant's own words a finding is filled with: the only words it may leave in English, quoted."""
    found: set[str] = set()

    def walk(wording: Any) -> None:
        if isinstance(wording, TenantText):
            found.add(wording.text)
        for inner in (*getattr(wording, "items", ()), *getattr(wording, "parts", ())):
            walk(inner)

    for filled in finding.fill or ():
        if filled.own:
            found.add(filled.text)
        walk(filled.wording)
    return {words.lower() for words in found}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_finding_of_the_rules_table_is_said_wholly_in_each_shipped_language(lang: str) -> None:
    """Each finding of test_diff_rules.py's table, both ways, is said in the language (not left in English,
    marked), but for STILL_ENGLISH; and every finding there does still fall back (the list is kept honest).
    A failure lists each finding left in English with the values that have no words."""
    rules = load_rules()
    sentences = rules.sentences(lang)
    english: dict[tuple[str, str, str], list[str]] = {}
    for case in CASES:
        before, after = versions(case)
        for old, new in ((before, after), (after, before)):
            for finding in diff_facts(old, new, rules):
                said = finding.in_language(sentences)
                if isinstance(said.says, ForeignWord) or isinstance(said.effect, ForeignWord):
                    english[(case.name, finding.path, finding.change)] = _unsaid(finding, sentences)
                    continue
                quoted = {p for t in (said.says, said.effect) if isinstance(t, MixedText) for p in t.parts}
                # (lower-cased: a sentence that starts with a quote capitalises it)
                assert {p.lower() for p in quoted if isinstance(p, ForeignWord)} <= _tenants_words(finding)
    unexpected = {key: why for key, why in english.items() if key not in STILL_ENGLISH}
    assert unexpected == {}
    assert sorted(set(STILL_ENGLISH) - set(english)) == []  # said now: take it off the list


def _finding(case_name: str, path: str, backward: bool = False) -> FactFinding:
    case = next(c for c in CASES if c.name == case_name)
    before, after = versions(case)
    old, new = (after, before) if backward else (before, after)
    return next(f for f in diff_facts(old, new, load_rules()) if f.path == path)


def _without(lang: str, *keys: tuple[str, str]) -> Any:
    sentences = load_rules().sentences(lang)
    return dataclasses.replace(sentences, words={k: w for k, w in sentences.words.items() if k not in keys})


@pytest.mark.parametrize(
    ("case", "path", "word"),
    [
        ("cookie technology stated", "trackers[ga].technology", ("Tracker.technology", "cookie")),
        ("cookie technology stated", "trackers[ga].technology", ("fields", "technology")),
        ("controller becomes a processor", "data_categories[usage].role", ("DataCategory.role", "controller")),
        ("changes announced on a blog", "changes.announced_on[blog]", ("Announcement.kind", "blog")),
        ("children statement dropped", "children.statement", ("fields", "statement")),
    ],
)
def test_a_finding_whose_word_is_taken_out_of_the_table_falls_back_to_english_marked(
    case: str, path: str, word: tuple[str, str]
) -> None:
    finding = _finding(case, path)
    assert not isinstance(finding.in_language(load_rules().sentences("hi")).says, ForeignWord)
    said = finding.in_language(_without("hi", word))
    assert said.says == finding.says and isinstance(said.says, ForeignWord) and said.says.lang == "en"
    assert isinstance(said.effect, ForeignWord)


def test_an_address_is_filled_as_it_is_and_kept_left_to_right_in_arabic() -> None:
    finding = _finding("processor list moved", "sharing.subprocessor_list")
    french = finding.in_language(load_rules().sentences("fr"))
    assert french.says == (
        "La liste de nos sous-traitants se trouve désormais à l'adresse https://example.org/p "
        "(auparavant : https://example.org/s)."
    )
    assert not isinstance(french.says, MixedText)  # a left-to-right sentence needs no isolating
    arabic = finding.in_language(load_rules().sentences("ar")).says
    assert isinstance(arabic, MixedText)
    assert [p for p in arabic.parts if isinstance(p, LeftToRight)] == ["https://example.org/p", "https://example.org/s"]
    assert not any(isinstance(p, ForeignWord) for p in arabic.parts)


def test_an_email_phone_or_url_channel_is_named_by_its_address_as_it_is() -> None:
    after = copy.deepcopy(BASE)
    after["requests"]["channels"].append({"kind": "phone", "value": "+44 113 496 0000"})
    (found,) = diff_facts(tenant(BASE), tenant(after), load_rules())
    arabic = found.in_language(load_rules().sentences("ar")).says
    assert isinstance(arabic, MixedText)
    assert [p for p in arabic.parts if isinstance(p, LeftToRight)] == ["+44 113 496 0000"]


def _quoted(said: str) -> set[str]:
    """The words a sentence quotes in another language (its ForeignWord parts)."""
    assert isinstance(said, MixedText)
    return {p for p in said.parts if isinstance(p, ForeignWord)}


def _country_changed(to: str) -> FactFinding:
    after = copy.deepcopy(BASE)
    after["organisation"]["address"]["country"] = to
    (found,) = diff_facts(tenant(BASE), tenant(after), load_rules())
    return found


def test_a_country_is_said_by_babels_name_for_it_as_pages_print_it() -> None:
    finding = _country_changed("Ireland")
    hindi = finding.in_language(load_rules().sentences("hi"))
    assert "आयरलैंड" in hindi.says and "यूनाइटेड किंगडम" in hindi.says
    assert _quoted(hindi.says) == {"Example"}  # the tenant's name it did not translate
    assert vocabulary_module.country_in("Ireland", "hi") == "आयरलैंड"  # the one place that names it


def test_a_country_the_tenant_translated_is_said_in_its_translation_and_one_babel_does_not_know_is_quoted() -> None:
    finding = _country_changed("Atlantis")
    own = TenantWords(new={"Atlantis": "अटलांटिस"})
    assert "अटलांटिस" in finding.in_language(load_rules().sentences("hi"), own).says
    quoted = finding.in_language(load_rules().sentences("hi")).says
    assert "Atlantis" in _quoted(quoted)


def test_a_permission_the_tenant_named_is_quoted_as_the_tenants_words() -> None:
    after = copy.deepcopy(BASE)
    after["apps"][0]["permissions"].append({"id": "photos", "name": "Photo library", "reason": "To attach photos"})
    (found,) = diff_facts(tenant(BASE), tenant(after), load_rules())
    assert found.says == "Example App now asks for access to your Photo library."
    hindi = found.in_language(load_rules().sentences("hi"))
    assert _quoted(hindi.says) == {"Example App", "Photo library"}
    own = TenantWords(new={"Photo library": "फ़ोटो लाइब्रेरी", "Example App": "उदाहरण ऐप"})
    translated = found.in_language(load_rules().sentences("hi"), own).says
    assert "फ़ोटो लाइब्रेरी" in translated and not isinstance(translated, (ForeignWord, MixedText))


def test_a_named_choice_added_reads_in_english_as_before_and_by_its_tables_word_in_another_language() -> None:
    before, after = copy.deepcopy(BASE), copy.deepcopy(BASE)
    before["children"].pop("consent")
    after["children"]["consent"] = "parental"
    (found,) = diff_facts(tenant(before), tenant(after), load_rules())
    assert found.says == "How we treat children's data changed: added the consent we ask for (parental)."
    hindi = found.in_language(load_rules().sentences("hi")).says
    assert "माता-पिता या अभिभावक की सहमति" in hindi and not isinstance(hindi, (ForeignWord, MixedText))


@pytest.mark.parametrize(
    ("lang", "backward", "joined"),
    [
        ("fr", False, "au lieu du responsable du traitement"),  # de + le
        ("fr", True, "au lieu d'un sous-traitant"),  # de + a vowel
        ("es", False, "en lugar del responsable del tratamiento"),  # de + el
    ],
)
def test_a_value_is_joined_to_the_word_before_it_the_languages_way(lang: str, backward: bool, joined: str) -> None:
    finding = _finding("controller becomes a processor", "organisation.role", backward)
    said = finding.in_language(load_rules().sentences(lang))
    assert joined in said.says or joined in said.effect


def test_a_sentences_own_words_and_a_quote_are_never_joined_to_a_value() -> None:
    """Only where a value begins: "avant de les collecter" is the sentence's own French, and the tenant's
    words, quoted, stand as they are written."""
    assert _filled_in("fr", "avant de les {item}.", {"item": "utiliser"}) == "avant de les utiliser."
    assert _filled_in("fr", "au lieu de {old}.", {"old": "\ue002le Club\ue003"}) == "au lieu de \ue002le Club\ue003."
    assert _filled_in("en", "instead of {old}.", {"old": "the controller"}) == "instead of the controller."
