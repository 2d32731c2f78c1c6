"""A project's tenant folders: which there are, their names, and a hash of each one's files.

A build lists and hashes every tenant's folder before it reads a tenant: the hash, with the stat cache's help
(statcache.FolderDigests), tells which tenants changed. That work is file-system work only, so it sits
below the facts and the templates: a one-tenant rebuild does it in a second process while the first imports
the engine (policygen/prebuild.py). Loading a tenant's facts is project.py's.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from .editorfiles import is_editor_file
from .errors import InputError, Problem, UsageError, did_you_mean
from .inputs import hashed_content, read_bytes
from .outfolder import cache_file
from .paths import RESERVED_SLUGS, SLUG, SortedNames
from .statcache import DIGEST_SIZE, FolderDigests

DIGESTS = "digests"  # in the project's cache: tenant folder hashes by stat, by path (policygen/statcache.py)


def tenant_slugs(root: Path) -> list[str]:
    """The project's tenants: the names of the folders in tenants/ that hold a tenant.yaml, sorted."""
    tenants = root / "tenants"
    if not tenants.is_dir():
        return []
    # Any tenant.yaml counts, not only regular files: a pipe or a link to a device is refused when read, not skipped.
    # Plain strings and scandir (whose entries know their type): a build lists a hundred thousand folders here.
    # Interned: what a build holds of each tenant by name (the output's stamp, the record of its spare) is
    # then these very strings, not copies read from files.
    with os.scandir(tenants) as entries:
        return sorted(
            sys.intern(e.name)
            for e in entries
            if not e.name.startswith(".") and e.is_dir() and os.path.lexists(os.path.join(e.path, "tenant.yaml"))
        )


def check_slug(root: Path, slug: str) -> Path:
    """The tenant's folder, refusing slugs that are malformed or lead out of tenants/."""
    if not SLUG.fullmatch(slug):
        raise UsageError(f"'{slug}' is not a tenant slug: use lower-case letters, digits and '-'")
    folder = root / "tenants" / slug
    if folder.is_symlink() or not folder.resolve().is_relative_to((root / "tenants").resolve()):
        raise UsageError(f"tenant '{slug}' points outside tenants/; symlinked tenant folders are not followed")
    return folder


def reserved_slug(slug: str) -> str | None:
    """Why *slug* cannot name a tenant (the output folder uses that name), or None when it can."""
    if slug not in RESERVED_SLUGS:
        return None
    return f"'{slug}' cannot be a tenant slug: the site's {RESERVED_SLUGS[slug]} go to {slug}/ in the output"


def tenant_folder(root: Path, slug: str) -> Path:
    """A tenant folder found in tenants/, as bad input (exit 1) when its name or its links are wrong."""
    return no_links_out(named_tenant_folder(root, slug))


def named_tenant_folder(root: Path, slug: str) -> Path:
    """A tenant folder found in tenants/, as bad input when its name is wrong (its links not looked at)."""
    folder = root / "tenants" / slug
    if not SLUG.fullmatch(slug):
        fixed = re.sub(r"[^a-z0-9]+", "-", slug.lower()).strip("-")
        raise InputError(
            [
                Problem(
                    f"folder name '{slug}' is not a tenant slug",
                    file=folder,
                    expected="lower-case letters, digits and '-', starting with a letter or digit",
                    suggestion=f"rename the folder to '{fixed}'" if fixed and SLUG.fullmatch(fixed) else None,
                )
            ]
        )
    reserved = reserved_slug(slug)
    if reserved is not None:
        raise InputError(
            [
                Problem(
                    reserved,
                    file=folder,
                    expected="a slug other than " + ", ".join(sorted(RESERVED_SLUGS)),
                    suggestion=f"rename the folder, e.g. to {slug}-org",
                )
            ]
        )
    return folder


def no_links_out(folder: Path) -> Path:
    """The tenant folder *folder* (named_tenant_folder), as bad input when it or its facts link out of it."""
    # The slug is one plain name (SLUG): a folder that is no link is inside tenants/, wherever that is (a
    # build looks up every tenant here, so no path is resolved).
    if folder.is_symlink():
        raise InputError(
            [
                Problem(
                    "tenant folder is a symbolic link; policygen reads only files inside the project",
                    file=folder,
                    expected="a real folder in tenants/",
                    suggestion="copy the tenant's files into the project instead of linking them",
                )
            ]
        )
    facts = folder / "tenant.yaml"
    if facts.is_symlink() and not facts.resolve().is_relative_to(folder.resolve()):
        raise InputError(
            [
                Problem(
                    "tenant.yaml is a symbolic link out of the tenant folder; policygen reads only files inside the project",
                    file=facts,
                    expected="a real file",
                    suggestion="copy the file into the tenant folder",
                )
            ]
        )
    return folder


def select_tenants(root: Path, only: list[str] | None) -> list[str]:
    """The slugs to build: all tenants, or those asked for (which must exist)."""
    known = tenant_slugs(root)
    if not only:
        return known
    for slug in only:
        check_slug(root, slug)
    present = SortedNames(known)
    missing = [slug for slug in dict.fromkeys(only) if slug not in present]
    if missing:
        raise UsageError("; ".join(_no_tenant(slug, known) for slug in missing))
    return sorted(set(only))


