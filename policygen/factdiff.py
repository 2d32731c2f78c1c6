"""What changed between two tenants' facts, and in which tier (the rules: policygen/rules.py).

The meaning of a policy is in its facts, so the facts are compared by key path and with their
meaning: lists are matched by id (reordering is no change), durations are compared as spans
("2 years" is longer than "18 months"), yes/no facts are switched on or off. A free-text fact whose
few words changed is a rewording, which the rules may tier lower than a change of meaning.

A finding's sentences are said in English once, and again in each other language a tenant publishes
(FactFinding.in_language) from that language's rule sentences (rules.Sentences), filled with the same
values. A value in policygen's own English words (a section's name, "yes", a duration, a value's
name: EnglishWords) stands in another language's sentence only by its words there (its Wording): a
word of rules.<lang>.yaml's `words:` (by table and key), a typed value's name in the language's
vocabulary (a transfer tool, a right: policygen/vocabulary.py, the one place that names them), a
duration or a retention rule said in the language's words, a list joined the language's way; without
them, the finding stays in English, marked. A value in the tenant's own words stands in any language:
quoted in its translation as that version published it (TenantWords), else as written, marked."""

from __future__ import annotations

import datetime as dt
import functools
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from babel import UnknownLocaleError
from babel.lists import format_list
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .durations import Duration
from .facts import (
    ANNOUNCEMENT_NAMES,
    BASIS_LABELS,
    NOT_COLLECTED_NAMES,
    PERMISSION_NAMES,
    TRACKER_CATEGORY_NAMES,
    Announcement,
    Basis,
    Channel,
    Country,
    Email,
    Kept,
    LawfulBasis,
    Permission,
    Phone,
    Right,
    Tenant,
    Url,
    is_free_text,
    types_in,
)
from .languages import text_direction
from .law import REGIME_NAMES, transfer_mechanisms
from .rules import SOURCE_SUMMARY, ChangeKind, Level, Rule, RuleSet, Sentences, Tier, as_tier, rank
from .vocabulary import (
    SOURCE,
    ForeignWord,
    LeftToRight,
    MixedText,
    VocabularyName,
    country_code,
    country_in,
    duration,
    text_language,
    word_in,
)
from .worddiff import hunks, word_diff

# Facts that say when a version applies, not what it says: every release changes them.
IGNORED = frozenset({"dates"})

# How the sections without an entry of their own are named in a notice.
SECTION_NAMES = {
    "dpo": "our data protection officer",
    "representative": "our representative",
    "grievance_officer": "our grievance officer",
    "supervisory_authority": "the supervisory authority",
    "requests": "privacy requests",
    "complaints": "complaints",
    "retention": "retention",
    "deletion": "deletion",
    "children": "children",
    "sharing": "sharing",
    "marketing": "marketing",
    "security": "security",
    "changes": "policy changes",
    "trackers": "cookies",
    "cookie_choices": "cookie choices",
    "signals": "browser privacy signals",
    "not_collected": "data we do not collect",
    "law_enforcement": "requests from the police and other authorities",
    "authorities_where_you_live": "the regulator where you live",
    "us_privacy": "US state privacy rights",
}

# Yes/no facts read as actions in a notice ("We will now sell personal data").
FIELD_WORDS = {
    "sells": "sell personal data",
    "rents": "rent out personal data",
    "shares_for_advertising": "share personal data for advertising",
    "sold": "sell this data",
    "shared": "share this data for cross-context advertising",
    "sells_or_shares_under_16": "sell or share the data of people under 16",
    "directed_at_children": "a service directed at children",
    "legal_name": "legal name",
    "min_age": "minimum age",
    "encrypted": "encryption of backups",
    "consent": "the consent we ask for",
    "do_not_track": "honour Do Not Track signals",
    "global_privacy_control": "honour Global Privacy Control signals",
    "notify": "tell you when an authority asks for your data",
    "subprocessor_list": "list of processors",
    "sensitive_beyond_permitted": "use sensitive personal information beyond what the California regulations allow",
    "sells_sensitive": "sell sensitive personal data",
    "targeted_advertising": "use personal data for targeted advertising",
    "profiling": "use personal data for profiling that decides things with legal or similarly significant effects",
    "financial_incentives": "offer financial incentives for personal data",
    "financial_incentive_terms": "terms of our financial incentives",
    "authorised_agents": "how authorised agents make requests",
    "opt_out_url": "where to opt out of the sale or sharing of your data",
    "appeals": "how to appeal our answer to a request",
    "sold_to": "sell personal data to this recipient",
    "shared_for_advertising": "share personal data with this recipient for cross-context behavioural advertising",
}

# Lists of ids that point at other entries: a notice names the entry, not its id.
REFERENCES = {
    ("Purpose", "data"): "data_categories",
    ("App", "data"): "data_categories",
    ("Recipient", "purposes"): "purposes",
    ("Transfer", "recipients"): "recipients",
    ("Deletion", "timelines"): "retention.periods",
    ("Recipient", "data"): "data_categories",
}


class _TransferToolNames(Mapping[str, str]):
    """The packaged transfer tools' names, by id: law's data file is read when a finding first asks, not at
    import (a build that compares no transfers never reads it)."""

    def __getitem__(self, key: str) -> str:
        return _transfer_tool_names()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_transfer_tool_names())

    def __len__(self) -> int:
        return len(_transfer_tool_names())


@functools.cache
def _transfer_tool_names() -> dict[str, str]:
    return {m.id: m.name for m in transfer_mechanisms().values()}


