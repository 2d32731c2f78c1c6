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
import re
from html import escape
from importlib import resources
from typing import Any, Literal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from babel.units import format_unit
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, ValidationError

from .durations import Duration
from .yamlfile import packaged_data

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
    "duration_bounds",
    "duration_units",
]
# The vocabularies whose English words live elsewhere (data/transfer_mechanisms.yaml), not in en.yaml.
ENGLISH_ELSEWHERE: frozenset[VocabularyName] = frozenset({"transfer_tools", "transfer_tool_notes"})

# The language of the text being rendered (a language subtag: "hi"); English outside a render.
text_language: contextvars.ContextVar[str] = contextvars.ContextVar("policygen_text_language", default=SOURCE)


class ForeignWord(str):
    """A word in another language than the text around it (its language had no word): pages mark its lang."""

    lang: str

    def __new__(cls, text: str, lang: str = SOURCE) -> ForeignWord:  # the default: pickle rebuilds it by text
        word = super().__new__(cls, text)
        word.lang = lang
        return word


class LeftToRight(str):
    """Text read left to right whatever the text around it: an email address, a URL or a phone number inside
    an Arabic sentence, the same in every language. A page isolates it (<bdi dir="ltr">), so that the
    right-to-left sentence cannot reorder its dots and slashes."""


class MixedText(str):
    """Text with some of its words in another language than the rest (its ForeignWord parts), such as a finding
    said in Hindi that quotes a tenant's English words, or kept left to right in a right-to-left sentence (its
    LeftToRight parts): a page marks each such part with its lang, or isolates it."""

    parts: tuple[str, ...]

    def __new__(cls, *parts: str) -> MixedText:  # pickle rebuilds it by text, then restores its parts
        text = super().__new__(cls, "".join(parts))
        text.parts = parts
        return text


@functools.cache  # asked for every marked word of a page
def text_direction(locale: str) -> str:
    """'rtl' for a language written right to left (Arabic, Urdu, Hebrew...), else 'ltr'."""
    try:
        return "rtl" if Locale.parse(locale.replace("-", "_")).text_direction == "rtl" else "ltr"
    except (ValueError, TypeError, UnknownLocaleError):
        return "ltr"


def mark_attributes(word: ForeignWord, page_lang: str | None = None) -> str:
    """The attributes that mark *word* on a page in *page_lang* (a locale; None: its direction unknown): its
    lang, and its direction when the page runs the other way (English words in an Arabic page), which also
    isolates it from the text around it (HTML's `[dir] { unicode-bidi: isolate }`). Escaped for an attribute:
    a lang is a language code policygen chose, never a tenant's text."""
    attributes = f' lang="{escape(word.lang)}"'
    direction = text_direction(word.lang)
    if page_lang is not None and direction != text_direction(page_lang):
        attributes += f' dir="{direction}"'
    return attributes


def mark(word: ForeignWord, text_html: str, page_lang: str | None = None) -> str:
    """*text_html* (the *word*, escaped) in the span that marks its language on a page in *page_lang*
    (mark_attributes): the one shape of that span, which MARKED reads back."""
    return f"<span{mark_attributes(word, page_lang)}>{text_html}</span>"


# A span `mark` wrote, in HTML: the word's lang, and its escaped text (the table of contents reads the
# sub-headings' marked facts back with it: render._heading_text).
MARKED = re.compile(r'<span lang="([A-Za-z-]+)"(?: dir="(?:ltr|rtl)")?>(.*?)</span>', re.S)


def mixed(*texts: str) -> str:
    """*texts* joined, keeping which of their words are in another language (a MixedText when some are)."""
    parts = [p for t in texts for p in (t.parts if isinstance(t, MixedText) else (t,)) if p]
    # Markup: a template's own markup given as a value (a <time> in a theme's sentence), kept as it is.
    if not any(isinstance(p, (ForeignWord, LeftToRight, Markup)) for p in parts):
        return "".join(parts)
    return MixedText(*parts)


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
    data = packaged_data("languages", f"{lang}.yaml")
    if data is None:
        return None
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
    found = word_in(name, key, lang)
    return found if found is not None else ForeignWord(english_word, SOURCE)


def word_in(name: VocabularyName, key: str, lang: str) -> str | None:
    """The word for *key* of vocabulary *name* in *lang* (a language subtag); None when it has none."""
    words = vocabulary(lang)
    return words.words.get(name, {}).get(key) if words else None


def shipped_languages() -> list[str]:
    """The languages policygen has a data file for (a language subtag each), sorted."""
    folder = resources.files("policygen") / "data" / "languages"
    return sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml"))


@functools.cache  # from policygen's own data files, as vocabulary() is; each app's permissions ask again
def every_word(name: VocabularyName, key: str) -> frozenset[str]:
    """How *key* of vocabulary *name* reads in any language policygen has words in (English first of all)."""
    found = {english(name)[key]}
    for lang in shipped_languages():
        words = vocabulary(lang)
        if words is not None and key in words.words.get(name, {}):
            found.add(words.words[name][key])
    return frozenset(found)


