"""Files editors and operating systems leave beside the files being edited.

Lock files (Emacs `.#name`, a dangling symbolic link while a buffer is modified), swap files (Vim
`.name.swp`, `.swx`, `.swo`, the `4913` probe), backups (`name~`, `#name#`, `name.bak`,
`name.orig`), half-written temporary files (`*.tmp`, `*.part`) and Finder's `.DS_Store`
are never project input: the build does not read them and `serve` does not rebuild for them.
"""

from __future__ import annotations

SCRATCH_SUFFIXES = ("~", ".swp", ".swx", ".swo", ".tmp", ".part", ".bak", ".orig", ".kate-swp")
SCRATCH_NAMES = frozenset({"4913", ".DS_Store", "Thumbs.db"})


def is_editor_file(name: str) -> bool:
    """Whether a file name (not a path) is an editor's lock, swap, backup or temporary file."""
    return (
        name in SCRATCH_NAMES
        or name.startswith(".#")
        or (name.startswith("#") and name.endswith("#"))
        or name.endswith(SCRATCH_SUFFIXES)
    )
