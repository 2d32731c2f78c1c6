"""The typed model of one organisation's facts (tenants/<slug>/tenant.yaml).

Every fact a notice has to carry has a named place here, so `check` can tell
what a tenant lacks and `diff` can compare meaning rather than YAML lines.
Lists whose entries are compared across versions carry stable ids; purposes,
lawful bases and data categories use W3C DPV names where one fits.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .colours import contrast
from .durations import Duration
from .errors import InputError, Problem, did_you_mean, quoted
from .jurisdictions import US_STATE_LAWS, Jurisdiction
from .law import REGIME_NAMES, Regime, TransferMechanism, mechanisms_named_in, transfer_mechanisms
from .stores import vocabulary
from .validation import Reference, ReferenceProblems, problems_from_validation
from .vocabulary import CountryName, duration, english, every_word, fill, word
from .yamlfile import KeyPath, Located, format_path, load_fast


def _check_email(value: str) -> str:
    if not re.fullmatch(r"[^@\s<>\"'()\[\],;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", value):
        raise ValueError(f"{quoted(value)} is not an email address like name@example.org")
    return value


def _check_phone(value: str) -> str:
    if not re.fullmatch(r"\+?[0-9][0-9 ().-]{4,24}[0-9]", value):
        raise ValueError(f"{quoted(value)} is not a phone number; use digits, spaces, '+', '-', '(' and ')'")
    return value


def _check_url(value: str) -> str:
    # Only web links: javascript:, data: and friends never reach a page.
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?(/[^\s<>\"]*)?", value):
        raise ValueError(f"{quoted(value)} is not a web address starting with https:// or http://")
    return value


def _check_colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"{quoted(value)} is not a colour like #1f5f8b")
    return value.lower()


_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"{quoted(value)} is not an id; use lower-case letters, digits, '-' and '_'")
    return value


# Language, then optional script and region or variant: what Babel and HTML lang both read. Babel also
# takes "en_GB@foo" (a modifier) and "en@x", which name no locale a reader has.
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


def _check_locale(value: str) -> str:
    if not _LOCALE.fullmatch(value) or not (_known_locale(value) if len(value) <= 35 else _is_locale(value)):
        raise PydanticCustomError("locale_type", "not a locale")
    return value.replace("_", "-")


def _is_locale(value: str) -> bool:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(value.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return False
    return True


# Each tenant names its locales several times, and Babel parses a locale anew each time (3.6 us): the answer for a
# name of up to 35 characters (the length BCP 47 asks tools to take) is kept, for 256 names at most.
_known_locale = functools.lru_cache(maxsize=256)(_is_locale)


# Characters nobody sees: spaces, format (zero-width space, bidi marks) and control characters.
# Unassigned code points are not among them: a newer Unicode (and font) may show them.
_INVISIBLE = {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"}


def visible(text: str) -> bool:
    """Whether *text* has a character a reader can see."""
    if text[:1].isalnum():  # a letter or a digit, as most texts start: seen (every text of a tenant is asked)
        return True
    return any(not char.isspace() and unicodedata.category(char) not in _INVISIBLE for char in text)


def _check_text(value: str) -> str:
    if not visible(value):
        raise PydanticCustomError("blank_text", "text has nothing visible")
    return value


def _check_date(value: Any) -> Any:
    """A date as YAML reads YYYY-MM-DD (or the same text quoted); never a number of seconds or a time."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value  # pydantic turns it into a date, or says it is not a real one
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise PydanticCustomError("date_type", "not a date")


def _store_vocabulary(kind: str, what: str) -> Callable[[str], str]:
    """A validator for one store vocabulary (data types or purposes), with did-you-mean hints."""

    def check(value: str) -> str:
        known = getattr(vocabulary(), kind)
        if value not in known:
            hint = did_you_mean(value, sorted(known))
            raise ValueError(
                f"'{value}' is not a {what}" + (f"; {hint}" if hint else f" (known: {', '.join(sorted(known))})")
            )
        return value

    check.__name__ = f"_check_store_{kind.rstrip('s')}"  # names the type in README's facts reference
    return check


Email = Annotated[str, AfterValidator(_check_email)]
Phone = Annotated[str, AfterValidator(_check_phone)]
Url = Annotated[str, AfterValidator(_check_url)]
Colour = Annotated[str, AfterValidator(_check_colour)]
Id = Annotated[str, AfterValidator(_check_id)]
Text = Annotated[str, Field(min_length=1), AfterValidator(_check_text)]
# A country, in English ("United Kingdom"): free text the organisation writes, printed in a translated
# clause's language when Babel knows it (vocabulary.country); a fact translation overrides it.
Country = Annotated[Text, AfterValidator(CountryName)]
# Strict types: YAML's true is not 1, 017 is not 15 (it arrives as UnclearNumber), 0 is not 1970-01-01.
Whole = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
Day = Annotated[dt.date, BeforeValidator(_check_date)]
_Item = TypeVar("_Item")
NonEmpty = Annotated[list[_Item], Field(min_length=1)]  # a list the documents cannot do without
StoreType = Annotated[str, AfterValidator(_store_vocabulary("types", "store data type"))]
StorePurpose = Annotated[str, AfterValidator(_store_vocabulary("purposes", "store purpose"))]


def types_in(annotation: Any) -> list[Any]:
    """An annotation and every type inside it (`Text | None` holds `Text`)."""
    return [annotation, *[inner for arg in get_args(annotation) for inner in types_in(arg)]]


def is_free_text(model: type[BaseModel], name: str) -> bool:
    """Whether a field of a facts model holds free text (`Text`): the tenant's own words, which a diff
    compares word by word and a fact translation may put in another language."""
    return _free_text(model, name)


@functools.cache  # a model's fields are fixed; a page in another language asks for every field of every fact
def _free_text(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    if field is None:
        return False
    if field.annotation is str and any(m in get_args(Text)[1:] for m in field.metadata):
        return True  # a plain `Text` field: pydantic keeps its metadata apart from the type
    return any(a in (Text, Country) for a in types_in(field.annotation))  # a country is its words too


# While a clause render records what it reads (policygen/readtrace.py), every attribute read of a fact is
# reported here: the render is reused only for tenants whose facts read the same.
_fact_reads: ContextVar[Callable[[Model, str, Any], None] | None] = ContextVar("policygen_fact_reads", default=None)


class Model(BaseModel):
    # defer_build: a model's validator is built when first used, not at import; a build validates only
    # Tenant (whose validator holds every nested model's), so the nested ones' own are never built.
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False, defer_build=True)


