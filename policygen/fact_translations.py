"""Translations of a tenant's free-text facts: tenants/<slug>/tenant.<lang>.yaml, an overlay of tenant.yaml.

    # tenants/ims-pro/tenant.hi.yaml
    organisation.description:
      text: सेवा अनुरोध और टिकट प्रबंधन का एक प्लेटफ़ॉर्म
      translates: 5f1c0e7a9b2d4c61

Each key is the key path of a free-text fact in tenant.yaml (as errors print it: `purposes[0].name`),
each value the translated text and the hash of the value it translates: the first 16 hex digits of
the SHA-256 of the source value's UTF-8 bytes (`policygen translations --format json` lists them).
Only free text is translated: ids, dates, durations, countries and rights are typed facts, printed in
each language by policygen. A page in that language prints the translation while it is current; a
stale one (the tenant.yaml value changed since) prints the source value, or stops the build when the
project refuses stale translations. A fact with no translation prints as the tenant wrote it. A fact
printed as the tenant wrote it is a ForeignWord (in_language): the page's body marks it lang="en".
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from .clauses import language_of
from .errors import Collector, InputError, Problem, did_you_mean
from .facts import Address, Channel, Purpose, Registration, Tenant, Text, Theme, Tracker, is_free_text
from .inputs import read_text
from .validation import problems_from_validation
from .vocabulary import SOURCE, CountryName, ForeignWord
from .yamlfile import Located, load

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
Status = Literal["current", "stale"]


class FactTranslation(BaseModel):
    """One translated fact: its text, and the hash of the tenant.yaml value it translates."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    text: Text = Field(description="The fact in this language")
    translates: str = Field(
        pattern=r"^[0-9a-f]{16}$",
        description="the hash of the tenant.yaml value it translates: 16 hex digits "
        "(`policygen translations --format json` lists each fact's hash)",
    )


class FactOverlay(RootModel[dict[str, FactTranslation]]):
    """tenants/<slug>/tenant.<lang>.yaml: key paths of free-text facts, each with its translation."""

    model_config = ConfigDict(defer_build=True)


def value_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def overlay_file(folder: Path, locale: str) -> Path:
    return folder / f"tenant.{language_of(locale)}.yaml"


@dataclass(frozen=True)
class FactState:
    key_path: str
    status: Status
    source_hash: str
    line: int | None


def _steps(key_path: str) -> list[str | int] | None:
    steps: list[str | int] = []
    at = 0
    for match in _STEP.finditer(key_path):
        if match.start() != at + (1 if steps and key_path[at : at + 1] == "." else 0):
            return None
        steps.append(match.group(1) if match.group(1) else int(match.group(2)))
        at = match.end()
    return steps if steps and at == len(key_path) else None


def _free_text(tenant: Tenant, steps: list[str | int]) -> str | None:
    """The free-text value at *steps* in the tenant's facts (a text field, or one item of a list of texts:
    `data_categories[0].items[2]`), or None when there is none."""
    value: Any = tenant
    owner: Any = None
    name: str | None = None
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, (list, tuple)) or step >= len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, BaseModel) or step not in type(value).model_fields:
                return None
            owner, name, value = value, step, getattr(value, step)
    if owner is None or name is None or not is_free_text(type(owner), name) or not isinstance(value, str):
        return None
    return value


def read_overlay(
    folder: Path, locale: str, tenant: Tenant, text: str | None = None
) -> tuple[dict[str, FactTranslation], Located] | None:
    """The tenant's fact translations into *locale*'s language (None: it has no overlay), every problem located;
    *text*: the overlay's, already read."""
    file = overlay_file(folder, locale)
    if text is None and not file.is_file():
        return None
    located = load(file, text)
    try:
        overlay = FactOverlay.model_validate(located.data or {}).root
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, located, FactOverlay)) from None
    problems = Collector()
    for key_path in overlay:
        steps = _steps(key_path)
        if steps is None or _free_text(tenant, steps) is None:
            line, column = located.where((key_path,))
            problems.add(
                Problem(
                    f"'{key_path}' is not a free-text fact set in tenant.yaml",
                    file=file,
                    line=line,
                    column=column,
                    key_path=key_path,
                    expected="the key path of a text fact set in tenant.yaml, e.g. organisation.description, "
                    "purposes[0].name or data_categories[0].items[1] (ids, dates, durations, countries and rights "
                    "are printed by policygen)",
                    suggestion=did_you_mean(key_path, sorted(text_facts(tenant))),
                )
            )
    problems.raise_if_any()
    return overlay, located


