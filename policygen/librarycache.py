"""The clause library kept between builds, signed, so that a fresh process need not read it again.

Reading the library (every clause's front matter parsed, every partial and translation hashed: a few hundred
files) is about 40 ms of a one-tenant rebuild, and `policygen build` starts in a fresh process each time. So
the library a build read is kept in the project's `.cache/policygen/library`, with the stat of everything in
its folders (statcache.tree_stat: path, type, inode, size, modification and change time); a build that finds
every file of those folders with the same stat takes the library from there. The file is kept only when no
entry changed in the two seconds before the library was read (the racy-git rule), and never for folders
holding a link (its target may change without the link changing).

The file is local state that anything may have written, and unpickling it could run code. Like the compiled
templates (codecache.py), it carries an HMAC-SHA256 under the user's own key (signing.py), over its bytes,
the folders' stat and what made it (policygen's code and Python's version): one that does not verify is
never unpickled. Without a usable key, with POLICYGEN_NO_CODE_CACHE set (nothing that loads code is kept),
or on any doubt, the library is read from its files, as before; deleting the cache never changes what a
build writes.
"""

from __future__ import annotations

import hmac
import os
import pickle
import sys
import time
from pathlib import Path

from .clauses import Library, load_library
from .codecache import OFF, read_regular
from .outfolder import cache_file
from .packaged import code_digest, library_folders
from .signing import sign, signing_key
from .statcache import RACY_SECONDS, tree_stat, write_atomically

FILE = "library"  # in .cache/policygen/
_PURPOSE = b"policygen clause library"  # what the user's key signs here (policygen/signing.py)
_HEADER = b"policygen clause library 1\n"
_MOST = 64 << 20  # bytes: a larger file is not one policygen wrote (a library is tens of kB)


def cached_library(content: Path) -> Library:
    """The library of the project whose content/ is *content* (clauses.load_library): from the cache when
    its folders are as they were when it was kept, else read from its files (and kept for the next build)."""
    key = None if os.environ.get(OFF) else signing_key()
    file = cache_file(content.parent, FILE, make=True) if key is not None else None
    seen = _seen(content) if file is not None else None  # before reading: a change meanwhile gives another
    if key is None or file is None or seen is None:
        return load_library(content)
    made, settled = seen
    kept = _load(file, key, made)
    if kept is not None:
        return kept
    library = load_library(content)  # its problems raised as they are: nothing kept
    if settled:
        _keep(file, key, made, library)
    return library


def _seen(content: Path) -> tuple[bytes, bool] | None:
    """What the library is kept under: policygen's code, Python's version, each library folder's path and
    the stat of everything in it; and whether nothing changed lately. None at a link or an unreadable folder."""
    parts = [code_digest().encode(), sys.version.encode()]
    newest = 0
    for folder in library_folders(content):
        stat = tree_stat(str(folder), skip_editor_files=True)  # an editor's lock is no input (nor a link read)
        if stat is None:
            return None
        parts += [str(folder).encode("utf-8", "surrogateescape"), stat[0].encode()]
        newest = max(newest, stat[1])
    return b"\0".join(parts), newest < time.time_ns() - RACY_SECONDS * 1_000_000_000


def _signature(key: bytes, made: bytes, body: bytes) -> bytes:
    return sign(key, _PURPOSE, made + b"\0" + body).hex().encode()


def _load(file: Path, key: bytes, made: bytes) -> Library | None:
    """The library kept in *file* under *made*, if the file is one this user's policygen signed for it."""
    try:
        data = read_regular(file, _MOST)
    except OSError:
        return None
    head, _, rest = data.partition(b"\n")
    signature, _, body = rest.partition(b"\n")
    if head + b"\n" != _HEADER or len(data) > _MOST:
        return None
    if not hmac.compare_digest(signature, _signature(key, made, body)):
        return None  # another version, other folders' stat, or not written by this user's policygen: not read
    library = pickle.loads(body)  # signed by this user's key for these very folders: what _keep wrote
    return library if isinstance(library, Library) else None


def _keep(file: Path, key: bytes, made: bytes, library: Library) -> None:
    body = pickle.dumps(library, protocol=pickle.HIGHEST_PROTOCOL)
    write_atomically(file, _HEADER + _signature(key, made, body) + b"\n" + body)