def _reported_read(self: Model, name: str) -> Any:
    """Model's attribute read while some render records its reads: reported to the reader of this context."""
    value = object.__getattribute__(self, name)
    reader = _fact_reads.get()
    if reader is not None:
        reader(self, name, value)
    return value


_reporting = 0  # renders recording their reads now, in any thread
_reporting_lock = threading.Lock()


@contextmanager
def reads_reported(reader: Callable[[Model, str, Any], None]) -> Iterator[None]:
    """Within the block, every attribute read of a fact in this context is told to *reader*. A fact's reads
    go through Python only while some render records them: a tenant's other reads (its theme pages,
    labels, snippets: most of them) are the plain attribute reads of any object. Another thread's reads
    meanwhile pass the hook and find no reader in their own context."""
    global _reporting
    with _reporting_lock:
        _reporting += 1
        if _reporting == 1:
            Model.__getattribute__ = _reported_read  # type: ignore[method-assign,assignment]
    token = _fact_reads.set(reader)
    try:
        yield
    finally:
        _fact_reads.reset(token)
        with _reporting_lock:
            _reporting -= 1
            if _reporting == 0:
                del Model.__getattribute__


# --- who ---------------------------------------------------------------------------------


class Address(Model):
    lines: NonEmpty[Text] = Field(description="Street lines, first to last")
    locality: Text | None = Field(None, description="Town or city")
    region: Text | None = None
    postcode: Text | None = None
    country: Country

    def one_line(self) -> str:
        parts = [*self.lines, self.locality, self.region, self.postcode, self.country]
        return ", ".join(p for p in parts if p)


class Registration(Model):
    number: Text
    registry: Text = Field(description="e.g. 'Companies House'")
    country: Country | None = None


class Organisation(Model):
    """The legal entity behind the policy."""

    legal_name: Text
    display_name: Text = Field(description="The name people know: product or brand")
    trading_names: list[Text] = []
    description: Text | None = Field(None, description="What the organisation or product does, in one clause")
    role: Literal["controller", "processor", "controller_and_processor"] | None = Field(
        None, description="Unknown until set: no clause states a role the organisation has not stated"
    )
    role_statement: Text | None = Field(None, description="Why the organisation has this role, in plain words")
    registration: Registration | None = None
    country: Country | None = Field(None, description="Where the organisation is established, when no address is given")
    address: Address | None = None
    email: Email | None = None
    phone: Phone | None = None
    website: Url | None = None
    contact_url: Url | None = Field(None, description="A web form or page for privacy questions")


class Person(Model):
    name: Text | None = None
    title: Text | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    url: Url | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Person:
        if not (self.email or self.phone or self.address or self.url):
            raise ValueError("give at least one way to reach them: email, phone, address or url")
        return self


class Contact(Model):
    id: Id
    label: Text = Field(description="What this contact is for, e.g. 'Support'")
    email: Email | None = None
    phone: Phone | None = None
    url: Url | None = None
    address: Address | None = None


class Authority(Model):
    name: Text
    country: Country | None = None
    url: Url | None = None
    phone: Phone | None = None


# --- what the products ask for ---------------------------------------------------------------


class Permission(Model):
    id: Id = Field(description="camera, storage, notifications, location, microphone, contacts, ...")
    name: Text | None = Field(None, description="How the permission is named to people; defaults from the id")
    reason: Text = Field(description="Why the app asks for it")
    optional: Flag | None = Field(
        None, description="Whether people can refuse it and still use the app; unknown until set"
    )
    on_device: Flag = Field(
        False, description="What the permission reaches never leaves the device, so app-store labels need not list it"
    )
    platforms: list[Literal["android", "ios"]] = Field(
        [], description="The platforms whose app asks for it; empty means every platform the app ships on"
    )
    asked: Literal["install", "first_launch", "first_use"] | None = Field(
        None,
        description="When the app asks: at install, when it first opens, or the first time the feature that needs it is used; unknown until set",
    )

    @property
    def label(self) -> str:
        """The tenant's name for it, else the vocabulary's in the text's language, else the id as words."""
        if self.name:
            return self.name
        if self.id in PERMISSION_NAMES:
            return word("permissions", self.id)
        return self.id.replace("_", " ").capitalize()

    @property
    def labels(self) -> frozenset[str]:
        """Every name it may have on a page, in any language: a policy in any of them lists it by one."""
        if self.name or self.id not in PERMISSION_NAMES:
            return frozenset({self.label})
        return every_word("permissions", self.id)


PERMISSION_NAMES = english("permissions")


class App(Model):
    id: Id
    name: Text
    audience: Text = Field(description="Who uses it and for what")
    platforms: list[Literal["android", "ios", "web"]] = Field(
        [],
        description="Where the app ships; store labels are written for android (Google Play) and ios (App Store) only",
    )
    permissions: list[Permission] = []
    data: list[Id] = Field([], description="Data category ids the app collects; empty means all")
    encrypted_in_transit: Flag | None = Field(
        None, description="All data the app sends travels encrypted (Google Play Data safety); needed for Play labels"
    )
    deletion_url: Url | None = Field(
        None, description="Where people ask for their account and data to be deleted (Google Play Data safety)"
    )


class Product(Model):
    id: Id
    name: Text
    description: Text | None = None


# --- data and processing -----------------------------------------------------------------------

SourceKind = Literal["direct", "automated", "third_party", "public", "institution"]


class Source(Model):
    kind: SourceKind
    description: Text
    examples: list[Text] = []
    outside: Text | None = Field(
        None,
        description="Where the sources are based if outside the home region, as a sentence, e.g. 'Some are based outside the EEA.'",
    )


# Whether the organisation decides how data is used (controller) or handles it for someone who does (processor).
Role = Literal["controller", "processor"]


