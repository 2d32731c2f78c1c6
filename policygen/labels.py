"""App-store privacy labels from the same facts as the policy, and the check that they agree.

Apple's App Privacy details and Google Play's Data safety form both ask, per app,
which data types leave the device, why, and how they are handled. policygen
answers from the tenant's facts: an app collects the data categories it names
(all of them when it names none); each category says which store data types it
is (`store_types`, a policygen vocabulary mapped onto both stores in
data/store_labels.yaml); its purposes are the tenant's purposes that use it,
mapped through `store_purpose` or their DPV name.

Roles (data_categories[].role) do not change what is collected: both stores count data the app
sends off the device, whoever decides how it is used, so data the organisation handles only as
a processor for a customer is labelled like any other. The readable Play answers name each
category's stated role, so the app team sees whose data a type is; an unstated role is left out.

The exports:
    apple-privacy.json      the JSON App Store Connect tooling uploads (fastlane's
                            upload_app_privacy_details_to_app_store reads this format)
    play-data-safety.csv    the Play Console's "Import from CSV" file
    play-data-safety.json   the same answers in readable form, with the deletion method

`check_app` compares an app's permissions and labelled data with the rendered
policy, in both directions, so a label can never claim what the policy does not
say, nor leave out what it does.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .errors import InputError, Problem
from .facts import App, DataCategory, Purpose, Tenant
from .htmltext import DocumentLike, blocks
from .jsonitems import indented
from .stores import vocabulary
from .yamlfile import Located, format_path

# --- the answers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppleDataType:
    """One Apple data type as the app uses it: merged over every category that maps to it."""

    id: str
    name: str
    purposes: tuple[str, ...]
    linked: bool
    tracking: bool
    categories: tuple[str, ...]  # the tenant's data category ids behind it

    def upload_entry(self) -> dict[str, object]:
        protections = ["DATA_LINKED_TO_YOU" if self.linked else "DATA_NOT_LINKED_TO_YOU"]
        if self.tracking:
            protections.append("DATA_USED_TO_TRACK_YOU")
        return {"category": self.id, "purposes": list(self.purposes), "data_protections": protections}


@dataclass(frozen=True)
class PlayDataType:
    id: str
    group: str
    label: str
    collected: bool
    shared: bool
    ephemeral: bool
    required: bool
    purposes: tuple[str, ...]
    sharing_purposes: tuple[str, ...]
    categories: tuple[str, ...]
    roles: tuple[tuple[str, str], ...] = ()  # (category id, stated role): only categories whose role is stated


@dataclass(frozen=True)
class AppLabels:
    tenant: str
    app: str
    app_name: str
    apple: tuple[AppleDataType, ...]
    play: tuple[PlayDataType, ...]
    encrypted_in_transit: bool
    deletion_request: bool
    deletion_method: str | None
    deletion_url: str | None
    store_types: frozenset[str] = frozenset()  # policygen's type ids behind both labels

    def apple_json(self) -> bytes:
        entries: list[dict[str, object]] = [t.upload_entry() for t in self.apple]
        if not entries:
            entries = [{"data_protections": ["DATA_NOT_COLLECTED"]}]
        return (indented(entries) + "\n").encode()

    def play_json(self) -> bytes:
        purposes = vocabulary().play_purposes  # a new dict at each read (stores.py): read once
        body = {
            "app": self.app,
            "name": self.app_name,
            "collects_or_shares_data": bool(self.play),
            "encrypted_in_transit": self.encrypted_in_transit,
            "deletion": {"request": self.deletion_request, "method": self.deletion_method, "url": self.deletion_url},
            "data_types": [
                {
                    "id": t.id,
                    "label": t.label,
                    "collected": t.collected,
                    "shared": t.shared,
                    "ephemeral": t.ephemeral,
                    "required": t.required,
                    "purposes": [purposes[p] for p in t.purposes],
                    "sharing_purposes": [purposes[p] for p in t.sharing_purposes],
                    "from": list(t.categories),
                    "roles": dict(t.roles),
                }
                for t in self.play
            ],
        }
        return (indented(body) + "\n").encode()

    def play_csv(self) -> bytes:
        """The Play Console's Data safety import file: one row per question and response."""
        vocab = vocabulary()
        purposes = vocab.play_purposes  # a new dict at each read (stores.py): read once
        rows: list[list[str]] = [
            [
                "Question ID (machine readable)",
                "Response ID (machine readable)",
                "Response value",
                "Answer requirement",
                "Human-friendly question label",
            ],
            [
                "PSL_DATA_COLLECTION_COLLECTS_PERSONAL_DATA",
                "",
                _bool(bool(self.play)),
                "REQUIRED",
                "Does your app collect or share any of the required user data types?",
            ],
            [
                "PSL_DATA_COLLECTION_ENCRYPTED_IN_TRANSIT",
                "",
                _bool(self.encrypted_in_transit),
                "MAYBE_REQUIRED",
                "Is all of the user data collected by your app encrypted in transit?",
            ],
            [
                "PSL_DATA_COLLECTION_USER_REQUEST_DELETE",
                "",
                _bool(self.deletion_request),
                "MAYBE_REQUIRED",
                "Do you provide a way for users to request that their data is deleted?",
            ],
        ]
        used = {t.id: t for t in self.play}
        for type_id, (group, label) in vocab.play_types.items():
            rows.append([group, type_id, "true" if type_id in used else "", "MULTIPLE_CHOICE", label])
        for type_id, (_group, label) in vocab.play_types.items():
            t = used.get(type_id)
            if t is None:
                continue
            base = f"PSL_DATA_USAGE_RESPONSES:{type_id}"
            short = label.split(" / ")[-1]
            rows += [
                [
                    f"{base}:PSL_DATA_USAGE_COLLECTION_AND_SHARING",
                    "PSL_DATA_USAGE_ONLY_COLLECTED",
                    "true" if t.collected else "",
                    "MULTIPLE_CHOICE",
                    f"{short} / Collected",
                ],
                [
                    f"{base}:PSL_DATA_USAGE_COLLECTION_AND_SHARING",
                    "PSL_DATA_USAGE_ONLY_SHARED",
                    "true" if t.shared else "",
                    "MULTIPLE_CHOICE",
                    f"{short} / Shared",
                ],
                [
                    f"{base}:PSL_DATA_USAGE_EPHEMERAL",
                    "",
                    _bool(t.ephemeral),
                    "MAYBE_REQUIRED",
                    f"{short} / Processed ephemerally?",
                ],
                [
                    f"{base}:DATA_USAGE_USER_CONTROL",
                    "PSL_DATA_USAGE_USER_CONTROL_OPTIONAL",
                    "" if t.required else "true",
                    "SINGLE_CHOICE",
                    f"{short} / Users can choose whether this is collected",
                ],
                [
                    f"{base}:DATA_USAGE_USER_CONTROL",
                    "PSL_DATA_USAGE_USER_CONTROL_REQUIRED",
                    "true" if t.required else "",
                    "SINGLE_CHOICE",
                    f"{short} / Data collection is required",
                ],
            ]
            for pid, plabel in purposes.items():
                rows.append(
                    [
                        f"{base}:DATA_USAGE_COLLECTION_PURPOSE",
                        pid,
                        "true" if pid in t.purposes else "",
                        "MULTIPLE_CHOICE",
                        f"{short} collected for / {plabel}",
                    ]
                )
            for pid, plabel in purposes.items():
                rows.append(
                    [
                        f"{base}:DATA_USAGE_SHARING_PURPOSE",
                        pid,
                        "true" if pid in t.sharing_purposes else "",
                        "MULTIPLE_CHOICE",
                        f"{short} shared for / {plabel}",
                    ]
                )
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue().encode()