# Plain values of a few facts and lists, read as words.
VALUE_NAMES: dict[tuple[str, str], Mapping[str, str]] = {
    ("Organisation", "role"): {
        "controller": "the controller (we decide how your data is used)",
        "processor": "a processor (we act on another organisation's instructions)",
        "controller_and_processor": "both controller and processor",
    },
    ("Children", "consent"): {
        "none": "no consent",
        "parental": "consent from a parent or guardian",
        "institutional": "consent through the institution",
    },
    ("Purpose", "provision"): {
        "required": "required",
        "optional": "optional",
        "contractual": "required by a contract",
        "statutory": "required by law",
    },
    ("Changes", "how_notified"): {"page": "on this page", "email": "by email", "in_app": "in the app"},
    ("Transfer", "leaves"): REGIME_NAMES,
    ("Transfer", "safeguards"): _TransferToolNames(),
    ("Tenant", "not_collected"): NOT_COLLECTED_NAMES,
    ("Tracker", "category"): TRACKER_CATEGORY_NAMES,
    ("Tracker", "party"): {"first": "set by us", "third": "set by another company"},
    ("Tracker", "duration"): {"session": "the browser session"},
    ("Permission", "platforms"): {"android": "Android", "ios": "iOS"},
    ("Permission", "asked"): {
        "install": "when you install the app",
        "first_launch": "when you first open the app",
        "first_use": "the first time you use the feature that needs it",
    },
    ("DataCategory", "sources"): {
        "direct": "you",
        "automated": "automated collection",
        "third_party": "third parties",
        "public": "public sources",
        "institution": "your institution",
    },
    ("Announcement", "kind"): ANNOUNCEMENT_NAMES,
}
# A choice (a Literal field's value) no table here names reads in English as it is written ("processor",
# "cookie"); in another language, by its word in rules.<lang>.yaml's `words:` table <Model>.<field>.

# The tables of VALUE_NAMES that are a vocabulary's (policygen/data/languages/<lang>.yaml): a finding says
# such a value by the vocabulary's word in its language, never by a second table of words.
VALUE_VOCABULARIES: dict[tuple[str, str], VocabularyName] = {
    ("Transfer", "leaves"): "regimes",
    ("Transfer", "safeguards"): "transfer_tools",
    ("Tenant", "not_collected"): "not_collected",
    ("Tracker", "category"): "tracker_categories",
}

# Keys for list entries that have no id field.
ENTRY_KEYS: dict[str, tuple[str, ...]] = {
    "LawfulBasis": ("basis",),
    "Channel": ("kind", "value"),
    "Source": ("kind",),
    "ScopedMeasure": ("measure",),
    "Announcement": ("kind",),
}


# --- policygen's own words, and how each is said in another language ----------------------


@dataclass(frozen=True)
class TableWord:
    """A word of rules.<lang>.yaml's `words:` (a section's name, a field's, yes/no, a small table's value)."""

    table: str
    key: str

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        return sentences.word((self.table, self.key))


@dataclass(frozen=True)
class VocabularyWord:
    """A typed value's name in the language's vocabulary (a transfer tool, a right, a lawful basis)."""

    vocabulary: VocabularyName
    key: str

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        return word_in(self.vocabulary, self.key, sentences.lang)


@dataclass(frozen=True)
class DurationWords:
    """A duration, in the language's units and plural rules (vocabulary.duration)."""

    span: Duration

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        return _spoken_in(sentences.lang, lambda: duration(self.span))


@dataclass(frozen=True)
class RetentionWords:
    """A retention rule ("60 days after your account is closed"), said through the vocabulary (Kept.words)."""

    kept: Kept

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        return _spoken_in(sentences.lang, lambda: self.kept.words)


@dataclass(frozen=True)
class AsWritten:
    """A number or a date inside policygen's words: it reads the same in any language."""

    text: str

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        return self.text


@dataclass(frozen=True)
class Verbatim:
    """An email address, a URL or a phone number: the same in every language, filled as it is; in a
    right-to-left language kept left to right (a LeftToRight part of the sentence)."""

    text: str

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        return _LTR.format(self.text) if text_direction(sentences.lang) == "rtl" else self.text


@dataclass(frozen=True)
class TenantText:
    """The tenant's own words (a free-text fact, a permission it named): quoted in their translation as the
    version published it, else as written, marked (Quoting); a country in the language's name for it."""

    text: str
    country: bool = False  # a country (facts.Country): Babel's name for it in the language, as pages print it

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        if sentences.lang == SOURCE:
            return self.text
        return (own or Quoting()).quote(self.text, sentences.lang, self.country)


@dataclass(frozen=True)
class ListWords:
    """A list of policygen's words, joined the language's way (Babel's list patterns: "a, b et c")."""

    items: tuple[Wording, ...]

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        items = [item.said(sentences, own) for item in self.items]
        if any(item is None for item in items):
            return None
        try:
            return str(format_list([item or "" for item in items], locale=sentences.lang))
        except (ValueError, UnknownLocaleError):
            return None  # a language Babel does not know: no way to join the list in it


@dataclass(frozen=True)
class PhraseWords:
    """Words put together by a pattern that reads in any language ("{} ({})": "minimum age (13)")."""

    pattern: str
    parts: tuple[Wording, ...]

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        parts = [part.said(sentences, own) for part in self.parts]
        return None if any(p is None for p in parts) else self.pattern.format(*parts)


Wording = (
    TableWord
    | VocabularyWord
    | DurationWords
    | RetentionWords
    | AsWritten
    | Verbatim
    | TenantText
    | ListWords
    | PhraseWords
)


