"""The languages a page can be in: their names, writing direction and the words policygen adds.

A tenant's `locale` is its authoritative language (the text that prevails); `languages` lists every
language it publishes. Pages in the authoritative language keep the addresses they always had;
every other language has its own (language_segment). The words policygen itself adds to a page in a
language (the note on a section shown in the source language, the note that the authoritative text
prevails) are in policygen/data/languages/<lang>.yaml; a language without that file gets English ones.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from babel import Locale
from pydantic import BaseModel, ConfigDict

from .clauses import SOURCE_LANGUAGE, language_of
from .paths import relative
from .vocabulary import language_data
from .vocabulary import text_direction as text_direction  # its home: the words' module; pages ask here


class LanguageWords(BaseModel):
    """policygen's own sentences on a page in one language; {source} is the source language's name in it."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    stale_note: str
    missing_note: str
    prevails_note: str
    unreviewed_note: str
    up_to: str  # a duration as a limit, {} the duration: "up to {}"
    full_stop: str  # what ends a sentence: "." (Hindi: "।")


def babel_locale(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))


def language_name(locale: str, reader: str) -> str:
    """The name of *locale*'s language in the *reader*'s language: हिन्दी, anglais."""
    return babel_locale(language_of(locale)).get_display_name(babel_locale(language_of(reader))) or locale


@functools.cache
def words(locale: str) -> LanguageWords:
    """The sentences policygen adds to pages in *locale*'s language (English when it has none)."""
    for lang in (language_of(locale), SOURCE_LANGUAGE):
        data = language_data(lang)
        if data is not None:  # the file's vocabulary is vocabulary.py's
            return LanguageWords.model_validate({k: v for k, v in data.items() if k != "vocabulary"})
    raise RuntimeError("policygen/data/languages/en.yaml is missing from the installation")


def note(locale: str, which: str) -> str:
    """One of policygen's notes, in the reader's language, naming the source language in it."""
    text: str = getattr(words(locale), which)
    return text.format(source=language_name(SOURCE_LANGUAGE, locale))


def source_text_lang(locale: str) -> str | None:
    """The language of the sentences policygen writes itself (diff findings, change summaries) when it is
    not *locale*'s: a page in another language marks them with lang and says so; None on a page in it."""
    return None if language_of(locale) == SOURCE_LANGUAGE else SOURCE_LANGUAGE


def language_segment(locale: str, authoritative: str) -> str | None:
    """The folder a language's pages go under inside a document's folder: none for the authoritative
    language (its addresses never change), the language code for the others (<slug>/<doc>/hi/)."""
    return None if locale == authoritative else language_of(locale)


@dataclass(frozen=True)
class Alternate:
    """A page in one of the languages it is published in."""

    lang: str  # BCP 47, for hreflang and lang
    href: str  # relative to the page that links it
    name: str  # the language's name in itself: हिन्दी, English
    current: bool  # the page that links it is this one


def alternates(pages: Mapping[str, str], current: str, at: str) -> tuple[Alternate, ...]:
    """The page at *at* in every language (*pages*: locale -> that language's site path, in the order of the
    language switcher), for hreflang and the switcher."""
    return tuple(
        Alternate(locale, relative(path, at), language_name(locale, locale), locale == current)
        for locale, path in pages.items()
    )
