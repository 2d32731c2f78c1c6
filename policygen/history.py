"""Released history is append-only: a version once published stays published, word for word.

The chain of hashes inside the snapshots (versions.load_releases) catches an old version edited
by hand. It cannot catch the newest version edited with a fresh hash, the chain rewritten from
some version on, or the newest version deleted: the files left agree with each other. Those are
caught by comparing the releases on disk with two records made before them:

- the previous build's manifest, which lists every version it published (number, effective
  date and hash) per tenant and document: a version it lists must still be there, unchanged;
- git's HEAD, where the project is in a git repository: every snapshot file committed there
  must be on disk with the same content.

A document's history can be withdrawn only on purpose and visibly: by removing the document
from the tenant's `documents` (and its releases folder), or the whole tenant. Only the
documents a tenant lists are compared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .errors import Problem
from .repository import git

_RELEASE_PATH = re.compile(r"tenants/([^/]+)/releases/([^/]+)/([^/]+)")


class RecordedVersion(BaseModel):
    """One published version as a build's manifest records it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    effective: dt.date
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")

    def file_name(self) -> str:
        return f"{self.version:04d}-{self.effective.isoformat()}.json"


# The `releases` of a tenant's entry in manifest.json: document id -> its published versions.
TenantRecord = dict[str, tuple[RecordedVersion, ...]]
_TENANT_RECORD: TypeAdapter[TenantRecord] = TypeAdapter(TenantRecord)


def read_tenant_record(value: Any) -> TenantRecord:
    """A tenant's record from a manifest; raises ValueError when it is not one policygen wrote."""
    try:
        return _TENANT_RECORD.validate_python(value)
    except ValidationError as exc:
        raise ValueError(str(exc.errors(include_url=False)[0]["msg"])) from None


def record_json(record: TenantRecord) -> dict[str, list[dict[str, Any]]]:
    return {doc: [v.model_dump(mode="json") for v in versions] for doc, versions in sorted(record.items())}


def _restore_hint(file: Path, root: Path) -> str:
    where = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.as_posix()
    return (
        f"released versions are never edited or removed: restore it (git checkout -- {where}); "
        "to change the policy, edit the facts or clauses and release a new version"
    )


def compare_with_build(
    folder: Path, now: Iterable[RecordedVersion], before: Iterable[RecordedVersion], manifest: Path, root: Path
) -> list[Problem]:
    """Every version the previous build published (*before*) must still be in *folder*, unchanged."""
    present = {v.version: v for v in now}
    problems: list[Problem] = []
    for old in before:
        new = present.get(old.version)
        file = folder / (new or old).file_name()
        hint = (
            _restore_hint(folder / old.file_name(), root)
            + (
                f"; if you switched to a branch or commit older than this version, build into another folder "
                f"(--out) or delete {manifest.parent.name}/"
            )
            if new is None
            else _restore_hint(file, root)
        )
        if new is None:
            problems.append(
                Problem(
                    f"version {old.version} (effective {old.effective}) was published by the previous build and is "
                    f"gone",
                    file=file,
                    expected=f"every version listed in {manifest.parent.name}/manifest.json: history is append-only",
                    suggestion=hint,
                )
            )
        elif new != old:
            changed = [f"effective date {old.effective} -> {new.effective}"] if new.effective != old.effective else []
            changed.append(f"hash {old.hash[:12]}... -> {new.hash[:12]}...")
            problems.append(
                Problem(
                    f"version {old.version} is not the version the previous build published ({', '.join(changed)})",
                    file=file,
                    key_path="hash",
                    expected="released versions stay as they were published",
                    suggestion=hint,
                )
            )
    return problems


# --- git ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Committed:
    """The snapshot files in git's HEAD: path relative to the project folder -> blob id."""

    root: Path
    blobs: dict[str, str]

    @cached_property
    def _by_document(self) -> dict[tuple[str, str], dict[str, str]]:
        # Grouped once: a build asks for every document of every tenant, and scanning all blobs for
        # each would grow with documents times snapshots.
        grouped: dict[tuple[str, str], dict[str, str]] = {}
        for path, blob in self.blobs.items():
            found = _RELEASE_PATH.fullmatch(path)
            if found:
                grouped.setdefault((found[1], found[2]), {})[path] = blob
        return grouped

    def of_document(self, slug: str, document: str) -> dict[str, str]:
        return dict(self._by_document.get((slug, document), {}))


def committed_releases(root: Path) -> Committed | None:
    """The released snapshots committed in HEAD, or None when the project is not in a git repository
    (or it has no commit yet, or git is not installed)."""
    listing = git(root, "ls-tree", "-r", "-z", "HEAD", "--", "tenants")
    if listing is None:
        return None
    blobs: dict[str, str] = {}
    for line in listing.split(b"\0"):
        head, _, name = line.partition(b"\t")
        parts = head.split()
        path = name.decode("utf-8", "surrogateescape")
        if len(parts) == 3 and parts[1] == b"blob" and _RELEASE_PATH.fullmatch(path):
            blobs[path] = parts[2].decode("ascii")
    return Committed(root, blobs)


def blob_id(data: bytes, like: str) -> str:
    """git's id of a file's content, in the object format of *like* (SHA-1, or SHA-256 repositories)."""
    algorithm = hashlib.sha256 if len(like) == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data).hexdigest()


def compare_with_commit(committed: Committed, slug: str, documents: Iterable[str]) -> list[Problem]:
    """Every snapshot committed in HEAD for these documents must be on disk with the same content."""
    problems: list[Problem] = []
    for document in documents:
        folder = committed.root / "tenants" / slug / "releases" / document
        if folder.parent.is_symlink() or folder.is_symlink():
            continue  # never read through a link; the releases folder checks report it
        for path, blob in sorted(committed.of_document(slug, document).items()):
            file = committed.root / path
            try:
                if not stat.S_ISREG(file.lstat().st_mode):
                    continue  # a link or a folder: reported by the releases folder checks
                data = file.read_bytes()
            except OSError:
                problems.append(
                    Problem(
                        "this released version is committed in git (HEAD) but missing from the working tree",
                        file=file,
                        expected="released versions are never removed: history is append-only",
                        suggestion=_restore_hint(file, committed.root),
                    )
                )
                continue
            if blob_id(data, blob) != blob:
                what = _what_changed(committed.root, blob, data)
                if what is not None:
                    problems.append(
                        Problem(
                            f"this released version differs from the one committed in git (HEAD): {what}",
                            file=file,
                            expected="released versions stay as they were committed",
                            suggestion=_restore_hint(file, committed.root),
                        )
                    )
    return problems


def _what_changed(root: Path, blob: str, data: bytes) -> str | None:
    """The top-level keys that differ between the committed snapshot and the file; None if they read the same
    (a checkout that only changed line endings)."""
    before = git(root, "cat-file", "blob", blob)
    try:
        old, new = json.loads(before or b"null"), json.loads(data)
    except (ValueError, RecursionError):
        return "its content changed"
    if old == new:
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        return "changed: " + ", ".join(str(k) for k in keys[:8]) + (" ..." if len(keys) > 8 else "")
    return "its content changed"
