"""An output folder's surroundings: the lock a build of it holds, the leftovers of a swap a crash
interrupted, and what the project's cache keeps for it (the spare, the stamp, the last build's record).

Apart from policygen/output.py, which writes the output, so that a build that finds nothing changed
(policygen/lastbuild.py) checks the output's stamp under its lock without loading the writer.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from .filebytes import write_new, write_new_lines
from .statcache import Ahead, Kept, Matched, SeenFolders, Stamp

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def staging_folder(out: Path) -> Path:
    return out.parent / f".{out.name}.policygen-new"


def previous_folder(out: Path) -> Path:
    return out.parent / f".{out.name}.policygen-old"


def trash_folder(out: Path) -> Path:
    # A unique name: a previous output still being removed (serve removes them in the background)
    # must not be in the way of the next build.
    return out.parent / f".{out.name}.policygen-trash-{os.getpid()}-{time.monotonic_ns()}"


def recover(out: Path) -> None:
    """Finish or undo a swap that a crash interrupted, and drop stale staging and trash folders."""
    old, new = previous_folder(out), staging_folder(out)
    if not out.exists() and old.exists():
        old.rename(out)
    prefix = f".{out.name}.policygen-trash-"
    trash = [out.parent / name for name in os.listdir(out.parent) if name.startswith(prefix)]
    leftovers = [folder for folder in (old, new) if folder.exists()]
    if not trash and not leftovers:
        return
    import shutil  # here: a build that finds nothing changed and nothing left over does without it

    for folder in leftovers:
        shutil.rmtree(folder)
    for folder in trash:
        shutil.rmtree(folder, ignore_errors=True)  # another process may be removing it too


StampCheck = Callable[[Path, Path, int | None], Matched | None]  # Stamp.check, or one sharing its work


def untouched(
    out: Path, spare: Path, remember_before: int | None = None, check: StampCheck = Stamp.check
) -> Matched | None:
    """Whether nothing in the output folder was written, added, removed or replaced since the build that
    put it in place (its stamp in the cache, policygen/statcache.py: Stamp), so a build that would write
    the very same files may leave it as it is: the stamp found matching (statcache.Matched, with its
    folders' stat seen, given *remember_before*: Stamp.check), or None whenever that cannot be told. The
    stamp is checked by *check*, holding the output's lock."""
    with one_writer(out):
        recover(out)  # a crash's leftovers go, as a writing build removes them
        file = stamp_file(spare)
        return check(out, file, remember_before) if unlinked_cache(file) else None


def stamp_file(spare: Path) -> Path:
    """Where the stamp of the output whose spare is *spare* is kept (Stamp.walk writes it)."""
    return spare.parent.parent / "stamps" / f"{spare.name}.stamp"


def unlinked_cache(file: Path) -> bool:
    """Whether the cache folder holding *file* is reached through no link: a cache reached through one is never
    used (one committed to the project must not lead a build outside it)."""
    try:
        return file.parent.resolve() == file.parent
    except OSError:
        return False


def cache_record(spare: Path, what: str, suffix: str = ".json") -> Path:
    """A record about the output whose spare is *spare*, kept beside its stamp (policygen/lastbuild.py)."""
    return spare.parent.parent / "stamps" / f"{spare.name}.{what}{suffix}"


def write_cache_record(file: Path, data: bytes) -> bool:
    """Write a record of the cache, unless its folder cannot be used (a link: see plain_folder); whether
    it was written (or holds *data* already)."""
    try:
        return plain_folder(file.parent) and _write_record(str(file.parent), file.name, data)
    except OSError:
        return False  # no record: the next build checks everything


def write_cache_lines(file: Path, lines: Iterable[str]) -> bool:
    """Write a record of the cache a line at a time (each ending in a newline), as write_cache_record writes one
    whole: a line per tenant is never held as one text."""
    try:
        return plain_folder(file.parent) and _write_record(str(file.parent), file.name, lines)
    except OSError:
        return False


class CacheRecords:
    """A folder of the cache that a build writes many records into (a tenant's part each, policygen/fragments.py):
    the folder is checked and made once (plain_folder), where write_cache_record checks it for every record (a
    path resolved component by component: about 0.2 ms of the build process's CPU a tenant, beside the
    workers)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._usable: bool | None = None  # None: not looked at yet

    def write(self, name: str, data: bytes) -> bool:
        """Write the record *name* (a file name) in the folder, as write_cache_record does."""
        if self._usable is None:
            try:
                self._usable = plain_folder(self.folder)
            except OSError:
                self._usable = False
        return self._usable and _write_record(str(self.folder), name, data)


def _write_record(folder: str, name: str, data: bytes | Iterable[str]) -> bool:
    """Put *data* (bytes, or lines of text) in the file *name* of *folder* (atomically, under a temporary name
    beside it), unless it holds those bytes already; whether it does now. A record that could not be written is
    removed: none is better than one the build did not mean."""
    path = os.path.join(folder, name)
    if isinstance(data, bytes) and _holds(path, data):
        return True
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, bytes):
            write_new(temporary, data, follow=False)
        else:
            write_new_lines(temporary, data, follow=False)
        os.replace(temporary, path)
        return True
    except OSError:
        for leftover in (temporary, path):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        return False


def _holds(file: str, data: bytes) -> bool:
    """Whether *file* is a regular file of exactly *data*. A build that renders every tenant of a project whose
    output was deleted (a CI run with the cache restored) makes each tenant's record again byte for byte; to
    write it anyway frees one inode and makes another, about 0.2 ms of the build process's CPU per tenant
    measured on ext4, where reading it back costs a few microseconds."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))  # a FIFO never waits
    except OSError:
        return False
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_size != len(data):
            return False
        return os.read(fd, len(data) + 1) == data
    except OSError:
        return False
    finally:
        os.close(fd)


def record_stamp(
    out: Path,
    names: Iterable[str],
    file: Path,
    whole: Mapping[str, SeenFolders] | None = None,
    proof: str | None = None,
    ahead: Ahead | None = None,
) -> None:
    """Stamp the output folder *out* (its top-level entries *names*) as it is now, after the swap. The folders
    *whole* (each with its folders as the build saw them) were kept as they were, holding the previous
    output's very files, which the previous stamp in *file* (found matching before the build: *proof*) lists:
    their files' part is taken from it, their folders' from what the build saw. Those walked *ahead* are as
    they were walked then. Every other entry of *names* is looked at whole."""
    try:
        if not plain_folder(file.parent):
            return
    except OSError:
        return  # no stamp: the next build compares the files themselves
    kept = Kept(file, proof, whole) if proof is not None and whole else None
    Stamp.walk(out, names, file, kept, shared=True, ahead=ahead)  # in two processes past a few hundred groups to walk


def cache_file(root: Path, name: str, make: bool = False) -> Path | None:
    """A file of the project's cache, .cache/policygen/NAME; None when the cache folder cannot be used
    (it, or a folder above it in the project, is a link or not a folder). With *make*, the folder is made."""
    folder = root.resolve() / ".cache" / "policygen"
    existing = next(f for f in (folder, *folder.parents) if os.path.lexists(f))
    try:
        if make:
            return folder / name if plain_folder(folder) else None
        return folder / name if existing.resolve() == existing and existing.is_dir() else None
    except OSError:
        return None


def spare_folder(root: Path, out: Path) -> Path:
    """Where the previous output of *out* waits for the next build: in the project's git-ignored
    .cache/policygen/, one per output folder."""
    name = hashlib.sha256(os.fsencode(out.resolve())).hexdigest()[:16]
    return root.resolve() / ".cache" / "policygen" / "spare" / name


@contextmanager
def one_writer(out: Path) -> Iterator[None]:
    # Two builds into one folder (CI and serve, two terminals) share the staging folder: the second
    # would delete the first's half-written files and the first could swap in a torn site. So each
    # waits for the other, on a lock of the folder that holds the output (no lock file is left).
    out.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - not a POSIX system
        yield
        return
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock, as does the end of a killed process


def plain_folder(folder: Path) -> bool:
    """Make *folder* (absolute, resolved) and its missing parents. False when the part that exists is
    not a folder or goes through a link: one committed to the project must not lead a build outside it."""
    existing, missing = folder, []
    while not os.path.lexists(existing):
        missing.append(existing)
        existing = existing.parent
    if existing.resolve() != existing or not existing.is_dir():
        return False
    for part in reversed(missing):
        part.mkdir()
    return True
