"""Compiled templates kept between builds, signed, so that a cache folder restored from elsewhere never runs.

Compiling a template (parsing it, generating Python and compiling that) costs far more than running it, and
`policygen build` starts in a fresh process each time. So the code the sandbox compiles (policygen/sandbox.py:
CompiledCode) is kept in the project's `.cache/policygen/compiled/`, one file per source and setting (with the
names of the templates it imports or includes, so a warm build need not parse it to find them). That
folder is not trusted: it can be restored from elsewhere (a CI cache made by a pull request) or edited, and
loading code runs it. Each entry therefore carries an HMAC-SHA256 under the user's own key, which never is in
the project (policygen/signing.py). The signature covers the entry's bytes, what it was compiled
from (the template's name and source hash and the sandbox's settings) and what made it (policygen's code,
jinja2's and Python's versions): an entry that does not verify is ignored, never unmarshalled, and the
template compiled again. Only what the sandbox itself compiled is ever signed.

Without a usable key (a cache folder that cannot be written, a key file of another user or readable by
others) or with POLICYGEN_NO_CODE_CACHE set, nothing is kept: every build compiles, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib.util
import marshal
import os
import sys
import types
from pathlib import Path

import jinja2

from .filebytes import read_open
from .signing import open_regular, sign, signing_key
from .statcache import write_atomically

OFF = "POLICYGEN_NO_CODE_CACHE"  # set (to anything but empty): no compiled code is kept or loaded
_PURPOSE = b"policygen compiled template"  # what the user's key signs here (policygen/signing.py)
_HEADER = b"policygen compiled template 2\n"  # 2: with the templates it references
_MAX_ENTRY = 16 << 20  # bytes: a larger file is not one policygen wrote (a library template's is a few kB)


def read_regular(file: Path, limit: int) -> bytes:
    """At most *limit* + 1 bytes of *file* (a regular file reached through no link: signing.open_regular), as the
    caches signed with the user's key are read; OSError when it cannot be."""
    fd = open_regular(file)
    try:
        return read_open(fd, limit)
    finally:
        os.close(fd)


def maker(code: str) -> bytes:
    """What compiled code depends on besides its source: policygen's code (*code*: its hash), jinja2's
    version and Python's (its version and bytecode magic number)."""
    return "\0".join((code, jinja2.__version__, sys.version, importlib.util.MAGIC_NUMBER.hex())).encode()


class SignedCodes:
    """Compiled templates in *folder*, each signed with *key* (signing_key) for code made by *maker*."""

    def __init__(self, folder: Path, key: bytes, made_by: bytes) -> None:
        self.folder = folder
        self._key = key
        self._made_by = made_by
        self.loaded = 0  # entries found and verified, for tests and benchmarks

    def load(self, lookup: str) -> tuple[types.CodeType, int, tuple[str, ...]] | None:
        """The code, literal size and referenced templates kept for *lookup* (what it was compiled from), if
        its entry verifies."""
        file = self._file(lookup)
        try:
            data = read_regular(file, _MAX_ENTRY)
        except OSError:
            return None
        if len(data) > _MAX_ENTRY or not data.startswith(_HEADER):
            return None
        signature, body = data[len(_HEADER) : len(_HEADER) + 32], data[len(_HEADER) + 32 :]
        if not hmac.compare_digest(signature, self._sign(lookup, body)):
            return None  # not signed by this user's key for this source and maker: never unmarshalled
        found = marshal.loads(body)
        if not (
            isinstance(found, tuple)
            and len(found) == 3
            and isinstance(found[0], types.CodeType)
            and type(found[1]) is int
            and type(found[2]) is tuple
            and all(type(name) is str for name in found[2])
        ):
            return None
        self.loaded += 1
        return found[0], found[1], found[2]

    def store(self, lookup: str, code: types.CodeType, literal: int, references: tuple[str, ...] = ()) -> None:
        """Keep *code* (just compiled by the sandbox from what *lookup* names, with the *references* found
        while compiling it), signed."""
        body = marshal.dumps((code, literal, references))
        try:
            self.folder.mkdir(exist_ok=True)
            write_atomically(self._file(lookup), _HEADER + self._sign(lookup, body) + body)
        except OSError:
            pass  # not kept: the next build compiles it again

    def _file(self, lookup: str) -> Path:
        return self.folder / f"{self._prefix()}-{hashlib.sha256(lookup.encode()).hexdigest()}"

    def _prefix(self) -> str:
        """What every entry made by this maker is named with first, so that prune finds the others."""
        return hashlib.sha256(self._made_by).hexdigest()[:16]

    def prune(self) -> int:
        """Remove the entries another maker made (an earlier policygen, jinja2 or Python: none of them can
        be loaded by this one), so the folder does not grow with every upgrade; how many were removed.
        Entries of template sources since edited stay until the next upgrade (a few kB each)."""
        mine, removed = self._prefix() + "-", 0
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    if not entry.name.startswith(mine) and entry.is_file(follow_symlinks=False):
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
                            removed += 1
        except OSError:
            pass  # no folder yet, or one that cannot be read: nothing to remove
        return removed

    def _sign(self, lookup: str, body: bytes) -> bytes:
        message = b"\0".join((self._made_by, lookup.encode("utf-8", "surrogateescape"), body))
        return sign(self._key, _PURPOSE, message)


def signed_codes(folder: Path | None, code: str) -> SignedCodes | None:
    """The project's kept compiled code in *folder* (its cache's compiled/, None when the cache cannot be
    used), for policygen's code hash *code*; None when it is turned off or no key can be had."""
    if folder is None or os.environ.get(OFF):
        return None
    if os.path.lexists(folder) and (os.path.islink(folder) or not os.path.isdir(folder)):
        return None  # a committed link must not lead a build to read or write outside the project
    key = signing_key()
    return None if key is None else SignedCodes(folder, key, maker(code))
