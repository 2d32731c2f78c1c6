"""Reading project input files: the one place that opens what tenants and authors give us.

Tenant folders may come from client organisations or pull requests, so a file
name can stand for a named pipe (reading it waits for ever), a link to
/dev/zero (never ends), a dangling link or a gigabyte of pasted data. Every
reader in the package goes through read_bytes/read_text here: regular files
only, at most MAX_BYTES, with a located problem for anything else.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import InputError, Problem, UsageError
from .filebytes import read_open

MAX_BYTES = 2 * 1024 * 1024

# The project's inputs, named once: the build key hashes them (deps), serve watches them, and a build
# never writes into them (project.Project.reserved). A new input added here is all three at once.
CONFIG_FILE = "policygen.yaml"
RULES_FILE = "rules.yaml"
PROJECT_FILES = (CONFIG_FILE, RULES_FILE)  # settings files at the project's root
INPUT_FOLDERS = ("content", "tenants", "themes", "layouts", "static")  # folders at the project's root

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_bytes(file: Path, limit: int = MAX_BYTES, follow: bool = True) -> bytes:
    """The bytes of a regular file of at most *limit* bytes, or InputError saying why not; not *follow*: a link in
    the file's place is refused, not read through."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; we refuse it below.
        fd = os.open(file, flags)
    except FileNotFoundError:
        raise InputError([_missing(file)]) from None
    except OSError as exc:  # permissions, a loop of links, a name too long
        raise InputError([Problem(f"cannot read file: {exc.strerror or exc}", file=file)]) from None
    try:
        info = os.fstat(fd)  # of what was opened, so a swapped name cannot slip past
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
            raise InputError(
                [
                    Problem(
                        f"{kind}, not a regular file"
                        + (" (reached through a symbolic link)" if file.is_symlink() else ""),
                        file=file,
                        expected="a regular file",
                        suggestion="policygen reads only regular files; replace it with the file's contents",
                    )
                ]
            )
        if info.st_size > limit:
            raise InputError([_too_large(file, info.st_size, limit)])
        data = read_open(fd, limit, info.st_size)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputError([_too_large(file, len(data), limit)])
    return data


def read_text(file: Path, limit: int = MAX_BYTES) -> str:
    """A UTF-8 text file (a leading byte-order mark dropped), or InputError with the bad byte's place."""
    raw = read_bytes(file, limit)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark carries no meaning; editors on Windows add it
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            [
                Problem(
                    f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
                    file=file,
                    line=line,
                    column=col,
                    expected="UTF-8 text",
                    suggestion="re-save the file as UTF-8",
                )
            ]
        ) from None


def _missing(file: Path) -> Problem:
    if file.is_symlink():
        return Problem(
            f"symbolic link to '{os.readlink(file)}', which does not exist",
            file=file,
            expected="a regular file",
            suggestion="remove the link or put the file in its place",
        )
    return Problem("file not found", file=file, expected="a regular file")


def _too_large(file: Path, size: int, limit: int) -> Problem:
    return Problem(
        f"file is {size} bytes, larger than the {limit} bytes policygen reads",
        file=file,
        expected=f"a file under {limit // (1024 * 1024)} MiB"
        if limit % (1024 * 1024) == 0
        else f"a file of at most {limit} bytes",
        suggestion="split it or remove pasted binary data",
    )


def hashed_content(root: Path, file: Path) -> bytes:
    """What a content hash takes for *file*: its bytes, read as every input is, or, for a link
    out of *root*, where it points (never read: loading the file reports the link). b"" when absent."""
    if link_out(root, file) is not None:
        return os.readlink(file).encode("utf-8", "surrogateescape") if file.is_symlink() else b""
    if not (file.exists() or file.is_symlink()):
        return b""
    return read_bytes(file)


# --- staying inside the project ---------------------------------------------------------------------


def link_out(root: Path, path: Path) -> Path | None:
    """The part of *path* that leads out of *root* through a symbolic link, or None when it stays inside.

    *path* need not exist (a folder about to be created is checked through its existing parents);
    a link that stays inside the project is fine.
    """
    home = root.resolve()
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = ()
    current = root
    for part in parts:  # name the first link on the way out, so the message points at what to fix
        current = current / part
        if current.is_symlink() and not current.resolve().is_relative_to(home):
            return current
    return None if path.resolve().is_relative_to(home) else path


def ensure_inside(root: Path, path: Path, what: str) -> None:
    """Refuse (InputError) a *path* that leaves the project *root* through a symbolic link.

    *what* names it in the message, e.g. "rules.yaml" or "the releases folder".
    """
    link = link_out(root, path)
    if link is not None:
        raise InputError(
            [
                Problem(
                    f"{what} is reached through a symbolic link out of the project; "
                    "policygen reads and writes only inside the project",
                    file=link,
                    expected="a real file or folder inside the project",
                    suggestion="replace the link with a copy of what it points to",
                )
            ]
        )


def find_root(start: Path) -> Path:
    """The nearest folder at or above *start* that holds policygen.yaml, or content/ and tenants/."""
    start = start.resolve()
    if not start.is_dir():
        raise UsageError(
            f"no project folder at {start}: it {'is not a folder' if start.exists() else 'does not exist'}"
        )
    for folder in (start, *start.parents):
        if (folder / "content").is_dir() and (folder / "tenants").is_dir():
            return folder
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise UsageError(
        f"no policygen project here: no folder at or above {start.name or start} has {CONFIG_FILE}, "
        "or content/ and tenants/ (create one with `policygen init DIR`)"
    )
