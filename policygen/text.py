"""Facts in plain text: a fact is shown on one line, and never as a terminal control sequence.

Terminal output (`policygen diff`, `policygen release`) and the plain-text change email show facts
as they are written, so a newline in a fact would forge lines of its own (a fake "Read the new
version:" link in an email) and an escape character would drive the reader's terminal. Such
characters are shown escaped instead, the way error messages show them (errors.escape): \\n, \\x1b,
\\u2028, \\u202e.
"""

from __future__ import annotations

from .errors import escape


def one_line(text: str) -> str:
    """*text* with every control character and line break escaped, so it prints as one line of plain text."""
    return escape(text)
