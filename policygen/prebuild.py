"""What a build looks at before it reads an input, looked at in a second process while this one imports the engine.

A rebuild after a small edit spends most of its time on one core: importing the engine and loading the project.
What the build looks at first needs neither: the stat of every input (lastbuild.Inputs, the record the next
build compares), each tenant's folder, listed and hashed through the stat cache (tenantfolders), and the
output's stamp (stampcheck). So `policygen build` forks a child to look at them as soon as it knows a build will
run (`beside`), and the build takes what the child found (`taken`) where it would look itself.

- The inputs' stat must be taken before the build reads any input: a file changed between the build's read and
  the stat would be recorded as built. The child takes it first and says so through a pipe of its own; the
  build waits for that word before it reads (`ahead`: a wait only when the child is slower than the engine's
  import). A child that ends without the word leaves the build to take the stat itself, still before reading.
- The inputs' stat and the tenants' folders are looked at for a whole-site build only (the others record
  nothing, and hash only the tenants they build), and only while the output is small enough (`AHEAD_MOST`)
  that the child's whole look ends before the build needs it: past that, the stamp check alone keeps the
  second core busy (shared with a grandchild past stampcheck.SHARED_MIN), and the build looks at the
  inputs and hashes the folders itself, as it would with no child. The hashes are sent only when every
  folder hashed without a problem: the build hashes them itself otherwise, so that each problem is
  reported where it is found.
- Whatever goes wrong in the child (an error, a crash, a kill, a message that is not one it writes), and a child
  started for another project, date, option or output, mean the build looks itself: time, never correctness.
  Where fork is not safe (not Linux, threads running) nothing is started, and the build looks as before.
- The child is always waited for, and dies with this process: no zombie, no stray process. It holds the output's
  lock while it checks the stamp (outfolder.one_writer), so the build takes what it found before it takes that
  lock itself (SiteWriter), never while holding it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import marshal
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .dates import utc_today
from .forked import Child, fork_is_safe
from .lastbuild import Inputs, PathList
from .outfolder import spare_folder
from .stampcheck import Checked, check_now, checked_message, looks, matched_in
from .statcache import DIGEST_SIZE
from .tenantfolders import FolderHashes, hash_folders, tenant_slugs

_VERSION = "policygen prebuild 2"  # the first item of every message the child sends
_SEEN = b"s"  # the child's word that it took the inputs' stat
# Bytes of the output's stamp (about 1,600 tenants' worth) up to which the child also looks at the inputs and the
# tenants' folders: about 0.05 ms a tenant, with the stamp's 0.13 ms, beside the engine's import and the project's
# loading (0.25 s, and a few hundredths of a millisecond a tenant); past it the build would wait for the child.
AHEAD_MOST = 3 << 20


@dataclass(frozen=True)
class Build:
    """The build the child looks ahead for: its project (resolved), date and option, its output and the
    output's spare (both resolved); *whole*: a whole-site build, whose inputs and tenants may be looked at too."""

    root: Path
    today: dt.date
    drafts: bool
    out: Path
    spare: Path
    whole: bool

    @classmethod
    def of(cls, root: Path, out: Path | None, today: dt.date | None, drafts: bool, whole: bool) -> Build:
        """The build `policygen build` runs of the project at *root*: into *out* (else root/build), on *today*
        (else the UTC date, as the build takes it: a build that begins on the next day ends the child unused)."""
        target = (out if out is not None else root / "build").resolve()
        return cls(root.resolve(), today or utc_today(), drafts, target, spare_folder(root, target), whole)


@dataclass(frozen=True)
class Tenants:
    """Every tenant of a whole-site build, in slug order (tenantfolders.tenant_slugs), and its folder hashed."""

    slugs: list[str]
    hashes: FolderHashes


@dataclass(frozen=True)
class Looked:
    """What the child found, for the build to take; None where it did not look, or what it sent is not usable."""

    inputs: Inputs | None  # the inputs' stat, taken before the build read any input: the next build compares it
    tenants: Tenants | None
    checked: Checked  # the output's stamp check


