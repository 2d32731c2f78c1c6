"""The materiality rules: which tier a change of the facts falls in, and how a notice says it.

The rules are data (policygen/data/rules.yaml ships the defaults); a project's
rules.yaml and a tenant's tenants/<slug>/rules.yaml adjust them. A rule with a
known id changes only the keys it gives; a rule with a new id is tried before
the defaults, so local rules win.

A rule's sentences (`say`, `effect`) and a change summary's are written in English. Their words in
another language are in policygen/data/rules.<lang>.yaml (`rules:` by rule id, `summary:`), and a
project's or tenant's rules.yaml may give its own under `languages: {<lang>: {rules: ..., summary: ...}}`.
A translation counts only while the English sentence it translates is the one in force: a local file
that rewords a rule's English sentence drops the translations of earlier files for that sentence.
A summary sentence with a count ("({more} more changes.)") may be written once per plural category of
the language (PluralForms: CLDR's rules, through Babel), so that Arabic says 2, 3 and 11 each its own way.
"""

from __future__ import annotations

import difflib
import functools
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from .errors import Collector, InputError, did_you_mean
from .facts import Whole
from .inputs import RULES_FILE, ensure_inside
from .validation import Reference, ReferenceProblems, problems_from_validation
from .vocabulary import SOURCE
from .yamlfile import Located, load, packaged, packaged_data

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


def _check_template(text: str, allowed: frozenset[str] = PLACEHOLDERS) -> str:
    # Plain {name} only: a format spec or attribute ({more:>999999999}, {item.__class__}) from a project's
    # rules.yaml would build a huge string or read Python's internals.
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None and (name not in allowed or spec or conversion):
            if name in allowed:
                raise ValueError(f"write the placeholder as {{{name}}}, without a format, conversion or attribute")
            if allowed == PLACEHOLDERS:
                raise ValueError(f"'{{{name}}}' is not a placeholder; use {{subject}}, {{item}}, {{old}} or {{new}}")
            names = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
            raise ValueError(f"'{{{name}}}' is not a placeholder of this sentence; it may use: {names}")
    return text


Scalar = str | int | float | bool | None


class _RuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

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


class RuleSentences(BaseModel):
    """One rule's sentences in another language: what changed and its likely effect, per change kind."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    say: dict[ChangeKind, str] = Field(default_factory=dict, description="What changed, per change kind")
    effect: dict[ChangeKind, str] = Field(default_factory=dict, description="The likely effect, per change kind")

    @field_validator("say", "effect")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            _check_template(text)
        return value


PluralCategory = Literal["zero", "one", "two", "few", "many", "other"]
PLURAL_CATEGORIES: tuple[PluralCategory, ...] = get_args(PluralCategory)


class PluralForms(BaseModel):
    """A sentence with a count, once per plural category of its language (CLDR's plural rules: Babel's
    Locale.plural_form names the category of a number). `other` is required; a category the language has
    but the forms leave out says `other`."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    zero: str | None = None
    one: str | None = None
    two: str | None = None
    few: str | None = None
    many: str | None = None
    other: str

    def form(self, category: str) -> str:
        said = getattr(self, category, None) if category in PLURAL_CATEGORIES else None
        return said if isinstance(said, str) else self.other

    def forms(self) -> list[str]:
        return [f for f in (self.zero, self.one, self.two, self.few, self.many, self.other) if f is not None]


def plural_category(lang: str, count: int) -> str:
    """The plural category of *count* in *lang* (CLDR, through Babel): Arabic's 11 is "many";
    "other" for a language Babel does not know."""
    try:
        return str(Locale.parse(lang).plural_form(count))
    except (ValueError, UnknownLocaleError):
        return "other"