class DataCategory(Model):
    id: Id = Field(description="A stable id; DPV names fit, e.g. 'identifying', 'financial', 'usage'")
    name: Text
    items: NonEmpty[Text] = Field(description="The personal data, item by item")
    sources: list[SourceKind] = ["direct"]
    required: Flag | None = Field(
        None,
        description="People must give this data to use the service (Google Play: required or optional); unknown until set",
    )
    sensitive: Flag = False
    owner: Text | None = Field(None, description="Who owns and controls this data when it is not us")
    role: Role | None = Field(
        None,
        description="Our role for this data: controller, or processor for the owner named in owner; unknown until set",
    )
    ccpa_category: Text | None = None
    sold: Flag | None = Field(None, description="Sold to third parties; unknown until set")
    shared: Flag | None = Field(
        None, description="Shared with third parties for advertising (Google Play: shared); unknown until set"
    )
    retention: Id | None = Field(None, description="Id of an entry in retention.periods")
    store_types: list[StoreType] = Field(
        [],
        description="What app-store privacy labels call this data, e.g. [name, email]; needed when an app collects it",
    )
    linked: Flag | None = Field(
        None, description="Linked to the person's identity (Apple: Data Linked to You); needed for App Store labels"
    )
    tracking: Flag | None = Field(
        None,
        description="Used to track people across other companies' apps and websites (Apple: Used to Track You); needed for App Store labels",
    )
    ephemeral: Flag | None = Field(
        None,
        description="Only processed in memory and never kept (Google Play: processed ephemerally); needed for Play labels",
    )


class Basis(StrEnum):
    consent = "consent"
    contract = "contract"
    legal_obligation = "legal_obligation"
    vital_interest = "vital_interest"
    public_task = "public_task"
    legitimate_interest = "legitimate_interest"


BASIS_LABELS = {Basis(key): label for key, label in english("lawful_bases").items()}
BASIS_DPV = {
    Basis.consent: "dpv:Consent",
    Basis.contract: "dpv:Contract",
    Basis.legal_obligation: "dpv:LegalObligation",
    Basis.vital_interest: "dpv:VitalInterest",
    Basis.public_task: "dpv:PublicInterest",
    Basis.legitimate_interest: "dpv:LegitimateInterest",
}


class LawfulBasis(Model):
    basis: Basis
    interest: Text | None = Field(
        None, description="The legitimate interest pursued, when basis is legitimate_interest"
    )

    @property
    def label(self) -> str:
        return word("lawful_bases", self.basis.value)


class Purpose(Model):
    id: Id = Field(description="Stable id; DPV names fit, e.g. 'service-provision', 'marketing'")
    name: Text = Field(description="The purpose, in plain words")
    activities: list[Text] = Field([], description="What this covers, item by item")
    dpv: Text | None = Field(None, description="The DPV purpose concept, e.g. 'dpv:ServiceProvision'")
    data: list[Id] = Field([], description="Data category ids used")
    lawful_bases: list[LawfulBasis] = []
    provision: Literal["required", "optional", "contractual", "statutory"] | None = None
    store_purpose: StorePurpose | None = Field(
        None, description="The app-store label purpose, when dpv does not say it, e.g. analytics"
    )
    role: Role | None = Field(
        None,
        description="Our role in this purpose: controller, or processor for the organisation named in controller; unknown until set",
    )
    controller: Text | None = Field(
        None,
        description="Who decides on this purpose when we serve it as their processor, e.g. 'The school that uses our service'",
    )


class Recipient(Model):
    id: Id
    category: Text = Field(description="The category of recipient, e.g. 'Cloud hosting providers'")
    names: list[Text] = Field([], description="Named vendors in this category, if disclosed")
    description: Text | None = None
    role: Literal["processor", "controller", "authority", "client", "internal", "acquirer"] = "processor"
    purposes: list[Id] = []
    location: Text | None = None
    condition: Text | None = Field(None, description="When they receive data, e.g. 'when required by law'")
    data: list[Id] = Field(
        [], description="Data category ids this recipient receives; nothing is said about which data until set"
    )
    sold_to: bool | None = Field(
        None,
        description="This recipient buys the personal data it receives: a sale (Cal. Civ. Code 1798.140(ad)); unknown until set",
    )
    shared_for_advertising: bool | None = Field(
        None,
        description="The data it receives is shared with it for cross-context behavioural advertising (Cal. Civ. Code 1798.140(ah)); unknown until set",
    )


def _check_transfer_tool(value: str) -> str:
    known = sorted(transfer_mechanisms())
    if value not in known:
        hint = did_you_mean(value, known)
        raise ValueError(
            f"{quoted(value)} is not a known transfer tool" + (f"; {hint}" if hint else f" (known: {', '.join(known)})")
        )
    return value


TransferTool = Annotated[str, AfterValidator(_check_transfer_tool)]


