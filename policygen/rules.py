"""The materiality rules: which tier a change of the facts falls in, and how a notice says it.

The rules are data (policygen/data/rules.yaml ships the defaults); a project's
rules.yaml and a tenant's tenants/<slug>/rules.yaml adjust them. A rule with a
known id changes only the keys it gives; a rule with a new id is tried before
the defaults, so local rules win.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import Collector, InputError, did_you_mean
from .facts import Whole
from .inputs import RULES_FILE, ensure_inside
from .validation import problems_from_validation
from .yamlfile import Located, load

DEFAULT_FILE = Path(__file__).parent / "data" / "rules.yaml"

Tier = Literal["technical", "editorial", "minor", "material", "consent"]
ChangeKind = Literal[
    "added",
    "removed",
    "changed",
    "lengthened",
    "shortened",
    "reworded",
    "enabled",
    "disabled",
    "increased",
    "decreased",
]
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)

# Every tier a diff can end in, least to most serious. "none": nothing differs;
# "needs-review": clause wording changed with no fact behind it and nobody has
# marked it editorial yet (rewording can change meaning).
Level = Literal["none", "technical", "editorial", "needs-review", "minor", "material", "consent"]
LEVELS: tuple[Level, ...] = get_args(Level)
NOTICE_TIERS: frozenset[Tier] = frozenset({"material", "consent"})
TIERS: tuple[Tier, ...] = get_args(Tier)
PLACEHOLDERS = frozenset({"subject", "item", "old", "new"})


def as_tier(value: object) -> Tier | None:
    """A tier read back from a snapshot, if it is one."""
    return next((t for t in TIERS if t == value), None)


def rank(level: str) -> int:
    return LEVELS.index(level)


def check_level(level: str) -> str:
    """A tier named on the command line (for --fail-on), or a clear message."""
    if level not in LEVELS[1:]:
        hint = did_you_mean(level, LEVELS[1:])
        raise ValueError(
            f"'{level}' is not a tier; use one of {', '.join(LEVELS[1:])}" + (f" ({hint})" if hint else "")
        )
    return level


_PATTERN_CHARS = re.compile(r"[A-Za-z0-9_.*\[\]{},-]+")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Turn a fact path pattern into a regular expression over finding paths."""
    if not _PATTERN_CHARS.fullmatch(pattern):
        raise ValueError(f"'{pattern}' is not a path pattern; use key names, '.', '[*]', '*', '**' and '{{a,b}}'")
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern.startswith("[*]", i):
            out += r"\[(?:[^\]\\]|\\.)*\]"
            i += 3
        elif pattern[i] == "*":
            out += r"[^.\[\]]+"
            i += 1
        elif pattern[i] == "{":
            end = pattern.find("}", i)
            if end < 0:
                raise ValueError(f"'{pattern}': '{{' without '}}'")
            options = [o.strip() for o in pattern[i + 1 : end].split(",")]
            if not all(re.fullmatch(r"[A-Za-z0-9_-]+", o) for o in options):
                raise ValueError(f"'{pattern}': '{{...}}' holds key names separated by commas")
            out += "(?:" + "|".join(re.escape(o) for o in options) + ")"
            i = end + 1
        elif pattern[i] in "[]{}," and not pattern.startswith("[*]", i):
            # a literal list key such as purposes[marketing]
            if pattern[i] == "[":
                end = pattern.find("]", i)
                if end < 0:
                    raise ValueError(f"'{pattern}': '[' without ']'")
                out += re.escape(pattern[i : end + 1])
                i = end + 1
            else:
                raise ValueError(f"'{pattern}': unexpected '{pattern[i]}'")
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def _check_template(text: str) -> str:
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            raise ValueError(f"'{{{name}}}' is not a placeholder; use {{subject}}, {{item}}, {{old}} or {{new}}")
    return text


Scalar = str | int | float | bool | None


class _RuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = Field(None, min_length=1, description="What the rule is about, in a few words")
    path: str | list[str] | None = Field(None, description="Fact path pattern(s), e.g. 'retention.periods[*].period'")
    when: dict[str, Scalar] | None = Field(None, description="Fields of the added or removed entry that must be equal")
    tiers: dict[ChangeKind, Tier] | None = Field(None, description="The tier for each change kind the rule covers")
    sources: list[str] | None = Field(None, description="Where the rule comes from: law, guidance, cases")
    say: dict[ChangeKind, str] | None = Field(None, description="What changed, in plain words, per change kind")
    effect: dict[ChangeKind, str] | None = Field(None, description="The likely effect on the reader, per change kind")

    @field_validator("path")
    @classmethod
    def _patterns(cls, value: str | list[str] | None) -> str | list[str] | None:
        for p in [value] if isinstance(value, str) else value or []:
            compile_pattern(p)
        return value

    @field_validator("say", "effect")
    @classmethod
    def _templates(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for text in (value or {}).values():
            _check_template(text)
        return value


class RuleEntry(_RuleFields):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="A stable id; a known id adjusts that rule")


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    notice_days: Whole | None = Field(
        None, ge=0, le=365, description="Days between release and effective date a material change needs"
    )
    rules: list[RuleEntry] = []