class EnglishWords(str):
    """policygen's own words in English (a section's name, a field's, yes/no, a duration): a sentence in
    another language is filled with them only through their words there (`wording`)."""

    wording: Wording | None = None  # None: words no language has (an id, a field with no words)


def _worded(words: str, wording: Wording | None) -> EnglishWords:
    said = EnglishWords(words)
    said.wording = wording
    return said


def _keyed(words: str, table: str, key: str) -> EnglishWords:
    return _worded(words, TableWord(table, key))


def _named_value(owner: str, name: str, value: str, words: str) -> EnglishWords:
    """A plain value's name (VALUE_NAMES): by the vocabulary's word when its table is a vocabulary."""
    vocabulary = VALUE_VOCABULARIES.get((owner, name))
    wording = VocabularyWord(vocabulary, value) if vocabulary else TableWord(value_table(owner, name), value)
    return _worded(words, wording)


def _part(value: Any, words: str) -> Wording | None:
    """How a part of a list or phrase (*value*, read as *words*) is said in another language: policygen's
    words by their wording, a number or a date as written; None for anything else (an id, a choice, the
    tenant's words: the phrase stays English, as a whole)."""
    if isinstance(words, EnglishWords):
        return words.wording
    if isinstance(value, (int, float, dt.date)) and not isinstance(value, bool):
        return AsWritten(words)
    return None


def _joined(parts: Sequence[tuple[Any, str]], pattern: str | None = None) -> EnglishWords:
    """policygen's words made of *parts* (each a value and its words): a list (", "), or a *pattern*'s
    phrase; said in another language only when every part is."""
    words = [_part(value, said) for value, said in parts]
    texts = [said for _, said in parts]
    said = ", ".join(texts) if pattern is None else pattern.format(*texts)
    if any(w is None for w in words):
        return EnglishWords(said)
    known = tuple(w for w in words if w is not None)
    return _worded(said, ListWords(known) if pattern is None else PhraseWords(pattern, known))


def value_table(owner: str, name: str) -> str:
    """The table of words for a VALUE_NAMES entry: Children.consent."""
    return f"{owner}.{name}"


def _english(words: str, english: bool = True) -> str:
    return EnglishWords(words) if english else words


# --- fact changes ----------------------------------------------------------------------

# What a field holds, by its type, for how a finding says its value in another language: the tenant's
# words (Text), a country in them (Country), or an address the same in every language (Email, Url, Phone).
ValueKind = Literal["text", "country", "address"]
_ADDRESSES = (Email, Phone, Url)


@dataclass(frozen=True)
class FactChange:
    """One change of the facts, before it is classified."""

    path: str
    change: ChangeKind
    old: Any
    new: Any
    subject: str  # the entry the change belongs to, in words
    item: str  # what was added, removed or changed, in words
    old_text: str | None = None  # how old and new read, when not as text() gives them
    new_text: str | None = None
    free_text: bool = False  # a `Text` fact (words), not a typed one (ids, durations, dates, ...)
    value_kind: ValueKind | None = None  # what old and new are, by their field's type; None: policygen names them

    @property
    def entry(self) -> Any:
        """What `when` conditions of a rule look at: the added entry, or the removed one."""
        return self.old if self.change == "removed" else self.new


def label(value: Any) -> str:
    """How a fact entry is named in words: its name, category, label, ..., or its id."""
    if isinstance(value, BaseModel):
        named = _vocabulary_name(value)
        if named is not None:
            return named
        for attr in (
            "label",
            "name",
            "category",
            "data",
            "destination",
            "description",
            "value",
            "text",
            "statement",
            "legal_name",
            "kind",
            "measure",
            "id",
        ):
            found = getattr(value, attr, None)
            if isinstance(found, str) and found:
                # the tenant's own words (a Text field); an id, a choice or a computed name is policygen's
                if is_free_text(type(value), attr):
                    return found
                return _choice_words(type(value), attr, found) or EnglishWords(found)
            if isinstance(found, Enum):
                return text(found)
        return EnglishWords(type(value).__name__)
    return text(value)


def _vocabulary_name(entry: BaseModel) -> str | None:
    """The name of an entry that is not one of its fields: policygen's from its vocabulary or tables (a right,
    a lawful basis, a permission the tenant gave no name, an announcement), by their words; a permission's
    name the tenant gave (or its id, when policygen has no name for it), as the tenant's words; an email,
    URL or phone channel by its address, as it is."""
    if isinstance(entry, Right):
        return _worded(entry.name, VocabularyWord("rights", entry.id))
    if isinstance(entry, LawfulBasis):
        return _worded(entry.label, VocabularyWord("lawful_bases", entry.basis.value))
    if isinstance(entry, Permission):
        if entry.name or entry.id not in PERMISSION_NAMES:
            return entry.label  # the tenant's words: quoted in their translation in another language
        return _worded(entry.label, VocabularyWord("permissions", entry.id))
    if isinstance(entry, Announcement):
        return _worded(entry.label, TableWord(value_table("Announcement", "kind"), entry.kind))
    if isinstance(entry, Channel) and entry.value and entry.kind in ("email", "url", "phone"):
        return _worded(entry.value, Verbatim(entry.value))
    return None