def _bool(value: bool) -> str:
    return "true" if value else "false"


# --- from facts to answers --------------------------------------------------------------------------


def app_categories(tenant: Tenant, app: App) -> list[DataCategory]:
    """The data categories an app collects: the ones it names, or all of them."""
    if not app.data:
        return list(tenant.data_categories)
    return [tenant.category(c) for c in app.data]


def category_purposes(tenant: Tenant, category: DataCategory) -> list[Purpose]:
    """The purposes that use a category: those naming it, and those that name no data (they use all)."""
    return [p for p in tenant.purposes if not p.data or category.id in p.data]


def store_purpose(purpose: Purpose) -> str | None:
    if purpose.store_purpose:
        return purpose.store_purpose
    return vocabulary().dpv.get(purpose.dpv or "")


@dataclass(frozen=True)
class _Where:
    """Turns key paths of tenant.yaml into located problems."""

    file: Path
    located: Located | None

    def problem(
        self, path: tuple[str | int, ...], message: str, expected: str | None = None, suggestion: str | None = None
    ) -> Problem:
        line, col = self.located.where(path) if self.located else (None, None)
        return Problem(
            message,
            file=self.file,
            line=line,
            column=col,
            key_path=format_path(path) or None,
            expected=expected,
            suggestion=suggestion,
        )


