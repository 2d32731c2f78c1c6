"""What changed between two versions of a policy, and whether people must be told.

The meaning of a policy is in its facts, so the facts are compared first, by key
path and with their meaning: lists are matched by id (reordering is no change),
durations are compared as spans ("2 years" is longer than "18 months"), yes/no
facts are switched on or off. Each change is put in a tier by the rules
(policygen/rules.py, data in policygen/data/rules.yaml). The clause text is
compared word by word as evidence; wording that changed while no fact did
"needs review" unless the release marks it editorial with a reason.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from enum import Enum
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel, ValidationError

from .durations import Duration
from .errors import InputError, Problem, UsageError
from .facts import (
    BASIS_LABELS,
    NOT_COLLECTED_NAMES,
    TRACKER_CATEGORY_NAMES,
    Basis,
    Kept,
    LawfulBasis,
    Right,
    Tenant,
    Text,
)
from .law import REGIME_NAMES, transfer_mechanisms
from .render import ClauseRenderer, render_document
from .rules import LEVELS, NOTICE_TIERS, Rule, RuleSet, load_rules, rank
from .text import one_line
from .versions import dated_facts, frozen_clauses

if TYPE_CHECKING:
    from .project import Project, TenantSource
    from .versions import Snapshot, Summariser

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

# Plain values of a few facts and lists, read as words.
VALUE_NAMES = {
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
    ("Transfer", "safeguards"): {m.id: m.name for m in transfer_mechanisms().values()},
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
}

# Keys for list entries that have no id field.
ENTRY_KEYS: dict[str, tuple[str, ...]] = {
    "LawfulBasis": ("basis",),
    "Channel": ("kind", "value"),
    "Source": ("kind",),
    "ScopedMeasure": ("measure",),
    "Announcement": ("kind",),
}


# --- fact changes ----------------------------------------------------------------------


@dataclass(frozen=True)
class FactChange:
    """One change of the facts, before it is classified."""

    path: str
    change: str  # added, removed, changed, lengthened, shortened, reworded, enabled, disabled, increased, decreased
    old: Any
    new: Any
    subject: str  # the entry the change belongs to, in words
    item: str  # what was added, removed or changed, in words
    old_text: str | None = None  # how old and new read, when not as text() gives them
    new_text: str | None = None
    free_text: bool = False  # a `Text` fact (words), not a typed one (ids, durations, dates, ...)

    @property
    def entry(self) -> Any:
        """What `when` conditions of a rule look at: the added entry, or the removed one."""
        return self.old if self.change == "removed" else self.new


def label(value: Any) -> str:
    """How a fact entry is named in words: its name, category, label, ..., or its id."""
    if isinstance(value, BaseModel):
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
                return found
            if isinstance(found, Enum):
                return text(found)
        return type(value).__name__
    return text(value)


def text(value: Any) -> str:
    """A fact value as words, for reports and notices."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Duration):
        return value.text
    if isinstance(value, Kept):
        return value.words
    if isinstance(value, Basis):
        return BASIS_LABELS[value]
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return label(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value)
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
    return FIELD_WORDS.get(name, name.replace("_", " "))


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
        words = VALUE_NAMES.get((type(owner).__name__, name))
        if words is not None and isinstance(value, str):
            return words.get(value, value)
        target = REFERENCES.get((type(owner).__name__, name))
        if target is None or not isinstance(value, str):
            return text(value)
        entries: Any = root
        for part in target.split("."):
            entries = getattr(entries, part, None) if entries is not None else None
        for entry in entries or []:
            if getattr(entry, "id", None) == value:
                return label(entry)
        return value

    def add(
        self,
        path: str,
        change: str,
        old: Any,
        new: Any,
        subject: str,
        item: str,
        owner: BaseModel | None = None,
        name: str = "",
    ) -> None:
        words = VALUE_NAMES.get((type(owner).__name__, name)) if owner is not None else None
        old_text = words.get(str(old), None) if words and old is not None else None
        new_text = words.get(str(new), None) if words and new is not None else None
        free = (
            change == "changed"
            and isinstance(old, str)
            and isinstance(new, str)
            and owner is not None
            and is_free_text(type(owner), name)
        )
        self.out.append(FactChange(path, change, old, new, subject, item, old_text, new_text, free))

    def model(self, path: str, old: BaseModel, new: BaseModel, subject: str) -> None:
        for name in type(new).model_fields:
            if not path and name in IGNORED:
                continue
            a, b = getattr(old, name), getattr(new, name)
            if a == b:
                continue
            child = f"{path}.{name}" if path else name
            inner = subject if path else SECTION_NAMES.get(name, subject)
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
                label(b) if isinstance(b, BaseModel) else f"{item} ({text(b)})",
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
                label(a) if isinstance(a, BaseModel) else f"{item} ({text(a)})",
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
            change = "lengthened" if order > 0 else "shortened" if order < 0 else "reworded"
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
        removed = Counter(map(_hashable, a)) - Counter(map(_hashable, b))
        added = Counter(map(_hashable, b)) - Counter(map(_hashable, a))
        for value in b:
            if added[_hashable(value)] > 0:
                added[_hashable(value)] -= 1
                self.add(path, "added", None, value, subject, self.resolve(owner_new, name, value, self.new_root))
        for value in a:
            if removed[_hashable(value)] > 0:
                removed[_hashable(value)] -= 1
                self.add(path, "removed", value, None, subject, self.resolve(owner_old, name, value, self.old_root))


