"""Problems in a project's input, reported all together with where they are."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence


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
        head = self.location(root)
        text = f"{head}: {self.level}: " if head else f"{self.level}: "
        if self.key_path:
            text += f"{self.key_path}: "
        text += self.message
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
        }


def _indent(text: str) -> str:
    # Continuation lines stay under their label, so every line of a report is attributable.
    return text.replace("\n", "\n          ")


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
            raise InputError(sorted(errors, key=_order))


def _order(p: Problem) -> tuple[str, int, int, str]:
    return (str(p.file or ""), p.line or 0, p.column or 0, p.message)


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