def _index(items: list[object], item: object) -> int:
    return next(i for i, x in enumerate(items) if x is item)


@dataclass
class _AppleUse:
    """An Apple data type as the app's categories add up: purposes joined, linked or tracking if any is."""

    purposes: set[str] = field(default_factory=set)
    linked: bool = False
    tracking: bool = False
    categories: set[str] = field(default_factory=set)


@dataclass
class _PlayUse:
    """A Play data type as the app's categories add up: ephemeral only if all are, required if any is."""

    purposes: set[str] = field(default_factory=set)
    sharing: set[str] = field(default_factory=set)
    shared: bool = False
    ephemeral: bool = True
    required: bool = False
    categories: set[str] = field(default_factory=set)
    roles: dict[str, str] = field(default_factory=dict)


def _ordered(items: set[str], order: dict[str, Any]) -> tuple[str, ...]:
    """In the store's own order, so exports read like the store's forms and never depend on set order."""
    rank = {k: i for i, k in enumerate(order)}
    return tuple(sorted(items, key=rank.__getitem__))


def _label_purposes(
    tenant: Tenant, app: App, category: DataCategory, where: _Where, reported: set[str], problems: list[Problem]
) -> list[str]:
    """The store purposes of a category's data; a purpose with none is a problem, reported once."""
    out: list[str] = []
    for p in category_purposes(tenant, category):
        sp = store_purpose(p)
        if sp is not None:
            out.append(sp)
        elif p.id not in reported:
            reported.add(p.id)
            problems.append(
                where.problem(
                    ("purposes", _index(list(tenant.purposes), p)),
                    f"purpose '{p.id}' has no app-store purpose, so the labels of app '{app.id}' cannot say why its data is used",
                    expected="store_purpose: one of " + ", ".join(sorted(vocabulary().purposes)),
                    suggestion="add store_purpose, or a dpv name policygen maps (see docs/apps.md, 'Store labels')",
                )
            )
    return out


@dataclass(frozen=True)
class StoreQuestion:
    """A store question answered by one yes/no fact, which the tenant must set: no answer comes from a default."""

    store: Literal["android", "ios"]  # the platform whose store label asks it: Google Play or the App Store
    fact: str  # the fact's key, on a data category or on the app
    question: str


# The questions each label asks per data category, and the fact that answers each.
CATEGORY_QUESTIONS = (
    StoreQuestion("ios", "linked", "App Store: is this data linked to the user's identity?"),
    StoreQuestion("ios", "tracking", "App Store: is this data used to track the user?"),
    StoreQuestion("android", "required", "Google Play: is collecting this data required, or can users choose?"),
    StoreQuestion("android", "ephemeral", "Google Play: is this data processed ephemerally?"),
    StoreQuestion("android", "sold", "Google Play: is this data shared with third parties (sold)?"),
    StoreQuestion("android", "shared", "Google Play: is this data shared with third parties (for advertising)?"),
)
APP_QUESTIONS = (
    StoreQuestion(
        "android",
        "encrypted_in_transit",
        "Google Play: is all of the user data collected by your app encrypted in transit?",
    ),
)
STORE_NAMES = {"android": "Google Play Data safety", "ios": "App Store privacy"}


def label_stores(app: App) -> set[str]:
    """The platforms whose store asks this app for a privacy label: those it is said to ship on (no
    platforms, no labels; the web has no store)."""
    return {p for p in app.platforms if p in STORE_NAMES}


def unanswered(tenant: Tenant, app: App, where: _Where) -> list[Problem]:
    """Every store question the app's labels must answer whose fact is not set."""
    stores = label_stores(app)
    problems: list[Problem] = []
    a = _index(list(tenant.apps), app)
    for q in APP_QUESTIONS:
        if q.store in stores and getattr(app, q.fact) is None:
            problems.append(_unset(where, ("apps", a), q, f"app '{app.id}'", app.id))
    for category in app_categories(tenant, app):
        if not category.store_types:
            continue
        c = _index(list(tenant.data_categories), category)
        for q in CATEGORY_QUESTIONS:
            if q.store in stores and getattr(category, q.fact) is None:
                problems.append(_unset(where, ("data_categories", c), q, f"data category '{category.id}'", app.id))
    return problems