@dataclass(frozen=True)
class Ahead:
    """The child looking ahead for a build, as the build finds it when it is about to read its first input;
    *inputs*: the child has taken the inputs' stat (and hashes the tenants' folders), so the build does not."""

    started: _Started
    inputs: bool


_started: _Started | None = None  # the child `beside` started, until the build takes it


@contextlib.contextmanager
def beside(build: Build) -> Iterator[None]:
    """Start the child looking ahead for *build*, for the block, for the build in it to take (`ahead`, then
    `taken`); when the block ends, however, a child still there is ended and waited for."""
    global _started
    started = _Started.start(build)
    _started = started
    try:
        yield
    finally:
        _started = None
        if started is not None:
            started.end()


def ahead(root: Path, today: dt.date, drafts: bool) -> Ahead | None:
    """The child started for a build of the project at *root* (resolved) on *today*, with or without *drafts*;
    None when there is none (then the build looks itself). Called before the build reads an input: when the
    child looks at the inputs, it waits for its word that their stat is taken. A child started for another
    build is ended unused."""
    global _started
    started, _started = _started, None
    if started is None:
        return None
    build = started.build
    if (build.root, build.today, build.drafts) != (root, today, drafts):
        started.end()
        return None
    return Ahead(started, started.inputs_seen())


def taken(looking: Ahead | None, out: Path, spare: Path) -> Looked:
    """What the child *looking* ahead found for the output *out* with its *spare*, once it has ended; each part
    it did not find, None (and the stamp check is run now)."""
    if looking is None or (looking.started.build.out, looking.started.build.spare) != (out, spare):
        if looking is not None:
            looking.started.end()
        return Looked(None, None, check_now(out, spare))
    return looking.started.looked()


class _Started:
    """The forked child (forked.Child) looking ahead for *build*, and the read end of the pipe it gives its word
    through (*seen*: -1 when it does not look at the inputs, or once read); *since* and *output*: when its stamp
    check counts from, and the output as it was before the child began (stampcheck.looks)."""

    def __init__(
        self, build: Build, child: Child, seen: int, since: int, output: tuple[tuple[int, ...], ...] | None
    ) -> None:
        self.build = build
        self.child = child
        self.seen = seen
        self.since = since
        self.output = output

    @classmethod
    def start(cls, build: Build) -> _Started | None:
        """The child started; None where forking is not safe, or there is nothing to look at ahead (a build
        of part of the site into an output without a stamp: the check would say so at once)."""
        if not fork_is_safe():
            return None
        output = looks(build.out, build.spare)
        inputs = build.whole and (output is None or output[1][2] <= AHEAD_MOST)  # (the stamp file's size)
        if output is None and not inputs:
            return None
        since = time.time_ns()
        read, write = os.pipe() if inputs else (-1, -1)
        child = Child.start(lambda: _looked_at(build, write, since, output is not None), True)
        if write >= 0:
            os.close(write)  # the child's copy alone: a child that ends without its word ends the pipe
        if child is None:
            if read >= 0:
                os.close(read)
            return None
        return cls(build, child, read, since, output)

    def inputs_seen(self) -> bool:
        """Whether the child took the inputs' stat, once it says so or ends without saying it (False); False
        when it does not look at the inputs."""
        if self.seen < 0:
            return False
        try:
            return os.read(self.seen, 1) == _SEEN
        except OSError:
            return False
        finally:
            self._close_seen()

    def looked(self) -> Looked:
        """What the child sent, once it has ended (`_decoded`); the output's stamp not taken as matching when the
        output changed at its top meanwhile."""
        try:
            data = self.child.message()
        except OSError:
            data = None
        finally:
            self.end()
        inputs, tenants, stamp = _decoded(data, self.build) if data is not None else (None, None, None)
        del data  # a large site's message (10 MB at 100,000 tenants): not held while the stamp's part is read
        matched = matched_in(stamp) if stamp is not None else None
        if matched is not None and looks(self.build.out, self.build.spare) != self.output:
            matched = None  # the output or its stamp changed since the check began
        return Looked(inputs, tenants, Checked(self.since, matched))

    def end(self) -> None:
        """The child ended if it still runs, and waited for (forked.Child.end); the word's pipe closed."""
        self.child.end()
        self._close_seen()

    def _close_seen(self) -> None:
        if self.seen >= 0:
            os.close(self.seen)
            self.seen = -1


