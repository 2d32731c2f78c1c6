"""Telling that nothing changed since the last build, before the engine is even imported.

A whole-site build records in the project's cache (`.cache/policygen/stamps/<output>.build.json`) what it
was built from, by file metadata: the stat (type, inode, size, modification and change time) of every
project input (policygen.yaml, rules.yaml, content/, tenants/, themes/, layouts/, static/) and of
policygen's own files, taken before the build read any of them, with their paths, the build date,
--drafts (only when a tenant has a releases/ folder: no other tenant's pages differ by it, deps.drafts_shown),
policygen's version and Python's; and what it wrote (the counts its summary gives). The next
`policygen build` with the same options looks at those paths again (one lstat each, no folder listed: a
file added or removed changes its folder's stat) and compares that record, then the output's stamp
(policygen/outfolder.py: untouched). When both match, nothing changed: the output is left as it is and
nothing else is read or imported. Any difference, or anything that cannot be told (a symbolic link among
the inputs, no record, a damaged one), runs the build as usual, which decides from content hashes.
When no folder's stat changed either (the record keeps a digest of those apart), the record's paths are
still every input there is, and that build records what the check saw instead of listing the project and
looking at every path again (Inputs.seen).

The racy-git rule applies as in policygen/statcache.py: inputs with an entry changed in the last two
seconds before the build are not recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import marshal
import os
import re
import stat
import sys
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from . import __version__, stampcheck, statcache
from .dates import utc_today
from .inputs import INPUT_FOLDERS, PROJECT_FILES
from .outfolder import cache_record, spare_folder, stamp_file, untouched, write_cache_record

PACKAGE = Path(__file__).resolve().parent
_RECORD = "build"


def counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Built:
    """What a build put in the output folder, as its summary counts it."""

    tenants: int
    files: int
    pages: int

    @classmethod
    def of(cls, tenants: int, paths: list[str]) -> Built:
        return cls(tenants, len(paths), sum(1 for p in paths if p.endswith(".html")))

    def files_written(self) -> str:
        return f"{counted(self.files, 'file')} ({counted(self.pages, 'page')})"

    def summary(self, rendered: int, seconds: float, out: Path, unchanged: bool) -> str:
        """The one line a build prints: counts, never names, whether three tenants or a hundred thousand."""
        files = f"nothing changed, {self.files_written()} as they were" if unchanged else self.files_written()
        return (
            f"Built {counted(self.tenants, 'tenant')} in {seconds:.2f} s "
            f"({rendered:,} rendered, {self.tenants - rendered:,} reused): {files}, in {out}"
        )


@dataclass(frozen=True)
class Unchanged:
    """A build that found nothing changed without importing the engine."""

    out: Path
    built: Built
    seconds: float

    def summary(self) -> str:
        return self.built.summary(0, self.seconds, self.out, unchanged=True)


@dataclass(frozen=True)
class PathList:
    """Paths, held compressed (each ended by '\\0'): a project's inputs are two paths a tenant, held from
    before the build reads them to its end, and a hundred thousand tenants' paths as str are 15 MB; these,
    under a megabyte. Given back a batch at a time."""

    data: bytes
    count: int

    @classmethod
    def of(cls, paths: Iterable[str]) -> PathList:
        packer = zlib.compressobj(1)  # the fastest: the paths' text is mostly their common parts
        parts: list[bytes] = []
        count = 0
        for batch in _batched(paths):
            parts.append(packer.compress("".join(f"{path}\0" for path in batch).encode("utf-8", "surrogateescape")))
            count += len(batch)
        parts.append(packer.flush())
        return cls(b"".join(parts), count)

    def batches(self) -> Iterator[list[str]]:
        """The paths, _BATCH at a time; ValueError when the data is not paths this class packed."""
        batch: list[str] = []
        count = 0
        for path in self._paths():
            batch.append(path)
            if len(batch) == _BATCH:
                count += len(batch)
                yield batch
                batch = []
        if count + len(batch) != self.count:
            raise ValueError("not the paths counted")
        if batch:
            yield batch

    def _paths(self) -> Iterator[str]:
        unpacker, rest = zlib.decompressobj(), b""
        try:
            for start in range(0, len(self.data), _UNPACK):
                packed = self.data[start : start + _UNPACK]
                while packed and not unpacker.eof:  # after its end, zlib leaves the bytes in its tail
                    text = rest + unpacker.decompress(packed, _UNPACK)
                    packed = unpacker.unconsumed_tail
                    *paths, rest = text.split(b"\0")
                    yield from (path.decode("utf-8", "surrogateescape") for path in paths)
        except zlib.error as exc:
            raise ValueError("not a list of paths") from exc
        if not unpacker.eof or unpacker.unused_data or unpacker.unconsumed_tail or rest:
            raise ValueError("not a list of paths")


def _batched(paths: Iterable[str]) -> Iterator[tuple[str, ...]]:
    """The paths _BATCH at a time (itertools.batched, of Python 3.12)."""
    iterator = iter(paths)
    while batch := tuple(itertools.islice(iterator, _BATCH)):
        yield batch


# What a build reads, as the record lists it: paths relative to the project and to policygen's own folder.
Listed = tuple[PathList, PathList]


@dataclass(frozen=True)
class Inputs:
    """The stat of everything a build reads, with its options: equal means no input was touched."""

    digest: str
    newest: int  # the newest modification or change time seen, in nanoseconds
    taken: int  # when they were looked at (time.time_ns)
    listed: Listed  # the paths looked at: the next check looks at these again, and lists no folder
    folders: str  # a digest of the stat of the folders among them, and of which input names exist

    @classmethod
    def seen(cls, root: Path, today: dt.date, drafts: bool) -> Inputs | None:
        """Of the project at *root* (resolved); None when it cannot be told (a link among the inputs). What
        nothing_changed saw in this process is taken instead when it is of the same project, date and option,
        and lists the paths there are (no folder changed since the record it compared)."""
        global _looked
        looked, _looked = _looked, None
        if looked is not None and looked[0] == (root, today, drafts):
            return looked[1]
        taken = time.time_ns()
        try:
            own = [name for name in os.listdir(PACKAGE) if name != "__pycache__"]
            present = [n for n in _NAMES if os.path.lexists(os.path.join(root, n))]
            project = PathList.of(statcache.walk_paths(str(root), present))
            # policygen's folder itself: a module added
            code = PathList.of(itertools.chain([statcache.HERE], statcache.walk_paths(str(PACKAGE), own)))
        except OSError:
            return None  # a link among the inputs, or a folder that cannot be read
        # Each stat is taken again after the listing: an entry added meanwhile makes its folder too recent
        # to be recorded (the racy-git rule, in remember).
        listed = (project, code)
        found = cls.again(root, today, drafts, listed)
        if found is None:
            return None
        return cls(found.digest, found.newest, taken, listed, found.folders)

    @staticmethod
    def again(root: Path, today: dt.date, drafts: bool, listed: Listed) -> Again | None:
        """The digest, the newest time and the folders' digest of the paths *listed* as they are now; None when
        one is gone. A file added or removed among them changes its folder's stat, which is listed too; an
        input folder or file added beside them (the project's own folder is not listed: a build's swap
        changes it) changes which of the input names exist. The same folders' digest as the listing's own says
        that the listing is still every path there is."""
        present = "".join("+" if os.path.lexists(os.path.join(root, name)) else "-" for name in _NAMES)
        digest = hashlib.sha256("\0".join((__version__, sys.version, today.isoformat(), present)).encode())
        folders = hashlib.sha256(present.encode())
        newest = 0
        released = False  # a tenant has a releases/ folder: only then can --drafts change a page
        try:
            # A batch at a time: the stat of every path of a large project at once would be a peak of the
            # build's memory (hundreds of bytes a path).
            for folder, paths in ((root, listed[0]), (PACKAGE, listed[1])):
                for batch in paths.batches():
                    fields = statcache.stats_in(folder, batch)
                    names = "\0".join(["", *batch, ""])
                    released = released or (folder is root and _RELEASES.search(names) is not None)
                    digest.update(names[:-1].encode("utf-8", "surrogateescape"))
                    digest.update(marshal.dumps(fields, 2))  # numbers only: the same bytes for the same stat
                    newest = max(newest, max(max(f[3], f[4]) for f in fields))
                    inside = [(path, f) for path, f in zip(batch, fields, strict=True) if stat.S_ISDIR(f[0])]
                    folders.update(marshal.dumps(inside, 2))
        except (OSError, ValueError):  # a path gone; a damaged record
            return None
        digest.update(b"\0drafts %s" % (str(drafts).encode() if released else b"not shown"))
        return Again(digest.hexdigest(), newest, folders.hexdigest())


class Again(NamedTuple):
    """The paths of a record looked at again (Inputs.again)."""

    digest: str  # of their stat, with the options and policygen's version
    newest: int  # the newest modification or change time seen, in nanoseconds
    folders: str  # of the stat of the folders among them, and of which input names exist


# What nothing_changed saw when it found something changed, for the build that follows in this process to
# record (Inputs.seen takes it once): its project, date and option, and the inputs. It was looked at before
# the build read any input, as a record must be; a change since is only a record that no longer matches.
_looked: tuple[tuple[Path, dt.date, bool], Inputs] | None = None


_NAMES = (*PROJECT_FILES, *INPUT_FOLDERS)
# A tenant's releases/ folder among the paths of a batch, each between two NULs.
_RELEASES = re.compile("\0tenants/[^/\0]+/releases(?:/|\0)")
_BATCH = 4096  # paths looked at together
_UNPACK = 1 << 16  # bytes of the packed paths, and of their text, unpacked at once


def nothing_changed(root: Path, out: Path | None, today: dt.date | None, drafts: bool) -> Unchanged | None:
    """The last build's counts, if it was a whole-site build of these inputs with these options into *out*
    (default: root/build) and the output is as it left it (its stamp, checked on two cores past a few hundred
    tenants: stampcheck.SHARED_MIN_WAITED); else None (build as usual)."""
    started = time.perf_counter()
    target = (out if out is not None else root / "build").resolve()
    spare = spare_folder(root, target)
    try:
        recorded, folders, built, listed = _read_record(cache_record(spare, _RECORD).read_bytes())
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    global _looked
    _looked = None
    day, taken = today or utc_today(), time.time_ns()
    seen = Inputs.again(root, day, drafts, listed)
    if seen is None:
        return None
    if seen.folders == folders:  # no path added or removed since the record: its listing is the inputs' one
        _looked = ((root.resolve(), day, drafts), Inputs(seen.digest, seen.newest, taken, listed, seen.folders))
    if seen.digest != recorded or not untouched(
        target, spare, None, stampcheck.check_for(stamp_file(spare), waited=True)
    ):
        return None
    _looked = None
    return Unchanged(target, built, time.perf_counter() - started)


def forget(root: Path, out: Path) -> None:
    """Drop the record before a build writes: until it records again, the next build checks everything."""
    try:
        cache_record(spare_folder(root, out), _RECORD).unlink(missing_ok=True)
    except OSError:
        pass


def remember(root: Path, out: Path, seen: Inputs | None, built: Built) -> None:
    """Record a whole-site build of the inputs *seen* before it read them (none changed in the last two
    seconds before: the racy-git rule), after its output is in place and stamped."""
    if seen is None or seen.newest >= seen.taken - statcache.RACY_SECONDS * 1_000_000_000:
        return
    head = {
        "inputs": seen.digest,
        "folders": seen.folders,
        "tenants": built.tenants,
        "files": built.files,
        "pages": built.pages,
        "project": [seen.listed[0].count, len(seen.listed[0].data)],
        "code": [seen.listed[1].count, len(seen.listed[1].data)],
    }
    record = b"".join([json.dumps(head).encode(), b"\n", seen.listed[0].data, seen.listed[1].data])
    write_cache_record(cache_record(spare_folder(root, out), _RECORD), record)


def _read_record(data: bytes) -> tuple[str, str, Built, Listed]:
    """The inputs' digest, their folders' digest, the counts and the paths of a record: a line of JSON, then the
    packed paths of the project and of policygen's code, as long as it says. ValueError, KeyError or TypeError
    when damaged."""
    line, _, packed = data.partition(b"\n")
    head = json.loads(line)
    built = Built(int(head["tenants"]), int(head["files"]), int(head["pages"]))
    (project_count, project_size), (code_count, code_size) = map(int, head["project"]), map(int, head["code"])
    if project_size + code_size != len(packed):
        raise ValueError("a record cut short")
    project = PathList(packed[:project_size], project_count)
    return str(head["inputs"]), str(head["folders"]), built, (project, PathList(packed[project_size:], code_count))
