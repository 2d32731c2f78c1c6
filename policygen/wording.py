"""Words around facts that fit the sentence they stand in.

A fact printed inside a sentence is written once, the way the organisation
writes it; the words policygen adds around it adapt to it instead: a list is
joined with the page language's "and" or "or", a country takes its article
("the United Kingdom"), and a bound ("up to") is added to a duration only when
the duration does not carry one already. The fact itself is never re-cased.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from babel import Locale
from babel.lists import format_list

# Country names that take "the" in running English text (ISO 3166 short names and common forms).
THE_NAMES = (
    "United Kingdom",
    "United States",
    "United States of America",
    "Netherlands",
    "Philippines",
    "Czech Republic",
    "United Arab Emirates",
    "Bahamas",
    "Gambia",
    "Maldives",
    "Marshall Islands",
    "Solomon Islands",
    "Seychelles",
    "Comoros",
    "Central African Republic",
    "Dominican Republic",
    "Democratic Republic of the Congo",
    "Republic of the Congo",
    "Congo",
    "Cayman Islands",
    "Falkland Islands",
    "Faroe Islands",
    "Isle of Man",
    "Channel Islands",
    "Vatican City",
    "Holy See",
    "Republic of Ireland",
    "Russian Federation",
    "European Union",
    "European Economic Area",
    "UK",
    "US",
    "USA",
    "EU",
    "EEA",
    "UAE",
)
_THE = frozenset(n.lower() for n in THE_NAMES)
_BOUND = re.compile(r"^\s*(up to|within|at most|no more than|at least|less than|more than)\b", re.IGNORECASE)

Joiner = Literal["and", "or"]


def needs_article(country: str) -> bool:
    """True when a country name reads with "the" before it and does not have it yet."""
    name = " ".join(country.split())
    return not name.lower().startswith("the ") and name.lower() in _THE


def has_bound(duration: str) -> bool:
    """True when a duration already says its bound ('up to 90 days', 'within a month')."""
    return bool(_BOUND.match(duration))


@lru_cache(maxsize=64)
def _locale(tag: str) -> Locale:
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (ValueError, LookupError):
        return Locale.parse("en")


def join_words(items: Sequence[str], joiner: Joiner, locale: str) -> str:
    """'a', 'a and b', 'a, b and c' in the page's language (Babel's list patterns)."""
    if not items:
        return ""
    style: Literal["standard", "or"] = "standard" if joiner == "and" else "or"
    return format_list(list(items), style=style, locale=_locale(locale))