class Transfer(Model):
    id: Id
    destination: Text = Field(description="Country or region, e.g. 'outside the UK and EEA'")
    leaves: Regime | None = Field(
        None,
        description="The regime the data leaves: eu (EU GDPR, EEA), uk (UK GDPR) or ch (Swiss FADP); one transfer per regime",
    )
    safeguards: list[TransferTool] = Field(
        [], description="The transfer tools for that regime, by id (docs/regimes.md), e.g. [eu-us-dpf, eu-sccs-2021]"
    )
    mechanism: list[Text] = Field(
        [], description="Safeguards in the organisation's own words, when no listed tool fits"
    )
    recipients: list[Id] = []
    copy_url: Url | None = Field(None, description="Where to get a copy of the safeguard")

    @model_validator(mode="after")
    def _tools_fit_the_regime(self) -> Transfer:
        # A tool is lawful only for the exports of its own regime: the IDTA covers nothing leaving the EU.
        if not self.safeguards and not self.mechanism:
            raise ReferenceProblems(
                [
                    Reference(
                        (),
                        "a transfer needs its safeguard",
                        expected="safeguards (tool ids, docs/regimes.md) or mechanism (your own words)",
                        suggestion="add 'leaves: eu' and 'safeguards: [eu-sccs-2021]', for example",
                    )
                ]
            )
        problems: list[Reference] = []
        tools = transfer_mechanisms()
        for j, tool in enumerate(self.safeguards):
            if self.leaves is None:
                problems.append(
                    Reference(
                        ("leaves",),
                        "a transfer with safeguards must say which regime it leaves",
                        expected="eu, uk or ch",
                        suggestion="add 'leaves: eu' (or uk, ch)",
                    )
                )
                break
            if not tools[tool].serves(self.leaves):
                fits = [t.id for t in tools.values() if t.serves(self.leaves) and t.in_force.until is None]
                problems.append(
                    Reference(
                        ("safeguards", j),
                        f"'{tool}' is not a tool for transfers from "
                        f"{REGIME_NAMES[self.leaves]} (it serves {', '.join(tools[tool].regimes)})",
                        expected=f"a tool for {self.leaves}: {', '.join(fits)}",
                    )
                )
        if problems:
            raise ReferenceProblems(problems)
        return self

    @property
    def regime_name(self) -> str | None:
        return word("regimes", self.leaves) if self.leaves else None

    def safeguard_wordings(self) -> list[str]:
        """How the clause names each listed tool."""
        tools = transfer_mechanisms()
        return [_tool_wording(tools[t]) for t in self.safeguards]

    def named_tools(self) -> list[TransferMechanism]:
        """The listed tools this transfer names by id."""
        tools = transfer_mechanisms()
        return [tools[t] for t in self.safeguards]

    def recognised_tools(self) -> list[TransferMechanism]:
        """The listed tools found in the organisation's own words (mechanism), not also named by id."""
        found: list[TransferMechanism] = []
        for words in self.mechanism:
            found.extend(m for m in mechanisms_named_in(words) if m not in found and m.id not in self.safeguards)
        return found

    def tools(self) -> list[TransferMechanism]:
        return self.named_tools() + self.recognised_tools()


RetentionEvent = Literal["account_closed", "last_activity", "contract_end", "indefinitely"]


def _tool_wording(tool: TransferMechanism) -> str:
    """How a clause names a transfer tool, in the text's language: its name, and its condition if it has one."""
    name = word("transfer_tools", tool.id, tool.name)
    if tool.note is None:
        return name
    return fill(tool.wording(), "{}, {}", name, word("transfer_tool_notes", tool.id, tool.note))


class Kept(Model):
    """How long data is kept, as an event and a time after it: ordered, so a diff can tell a shortening."""

    until: RetentionEvent = Field(
        description="What ends the keeping: account_closed, last_activity, contract_end, or indefinitely (kept without end)"
    )
    then: Duration | None = Field(
        None, description="How long after that event, e.g. '60 days'; unset means until the event"
    )

    @model_validator(mode="after")
    def _no_time_after_forever(self) -> Kept:
        if self.until == "indefinitely" and self.then is not None:
            raise ValueError("'indefinitely' has no time after it: leave 'then' out")
        return self

    @property
    def words(self) -> str:
        """The rule in words: 'while your account is open', '60 days after your account is closed', 'indefinitely'."""
        if self.then is None:
            return word("retention_while", self.until)
        source = english("retention_after")[self.until].format(self.then.text)
        return fill(source, word("retention_after", self.until), duration(self.then))

    def compare(self, other: Kept) -> int | None:
        """-1 if self keeps data for less time than other, 1 if longer, 0 if as long; None if the events differ."""
        if self.until == "indefinitely" or other.until == "indefinitely":
            return (self.until == "indefinitely") - (other.until == "indefinitely")
        if self.until != other.until:
            return None
        mine = self.then.high_days if self.then else 0.0
        theirs = other.then.high_days if other.then else 0.0
        return (round(mine, 6) > round(theirs, 6)) - (round(mine, 6) < round(theirs, 6))

    def __str__(self) -> str:
        return self.words


class RetentionPeriod(Model):
    id: Id
    data: Text = Field(description="What is kept")
    period: Duration | None = Field(None, description="How long, e.g. '7 business days', '2 years'")
    criteria: Text | None = Field(None, description="How the period is decided, when not a fixed length")
    trigger: Text | None = Field(None, description="What starts the clock, e.g. 'after verification'")
    kept: Kept | None = Field(
        None,
        description="How long, as an event and a time after it: 'while your account is open', '60 days after your account is closed', 'indefinitely'",
    )

    @model_validator(mode="after")
    def _period_or_criteria(self) -> RetentionPeriod:
        if self.period is None and self.criteria is None and self.kept is None:
            raise ValueError("give a period, kept, criteria, or a combination")
        if self.period is not None and self.kept is not None:
            raise ValueError("give either period or kept, not both: each says how long the data is kept")
        return self


class Backups(Model):
    period: Duration
    encrypted: Flag | None = Field(None, description="Backups are encrypted; unknown until set")
    purpose: Text | None = Field(None, description="The only purpose backups serve, e.g. disaster recovery")


class Retention(Model):
    summary: Text = Field(description="The general rule, in one or two sentences")
    periods: list[RetentionPeriod] = []
    backups: Backups | None = None
    anonymisation: Text | None = None
    policy_on_request: Flag = Field(False, description="A detailed retention schedule is available on request")


class Deletion(Model):
    """How someone gets data deleted, and how long each kind takes."""

    how: Text = Field(description="How to ask, in one sentence")
    include: list[Text] = Field([], description="What the request should contain")
    timelines: list[Id] = Field([], description="Ids of retention.periods that are deletion timelines")
    confirmation: Text | None = None
    exceptions: Text | None = None


class Children(Model):
    min_age: Whole = Field(ge=0, le=21)
    directed_at_children: Flag | None = Field(
        None, description="The service is meant for children too; unknown until set"
    )
    consent: Literal["none", "parental", "institutional"] | None = Field(
        None, description="Whose consent covers children's data; unknown until set"
    )
    statement: Text | None = None
    sells_or_shares_under_16: Flag | None = Field(
        None, description="Knowingly sells or shares the data of people under 16 (California); unknown until set"
    )


RightId = Literal[
    "access",
    "rectification",
    "erasure",
    "restriction",
    "objection",
    "portability",
    "withdraw_consent",
    "complain",
    "opt_out_marketing",
    "opt_out_sale",
    "limit_sensitive",
    "non_discrimination",
    "nominate",
    "grievance",
    "opt_out_targeted_advertising",
    "opt_out_profiling",
]

