"""What a rebuild may skip because the files are as the previous build left them, judged from file
metadata kept in the project's git-ignored `.cache/policygen/`.

- Folder digests: a tenant folder's content hash, remembered with the stat of every file and folder in
  it (path, type, inode, size, mtime_ns, ctime_ns). Any difference means hashing the folder again. The
  change time cannot be set back by hand (touch and `os.utime` set it to now), so an edit that keeps
  the size and the modification time is still seen. A folder holding a symbolic link is always hashed
  (its target may change without the link changing), and so is a folder with an entry changed in the
  last two seconds, the racy-git rule: a second write within one clock tick of the first could
  otherwise leave the very stat that was recorded.
- Output stamps (Stamp): the path of every file and folder of an output folder, with a hash of the same
  stat fields of each, as the build that put it in place left them. Checking one takes a stat of each
  recorded path and nothing else: no folder is listed again, since adding, removing or renaming an entry
  changes its folder's modification and change time, and editing a file changes its own
  (policygen/output.py).

Deleting the cache never changes what a build writes; it only makes the next build hash and compare again.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import operator
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from .editorfiles import is_editor_file

RACY_SECONDS = 2  # an entry changed this recently is never trusted from its stat


def tree_stat(
    folder: str, names: Iterable[str] | None = None, skip_editor_files: bool = False
) -> tuple[str, int] | None:
    """A hash of the stat of *folder* and of everything under it (only the top-level *names*, if given),
    and the newest change time seen; None when a symbolic link is found or the folder cannot be read.

    The top-level entries are taken by name, and below them in the order each folder lists them: an
    unchanged folder lists them alike, and one listed otherwise only gives another hash, which means
    hashing or comparing the files themselves."""
    try:
        info = os.lstat(folder)
        if stat.S_ISLNK(info.st_mode):
            return None
        lines = [_line("", info)]
        newest = max(info.st_mtime_ns, info.st_ctime_ns)
        if stat.S_ISDIR(info.st_mode):
            with os.scandir(folder) as entries:
                top = sorted(
                    entry.name
                    for entry in entries
                    if (names is None or entry.name in names)
                    and not (skip_editor_files and is_editor_file(entry.name) and entry.is_file(follow_symlinks=False))
                )
            part = _subtrees(folder, top, skip_editor_files)
            if part is None:
                return None
            lines.extend(part[0])
            newest = max(newest, part[1])
    except OSError:
        return None
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest(), newest


def _line(rel: str, info: os.stat_result) -> str:
    return f"{rel}\0{info.st_mode} {info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns}"


def _subtrees(folder: str, names: list[str], skip_editor_files: bool) -> tuple[list[str], int] | None:
    """The stat lines of the entries *names* of *folder* and of everything under them; None at a link."""
    lines: list[str] = []
    newest = 0
    for name in names:
        part = _subtree(folder, name, skip_editor_files)
        if part is None:
            return None
        lines.extend(part[0])
        newest = max(newest, part[1])
    return lines, newest


def _subtree(folder: str, name: str, skip_editor_files: bool) -> tuple[list[str], int] | None:
    """The stat lines of the entry *name* of *folder* and of everything under it; None at a link."""
    path = os.path.join(folder, name)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return None
    rel = "/" + name
    lines = [_line(rel, info)]
    newest = max(info.st_mtime_ns, info.st_ctime_ns)
    todo = [(path, rel)] if stat.S_ISDIR(info.st_mode) else []
    while todo:  # the hot loop of a no-change build: it looks at every file of the site
        path, rel = todo.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                if skip_editor_files and is_editor_file(entry.name) and entry.is_file(follow_symlinks=False):
                    continue
                info = entry.stat(follow_symlinks=False)
                mode = info.st_mode
                if stat.S_ISLNK(mode):
                    return None
                child = f"{rel}/{entry.name}"
                lines.append(f"{child}\0{mode} {info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns}")
                newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
                if stat.S_ISDIR(mode):
                    todo.append((entry.path, child))
    return lines, newest


# The stat fields an output's stamp keeps of each entry: a type or a replaced file (the inode), a length,
# and the two times; the change time is set by every write, link, rename or chmod and cannot be set back.
_stamped = operator.attrgetter("st_mode", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")
_STAMP_HEADER = b"policygen output stamp 3\n"  # 3: its hash can be taken a part at a time
HERE = "."  # the folder itself, among the paths looked at from it


class Stamp:
    """The stamp of an output folder in the making: the stat of each of its files and folders, by path.

    A writer that knows what it wrote adds each file's stat (`add`) after its last change to it; `save`,
    after the swap, takes the stat of the output folder itself and of every folder that was not added, and
    writes the stamp. The paths added must be every file and folder under the top-level entries the build
    wrote: a file added into a folder the stamp does not list would not be noticed. Equal stats later
    (`Stamp.matches`) mean nothing recorded was written, replaced, linked, added to or removed since.
    Anything that cannot be told (a symbolic link, an unreadable folder) leaves no stamp."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._seen: dict[str, tuple[int, ...]] = {}

    def add(self, path: str, info: os.stat_result) -> None:
        """*path* (relative to the output folder, '/'-separated) and its lstat, taken after the build's last
        change to it (linking the same file again later changes its change time: add it after that)."""
        self._seen[path] = _stamped(info)

    def save(self, file: Path) -> None:
        """Take the stat of the output folder and of the folders not added (after the swap) and write the
        stamp into *file*, atomically; no stamp when that cannot be done (the next build checks every file)."""
        folders = {path[:i] for path in self._seen for i in _slashes(path)} - self._seen.keys()
        try:
            seen = {HERE: _stamped(os.lstat(self.out))}
            for folder in sorted(folders):
                seen[folder] = _stamped(os.lstat(os.path.join(self.out, folder)))
        except OSError:
            return
        if any(not stat.S_ISDIR(fields[0]) for fields in seen.values()):
            return
        seen.update((path, fields) for path, fields in self._seen.items() if path != HERE)
        _write_stamp(file, [(list(seen), list(seen.values()))])

    @staticmethod
    def walk(out: Path, names: Iterable[str], file: Path) -> None:
        """Stamp *out* as it is now, its top-level entries *names* and everything under them, into *file*, for
        a writer that kept no stat of its own: a top-level entry (a tenant's folder) at a time, so that
        the memory it takes does not grow with the site. No stamp at a symbolic link or an unreadable folder."""
        _write_stamp(file, _walked(out, names))

    @staticmethod
    def matches(out: Path, file: Path) -> bool:
        """Whether every path the stamp in *file* lists has, in *out*, the stat it recorded: one lstat each,
        in C, relative to the output folder (opened once, never through a link), read and looked at a block
        of paths at a time (a large site lists millions). False when it cannot be told."""
        digest = hashlib.sha256()
        try:
            with open(file, "rb") as f:
                if f.read(len(_STAMP_HEADER)) != _STAMP_HEADER:
                    return False
                recorded = f.readline(_DIGEST_LINE).rstrip(b"\n")
                fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
                try:
                    rest = b""
                    while block := f.read(_MATCH_BLOCK):
                        paths = (rest + block).split(b"\0")
                        rest = paths.pop()  # the start of a path the next block ends
                        digest.update(_fields_bytes(_stats(fd, paths)))
                    digest.update(_fields_bytes(_stats(fd, [rest])))
                finally:
                    os.close(fd)
        except (OSError, ValueError):
            return False
        return digest.hexdigest().encode() == recorded