def text(value: Any) -> str:
    """A fact value as words, for reports and notices."""
    if value is None:
        return EnglishWords("none")
    if isinstance(value, bool):
        return _keyed("yes" if value else "no", "yes_no", "yes" if value else "no")
    if isinstance(value, Duration):
        return _worded(value.text, DurationWords(value))
    if isinstance(value, Kept):
        return _worded(value.words, RetentionWords(value))
    if isinstance(value, Basis):
        return _worded(BASIS_LABELS[value], VocabularyWord("lawful_bases", value.value))
    if isinstance(value, Enum):
        return EnglishWords(str(value.value))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return label(value)
    if isinstance(value, (list, tuple)):
        words = [(v, text(v)) for v in value]
        if not any(isinstance(w, EnglishWords) for _, w in words):
            return ", ".join(w for _, w in words)
        return _joined(words)
    return str(value)


def as_json(value: Any) -> Any:
    """A fact value as JSON data, for the machine-readable report."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, Duration):
        return value.text
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    return value


def _words(name: str) -> str:
    """A field's words: FIELD_WORDS', or its name as words ("category"); either has its word in a language
    under `fields:`, by field name, when the language gives one."""
    return _keyed(FIELD_WORDS.get(name, name.replace("_", " ")), "fields", name)


def _raw(value: Any) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


def _key_text(key: str) -> str:
    return key.replace("\\", "\\\\").replace("]", "\\]")


def _entry_keys(items: Sequence[BaseModel]) -> list[str]:
    """A stable key per list entry: its id, or the fields that identify it; repeats get '#2', '#3'."""
    keys: list[str] = []
    seen: Counter[str] = Counter()
    for item in items:
        if hasattr(item, "id") and isinstance(item.id, str):
            key = item.id
        else:
            fields = ENTRY_KEYS.get(type(item).__name__)
            if fields:
                key = ":".join(_raw(getattr(item, f)) for f in fields if getattr(item, f) is not None)
            else:
                key = label(item)
        seen[key] += 1
        keys.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return keys


class _Differ:
    def __init__(self, old: Tenant, new: Tenant) -> None:
        self.old_root, self.new_root = old, new
        self.out: list[FactChange] = []

    def resolve(self, owner: BaseModel, name: str, value: Any, root: Tenant) -> str:
        """Name the entry an id points at (a purpose's data category, ...)."""
        if isinstance(value, str) and (
            (type(owner).__name__, name) in VALUE_NAMES or value in choices(type(owner), name)
        ):
            return _choice_words(type(owner), name, value) or value
        target = REFERENCES.get((type(owner).__name__, name))
        if target is None or not isinstance(value, str):
            said = text(value)
            return said if isinstance(said, EnglishWords) else _english(said, not is_free_text(type(owner), name))
        entries: Any = root
        for part in target.split("."):
            entries = getattr(entries, part, None) if entries is not None else None
        for entry in entries or []:
            if getattr(entry, "id", None) == value:
                return label(entry)
        return EnglishWords(value)  # an id that names no entry

    def add(
        self,
        path: str,
        change: ChangeKind,
        old: Any,
        new: Any,
        subject: str,
        item: str,
        owner: BaseModel | None = None,
        name: str = "",
        kind: ValueKind | None = None,
    ) -> None:
        """A change; *owner* and *name*: the field whose value changed (its choices are named, its kind
        kept); *kind*: the kind of a plain value in a list, which has no owner here."""
        old_text = _choice_words(type(owner), name, old) if owner is not None else None
        new_text = _choice_words(type(owner), name, new) if owner is not None else None
        if owner is not None:
            kind = value_kind(type(owner), name)
        free = (
            change == "changed"
            and isinstance(old, str)
            and isinstance(new, str)
            and owner is not None
            and is_free_text(type(owner), name)
        )
        self.out.append(FactChange(path, change, old, new, subject, item, old_text, new_text, free, kind))

    def model(self, path: str, old: BaseModel, new: BaseModel, subject: str) -> None:
        for name in type(new).model_fields:
            if not path and name in IGNORED:
                continue
            a, b = getattr(old, name), getattr(new, name)
            if a == b:
                continue
            child = f"{path}.{name}" if path else name
            inner = subject if path or name not in SECTION_NAMES else _keyed(SECTION_NAMES[name], "sections", name)
            self.value(child, name, a, b, inner, old, new)

    def value(
        self, path: str, name: str, a: Any, b: Any, subject: str, owner_old: BaseModel, owner_new: BaseModel
    ) -> None:
        item = _words(name)
        if isinstance(a, list) or isinstance(b, list):
            self.list(path, name, a or [], b or [], subject, owner_old, owner_new)
        elif a is None and isinstance(b, bool):
            # A yes/no practice that was unknown is now stated: read like switching it on or off.
            self.add(path, "enabled" if b else "disabled", a, b, subject, item)
        elif a is None:
            self.add(
                path,
                "added",
                None,
                b,
                subject,
                label(b) if isinstance(b, BaseModel) else _named_field(item, owner_new, name, b),
                owner_new,
                name,
            )
        elif b is None:
            self.add(
                path,
                "removed",
                a,
                None,
                subject,
                label(a) if isinstance(a, BaseModel) else _named_field(item, owner_old, name, a),
                owner_old,
                name,
            )
        elif isinstance(a, Kept) and isinstance(b, Kept):
            self.add(path, _ordered(b.compare(a)), a, b, subject, item)
        elif "session" in (a, b) and isinstance(a if b == "session" else b, Duration):
            # A cookie that lasted only the browser session is shorter than any stated time.
            self.add(path, "lengthened" if a == "session" else "shortened", a, b, subject, item, owner_new, name)
        elif isinstance(a, BaseModel) and type(a) is type(b):
            self.model(path, a, b, subject)
        elif isinstance(a, Duration) and isinstance(b, Duration):
            order = b.compare(a)
            change: ChangeKind = "lengthened" if order > 0 else "shortened" if order < 0 else "reworded"
            self.add(path, change, a, b, subject, item)
        elif isinstance(a, bool) and isinstance(b, bool):
            self.add(path, "enabled" if b else "disabled", a, b, subject, item)
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
            self.add(path, "increased" if b > a else "decreased", a, b, subject, item)
        else:
            self.add(path, "changed", a, b, subject, item, owner_new, name)

    def list(
        self, path: str, name: str, a: list[Any], b: list[Any], subject: str, owner_old: BaseModel, owner_new: BaseModel
    ) -> None:
        if all(isinstance(x, BaseModel) for x in [*a, *b]):
            old = dict(zip(_entry_keys(a), a, strict=True))
            new = dict(zip(_entry_keys(b), b, strict=True))
            for key, entry in new.items():
                at = f"{path}[{_key_text(key)}]"
                if key not in old:
                    self.add(at, "added", None, entry, subject, label(entry))
                elif old[key] != entry:
                    self.model(at, old[key], entry, _subject(entry, subject))
            for key, entry in old.items():
                if key not in new:
                    self.add(f"{path}[{_key_text(key)}]", "removed", entry, None, subject, label(entry))
            return
        # Lists of plain values are sets of statements: order carries no meaning.
        kind = value_kind(type(owner_new), name)
        removed = Counter(map(_hashable, a)) - Counter(map(_hashable, b))
        added = Counter(map(_hashable, b)) - Counter(map(_hashable, a))
        for value in b:
            if added[_hashable(value)] > 0:
                added[_hashable(value)] -= 1
                item = self.resolve(owner_new, name, value, self.new_root)
                self.add(path, "added", None, value, subject, item, kind=kind)
        for value in a:
            if removed[_hashable(value)] > 0:
                removed[_hashable(value)] -= 1
                item = self.resolve(owner_old, name, value, self.old_root)
                self.add(path, "removed", value, None, subject, item, kind=kind)


def _choice_words(model: type[BaseModel], name: str, value: Any) -> EnglishWords | None:
    """A plain value's name in words: VALUE_NAMES', or a choice of the field as written ("processor"), each
    with its word in another language; None for any other value."""
    words = VALUE_NAMES.get((model.__name__, name))
    if value is None or isinstance(value, bool):
        return None
    if words is not None:
        return _named_value(model.__name__, name, str(value), words[str(value)]) if str(value) in words else None
    if isinstance(value, str) and value in choices(model, name):
        return _keyed(value, value_table(model.__name__, name), value)
    return None


@functools.cache
def choices(model: type[BaseModel], name: str) -> frozenset[str]:
    """The values a field of a facts model may take when it is a choice (a Literal); none for other fields."""
    field = model.model_fields.get(name)
    if field is None:
        return frozenset()
    return frozenset(
        choice
        for annotation in types_in(field.annotation)
        if get_origin(annotation) is Literal
        for choice in get_args(annotation)
        if isinstance(choice, str)
    )


@functools.cache
def value_kind(model: type[BaseModel], name: str) -> ValueKind | None:
    """What a field of a facts model holds, by its type: a country, an address, the tenant's words; None for
    anything else (a choice, an id, a number, a duration, an entry)."""
    field = model.model_fields.get(name)
    if field is None:
        return None
    if _holds(field, Country):
        return "country"
    if any(_holds(field, address) for address in _ADDRESSES):
        return "address"
    return "text" if is_free_text(model, name) else None


def _holds(field: FieldInfo, alias: Any) -> bool:
    """Whether a field is of the annotated type *alias* (Country, Email, ...) or holds it (`Email | None`).
    A plain `Country` field: pydantic keeps its validators apart from the type, the last one its own."""
    if field.annotation is str and get_args(alias)[-1] in field.metadata:
        return True
    return alias in types_in(field.annotation)


def _named_field(item: str, owner: BaseModel, name: str, value: Any) -> str:
    """A field added or removed, named with its value ("statement (Not for children.)"): said in another
    language when the field's words and the value both are (the tenant's words quoted, an address as it is)."""
    words = text(value)  # in English as it always read: "consent (parental)"
    choice = _choice_words(type(owner), name, value)
    kind = value_kind(type(owner), name)
    part = _kind_wording(kind, words) if kind is not None else _part(value, choice if choice is not None else words)
    said = f"{item} ({words})"
    wording = _wording(item)
    if part is None or wording is None:
        return EnglishWords(said)
    return _worded(said, PhraseWords("{} ({})", (wording, part)))


def _ordered(order: int | None) -> ChangeKind:
    """A change of an ordered fact: longer, shorter, the same span reworded, or not comparable."""
    if order is None:
        return "changed"
    return "lengthened" if order > 0 else "shortened" if order < 0 else "reworded"


def _subject(entry: BaseModel, parent: str) -> str:
    """How changes inside a list entry name what they belong to."""
    if isinstance(entry, LawfulBasis):
        return parent  # "For <purpose>, the interest we pursue ..." reads better than the basis's name
    if isinstance(entry, Right):
        # "How to delete your data: ...": lower-case in English; another language takes its vocabulary's
        # word as it is (lower-casing is not safe in every language: German's "Ihre" must stay "Ihre")
        name = entry.name
        return _worded(name[:1].lower() + name[1:], VocabularyWord("rights", entry.id))
    return label(entry)


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, Enum, type(None))) else repr(value)