def fill(source: str, pattern: str, *values: str) -> str:
    """A phrase made of vocabulary words: *pattern* ("{} after your account is closed") with *values* in the
    text's language; the whole phrase in English, *source*, marked, when any part of it has no word there
    (half a phrase in each language reads as neither)."""
    if any(isinstance(part, ForeignWord) for part in (pattern, *values)):
        return ForeignWord(source, SOURCE)
    return pattern.format(*values)


# --- countries: a country a fact names reads in the text's language (Babel's territory names) ---------------

# English names a tenant may write that Babel's English names differ from ("Czechia", "United States"):
# recognised too, so they read in another language as well. English text is printed as the tenant wrote it.
COUNTRY_ALIASES: dict[str, str] = {
    "united states of america": "US",
    "usa": "US",
    "us": "US",
    "uk": "GB",
    "great britain": "GB",
    "czech republic": "CZ",
    "republic of ireland": "IE",
    "russian federation": "RU",
    "vatican city": "VA",
    "holy see": "VA",
    "ivory coast": "CI",
    "turkey": "TR",
    "hong kong": "HK",
    "macau": "MO",
    "macao": "MO",
    "uae": "AE",
    "eu": "EU",
}


class CountryName(str):
    """A fact that names a country ("United Kingdom"): in a translated clause it reads in that language."""


def _key(name: str) -> str:
    key = " ".join(name.split()).lower()
    return key.removeprefix("the ")


@functools.cache
def _english_countries() -> dict[str, str]:
    """Country names in English as Babel and COUNTRY_ALIASES write them, lower-case, to their region code."""
    names = {_key(name): code for code, name in Locale.parse(SOURCE).territories.items() if code.isalpha()}
    return names | COUNTRY_ALIASES


def country_code(name: str) -> str | None:
    """The region code of *name* (a country in English: "United Kingdom", "UK"); None when Babel does not know it."""
    return _english_countries().get(_key(name))


@functools.cache
def country_in(name: str, lang: str) -> str:
    """*name* (a country in English) as *lang* names it; the tenant's words when Babel does not know it."""
    code = country_code(name)
    if code is None or lang == SOURCE:
        return name
    try:
        return str(Locale.parse(lang).territories.get(code, name))
    except (ValueError, UnknownLocaleError):
        return name


def country(name: str) -> str:
    """A country fact as the text being rendered names it: as written in English, Babel's name otherwise."""
    return country_in(name, text_language.get())


# --- durations: "60 days" reads "60 jours" in a French clause (Babel's units, the vocabulary's bounds) --------

_BOUNDS = {
    "up to": "up_to",
    "within": "within",
    "at most": "at_most",
    "no more than": "no_more_than",
    "at least": "at_least",
}
_BABEL_UNITS = {"hour", "day", "week", "month", "year"}


def duration(value: Duration) -> str:
    """A duration as the text being rendered writes it: as the tenant wrote it in English, else in the
    language's words (Babel's units and plural rules); in English, marked, when the language lacks a word."""
    lang = text_language.get()
    if lang == SOURCE:
        return value.text
    amount = value.amount()
    try:
        spoken = _amount_in(amount.low, amount.high, amount.unit, lang)
    except (ValueError, KeyError, UnknownLocaleError):
        spoken = None
    if spoken is None:
        return ForeignWord(value.text, SOURCE)
    return fill(value.text, _bound(amount.bound, lang), spoken) if amount.bound else spoken


def _bound(bound: str, lang: str) -> str:
    """The words of a duration's bound in *lang*: "up to" is the language's up_to (what the up_to filter adds)."""
    if bound != "up to":
        return word("duration_bounds", _BOUNDS[bound])
    data = language_data(lang)
    up_to = data.get("up_to") if data else None
    return up_to if isinstance(up_to, str) else ForeignWord("up to {}", SOURCE)


def _amount_in(low: float, high: float | None, unit: str, lang: str) -> str | None:
    """'60 jours', '30–45 jours', '5 jours ouvrés'; None when the number cannot be placed in the words."""
    last = high if high is not None else low
    number = format_decimal(last, locale=lang)
    if unit in _BABEL_UNITS:
        text = str(format_unit(last, f"duration-{unit}", length="long", locale=lang))
    else:  # business and working days: no Babel unit
        pattern = word("duration_units", "business_day" if last == 1 else "business_days")
        if isinstance(pattern, ForeignWord):
            return None
        text = pattern.replace("{}", number)
    if high is None:
        return text
    if number not in text:  # a form with no digits ("سنتان", two years): the range has nowhere to go
        return None
    return text.replace(number, f"{format_decimal(low, locale=lang)}–{number}", 1)
