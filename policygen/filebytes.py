"""The bytes of an open file, read to its end and bounded, in as few system calls as its size allows; and a file's
bytes written whole, without a file object, or its text a line at a time."""

from __future__ import annotations

import os
from collections.abc import Iterable

PIECE = 1 << 16  # bytes read at a time past the size the file's stat gave


def read_open(fd: int, limit: int, size: int | None = None) -> bytes:
    """At most *limit* + 1 bytes of the open regular file *fd*, from where it stands: more than *limit* tells
    the caller the file is larger than it takes. *size* is the file's stat's, when the caller has it.

    The stat's size and one byte more are asked for in one read, which meets the end in that one system call;
    should the file have grown since, it is read on in pieces, still bounded. (A read of *limit* + 1 at once,
    as before, made a buffer of that size, 2 MB for an input, for every file read: 30 µs a read rather than 5.)
    """
    want = (os.fstat(fd).st_size if size is None else size) + 1
    parts = []
    total = 0
    while total <= limit:
        part = os.read(fd, min(want, limit + 1 - total))
        parts.append(part)
        total += len(part)
        if len(part) < want:  # a short read of a regular file is its end
            break
        want = PIECE
    return b"".join(parts)  # one part, the usual case, is returned as it is, not copied


def write_new(file: str, data: bytes, follow: bool = True) -> None:
    """*data* written to *file*, created or truncated, as open(file, "wb") would (the same flags and mode),
    without a file object's buffering and checks around one write of the whole; not *follow*: a link in the
    file's place is refused (OSError), not written through."""
    fd = _open_new(file, follow)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_new_lines(file: str, lines: Iterable[str], follow: bool = True) -> None:
    """*lines* (each ending in a newline) written to *file* as write_new writes bytes, through a buffer: a text
    of a line per tenant is never held whole (a hundred thousand tenants')."""
    with open(_open_new(file, follow), "w", encoding="utf-8", errors="surrogateescape") as f:
        f.writelines(lines)


def _open_new(file: str, follow: bool) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    return os.open(file, flags, 0o666)