def fact_changes(old: Tenant, new: Tenant) -> list[FactChange]:
    """Every change from *old* to *new*, by key path, in the order of the facts."""
    differ = _Differ(old, new)
    differ.model("", old, new, new.name)
    return differ.out


# --- findings --------------------------------------------------------------------------


@dataclass(frozen=True)
class FactFinding:
    """A fact change with its tier and the rule that decided it."""

    path: str
    change: ChangeKind
    old: Any
    new: Any
    tier: Level
    rule: str
    source: str
    says: str  # what changed, in plain words
    effect: str  # the likely effect on the reader
    # A changed free-text fact: each run of deleted and inserted words. None for typed facts.
    words: tuple[dict[str, str], ...] | None = None
    # An editorial candidate (a few words changed): the tier its rule gives, which applies unless
    # a release marks the wording editorial. None for every other finding.
    rule_tier: Tier | None = None
    # What the sentences were filled with, to say them again in another language; None for a finding
    # read back from a snapshot (its frozen English words are all there is).
    fill: tuple[Filled, ...] | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "change": self.change,
            "old": self.old,
            "new": self.new,
            "tier": self.tier,
            "rule": self.rule,
            "source": self.source,
            "says": self.says,
            "effect": self.effect,
        }
        if self.words is not None:
            data["words"] = [dict(h) for h in self.words]
        if self.rule_tier is not None:
            data["rule_tier"] = self.rule_tier
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FactFinding:
        found = cls(
            **{k: data.get(k, "") for k in ("path", "change", "old", "new", "tier", "rule", "source", "says", "effect")}
        )
        words = data.get("words")
        rule_tier = data.get("rule_tier")
        return replace(
            found,
            words=tuple(words) if isinstance(words, list) else None,
            rule_tier=as_tier(rule_tier),
        )

    @property
    def typed(self) -> bool:
        """Whether a fact changed other than in its wording (a typed fact, or one added or removed):
        never editorial. Presentation (technical) is not a change of meaning."""
        return self.words is None and self.tier != "technical"

    def in_language(self, sentences: Sentences, own: TenantWords | None = None) -> FactFinding:
        """The finding said in *sentences*' language: its rule's sentences there, filled with the same values;
        in English, each sentence a ForeignWord (marked lang="en"), when the language has no sentence or
        a value is policygen's English words. The tenant's own words are quoted in their translation in
        *own*; without one, in the source language, marked (the sentence is a MixedText)."""
        said = [self._said(part, sentences, own or TenantWords()) for part in ("say", "effect")]
        if not all(said):
            return replace(self, says=ForeignWord(self.says, SOURCE), effect=ForeignWord(self.effect, SOURCE))
        return replace(self, says=said[0] or "", effect=said[1] or "")

    def _said(self, part: Literal["say", "effect"], sentences: Sentences, own: TenantWords) -> str | None:
        if self.fill is None:
            return None
        if self.rule == "unclassified":
            template = sentences.summary.get("changed" if part == "say" else "read_section")
        else:
            template = sentences.rule(self.rule, part, self.change)
        if template is None:
            return None
        used = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        values: dict[str, str] = {}
        for filled in self.fill:
            said = filled.said(sentences, Quoting(own, self._side(filled.name))) if filled.name in used else filled.text
            if said is None:
                return None  # policygen's English words with no word in the language
            values[filled.name] = _QUOTE.format(said) if isinstance(said, ForeignWord) else said
        if any(mark in text for text in (template, *(f.text for f in self.fill)) for mark in _MARKS):
            return None  # the characters that mark a quote, in the words themselves: said in English, marked
        return _unquoted(_tidy(_filled_in(sentences.lang, template, values)))

    def _side(self, name: str) -> Side:
        """Which version a value was taken from: {old} the older, {new} the newer, the entry a change
        names ({subject}, {item}) the newer unless it was removed."""
        if name == "old" or (name != "new" and self.change == "removed"):
            return "old"
        return "new"

    def decided(self, editorial: bool) -> FactFinding:
        """An editorial candidate once a release decided: editorial, or the tier its rule gives."""
        if self.rule_tier is None or self.tier != "needs-review":
            return self
        return replace(self, tier="editorial" if editorial else self.rule_tier)


