"""What a rebuild may skip because the files are as the previous build left them, judged from file
metadata kept in the project's git-ignored `.cache/policygen/`.

- Folder digests: a tenant folder's content hash, remembered with the stat of every file and folder in
  it (path, type, inode, size, mtime_ns, ctime_ns). Any difference means hashing the folder again. The
  change time cannot be set back by hand (touch and `os.utime` set it to now), so an edit that keeps
  the size and the modification time is still seen. A folder holding a symbolic link is always hashed
  (its target may change without the link changing), and so is a folder with an entry changed in the
  last two seconds, the racy-git rule: a second write within one clock tick of the first could
  otherwise leave the very stat that was recorded. The file is sorted by path and read and written
  forward beside a build's lookups, which come in that order: neither it nor the lookups are held whole.
- Output stamps (Stamp): the path of every file and folder of an output folder, with a hash of the same
  stat fields of each, as the build that put it in place left them, in a group per top-level entry (a
  tenant's folder), its folders' hash apart from its files'. Checking one takes a stat of each recorded
  path and nothing else: no folder is listed again, since adding, removing or renaming an entry changes
  its folder's modification and change time, and editing a file changes its own (policygen/output.py).
  It is written and checked a group at a time, in bounded reads, so no build holds the whole site's
  paths; a tenant folder a build kept whole takes its files' part from the previous stamp.

Deleting the cache never changes what a build writes; it only makes the next build hash and compare again.
"""

from __future__ import annotations

import array
import bisect
import contextlib
import hashlib
import itertools
import marshal
import operator
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import BinaryIO, NamedTuple

from .editorfiles import is_editor_file
from .forked import Child, fork_is_safe

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
# 4: a group per top-level entry, its folders apart from its files, each written and read a group at a time
_STAMP_HEADER = b"policygen output stamp 4\n"
HERE = "."  # the folder itself, among the paths looked at from it
_MATCH_BLOCK = 1 << 18  # bytes of a stamp's paths read and looked at together
_GROUP_LINE = 768  # the most bytes of a group's header line (a top-level name is at most 255 bytes, in hex)
_PATH_MOST = 1 << 16  # a longer path is none a build wrote: the stamp is damaged
_LIST_HEAD = 5  # marshal's type byte and item count before a list's items (version 2 writes no references)
_HEAD = re.compile(rb"((?:[0-9a-f]{2})+) ([0-9]{1,12}) ([0-9]{1,12}) ([0-9a-f]{64}) ([0-9a-f]{64}) ([0-9]{1,15})\n")


@dataclass(frozen=True)
class _Head:
    """The header line of a stamp's group: the paths under one top-level entry of the output (HERE: the
    folder itself), its folders (listed first) apart from its files, each with the digest of their stat
    fields, and the length of its paths in bytes ('\\0' between two). A folder kept whole by a build is
    another folder holding the same files in the next output: its files' part is taken as it was."""

    name: str
    folders: int
    files: int
    folders_digest: str
    files_digest: str
    size: int

    def line(self) -> bytes:
        name = self.name.encode("utf-8", "surrogateescape").hex()
        counts = f"{self.folders} {self.files} {self.folders_digest} {self.files_digest} {self.size}"
        return f"{name} {counts}\n".encode()

    @classmethod
    def parse(cls, line: bytes) -> _Head:
        """The header in *line*; ValueError when it is not one policygen wrote."""
        found = _HEAD.fullmatch(line)
        if found is None:
            raise ValueError("not a stamp")
        name, folders, files, folders_digest, files_digest, size = found.groups()
        head = cls(
            bytes.fromhex(name.decode()).decode("utf-8", "surrogateescape"),
            int(folders),
            int(files),
            folders_digest.decode(),
            files_digest.decode(),
            int(size),
        )
        if head.folders + head.files < 1 or head.size < 1:
            raise ValueError("not a stamp")
        return head


@dataclass(frozen=True, slots=True)  # one per tenant folder a rebuild keeps whole, held until the stamp
class SeenFolders:
    """Every folder in a tenant's folder and the digest of their stamped stat (sorted by path), as the build saw
    them when it kept the folder whole (folders_seen): what the stamp lists for them, without looking at them
    again after the swap (which moves the staging folder, not them). The folders' paths are held as their count
    and a digest of them (sorted): the previous stamp lists them, and they are taken from it when it lists the
    same (a tuple of paths is four times the size, for each of a hundred thousand tenants)."""

    count: int
    paths: bytes  # _paths_digest of the sorted paths
    digest: bytes  # the digest of their stat (_fields_digest): as hex text (_digest), twice the size


_SEEN_SIZE = 16 + 32  # a SeenFolders' two digests, packed (KeptFolders)


