"""Seeded variations of a tenant's facts: lists cut to 1-3 entries, optional facts left out.

Deterministic (random.Random(seed)), so a failing variation can be rebuilt from its seed.
References between facts (a purpose's data ids, a transfer's recipients, ...) are cut
to what is left, so each variation is a tenant a writer could have written.
"""

from __future__ import annotations

import random
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from policygen.facts import Tenant

DROP = 0.35  # chance that an optional fact is left out
KEEP = frozenset({"documents", "jurisdictions", "dates", "locale", "theme", "notes"})  # the page's frame, not its facts


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation like `X | None` or `list[X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def vary(data: Any, model: type[BaseModel] | None, rng: random.Random, top: bool = False) -> Any:
    if isinstance(data, list):
        if not data:
            return data
        keep = sorted(rng.sample(range(len(data)), rng.randint(1, min(3, len(data)))))
        return [vary(data[i], model, rng) for i in keep]
    if not isinstance(data, dict) or model is None:
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None or (top and key in KEEP):
            out[key] = value
            continue
        if not field.is_required() and rng.random() < DROP:
            continue
        out[key] = vary(value, _model_of(field.annotation), rng)
    return out


def _ids(items: Any) -> set[str]:
    return {i["id"] for i in items or [] if isinstance(i, dict) and "id" in i}


def _cut(entries: Any, key: str, known: set[str]) -> None:
    for entry in entries or []:
        if isinstance(entry, dict) and isinstance(entry.get(key), list):
            entry[key] = [v for v in entry[key] if v in known]


def repair(data: dict[str, Any]) -> dict[str, Any]:
    """Cut every reference to an entry the variation left out."""
    categories = _ids(data.get("data_categories"))
    periods = _ids((data.get("retention") or {}).get("periods"))
    _cut(data.get("purposes"), "data", categories)
    _cut(data.get("apps"), "data", categories)
    _cut(data.get("recipients"), "purposes", _ids(data.get("purposes")))
    _cut(data.get("transfers"), "recipients", _ids(data.get("recipients")))
    for category in data.get("data_categories") or []:
        if category.get("retention") not in periods:
            category.pop("retention", None)
    if isinstance(data.get("deletion"), dict) and "timelines" in data["deletion"]:
        data["deletion"]["timelines"] = [t for t in data["deletion"]["timelines"] if t in periods]
    return data


def variations(base: dict[str, Any], count: int, seed: int) -> Iterator[tuple[int, Tenant]]:
    """*count* valid variations of *base*, each with the seed that makes it again."""
    made, n = 0, 0
    while made < count:
        n += 1
        rng = random.Random(seed * 100_003 + n)
        candidate = repair(vary(_copy(base), Tenant, rng, top=True))
        try:
            tenant = Tenant.model_validate(candidate)
        except ValueError:
            continue  # a cut that breaks a rule of the facts (say, a person left with no way to reach them)
        made += 1
        yield seed * 100_003 + n, tenant
        if n > count * 20:
            raise AssertionError(f"only {made} of {count} variations are valid tenants")


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