def _looked_at(build: Build, seen: int, since: int, stamped: bool) -> bytes:  # pragma: no cover - in the child
    """The child's work and message: given the pipe *seen* (else -1), the inputs' stat first, then its word through
    that pipe, then the tenants' folders hashed; then the output's stamp checked (stampcheck.checked_message), if
    *stamped*; marshalled."""
    inputs: Inputs | None = None
    slugs: list[str] | None = None
    hashes = b""
    if seen >= 0:
        inputs = Inputs.seen(build.root, build.today, build.drafts)
        os.write(seen, _SEEN)
        os.close(seen)  # before any grandchild is forked: the build reads to the end of the pipe if no word came
        slugs = tenant_slugs(build.root)
        found = hash_folders(build.root, slugs, others=False)
        if found.problems:
            slugs = None  # the build hashes them itself, and reports each problem
        else:
            hashes = found.packed
    stamp = checked_message(build.out, build.spare, since) if stamped else None
    sent = None if inputs is None else _inputs_items(inputs)
    return marshal.dumps((_VERSION, _key(build), sent, slugs, hashes, stamp))


def _key(build: Build) -> tuple[str, int, bool, str, str]:
    """What names the build in a message: a child's message for another one is not taken."""
    return (str(build.root), build.today.toordinal(), build.drafts, str(build.out), str(build.spare))


def _inputs_items(inputs: Inputs) -> tuple[str, int, int, bytes, int, bytes, int, str]:
    project, code = inputs.listed
    return (
        inputs.digest,
        inputs.newest,
        inputs.taken,
        project.data,
        project.count,
        code.data,
        code.count,
        inputs.folders,
    )


def _decoded(data: bytes, build: Build) -> tuple[Inputs | None, Tenants | None, bytes | None]:
    """The inputs' stat, the tenants hashed and the stamp check's message, each None where the message does not
    hold it; all None for a message that is not exactly one `_looked_at` makes for *build*."""
    try:
        version, key, sent, slugs, hashes, stamp = marshal.loads(data)
    except (ValueError, TypeError, EOFError):
        return None, None, None
    if version != _VERSION or key != _key(build) or not (stamp is None or isinstance(stamp, bytes)):
        return None, None, None
    return _inputs_from(sent), _tenants_from(slugs, hashes), stamp


def _inputs_from(sent: object) -> Inputs | None:
    if not isinstance(sent, tuple) or len(sent) != 8:
        return None
    digest, newest, taken_at, project, projects, code, codes, folders = sent
    if not (isinstance(digest, str) and isinstance(folders, str) and isinstance(project, bytes)):
        return None
    if not (isinstance(code, bytes) and all(isinstance(n, int) for n in (newest, taken_at, projects, codes))):
        return None
    return Inputs(digest, newest, taken_at, (PathList(project, projects), PathList(code, codes)), folders)


def _tenants_from(slugs: object, hashes: object) -> Tenants | None:
    if not isinstance(slugs, list) or not isinstance(hashes, bytes) or len(hashes) != DIGEST_SIZE * len(slugs):
        return None
    if not all(isinstance(slug, str) for slug in slugs):
        return None
    # Interned: the build's list of tenants, held to its end, is then the same strings every name of it refers to.
    return Tenants(list(map(sys.intern, slugs)), FolderHashes(hashes))