def _plural_forms(value: object) -> object:
    """A sentence with a count as written: one sentence, or a form per plural category with `other` among
    them (each mistake a located problem; pydantic's own for a union would name its types)."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise ReferenceProblems(
            [Reference((), "neither one sentence nor a form per plural category", expected=_FORMS_EXPECTED)]
        )
    problems = [_form_problem(key, form) for key, form in value.items()]
    # a misspelt 'other' is one mistake, not two: its "did you mean" says what is missing
    if "other" not in value and not any(difflib.get_close_matches(str(k), ["other"], n=1, cutoff=0.6) for k in value):
        problems.append(
            Reference(
                (),
                "plural forms without 'other'",
                expected="an 'other:' form, said for every count no other form covers",
                suggestion="add 'other:' (in English, '({more} more changes.)')",
            )
        )
    found = [p for p in problems if p is not None]
    if found:
        raise ReferenceProblems(found)
    return PluralForms.model_validate(value)


_FORMS_EXPECTED = "a sentence in quotes, or one per plural category: {one: ..., other: ...}"


def _form_problem(key: object, form: object) -> Reference | None:
    if key not in PLURAL_CATEGORIES:
        return Reference(
            (str(key),),
            f"'{key}' is not a plural category",
            expected="zero, one, two, few, many or other (CLDR's plural categories)",
            suggestion=did_you_mean(str(key), PLURAL_CATEGORIES)
            or "write one form per category the language has, and always 'other'",
        )
    if not isinstance(form, str):
        return Reference((str(key),), f"the '{key}' form is not text", expected="a sentence in quotes")
    return None


# The placeholders each summary sentence may use (its English sentence's, SOURCE_SUMMARY below).
SUMMARY_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "one_more": frozenset({"more"}),
    "more": frozenset({"more"}),
    "reworded": frozenset({"paths"}),
    "editorial_reason": frozenset({"reason"}),
    "changed": PLACEHOLDERS,
}


class SummarySentences(BaseModel):
    """The sentences of a change summary (diff.DiffReport.summary) and of a change no rule words, in a
    language; each may use the placeholders its English sentence has (SOURCE_SUMMARY)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    one_more: str | None = None
    more: str | PluralForms | None = None  # one sentence (one_more says 1), or a form per plural category
    reworded: str | None = None
    wording: str | None = None
    editorial: str | None = None
    editorial_reason: str | None = None
    presentation: str | None = None
    unchanged: str | None = None
    first: str | None = None
    changed: str | None = None
    read_section: str | None = None

    _forms = field_validator("more", mode="before")(_plural_forms)

    @field_validator("*")
    @classmethod
    def _placeholders(cls, text: str | PluralForms | None, info: ValidationInfo) -> str | PluralForms | None:
        if text is not None and info.field_name is not None:
            for form in text.forms() if isinstance(text, PluralForms) else [text]:
                _check_template(form, SUMMARY_PLACEHOLDERS.get(info.field_name, frozenset()))
        return text


# The summary's sentences in English: what DiffReport.summary says, and what a change no rule words says.
SOURCE_SUMMARY = SummarySentences(
    one_more="({more} more change.)",
    more="({more} more changes.)",
    reworded="A few words changed in {paths}; is the meaning the same?",
    wording="The wording changed; the facts did not.",
    editorial="Editorial changes.",
    editorial_reason="Editorial changes: {reason}.",
    presentation="Presentation changes only.",
    unchanged="No change.",
    first="First published version.",
    changed="{subject}: {item} changed.",
    read_section="Read the updated section.",
)
SummaryName = Literal[
    "one_more",
    "more",
    "reworded",
    "wording",
    "editorial",
    "editorial_reason",
    "presentation",
    "unchanged",
    "first",
    "changed",
    "read_section",
]


# Where a sentence or word of a language goes: a rule's (id, say or effect, change kind), a summary's
# sentence by name, or a word by table and key.
SentenceKey = tuple[str, ...]


