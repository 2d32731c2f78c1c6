"""Durations written the way policies write them, made comparable.

"7 business days", "30-45 business days", "up to 90 days", "one month" and
"2 years" all parse to a range in days, so the diff can tell that "2 years" is
longer than "18 months" and a change of wording alone is no change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "twenty-four": 24,
    "thirty": 30,
    "thirty-six": 36,
    "forty-five": 45,
    "forty-eight": 48,
    "sixty": 60,
    "ninety": 90,
}
# Days per unit; a business day is counted as 7/5 of a calendar day so that
# "5 business days" and "7 days" compare as equal.
_UNITS = {
    "hour": 1 / 24,
    "day": 1.0,
    "business day": 7 / 5,
    "working day": 7 / 5,
    "week": 7.0,
    "month": 365.25 / 12,
    "year": 365.25,
}
# Longest words first, so "eighteen" is not read as "eight" followed by junk.
_NUM = r"(\d+(?:\.\d+)?|" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")"
_PATTERN = re.compile(
    r"^\s*(?:(?P<bound>up to|within|at most|no more than|at least)\s+)?"
    + r"(?P<low>"
    + _NUM[1:-1]
    + r")"
    + r"(?:\s*(?:-|–|to)\s*(?P<high>"
    + _NUM[1:-1]
    + r"))?\s+"
    + r"(?P<unit>hours?|(?:business |working )?days?|weeks?|months?|years?)\s*$",
    re.IGNORECASE,
)


def _number(text: str) -> float:
    text = text.lower()
    return float(_WORDS[text]) if text in _WORDS else float(text)


@dataclass(frozen=True)
class Amount:
    """A duration's parts as written: its bound ("up to"), its number or range, and its unit, singular."""

    bound: str | None  # lower-case: "up to", "within", "at most", "no more than", "at least"
    low: float
    high: float | None  # the end of a range ("30-45 days"), else None
    unit: str  # "hour", "day", "business day", "working day", "week", "month", "year"


@dataclass(frozen=True, order=False)
class Duration:
    """A length of time as a policy states it: the words, and its span in days."""

    text: str
    low_days: float
    high_days: float

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _PATTERN.match(text)
        if not match:
            raise ValueError(
                f"'{text}' is not a duration; write a number and a unit, "
                "e.g. '90 days', '7 business days', '30-45 business days', '2 years'"
            )
        unit = match["unit"].lower().rstrip("s")
        per = _UNITS[unit]
        low = _number(match["low"]) * per
        high = _number(match["high"]) * per if match["high"] else low
        if high < low:
            raise ValueError(f"'{text}': the range runs backwards")
        if (match["bound"] or "").lower() in {"up to", "within", "at most", "no more than"}:
            low = 0.0 if not match["high"] else low
        return cls(text=text.strip(), low_days=low, high_days=high)

    def amount(self) -> Amount:
        """Its parts, for printing it in another language (its text was parsed when it was read)."""
        match = _PATTERN.match(self.text)
        assert match is not None  # parse() accepted it
        bound = match["bound"].lower() if match["bound"] else None
        high = _number(match["high"]) if match["high"] else None
        return Amount(bound, _number(match["low"]), high, " ".join(match["unit"].lower().split()).rstrip("s"))

    def compare(self, other: Duration) -> int:
        """-1 if self is shorter, 1 if longer, 0 if the same span (by its upper bound)."""
        a, b = round(self.high_days, 6), round(other.high_days, 6)
        return (a > b) - (a < b)

    def __str__(self) -> str:
        return self.text

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Duration:
            if isinstance(value, Duration):
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                return cls.parse(f"{value} days")
            if not isinstance(value, str):
                raise ValueError("expected a duration such as '90 days' or '2 years'")
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda d: d.text),
            json_schema_input_schema=core_schema.str_schema(),
        )
