"""Telling that nothing changed since the last build, before the engine is even imported.

A whole-site build records in the project's cache (`.cache/policygen/stamps/<output>.build.json`) what it
was built from, by file metadata: the stat (type, inode, size, modification and change time) of every
project input (policygen.yaml, rules.yaml, content/, tenants/, themes/, layouts/, static/) and of
policygen's own files, taken before the build read any of them, with the build date, --drafts,
policygen's version and Python's; and what it wrote (the counts its summary gives). The next
`policygen build` with the same options compares that record, then the output's stamp
(policygen/outfolder.py: untouched). When both match, nothing changed: the output is left as it is and
nothing else is read or imported. Any difference, or anything that cannot be told (a symbolic link among
the inputs, no record, a damaged one), runs the build as usual, which decides from content hashes.

The racy-git rule applies as in policygen/statcache.py: inputs with an entry changed in the last two
seconds before the build are not recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import __version__, statcache
from .dates import utc_today
from .inputs import INPUT_FOLDERS, PROJECT_FILES
from .outfolder import cache_record, spare_folder, untouched, write_cache_record

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
class Inputs:
    """The stat of everything a build reads, with its options: equal means no input was touched."""

    digest: str
    newest: int  # the newest modification or change time seen, in nanoseconds
    taken: int  # when they were looked at (time.time_ns)

    @classmethod
    def seen(cls, root: Path, today: dt.date, drafts: bool) -> Inputs | None:
        """Of the project at *root* (resolved); None when it cannot be told (a link among the inputs)."""
        taken = time.time_ns()
        project = _entries_stat(root, (*PROJECT_FILES, *INPUT_FOLDERS))
        try:
            own = [name for name in os.listdir(PACKAGE) if name != "__pycache__"]
        except OSError:
            return None
        code = _entries_stat(PACKAGE, own)
        if project is None or code is None:
            return None
        text = "\0".join((__version__, sys.version, today.isoformat(), str(drafts), project[0], code[0]))
        return cls(hashlib.sha256(text.encode()).hexdigest(), max(project[1], code[1]), taken)


def _entries_stat(folder: Path, names: tuple[str, ...] | list[str]) -> tuple[str, int] | None:
    """The stat of each named entry of *folder* and of everything under it (not of *folder* itself: a
    build's swap of the output folder beside them changes that)."""
    parts: list[str] = []
    newest = 0
    for name in sorted(names):
        path = os.path.join(folder, name)
        if not os.path.lexists(path):
            parts.append(f"{name} -")
            continue
        seen = statcache.tree_stat(path)
        if seen is None:
            return None
        parts.append(f"{name} {seen[0]}")
        newest = max(newest, seen[1])
    return "\n".join(parts), newest


def nothing_changed(root: Path, out: Path | None, today: dt.date | None, drafts: bool) -> Unchanged | None:
    """The last build's counts, if it was a whole-site build of these inputs with these options into *out*
    (default: root/build) and the output is as it left it; else None (build as usual)."""
    started = time.perf_counter()
    target = (out if out is not None else root / "build").resolve()
    spare = spare_folder(root, target)
    try:
        data = json.loads(cache_record(spare, _RECORD).read_bytes())
        recorded, built = str(data["inputs"]), Built(int(data["tenants"]), int(data["files"]), int(data["pages"]))
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    seen = Inputs.seen(root, today or utc_today(), drafts)
    if seen is None or seen.digest != recorded or not untouched(target, spare):
        return None
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
    body = {"inputs": seen.digest, "tenants": built.tenants, "files": built.files, "pages": built.pages}
    write_cache_record(cache_record(spare_folder(root, out), _RECORD), json.dumps(body).encode())