@dataclass(frozen=True)
class Filled:
    """A value a finding's sentences are filled with: {subject}, {item}, {old} or {new}."""

    name: str
    text: str
    english: bool  # policygen's English words: a sentence in another language uses only their words there
    wording: Wording | None = None  # how policygen's words are said in another language; None: not at all
    own: bool = False  # the tenant's own words (free text): quoted in their translation (TenantWords)

    def said(self, sentences: Sentences, own: Quoting | None = None) -> str | None:
        """The value in *sentences*' language: the tenant's words quoted (*own*), policygen's through the
        language's words for them, a number or a date as it is; None when it has none."""
        if self.wording is not None:
            return self.wording.said(sentences, own)
        if self.own:
            return TenantText(self.text).said(sentences, own)
        return None if self.english else self.text


def _spoken_in(lang: str, say: Callable[[], str]) -> str | None:
    """What *say* says with the text's language set to *lang*; None when it had no words there."""
    token = text_language.set(lang)
    try:
        said = say()
    finally:
        text_language.reset(token)
    return None if isinstance(said, ForeignWord) else said


def _fill(change: FactChange) -> tuple[Filled, ...]:
    old = change.old_text if change.old_text is not None else text(change.old)
    new = change.new_text if change.new_text is not None else text(change.new)
    subject, item = isinstance(change.subject, EnglishWords), isinstance(change.item, EnglishWords)
    return (
        Filled("subject", change.subject, subject, _wording(change.subject), own=not subject),
        Filled("item", change.item, item, _wording(change.item), own=not item),
        _value_filled("old", change, change.old, old),
        _value_filled("new", change, change.new, new),
    )