RIGHT_NAMES = english("rights")


class Right(Model):
    id: RightId
    description: Text | None = Field(None, description="What the right lets people do, if more than its name")
    how: Text | None = Field(None, description="How to use this right, if not the general channels")

    @property
    def name(self) -> str:
        return word("rights", self.id)


class Channel(Model):
    kind: Literal["email", "url", "post", "phone", "in_app", "admin", "account_settings", "unsubscribe_link"]
    value: Text | None = Field(
        None, description="The address, URL or number; not needed for in_app, admin, account_settings"
    )
    note: Text | None = None

    @model_validator(mode="after")
    def _value_fits_kind(self) -> Channel:
        checks = {"email": _check_email, "url": _check_url, "phone": _check_phone}
        if self.kind in checks or self.kind == "post":
            if not self.value:
                raise ValueError(f"a {self.kind} channel needs a value")
            if self.kind in checks:
                checks[self.kind](self.value)
        return self


class Requests(Model):
    """How people exercise their rights, and what happens then."""

    channels: NonEmpty[Channel]
    response_time: Duration | None = Field(None, description="How long until an answer, e.g. 'one month'")
    extension: Text | None = Field(None, description="When and how the answer may take longer")
    fee: Text | None = None
    verification: Text | None = None


class Complaints(Model):
    response_days: Whole | None = Field(None, ge=1, le=365)
    how: Text | None = None


class ScopedMeasure(Model):
    """A measure that holds in some products or apps only ("in product B we encrypt every field")."""

    applies_to: NonEmpty[Id] = Field(description="Ids of the products or apps it holds in")
    measure: Text = Field(description="The measure, as a sentence")


class Security(Model):
    summary: Text
    measures: list[Text] = []
    scoped_measures: list[ScopedMeasure] = Field([], description="Measures that hold in some products or apps only")
    breach_notification: Text | None = None


class Sharing(Model):
    sells: Flag | None = Field(
        None, description="Sells personal data; unknown until set, and nothing is said about selling"
    )
    rents: Flag | None = Field(None, description="Rents personal data out; unknown until set")
    shares_for_advertising: Flag | None = Field(
        None, description="Shares personal data for advertising; unknown until set"
    )
    statement: Text | None = None
    subprocessor_list: Url | None = Field(
        None, description="Where the published list of processors (subprocessors) that receive data is"
    )


class UsPrivacy(Model):
    """What the US state privacy laws ask a notice to say beyond the rest; each is unknown until set.

    The laws: CCPA/CPRA (California), VCDPA, CPA, CTDPA, TDPSA and OCPA. Nothing is said about a fact until it is set.
    """

    sensitive_beyond_permitted: Flag | None = Field(
        None,
        description="Sensitive personal information is used or disclosed for purposes beyond those 11 CCR 7027(m) allows (California: then people may limit it); unknown until set",
    )
    sells_sensitive: Flag | None = Field(
        None, description="Sensitive personal data is sold (Texas: the notice must say so); unknown until set"
    )
    targeted_advertising: Flag | None = Field(
        None,
        description="Personal data is processed for targeted advertising (ads based on activity across other companies' sites and apps); unknown until set",
    )
    profiling: Flag | None = Field(
        None,
        description="Personal data is used for profiling in furtherance of decisions with legal or similarly significant effects; unknown until set",
    )
    opt_out_url: Url | None = Field(
        None,
        description="The 'Do Not Sell or Share My Personal Information' page, where people opt out of the sale or sharing of their data",
    )
    authorised_agents: Text | None = Field(
        None, description="How an authorised agent makes a request for someone, and what proof is asked for"
    )
    financial_incentives: Flag | None = Field(
        None,
        description="Financial incentives or price or service differences are offered for personal data (California); unknown until set",
    )
    financial_incentive_terms: Text | None = Field(
        None,
        description="The incentives offered, the data they involve, how to opt in and withdraw, and why the data is worth what is offered",
    )
    appeals: Text | None = Field(
        None,
        description="How to appeal a refusal to act on a rights request (Virginia, Colorado, Connecticut, Texas, Oregon)",
    )

    def stated(self) -> bool:
        """Whether any of these facts is set: a stated practice is printed whether or not a US law is declared."""
        return any(getattr(self, name) is not None for name in type(self).model_fields)

    @model_validator(mode="after")
    def _terms_with_incentives(self) -> UsPrivacy:
        if self.financial_incentive_terms is not None and self.financial_incentives is not True:
            raise ReferenceProblems(
                [
                    Reference(
                        ("financial_incentive_terms",),
                        "the terms of financial incentives are given, but not that incentives are offered",
                        expected="financial_incentives: true with the terms",
                        suggestion="add 'financial_incentives: true', or remove the terms",
                    )
                ]
            )
        return self


class Marketing(Model):
    basis: Basis | None = Field(None, description="The lawful basis for marketing, if the policy states one")
    opt_out: Text
    third_party: Text | None = None


class Announcement(Model):
    """A place beyond the page, email and the app where changes are announced."""

    kind: Literal["blog", "change_log"] = Field(
        description="blog: posts about changes; change_log: a public list of every change"
    )
    url: Url

    @property
    def label(self) -> str:
        return ANNOUNCEMENT_NAMES[self.kind]


# How each kind of announcement is named (a change finding says it by its word in each language).
ANNOUNCEMENT_NAMES = {"blog": "blog", "change_log": "public change log"}


class Changes(Model):
    how_notified: list[Literal["page", "email", "in_app"]] = Field(
        [], description="How people are told about a change; none stated until set"
    )
    notify_of: Literal["all", "major"] | None = Field(
        None, description="Which changes people are told about by email or in the app: all, or only major ones"
    )
    notice_before: Flag | None = Field(
        None,
        description="People are told about a change that affects their data before it takes effect; unknown until set",
    )
    public_history: Flag | None = Field(
        None, description="Every earlier version stays published in the version history; unknown until set"
    )
    announced_on: list[Announcement] = Field(
        [], description="Other places changes are announced: a blog, a public change log"
    )
    statement: Text | None = None


