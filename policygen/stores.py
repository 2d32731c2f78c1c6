"""The app stores' own vocabularies (data/store_labels.yaml): the data types and purposes Apple's App
Privacy details and Google Play's Data safety name, and policygen's names for them.

Tenant facts name store types and purposes (facts validates them here); label exports translate them
(labels). Both read them from this one place.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from .yamlfile import packaged


class Vocabulary(BaseModel):
    """data/store_labels.yaml: both stores' vocabularies and policygen's names for them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    apple: dict[str, dict[str, str]]
    play: dict[str, dict[str, object]]
    types: dict[str, tuple[str, str]]
    purposes: dict[str, tuple[str, str]]
    dpv: dict[str, str]
    permissions: dict[str, list[str]]

    @property
    def apple_types(self) -> dict[str, str]:
        return self.apple["types"]

    @property
    def apple_purposes(self) -> dict[str, str]:
        return self.apple["purposes"]

    @property
    def play_types(self) -> dict[str, tuple[str, str]]:
        return {k: (str(v[0]), str(v[1])) for k, v in self.play["types"].items()}  # type: ignore[index]

    @property
    def play_purposes(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.play["purposes"].items()}


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    vocab = packaged(Vocabulary, "store_labels.yaml")
    # The mapping must only name real store ids: a typo here would ship a label the stores reject.
    for ours, (apple, play) in vocab.types.items():
        assert apple in vocab.apple_types and play in vocab.play_types, ours
    for ours, (apple, play) in vocab.purposes.items():
        assert apple in vocab.apple_purposes and play in vocab.play_purposes, ours
    assert set(vocab.dpv.values()) <= set(vocab.purposes)
    assert {t for types in vocab.permissions.values() for t in types} <= set(vocab.types)
    return vocab