KNOWN_NAMED = 10  # tenants named in an error about one that is not there; past that, counted (a site has thousands)


def _no_tenant(slug: str, known: list[str]) -> str:
    hint = did_you_mean(slug, known)
    if hint:
        return f"no tenant '{slug}' in tenants/; {hint}"
    if len(known) <= KNOWN_NAMED:
        return f"no tenant '{slug}' in tenants/ (known: {', '.join(known) or 'none'})"
    return f"no tenant '{slug}' in tenants/, which holds {len(known):,} tenants (a folder each)"


def checked_tenant_digest(folder: Path) -> str:
    """tenant_digest of a named tenant folder, once no_links_out finds it plain (else its InputError): what a
    build hashes when the stat cache cannot vouch for the folder, which it does only for one holding no link."""
    return tenant_digest(no_links_out(folder))


def tenant_digest(folder: Path) -> str:
    """Hash of everything in a tenant's folder: facts, own clauses, releases, logo.

    InputError for a file policygen will not read (a pipe, a device, a dangling link, over the size
    limit); a link out of the folder is hashed by where it points, never read: loading reports it.
    """
    h = hashlib.sha256()
    for relative, path, link in _files(str(folder), ""):
        h.update(relative.encode() + b"\0")
        h.update((hashed_content(folder, Path(path)) if link else _content(path)) + b"\0")
    return h.hexdigest()


def _files(folder: str, prefix: str) -> Iterator[tuple[str, str, bool]]:
    """The files under *folder* as os.walk finds them, in the order tenant_digest hashes them (a folder's files by
    name, then its folders by name, each walked; a link to a folder is not walked, nor a folder that cannot be
    listed), editors' scratch files left out: each as (its path below the tenant's folder, its path, whether it is
    a link). Found by scandir, whose entries know whether they are links, so a file that is none is known to be
    inside the tenant's folder without resolving its path (the tenant's folder is a plain one: no_links_out)."""
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return
    files: list[os.DirEntry[str]] = []
    folders: list[os.DirEntry[str]] = []
    for entry in entries:
        (folders if _is_dir(entry) else files).append(entry)
    for entry in sorted(files, key=_name):
        if not is_editor_file(entry.name):  # an editor's scratch file is not input
            yield prefix + entry.name, entry.path, _is_link(entry)
    for entry in sorted(folders, key=_name):
        if not _is_link(entry):
            yield from _files(entry.path, prefix + entry.name + "/")


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # through a link, as os.walk sorts them
    except OSError:
        return False


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True  # looked at again, the long way


def _content(path: str) -> bytes:
    """What a content hash takes for a file that is no link: its bytes, or b"" when it is gone (as hashed_content)."""
    try:
        return read_bytes(Path(path))
    except InputError:
        if os.path.lexists(path):
            raise
        return b""


class FolderHashes:
    """Each tenant folder's hash, in the build's slug order, or the problems that kept it from being hashed:
    32 bytes a tenant, not a text each (a hundred thousand tenants' are held while the output's stamp is
    checked)."""

    def __init__(self, packed: bytes = b"") -> None:
        self._hashes = bytearray(packed)
        self.problems: dict[str, list[Problem]] = {}

    @classmethod
    def of(cls, root: Path, slugs: Iterable[str], digests: FolderDigests) -> FolderHashes:
        """The folders of the tenants *slugs* hashed, through the stat cache *digests* (a folder whose stat is
        the one recorded is not read)."""
        hashes = cls()
        for slug in slugs:
            try:
                folder = named_tenant_folder(root, slug)  # bad names are input problems
                # So are links out, looked for only when the stat cache does not vouch for the folder (it finds
                # no link), and pipes, devices, dangling links in it.
                digest = bytes.fromhex(digests.digest(folder, checked_tenant_digest))  # sha256: the file holds no other
            except InputError as exc:
                hashes.problems[slug] = exc.problems
                digest = bytes(DIGEST_SIZE)
            hashes._hashes += digest
        return hashes

    @property
    def packed(self) -> bytes:
        """Every hash, in order, as one string of bytes (what a process sends another: FolderHashes(packed))."""
        return bytes(self._hashes)

    def digest(self, index: int) -> str:
        """The hash of the folder of the *index*-th tenant (in the order hashed)."""
        return self._hashes[index * DIGEST_SIZE : (index + 1) * DIGEST_SIZE].hex()


def hash_folders(root: Path, slugs: Iterable[str], others: bool) -> FolderHashes:
    """The folders of the tenants *slugs* of the project at *root* hashed through its stat cache, which is saved
    (unless hashing a folder raised: then it is left as it was). *others*: the cache keeps the lines of folders
    not among *slugs* (a build of some tenants); a whole site's drops them (tenants deleted)."""
    digests = FolderDigests(cache_file(root, DIGESTS), lambda: cache_file(root, DIGESTS, make=True), others=others)
    with digests:
        return FolderHashes.of(root, slugs, digests)