def _unset(where: _Where, at: tuple[str | int, ...], q: StoreQuestion, what: str, app: str) -> Problem:
    problem = where.problem(
        at,
        f"{what} does not say '{q.fact}', which answers the {STORE_NAMES[q.store]} label of app '{app}': "
        f'"{q.question}"',
        expected=f"{q.fact}: true or false",
        suggestion=f"set {q.fact} to what the organisation says; policygen never answers a store question from a default "
        f"(or remove '{q.store}' from the app's platforms)",
    )
    return replace(problem, key_path=format_path((*at, q.fact)))


def app_labels(tenant: Tenant, app: App, file: Path, located: Located | None = None, slug: str = "") -> AppLabels:
    """Both stores' answers for one app, or an InputError naming every fact they lack.

    Only the stores of the app's platforms are asked: an app whose platforms are not
    set gets no labels, and each question a declared store asks must have its fact set.
    """
    vocab = vocabulary()
    where = _Where(file, located)
    problems: list[Problem] = unanswered(tenant, app, where)
    apple: dict[str, _AppleUse] = {}
    play: dict[str, _PlayUse] = {}
    ours: set[str] = set()
    reported: set[str] = set()
    # Without a store to answer, a purpose lacking its store purpose is no problem yet.
    purpose_problems = problems if label_stores(app) else []
    for category in app_categories(tenant, app):
        if not category.store_types:
            continue  # check_app reports it against the policy, where the reader can see both sides
        purposes = _label_purposes(tenant, app, category, where, reported, purpose_problems)
        for t in category.store_types:
            ours.add(t)
            apple_id, play_id = vocab.types[t]
            a = apple.setdefault(apple_id, _AppleUse())
            a.purposes |= {vocab.purposes[sp][0] for sp in purposes}
            a.linked = a.linked or bool(category.linked)
            a.tracking = a.tracking or bool(category.tracking)
            a.categories.add(category.id)
            g = play.setdefault(play_id, _PlayUse())
            g.purposes |= {vocab.purposes[sp][1] for sp in purposes}
            # Play's "shared" is a transfer to a third party that is not a service provider: data the
            # policy says is sold or shared (for advertising), which is also why it is shared.
            if category.sold or category.shared:
                g.shared = True
                g.sharing.add("PSL_ADVERTISING")
            g.ephemeral = g.ephemeral and bool(category.ephemeral)
            g.required = g.required or bool(category.required)
            g.categories.add(category.id)
            if category.role:
                g.roles[category.id] = category.role
    if problems:
        raise InputError(problems)
    apple_types = tuple(
        AppleDataType(
            k,
            vocab.apple_types[k],
            _ordered(a.purposes, vocab.apple_purposes),
            a.linked,
            a.tracking,
            tuple(sorted(a.categories)),
        )
        for k in _ordered(set(apple), vocab.apple_types)
        for a in (apple[k],)
    )
    play_names = vocab.play_types  # a new dict at each read (stores.py): read once
    play_purposes = vocab.play_purposes
    play_types = tuple(
        PlayDataType(
            k,
            *play_names[k],
            collected=True,
            shared=g.shared,
            ephemeral=g.ephemeral,
            required=g.required,
            purposes=_ordered(g.purposes, play_purposes),
            sharing_purposes=_ordered(g.sharing, play_purposes),
            categories=tuple(sorted(g.categories)),
            roles=tuple(sorted(g.roles.items())),
        )
        for k in _ordered(set(play), play_names)
        for g in (play[k],)
    )
    erasure = next((r for r in tenant.rights if r.id == "erasure"), None)
    method = tenant.deletion.how if tenant.deletion else (erasure.how if erasure else None)
    return AppLabels(
        slug,
        app.id,
        app.name,
        apple_types,
        play_types,
        bool(app.encrypted_in_transit),
        tenant.deletion is not None or erasure is not None,
        method,
        app.deletion_url,
        frozenset(ours),
    )


# --- labels and permissions against the policy -------------------------------------------------------


_H3 = re.compile(r"<h3[^>]*>(.*?)</h3>", re.S)
_STRONG_ITEM = re.compile(r"<li>\s*(?:<p>)?\s*<strong>(.*?)</strong>", re.S)


@functools.lru_cache(maxsize=2048)
def _text(fragment: str) -> str:
    # Tenants whose facts read the same share a clause's HTML (readtrace): its text is worked out once.
    return " ".join(b.text for b in blocks(fragment))