def text_facts(tenant: Tenant) -> dict[str, str]:
    """Every free-text fact set in the tenant's facts, by key path."""
    found: dict[str, str] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                inner = getattr(value, name)
                where = f"{path}.{name}" if path else name
                if isinstance(inner, str) and is_free_text(type(value), name):
                    found[where] = inner
                elif _texts(inner) and is_free_text(type(value), name):
                    found.update((f"{where}[{i}]", item) for i, item in enumerate(inner))
                else:
                    walk(inner, where)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(tenant, "")
    return found


def _texts(value: Any) -> bool:
    """Whether *value* is a list of texts (each item translated on its own, by its index)."""
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(item, str) for item in value)


def states(folder: Path, locale: str, tenant: Tenant) -> list[FactState]:
    """Whether each translated fact is current or stale (the tenant.yaml value changed since)."""
    read = read_overlay(folder, locale, tenant)
    if read is None:
        return []
    overlay, located = read
    out: list[FactState] = []
    for key_path, translation in overlay.items():
        source = _free_text(tenant, _steps(key_path) or [])
        assert source is not None  # read_overlay refused any other key
        digest = value_hash(source)
        status: Status = "current" if translation.translates == digest else "stale"
        out.append(FactState(key_path, status, digest, located.where((key_path,))[0]))
    return out


def translated_facts(folder: Path, locale: str, tenant: Tenant, refuse_stale: bool) -> Tenant:
    """The tenant's facts as a page in *locale* prints them (in_language): each current translation in place of
    its tenant.yaml text, every other free-text fact in words marked as the source language's."""
    global _last
    file = overlay_file(folder, locale)
    text = read_text(file) if file.is_file() else None
    # A tenant's pages in a language ask once for each of its documents and once for its names: the overlay is
    # parsed and checked, and the facts made, once, while the same facts object (frozen) and the overlay's same
    # text are asked about.
    key = (file, locale, text, refuse_stale)
    last = _last
    if last is not None and last[0] is tenant and last[1] == key:
        return last[2]
    translated = _translated_facts(folder, locale, tenant, refuse_stale, text)
    _last = (tenant, key, translated)
    return translated


_last: tuple[Tenant, tuple[Path, str, str | None, bool], Tenant] | None = None


def _translated_facts(folder: Path, locale: str, tenant: Tenant, refuse_stale: bool, text: str | None) -> Tenant:
    """translated_facts, given the overlay's *text* (None: there is none)."""
    read = None if text is None else read_overlay(folder, locale, tenant, text)
    if read is None:
        return in_language(tenant, {})
    overlay, located = read
    problems = Collector()
    current: dict[str, str] = {}
    for key_path, translation in overlay.items():
        source = _free_text(tenant, _steps(key_path) or [])
        assert source is not None
        if translation.translates == value_hash(source):
            current[key_path] = translation.text
        elif refuse_stale:
            line, column = located.where((key_path, "translates"))
            problems.add(
                Problem(
                    "this translation is stale: the fact changed in tenant.yaml since it was translated",
                    file=overlay_file(folder, locale),
                    line=line,
                    column=column,
                    key_path=f"{key_path}.translates",
                    expected=f"the hash of the value as it is now: {value_hash(source)}",
                    suggestion="translate the new value and record that hash; or set stale_translations: fallback "
                    "in policygen.yaml to print the tenant.yaml value meanwhile",
                )
            )
    problems.raise_if_any()
    return in_language(tenant, current)


# Free text that is not words of a language: a code, a number, a file name. A page in another language prints it
# as written, unmarked (lang="en" would have a screen reader read "SW1A 1AA" or "_ga" as English words).
_NOT_WORDS: frozenset[tuple[type[BaseModel], str]] = frozenset(
    {
        (Registration, "number"),
        (Address, "postcode"),
        (Purpose, "dpv"),
        (Tracker, "name"),
        (Theme, "logo"),
    }
)


def in_words(owner: BaseModel, name: str, value: str) -> bool:
    """Whether the free-text fact *name* of *owner* is words in the tenant's language, which a page in another
    language marks with the source language when it prints it untranslated. A country is not (policygen names
    it in each language), nor a code, a number or a file name, nor a channel's email address, URL or number."""
    if isinstance(value, CountryName) or (type(owner), name) in _NOT_WORDS:
        return False
    return not isinstance(owner, Channel) or name != "value" or owner.kind == "post"


def in_language(tenant: Tenant, translations: Mapping[str, str]) -> Tenant:
    """The tenant's facts as a page in another language prints them: each fact in *translations* (by key path:
    its current translation) in its place; every other free-text fact in words as the tenant wrote it, as a
    ForeignWord in the source language, which the page's body marks (lang="en") and any other place (an
    attribute, a title, JSON, a feed) prints as the plain text it is."""
    marked = _in_language(tenant, "" if translations else None, translations)
    assert isinstance(marked, Tenant)
    return marked