class LanguageSentences(BaseModel):
    """The rules' and summaries' sentences in one language (rules.<lang>.yaml, or a rules.yaml's
    `languages: {<lang>: ...}`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    rules: dict[str, RuleSentences] = Field(default_factory=dict, description="Sentences by rule id")
    summary: SummarySentences = Field(default_factory=SummarySentences, description="The summary's sentences")
    words: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="policygen's own words a finding uses (a section's name, yes/no, a value's name), by table"
        " (sections, fields, yes_no, <Model>.<field>) then key",
    )

    def given(self) -> frozenset[SentenceKey]:
        """Where each sentence and word given here goes: a later file's replace an earlier one's key by key."""
        rules = {("rule", i, p, c) for i, r in self.rules.items() for p, said in _parts(r) for c in said or {}}
        summary = {("summary", name) for name, sentence in self.summary if sentence is not None}
        words = {("word", table, key) for table, keyed in self.words.items() for key in keyed}
        return frozenset(rules | summary | words)


_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


def _language_code(code: str) -> str:
    if not _LANGUAGE_CODE.fullmatch(code):
        raise ValueError(f"'{code}' is not a language code; name the language by its code: fr, hi, de")
    return code


LanguageCode = Annotated[str, AfterValidator(_language_code)]


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    languages: dict[LanguageCode, LanguageSentences] | None = Field(
        None, description="The rules' sentences in other languages, by language code (fr, hi)"
    )

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


Part = Literal["say", "effect"]


@dataclass(frozen=True)
class Sentences:
    """The rules' and summaries' sentences in one language, as merged from every rules file."""

    lang: str  # a language subtag: fr
    rules: dict[tuple[str, Part, ChangeKind], str]  # (rule id, say or effect, change kind) -> template
    summary: dict[str, str]
    words: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, key) -> the word
    plurals: dict[str, PluralForms] = field(default_factory=dict)  # summary sentences written per plural form

    def word(self, key: tuple[str, str]) -> str | None:
        return self.words.get(key)

    def more(self, count: int) -> str | None:
        """ "({more} more changes.)" for *count*, filled: the form of the language's plural category for it
        when `more` has forms; else one_more for 1 and `more` for the rest. None when there is no sentence."""
        forms = self.plurals.get("more")
        if forms is not None:
            template: str | None = forms.form(plural_category(self.lang, count))
        else:
            template = self.summary.get("one_more" if count == 1 and "one_more" in self.summary else "more")
        return None if template is None else template.replace("{more}", self.number(count))

    def number(self, count: int) -> str:
        """A count as the language writes it (1,234 in English; 1 234 in French)."""
        if self.lang == SOURCE:
            return str(count)
        try:
            return str(format_decimal(count, locale=self.lang))
        except (ValueError, UnknownLocaleError):
            return str(count)

    def rule(self, rule_id: str, part: Part, change: ChangeKind) -> str | None:
        return self.rules.get((rule_id, part, change))


# The summary's sentences in English, said like any language's (DiffReport.summary).
SOURCE_SENTENCES = Sentences(
    SOURCE, {}, {name: sentence for name, sentence in SOURCE_SUMMARY if isinstance(sentence, str)}
)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    notice_days: int
    files: tuple[str, ...]  # where the rules came from, for reports
    # Each local file's sentences in other languages, in the order the files were read (1: the project's).
    local_sentences: tuple[tuple[int, str, LanguageSentences], ...] = ()
    # (rule id, say or effect, change kind) -> the file that last wrote the English sentence (0: packaged).
    worded_in: tuple[tuple[tuple[str, Part, ChangeKind], int], ...] = ()

    def classify(self, path: str, change: ChangeKind, entry: Any) -> Rule | None:
        return next((r for r in self.rules if r.matches(path, change, entry)), None)

    def replaced(self, lang: str) -> frozenset[SentenceKey]:
        """Where the local files give sentences and words in *lang* of their own (policygen's there are unused)."""
        return frozenset().union(*(words.given() for _, code, words in self.local_sentences if code == lang))

    def sentences(self, lang: str) -> Sentences:
        """The sentences in *lang* (a language subtag): the packaged ones, then each local file's; a
        translation from a file read before the English sentence was last reworded is left out."""
        worded = dict(self.worded_in)
        rules: dict[tuple[str, Part, ChangeKind], str] = {}
        summary: dict[str, str] = {}
        plurals: dict[str, PluralForms] = {}
        said: dict[tuple[str, str], str] = {}
        given = [(0, packaged_sentences(lang))] + [(i, s) for i, code, s in self.local_sentences if code == lang]
        for index, words in given:
            for rule_id, rule in words.rules.items():
                for part, templates in _parts(rule):
                    for change, template in (templates or {}).items():
                        key = (rule_id, part, change)
                        if index >= worded.get(key, 0):
                            rules[key] = template
            for name, sentence in words.summary:
                if isinstance(sentence, PluralForms):
                    plurals[name] = sentence
                    summary.pop(name, None)
                elif sentence is not None:
                    summary[name] = sentence
                    plurals.pop(name, None)
            said.update(((table, key), word) for table, keyed in words.words.items() for key, word in keyed.items())
        return Sentences(lang, rules, summary, said, plurals)


def _parts(rule: RuleSentences | RuleEntry) -> tuple[tuple[Part, dict[ChangeKind, str] | None], ...]:
    return (("say", rule.say), ("effect", rule.effect))


def sentences_file(lang: str) -> str:
    return f"rules.{lang}.yaml"


@functools.cache
def packaged_sentences(lang: str) -> LanguageSentences:
    """policygen's own sentences of the packaged rules in *lang* (data/rules.<lang>.yaml); none for a
    language it has none for."""
    if not _LANGUAGE_CODE.fullmatch(lang):
        return LanguageSentences()
    if packaged_data(sentences_file(lang)) is None:
        return LanguageSentences()
    return packaged(LanguageSentences, sentences_file(lang))


@functools.cache
def _packaged() -> tuple[RulesFile, Located]:
    """policygen's own rules.yaml, read once in a process: every tenant's rules start from it, and a build asks
    for a tenant's rules for each tenant with two versions or more (`upgrade-diff`, for each tenant). Read each
    time, it was 34 ms of the 37 ms load_rules took."""
    return _read(DEFAULT_FILE)


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
    local_sentences: list[tuple[int, str, LanguageSentences]] = []
    worded: dict[tuple[str, Part, ChangeKind], int] = {}
    for index, file in enumerate(files):
        if not (file.exists() or file.is_symlink()):  # a pipe or a dangling link is refused by the reader
            continue
        try:
            if index and root is not None:  # a project's rules.yaml, unlike the packaged defaults
                ensure_inside(root, file, RULES_FILE)
            parsed, located = _read(file) if index else _packaged()
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        used.append(file.name if index == 0 else file.relative_to(root).as_posix() if root else file.name)
        if parsed.notice_days is not None:
            notice_days = parsed.notice_days
        local_sentences.extend((index, lang, words) for lang, words in (parsed.languages or {}).items())
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
            if index:
                for part, templates in _parts(entry):
                    for change in templates or {}:
                        worded[(entry.id, part, change)] = index
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
    return RuleSet(
        rules=rules,
        notice_days=notice_days,
        files=tuple(used),
        local_sentences=tuple(local_sentences),
        worded_in=tuple(sorted(worded.items())),
    )


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