@dataclass(frozen=True)
class Rule:
    """One complete rule, after defaults and adjustments are merged."""

    id: str
    title: str
    patterns: tuple[re.Pattern[str], ...]
    when: tuple[tuple[str, Scalar], ...]
    tiers: dict[ChangeKind, Tier]
    sources: tuple[str, ...]
    say: dict[ChangeKind, str]
    effect: dict[ChangeKind, str]

    def matches(self, path: str, change: ChangeKind, entry: Any) -> bool:
        if change not in self.tiers or not any(p.fullmatch(path) for p in self.patterns):
            return False
        return all(_field(entry, key) == value for key, value in self.when)

    @property
    def source(self) -> str:
        return "; ".join(self.sources)


def _field(entry: Any, key: str) -> Any:
    value = getattr(entry, key, None) if not isinstance(entry, dict) else entry.get(key)
    return getattr(value, "value", value) if not isinstance(value, (str, int, float, bool)) else value


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    notice_days: int
    files: tuple[str, ...]  # where the rules came from, for reports

    def classify(self, path: str, change: ChangeKind, entry: Any) -> Rule | None:
        return next((r for r in self.rules if r.matches(path, change, entry)), None)


def _read(file: Path) -> tuple[RulesFile, Located]:
    located = load(file)
    data = located.data if located.data is not None else {}
    if not isinstance(data, dict):
        raise InputError(
            [
                located.problem(
                    (),
                    "a rules file is a mapping with 'rules:' and optionally 'notice_days:'",
                    expected="a YAML mapping",
                )
            ]
        )
    try:
        return RulesFile.model_validate(data), located
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, located, RulesFile)) from None


def load_rules(root: Path | None = None, slug: str | None = None) -> RuleSet:
    """The default rules, adjusted by the project's rules.yaml and the tenant's, in that order."""
    files = [DEFAULT_FILE]
    if root is not None:
        files.append(root / RULES_FILE)
        if slug is not None:
            files.append(root / "tenants" / slug / RULES_FILE)
    problems = Collector()
    merged: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    notice_days = 30
    used: list[str] = []
    for index, file in enumerate(files):
        if not (file.exists() or file.is_symlink()):  # a pipe or a dangling link is refused by the reader
            continue
        try:
            if index and root is not None:  # a project's rules.yaml, unlike the packaged defaults
                ensure_inside(root, file, RULES_FILE)
            parsed, located = _read(file)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        used.append(file.name if index == 0 else file.relative_to(root).as_posix() if root else file.name)
        if parsed.notice_days is not None:
            notice_days = parsed.notice_days
        fresh: list[str] = []
        seen: set[str] = set()
        for i, entry in enumerate(parsed.rules):
            given = entry.model_dump(exclude_unset=True)
            if entry.id in seen:
                problems.add(
                    located.problem(
                        ("rules", i, "id"),
                        f"rule '{entry.id}' is given twice in this file",
                        expected="each rule id once",
                        suggestion="merge the two entries",
                    )
                )
                continue
            seen.add(entry.id)
            if entry.id in merged:
                current = merged[entry.id]
                for key, value in given.items():
                    if key in {"tiers", "say", "effect"} and value is not None:
                        current[key] = {**(current.get(key) or {}), **value}
                    else:
                        current[key] = value
                continue
            missing = [k for k in ("path", "tiers") if given.get(k) is None]
            if missing:
                hint = did_you_mean(entry.id, list(merged))
                problems.add(
                    located.problem(
                        ("rules", i),
                        f"rule '{entry.id}' is new and has no {' or '.join(missing)}",
                        expected="a new rule gives 'path' and 'tiers'; adjusting a default rule needs its exact id",
                        suggestion=hint or "the default rule ids are in policygen/data/rules.yaml",
                    )
                )
                continue
            merged[entry.id] = given
            fresh.append(entry.id)
        # New local rules come before everything already known, so they decide first.
        order = fresh + order if index else fresh
    problems.raise_if_any()
    rules = tuple(_complete(merged[rid]) for rid in order)
    return RuleSet(rules=rules, notice_days=notice_days, files=tuple(used))


def _complete(data: dict[str, Any]) -> Rule:
    paths = data["path"]
    return Rule(
        id=data["id"],
        title=data.get("title") or data["id"].replace("-", " ").capitalize(),
        patterns=tuple(compile_pattern(p) for p in ([paths] if isinstance(paths, str) else paths)),
        when=tuple(sorted((data.get("when") or {}).items())),
        tiers=dict(data["tiers"]),
        sources=tuple(data.get("sources") or ()),
        say=dict(data.get("say") or {}),
        effect=dict(data.get("effect") or {}),
    )
