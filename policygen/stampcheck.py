"""The output's stamp check (policygen/outfolder.py: untouched) as a second process runs it beside the build.

A rebuild after a small edit spends a tenth of its time on that check (one lstat per output file), none of
which needs the engine. The child that policygen/prebuild.py forks when the command line begins runs it
(`checked_message`) and sends its result through a pipe: the stamp's proof, top-level names and the stat of
each one's folders as it saw them (statcache.Matched), or none; the build reads it back (`matched_in`).
A large stamp's check is shared with a grandchild, on two cores (`SHARED_MIN`); so is a check a process waits for
(the command line's own check that nothing changed, policygen/lastbuild.py, and `check_now`), with a child, from a
smaller stamp (`SHARED_MIN_WAITED`).

Whatever goes wrong in the child (an error, a crash, a kill, a message that is not one it writes) means
"not untouched": the build then compares the files themselves, which costs time, never correctness. The
time the check counts from (`Checked.since`) is taken before the child starts: the stat of a folder changed
within the racy margin of it is not sent, so it is never remembered intact (SiteWriter.keep_intact), and
one changed after the check no longer has the stat remembered. The output folder and its stamp file are
looked at again when the result is taken (`looks`), so that another build's swap, or an entry added or
removed at the top of the output meanwhile, is not trusted either. Where no child runs, the build checks
in its own process (`check_now`).
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .forked import Child
from .outfolder import StampCheck, stamp_file, untouched
from .statcache import DIGEST_SIZE, Matched, Share, Stamp, TopHashes

_HEADER = b"policygen stamp check 3\n"
_MATCHED = re.compile(rb"matched ([0-9a-f]{64}) ([0-9]{1,9}) ([0-9]{1,12})\n")  # the proof, how many names, their bytes
# Bytes of stamp (about 3,000 tenants' worth) past which the child shares the check with a grandchild, on two
# cores or more: the check then takes longer than the build takes to need it, and the build waits.
SHARED_MIN = 4 << 20
# The same for a check the process waits for with nothing else to do (the command line's check that nothing
# changed, policygen/lastbuild.py; check_now): about 270 tenants' worth. A build that changed nothing took 0.15 s with its
# check alone and 0.12 s shared at 1,000 tenants (a stamp of 1.9 MB), 1.10 and 0.63 s at 10,000; the same at 100.
SHARED_MIN_WAITED = 512 << 10


@dataclass(frozen=True)
class Checked:
    """The result of the output's stamp check: the stamp found matching, or None; and the time (ns) taken
    before the check began, from which (less the racy margin) a folder's stat is not sent to be remembered."""

    since: int
    matched: Matched | None


def check_now(out: Path, spare: Path) -> Checked:
    """The check, run in this process, which waits for it: shared with a child of its own past SHARED_MIN_WAITED
    (check_for), as the command line's check that nothing changed is."""
    since = time.time_ns()
    return Checked(since, untouched(out, spare, since, check_for(stamp_file(spare), waited=True)))


def checked_message(out: Path, spare: Path, since: int) -> bytes:
    """The check of *out* (whose spare is *spare*), counting from *since*, as the message a child sends
    (`matched_in` reads it back): run in the child policygen/prebuild.py starts beside the build."""
    return _encoded(untouched(out, spare, since, check_for(stamp_file(spare))))


def looks(out: Path, spare: Path) -> tuple[tuple[int, ...], ...] | None:
    """The stat of the output folder and of its stamp file: another build's swap, or an entry added, removed
    or renamed at the top of the output, changes the first; a stamp written again changes the second. A
    check's result is taken only when they are as they were before the check began."""
    try:
        return tuple(
            (s.st_mode, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
            for s in (os.lstat(out), os.lstat(stamp_file(spare)))
        )
    except OSError:
        return None


def check_for(file: Path, waited: bool = False) -> StampCheck:
    """How a process checks the stamp *file*: shared with a child of its own (_shared_check) when it is large and
    a second core can run them both, else alone. Large: SHARED_MIN for the child the command line starts, which
    checks while the build imports the engine; SHARED_MIN_WAITED for a check the process *waited* for (the
    command line's own check that nothing changed, policygen/lastbuild.py; check_now)."""
    try:
        large = os.stat(file).st_size >= (SHARED_MIN_WAITED if waited else SHARED_MIN)
    except OSError:
        large = False  # no stamp: the check says so at once
    return _shared_check if large and len(os.sched_getaffinity(0)) >= 2 else Stamp.check


def _shared_check(out: Path, file: Path, since: int | None) -> Matched | None:
    """Stamp.check with its work shared: a child forked here (the build's grandchild, where the look-ahead runs the
    check) checks every other group of the stamp while this process checks the rest; the two results joined
    (Matched.joined) are the whole check's. The child holds the output's lock with this process (the same open
    lock file) and dies with it; whatever goes wrong in it (an error, a crash, a message it did not write) means
    "not untouched"."""
    child = Child.start(lambda: _encoded(Stamp.check(out, file, since, Share(1, 2))), True)
    if child is None:
        return Stamp.check(out, file, since)
    try:
        mine = Stamp.check(out, file, since, Share(0, 2))
        data = child.message() if mine is not None else None  # else no need to wait for it: ended below
    finally:
        child.end()
    return None if mine is None else mine.joined(matched_in(data) if data is not None else None)


def _encoded(matched: Matched | None) -> bytes:
    """The message: "none", or the proof, then the names (sorted), then each one's folders hash (TopHashes.digests)."""
    if matched is None:
        return _HEADER + b"none\n"
    ordered = matched.names
    names = b"\0".join(name.encode("utf-8", "surrogateescape") for name in ordered)
    return (
        _HEADER
        + b"matched %s %d %d\n" % (matched.proof.encode(), len(ordered), len(names))
        + names
        + matched.folders.digests
    )


def matched_in(data: bytes) -> Matched | None:
    """The result *data* says; None for "none" and for anything that is not exactly a result `_encoded` makes."""
    if not data.startswith(_HEADER):
        return None
    start = data.find(b"\n", len(_HEADER)) + 1  # the names' (sliced from *data*: no copy of all that follows)
    found = _MATCHED.fullmatch(data[len(_HEADER) : start]) if start else None
    if found is None:
        return None
    count, size = int(found.group(2)), int(found.group(3))
    listed, digests = data[start : start + size], data[start + size :]
    names = listed.split(b"\0") if listed else []
    if len(listed) != size or len(names) != count or any(not n or b"/" in n for n in names):
        return None
    if len(digests) != DIGEST_SIZE * count:
        return None
    # Interned: held through the build, they are then the very objects of its list of tenants (tenantfolders.tenant_slugs).
    decoded = [sys.intern(name.decode("utf-8", "surrogateescape")) for name in names]
    if any(a >= b for a, b in itertools.pairwise(decoded)):
        return None  # not sorted, or a name twice: looked up by bisection
    return Matched(found.group(1).decode(), TopHashes(decoded, digests))
