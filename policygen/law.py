"""The law as dated data: when a duty or a transfer tool applies, and the source that says so.

Laws start and stop on known days: the Indian DPDP notice duties apply from
2027-05-13 and replace the IT (SPDI) Rules 2011 that day; the EU-US Privacy
Shield stopped being a lawful transfer tool on 2020-07-16. Checklist items and
transfer tools both carry an `in_force` span, so `policygen check --today DAY`
holds a tenant to the law of that day. The transfer tools are listed in
policygen/data/transfer_mechanisms.yaml; docs/regimes.md explains them.

This module reads only packaged data, through the project's YAML reader; it
imports nothing that imports the facts model, so the facts model and the
checker can both use it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from enum import Enum
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .vocabulary import english
from .yamlfile import packaged

# The regimes a transfer can leave; each has its own set of transfer tools.
Regime = Literal["eu", "uk", "ch"]
REGIME_NAMES = english("regimes")  # in English; the other languages' in policygen/data/languages/

# The transfer regime of each declared jurisdiction that has one.
JURISDICTION_REGIMES: dict[str, str] = {"eu_gdpr": "eu", "uk_gdpr": "uk"}


def declared_regimes(jurisdictions: Sequence[str]) -> list[str]:
    """The regimes a transfer that does not say which it leaves may leave: those declared, or else any."""
    return [JURISDICTION_REGIMES[j] for j in jurisdictions if j in JURISDICTION_REGIMES] or list(REGIME_NAMES)


class Status(Enum):
    NOT_YET = "not yet in force"
    IN_FORCE = "in force"
    ENDED = "no longer in force"


class InForce(BaseModel):
    """The days a rule applies: from a date, until the day a later law or a court ended it, and who says so."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    start: dt.date = Field(alias="from", description="The first day it applies")
    until: dt.date | None = Field(None, description="The first day it no longer applies")
    source: str = Field(min_length=1, description="The instrument, judgment or notification that sets the dates")

    @model_validator(mode="after")
    def _ordered(self) -> InForce:
        if self.until is not None and self.until <= self.start:
            raise ValueError(f"until ({self.until}) must come after from ({self.start})")
        return self

    def status(self, today: dt.date) -> Status:
        if today < self.start:
            return Status.NOT_YET
        if self.until is not None and today >= self.until:
            return Status.ENDED
        return Status.IN_FORCE


class TransferMechanism(BaseModel):
    """One lawful tool for sending personal data out of a regime (adequacy, contract clauses, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, description="Its name in a policy, e.g. 'the EU-US Data Privacy Framework'")
    regimes: list[Regime] = Field(min_length=1, description="The regimes whose exports it can cover")
    kind: Literal["adequacy", "safeguard", "derogation"] = Field(
        description="Adequacy of the destination, a safeguard (GDPR Art. 46-47), or an Art. 49 derogation"
    )
    in_force: InForce
    recognise: str | None = Field(
        None, description="A pattern that finds it in a policy's own words (case-insensitive)"
    )
    replaced_by: list[str] = Field([], description="Tools to use instead, once it is no longer in force")
    note: str | None = Field(
        None, description="A condition of its use, printed with it, e.g. 'for certified recipients'"
    )

    def serves(self, regime: str) -> bool:
        return regime in self.regimes

    @property
    def protects(self) -> bool:
        """An adequacy finding or a safeguard; a derogation only excuses an occasional transfer."""
        return self.kind != "derogation"

    def wording(self) -> str:
        return f"{self.name}, {self.note}" if self.note else self.name

    def named_in(self, words: str) -> bool:
        return self.recognise is not None and re.search(self.recognise, words, re.I) is not None


class TransferMechanisms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    mechanisms: list[TransferMechanism]

    @model_validator(mode="after")
    def _known_replacements(self) -> TransferMechanisms:
        ids = {m.id for m in self.mechanisms}
        unknown = sorted({r for m in self.mechanisms for r in m.replaced_by} - ids)
        if unknown or len(ids) != len(self.mechanisms):
            raise ValueError(f"repeated ids, or replacements that are not listed: {unknown}")
        return self


@lru_cache(maxsize=1)
def transfer_mechanisms() -> dict[str, TransferMechanism]:
    """The packaged transfer tools, by id, in file order."""
    listed = packaged(TransferMechanisms, "transfer_mechanisms.yaml")
    return {m.id: m for m in listed.mechanisms}


def mechanisms_named_in(words: str) -> list[TransferMechanism]:
    """The listed tools a policy's own words name (a free-text safeguard)."""
    return [m for m in transfer_mechanisms().values() if m.named_in(words)]


def replacements(mechanism: TransferMechanism, regimes: list[str], today: dt.date) -> list[TransferMechanism]:
    """What to use instead of *mechanism* for exports from *regimes*, among the tools in force on *today*."""
    tools = transfer_mechanisms()
    return [
        tools[r]
        for r in mechanism.replaced_by
        if any(tools[r].serves(g) for g in regimes) and tools[r].in_force.status(today) is Status.IN_FORCE
    ]