def disclosed_permissions(document: DocumentLike, app: App) -> list[str] | None:
    """The permission names the policy lists under the app's heading, or None if it has no such heading."""
    for clause in document.clauses:
        parts = _H3.split(clause.html)
        # parts: [before, heading1, body1, heading2, body2, ...]
        for i in range(1, len(parts) - 1, 2):
            if _text(parts[i]) == app.name:
                return [_text(m) for m in _STRONG_ITEM.findall(parts[i + 1])]
    return None


def _policy_text(document: DocumentLike) -> str:
    return " ".join(_text(c.html) + " " + c.title for c in document.clauses)


def check_app(
    tenant: Tenant, app: App, labels: AppLabels, document: DocumentLike, file: Path, located: Located | None = None
) -> list[Problem]:
    """Every permission and labelled data type of the app is in the policy, and the other way round."""
    vocab = vocabulary()
    where = _Where(file, located)
    problems: list[Problem] = []
    app_index = _index(list(tenant.apps), app)
    policy = f"the policy '{document.title}' ({document.id})"

    listed = disclosed_permissions(document, app)
    asked = {p.label: i for i, p in enumerate(app.permissions)}
    # A translated policy lists a permission by its name in that language: any of its names counts.
    names = {p.label: p.labels for p in app.permissions}
    for label, i in asked.items():
        if listed is None or not names[label] & set(listed):
            problems.append(
                where.problem(
                    ("apps", app_index, "permissions", i),
                    f"app '{app.id}' asks for the {label} permission, but {policy} does not list it under '{app.name}'",
                    expected="every permission the app asks for disclosed in the policy",
                    suggestion="check the tenant's override of the apps-permissions clause, or remove the permission",
                )
            )
    for label in listed or []:
        if not any(label in known for known in names.values()):
            problems.append(
                where.problem(
                    ("apps", app_index, "permissions"),
                    f"{policy} lists the {label} permission under '{app.name}', but app '{app.id}' does not ask for it",
                    expected="the policy to list only the permissions in apps[].permissions",
                    suggestion=f"add {label} to the app's permissions, or remove it from the policy",
                )
            )

    if not label_stores(app):
        return problems  # no store label to keep in step with the policy
    text = _policy_text(document)
    categories = app_categories(tenant, app)
    for category in categories:
        c_index = _index(list(tenant.data_categories), category)
        disclosed = category.name in text
        if category.store_types and not disclosed:
            problems.append(
                where.problem(
                    ("data_categories", c_index, "store_types"),
                    f"the store labels of app '{app.id}' list {', '.join(category.store_types)} from data category "
                    f"'{category.id}', but {policy} does not disclose '{category.name}'",
                    expected="every labelled data type disclosed in the policy",
                    suggestion="disclose the category in the policy (check clause overrides) or drop its store_types",
                )
            )
        if disclosed and not category.store_types:
            problems.append(
                where.problem(
                    ("data_categories", c_index),
                    f"{policy} discloses '{category.name}', which app '{app.id}' collects, but the category has no "
                    f"store_types, so the app's store labels leave it out",
                    expected="store_types: the store data types of this category, e.g. [name, email]",
                    suggestion="add store_types (see docs/apps.md, 'Store labels'), or list only the categories "
                    f"the app collects in apps[{app_index}].data",
                )
            )
    labelled = labels.store_types
    for i, perm in enumerate(app.permissions):
        reaches = vocab.permissions.get(perm.id)
        if perm.on_device or not reaches or labelled & set(reaches):
            continue
        problems.append(
            where.problem(
                ("apps", app_index, "permissions", i),
                f"app '{app.id}' asks for the {perm.label} permission, which reaches {' or '.join(reaches)}, "
                f"but no data category it collects has those store_types, so its store labels leave that data out",
                expected=f"a data category of the app with store_types including one of: {', '.join(reaches)}",
                suggestion="add the store type to the category that holds this data, or set on_device: true "
                "when the data never leaves the device",
            )
        )
    return problems


def policy_document(documents: Sequence[DocumentLike], kinds: Mapping[str, str | None]) -> DocumentLike | None:
    """The document an app shows as its privacy policy: the first of kind 'privacy', else the first."""
    for doc in documents:
        if kinds.get(doc.id) == "privacy":
            return doc
    return documents[0] if documents else None