_DIGEST_LINE = 65  # a stamp's hash in hex, and its newline
_MATCH_BLOCK = 1 << 20  # bytes of a stamp's paths looked at together
_LIST_HEAD = 5  # marshal's type byte and item count before a list's items (version 2 writes no references)


def _fields_bytes(fields: list[tuple[int, ...]]) -> bytes:
    """The marshalled stat fields, as they are hashed: without the list's head, so that a stamp written or
    checked a part at a time hashes the same bytes as one taken whole."""
    return marshal.dumps(fields, 2)[_LIST_HEAD:]


class _NoStamp(Exception):
    """What was found cannot be stamped (a symbolic link, a top-level entry that is gone)."""


def _walked(out: Path, names: Iterable[str]) -> Iterator[tuple[list[str], list[tuple[int, ...]]]]:
    """The paths and stat fields of *out* itself, then of each top-level entry *names* and everything under it."""
    here = os.lstat(out)
    if not stat.S_ISDIR(here.st_mode):
        raise _NoStamp
    yield [HERE], [_stamped(here)]
    for name in sorted(names):
        found = paths_under(str(out), [name])
        if found is None:
            raise _NoStamp
        paths, folders = found
        files = [path for path in paths if path not in folders]
        yield [*files, *folders], [*stats_in(out, files), *map(_stamped, folders.values())]


def _write_stamp(file: Path, groups: Iterable[tuple[list[str], list[tuple[int, ...]]]]) -> None:
    """Write into *file*, atomically, a stamp of the paths and their stat fields in *groups*, a group at a
    time: its header, the hash of the fields (written last, in its place), then the paths; none at a
    symbolic link or anything that cannot be stamped (the next build then checks every file)."""
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(temporary, "wb") as f:
            f.write(_STAMP_HEADER + b"0" * digest.digest_size * 2 + b"\n")
            separator = b""
            for paths, fields in groups:
                if any(stat.S_ISLNK(each[0]) for each in fields):
                    raise _NoStamp
                if paths:
                    digest.update(_fields_bytes(fields))
                    f.write(separator + "\0".join(paths).encode("utf-8", "surrogateescape"))
                    separator = b"\0"
            f.seek(len(_STAMP_HEADER))
            f.write(digest.hexdigest().encode())
        os.replace(temporary, file)
    except (OSError, _NoStamp):
        temporary.unlink(missing_ok=True)