class AuthoritiesWhereYouLive(Model):
    """For organisations in many countries: people complain to the regulator where they live."""

    list_url: Url = Field(description="The official list of the regulators, e.g. the EDPB's page of its members")
    list_by: Text | None = Field(None, description="Who publishes the list, e.g. 'the European Data Protection Board'")


NotCollectedId = Literal["sensitive_data", "biometric_data", "precise_location", "health_data", "childrens_data"]

NOT_COLLECTED_NAMES = english("not_collected")


class LawEnforcement(Model):
    """How requests for data from the police, courts and other authorities are handled."""

    how: Text = Field(
        description="How requests are handled, e.g. 'We only answer a request that comes with a court order.'"
    )
    notify: Flag | None = Field(
        None, description="People are told about a request for their data unless the law forbids it; unknown until set"
    )
    report_url: Url | None = Field(None, description="Where a report of the requests received is published")


TrackerCategory = Literal["strictly_necessary", "preferences", "analytics", "advertising"]

TRACKER_CATEGORY_NAMES = english("tracker_categories")


class Tracker(Model):
    """One cookie or similar technology (local storage, pixel, SDK) set on people's devices."""

    id: Id
    name: Text = Field(description="The cookie's name as the browser shows it, e.g. _ga")
    technology: Literal["cookie", "local_storage", "pixel", "sdk"] | None = Field(
        None, description="What kind of tracker it is; unknown until set"
    )
    provider: Text = Field(description="Who sets and reads it, e.g. the organisation or 'Google Analytics'")
    party: Literal["first", "third"] = Field(
        description="first: set by the organisation's own site; third: set by another company"
    )
    purpose: Text = Field(description="What it is used for, in plain words")
    category: TrackerCategory = Field(description="strictly_necessary, preferences, analytics or advertising")
    duration: Duration | Literal["session"] = Field(
        description="How long it stays on the device: 'session' (until the browser closes) or a time, e.g. '2 years'"
    )
    consent: Flag | None = Field(None, description="Set only after people agree to it; unknown until set")


class Signals(Model):
    """Browser privacy signals and whether they are honoured."""

    do_not_track: Flag | None = Field(
        None, description="Do Not Track signals are honoured; unknown until set, and nothing is said until then"
    )
    global_privacy_control: Flag | None = Field(
        None, description="Global Privacy Control signals are honoured as an opt-out; unknown until set"
    )


class Theme(Model):
    """Branding of the tenant's pages."""

    display_name: Text | None = Field(None, description="Name in the page header, if not organisation.display_name")
    logo: Text | None = Field(None, description="Image file in the tenant folder, e.g. logo.svg")
    accent: Colour | None = Field(
        None, description="Colour of links and rules, #rrggbb; must reach 4.5:1 contrast on white"
    )

    @model_validator(mode="after")
    def _readable(self) -> Theme:
        # The accent colours links on a white page: below 4.5:1 people with low vision cannot read them (WCAG 1.4.3).
        if self.accent and contrast(self.accent, "#ffffff") < 4.5:
            darker = self.accent
            while contrast(darker, "#ffffff") < 4.5:
                darker = "#" + "".join(f"{int(int(darker[i : i + 2], 16) * 0.9):02x}" for i in (1, 3, 5))
            raise ValueError(
                f"accent {self.accent} has contrast {contrast(self.accent, '#ffffff'):.1f}:1 on white, "
                f"below the 4.5:1 that text needs; a darker shade such as {darker} reads well"
            )
        return self


class Document(Model):
    id: Id = Field(description="A document folder in content/, e.g. privacy-policy")
    title: Text | None = Field(None, description="Overrides the library title")


class Dates(Model):
    effective: Day
    last_updated: Day | None = Field(None, description="Defaults to the effective date")


class Note(Model):
    """Free statements a notice carries that are facts, not clause text."""

    id: Id
    clause: Id = Field(
        description="The clause id the statement belongs to; it is shown in that clause, after its own text and before its sub-headings"
    )
    document: Id | None = Field(
        None,
        description="The document of that clause, when several documents have a clause with this id; otherwise every document with the clause shows it",
    )
    text: Text


