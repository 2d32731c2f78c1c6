"""What a rebuild may skip because the files are as the previous build left them, judged from file
metadata kept in the project's git-ignored `.cache/policygen/`.

- Folder digests: a tenant folder's content hash, remembered with the stat of every file and folder in
  it (path, type, inode, size, mtime_ns, ctime_ns). Any difference means hashing the folder again. The
  change time cannot be set back by hand (touch and `os.utime` set it to now), so an edit that keeps
  the size and the modification time is still seen. A folder holding a symbolic link is always hashed
  (its target may change without the link changing), and so is a folder with an entry changed in the
  last two seconds, the racy-git rule: a second write within one clock tick of the first could
  otherwise leave the very stat that was recorded.
- Output stamps: a hash of the same stat fields of every file and folder of an output folder, taken
  right after a build put it in place. Equal stamps mean nothing in it was written, added or removed
  since (policygen/output.py).

Deleting the cache never changes what a build writes; it only makes the next build hash and compare again.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .editorfiles import is_editor_file

RACY_SECONDS = 2  # an entry changed this recently is never trusted from its stat


def tree_stat(
    folder: str, names: Iterable[str] | None = None, skip_editor_files: bool = False, threads: int = 1
) -> tuple[str, int] | None:
    """A hash of the stat of *folder* and of everything under it (only the top-level *names*, if given),
    and the newest change time seen; None when a symbolic link is found or the folder cannot be read.

    The top-level entries are taken by name, and below them in the order each folder lists them: an
    unchanged folder lists them alike, and one listed otherwise only gives another hash, which means
    hashing or comparing the files themselves. With *threads*, the top-level entries are looked at by
    that many threads at once (a stat waits on the kernel, not on Python): the same hash, sooner."""
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
            size = max(1, -(-len(top) // max(threads, 1)))  # one run of names per thread, in order
            runs = [top[i : i + size] for i in range(0, len(top), size)]
            if len(runs) > 1:
                with ThreadPoolExecutor(len(runs)) as pool:
                    parts = list(pool.map(lambda run: _subtrees(folder, run, skip_editor_files), runs))
            else:
                parts = [_subtrees(folder, run, skip_editor_files) for run in runs]
            for part in parts:
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
