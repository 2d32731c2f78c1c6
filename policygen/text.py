"""Facts in plain text: a fact is shown on one line, and never as a terminal control sequence.

Terminal output (`policygen diff`, `policygen release`) and the plain-text change email show facts
as they are written, so a newline in a fact would forge lines of its own (a fake "Read the new
version:" link in an email) and an escape character would drive the reader's terminal. Such
characters are shown escaped instead, as Python writes them: \\n, \\t, \\x1b, \\u2028.
"""

from __future__ import annotations

import re

# C0 controls (newline and tab included), DEL, C1 controls, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """*text* with every control character and line break escaped, so it prints as one line of plain text."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)