def _annotations(annotation: Any) -> list[Any]:
    """An annotation and every type inside it (`Text | None` holds `Text`)."""
    return [annotation, *[inner for arg in get_args(annotation) for inner in _annotations(arg)]]


def is_free_text(model: type[BaseModel], name: str) -> bool:
    """Whether a field of a facts model holds free text (`Text`), whose words a diff compares."""
    field = model.model_fields.get(name)
    if field is None:
        return False
    if field.annotation is str and any(m in get_args(Text)[1:] for m in field.metadata):
        return True  # a plain `Text` field: pydantic keeps its metadata apart from the type
    return any(a == Text for a in _annotations(field.annotation))


def _ordered(order: int | None) -> str:
    """A change of an ordered fact: longer, shorter, the same span reworded, or not comparable."""
    if order is None:
        return "changed"
    return "lengthened" if order > 0 else "shortened" if order < 0 else "reworded"


def _subject(entry: BaseModel, parent: str) -> str:
    """How changes inside a list entry name what they belong to."""
    if isinstance(entry, LawfulBasis):
        return parent  # "For <purpose>, the interest we pursue ..." reads better than the basis's name
    if isinstance(entry, Right):
        name = entry.name
        return name[:1].lower() + name[1:]  # "How to delete your data: ..."
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
class Finding:
    """A fact change with its tier and the rule that decided it."""

    path: str
    change: str
    old: Any
    new: Any
    tier: str
    rule: str
    source: str
    says: str  # what changed, in plain words
    effect: str  # the likely effect on the reader
    # A changed free-text fact: each run of deleted and inserted words. None for typed facts.
    words: tuple[dict[str, str], ...] | None = None
    # An editorial candidate (a few words changed): the tier its rule gives, which applies unless
    # a release marks the wording editorial. None for every other finding.
    rule_tier: str | None = None

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
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        found = cls(
            **{k: data.get(k, "") for k in ("path", "change", "old", "new", "tier", "rule", "source", "says", "effect")}
        )
        words = data.get("words")
        rule_tier = data.get("rule_tier")
        return replace(
            found,
            words=tuple(words) if isinstance(words, list) else None,
            rule_tier=rule_tier if isinstance(rule_tier, str) else None,
        )

    @property
    def typed(self) -> bool:
        """Whether a fact changed other than in its wording (a typed fact, or one added or removed):
        never editorial. Presentation (technical) is not a change of meaning."""
        return self.words is None and self.tier != "technical"

    def decided(self, editorial: bool) -> Finding:
        """An editorial candidate once a release decided: editorial, or the tier its rule gives."""
        if self.rule_tier is None or self.tier != "needs-review":
            return self
        return replace(self, tier="editorial" if editorial else self.rule_tier)