def _value_filled(name: str, change: FactChange, value: Any, words: str) -> Filled:
    """{old} or {new}: a fact's value by what its field holds (the tenant's words, a country, an address),
    else as policygen names it."""
    kind_wording = _kind_wording(change.value_kind, words) if value is not None else None
    if kind_wording is not None and not isinstance(words, EnglishWords):
        return Filled(name, words, False, kind_wording, own=isinstance(kind_wording, TenantText))
    return Filled(name, words, _english_value(change, value, words), _wording(words), _own(change, value, words))


def _kind_wording(kind: ValueKind | None, words: str) -> Wording | None:
    """How a value of a field of *kind* is said in any language; None: as policygen's words are."""
    if kind == "address":
        return Verbatim(words)
    if kind in ("text", "country"):
        return TenantText(words, country=kind == "country")
    return None


def _wording(words: str) -> Wording | None:
    return words.wording if isinstance(words, EnglishWords) else None


def _own(change: FactChange, value: Any, words: str) -> bool:
    """Whether an old or new value is the tenant's own words: a free-text fact, or an entry named by them."""
    return not isinstance(words, EnglishWords) and (change.free_text or isinstance(value, BaseModel))


Side = Literal["old", "new"]


@dataclass(frozen=True)
class Quoting:
    """How a finding quotes the tenant's own words in a language: *words*, as the version a value was taken
    from (*side*) published them."""

    words: TenantWords | None = None
    side: Side = "new"

    def quote(self, text: str, lang: str, country: bool = False) -> str:
        """*text* in its translation; a country in *lang*'s name for it (Babel's, as pages print it) when it
        has none; else as written, marked as a quote in the source language (a ForeignWord part, once tidied)."""
        quoted = (self.words or TenantWords()).quote(text, self.side)
        if not isinstance(quoted, ForeignWord):
            return quoted
        if country and country_code(text) is not None:
            return country_in(text, lang)
        return _QUOTE.format(quoted)


@dataclass(frozen=True)
class TenantWords:
    """The tenant's own words in one language, as each of the two versions a finding compares published
    them: each free-text fact's source text -> its translation then. None: that version's translations
    are not known (released before they were recorded); a text without one is quoted as written, marked."""

    old: Mapping[str, str] | None = None
    new: Mapping[str, str] | None = None

    def quote(self, text: str, side: Side) -> str:
        """*text* in its translation, else as written, marked as in the source language (a ForeignWord)."""
        translated = (self.old if side == "old" else self.new) or {}
        return translated.get(text) or ForeignWord(text, SOURCE)


# A quoted value left in the source language, and an address kept left to right, each marked inside a
# sentence until the sentence is tidied (private-use characters: no words hold them).
_OPEN, _CLOSE = "\ue002", "\ue003"
_QUOTE = _OPEN + "{}" + _CLOSE
_LTR_OPEN, _LTR_CLOSE = "\ue004", "\ue005"
_LTR = _LTR_OPEN + "{}" + _LTR_CLOSE
_MARKS = (_OPEN, _CLOSE, _LTR_OPEN, _LTR_CLOSE)
_MARKED = re.compile(f"{_OPEN}(.*?){_CLOSE}|{_LTR_OPEN}(.*?){_LTR_CLOSE}", re.DOTALL)


def _unquoted(words: str) -> str:
    """A tidied sentence with its marked quotes as ForeignWord parts and its addresses as LeftToRight parts
    (a MixedText), or as it is."""
    if _OPEN not in words and _LTR_OPEN not in words:
        return words
    parts: list[str] = []
    at = 0
    for match in _MARKED.finditer(words):
        parts.append(words[at : match.start()])
        parts.append(ForeignWord(match[1], SOURCE) if match[1] is not None else LeftToRight(match[2]))
        at = match.end()
    parts.append(words[at:])
    return MixedText(*(p for p in parts if p))


def _english_value(change: FactChange, value: Any, words: str) -> bool:
    """Whether an old or new value reads in policygen's English words: a number or a date reads in any
    language, a free-text fact or an entry's name in the tenant's words; an id or a choice is policygen's."""
    if isinstance(words, EnglishWords):
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return False
    if isinstance(value, BaseModel):
        return False  # an entry named by the tenant's words (label() marks policygen's own)
    return not (change.free_text or isinstance(value, dt.date))


def _sentence(template: str, change: FactChange) -> str:
    return _tidy(template.format(**{f.name: f.text for f in _fill(change)}))


