"""The words policygen prints for typed facts, in each language: rights, lawful bases, permissions...

A typed fact is an id (`rights: [{id: access}]`); the tenant never writes how it reads. Its words are
policygen's own data, one home per language: the `vocabulary:` section of
policygen/data/languages/<lang>.yaml, keyed by vocabulary and id. English (en.yaml) is the source; the
transfer tools' English names stay in data/transfer_mechanisms.yaml, where `check` reads them too.

The words follow the language of the text they stand in (`text_language`, set by the renderer for each
clause): a translated clause gets its language's words, a clause shown in the source language gets
English ones, so a word never reads in another language than its sentence. A language with no word for
an id (a project's own translation into a language policygen has no vocabulary for) gets the English
word as a ForeignWord, which the page marks with lang="en": visible, never silently mixed.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import InputError
from .yamlfile import load

SOURCE = "en"

VocabularyName = Literal[
    "permissions",
    "lawful_bases",
    "retention_while",
    "retention_after",
    "rights",
    "not_collected",
    "tracker_categories",
    "regimes",
    "transfer_tools",
    "transfer_tool_notes",
]
# The vocabularies whose English words live elsewhere (data/transfer_mechanisms.yaml), not in en.yaml.
ENGLISH_ELSEWHERE: frozenset[VocabularyName] = frozenset({"transfer_tools", "transfer_tool_notes"})

# The language of the text being rendered (a language subtag: "hi"); English outside a render.
text_language: contextvars.ContextVar[str] = contextvars.ContextVar("policygen_text_language", default=SOURCE)


class ForeignWord(str):
    """A word in another language than the text around it (its language had no word): pages mark its lang."""

    lang: str

    def __new__(cls, text: str, lang: str) -> ForeignWord:
        word = super().__new__(cls, text)
        word.lang = lang
        return word


class Vocabulary(BaseModel):
    """One language's words for typed facts. Without reviewed_by and reviewed_on: not yet legally reviewed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reviewed_by: str | None = None
    reviewed_on: dt.date | None = None
    words: dict[VocabularyName, dict[str, str]]

    @property
    def reviewed(self) -> bool:
        return self.reviewed_by is not None and self.reviewed_on is not None


@functools.cache
def language_data(lang: str) -> dict[str, Any] | None:
    """policygen/data/languages/<lang>.yaml as read (None: policygen has no file for the language)."""
    entry = resources.files("policygen") / "data" / "languages" / f"{lang}.yaml"
    if not entry.is_file():
        return None
    try:
        with resources.as_file(entry) as file:  # read like every other YAML file: limits, no tags
            data = load(file).data
    except InputError as exc:  # a packaging bug, not the user's input
        raise RuntimeError(f"policygen/data/languages/{lang}.yaml is malformed: {exc}") from None
    if not isinstance(data, dict):
        raise RuntimeError(f"policygen/data/languages/{lang}.yaml is not a mapping")
    return data


@functools.cache
def vocabulary(lang: str) -> Vocabulary | None:
    """The words of *lang* (a language subtag), or None when policygen has none in it."""
    data = language_data(lang)
    if data is None or "vocabulary" not in data:
        return None
    try:
        return Vocabulary.model_validate(data["vocabulary"])
    except ValidationError as exc:  # a packaging bug, not the user's input
        raise RuntimeError(f"the vocabulary in policygen/data/languages/{lang}.yaml is malformed: {exc}") from None


def english(name: VocabularyName) -> dict[str, str]:
    """The English words of one vocabulary, by id (the source every language translates)."""
    source = vocabulary(SOURCE)
    if source is None:
        raise RuntimeError("policygen/data/languages/en.yaml has no vocabulary")
    return source.words.get(name, {})


def word(name: VocabularyName, key: str, source: str | None = None) -> str:
    """How *key* of vocabulary *name* reads in the text being rendered; *source*: its English words
    when they are not in en.yaml. English when no language is set; a ForeignWord when the language
    has no word for it."""
    english_word = english(name)[key] if source is None else source
    lang = text_language.get()
    if lang == SOURCE:
        return english_word
    words = vocabulary(lang)
    found = words.words.get(name, {}).get(key) if words else None
    return found if found is not None else ForeignWord(english_word, SOURCE)


def shipped_languages() -> list[str]:
    """The languages policygen has a data file for (a language subtag each), sorted."""
    folder = resources.files("policygen") / "data" / "languages"
    return sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def every_word(name: VocabularyName, key: str) -> frozenset[str]:
    """How *key* of vocabulary *name* reads in any language policygen has words in (English first of all)."""
    found = {english(name)[key]}
    for lang in shipped_languages():
        words = vocabulary(lang)
        if words is not None and key in words.words.get(name, {}):
            found.add(words.words[name][key])
    return frozenset(found)


def fill(pattern: str, *values: str) -> str:
    """A pattern ("{} after your account is closed") with its values; foreign if the pattern or a value is
    (a language missing some words shows the whole phrase in English, not a mix)."""
    text = pattern.format(*values)
    foreign = [w for w in (pattern, *values) if isinstance(w, ForeignWord)]
    return ForeignWord(text, foreign[0].lang) if foreign else text
