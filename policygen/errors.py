"""Problems in a project's input, reported all together with where they are."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can."""

    message: str
    file: Path | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    key_path: str | None = None
    expected: str | None = None
    suggestion: str | None = None
    level: str = "error"
    times: int = 1  # found this many times alike (a broken clause, once for each tenant using it): reported once

    def location(self, root: Path | None = None) -> str:
        if self.file is None:
            return ""
        path = self.file
        if root is not None:
            try:
                path = self.file.relative_to(root)
            except ValueError:
                pass
        where = str(path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def format(self, root: Path | None = None) -> str:
        """The problem as printed: values from the input can hold anything, so every part is made
        safe for a terminal (control characters escaped, very long words shortened)."""
        head = escape(self.location(root))
        text = f"{head}: {self.level}: " if head else f"{self.level}: "
        if self.key_path:
            text += f"{printable(self.key_path)}: "
        text += printable(self.message)
        if self.times > 1:
            text += f" (found {self.times:,} times)"
        if self.expected:
            text += "\n    expected: " + _indent(self.expected)
        if self.suggestion:
            text += "\n    hint: " + _indent(self.suggestion)
        return text

    def to_json(self, root: Path | None = None) -> dict[str, object]:
        file = None
        if self.file is not None:
            try:
                file = self.file.relative_to(root).as_posix() if root else self.file.as_posix()
            except ValueError:
                file = self.file.as_posix()
        return {
            "level": self.level,
            "file": file,
            "line": self.line,
            "column": self.column,
            "key_path": self.key_path,
            "message": self.message,
            "expected": self.expected,
            "suggestion": self.suggestion,
            "times": self.times,
        }


def _indent(text: str) -> str:
    # Continuation lines stay under their label, so every line of a report is attributable.
    return "\n          ".join(escape(line) for line in text.split("\n"))


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
# Control, format (zero-width, bidi overrides), separator, private-use and unassigned characters.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
MAX_WORD = 80


def escape(text: str) -> str:
    """*text* with every character a terminal would act on or hide shown as an escape (\\n, \\x1b, \\u202e)."""
    if text.isprintable():
        return text
    return "".join(_escape_char(c) for c in text)


def _escape_char(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if unicodedata.category(char) not in _HIDDEN:
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shorten(text: str, limit: int = MAX_WORD) -> str:
    """A value as a message quotes it: start and end kept, the length said, when longer than *limit*."""
    if len(text) <= limit:
        return text
    keep = (limit - 3) // 2
    return f"{text[:keep]}...{text[-keep:]} ({len(text)} characters)"


def quoted(text: str, limit: int = MAX_WORD) -> str:
    """A value in quotes as a message shows it: a 5,000-character paste shows its start, end and length."""
    return f"'{shorten(text, limit)}'"


# A run this long without a space is a pasted value (a 5,000-digit number), never a path or a word: paths in
# messages stay whole however deep the folder, so a message is the same wherever the project lives.
MAX_RUN = 1000
_LONG_WORD = re.compile(rf"\S{{{MAX_RUN + 1},}}")


def printable(text: str) -> str:
    """One line of a message, safe to print: escaped, with any very long run of characters shortened."""
    return _LONG_WORD.sub(lambda m: shorten(m.group()), escape(text))


@dataclass
class InputError(Exception):
    """Raised with every independent problem found; the CLI exits 1 on it."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(p.format() for p in self.problems)


class UsageError(Exception):
    """The command was called wrongly (unknown tenant, bad option value); exit 2."""


class Collector:
    """Gathers problems across independent units so one run reports them all."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def raise_if_any(self) -> None:
        errors = [p for p in self.problems if p.level == "error"]
        if errors:
            raise InputError(sorted(merged(errors), key=_order))


def merged(problems: Iterable[Problem]) -> list[Problem]:
    """*problems*, those alike (the same in every part) as one that counts them (times): a clause that does not
    compile is one problem however many tenants use it, not a thousand lines of the same."""
    counts: dict[Problem, int] = {}
    for problem in problems:
        alike = replace(problem, times=1)
        counts[alike] = counts.get(alike, 0) + problem.times
    return [replace(problem, times=times) if times > 1 else problem for problem, times in counts.items()]


def _order(p: Problem) -> tuple[str, int, int, str]:
    return (str(p.file or ""), p.line or 0, p.column or 0, p.message)


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def undecodable(args: Sequence[str]) -> str | None:
    """What is wrong with the first command-line argument that is not UTF-8 text, or None.

    Python keeps such bytes as lone surrogates; they would fail wherever the text is first
    written (a file, a message), so they are refused before anything runs.
    """
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            return f"argument '{printable(shown)}' is not UTF-8 text; give arguments as UTF-8"
    return None