class Tenant(Model):
    """Everything one organisation's policies say about it."""

    organisation: Organisation = Field(description="The legal entity (controller or processor) and how to reach it")
    dpo: Person | None = Field(None, description="Data protection officer, when one is appointed")
    grievance_officer: Person | None = Field(
        None, description="Grievance officer (India) or the person who answers privacy questions"
    )
    representative: Person | None = Field(
        None, description="EU or UK representative of an organisation established elsewhere"
    )
    contacts: list[Contact] = Field([], description="Other contact points shown in the contact clause")
    supervisory_authority: Authority | None = Field(None, description="The regulator people can complain to")
    products: list[Product] = Field([], description="Products and services the documents cover")
    apps: list[App] = Field([], description="Apps, each with the device permissions it asks for and why")
    data_categories: NonEmpty[DataCategory] = Field(description="The kinds of personal data collected, item by item")
    sources: list[Source] = Field([], description="Where data comes from, when not only from the person")
    purposes: NonEmpty[Purpose] = Field(description="Why data is used, with the data used and the lawful basis")
    marketing: Marketing | None = Field(None, description="Direct marketing: basis and how to opt out")
    recipients: list[Recipient] = Field(
        [], description="Who receives data: processors, clients, authorities, acquirers"
    )
    transfers: list[Transfer] = Field([], description="Transfers to other countries and their safeguards")
    sharing: Sharing = Field(Sharing(), description="Whether data is sold, rented or shared for advertising")
    us_privacy: UsPrivacy = Field(
        UsPrivacy(),
        description="What the US state privacy laws ask beyond the rest: sensitive data, targeted advertising, profiling, agents, incentives, appeals",
    )
    retention: Retention | None = Field(None, description="How long data is kept, including backups")
    deletion: Deletion | None = Field(None, description="How to get data deleted and how long each deletion takes")
    children: Children | None = Field(None, description="Minimum age and how children's data is handled")
    rights: list[Right] = Field([], description="The rights offered")
    requests: Requests | None = Field(None, description="How to exercise rights, response time, fee, verification")
    complaints: Complaints | None = Field(None, description="How complaints to the organisation are handled")
    security: Security | None = Field(None, description="Security measures and breach notification")
    automated_decisions: Text | None = Field(None, description="Automated decisions and profiling, if any")
    cookies: Text | None = Field(None, description="What the policy says about cookies")
    trackers: list[Tracker] = Field([], description="Cookies and similar trackers, each listed in the cookie policy")
    cookie_choices: Text | None = Field(None, description="How people accept, refuse or change their cookie choices")
    signals: Signals = Field(
        Signals(), description="Whether Do Not Track and Global Privacy Control signals are honoured"
    )
    not_collected: list[NotCollectedId] = Field(
        [], description="Kinds of data the organisation states it does not collect"
    )
    law_enforcement: LawEnforcement | None = Field(
        None, description="How requests for data from the police and other authorities are handled"
    )
    authorities_where_you_live: AuthoritiesWhereYouLive | None = Field(
        None,
        description="For many countries: people may complain to the regulator where they live, listed officially here",
    )
    changes: Changes = Field(Changes(), description="How people are told about changes to the documents")
    notes: list[Note] = Field([], description="Statements of fact with no dedicated key, shown in the clause they name")
    documents: NonEmpty[Document] = Field(description="The documents this tenant publishes, by library folder id")
    jurisdictions: list[Jurisdiction] = Field(
        [], description="Laws the notices must satisfy; `policygen check` tests against them"
    )
    locale: Annotated[str, AfterValidator(_check_locale)] = Field(
        "en",
        description="Language and region of the documents, e.g. en-GB; sets date formats. "
        "With `languages`, the authoritative language: its text prevails over the translations",
    )
    languages: list[Annotated[str, AfterValidator(_check_locale)]] = Field(
        [],
        description="Every language the documents are published in, e.g. [en-IN, hi-IN], locale among them; "
        "empty: locale only",
    )
    dates: Dates = Field(description="Effective and last-updated dates of the working (unreleased) text")
    theme: Theme = Field(Theme(), description="Branding of the tenant's pages")

    @model_validator(mode="after")
    def _references(self) -> Tenant:
        problems: list[Reference] = []
        _unique(problems, ("data_categories",), [c.id for c in self.data_categories])
        _unique(problems, ("purposes",), [p.id for p in self.purposes])
        _unique(problems, ("recipients",), [r.id for r in self.recipients])
        _unique(problems, ("apps",), [a.id for a in self.apps])
        _unique(problems, ("documents",), [d.id for d in self.documents])
        _unique(problems, ("rights",), [r.id for r in self.rights])
        periods = [p.id for p in self.retention.periods] if self.retention else []
        _unique(problems, ("retention", "periods"), periods)
        cats = {c.id for c in self.data_categories}
        for i, p in enumerate(self.purposes):
            for j, d in enumerate(p.data):
                if d not in cats:
                    problems.append(_unknown(("purposes", i, "data", j), d, cats, "data_categories"))
        for i, a in enumerate(self.apps):
            for j, d in enumerate(a.data):
                if d not in cats:
                    problems.append(_unknown(("apps", i, "data", j), d, cats, "data_categories"))
        for i, c in enumerate(self.data_categories):
            if c.retention and c.retention not in periods:
                problems.append(
                    _unknown(("data_categories", i, "retention"), c.retention, periods, "retention.periods")
                )
        if self.deletion:
            for j, t in enumerate(self.deletion.timelines):
                if t not in periods:
                    problems.append(_unknown(("deletion", "timelines", j), t, periods, "retention.periods"))
        purposes = {p.id for p in self.purposes}
        for i, r in enumerate(self.recipients):
            for j, purpose in enumerate(r.purposes):
                if purpose not in purposes:
                    problems.append(_unknown(("recipients", i, "purposes", j), purpose, purposes, "purposes"))
        problems += _role_problems(self)
        recipients = {r.id for r in self.recipients}
        for i, transfer in enumerate(self.transfers):
            for j, recipient in enumerate(transfer.recipients):
                if recipient not in recipients:
                    problems.append(_unknown(("transfers", i, "recipients", j), recipient, recipients, "recipients"))
        self._new_fact_references(problems)
        if problems:
            raise ReferenceProblems(problems)
        return self

    @property
    def published_languages(self) -> list[str]:
        """The locales the documents are published in, the authoritative one (locale) first."""
        return [self.locale, *(lang for lang in self.languages if lang != self.locale)]

    def _language_references(self, problems: list[Reference]) -> None:
        # One page per language: two locales of one language would want the same address.
        seen: dict[str, str] = {}
        for i, lang in enumerate(self.languages):
            code = lang.split("-")[0].lower()
            if code in seen:
                problems.append(
                    Reference(
                        ("languages", i),
                        f"'{lang}' is a second locale of the language '{code}' (after '{seen[code]}')",
                        expected="each language once",
                        suggestion=f"keep one of '{seen[code]}' and '{lang}'",
                    )
                )
            seen.setdefault(code, lang)
        if self.languages and self.locale not in self.languages:
            problems.append(
                Reference(
                    ("languages",),
                    f"locale {self.locale}, the authoritative language, is not among the languages",
                    expected=f"{self.locale} in languages, or locale set to one of them",
                    suggestion=f"add {self.locale} to languages",
                )
            )

    def _new_fact_references(self, problems: list[Reference]) -> None:
        """Ids the recipients, scoped measures and trackers name; a stated absence no category contradicts."""
        _unique(problems, ("trackers",), [t.id for t in self.trackers])
        self._language_references(problems)
        cats = {c.id for c in self.data_categories}
        for i, r in enumerate(self.recipients):
            for j, d in enumerate(r.data):
                if d not in cats:
                    problems.append(_unknown(("recipients", i, "data", j), d, cats, "data_categories"))
        scopes = {p.id for p in self.products} | {a.id for a in self.apps}
        for i, m in enumerate(self.security.scoped_measures if self.security else []):
            for j, s in enumerate(m.applies_to):
                if s not in scopes:
                    problems.append(
                        _unknown(("security", "scoped_measures", i, "applies_to", j), s, scopes, "products or apps")
                    )
        for i, a in enumerate(self.apps):
            for j, perm in enumerate(a.permissions):
                for k, platform in enumerate(perm.platforms):
                    if a.platforms and platform not in a.platforms:
                        problems.append(
                            Reference(
                                ("apps", i, "permissions", j, "platforms", k),
                                f"the app does not ship on {platform}",
                                expected=f"a platform of the app: {', '.join(a.platforms)}",
                                suggestion=f"add {platform} to the app's platforms, or remove it here",
                            )
                        )
        if "sensitive_data" in self.not_collected:
            for i, c in enumerate(self.data_categories):
                if c.sensitive:
                    problems.append(
                        Reference(
                            ("data_categories", i, "sensitive"),
                            "this category is sensitive, but not_collected says no sensitive data is collected",
                            expected="a sensitive category, or sensitive_data in not_collected, not both",
                            suggestion="state what the organisation says: drop 'sensitive: true' here or sensitive_data from not_collected",
                        )
                    )

    # Lookups the clause templates use.
    def category(self, cid: str) -> DataCategory:
        return next(c for c in self.data_categories if c.id == cid)

    def period(self, pid: str) -> RetentionPeriod:
        assert self.retention is not None
        return next(p for p in self.retention.periods if p.id == pid)

    def scope_names(self, ids: list[str]) -> list[str]:
        """The names of the products and apps a scoped fact holds in, in the order given."""
        names = {p.id: p.name for p in self.products} | {a.id: a.name for a in self.apps}
        return [names[i] for i in ids]

    def not_collected_names(self) -> list[str]:
        """What the organisation states it does not collect, in words."""
        return [word("not_collected", n) for n in self.not_collected]

    def tracker_groups(self) -> list[tuple[str, list[Tracker]]]:
        """The trackers by category, in the guidance's order, with the category's name; empty categories left out."""
        groups = [
            (word("tracker_categories", c), [t for t in self.trackers if t.category == c])
            for c in TRACKER_CATEGORY_NAMES
        ]
        return [(name, trackers) for name, trackers in groups if trackers]

    def publishes(self, doc_id: str) -> bool:
        return any(d.id == doc_id for d in self.documents)

    def has_right(self, rid: str) -> bool:
        return any(r.id == rid for r in self.rights)

    def us_state_laws(self) -> list[str]:
        """The US state privacy laws the tenant declares, in its order."""
        return [j for j in self.jurisdictions if j in US_STATE_LAWS]

    def bases(self) -> set[str]:
        return {b.basis.value for p in self.purposes for b in p.lawful_bases}

    @property
    def name(self) -> str:
        return self.theme.display_name or self.organisation.display_name