class KeptFolders(Mapping[str, SeenFolders]):
    """The tenant folders a rebuild kept whole, each with its folders as seen (SeenFolders), added as they come
    (from two processes: policygen/beside.py) and looked up in the stamp's order: packed as one list of names
    (the build's own strings), one array of counts and one bytes of digests, about 60 bytes a folder where a
    dict of SeenFolders held 190 to 280, for each of a hundred thousand tenants until the stamp."""

    def __init__(self) -> None:
        self._names: list[str] = []  # sorted when first looked up (in place), then looked up by bisection
        self._counts = array.array("I")  # as added: the slot of a folder
        self._digests = bytearray()  # _SEEN_SIZE bytes a slot
        # Each sorted name's slot, once the names were sorted out of the order they came in (None: the same order).
        self._slots: array.array[int] | None = None
        self._sorted = True

    def add(self, name: str, seen: SeenFolders) -> None:
        if len(seen.paths) + len(seen.digest) != _SEEN_SIZE:
            raise ValueError("not the digests folders_seen makes")  # a bug, not bad input
        if self._slots is not None:
            raise RuntimeError("a folder added after a lookup")  # a bug: the stamp looks them up once all are placed
        self._sorted = self._sorted and (not self._names or self._names[-1] < name)
        self._names.append(name)
        self._counts.append(seen.count)
        self._digests += seen.paths + seen.digest

    def extend(self, other: KeptFolders) -> None:
        """Add *other*'s folders (another process's: policygen/beside.py), their names interned as the build's."""
        for at, name in enumerate(other._names):
            self.add(sys.intern(name), other._seen(other._slot(at)))

    def _at(self, name: object) -> int | None:
        """The slot of *name*'s folder; None for none."""
        if not isinstance(name, str):
            return None
        if not self._sorted:
            self._sort()
        names = self._names
        at = bisect.bisect_left(names, name)
        return self._slot(at) if at < len(names) and names[at] == name else None

    def _sort(self) -> None:
        # The names sorted in place and each one's slot noted: the digests stay where they are, so the sort holds
        # an int a folder for a moment, not a second copy of everything.
        self._slots = array.array("I", sorted(range(len(self._names)), key=self._names.__getitem__))
        self._names.sort()
        self._sorted = True

    def _slot(self, at: int) -> int:
        return at if self._slots is None else self._slots[at]

    def _seen(self, slot: int) -> SeenFolders:
        packed = self._digests[slot * _SEEN_SIZE : (slot + 1) * _SEEN_SIZE]
        return SeenFolders(self._counts[slot], bytes(packed[:16]), bytes(packed[16:]))

    def __getitem__(self, name: str) -> SeenFolders:
        slot = self._at(name)
        if slot is None:
            raise KeyError(name)
        return self._seen(slot)

    def __contains__(self, name: object) -> bool:
        return self._at(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _paths_digest(paths: Sequence[str]) -> bytes:
    """A digest of folder paths, sorted (no path holds a NUL)."""
    return hashlib.blake2b("\0".join(paths).encode("utf-8", "surrogateescape"), digest_size=16).digest()


@dataclass(frozen=True)
class Kept:
    """Top-level folders a build kept whole (each with every folder in it, as it saw them), holding the
    previous output's very files, and the previous stamp, which listed them and which the build found
    matching before it began (*proof*: the hash of that file, from `Stamp.check`)."""

    file: Path
    proof: str
    folders: Mapping[str, SeenFolders]


def _order(name: str) -> tuple[bool, str]:
    """The order of a stamp's groups: the folder itself first, then the top-level entries by name."""
    return name != HERE, name


def _fields_bytes(fields: list[tuple[int, ...]]) -> bytes:
    """The marshalled stat fields, as they are hashed: without the list's head, so that fields checked a
    block at a time hash the same bytes as those written whole."""
    return marshal.dumps(fields, 2)[_LIST_HEAD:]


def _digest(fields: list[tuple[int, ...]]) -> str:
    return _fields_digest(fields).hex()


def _fields_digest(fields: list[tuple[int, ...]]) -> bytes:
    return hashlib.sha256(_fields_bytes(fields)).digest()


class _NoStamp(Exception):
    """What was found cannot be stamped (a symbolic link, a top-level entry that is gone, a previous stamp
    that is not the one found matching)."""


class _Reader:
    """A stamp file read a group at a time, in bounded parts, with the hash of every byte read (the proof).
    ValueError wherever it is not a stamp policygen wrote."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.proof = hashlib.sha256()
        if self._read(len(_STAMP_HEADER)) != _STAMP_HEADER:
            raise ValueError("not a stamp")
        self.head: _Head | None = None  # the group whose paths come next
        self._last: _Head | None = None

    def _read(self, size: int) -> bytes:
        data = self._f.read(size)
        if len(data) != size:
            raise ValueError("a stamp cut short")
        self.proof.update(data)
        return data

    def next_head(self) -> _Head | None:
        """The next group's header (its paths must have been read or skipped); None at the end of the file."""
        line = self._f.readline(_GROUP_LINE)
        self.proof.update(line)
        if not line and self._last is not None:
            self.head = None
            return None
        head = _Head.parse(line)
        if (self._last is None) != (head.name == HERE) or (self._last and _order(head.name) <= _order(self._last.name)):
            raise ValueError("groups out of order")
        self.head = self._last = head
        return head

    def paths(self) -> Iterator[list[bytes]]:
        """The current group's paths, a block at a time: exactly as many as its header counts."""
        assert self.head is not None
        left, rest, count, listed = self.head.size, b"", 0, self.head.folders + self.head.files
        while left:
            block = self._read(min(left, _MATCH_BLOCK))
            left -= len(block)
            paths = (rest + block).split(b"\0")
            rest = paths.pop()  # the start of a path the next block ends (or the group's last path)
            count += len(paths)
            if len(rest) > _PATH_MOST or count >= listed:
                raise ValueError("not the paths the group counts")
            if paths:
                yield paths
        if count + 1 != listed:
            raise ValueError("paths miscounted")
        yield [rest]
        self.next_head()

    def skip(self) -> None:
        """Read past the current group's paths (hashing them, for the proof) without looking at them."""
        assert self.head is not None
        left = self.head.size
        while left:
            left -= len(self._read(min(left, _MATCH_BLOCK)))
        self.next_head()

    def until(self, name: str) -> _Head | None:
        """Skip to the group of *name*; None (at the group after it) when the stamp has none."""
        while self.head is not None and _order(self.head.name) < _order(name):
            for _ in self.paths():  # it reads the next group's header after its last path
                pass
        return self.head if self.head is not None and self.head.name == name else None

    def finish(self) -> str:
        """The hash of the whole file, after reading what is left of it."""
        while block := self._f.read(_MATCH_BLOCK):
            self.proof.update(block)
        return self.proof.hexdigest()


class Share(NamedTuple):
    """Which of a stamp's groups one process checks (Stamp.check): those whose place in the stamp, counted from
    0, leaves *number* when divided by *of*."""

    number: int
    of: int


WHOLE = Share(0, 1)


class Stamp:
    """The stamp of an output folder: the stat of each of its files and folders, by path, in groups, one
    for each top-level entry, written and checked a group at a time so that the memory it takes does not
    grow with the site (a large site lists millions of paths).

    `walk`, after the swap, writes it: every top-level entry the build wrote is looked at (a folder's stat
    taken before it is listed), and a folder kept whole from the previous output takes its files' part from
    the previous stamp. Equal stats later (`check`) mean nothing recorded was written, replaced, linked,
    added to or removed since. Anything that cannot be told (a symbolic link, an unreadable folder) leaves
    no stamp: the next build compares the files themselves."""

    @staticmethod
    def walk(
        out: Path,
        names: Iterable[str],
        file: Path,
        kept: Kept | None = None,
        shared: bool = False,
        ahead: Ahead | None = None,
    ) -> list[str]:
        """Stamp *out* as it is now, its top-level entries *names* and everything under them, into *file*,
        atomically, a top-level entry at a time, in the stamp's order. The folders *kept* lists take their
        files' part from the previous stamp, read alongside in the same order (a merge of two sorted
        streams) and hashed as it is read: when it is not the one found matching, no stamp is saved. Their
        folders' stat is the one the build took when it kept them; one whose folders are not those the
        previous stamp lists is looked at whole. The names taken from the previous stamp (none when no stamp
        was saved).

        *shared*: past WALK_SHARED_MIN groups to walk (not kept), where fork is safe, a second process walks
        the later half of them meanwhile (_HalfBeside); the file is byte for byte the one a walk in one
        process writes. The groups walked *ahead* (Ahead.walk) are copied, not walked again."""
        taken: list[str] = []  # a list: each name comes once, and a set of a hundred thousand is 4 MB more
        temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        # Sorted and each once, without a set of them all (a name may come twice).
        ordered = [HERE, *(name for name, _ in itertools.groupby(sorted(names)) if name != HERE)]
        half = _later_half(ordered, kept) if shared and ahead is None and fork_is_safe() else len(ordered)
        try:
            with open(temporary, "wb") as f, _previous(kept) as previous:
                f.write(_STAMP_HEADER)
                with contextlib.closing(_HalfBeside.start(out, ordered[half:], file, kept)) as beside:
                    _write_groups(f, out, ordered[:half], previous, kept, taken, ahead)
                    walked = beside.result()
                    if walked is None:  # none started, or it failed: this process walks its half too
                        _write_groups(f, out, ordered[half:], previous, kept, taken)
                    else:
                        beside.copy_to(f)
                        taken += walked
                if previous is not None and kept is not None and previous.finish() != kept.proof:
                    raise _NoStamp
            os.replace(temporary, file)
        except (OSError, ValueError, _NoStamp):
            temporary.unlink(missing_ok=True)
            return []
        return taken

    @staticmethod
    def matches(out: Path, file: Path) -> bool:
        """Whether every path the stamp in *file* lists has, in *out*, the stat it recorded (see check)."""
        return Stamp.check(out, file) is not None

    @staticmethod
    def check(out: Path, file: Path, remember_before: int | None = None, share: Share = WHOLE) -> Matched | None:
        """The stamp file *file* found matching, when every path it lists has, in *out*, the stat it
        recorded: one lstat each, in C, relative to the output folder (opened once, never through a link), a
        block of paths at a time, a group at a time. None when it cannot be told. Given *remember_before* (a
        time in ns), each top-level folder's folders hash (folders_seen) as seen, unless one of its folders changed at or
        after that time less the racy margin: what a build remembers of them for the next (Matched.folders).

        Given a *share*, only the groups of that share are looked at (and only their folders hashed); the
        proof and the names are the whole stamp's, so the shares' results join into the whole one (Matched.joined)."""
        names: list[str] = []
        folders: dict[str, bytes] = {}
        try:
            with _open_stamp(file) as f:
                reader = _Reader(f)
                reader.next_head()
                fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
                try:
                    at = 0
                    while (head := reader.head) is not None:
                        ours, at = at % share.of == share.number, at + 1
                        seen: list[tuple[str, os.stat_result]] | None = None
                        # Interned: held through a build, the names are then its own tenants' (tenantfolders.tenant_slugs).
                        name = sys.intern(head.name)
                        if name != HERE:
                            names.append(name)
                            seen = [] if remember_before is not None and ours else None
                        if not ours:
                            reader.skip()
                        elif not _group_matches(fd, reader, seen):
                            return None
                        hashed = _folders_hash(seen, remember_before) if seen else None  # a file: none
                        if hashed is not None:
                            folders[name] = hashed
                finally:
                    os.close(fd)
                return Matched(reader.finish(), TopHashes.of(names, folders))
        except (OSError, ValueError):
            return None


# A sha256 digest, every hash a build looks tenants up by: of a tenant folder's files (tenantfolders.tenant_digest,
# kept here by stat) and of the stat of a folder's folders (folders_seen).
DIGEST_SIZE = 32
_NO_DIGEST = bytes(DIGEST_SIZE)  # a name without one (a file, or folders changed lately): no sha256 gives it


class TopHashes(Mapping[str, bytes]):
    """The top-level names a stamp lists (`names`, sorted), each with its folders hash (folders_seen) when the
    check took one: as a mapping, the names that have one. One list of the names, which are the build's own
    strings, and one bytes of their hashes: 40 bytes a name, where a set of the names and a dict of the hashes
    held 138 (tracemalloc, 10,000 names), for each of a hundred thousand tenants. The record of a spare's intact
    folders (policygen/output.py: read_intact) is held so too: the names it lists, each with its folders hash."""

    def __init__(self, names: list[str], digests: bytes) -> None:
        if len(digests) != DIGEST_SIZE * len(names):
            raise ValueError("a hash for each name")  # a bug, not bad input
        self.names = names  # sorted: looked up by bisection
        self._digests = digests  # DIGEST_SIZE bytes a name, _NO_DIGEST for none

    @classmethod
    def of(cls, names: Iterable[str], hashes: Mapping[str, bytes]) -> TopHashes:
        """The *names* (in any order), with their *hashes* where given."""
        ordered = sorted(names)
        return cls(ordered, b"".join(hashes.get(name, _NO_DIGEST) for name in ordered))

    @property
    def digests(self) -> bytes:
        """Each name's hash in turn, all zero for none: as a child sends them (policygen/stampcheck.py)."""
        return self._digests

    def _at(self, name: object) -> bytes | None:
        if not isinstance(name, str):
            return None
        at = bisect.bisect_left(self.names, name)
        if at == len(self.names) or self.names[at] != name:
            return None
        digest = self._digests[at * DIGEST_SIZE : (at + 1) * DIGEST_SIZE]
        return None if digest == _NO_DIGEST else digest

    def __getitem__(self, name: str) -> bytes:
        digest = self._at(name)
        if digest is None:
            raise KeyError(name)
        return digest

    def __contains__(self, name: object) -> bool:
        return self._at(name) is not None

    def __iter__(self) -> Iterator[str]:
        digests = (self._digests[at : at + DIGEST_SIZE] for at in range(0, len(self._digests), DIGEST_SIZE))
        return (name for name, digest in zip(self.names, digests, strict=True) if digest != _NO_DIGEST)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __eq__(self, other: object) -> bool:  # the names without a hash too, which a mapping's equality leaves out
        if not isinstance(other, TopHashes):
            return NotImplemented
        return self.names == other.names and self._digests == other._digests

    __hash__ = None  # type: ignore[assignment]  # a mapping: not hashable

    def joined(self, other: TopHashes) -> TopHashes | None:
        """These hashes and *other*'s, of the same names, taken by disjoint shares of one check (Stamp.check): each
        name's from the share that has it. None when the names differ."""
        if other.names != self.names:
            return None
        # Every name's hash is in one share at most, the other's bytes for it all zero: or-ed whole, at once.
        size = len(self._digests)
        either = int.from_bytes(self._digests, "big") | int.from_bytes(other._digests, "big")
        return TopHashes(self.names, either.to_bytes(size, "big"))


NO_HASHES = TopHashes([], b"")  # none: of a build with no spare, or with no record of it


@dataclass(frozen=True)
class Matched:
    """A stamp found matching its output folder: the stamp file's hash (the proof on which `Stamp.walk`
    takes the folders a build kept whole from it) and the top-level entries it lists, which are what the
    build that put the output in place wrote there (as its manifest lists them, and the manifest itself)."""

    proof: str
    # Each top-level name, with its folders hash (folders_seen) as the check saw it, when asked and none of its folders
    # changed lately: the output's folders are not looked at again to be remembered for the next build (output.py).
    folders: TopHashes

    @property
    def names(self) -> list[str]:
        """The top-level entries the stamp lists, sorted."""
        return self.folders.names

    def joined(self, other: Matched | None) -> Matched | None:
        """This share's result and *other*'s, of the same stamp (Stamp.check), as the whole check's; None when
        the other found no match or read another stamp (the file was written again between the two reads)."""
        if other is None or other.proof != self.proof:
            return None
        folders = self.folders.joined(other.folders)
        return None if folders is None else Matched(self.proof, folders)


@dataclass(frozen=True)
class SameBytes:
    """How to tell later that a file still holds the bytes a build read from it, without reading them again:
    by its stat as read (device, inode, size, modification and change time), when the file had not changed
    in the RACY_SECONDS before (the change time cannot be set back, so any write since gives another one);
    else by the SHA-256 of its bytes, read again to compare."""

    stat: tuple[int, ...] | None  # what tells, when the stat can
    sha256: str | None = None  # what tells otherwise

    @classmethod
    def by_stat(cls, f: BinaryIO) -> SameBytes | None:
        """*f*'s, when its stat can tell (None: it changed too lately, read it whole and use by_hash)."""
        info = os.fstat(f.fileno())
        if max(info.st_mtime_ns, info.st_ctime_ns) >= time.time_ns() - RACY_SECONDS * 1_000_000_000:
            return None
        return cls(_identity(info))

    @classmethod
    def by_hash(cls, data: bytes) -> SameBytes:
        """A file's whose whole bytes as read are *data*."""
        return cls(None, hashlib.sha256(data).hexdigest())

    @classmethod
    def by_hash_of(cls, f: BinaryIO) -> SameBytes:
        """*f*'s (open for reading at its start; left there), its bytes hashed a piece at a time, not held."""
        return cls(None, _sha256_of(f))

    def held_by(self, f: BinaryIO) -> bool:
        """Whether *f* (open for reading at its start; left there) holds the same bytes."""
        if self.stat is not None:
            return _identity(os.fstat(f.fileno())) == self.stat
        return _sha256_of(f) == self.sha256


def _sha256_of(f: BinaryIO) -> str:
    """The SHA-256 of what *f* holds from its start on, read a piece at a time; *f* is left at its start."""
    digest = hashlib.sha256()
    while piece := f.read(1 << 18):
        digest.update(piece)
    f.seek(0)
    return digest.hexdigest()


def _identity(info: os.stat_result) -> tuple[int, ...]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _open_stamp(file: Path) -> BinaryIO:
    """*file* opened for reading, when it is a plain file (never through a link, never a pipe waited on)."""
    fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{file} is not a file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextlib.contextmanager
def _previous(kept: Kept | None) -> Iterator[_Reader | None]:
    """The previous stamp, at its first group, when folders were kept; None when there is none to read (the
    kept folders are then looked at whole)."""
    reader = None
    with contextlib.ExitStack() as stack:
        if kept is not None and kept.folders:
            try:
                reader = _Reader(stack.enter_context(_open_stamp(kept.file)))
                reader.next_head()
            except (OSError, ValueError):
                reader = None
        yield reader


def _group_matches(fd: int, reader: _Reader, seen: list[tuple[str, os.stat_result]] | None = None) -> bool:
    """Whether the paths of the reader's current group have the stats its digests record (relative to *fd*);
    the group's folders with their stat added to *seen*, if given."""
    head = reader.head
    assert head is not None
    folders, files, at = hashlib.sha256(), hashlib.sha256(), 0
    for paths in reader.paths():
        split = min(len(paths), max(0, head.folders - at))
        if split:  # the group's first paths: its folders, whose whole stat *seen* may want
            infos = list(map(partial(os.lstat, dir_fd=fd), paths[:split]))
            folders.update(_fields_bytes(list(map(_stamped, infos))))
            if seen is not None:
                seen.extend(
                    (path.decode("utf-8", "surrogateescape"), info)
                    for path, info in zip(paths[:split], infos, strict=True)
                )
        files.update(_fields_bytes(_stats(fd, paths[split:])))
        at += len(paths)
    return folders.hexdigest() == head.folders_digest and files.hexdigest() == head.files_digest


def _later_half(ordered: list[str], kept: Kept | None) -> int:
    """Where the later half of the groups to walk begins in *ordered* (a kept folder's group is read from the
    previous stamp, not walked: a later rebuild walks a few); len(ordered) when they are too few to share."""
    folders = kept.folders if kept is not None else {}
    walked = sum(1 for name in ordered if name not in folders)
    if walked < WALK_SHARED_MIN:
        return len(ordered)
    seen = 0
    for at, name in enumerate(ordered):
        if name not in folders:
            seen += 1
            if seen > walked // 2:
                return at
    return len(ordered)  # not reached: more than half of them come before the end


def _write_groups(
    f: BinaryIO,
    out: Path,
    names: list[str],
    previous: _Reader | None,
    kept: Kept | None,
    taken: list[str],
    ahead: Ahead | None = None,
) -> None:
    """The groups of *names* (in the stamp's order), written to *f*: each kept folder's from the *previous* stamp
    (its name added to *taken*), unless that stamp does not list it so; each walked *ahead* as it was walked;
    every other one walked."""
    for name in names:
        walked = ahead.group(name) if ahead is not None else None
        if walked is not None:
            f.write(walked)
            continue
        group: tuple[_Head, Iterable[bytes]] | None = None
        if previous is not None and kept is not None and (seen := kept.folders.get(name)) is not None:
            group = _kept_group(previous, name, seen)  # one lookup: a kept folder is asked for once
        if group is None:
            group = _walked_group(out, name)
        else:
            taken.append(name)
        head, listed = group
        f.write(head.line())
        f.writelines(listed)


class Ahead:
    """Groups of a stamp walked before the swap, in the staging folder (whose entries the swap moves, stat and
    all, into the output), each as the walk after it would write it, in an unnamed file: Stamp.walk copies them.
    Only for groups nothing changes after the walk: a cold build's tenant folders, walked while the kernel writes
    its files to disk (output.flushing), where the build would otherwise wait for it and then walk them."""

    def __init__(self, part: BinaryIO, names: list[str], ends: array.array[int]) -> None:
        self._part = part
        self._names = names  # sorted, as Stamp.walk asks for them
        self._ends = ends  # where each name's group ends in *part*: 8 bytes a tenant, not an int object's 36
        self._at = 0  # the next name to give

    @classmethod
    def walk(cls, folder: Path, names: list[str], spool: Path) -> Ahead | None:
        """The groups of the top-level entries *names* (sorted: the list is held, not copied) of *folder*, in an
        unnamed file in the folder *spool*; None when one cannot be stamped (the walk after the swap then finds
        that too)."""
        try:
            part = tempfile.TemporaryFile(dir=spool)  # noqa: SIM115 (closed by close)
        except OSError:
            return None
        ends = array.array("q")
        try:
            for name in names:
                head, listed = _walked_group(folder, name)
                part.write(head.line())
                part.writelines(listed)
                ends.append(part.tell())
        except (OSError, ValueError, _NoStamp):
            part.close()
            return None
        return cls(part, names, ends)

    def group(self, name: str) -> bytes | None:
        """The group of *name*, if it was walked ahead; asked in the stamp's order, each once."""
        at = self._at
        while at < len(self._names) and self._names[at] < name:
            at += 1
        self._at = at
        if at == len(self._names) or self._names[at] != name:
            return None
        start = self._ends[at - 1] if at else 0
        self._part.seek(start)
        return self._part.read(self._ends[at] - start)

    def close(self) -> None:
        self._part.close()


# Groups to walk (tenants not kept whole) past which a stamp's walk is shared by a second process (Stamp.walk): alone, a build's
# walk of the 29,000 paths of 1,000 tenants takes about 0.2 s of one core, after a cold build and after the first
# rebuild that follows it.
WALK_SHARED_MIN = 256


class _HalfBeside:
    """A forked child walking the later half of a stamp's groups (Stamp.walk) into an unnamed file, which the
    build copies after its own half; it sends the names it took from the previous stamp. Whatever goes wrong in
    it (an error, a kill, a previous stamp read otherwise) means this process walks that half itself."""

    def __init__(self, child: Child | None = None, part: BinaryIO | None = None) -> None:
        self.child = child
        self.part = part

    @classmethod
    def start(cls, out: Path, names: list[str], file: Path, kept: Kept | None) -> _HalfBeside:
        """The child started on *names* (none when there are none, or it cannot be)."""
        if not names:
            return cls()
        try:
            part = tempfile.TemporaryFile(dir=file.parent)  # noqa: SIM115 (closed by close)
        except OSError:
            return cls()
        child = Child.start(lambda: _walk_half(out, names, kept, part))
        if child is None:
            part.close()
            return cls()
        return cls(child, part)

    def result(self) -> list[str] | None:
        """The names the child took from the previous stamp, in order, once it has ended well (the build's own strings,
        not copies); None otherwise."""
        data = self.child.message() if self.child is not None else None
        if data is None:
            return None
        return list(map(sys.intern, data.decode("utf-8", "surrogateescape").split("\0"))) if data else []

    def copy_to(self, f: BinaryIO) -> None:
        """What the child wrote, after what *f* holds."""
        assert self.part is not None
        self.part.seek(0)
        shutil.copyfileobj(self.part, f, 1 << 20)

    def close(self) -> None:
        """Kill the child if it still runs, wait for it, close the pipe and the file."""
        if self.child is not None:
            self.child.end()
        if self.part is not None:
            self.part.close()
            self.part = None


def _walk_half(
    out: Path, names: list[str], kept: Kept | None, part: BinaryIO
) -> bytes:  # pragma: no cover - in the child
    """In the child: its groups written to *part*, the previous stamp (its own reader: the build's is at another
    place in the file) checked whole as the build checks it; the names it took from that stamp, to send."""
    taken: list[str] = []
    with _previous(kept) as previous:
        _write_groups(part, out, names, previous, kept, taken)
        if previous is not None and kept is not None and previous.finish() != kept.proof:
            raise _NoStamp
    part.flush()
    return "\0".join(taken).encode("utf-8", "surrogateescape")


def _walked_group(out: Path, name: str) -> tuple[_Head, list[bytes]]:
    """The group of the top-level entry *name* of *out* (HERE: the folder itself) as it is now."""
    if name == HERE:
        here = _stamped(os.lstat(out))
        if not stat.S_ISDIR(here[0]):
            raise _NoStamp
        return _Head(HERE, 1, 0, _digest([here]), _digest([]), len(HERE)), [HERE.encode()]
    found = paths_under(str(out), [name])
    if found is None:
        raise _NoStamp
    paths, folders = found
    files = [path for path in paths if path not in folders]
    fields = stats_in(out, files)
    if any(stat.S_ISLNK(each[0]) for each in fields):
        raise _NoStamp
    ordered = sorted(folders)  # as a kept folder's are listed (SeenFolders)
    listed = "\0".join([*ordered, *files]).encode("utf-8", "surrogateescape")
    folders_digest = _digest([folders[path] for path in ordered])
    return _Head(name, len(folders), len(files), folders_digest, _digest(fields), len(listed)), [listed]


def _kept_group(previous: _Reader, name: str, seen: SeenFolders) -> tuple[_Head, Iterator[bytes]] | None:
    """The group of the kept folder *name*, its folders as the build *seen* them (sorted by path, whatever order
    the previous stamp lists them in), then its files' part as the previous stamp has it; None when the
    previous stamp lists no such group or other folders."""
    head = previous.until(name)
    if head is None or head.folders != seen.count:
        return None  # the group, if any, is skipped by the next until()
    blocks = previous.paths()
    held: list[bytes] = []
    while len(held) < head.folders:  # bounded: as many folders as the writer kept
        block = next(blocks, None)
        if block is None:
            raise ValueError("paths miscounted")
        held.extend(block)
    listed, files = held[: head.folders], held[head.folders :]
    paths = sorted(path.decode("utf-8", "surrogateescape") for path in listed)
    if _paths_digest(paths) != seen.paths:
        for _ in blocks:  # the rest of the group: the next group comes after it
            pass
        return None
    folders = [path.encode("utf-8", "surrogateescape") for path in paths]
    return replace(head, folders_digest=seen.digest.hex()), _joined([folders, files], blocks)


def _joined(held: list[list[bytes]], blocks: Iterator[list[bytes]]) -> Iterator[bytes]:
    """The paths of *held*, then of *blocks*, as a stamp lists them."""
    separator = b""
    for block in itertools.chain(held, blocks):
        if block:
            yield separator + b"\0".join(block)
            separator = b"\0"


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


def paths_under(folder: str, names: Iterable[str]) -> tuple[list[str], dict[str, tuple[int, ...]]] | None:
    """The paths (relative to *folder*) of its entries *names* and of everything under them, parents first,
    with the stamped stat fields of each folder among them taken before it was listed (so that an entry
    added after its listing changes the folder's recorded stat); None at a symbolic link or an unreadable
    folder. (The fields, not the stat: a project's tenant folders are a hundred thousand.)"""
    paths: list[str] = []
    folders: dict[str, tuple[int, ...]] = {}
    try:
        for name in sorted(names):
            info = os.lstat(os.path.join(folder, name))
            if stat.S_ISLNK(info.st_mode):
                return None
            paths.append(name)
            if stat.S_ISDIR(info.st_mode):
                folders[name] = _stamped(info)
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
                        folders[child] = _stamped(entry.stat(follow_symlinks=False))
                        todo.append(child)
    except OSError:
        return None
    return paths, folders


def walk_paths(folder: str, names: Iterable[str]) -> Iterator[str]:
    """The paths (relative to *folder*) of its entries *names* and of everything under them, each folder's
    followed at once by what is in it: one listing open at each depth and nothing else held, whatever the
    number of entries (paths_under's order is another). OSError at a symbolic link or an unreadable folder."""
    for name in sorted(names):
        if os.path.islink(os.path.join(folder, name)):
            raise OSError(f"a symbolic link: {name}")
        yield name
        if os.path.isdir(os.path.join(folder, name)):
            yield from _walk_in(folder, name)


def _walk_in(folder: str, rel: str) -> Iterator[str]:
    with os.scandir(os.path.join(folder, rel)) as entries:
        for entry in entries:
            if entry.is_symlink():
                raise OSError(f"a symbolic link: {rel}/{entry.name}")
            child = f"{rel}/{entry.name}"
            yield child
            if entry.is_dir(follow_symlinks=False):
                yield from _walk_in(folder, child)


def folders_seen(base: str, folders: Iterable[str]) -> tuple[bytes, SeenFolders] | None:
    """The folders hash of *folders* (relative to *base*): any entry added to, removed from or renamed in one
    of them changes it; and the folders as the stamp lists them (SeenFolders): from one lstat of each. None
    when one is not a plain folder."""
    paths = tuple(sorted(folders))
    try:
        infos = [os.lstat(os.path.join(base, rel)) for rel in paths]
    except OSError:
        return None
    hashed = _folders_hash(zip(paths, infos, strict=True), None)
    if hashed is None:
        return None
    return hashed, SeenFolders(len(paths), _paths_digest(paths), _fields_digest(list(map(_stamped, infos))))


def _folders_hash(seen: Iterable[tuple[str, os.stat_result]], before_ns: int | None) -> bytes | None:
    """The folders hash of the folders *seen* (their paths and stat, in any order); None when one is not a
    plain folder, or, given *before_ns*, was changed at or after that time less the racy-git margin (a change
    in the same clock tick could leave the very stat that is recorded)."""
    lines = []
    for rel, info in sorted(seen, key=operator.itemgetter(0)):
        if not stat.S_ISDIR(info.st_mode):
            return None
        if before_ns is not None and max(info.st_mtime_ns, info.st_ctime_ns) >= before_ns - RACY_SECONDS * 10**9:
            return None
        lines.append(f"{rel}\0{_line('', info)} {info.st_nlink}")
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).digest()