# How a language joins a word that ends a sentence's text to the word a value starts with: the sentence was
# written without knowing the value ("au lieu de {old}"), and its words are policygen's ("le responsable").
# (the sentence's last word, the value's first word) -> the two said together.
_CONTRACTIONS: dict[str, dict[tuple[str, str], str]] = {
    "fr": {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"},
    "es": {("de", "el"): "del", ("a", "el"): "al"},
}
# A sentence's last word that drops its vowel before a value starting with one: "de un" -> "d'un".
_ELISIONS: dict[str, frozenset[str]] = {"fr": frozenset({"de", "que"})}
_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüœæ")


def _filled_in(lang: str, template: str, values: dict[str, str]) -> str:
    """*template* filled with *values*, each joined to the word before it the way *lang* joins them (only
    where a value begins: the sentence's own words are written as the language writes them). A value that
    is a quote or an address begins with its mark, never a letter, so it is joined as it is."""
    contractions, elisions = _CONTRACTIONS.get(lang, {}), _ELISIONS.get(lang, frozenset())
    out: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        value = values[name] if name is not None else ""
        head, space, before = literal[:-1].rpartition(" ")  # the word a space away from the value
        first, _, rest = value.partition(" ")
        joins = literal.endswith(" ") and before
        if joins and (said := contractions.get((before.lower(), first))) is not None and rest:
            literal, value = f"{head}{space}{_cased(said, before)} ", rest
        elif joins and before.lower() in elisions and value[:1].lower() in _VOWELS:
            literal = f"{head}{space}{_cased(before[0], before)}'"
        out.append(literal + value)
    return "".join(out)


def _cased(word: str, like: str) -> str:
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def _tidy(words: str) -> str:
    # a fact that ends its own sentence: no second full stop (Hindi's is the danda)
    words = re.sub(r"([.!?।])([\ue003\ue005]?\)?)[.।]$", r"\1\2", " ".join(words.split()))
    if words.startswith(_LTR_OPEN):
        return words  # an address is written as it is, never capitalised
    first = 1 if words.startswith(_OPEN) else 0  # a sentence that starts with a marked quote
    return words[: first + 1].upper() + words[first + 1 :]


def classify(change: FactChange, rules: RuleSet) -> FactFinding:
    rule: Rule | None = rules.classify(change.path, change.change, change.entry)
    words = text_hunks(change.old, change.new) if change.free_text else None
    if rule is None:  # only when a local rule file took the catch-all's kinds away
        return FactFinding(
            change.path,
            change.change,
            as_json(change.old),
            as_json(change.new),
            "minor",
            "unclassified",
            "",
            _sentence(SOURCE_SUMMARY.changed or "", change),
            SOURCE_SUMMARY.read_section or "",
            words,
            fill=_fill(change),
        )
    says = rule.say.get(change.change, SOURCE_SUMMARY.changed or "")
    effect = rule.effect.get(change.change, SOURCE_SUMMARY.read_section or "")
    tier: Level = rule.tiers[change.change]
    rule_tier: Tier | None = None
    if change.free_text and rank(tier) > rank("needs-review") and wording_only(change.old, change.new):
        tier, rule_tier = "needs-review", rule.tiers[change.change]
    return FactFinding(
        change.path,
        change.change,
        as_json(change.old),
        as_json(change.new),
        tier,
        rule.id,
        rule.source,
        _sentence(says, change),
        _sentence(effect, change),
        words,
        rule_tier,
        _fill(change),
    )


# --- wording changes of free-text facts --------------------------------------------------------

# How many words of a free-text fact may change, each like a typo, for the change to be an
# editorial candidate rather than a rewrite.
MAX_TYPO_WORDS = 3
MAX_TYPO_EDITS = 2  # letters inserted, deleted or replaced within one word


def text_hunks(old: str, new: str) -> tuple[dict[str, str], ...]:
    """The changed words of a free-text fact, as the clause redline shows them."""
    return tuple(hunks(word_diff(old.split(), new.split())))


def wording_only(old: str, new: str) -> bool:
    """Whether a free-text change looks like a typo fix: an editorial candidate, not a rewrite.

    True when words were only replaced one for one, each differing in case or punctuation, or
    (at most MAX_TYPO_WORDS of them) by at most MAX_TYPO_EDITS letters, and no number changed;
    words that are only punctuation may come or go. A word added or dropped ("not") is a rewrite.
    """
    replaced = 0
    for hunk in hunks(word_diff(old.split(), new.split())):
        gone = [w for w in hunk["old"].split() if _letters(w)]
        came = [w for w in hunk["new"].split() if _letters(w)]
        if len(gone) != len(came):
            return False
        if not all(_typo(a, b) for a, b in zip(gone, came, strict=True)):
            return False
        replaced += sum(
            _letters(a) != _letters(b) for a, b in zip(gone, came, strict=True)
        )  # case and punctuation are free
    return replaced <= MAX_TYPO_WORDS


def _letters(word: str) -> str:
    return "".join(ch for ch in word.casefold() if ch.isalnum())


def _typo(a: str, b: str) -> bool:
    x, y = _letters(a), _letters(b)
    if [c for c in x if c.isdigit()] != [c for c in y if c.isdigit()]:
        return False  # "30 days" -> "60 days" is one letter, and a new meaning
    return _within_edits(x, y, MAX_TYPO_EDITS)


def _within_edits(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance at most *limit*, in a band of that width (fast for any word length)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = {j: j for j in range(min(len(b), limit) + 1)}
    for i in range(1, len(a) + 1):
        current: dict[int, int] = {}
        for j in range(max(0, i - limit), min(len(b), i + limit) + 1):
            options = [previous.get(j, limit + 1) + 1]
            options.append(current.get(j - 1, limit + 1) + 1 if j else i)
            if j:
                options.append(previous.get(j - 1, limit + 1) + (a[i - 1] != b[j - 1]))
            current[j] = min(options)
        if min(current.values()) > limit:
            return False  # every way on is already too far: stop early, however long the word
        previous = current
    return previous.get(len(b), limit + 1) <= limit


def decide(findings: Sequence[FactFinding], editorial: bool) -> list[FactFinding]:
    """The findings as a release records them: each editorial candidate editorial, or its rule's tier."""
    return [f.decided(editorial) for f in findings]


def diff_facts(old: Tenant, new: Tenant, rules: RuleSet) -> list[FactFinding]:
    return [classify(c, rules) for c in fact_changes(old, new)]
