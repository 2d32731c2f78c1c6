"""The user's key that signs what policygen keeps in a project's cache, so that a cache restored from elsewhere
is never taken for policygen's own.

A project's `.cache/policygen/` is not trusted: it can be restored from a CI cache that a pull request's run
saved, or edited. What policygen would act on without checking it again (compiled templates, which run when
loaded: policygen/codecache.py; a tenant's part of the site-wide files, which is used without validating each
entry: policygen/fragments.py) is therefore signed, an HMAC-SHA256 under a random key that policygen makes at
first use in the user's own cache folder (`$XDG_CACHE_HOME/policygen/` or `~/.cache/policygen/`), readable by
the user alone (mode 0600), never in the project. Each use signs under a purpose of its own, so that what is
signed for one can never pass for another.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

KEY_FILE = "code-signing.key"  # its first use named it; the one key signs every purpose
KEY_BYTES = 32


def user_cache_folder() -> Path | None:
    """The user's own cache folder for policygen: $XDG_CACHE_HOME/policygen, else ~/.cache/policygen; None
    when the user has no home folder to name (a relative path would put the key in the working folder)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    folder = Path(base) if os.path.isabs(base) else Path(os.path.expanduser("~")) / ".cache"
    return folder / "policygen" if folder.is_absolute() else None


def signing_key(folder: Path | None = None) -> bytes | None:
    """The user's signing key, made at first use (random, mode 0600); None when it cannot be made or read,
    or when the file found is not a key only this user can read (then nothing is signed or trusted)."""
    folder = folder if folder is not None else user_cache_folder()
    if folder is None:
        return None
    file = folder / KEY_FILE
    try:
        return _read_key(file)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        _make_key(file)
        return _read_key(file)
    except OSError:
        return None


def sign(key: bytes, purpose: bytes, message: bytes) -> bytes:
    """The HMAC-SHA256 of *message* under *key*, for *purpose* (a name no other purpose's message starts with)."""
    return hmac.new(key, purpose + b"\0" + message, hashlib.sha256).digest()


def open_regular(file: Path) -> int:
    """A descriptor of *file*, a regular file reached through no link; OSError for anything else. Opened
    without waiting: a named pipe planted in its place must not hold the build forever."""
    fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{file} is not a regular file")
    return fd


def _read_key(file: Path) -> bytes | None:
    fd = open_regular(file)
    try:
        info = os.fstat(fd)
        if (
            info.st_uid != os.geteuid()
            or info.st_mode & 0o077  # readable by others: anyone could sign for this user
            or info.st_size != KEY_BYTES
        ):
            return None
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    return key if len(key) == KEY_BYTES else None


def _make_key(file: Path) -> None:
    """Write a new random key, unless another process made one first (its key is then the one used)."""
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, file)  # never replaces a key already there
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