def _shown(owner: BaseModel, name: str, text: str, translation: str | None) -> str | None:
    """How a page in another language prints the free text *text* (field *name* of *owner*): its current
    *translation*, else as written, marked as the source language's when it is words; None: as it is."""
    if translation is not None:
        return translation
    return ForeignWord(text, SOURCE) if in_words(owner, name, text) else None


def _in_language(value: Any, path: str | None, translations: Mapping[str, str]) -> Any:
    """*value* (at key path *path*; None when there are no *translations* to look up by it) as in_language says;
    the same object when nothing in it changes."""
    if isinstance(value, BaseModel):
        update: dict[str, Any] = {}
        for name, free_text in _looked_into(type(value)):
            inner = getattr(value, name)
            where = None if path is None else f"{path}.{name}" if path else name
            if free_text and isinstance(inner, str):
                shown = _shown(value, name, inner, None if where is None else translations.get(where))
                if shown is not None:
                    update[name] = shown
            elif free_text and _texts(inner):
                items = [
                    _shown(value, name, item, None if where is None else translations.get(f"{where}[{i}]"))
                    for i, item in enumerate(inner)
                ]
                if any(item is not None for item in items):
                    shown_items = [new if new is not None else old for new, old in zip(items, inner, strict=True)]
                    update[name] = type(inner)(shown_items) if isinstance(inner, tuple) else shown_items
            else:
                changed = _in_language(inner, where, translations)
                if changed is not inner:
                    update[name] = changed
        return value.model_copy(update=update) if update else value
    if isinstance(value, (list, tuple)):
        items = [
            _in_language(item, None if path is None else f"{path}[{i}]", translations)
            if isinstance(item, (BaseModel, list, tuple))
            else item  # text, a number, a choice: as it is
            for i, item in enumerate(value)
        ]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    return value


@functools.cache  # a model's fields are fixed, and a page in another language walks every fact of its tenant
def _looked_into(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """The fields of *model* that in_language looks into, each with whether it is free text: every field but
    those whose type holds only values printed as they are (numbers, dates, choices, codes), where no free text
    or fact can be."""
    return tuple(
        (name, is_free_text(model, name))
        for name, field in model.model_fields.items()
        if is_free_text(model, name) or not _plain(field.annotation)
    )


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), dt.date, dt.datetime})


def _plain(annotation: Any) -> bool:
    """Whether a field of this type only ever holds a plain value: text that is no free text (is_free_text says
    which is), a number, a date, a truth value, an enumeration's member, a Literal's choice, or none. Any other
    type (a model, a list, a type not named here) may hold free text, and is looked into."""
    origin = get_origin(annotation)
    if origin is Literal:
        return True
    if origin is Annotated:
        return _plain(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return all(_plain(arg) for arg in get_args(annotation))
    return annotation in _PLAIN_TYPES or (isinstance(annotation, type) and issubclass(annotation, Enum))


def current_translations(folder: Path, locale: str, tenant: Tenant) -> dict[str, str]:
    """The text of each current translation into *locale*'s language, by key path: what its pages print
    (a stale one prints the tenant.yaml value)."""
    read = read_overlay(folder, locale, tenant)
    if read is None:
        return {}
    current = {s.key_path for s in states(folder, locale, tenant) if s.status == "current"}
    return {key_path: t.text for key_path, t in read[0].items() if key_path in current}


def translated_words(tenant: Tenant, translations: Mapping[str, str]) -> dict[str, str]:
    """Each translated fact's text in *tenant* -> its translation (*translations*: by key path, as a
    release records them): how a finding that quotes the tenant's words finds them in the language."""
    words: dict[str, str] = {}
    for key_path, translated in translations.items():
        source = _free_text(tenant, _steps(key_path) or [])
        if source is not None:
            words.setdefault(source, translated)  # the same words translated twice: the first, by key path
    return words


def overlay_schema() -> dict[str, Any]:
    schema = FactOverlay.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "policygen translations of a tenant's facts (tenant.<lang>.yaml)"
    return schema


def format_facts(tenant: Tenant, folder: Path, locale: str) -> str:
    """Each free-text fact with the hash a translation records, and whether its translation is current."""
    known = {s.key_path: s.status for s in states(folder, locale, tenant)}
    lines = [f"{'status':<8} {'hash':<16} key path: value"]
    for key_path, value in text_facts(tenant).items():
        status = known.get(key_path, "missing")
        lines.append(f"{status:<8} {value_hash(value)} {key_path}: {' '.join(value.split())[:70]}")
    return "\n".join(lines) + "\n"
