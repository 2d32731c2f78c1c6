"""pydantic's validation errors, said as located problems a policy writer can act on.

Every model read from YAML (tenant facts, clause front matter, project settings, rules) is validated
by pydantic; this turns each error into a Problem at the key's line and column, in plain words, with
what was expected and a hint (a misspelt key gets a "did you mean"). A model validator that finds
broken cross-references raises ReferenceProblems, so each reference gets its own located problem.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Problem, did_you_mean, quoted
from .yamlfile import KeyPath, Located, UnclearNumber, format_path


@dataclass(frozen=True)
class Reference:
    """One broken cross-reference or repeated id, with the key path it sits at."""

    path: KeyPath
    message: str
    expected: str | None = None
    suggestion: str | None = None


class ReferenceProblems(ValueError):
    """Raised by Tenant validation; problems_from_validation gives each its own located Problem."""

    def __init__(self, problems: list[Reference]) -> None:
        super().__init__("; ".join(f"{format_path(p.path)}: {p.message}" for p in problems))
        self.problems = problems


def problems_from_validation(
    exc: ValidationError, located: Located, model: type[BaseModel], missing: str = "required key is missing"
) -> list[Problem]:
    """Every error of *exc* as a located problem in plain words; *missing* says a required key is absent."""
    out: list[Problem] = []
    errors = exc.errors(include_url=False)
    # A misspelt key is one mistake, not two: its "did you mean" covers the required key it stands for.
    misspelt: set[KeyPath] = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            where = _clean_loc(err["loc"])
            close = difflib.get_close_matches(str(where[-1]), _fields_at(model, where[:-1]), n=1, cutoff=0.6)
            misspelt.update((*where[:-1], c) for c in close)
    for err in errors:
        path: KeyPath = _clean_loc(err["loc"])
        kind = err["type"]
        if kind == "missing" and path in misspelt:
            continue
        ctx = err.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, ReferenceProblems):
            for ref in cause.problems:
                problem = located.problem(
                    (*path, *ref.path), ref.message, expected=ref.expected, suggestion=ref.suggestion
                )
                out.append(problem)
            continue
        suggestion = None
        expected = None
        shown = _shown(err.get("input"))
        msg = err["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            key = str(path[-1])
            known = _fields_at(model, path[:-1])
            suggestion = did_you_mean(key, known) or (f"known keys here: {', '.join(known)}" if known else None)
            msg = f"unknown key '{key}'"
        elif kind == "missing":
            msg = missing
            expected = _describe(model, path)
            suggestion = f"add '{path[-1]}:' to {_describe_parent(path)}"
        elif kind in {"enum", "literal_error"}:
            expected = "one of " + ctx.get("expected", "")
            options = re.findall(r"'([^']+)'", ctx.get("expected", ""))
            suggestion = did_you_mean(str(err.get("input")), options)
            msg = f"'{err.get('input')}' is not allowed"
        elif kind in _PLAIN_WORDS:
            noun, expected = _PLAIN_WORDS[kind]
            msg = f"{shown} is not {noun}"
            unclear = err.get("input")
            if isinstance(unclear, UnclearNumber) and re.fullmatch(r"[-+]?[1-9][0-9]*", unclear.text):
                msg = f"{shown} is too long a number"  # longer than any count or age; Python refuses 4,300+ digits
                suggestion = "check the value: a count, an age or a number of days has a few digits"
            elif isinstance(unclear, UnclearNumber):
                suggestion = (
                    "YAML reads a leading 0 as octal (017 is 15) and 0x1f, 1_000 or 1:30 as numbers: "
                    "write plain decimal digits, or put text in quotes"
                )
            if kind in {"model_type", "dict_type", "model_attributes_type"}:
                keys = _fields_at(model, path)
                expected = f"a mapping of keys ({', '.join(keys)})" if keys else expected
        elif kind == "too_short" and ctx.get("min_length") == 1:
            msg = "the list is empty"
            expected = "at least one entry"
        elif kind in _BOUNDS:
            msg = f"{shown} is out of range"
            expected = _BOUNDS[kind].format(**ctx)
        elif kind == "string_pattern_mismatch":
            msg = f"{shown} does not have the required form"
            expected = f"text matching {ctx.get('pattern')}"
        elif kind.endswith(("_type", "_parsing")):
            expected = kind.removesuffix("_type").removesuffix("_parsing").replace("_", " ")
        if suggestion is None and kind in _HINTS:
            suggestion = _HINTS[kind][isinstance(err.get("input"), bool)]
        line_path = path[:-1] if kind == "missing" else path
        problem = located.problem(line_path, msg, expected=expected, suggestion=suggestion)
        out.append(replace(problem, key_path=format_path(path)))
    return out


# pydantic error types, said the way a policy writer reads them: (what it is not, what was expected).
_PLAIN_WORDS: dict[str, tuple[str, str]] = {
    "bool_type": ("true or false", "true or false"),
    "bool_parsing": ("true or false", "true or false"),
    "int_type": ("a whole number", "a whole number such as 16"),
    "int_parsing": ("a whole number", "a whole number such as 16"),
    "int_from_float": ("a whole number", "a whole number such as 16"),
    "string_type": ("text", "text; put quotes around numbers, dates and yes/no meant as text"),
    "string_too_short": ("allowed to be empty", "some text"),
    "blank_text": ("text anyone can see", "some visible text, not only spaces or invisible characters"),
    "locale_type": ("a locale", "a language code with an optional region, such as en, en-GB or hi-IN"),
    "list_type": ("a list", "a list: one '- item' per line, or [a, b]"),
    "model_type": ("a mapping of keys", "a mapping of keys"),
    "model_attributes_type": ("a mapping of keys", "a mapping of keys"),
    "dict_type": ("a mapping of keys", "a mapping of keys"),
    "date_type": ("a date", "a date written YYYY-MM-DD"),
    "date_parsing": ("a date", "a date written YYYY-MM-DD"),
    "date_from_datetime_parsing": ("a date", "a date written YYYY-MM-DD"),
    "date_from_datetime_inexact": ("a date", "a date written YYYY-MM-DD, without a time"),
}
# What to do about a strict type's refusal: (for any value, for true or false).
_HINTS: dict[str, tuple[str, str]] = {
    "int_type": ("write digits only, e.g. 16", "true and false answer yes/no questions: write the number, e.g. 16"),
    "date_type": ("write the date as YYYY-MM-DD, e.g. 2026-04-01",) * 2,
    "blank_text": ("write the fact, or leave the key out while it is not known",) * 2,
    "too_short": ("give at least one entry: the documents cannot do without this list",) * 2,
}
_BOUNDS = {
    "less_than_equal": "a number no larger than {le}",
    "less_than": "a number smaller than {lt}",
    "greater_than_equal": "a number of at least {ge}",
    "greater_than": "a number larger than {gt}",
    "too_long": "at most {max_length} entries",
    "too_short": "at least {min_length} entries",
}


def _shown(value: Any) -> str:
    """A bad value as the message quotes it: short, on one line."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"  # as YAML writes it, not Python's True
    # Control characters are escaped when the message is printed; long values keep start, end and length.
    return quoted(str(value), 60)


def _clean_loc(loc: Any) -> KeyPath:
    return tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))


def _fields_at(model: type[BaseModel], path: KeyPath) -> list[str]:
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _inner_model(field.annotation)
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}).keys())


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _describe(model: type[BaseModel], path: KeyPath) -> str | None:
    current: Any = model
    field = None
    for part in path:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    if field is None:
        return None
    return field.description or (current.__doc__.strip().splitlines()[0] if current and current.__doc__ else None)


def _describe_parent(path: KeyPath) -> str:
    parent = format_path(path[:-1])
    return f"'{parent}'" if parent else "the top level"