# organisation.role against a role stated per category or purpose: which part-roles each allows.
_ROLES_ALLOWED = {
    "controller": {"controller"},
    "processor": {"processor"},
    "controller_and_processor": {"controller", "processor"},
}


def _role_problems(tenant: Tenant) -> list[Reference]:
    """A processor role names whom the data is processed for, and agrees with the organisation's own role."""
    problems: list[Reference] = []
    org_role = tenant.organisation.role
    allowed = _ROLES_ALLOWED[org_role] if org_role else {"controller", "processor"}
    stated: list[tuple[KeyPath, Role, str | None, str]] = [
        *((("data_categories", i), c.role, c.owner, "owner") for i, c in enumerate(tenant.data_categories) if c.role),
        *((("purposes", i), p.role, p.controller, "controller") for i, p in enumerate(tenant.purposes) if p.role),
    ]
    for where, role, named, key in stated:
        if role not in allowed:
            problems.append(
                Reference(
                    (*where, "role"),
                    f"role '{role}' contradicts organisation.role '{org_role}'",
                    expected=f"role: {' or '.join(sorted(allowed))}, as organisation.role says",
                    suggestion="set organisation.role to controller_and_processor when the organisation is both",
                )
            )
        if role == "processor" and not named:
            problems.append(
                Reference(
                    (*where, "role"),
                    "role 'processor' does not name the organisation it acts for",
                    expected=f"{key}: the organisation (the controller) that decides how it is used",
                    suggestion=f"add '{key}:', e.g. {key}: The school that uses our service",
                )
            )
    return problems


def _unique(problems: list[Reference], where: KeyPath, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            problems.append(
                Reference(
                    (*where, i, "id"),
                    f"id '{value}' is used twice",
                    expected=f"each id once in {format_path(where)}",
                    suggestion="merge the two entries or give one a new id",
                )
            )
        seen.add(value)


def _unknown(where: KeyPath, value: str, known: Any, listed_in: str) -> Reference:
    return Reference(
        where,
        f"'{value}' is not a known id",
        expected=f"an id from {listed_in}: {', '.join(sorted(known)) or 'none yet'}",
        suggestion=did_you_mean(value, sorted(known)),
    )


# --- loading ---------------------------------------------------------------------------------------


def load_tenant(file: Path) -> Tenant:
    """Read and validate one tenant.yaml, raising InputError with every problem in it."""
    return read_tenant(file)[0]


def read_tenant(file: Path) -> tuple[Tenant, Located]:
    """The validated facts and where each key stands in the file."""
    located = load_fast(file, keep_going=True)
    if located.data is None:
        raise InputError(
            [
                Problem(
                    "file is empty",
                    file=file,
                    expected="the tenant's facts as a YAML mapping",
                    suggestion="start from `policygen new-tenant SLUG` or a tenant in tenants/",
                )
            ]
        )
    if not isinstance(located.data, dict):
        raise InputError(
            [
                located.problem(
                    (),
                    "top level must be a mapping of fact names to values",
                    expected="a YAML mapping such as 'organisation: ...'",
                )
            ]
        )
    try:
        tenant = Tenant.model_validate(located.data)
    except ValidationError as exc:
        # One report: what the YAML reader found, then what validation found elsewhere.
        seen = {p.key_path for p in located.problems}
        extra = [
            p
            for p in problems_from_validation(exc, located, Tenant, missing="required fact is missing")
            if p.key_path not in seen
        ]
        raise InputError([*located.problems, *extra]) from None
    if located.problems:
        raise InputError(located.problems)
    return tenant, located


def json_schema() -> dict[str, Any]:
    schema = Tenant.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "policygen tenant facts (tenant.yaml)"
    return schema