# The folder digests' file: a header giving its length, so that a file cut short, grown, or of another version
# is read as empty before any of it is used; then a line per folder, sorted by path (its bytes in hex, so
# that the lines sort as the paths' bytes do), with a hash binding the path, the stat hash and the content
# hash, then the content hash. A line gives its hash only to the folder it was written for, with that very
# stat: one damaged in place is as a folder that changed, and the lines used before damage further on (or
# before a line out of order) were not trusted wrongly. Read and written forward beside the lookups.
_DIGEST_LINE = re.compile(rb"((?:[0-9a-f]{2}){1,4096}) [0-9a-f]{64} [0-9a-f]{64}\n")
_DIGEST_LINE_MOST = 2 * 4096 + 64 + 64 + 3
_RECORDABLE = re.compile(r"[0-9a-f]{64}")  # the content hash the file holds: tenant_digest's, sha256 in hex


def _digests_header(size: int) -> bytes:
    """The header of a folder digests' file of *size* bytes, itself included (its length does not vary)."""
    return b"policygen folder digests 3 %016d\n" % size


_HEADER_SIZE = len(_digests_header(0))


def _digest_key(folder: Path) -> bytes:
    return str(folder).encode("utf-8", "surrogateescape").hex().encode()


def _key_of(line: bytes) -> bytes:
    return line[: line.index(b" ")]


