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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
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
_STAMP_HEADER = b"policygen output stamp 3\n"
HERE = "."  # the folder itself, among the paths looked at from it


@dataclass(frozen=True)
class _Group:
    """The stamped paths under one top-level entry of the output (HERE: the folder itself), its folders apart
    from its files: a folder kept whole by a build is another folder (with the same files) in the next output."""

    name: str
    folders: list[str]
    files: list[str]
    folders_digest: str
    files_digest: str

    def index(self) -> list[object]:
        return [self.name, len(self.folders), len(self.files), self.folders_digest, self.files_digest]


def _digest(fields: list[tuple[int, ...]]) -> str:
    return hashlib.sha256(marshal.dumps(fields, 2)).hexdigest()


class Stamp:
    """The stamp of an output folder in the making: the stat of each of its files and folders, by path, in
    groups, one for each top-level entry.

    A writer that knows what it wrote adds each file's stat (`add`) after its last change to it, or has every
    path under some top-level entries looked at (`add_tree`), or takes a top-level folder's files from the
    previous stamp (`keep`); `save`, after the swap, takes the stat of the output folder itself and of every
    folder that was not added, and writes the stamp. The paths added must be every file and folder under the
    top-level entries the build wrote: a file added into a folder the stamp does not list would not be
    noticed. Equal stats later (`Stamp.matches`) mean nothing recorded was written, replaced, linked, added to
    or removed since. Anything that cannot be told (a symbolic link, an unreadable folder) leaves no stamp."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._seen: dict[str, tuple[int, ...]] = {}
        self._kept: dict[str, _Group] = {}  # top-level folder -> its files as the previous stamp has them

    def add(self, path: str, info: os.stat_result) -> None:
        """*path* (relative to the output folder, '/'-separated) and its lstat, taken after the build's last
        change to it (linking the same file again later changes its change time: add it after that)."""
        self._seen[path] = _stamped(info)

    @classmethod
    def walk(cls, out: Path, names: Iterable[str]) -> Stamp | None:
        """The stamp of *out* as it is now, of its top-level entries *names* and everything under them, for a
        writer that kept no stat of its own; None at a symbolic link or an unreadable folder."""
        stamp = cls(out)
        return stamp if stamp.add_tree(names) else None

    def add_tree(self, names: Iterable[str]) -> bool:
        """Add the top-level entries *names* and everything under them as they are now; False at a symbolic
        link or an unreadable folder (then nothing is added, and no stamp should be saved)."""
        found = paths_under(str(self.out), names)
        if found is None:
            return False
        paths, folders = found
        files = [path for path in paths if path not in folders]
        try:
            self._seen.update(zip(files, stats_in(self.out, files), strict=True))
        except OSError:
            return False
        self._seen.update((path, _stamped(info)) for path, info in folders.items())
        return True

    def keep(self, file: Path, proof: str, folders: dict[str, set[str]]) -> set[str]:
        """Take the files of the top-level folders *folders* (each with every folder in it) from the stamp in
        *file*, the previous output's, which the build found matching before it began (*proof*: the hash of
        that file, from `check`); the names taken. For a writer that neither wrote nor linked a file of those
        folders: each is another folder holding the previous output's very files (hard links: their stat is
        their inode's), so what the previous stamp records of them is what they were when the build began,
        and anything done to them since makes the next build's check fail. A folder whose set of folders is
        not the one the previous stamp lists is not taken (it is looked at whole)."""
        try:
            data = file.read_bytes()
            if hashlib.sha256(data).hexdigest() != proof:
                return set()
            groups = _groups(data)
        except (OSError, ValueError):
            return set()
        for group in groups:
            expected = folders.get(group.name)
            if expected is not None and set(group.folders) == expected:
                self._kept[group.name] = group
        return set(self._kept)

    def save(self, file: Path) -> None:
        """Take the stat of the output folder and of the folders not added (after the swap) and write the
        stamp into *file*, atomically; no stamp when that cannot be done (the next build checks every file)."""
        if any(stat.S_ISLNK(fields[0]) for fields in self._seen.values()):
            return
        known = {path for path, fields in self._seen.items() if stat.S_ISDIR(fields[0])}
        folders = {path[:i] for path in self._seen for i in _slashes(path)} - known
        folders.update(folder for group in self._kept.values() for folder in group.folders)
        listed = [HERE, *sorted(folders)]
        try:
            seen = dict(zip(listed, stats_in(self.out, listed), strict=True))
        except OSError:
            return
        if any(not stat.S_ISDIR(fields[0]) for fields in seen.values()):
            return
        seen.update((path, fields) for path, fields in self._seen.items() if path != HERE)
        groups = self._looked_at(seen)
        index = json.dumps([group.index() for group in groups], ensure_ascii=False).encode()
        paths = "\0".join(path for group in groups for path in (*group.folders, *group.files))
        write_atomically(file, b"".join((_STAMP_HEADER, index, b"\n", paths.encode("utf-8", "surrogateescape"))))

    def _looked_at(self, seen: dict[str, tuple[int, ...]]) -> list[_Group]:
        """Every group, from the paths *seen* (each with its stat fields) and the groups kept, whose folders
        are among those seen: their folders as they are now, their files as the previous stamp has them."""
        by_name: dict[str, tuple[list[str], list[str]]] = {}
        for path, fields in seen.items():
            folders, files = by_name.setdefault(path.split("/", 1)[0], ([], []))
            (folders if stat.S_ISDIR(fields[0]) else files).append(path)
        groups = []
        for name, (folders, files) in by_name.items():
            kept = self._kept.get(name)
            if kept is None:
                groups.append(
                    _Group(name, folders, files, _digest([seen[p] for p in folders]), _digest([seen[p] for p in files]))
                )
            else:
                groups.append(replace(kept, folders_digest=_digest([seen[p] for p in kept.folders])))
        return groups

    @staticmethod
    def matches(out: Path, file: Path) -> bool:
        """Whether every path the stamp in *file* lists has, in *out*, the stat it recorded: one lstat each,
        in C, relative to the output folder (opened once, never through a link). False when it cannot be told."""
        return Stamp.check(out, file) is not None

    @staticmethod
    def check(out: Path, file: Path) -> str | None:
        """The hash of the stamp in *file* when *out* matches it (see matches), for `keep`; else None."""
        try:
            data = file.read_bytes()
            if not data.startswith(_STAMP_HEADER):
                return None
            groups = _groups(data)
            fields = stats_in(out, [path for group in groups for path in (*group.folders, *group.files)])
        except (OSError, ValueError):
            return None
        at = 0
        for group in groups:
            middle, end = at + len(group.folders), at + len(group.folders) + len(group.files)
            if _digest(fields[at:middle]) != group.folders_digest or _digest(fields[middle:end]) != group.files_digest:
                return None
            at = end
        return hashlib.sha256(data).hexdigest()


def _groups(data: bytes) -> list[_Group]:
    """The groups a stamp file lists; ValueError when it is not one policygen wrote."""
    if not data.startswith(_STAMP_HEADER):
        raise ValueError("not a stamp")
    index_text, newline, listed = data[len(_STAMP_HEADER) :].partition(b"\n")
    try:
        index = json.loads(index_text)
    except RecursionError:
        raise ValueError("not a stamp") from None
    paths = listed.decode("utf-8", "surrogateescape").split("\0")
    if not newline or not isinstance(index, list):
        raise ValueError("not a stamp")
    groups, at = [], 0
    for item in index:
        match item:
            case [str(name), int(folders), int(files), str(folders_digest), str(files_digest)] if (
                min(folders, files) >= 0
            ):
                groups.append(
                    _Group(
                        name,
                        paths[at : at + folders],
                        paths[at + folders : at + folders + files],
                        folders_digest,
                        files_digest,
                    )
                )
                at += folders + files
            case _:
                raise ValueError("not a stamp")
    if at != len(paths):
        raise ValueError("not a stamp")
    return groups


def stats_in(folder: Path, paths: list[str] | list[bytes]) -> list[tuple[int, ...]]:
    """The stamped stat fields of each of *paths*, relative to *folder*: the hot loop of a no-change build,
    so map() runs it in C, with the folder opened once (never through a link: the paths are checked
    from it, and every folder on their way is one of them)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        return list(map(_stamped, map(partial(os.lstat, dir_fd=fd), paths)))
    finally:
        os.close(fd)


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
