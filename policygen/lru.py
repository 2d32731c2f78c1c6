"""A map that keeps only the entries used most recently.

A build's worker process renders thousands of tenants. What it keeps for each template source it meets (the code
compiled from it, the template made of that code) must stay bounded when tenants bring their own clauses, which no
other tenant uses: the library's sources, used by every tenant, stay; a tenant's own are let go once others have
been used since, and made again if met again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")


class LRU(Generic[Key, Value]):
    """At most *most* entries; past that, the one used least recently is dropped."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._entries: OrderedDict[Key, Value] = OrderedDict()

    def get(self, key: Key) -> Value | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: Key, value: Value) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.most:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._entries)