def _digest_line(key: bytes, stat_hash: bytes, digest: bytes) -> bytes:
    """The line of the folder *key* that gives the content hash *digest* while the folder's stat hash is *stat_hash*."""
    bound = hashlib.sha256(b"%s %s %s" % (key, stat_hash, digest)).hexdigest().encode()
    return b"%s %s %s\n" % (key, bound, digest)


def _reused(line: bytes, stat_hash: bytes) -> str | None:
    """The content hash *line* gives, if it was written for its folder with this stat hash; else None."""
    digest = line[line.rindex(b" ") + 1 : -1]
    return digest.decode() if _digest_line(_key_of(line), stat_hash, digest) == line else None


def _lines_of(file: Path | None) -> Generator[bytes]:
    """The lines of the folder digests' file *file* (none when there is none), checked as they are read:
    ValueError where it is not one policygen wrote (at once when it is of another length or version)."""
    if file is None:
        return
    with contextlib.suppress(FileNotFoundError), open(file, "rb") as f:
        if f.read(_HEADER_SIZE) != _digests_header(os.fstat(f.fileno()).st_size):
            raise ValueError("not a folder digests' file of this version, or not whole")
        last = b""
        while line := f.readline(_DIGEST_LINE_MOST):
            found = _DIGEST_LINE.fullmatch(line)
            if found is None or found[1] <= last:
                raise ValueError("a line damaged or out of order")
            last = found[1]
            yield line


