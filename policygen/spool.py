"""Items too many to hold at once, given back sorted: what a build keeps of each tenant until the
site-wide files, and the site feed's entries.

A build of a hundred thousand tenants must not hold what it keeps of every tenant until the site index,
the manifest's "tenants" object and the site feed are made: its memory would grow with the site. A
`Spool` takes items in any order and gives them back sorted. It holds items in memory up to a budget;
past it, it sorts what it holds and writes it, encoded, to an unnamed temporary file in the project's
cache (a run), and at the end merges the runs into one file that is read back an item at a time, with
each item's offset so that a theme may still index the list. A site whose items fit in the budget never
touches the disk, and its items are never encoded.

The files are the build's own, unnamed (nothing is left behind by a crash), written only by the process
that made them and read by position (`os.pread`), never through the offset an open file shares with the
processes forked from it: the process that works beside the build (policygen/beside.py) reads the previous
build's tenants from a spool while the build process reads them too. A spool's bytes are flushed as soon as
they are written out, so no read waits on a buffer and no fork copies one to flush again.
"""

from __future__ import annotations

import heapq
import os
import struct
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Generic, TypeVar, overload

T = TypeVar("T")
U = TypeVar("U")

BUDGET = 4 << 20  # bytes of items held in memory by a spool before it writes them out
_LENGTH = struct.Struct("<I")  # each encoded item is written after its length
_CHUNK = 1 << 16  # bytes read at a time from a run


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a spool writes its items and reads them back, and about how much memory one takes; and, if it can
    be had from an item's bytes more cheaply than by decoding them, its sort key (the spool's *key* of the
    item decoded): the runs written out are then merged without decoding each item and encoding it again."""

    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]
    size: Callable[[T], int]
    order: Callable[[bytes], Any] | None = None


class Spool(Generic[T]):
    """Items added in any order, given back sorted by *key* (descending with *reverse*) by `ordered`.
    Without a *folder* (no cache can be used), every item stays in memory."""

    def __init__(
        self,
        codec: Codec[T],
        key: Callable[[T], Any],
        folder: Path | None,
        budget: int | None = None,
        reverse: bool = False,
    ) -> None:
        self._codec = codec
        self._key = key
        self._folder = folder
        self._budget = BUDGET if budget is None else budget
        self._reverse = reverse
        self._held: list[T] = []
        self._held_size = 0
        self._runs: list[tuple[int, int]] = []  # byte ranges of self._file, each sorted
        self._file: IO[bytes] | None = None
        self._merged: Merged[T] | None = None
        self._in_order = True  # each item added sorts after the one before (their runs need no merge)
        self._last: Any = None
        self.spilled = 0  # items written out (tests count them)

    def __enter__(self) -> Spool[T]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for file in (self._file, self._merged.file if self._merged else None):
            if file is not None:
                file.close()

    def add(self, item: T) -> None:
        if self._in_order:
            key = self._key(item)
            if self._last is not None and (key > self._last if self._reverse else key < self._last):
                self._in_order = False
            self._last = key
        self._held.append(item)
        self._held_size += self._codec.size(item)
        if self._held_size >= self._budget and self._folder is not None:
            self._spill()

    def ordered(self) -> Sequence[T]:
        """Every item added, sorted; after the last `add` (asked again, the same sequence: the build's site index
        and its other site-wide files each ask)."""
        if self._merged is not None:
            return self._merged
        if not self._runs:
            self._held.sort(key=self._key, reverse=self._reverse)
            return self._held
        if self._held:
            self._spill()
        assert self._file is not None
        self._merged = Merged(self._new_file(), self._codec.decode)
        for data in self._merge():
            self._merged.append(data)
        self._merged.file.flush()  # read back by position (_read_at), not through this buffer
        self._file.close()
        self._file = None
        return self._merged

    def _spill(self) -> None:
        if self._file is None:
            self._file = self._new_file()
        self._held.sort(key=self._key, reverse=self._reverse)
        start = self._file.seek(0, os.SEEK_END)
        encode = self._codec.encode
        self._file.writelines(_framed(encode(item)) for item in self._held)
        self._file.flush()  # read back by position (_read_at), not through this buffer
        self._runs.append((start, self._file.tell()))
        self.spilled += len(self._held)
        self._held = []
        self._held_size = 0

    def _new_file(self) -> IO[bytes]:
        assert self._folder is not None
        return tempfile.TemporaryFile(dir=self._folder)

    def _merge(self) -> Iterator[bytes]:
        """Every item written out, encoded, in order."""
        assert self._file is not None
        if self._in_order:  # added in order (a previous manifest's tenants): the runs follow each other
            return _frames(self._file, 0, self._runs[-1][1])  # read through, a chunk at a time
        frames = [_frames(self._file, start, end) for start, end in self._runs]
        if self._codec.order is not None:
            return heapq.merge(*frames, key=self._codec.order, reverse=self._reverse)
        decode, encode = self._codec.decode, self._codec.encode
        runs = [(decode(frame) for frame in run) for run in frames]
        return (encode(item) for item in heapq.merge(*runs, key=self._key, reverse=self._reverse))


class Merged(Sequence[T]):
    """A spool's items, sorted, in its file: read back an item at a time, or by position."""

    def __init__(self, file: IO[bytes], decode: Callable[[bytes], T]) -> None:
        self.file = file
        self._decode = decode
        self._offsets = array("Q")  # where each item starts: eight bytes an item
        self._end = 0

    def append(self, data: bytes) -> None:
        self._offsets.append(self._end)
        self.file.write(_framed(data))
        self._end += _LENGTH.size + len(data)

    def __len__(self) -> int:
        return len(self._offsets)

    def __iter__(self) -> Iterator[T]:
        return (self._decode(frame) for frame in _frames(self.file, 0, self._end))

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start = self._offsets[index]  # IndexError past the end, as a list's
        (length,) = _LENGTH.unpack(_read_at(self.file, _LENGTH.size, start))
        return self._decode(_read_at(self.file, length, start + _LENGTH.size))