def _sentence(template: str, change: FactChange) -> str:
    old = change.old_text if change.old_text is not None else text(change.old)
    new = change.new_text if change.new_text is not None else text(change.new)
    words = template.format(subject=change.subject, item=change.item, old=old, new=new)
    # a fact that ends its own sentence: no second full stop
    words = re.sub(r"([.!?])(\)?)\.$", r"\1\2", " ".join(words.split()))
    return words[:1].upper() + words[1:]


def classify(change: FactChange, rules: RuleSet) -> Finding:
    rule: Rule | None = rules.classify(change.path, change.change, change.entry)
    words = text_hunks(change.old, change.new) if change.free_text else None
    if rule is None:  # only when a local rule file took the catch-all's kinds away
        return Finding(
            change.path,
            change.change,
            as_json(change.old),
            as_json(change.new),
            "minor",
            "unclassified",
            "",
            _sentence("{subject}: {item} changed.", change),
            "Read the updated section.",
            words,
        )
    says = rule.say.get(change.change, "{subject}: {item} changed.")
    effect = rule.effect.get(change.change, "Read the updated section.")
    tier, rule_tier = rule.tiers[change.change], None
    if change.free_text and rank(tier) > rank("needs-review") and wording_only(change.old, change.new):
        tier, rule_tier = "needs-review", tier
    return Finding(
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


def decide(findings: Sequence[Finding], editorial: bool) -> list[Finding]:
    """The findings as a release records them: each editorial candidate editorial, or its rule's tier."""
    return [f.decided(editorial) for f in findings]


def diff_facts(old: Tenant, new: Tenant, rules: RuleSet) -> list[Finding]:
    return [classify(c, rules) for c in fact_changes(old, new)]


# --- clause text -----------------------------------------------------------------------

BREAK = "\n"  # a token that ends a paragraph, so a redline keeps the clause's shape
_BLOCKS = frozenset(
    {
        "p",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "div",
        "section",
        "table",
        "ul",
        "ol",
        "blockquote",
        "dt",
        "dd",
        "br",
        "pre",
    }
)


_MARK = "\ue002"  # marks a block boundary in the parsed text; newlines in HTML source are only spaces


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(f" {_MARK} ")
        elif tag in {"td", "th"}:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.handle_starttag(tag, [])

    def handle_data(self, data: str) -> None:
        self.parts.append(data.replace(_MARK, " "))


def tokens(fragment: str) -> list[str]:
    """The words of an HTML fragment, with a BREAK token between blocks (never two in a row)."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    out: list[str] = []
    for word in "".join(parser.parts).split():
        if word == _MARK:
            if out and out[-1] != BREAK:
                out.append(BREAK)
        else:
            out.append(word)
    while out and out[-1] == BREAK:
        out.pop()
    return out


def words(fragment: str) -> list[str]:
    return [t for t in tokens(fragment) if t != BREAK]


@dataclass(frozen=True)
class ClauseText:
    """One clause as a reader sees it: title and rendered HTML."""

    title: str
    html: str

    def tokens(self) -> list[str]:
        return [*self.title.split(), BREAK, *tokens(self.html)]


@dataclass(frozen=True)
class Piece:
    """A run of the redline: equal, insert or delete, with its tokens."""

    op: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class ClauseChange:
    id: str
    title: str
    status: str  # added, removed or changed; see `review`
    review: str  # follows-facts, needs-review or editorial
    pieces: tuple[Piece, ...]
    reason: str | None = None

    @property
    def inserted(self) -> int:
        return sum(len([t for t in p.tokens if t != BREAK]) for p in self.pieces if p.op == "insert")

    @property
    def deleted(self) -> int:
        return sum(len([t for t in p.tokens if t != BREAK]) for p in self.pieces if p.op == "delete")

    def hunks(self) -> list[dict[str, str]]:
        """The changed words: each run of deleted and inserted words, with what replaced what."""
        return hunks(self.pieces)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "review": self.review,
            "inserted": self.inserted,
            "deleted": self.deleted,
            "words": self.hunks(),
        }
        if self.reason:
            data["reason"] = self.reason
        return data


def hunks(pieces: Sequence[Piece]) -> list[dict[str, str]]:
    """Each run of deleted and inserted words of a redline, with what replaced what."""
    out: list[dict[str, str]] = []
    pending: dict[str, str] = {}
    for piece in [*pieces, Piece("equal", ())]:
        if piece.op == "equal":
            if pending:
                out.append({"old": pending.get("delete", ""), "new": pending.get("insert", "")})
                pending = {}
            continue
        joined = " ".join(t for t in piece.tokens if t != BREAK)
        if joined:
            pending[piece.op] = (pending.get(piece.op, "") + " " + joined).strip()
    return out


def word_diff(old: Sequence[str], new: Sequence[str]) -> tuple[Piece, ...]:
    """Insertions and deletions that turn the *old* tokens into the *new* ones, word by word."""
    pieces: list[Piece] = []
    matcher = SequenceMatcher(None, list(old), list(new), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(Piece("equal", tuple(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("delete", tuple(old[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("insert", tuple(new[j1:j2])))
    return tuple(pieces)


def _same_words(a: ClauseText | None, b: ClauseText | None) -> bool:
    if a is None or b is None:
        return a is b
    return [t for t in a.tokens() if t != BREAK] == [t for t in b.tokens() if t != BREAK]


def diff_clauses(
    old: Mapping[str, ClauseText],
    new: Mapping[str, ClauseText],
    *,
    facts_changed: bool,
    expected: Mapping[str, ClauseText] | None = None,
    expected_new: Mapping[str, ClauseText] | None = None,
    editorial: str | None = None,
    recorded: Mapping[str, str] | None = None,
) -> list[ClauseChange]:
    """Clause by clause word changes, in the new document's order (removed clauses last).

    A change "follows-facts" when the clause's wording did not change, only the
    facts it prints. *expected* and *expected_new* are today's clauses rendered
    with the old and with the new facts: when both sides read as today's clauses
    do with their facts, only facts changed; when one does and the other does not,
    the wording changed. When neither tells (no rendering, or both differ from
    today's clauses), a change follows the facts if any fact changed.
    Otherwise it "needs-review", or is "editorial" when the release says why.
    *recorded* keeps the review a release already recorded for a clause.
    """
    out: list[ClauseChange] = []
    ids = [*new, *[cid for cid in old if cid not in new]]
    for cid in ids:
        a, b = old.get(cid), new.get(cid)
        if _same_words(a, b):
            continue
        status = "added" if a is None else "removed" if b is None else "changed"
        reason = None
        if recorded is not None and cid in recorded:
            review = recorded[cid]
            reason = editorial if review == "editorial" else None
        else:
            known_old = expected is not None and _same_words(a, expected.get(cid))
            known_new = expected_new is not None and _same_words(b, expected_new.get(cid))
            if known_old and known_new:
                review = "follows-facts"
            elif (expected is not None and expected_new is not None) and (known_old or known_new):
                review = "needs-review"
            else:
                review = "follows-facts" if facts_changed else "needs-review"
        if review == "needs-review" and editorial:
            review, reason = "editorial", editorial
        pieces = word_diff(a.tokens() if a else [], b.tokens() if b else [])
        title = (b or a).title  # type: ignore[union-attr]
        out.append(ClauseChange(cid, title, status, review, pieces, reason))
    return out


# --- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One end of a comparison: a released version or the working tree."""

    label: str  # "1", "2", ... or "working"
    facts: Tenant
    clauses: Mapping[str, ClauseText]
    effective: dt.date
    released: dt.date | None = None


@dataclass(frozen=True)
class DiffReport:
    tenant: str
    document: str
    old: Side
    new: Side
    tier: str
    findings: tuple[Finding, ...]
    clauses: tuple[ClauseChange, ...]
    notice_days: int = 30
    rules: tuple[str, ...] = ()
    editorial: str | None = None  # why the release marked wording changes editorial

    @property
    def needs_notice(self) -> bool:
        return self.tier in {"material", "consent"}

    @property
    def summary(self) -> str:
        """One sentence for changelogs and feeds."""
        notable = [f for f in self.findings if rank(f.tier) >= rank("minor")]
        if notable:
            top = max(notable, key=lambda f: rank(f.tier))
            more = len(notable) - 1
            return top.says + (f" ({more} more change{'s' if more != 1 else ''}.)" if more else "")
        reworded = [f for f in self.findings if f.tier == "needs-review"]
        if reworded:
            return f"A few words changed in {', '.join(f.path for f in reworded)}; is the meaning the same?"
        if any(c.review == "needs-review" for c in self.clauses):
            return "The wording changed; the facts did not."
        if any(c.review == "editorial" for c in self.clauses) or any(f.tier == "editorial" for f in self.findings):
            reason = self.editorial or next((c.reason for c in self.clauses if c.reason), None)
            return "Editorial changes" + (f": {reason}." if reason else ".")
        if self.findings:
            return "Presentation changes only."
        return "No change."

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "document": self.document,
            "from": self.old.label,
            "to": self.new.label,
            "effective": {"from": self.old.effective.isoformat(), "to": self.new.effective.isoformat()},
            "tier": self.tier,
            "notice": self.needs_notice,
            "summary": self.summary,
            "findings": [f.to_json() for f in self.findings],
            "clauses": [c.to_json() for c in self.clauses],
        }

    def to_text(self) -> str:
        lines = [
            f"{self.tenant}/{self.document}: {_side_name(self.old.label)} ({self.old.effective}) -> "
            f"{_side_name(self.new.label)} ({self.new.effective})",
            f"tier: {self.tier}" + (" - users must be told before it takes effect" if self.needs_notice else ""),
        ]
        if self.findings:
            lines.append("")
            lines.append("fact changes:")
            for f in sorted(self.findings, key=lambda f: -rank(f.tier)):
                lines.append(f"  {f.tier:<9} {f.path} {f.change}: {_short(f.old)} -> {_short(f.new)}")
                lines.append(f"            {f.says}")
                lines.append(f"            rule {f.rule}" + (f" ({f.source})" if f.source else ""))
                for hunk in (f.words or ())[:5]:
                    lines.append(f"            - {_clip(hunk['old'])}" if hunk["old"] else "            - ")
                    lines.append(f"            + {_clip(hunk['new'])}" if hunk["new"] else "            + ")
                if f.tier == "needs-review":
                    lines.append(
                        f"            a few words changed: if the meaning did not, release with --editorial "
                        f"REASON; otherwise its rule's tier ({f.rule_tier}) applies"
                    )
        if self.clauses:
            lines.append("")
            lines.append("clause text:")
            for c in self.clauses:
                note = f"; {c.reason}" if c.reason else ""
                lines.append(f"  {c.id} ({c.status}, +{c.inserted} -{c.deleted} words, {c.review}{note})")
                for hunk in c.hunks()[:5]:
                    lines.append(f"    - {_clip(hunk['old'])}" if hunk["old"] else "    - ")
                    lines.append(f"    + {_clip(hunk['new'])}" if hunk["new"] else "    + ")
                if len(c.hunks()) > 5:
                    lines.append(f"    ... {len(c.hunks()) - 5} more")
        if not self.findings and not self.clauses:
            lines.append("no change in the facts or the text")
        return "\n".join(one_line(line) for line in lines) + "\n"  # a fact never breaks a line or drives the terminal


def _side_name(label: str) -> str:
    """'version 3', 'working tree', or a side's own name (e.g. 'old library' in policygen.upgrade)."""
    if label == "working":
        return "working tree"
    return f"version {label}" if label.isdigit() else label


def _short(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return _clip(", ".join(f"{k}: {v}" for k, v in value.items() if not isinstance(v, (list, dict))) or "{...}")
    if isinstance(value, list):
        return _clip(", ".join(map(str, value)))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _clip(str(value))


def _clip(value: str, width: int = 90) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def overall(findings: Sequence[Finding], clauses: Sequence[ClauseChange], markup_changed: bool = False) -> str:
    """The highest tier of all findings and clause reviews."""
    levels = [f.tier for f in findings]
    levels += [c.review for c in clauses if c.review in LEVELS]
    if not levels:
        return "technical" if markup_changed else "none"
    return max(levels, key=rank)


def compare(
    tenant: str,
    document: str,
    old: Side,
    new: Side,
    rules: RuleSet,
    *,
    expected: Mapping[str, ClauseText] | None = None,
    expected_new: Mapping[str, ClauseText] | None = None,
    editorial: str | None = None,
    recorded: Mapping[str, str] | None = None,
    released: bool = False,
) -> DiffReport:
    """The full comparison of two versions of one document.

    *released*: the new side is (or becomes) a release, which decided each editorial candidate:
    editorial with the release's *editorial* reason, else the tier its rule gives.
    """
    findings = diff_facts(old.facts, new.facts, rules)
    if editorial or released:
        findings = decide(findings, editorial=bool(editorial))
    facts_changed = any(f.tier != "technical" for f in findings)
    clauses = diff_clauses(
        old.clauses,
        new.clauses,
        facts_changed=facts_changed,
        expected=expected,
        expected_new=expected_new,
        editorial=editorial,
        recorded=recorded,
    )
    markup = dict(old.clauses) != dict(new.clauses)
    return DiffReport(
        tenant,
        document,
        old,
        new,
        overall(findings, clauses, markup),
        tuple(findings),
        tuple(clauses),
        rules.notice_days,
        rules.files,
        editorial,
    )


# --- versions: releases and the working tree -----------------------------------------------

WORKING = "working"


def snapshot_side(snap: Snapshot) -> Side:
    try:
        facts = snap.facts
    except ValidationError as exc:
        raise InputError(
            [
                Problem(
                    f"version {snap.version} holds facts today's model cannot read: "
                    f"{exc.errors(include_url=False)[0]['msg']}",
                    file=snap.path,
                    key_path="facts",
                    suggestion="released facts are kept as they were; compare newer versions",
                )
            ]
        ) from None
    return Side(
        snap.label, facts, {c.id: ClauseText(c.title, c.html) for c in snap.clauses}, snap.effective, snap.released
    )


def recorded_reviews(snap: Snapshot) -> dict[str, str] | None:
    """The clause reviews a release recorded (follows-facts, needs-review, editorial), if it did."""
    changes = snap.changes
    if not isinstance(changes, dict) or not isinstance(changes.get("clauses"), list):
        return None
    return {
        c["id"]: c["review"]
        for c in changes["clauses"]
        if isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("review"), str)
    }


def recorded_reason(snap: Snapshot) -> str | None:
    changes = snap.changes
    reason = changes.get("editorial") if isinstance(changes, dict) else None
    return reason if isinstance(reason, str) else None


@dataclass
class Workspace:
    """A tenant's project as read from disk, to render documents with any facts."""

    project: Project
    tenant: TenantSource
    renderer: ClauseRenderer
    rules: RuleSet

    @classmethod
    def open(cls, root: Path, slug: str) -> Workspace:
        from .project import load_project

        project = load_project(root, [slug])
        return cls(project, project.tenants[slug], ClauseRenderer(project.content), load_rules(project.root, slug))

    @property
    def slug(self) -> str:
        return self.tenant.slug

    def document(self, document: str | None) -> str:
        from .project import tenant_document

        return tenant_document(self.tenant, document)

    def render(self, doc_id: str, facts: Tenant) -> dict[str, ClauseText]:
        """Today's clauses of the document, rendered with *facts*."""
        from .project import document_title

        doc = render_document(
            self.renderer,
            self.slug,
            facts,
            doc_id,
            self.tenant.documents[doc_id],
            document_title(self.project, self.tenant, doc_id),
        )
        # As a snapshot holds them (sanitised), so that the same text compares equal to a release.
        return {c.id: ClauseText(c.title, c.html) for c in frozen_clauses(doc)}

    def try_render(self, doc_id: str, facts: Tenant) -> dict[str, ClauseText] | None:
        """As render, or None when today's clauses cannot render with these (older) facts."""
        try:
            return self.render(doc_id, facts)
        except InputError:
            return None

    def working(self, doc_id: str, dated_as: Side | None = None) -> Side:
        """The document as it reads now; with *dated_as*, printed with that version's dates, so that
        dates alone (which only a release sets) do not show up as edits."""
        facts = self.tenant.facts
        shown = facts
        if dated_as is not None:
            shown = dated_facts(facts, dated_as.effective, dated_as.released or dated_as.effective)
        return Side(WORKING, facts, self.render(doc_id, shown), facts.dates.effective, None)

    def compare(
        self,
        doc_id: str,
        old: Side,
        new: Side,
        *,
        editorial: str | None = None,
        recorded: Mapping[str, str] | None = None,
        released: bool = False,
    ) -> DiffReport:
        """Compare two sides, telling wording edits from fact edits by rendering today's clauses with each.

        With *recorded* reviews (a release recorded them when it was made) nothing is rendered, and
        the release's decisions on editorial candidates hold.
        """
        expected_old = expected_new = None
        if recorded is None:
            expected_old = self.try_render(doc_id, old.facts)
            expected_new = new.clauses if new.label == WORKING else self.try_render(doc_id, new.facts)
        return compare(
            self.slug,
            doc_id,
            old,
            new,
            self.rules,
            expected=expected_old,
            expected_new=expected_new,
            editorial=editorial,
            recorded=recorded,
            released=released or recorded is not None,
        )


def _pick(releases: list[Snapshot], label: str, slug: str, doc_id: str) -> Snapshot:
    for snap in releases:
        if (
            snap.label == label
            or (label.isdigit() and snap.version == int(label))
            or snap.effective.isoformat() == label
        ):
            return snap
    known = ", ".join(s.label for s in releases) or "none"
    raise UsageError(
        f"{slug}/{doc_id} has no version '{label}' (released versions: {known}; "
        "name one by number or effective date, or 'working')"
    )


def diff_document(
    root: Path, slug: str, document: str | None = None, from_version: str | None = None, to_version: str | None = None
) -> DiffReport:
    """`policygen diff`: a released version against another, or against the working tree (the default)."""
    from .versions import load_releases

    space = Workspace.open(root, slug)
    doc_id = space.document(document)
    releases = load_releases(space.tenant.folder, doc_id)
    if from_version is None:
        if not releases:
            raise UsageError(
                f"{slug}/{doc_id} has no released version to compare with; release one first "
                f"(policygen release {slug} --document {doc_id} --effective YYYY-MM-DD)"
            )
        old_snap = releases[-1]
    else:
        old_snap = _pick(releases, from_version, slug, doc_id)
    old = snapshot_side(old_snap)
    if to_version in (None, WORKING):
        return space.compare(doc_id, old, space.working(doc_id, dated_as=old))
    new_snap = _pick(releases, to_version, slug, doc_id)
    recorded = recorded_reviews(new_snap) if new_snap.version == old_snap.version + 1 else None
    return space.compare(doc_id, old, snapshot_side(new_snap), editorial=recorded_reason(new_snap), recorded=recorded)


def history(space: Workspace, doc_id: str, releases: list[Snapshot]) -> list[DiffReport]:
    """The diff of every pair of consecutive versions, oldest first."""
    reports: list[DiffReport] = []
    for old_snap, new_snap in itertools.pairwise(releases):
        recorded = recorded_reviews(new_snap)
        reports.append(
            space.compare(
                doc_id,
                snapshot_side(old_snap),
                snapshot_side(new_snap),
                editorial=recorded_reason(new_snap),
                recorded=recorded,
            )
        )
    return reports


# --- release: recording the diff, and holding back changes announced too late ----------------------


@dataclass(frozen=True)
class ReleaseNote:
    """What `policygen release` adds to a version besides its text."""

    editorial: str | None = None  # why wording edits with unchanged facts are editorial
    force: str | None = None  # why a material change may take effect before the notice period ends


def recorded(report: DiffReport, note: ReleaseNote) -> dict[str, Any]:
    """The `changes` field of a snapshot: the tier, the findings and each clause's review."""
    data: dict[str, Any] = {
        "from": report.old.label,
        "tier": report.tier,
        "summary": report.summary,
        "notice_days": report.notice_days,
        "findings": [f.to_json() for f in report.findings],
        "clauses": [
            {"id": c.id, "status": c.status, "review": c.review, "inserted": c.inserted, "deleted": c.deleted}
            for c in report.clauses
        ],
    }
    if note.editorial:
        data["editorial"] = note.editorial
    if note.force:
        data["forced"] = note.force
    return data


def summariser(root: Path, slug: str, note: ReleaseNote) -> Summariser:
    """The hook `versions.release` calls for each document it releases."""
    space: list[Workspace] = []

    def summarise(previous: Snapshot | None, candidate: Snapshot) -> dict[str, Any] | None:
        if previous is None:
            return {"from": None, "tier": None, "summary": "First published version.", "findings": [], "clauses": []}
        if not space:
            space.append(Workspace.open(root, slug))
        ws = space[0]
        report = ws.compare(
            candidate.document,
            snapshot_side(previous),
            snapshot_side(candidate),
            editorial=note.editorial,
            released=True,
        )
        if note.editorial:
            check_editorial(report, candidate.document)
        check_notice(report, candidate, note, ws)
        return recorded(report, note)

    return summarise


def release_report(root: Path, slug: str, snap: Snapshot) -> str:
    """What `policygen release` prints for a new version; facts in the summary are escaped for the terminal."""
    where = snap.path.relative_to(root).as_posix() if snap.path and snap.path.is_relative_to(root) else snap.file_name
    lines = [f"Released {slug}/{snap.document} version {snap.version}, effective {snap.effective}: {where}"]
    if snap.tier:
        lines.append(f"  {snap.tier} change: {snap.summary}")
    return "\n".join(one_line(line) for line in lines)


def check_editorial(report: DiffReport, document: str) -> None:
    """--editorial covers wording only: a typed fact that changed is never editorial."""
    typed = [f"{f.path} ({f.change})" for f in report.findings if f.typed]
    if typed:
        raise UsageError(
            f"--editorial marks changed wording only, but {document} has facts that changed "
            f"otherwise: {', '.join(typed)}; release without --editorial (policygen diff shows "
            "their tiers), or release the wording fix on its own first"
        )


def check_notice(report: DiffReport, candidate: Snapshot, note: ReleaseNote, space: Workspace) -> None:
    """Refuse a material change that takes effect before people could have been told."""
    if not report.needs_notice:
        return
    lead = (candidate.effective - candidate.released).days
    if lead >= report.notice_days or note.force:
        return
    top = max(report.findings, key=lambda f: rank(f.tier))
    try:
        earliest = candidate.released + dt.timedelta(days=report.notice_days)
    except OverflowError:  # a release dated near 9999-12-31: no date exists that far ahead
        raise UsageError(
            f"--released {candidate.released}: the {report.notice_days}-day notice period of this "
            f"{report.tier} change would end after {dt.date.max}, the last date policygen can write; "
            "pass a real release date"
        ) from None
    suggestion = (
        "pick a later --effective date, or pass --force --reason '...' to record why it cannot wait "
        "(notice_days is set in rules.yaml)"
    )
    reworded = [f.path for f in report.findings if f.rule_tier in NOTICE_TIERS and f.tier == f.rule_tier]
    if reworded and not any(f.typed and f.tier in NOTICE_TIERS for f in report.findings):
        suggestion = (
            f"only a few words of {', '.join(reworded)} changed: if the meaning did not, pass "
            f"--editorial REASON (no notice needed); otherwise {suggestion}"
        )
    raise InputError(
        [
            Problem(
                f"{candidate.document}: this is a {report.tier} change ({one_line(top.says)}) taking effect {lead} day"
                f"{'s' if lead != 1 else ''} after its release; people must be told {report.notice_days} days ahead",
                file=space.tenant.folder / "tenant.yaml",
                key_path=top.path,
                expected=f"--effective {earliest.isoformat()} or later",
                suggestion=suggestion,
            )
        ]
    )


def fails(report: DiffReport, tier: str) -> bool:
    """Whether the overall tier reaches *tier* (for --fail-on). An editorial candidate counts at its rule's
    tier: only a release with --editorial and a reason may lower it, never a merge gate."""
    held = [f.rule_tier for f in report.findings if f.rule_tier is not None]
    return max(rank(t) for t in [report.tier, *held]) >= rank(tier)