class _NewFile:
    """A cache file written anew under a temporary name beside it, then put in its place (atomically: a crash
    leaves the old file or the new one) or dropped; nothing else is left either way, and a file that cannot be
    written is no error (a cache only costs the next build time)."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        self.f = open(self.temporary, "w+b")  # noqa: SIM115 (closed by end)

    def __enter__(self) -> _NewFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.end(keep=kind is None)

    def end(self, keep: bool) -> None:
        """The file put in place (*keep*) or dropped."""
        with contextlib.suppress(OSError):
            try:
                self.f.close()
                if keep:
                    os.replace(self.temporary, self.file)
            finally:
                self.temporary.unlink(missing_ok=True)


class _Merge:
    """The lookups from the first to a save: the old file's lines, read forward beside them (both sorted by
    path), merged with what they find into the new file, written forward as they go (the folders not looked
    up carried over unless *others* is False, a damaged rest of the old file left out). From a lookup out of
    order (a second look at a folder, lookups in another order) what is known is held whole, and written sorted
    at the end (every folder's line kept)."""

    def __init__(self, old: Path | None, new: Path | None, others: bool = True) -> None:
        self._old_file = old
        self._others = others  # the lines of folders not looked up kept (a build of some tenants)
        self._old = _lines_of(old)
        self._next: bytes | None = None  # the old file's first line not passed yet
        self._last = b""  # the key of the last folder looked up
        self._held: dict[bytes, bytes] | None = None  # each folder's line, by key: after a lookup out of order
        self.changed = False  # the new file is not the old one
        self._advance()
        self._out = self._begin(new) if new is not None else None  # None: nothing is saved

    @staticmethod
    def _begin(new: Path) -> _NewFile | None:
        try:
            out = _NewFile(new)
        except OSError:
            return None
        out.f.write(_digests_header(0))  # its length is filled in at the end
        return out

    def _advance(self) -> None:
        try:
            self._next = next(self._old, None)
        except (OSError, ValueError):  # damaged from here on: nothing more of it is used or kept
            self._next, self.changed = None, True

    def _rest(self) -> Iterator[bytes]:
        """The old file's lines not passed yet."""
        while self._next is not None:
            line = self._next
            self._advance()
            yield line

    def _carry(self, line: bytes) -> None:
        """The old line of a folder not looked up: kept, or (not *others*) dropped."""
        if self._others:
            self._write(line)
        else:
            self.changed = True

    def _write(self, line: bytes) -> None:
        if self._out is not None:
            try:
                self._out.f.write(line)
            except OSError:
                self._out.end(keep=False)
                self._out = None

    def take(self, key: bytes) -> bytes | None:
        """The old line of the folder *key* (None: none); the old lines before it carried into the new file."""
        if self._held is None and key <= self._last:
            self._hold()
        self._last = key
        if self._held is not None:
            return self._held.get(key)
        while self._next is not None and _key_of(self._next) < key:
            self._carry(self._next)
            self._advance()
        if self._next is None or _key_of(self._next) != key:
            return None
        line = self._next
        self._advance()
        return line

    def put(self, key: bytes, old: bytes | None, new: bytes | None) -> None:
        """The new line of the folder *key* (None: none), whose old one was *old*."""
        self.changed = self.changed or new != old
        if self._held is not None:
            self._held.pop(key, None)
            if new is not None:
                self._held[key] = new
        elif new is not None:
            self._write(new)

    def _hold(self) -> None:
        """What is known so far held whole: the new file's lines, then the old one's not passed yet; with no
        new file, the old one's from its start (a folder that changed since is hashed again)."""
        held: dict[bytes, bytes] = {}
        if self._out is not None:
            try:
                self._out.f.seek(_HEADER_SIZE)
                held = {_key_of(line): line for line in self._out.f}
                self._out.f.seek(_HEADER_SIZE)
                self._out.f.truncate()
            except OSError:
                self._out.end(keep=False)
                self._out, held = None, {}
        if self._out is None:
            self._old.close()
            self._old = _lines_of(self._old_file)
            self._advance()
        held.update((_key_of(line), line) for line in self._rest())
        self._held = held

    def end(self, keep: bool) -> None:
        """The new file put in place when *keep* and anything changed, else dropped; the old one closed."""
        written = False
        try:
            if keep and self._out is not None:
                with contextlib.suppress(OSError):
                    held = self._held
                    if held is not None:
                        self._out.f.writelines(held[key] for key in sorted(held))
                    for line in self._rest():
                        self._carry(line)
                    out = self._out  # None when a write failed (_write): nothing saved
                    if out is not None:
                        size = out.f.seek(0, os.SEEK_END)
                        out.f.seek(0)
                        out.f.write(_digests_header(size))
                        written = True
        finally:
            self._old.close()
            if self._out is not None:
                self._out.end(keep=written and self.changed)


class FolderDigests:
    """Content hashes of folders, reused while the folder's stat is the one recorded with them.

    A project's folders are a hundred thousand, so neither the file nor what is looked up is held whole:
    the file is read forward beside the lookups, which a build makes in path order, and the new one written
    as they go (_Merge). As a context manager it saves at the end of the block; when the block raises, the
    file is left as it was and nothing beside it."""

    def __init__(
        self, file: Path | None, writable: Callable[[], Path | None] | None = None, others: bool = True
    ) -> None:
        self.file = file  # None: nothing remembered (no usable cache folder)
        self._writable = writable  # the file to save to, its folder made: None when it cannot be
        # False: the lookups are of every folder that counts (a whole-site build), and the lines of the others
        # (tenants deleted, a project moved with its cache) are dropped, not carried from file to file.
        self._others = others
        self._merge: _Merge | None = None  # the lookups since the last save

    def __enter__(self) -> FolderDigests:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self._end(keep=kind is None)

    def digest(self, folder: Path, compute: Callable[[Path], str]) -> str:
        """*compute*(folder), or the hash it gave last time if nothing in the folder changed since."""
        if self._merge is None:
            self._merge = _Merge(self.file, self._writable() if self._writable is not None else None, self._others)
        key = _digest_key(folder)
        seen = tree_stat(str(folder), skip_editor_files=True)
        old = self._merge.take(key)
        reused = _reused(old, seen[0].encode()) if seen is not None and old is not None else None
        if reused is not None:
            self._merge.put(key, old, old)
            return reused
        digest = compute(folder)
        new, settled = None, time.time_ns() - RACY_SECONDS * 1_000_000_000  # a change after it may keep its stat
        if seen is not None and seen[1] < settled and _RECORDABLE.fullmatch(digest):
            new = _digest_line(key, seen[0].encode(), digest.encode())
        self._merge.put(key, old, new)
        return digest

    def save(self) -> None:
        """Write the file, if anything changed (atomically: a crash leaves the old one or the new one); the
        next lookup reads it from its start."""
        self._end(keep=True)

    def _end(self, keep: bool) -> None:
        merge, self._merge = self._merge, None
        if merge is not None:
            merge.end(keep)


def write_atomically(file: Path, data: bytes | Iterable[bytes]) -> None:
    with contextlib.suppress(OSError), _NewFile(file) as new:
        new.f.writelines([data] if isinstance(data, bytes) else data)