def _framed(data: bytes) -> bytes:
    return _LENGTH.pack(len(data)) + data


def _frames(file: IO[bytes], start: int, end: int) -> Iterator[bytes]:
    """The items written between *start* and *end* of *file*, read a chunk at a time at their own position
    (several runs of one file are read side by side)."""
    buffer, pos, at = b"", 0, start
    while True:
        while len(buffer) - pos >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer, pos)
            if len(buffer) - pos < _LENGTH.size + length:
                break
            pos += _LENGTH.size + length
            yield buffer[pos - length : pos]
        if at >= end:
            if pos < len(buffer):
                raise OSError("a spool's file ends inside an item")  # a bug, or the file was changed
            return
        chunk = _read_at(file, min(_CHUNK, end - at), at)  # an item longer than a chunk takes several
        if not chunk:
            raise OSError("a spool's file is shorter than what was written")
        at += len(chunk)
        buffer, pos = buffer[pos:] + chunk, 0


def _read_at(file: IO[bytes], size: int, at: int) -> bytes:
    """*size* bytes of *file* from *at* (fewer at its end), written and flushed before: each read says where,
    as readers of one file take turns, and moves no offset that another process shares."""
    return os.pread(file.fileno(), size, at)


def sized(items: Iterable[str | bytes | None]) -> int:
    """About the memory a record of these texts takes: their lengths and an object's overhead each."""
    return sum(64 + len(item) for item in items if item is not None)


class Mapped(Sequence[U]):
    """The items of *items*, each passed through *view* as it is read: a list of the views would hold every
    one at once (every tenant's, for a site index or a check's report)."""

    def __init__(self, items: Sequence[T], view: Callable[[T], U]) -> None:
        self._items = items
        self._view = view

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[U]:
        return map(self._view, self._items)  # in one pass: Sequence's would index each one

    @overload
    def __getitem__(self, index: int) -> U: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[U]: ...
    def __getitem__(self, index: int | slice) -> U | Sequence[U]:
        if isinstance(index, slice):
            return [self._view(item) for item in self._items[index]]
        return self._view(self._items[index])
