"""A JSON object's or array's items read from a file a piece at a time, never the whole of it at once; and
values written as indented JSON text (`indented`), as json.dumps writes them, faster.

A rebuild reads the previous manifest's "tenants" object, about 600 bytes a tenant: 60 MB at a hundred
thousand tenants, and several times that once parsed. Read item by item, what it holds at once is one
piece of the file and one item. Each item is parsed by the json module, as json.loads would parse it.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, TypeVar

PIECE = 1 << 16  # bytes read at a time
MAX_ITEM = 16 << 20  # characters one item may take: a larger one is no tenant's line that policygen wrote
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace


def last_at(f: BinaryIO, text: bytes, piece: int = PIECE) -> int | None:
    """Where *text* last begins in the file open as *f*, searched from the end a piece at a time; None if nowhere."""
    fd = f.fileno()
    end = os.fstat(fd).st_size
    while end > 0:
        start = max(0, end - piece)
        # Up to len(text) - 1 bytes past the piece: the text may begin in it and end in the one after.
        data = os.pread(fd, end - start + len(text) - 1, start)
        at = data.rfind(text)
        if at >= 0:
            return start + at
        end = start
    return None


def object_items(f: BinaryIO, start: int, end: int, piece: int = PIECE) -> Iterator[tuple[str, Any]]:
    """The items of the JSON object that fills bytes *start* to *end* of the file open as *f* (whitespace
    around it allowed), in the file's order, as they are read. ValueError (UnicodeDecodeError for bytes that
    are not UTF-8) when those bytes are not one object, or an item takes more than MAX_ITEM characters."""
    text = _Text(f, start, end, piece)
    yield from _items(text, "{", "}", lambda: _key_and_value(text))
    if text.next_char() is not None:
        raise ValueError("more after the object")


def array_items(f: BinaryIO, start: int, end: int, piece: int = PIECE, followed: bool = False) -> Iterator[Any]:
    """The items of the JSON array that fills bytes *start* to *end* of the file open as *f* (whitespace around
    it allowed), in the file's order, as they are read; ValueError as for object_items. *followed*: the array
    only begins at *start*, and more may follow it before *end* (a value among an object's, read no further)."""
    text = _Text(f, start, end, piece)
    yield from _items(text, "[", "]", text.value)
    if not followed and text.next_char() is not None:
        raise ValueError("more after the array")


T = TypeVar("T")


def _items(text: _Text, opening: str, closing: str, item: Callable[[], T]) -> Iterator[T]:
    """The items between *opening* and *closing*, separated by commas, each read by *item* as it comes."""
    text.take(opening)
    if text.next_char() == closing:
        text.pos += 1
        return
    while True:
        yield item()
        if text.next_char() != ",":
            break
        text.pos += 1
    text.take(closing)


def _key_and_value(text: _Text) -> tuple[str, Any]:
    key = text.value()
    if not isinstance(key, str):
        raise ValueError("a key that is not a string")
    text.take(":")
    return key, text.value()


class _Text:
    """The text of a part of a file, decoded a piece at a time; `buf[pos:]` is what is not yet taken."""

    def __init__(self, f: BinaryIO, start: int, end: int, piece: int) -> None:
        self._fd = f.fileno()
        self._at = start  # where the next piece begins: read at their own position, the file's is left alone
        self._end = end
        self._piece = piece
        self._decoder = codecs.getincrementaldecoder("utf-8")()  # strict: a piece may end inside a character
        self._done = start >= end
        self.buf = ""
        self.pos = 0

    def more(self) -> bool:
        """Add the next piece to what is not yet taken; False at the end."""
        if self._done:
            return False
        data = os.pread(self._fd, min(self._piece, self._end - self._at), self._at)
        if not data:
            raise ValueError("the file is shorter than it was")
        self._at += len(data)
        self._done = self._at >= self._end
        self.buf = self.buf[self.pos :] + self._decoder.decode(data, final=self._done)
        self.pos = 0
        if len(self.buf) > MAX_ITEM + self._piece:
            raise ValueError("an item too large")
        return True

    def next_char(self) -> str | None:
        """The next character that is not whitespace (not taken); None at the end."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]  # always a match, maybe empty
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return None

    def take(self, char: str) -> None:
        if self.next_char() != char:
            raise ValueError(f"expected {char!r}")
        self.pos += 1

    def value(self) -> Any:
        """The JSON value that comes next, read on until it is whole."""
        self.next_char()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except ValueError:  # cut short by the piece's end, or not JSON (then the end tells)
                if self.more():
                    continue
                raise
            if _may_go_on(self.buf, end, value) and self.more():
                continue
            self.pos = end
            return value


def _may_go_on(text: str, end: int, value: Any) -> bool:
    """Whether *value*, read from *text* up to *end*, may be the start of a longer one that the next piece
    completes: a number cut short reads as a shorter one ("12" of "125", "0" of "0.5"); nothing else does
    (a string, list or object cut short is no JSON, nor is a name like "tru")."""
    if type(value) is not int and type(value) is not float:
        return False
    while end < len(text) and text[end] in _NUMBER:
        end += 1
    return end == len(text)


_NUMBER = frozenset("0123456789.eE+-")


# --- writing -------------------------------------------------------------------------------------------------------

json_string = json.encoder.encode_basestring  # json.dumps of a str with ensure_ascii=False, in C


def indented(value: object, newline: str = "\n") -> str:
    """json.dumps(value, indent=2, ensure_ascii=False), nested after *newline* (a newline and its indent), by hand:
    the json module indents in Python, a generator per level (80 against 47 us for an app's Play label), and a
    site's manifest holds an item per tenant. Anything but objects with text keys, lists, text, whole numbers,
    booleans and null goes to json."""
    if type(value) is str:
        return json_string(value)
    if type(value) is int:
        return str(value)
    if value is None or type(value) is bool:
        return "null" if value is None else "true" if value else "false"
    inner = newline + "  "
    if type(value) is dict and all(type(key) is str for key in value):
        if not value:
            return "{}"
        fields = [f"{json_string(key)}: {indented(item, inner)}" for key, item in value.items()]
        return "{" + inner + ("," + inner).join(fields) + newline + "}"
    if type(value) is list or type(value) is tuple:
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(indented(item, inner) for item in value) + newline + "]"
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", newline)
