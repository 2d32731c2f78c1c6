"""Dates as a tenant's readers write them ("1 April 2026" in en-GB, "April 1, 2026" in en)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from babel.dates import format_date


@lru_cache(maxsize=4096)
def format_day(day: dt.date, locale: str, form: str = "long") -> str:
    """*day* in the *locale*'s own format (cached: a build prints the same few dates thousands of times)."""
    return format_date(day, format=form, locale=locale.replace("-", "_"))
