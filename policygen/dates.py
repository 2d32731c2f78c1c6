"""Dates as a tenant's readers write them ("1 April 2026" in en-GB, "April 1, 2026" in en)."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def format_day(day: dt.date, locale: str, form: str = "long") -> str:
    """*day* in the *locale*'s own format (cached: a build prints the same few dates thousands of times)."""
    from babel.dates import format_date  # here: a build that finds nothing changed never formats a date

    return format_date(day, format=form, locale=locale.replace("-", "_"))


def utc_today() -> dt.date:
    """Today in UTC: the build's date when --today is not given, and a release's when --released is not,
    so the machine's time zone cannot change a build."""
    return dt.datetime.now(dt.UTC).date()


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str) -> dt.date:
    """A date written YYYY-MM-DD and nothing else: Python also reads 20260601 and 2026-W22-1, people don't.

    ValueError says what was expected.
    """
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date written YYYY-MM-DD, such as 2026-06-01") from None