def stats_in(folder: Path, paths: list[str] | list[bytes]) -> list[tuple[int, ...]]:
    """The stamped stat fields of each of *paths*, relative to *folder*: the hot loop of a no-change build,
    so map() runs it in C, with the folder opened once (never through a link: the paths are checked
    from it, and every folder on their way is one of them)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        return _stats(fd, paths)
    finally:
        os.close(fd)


def _stats(fd: int, paths: list[str] | list[bytes]) -> list[tuple[int, ...]]:
    return list(map(_stamped, map(partial(os.lstat, dir_fd=fd), paths)))


def _slashes(path: str) -> Iterable[int]:
    i = path.find("/")
    while i > 0:
        yield i
        i = path.find("/", i + 1)


def paths_under(folder: str, names: Iterable[str]) -> tuple[list[str], dict[str, os.stat_result]] | None:
    """The paths (relative to *folder*) of its entries *names* and of everything under them, parents first,
    with the stat of each folder among them taken before it was listed (so that an entry added after its
    listing changes the folder's recorded stat); None at a symbolic link or an unreadable folder."""
    paths: list[str] = []
    folders: dict[str, os.stat_result] = {}
    try:
        for name in sorted(names):
            info = os.lstat(os.path.join(folder, name))
            if stat.S_ISLNK(info.st_mode):
                return None
            paths.append(name)
            if stat.S_ISDIR(info.st_mode):
                folders[name] = info
        todo = list(folders)
        while todo:  # names only for files (the listing says which is a folder): their stat comes after, in C
            rel = todo.pop()
            with os.scandir(os.path.join(folder, rel)) as entries:
                for entry in entries:
                    if entry.is_symlink():
                        return None
                    child = f"{rel}/{entry.name}"
                    paths.append(child)
                    if entry.is_dir(follow_symlinks=False):
                        folders[child] = entry.stat(follow_symlinks=False)
                        todo.append(child)
    except OSError:
        return None
    return paths, folders


def folders_stat(base: str, folders: Iterable[str], before_ns: int | None = None) -> str | None:
    """A hash of the stat of the folders *folders* (relative to *base*): any entry added to, removed from
    or renamed in one of them changes it. None when one is not a plain folder, or, given *before_ns*, was
    changed at or after that time less the racy-git margin (a change in the same clock tick could leave
    the very stat that is recorded)."""
    lines = []
    for rel in sorted(folders):
        try:
            info = os.lstat(os.path.join(base, rel))
        except OSError:
            return None
        if not stat.S_ISDIR(info.st_mode):
            return None
        if before_ns is not None and max(info.st_mtime_ns, info.st_ctime_ns) >= before_ns - RACY_SECONDS * 10**9:
            return None
        lines.append(f"{rel}\0{_line('', info)} {info.st_nlink}")
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


class FolderDigests:
    """Content hashes of folders, reused while the folder's stat is the one recorded with them."""

    def __init__(self, file: Path | None, writable: Callable[[], Path | None] | None = None) -> None:
        self.file = file  # None: nothing remembered (no usable cache folder)
        self._writable = writable  # the file to save to, its folder made: None when it cannot be
        self._known: dict[str, list[str]] = {}  # folder -> [stat hash, content hash]
        self._changed = False
        if file is not None:
            try:
                data = json.loads(file.read_bytes())
                if isinstance(data, dict):
                    self._known = {
                        k: v
                        for k, v in data.items()
                        if isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)
                    }
            except (OSError, ValueError, RecursionError):
                pass  # none or damaged: hash everything

    def digest(self, folder: Path, compute: Callable[[Path], str]) -> str:
        """*compute*(folder), or the hash it gave last time if nothing in the folder changed since."""
        key = str(folder)
        seen = tree_stat(key, skip_editor_files=True)
        known = self._known.get(key)
        if seen is not None and known is not None and known[0] == seen[0]:
            return known[1]
        digest = compute(folder)
        if seen is not None and seen[1] < time.time_ns() - RACY_SECONDS * 1_000_000_000:
            self._known[key] = [seen[0], digest]
            self._changed = True
        elif known is not None:
            del self._known[key]
            self._changed = True
        return digest

    def save(self) -> None:
        """Write the cache, if anything changed (atomically: a crash leaves the old one or the new one)."""
        if not self._changed:
            return
        file = self._writable() if self._writable is not None else None
        if file is not None:
            write_atomically(file, json.dumps(self._known, sort_keys=True).encode())
        self._changed = False


def write_atomically(file: Path, data: bytes) -> None:
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as f:
            f.write(data)
        os.replace(temporary, file)
    except OSError:
        temporary.unlink(missing_ok=True)  # a cache that cannot be written only costs the next build time
