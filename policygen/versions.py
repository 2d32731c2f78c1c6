"""Released versions: frozen snapshots of a tenant's documents, committed in the repository.

A policy is a legal record, so what was published must stay readable exactly as it
was. `policygen release` renders a tenant's document from today's clauses and facts
and freezes the result in one JSON file:

    tenants/<slug>/releases/<document>/0001-2021-11-17.json   (version, effective date)

A snapshot holds everything needed to show that version forever without re-running
clauses: the facts as they were (the validated Tenant, with `dates` set to the
release's dates), each rendered clause (id, title, order, html, headings), the
version number, effective and release dates, the hash of the previous version, a
`changes` field (filled by a summariser, see below; null otherwise) and `hash`, the
sha256 of the canonical JSON of everything else. The file is canonical JSON (sorted
keys, indent 2, UTF-8, trailing newline) and written atomically; loading verifies
the hash and the chain, so a snapshot edited by hand fails the build naming the file.

API for the build and for other tools (diff, snippets):

    load_releases(tenant_folder, document) -> list[Snapshot]   verified, oldest first
    in_force(releases, today) -> Snapshot | None                the version in force on a date
    upcoming(releases, today) -> list[Snapshot]                 released, not yet in force
    release(root, slug, effective, document=..., released=..., summarise=...) -> list[Snapshot]
    Snapshot.facts -> Tenant, Snapshot.clauses, .version, .effective, .released, .hash,
    Snapshot.changes, Snapshot.path, Snapshot.texts() -> {clause id: html}

Summariser hook: `release(..., summarise=f)` calls `f(previous, candidate)` for each
document released (`previous` is None for a first version; `candidate.hash` is still
empty) and stores its JSON-serialisable result as `changes`. It may raise InputError
to refuse the release. The theme and feeds show `changes["summary"]` (a sentence)
and feeds tag entries with `changes["tier"]` when those keys are strings.

Translator hook: `release(..., translate=f)` calls `f(candidate)` for each document released and
stores the result, the version's title and clauses in each of the tenant's other languages, as
`translations` (release.translator renders them as those languages' pages do; `policygen release`
passes it). A snapshot without other languages has no `translations` key, so the snapshots released
before it existed keep their content and hash; `Snapshot.translation(locale)` is None for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .clauses import Clause
from .dates import utc_today
from .errors import Collector, InputError, Problem
from .facts import Dates, Tenant
from .history import RecordedVersion, committed_releases, compare_with_commit
from .inputs import read_bytes
from .markdown import sanitize
from .output import project_lock
from .render import ClauseRenderer, RenderedDocument, render_document

FORMAT = 1
RELEASES = "releases"
# The names `release` writes: the version (at least 4 digits) and the effective date.
FILE_NAME = re.compile(r"\d{4,}-\d{4}-\d{2}-\d{2}\.json")
# The temporary file of a release that was killed before it linked its snapshot into place.
TEMP_NAME = re.compile(r"\.\d{4,}-\d{4}-\d{2}-\d{2}\.json\.[A-Za-z0-9_]+\.tmp")
MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024  # far above any real document; a bigger file is not ours


class SnapshotHeading(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str
    text: str


class SnapshotClause(BaseModel):
    """One clause as it was rendered for the release: final, escaped HTML."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str
    title: str
    order: int
    html: str
    headings: tuple[SnapshotHeading, ...] = ()


class SnapshotTranslation(BaseModel):
    """A version's text in one of the tenant's other languages, as it was published with the release."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    title: str = Field(min_length=1)
    clauses: tuple[SnapshotClause, ...]
    # The tenant's free-text facts this language printed, by key path: each current translation in
    # tenant.<lang>.yaml when it was released, so that a finding quotes what the reader saw then. Only in
    # versions released since they are recorded, and only when the tenant translated a fact.
    facts: dict[str, str] | None = None


class SnapshotFile(BaseModel):
    """The JSON format of a snapshot file (without `hash`, which is checked separately)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    format: Literal[1]
    tenant: str
    document: str
    title: str = Field(min_length=1)
    version: int = Field(ge=1)
    effective: dt.date
    released: dt.date
    facts: dict[str, Any]
    clauses: tuple[SnapshotClause, ...]
    changes: Any = None
    previous: str | None = None
    # Only in versions released since translations are frozen, and only with a tenant's other languages.
    translations: dict[str, SnapshotTranslation] | None = None


@dataclass(frozen=True)
class Snapshot:
    """One released version of one document of one tenant."""

    tenant: str
    document: str
    title: str
    version: int
    effective: dt.date
    released: dt.date
    facts_data: dict[str, Any]  # the facts as JSON, exactly as stored
    clauses: tuple[SnapshotClause, ...]
    changes: Any = None
    previous: str | None = None  # hash of the version before, chaining the history
    hash: str = ""
    path: Path | None = field(default=None, compare=False)
    # locale -> the text in that language as published with this version (none before it was frozen)
    translations: Mapping[str, SnapshotTranslation] = field(default_factory=dict)

    @cached_property
    def facts(self) -> Tenant:
        """The facts as they were, validated.

        Raises InputError naming the snapshot if the facts model has since changed so that they no
        longer fit it (the snapshot's pages still show: they need only its rendered clauses).
        """
        try:
            return Tenant.model_validate(self.facts_data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(
                [
                    Problem(
                        f"the facts of version {self.version} no longer fit the facts model: {where}: {first['msg']}",
                        file=self.path,
                        key_path="facts",
                        expected="facts readable by this policygen version",
                        suggestion="tools that compare facts (diff, notices) cannot read this version; its pages still show",
                    )
                ]
            ) from None

    @property
    def label(self) -> str:
        return str(self.version)

    @property
    def recorded(self) -> RecordedVersion:
        """This version as a build's manifest records it, to notice later if it vanished or changed."""
        return RecordedVersion(version=self.version, effective=self.effective, hash=self.hash)

    @property
    def file_name(self) -> str:
        return f"{self.version:04d}-{self.effective.isoformat()}.json"

    @property
    def summary(self) -> str | None:
        """The change summary a summariser recorded, if any."""
        if isinstance(self.changes, dict) and isinstance(self.changes.get("summary"), str):
            return str(self.changes["summary"])
        return None

    @property
    def tier(self) -> str | None:
        if isinstance(self.changes, dict) and isinstance(self.changes.get("tier"), str):
            return str(self.changes["tier"])
        return None

    def texts(self) -> dict[str, str]:
        """Clause id -> rendered HTML, in document order."""
        return {c.id: c.html for c in self.clauses}

    def translation(self, locale: str) -> SnapshotTranslation | None:
        """The version's text in *locale* as released with it; None when it was not published in that language."""
        return self.translations.get(locale)

    def content(self) -> dict[str, Any]:
        """The snapshot as JSON data, without its hash. A version without translations has no such key,
        so the snapshots released before translations were frozen keep their hash."""
        data = {
            "format": FORMAT,
            "tenant": self.tenant,
            "document": self.document,
            "title": self.title,
            "version": self.version,
            "effective": self.effective.isoformat(),
            "released": self.released.isoformat(),
            "facts": self.facts_data,
            "clauses": [c.model_dump(mode="json") for c in self.clauses],
            "changes": self.changes,
            "previous": self.previous,
        }
        if self.translations:
            data["translations"] = {
                locale: t.model_dump(mode="json", exclude_none=True) for locale, t in sorted(self.translations.items())
            }
        return data


Summariser = Callable[[Snapshot | None, Snapshot], Any]
# What a release freezes of a new version in the tenant's other languages (policygen/release.py).
Translator = Callable[[Snapshot], Mapping[str, SnapshotTranslation]]


def canonical(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def release_folder(tenant_folder: Path, document: str) -> Path:
    return tenant_folder / RELEASES / document


# --- loading -----------------------------------------------------------------------------


def _tampered(file: Path) -> Problem:
    return Problem(
        "this released version was changed after its release: its content no longer matches its hash",
        file=file,
        key_path="hash",
        expected="released snapshots are never edited",
        suggestion="restore the file from git (git restore <file>); to change the policy, edit "
        "tenant.yaml or the clauses and run `policygen release` for a new version",
    )


@lru_cache(maxsize=4096)
def published_html(html: str) -> str:
    """A clause's HTML as a snapshot publishes it: sanitised like raw clause HTML, keeping the markup the
    renderer writes. Cached: most clauses read the same from one version to the next."""
    return sanitize(html, rendered=True)


def _linked(path: Path) -> Problem:
    return Problem(
        "a symbolic link in the released history: policygen reads and writes only files inside the "
        "project, and a release would write through the link",
        file=path,
        expected="a real folder or file",
        suggestion="replace the link with a copy of what it points at",
    )


def linked_release_folders(tenant_folder: Path, document: str) -> list[Problem]:
    """releases/ and releases/<document>/ may not be symbolic links (checked before anything is read or written)."""
    return [
        _linked(path)
        for path in (tenant_folder / RELEASES, release_folder(tenant_folder, document))
        if path.is_symlink()
    ]


def read_snapshot(file: Path) -> Snapshot:
    """Read and verify one snapshot file (its hash, not its place in the history).

    The clauses' HTML is sanitised after the hash is checked, like raw clause HTML: a snapshot is a
    file anyone can commit, and its HTML reaches pages and app snippets as markup.
    """
    try:
        info = file.lstat()
        if stat.S_ISLNK(info.st_mode):
            raise InputError([_linked(file)])
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                [
                    Problem(
                        "a snapshot name that is not a regular file",
                        file=file,
                        expected="a JSON file written by `policygen release`",
                    )
                ]
            )
        if info.st_size > MAX_SNAPSHOT_BYTES:
            raise InputError(
                [
                    Problem(
                        f"a snapshot of {info.st_size} bytes, over the limit of {MAX_SNAPSHOT_BYTES}",
                        file=file,
                        expected="a file written by `policygen release`",
                        suggestion="restore the file from git",
                    )
                ]
            )
        # Read as every input is read (checked again on the open file, never past the limit): the file may
        # have been swapped for a pipe or grown since the lstat above.
        raw = json.loads(read_bytes(file, MAX_SNAPSHOT_BYTES).decode("utf-8"))
    except OSError as exc:
        raise InputError([Problem(f"a snapshot cannot be read: {exc.strerror or exc}", file=file)]) from None
    except UnicodeDecodeError:
        raise InputError([Problem("a snapshot is not UTF-8 text", file=file)]) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                Problem(
                    f"a snapshot is not valid JSON: {exc.msg}",
                    file=file,
                    line=exc.lineno,
                    column=exc.colno,
                    suggestion="restore the file from git",
                )
            ]
        ) from None
    except RecursionError:
        raise InputError(
            [
                Problem(
                    "a snapshot nests too deeply to be one policygen wrote",
                    file=file,
                    suggestion="restore the file from git",
                )
            ]
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("hash"), str):
        raise InputError(
            [
                Problem(
                    "a snapshot has no hash",
                    file=file,
                    key_path="hash",
                    expected="a file written by `policygen release`",
                )
            ]
        )
    stated = raw.pop("hash")
    try:
        data = SnapshotFile.model_validate(raw)
    except ValidationError as exc:
        raise InputError(
            [
                Problem(
                    f"{err['msg']}",
                    file=file,
                    key_path=".".join(str(p) for p in err["loc"]) or None,
                    expected="a file written by `policygen release`",
                    suggestion="restore the file from git",
                )
                for err in exc.errors()
            ]
        ) from None
    if content_hash(raw) != stated:
        raise InputError([_tampered(file)])
    clauses = _published(data.clauses)
    translations = {
        locale: t.model_copy(update={"clauses": _published(t.clauses)})
        for locale, t in (data.translations or {}).items()
    }
    return Snapshot(
        tenant=data.tenant,
        document=data.document,
        title=data.title,
        version=data.version,
        effective=data.effective,
        released=data.released,
        facts_data=data.facts,
        clauses=clauses,
        changes=data.changes,
        previous=data.previous,
        hash=stated,
        path=file,
        translations=translations,
    )


def _published(clauses: tuple[SnapshotClause, ...]) -> tuple[SnapshotClause, ...]:
    return tuple(c.model_copy(update={"html": published_html(c.html)}) for c in clauses)


def snapshot_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    """The snapshot files in one document's releases folder, and a problem for anything else there.

    Only what `release` writes belongs here: a stray file or folder is reported, not skipped, since
    skipping a misnamed snapshot would drop a released version from the site without a word.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    for path in sorted(folder.iterdir()):
        if TEMP_NAME.fullmatch(path.name):
            continue  # a release killed before it finished; the next release removes it
        if path.is_symlink():
            problems.append(_linked(path))
        elif path.is_dir():
            problems.append(
                Problem(
                    "a folder inside a document's releases folder",
                    file=path,
                    expected="only snapshot files NNNN-YYYY-MM-DD.json (version, effective date)",
                    suggestion="move it out of releases/",
                )
            )
        elif not FILE_NAME.fullmatch(path.name):
            problems.append(
                Problem(
                    f"'{path.name}' is not a snapshot name",
                    file=path,
                    expected="NNNN-YYYY-MM-DD.json (version, effective date), as `policygen release` names snapshots",
                    suggestion="if it is a snapshot, restore its name from git; otherwise move it out of releases/",
                )
            )
        else:
            files.append(path)
    return files, problems


def load_releases(tenant_folder: Path, document: str) -> list[Snapshot]:
    """Every released version of *document*, verified, oldest first ([] if it has none).

    Raises InputError naming each file that is damaged, edited, misnamed, linked or out of sequence.
    """
    problems = Collector()
    problems.extend(linked_release_folders(tenant_folder, document))
    problems.raise_if_any()
    folder = release_folder(tenant_folder, document)
    if not folder.is_dir():
        if folder.exists():
            raise InputError(
                [
                    Problem(
                        "a file where a document's releases folder belongs",
                        file=folder,
                        expected=f"a folder releases/{document}/ of snapshot files",
                        suggestion="move the file out of releases/",
                    )
                ]
            )
        return []
    snapshots: list[Snapshot] = []
    files, stray = snapshot_files(folder)
    problems.extend(stray)
    for file in files:
        try:
            snap = read_snapshot(file)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if file.name != snap.file_name:
            problems.add(
                Problem(
                    f"the file name does not match its content (version {snap.version}, effective {snap.effective})",
                    file=file,
                    expected=snap.file_name,
                )
            )
        if (snap.tenant, snap.document) != (tenant_folder.name, document):
            problems.add(
                Problem(
                    f"this snapshot belongs to {snap.tenant}/{snap.document}",
                    file=file,
                    expected=f"a snapshot of {tenant_folder.name}/{document}",
                )
            )
        snapshots.append(snap)
    problems.raise_if_any()
    previous: Snapshot | None = None
    for i, snap in enumerate(snapshots, 1):
        if snap.version != i:
            problems.add(
                Problem(
                    f"version {snap.version} is out of sequence",
                    file=snap.path,
                    key_path="version",
                    expected=f"version {i}: versions count up from 1 without gaps",
                    suggestion="two releases made from the same history (say, on two branches) "
                    "clash: delete the later file and run `policygen release` again",
                )
            )
        elif previous is not None and snap.effective <= previous.effective:
            problems.add(
                Problem(
                    f"takes effect on {snap.effective}, not after version {previous.version} ({previous.effective})",
                    file=snap.path,
                    key_path="effective",
                )
            )
        elif snap.previous != (previous.hash if previous else None):
            problems.add(
                Problem(
                    "the history was rewritten: this version does not follow the hash of the version before it",
                    file=snap.path,
                    key_path="previous",
                    suggestion="restore the releases folder from git",
                )
            )
        previous = snap
    problems.raise_if_any()
    return snapshots


def releases_folder_problems(tenant_folder: Path, documents: list[str]) -> list[Problem]:
    """What a tenant's releases/ holds besides one real folder per listed document.

    A released history of a document the tenant no longer lists would silently drop off the site.
    """
    folder = tenant_folder / RELEASES
    if folder.is_symlink():
        return [_linked(folder)]
    if not folder.exists():
        return []
    if not folder.is_dir():
        return [
            Problem(
                "releases is a file; it holds the released versions, one folder per document",
                file=folder,
                expected="a folder releases/<document>/",
                suggestion="move the file away; `policygen release` makes the folder",
            )
        ]
    problems: list[Problem] = []
    for sub in sorted(folder.iterdir()):
        if sub.is_symlink():
            problems.append(_linked(sub))
        elif not sub.is_dir():
            problems.append(
                Problem(
                    "a file directly in releases/, which holds one folder per document",
                    file=sub,
                    expected="releases/<document>/NNNN-YYYY-MM-DD.json",
                    suggestion="move it out of releases/; policygen never writes files here",
                )
            )
        elif sub.name not in documents:
            problems.append(
                Problem(
                    f"'{sub.name}' has released versions but is not in this tenant's documents, so its history "
                    "would no longer be published",
                    file=sub,
                    key_path="documents",
                    expected=f"'{sub.name}' listed in documents in tenant.yaml",
                    suggestion="keep the document listed; to withdraw its history on purpose, delete this folder",
                )
            )
    return problems


def in_force(releases: list[Snapshot], today: dt.date) -> Snapshot | None:
    """The latest version whose effective date is on or before *today*."""
    current = None
    for snap in releases:
        if snap.effective <= today:
            current = snap
    return current


def upcoming(releases: list[Snapshot], today: dt.date) -> list[Snapshot]:
    return [s for s in releases if s.effective > today]


def successor(releases: list[Snapshot], snap: Snapshot) -> Snapshot | None:
    later = [s for s in releases if s.version == snap.version + 1]
    return later[0] if later else None


# --- releasing ---------------------------------------------------------------------------


def dated_facts(facts: Tenant, effective: dt.date, released: dt.date) -> Tenant:
    """The facts as a version states them: its own effective and release dates."""
    return facts.model_copy(update={"dates": Dates(effective=effective, last_updated=released)})


def frozen_clauses(doc: RenderedDocument) -> tuple[SnapshotClause, ...]:
    """The clauses as a snapshot holds them: sanitised as loading sanitises them, so that a document
    rendered now compares equal to a version that says the same."""
    return tuple(
        SnapshotClause(
            id=c.id,
            title=c.title,
            order=c.order,
            html=published_html(c.html),
            headings=tuple(SnapshotHeading(id=h.id, text=h.text) for h in c.headings),
        )
        for c in doc.clauses
    )


def snapshot_of(
    doc: RenderedDocument, facts: Tenant, version: int, effective: dt.date, released: dt.date, previous: str | None
) -> Snapshot:
    return Snapshot(
        tenant=doc.tenant,
        document=doc.id,
        title=doc.title,
        version=version,
        effective=effective,
        released=released,
        facts_data=facts.model_dump(mode="json"),
        clauses=frozen_clauses(doc),
        previous=previous,
    )


def reads_as(
    renderer: ClauseRenderer,
    slug: str,
    facts: Tenant,
    doc_id: str,
    clauses: dict[str, Clause],
    title: str,
    snap: Snapshot,
) -> bool:
    """Whether the document rendered now (with the version's own dates) reads exactly as *snap*.

    Only the published text counts: a fact no clause prints, or a theme change, is no new version.
    """
    again = render_document(renderer, slug, dated_facts(facts, snap.effective, snap.released), doc_id, clauses, title)
    return again.title == snap.title and frozen_clauses(again) == snap.clauses


def with_hash(snap: Snapshot) -> Snapshot:
    return replace(snap, hash=content_hash(snap.content()))


def write_snapshot(folder: Path, snap: Snapshot) -> Path:
    """Write *snap* so that it appears whole or not at all, and never over an existing file."""
    for place in (folder.parent, folder):
        if place.is_symlink():  # checked when the history was loaded; a link made since must not be followed
            raise InputError([_linked(place)])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / snap.file_name
    data = canonical({**snap.content(), "hash": snap.hash})
    fd, tmp = tempfile.mkstemp(prefix=f".{snap.file_name}.", suffix=".tmp", dir=folder)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)  # an ordinary file for git, not mkstemp's private 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, target)  # atomic, and fails rather than replace a released version
        except FileExistsError:
            raise InputError([Problem("a snapshot with this name already exists", file=target)]) from None
        except OSError:
            if target.exists():
                raise InputError([Problem("a snapshot with this name already exists", file=target)]) from None
            os.replace(tmp, target)  # file systems without hard links
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the new name itself durable
    finally:
        os.close(dir_fd)
    return target


def plan_release(
    renderer: ClauseRenderer,
    slug: str,
    folder: Path,
    facts: Tenant,
    doc_id: str,
    title: str,
    clauses: dict[str, Clause],
    effective: dt.date,
    released: dt.date,
) -> Snapshot | None:
    """The next version of one document, or None when it reads exactly as the last release."""
    releases = load_releases(folder, doc_id)
    last = releases[-1] if releases else None
    if last is not None and reads_as(renderer, slug, facts, doc_id, clauses, title, last):
        return None
    for snap in releases:
        if snap.effective == effective:
            raise InputError(
                [
                    Problem(
                        f"{doc_id}: version {snap.version} already takes effect on {effective}; "
                        "two versions cannot share an effective date",
                        file=snap.path,
                        expected=f"an effective date after {last.effective if last else effective}",
                        suggestion="pass another --effective date",
                    )
                ]
            )
    if last is not None and effective < last.effective:
        raise InputError(
            [
                Problem(
                    f"{doc_id}: --effective {effective} is before the effective date of version "
                    f"{last.version} ({last.effective})",
                    file=last.path,
                    expected=f"a date after {last.effective}",
                    suggestion="a new version cannot take effect before the one it replaces",
                )
            ]
        )
    doc = render_document(renderer, slug, dated_facts(facts, effective, released), doc_id, clauses, title)
    return snapshot_of(
        doc,
        dated_facts(facts, effective, released),
        (last.version + 1) if last else 1,
        effective,
        released,
        last.hash if last else None,
    )


def release(
    root: Path,
    slug: str,
    effective: dt.date,
    *,
    document: str | None = None,
    released: dt.date | None = None,
    summarise: Summariser | None = None,
    translate: Translator | None = None,
) -> list[Snapshot]:
    """Freeze the tenant's document(s) as they read now into new snapshot files.

    Without *document*, every document whose text changed since its last release is
    released; the others are left as they are. Refuses (InputError) when nothing
    changed, when an effective date is taken or before the previous version's.
    Everything is checked before anything is written. Releases take the project's lock, so that
    two at once are one after the other: the second sees the first's version and numbers its own
    after it, or is refused.
    """
    with project_lock(root):
        return _release(
            root, slug, effective, document=document, released=released, summarise=summarise, translate=translate
        )


def _release(
    root: Path,
    slug: str,
    effective: dt.date,
    *,
    document: str | None,
    released: dt.date | None,
    summarise: Summariser | None,
    translate: Translator | None,
) -> list[Snapshot]:
    from .project import document_title, load_project, tenant_document

    project = load_project(root, [slug])
    tenant = project.tenants[slug]
    known = list(tenant.documents)
    problems = Collector()
    problems.extend(releases_folder_problems(tenant.folder, known))
    problems.raise_if_any()  # before anything is read or removed through a link
    committed = committed_releases(project.root)
    if committed is not None:  # a new version must not chain onto a rewritten one
        problems.extend(compare_with_commit(committed, slug, known))
        problems.raise_if_any()
    for doc_id in known:
        folder = release_folder(tenant.folder, doc_id)
        for stale in folder.iterdir() if folder.is_dir() else ():
            if TEMP_NAME.fullmatch(stale.name) and not stale.is_symlink():  # left by a killed release
                stale.unlink(missing_ok=True)
    if document is not None:
        tenant_document(tenant, document)  # bad usage, with a did-you-mean, when the tenant has no such document
    released = released or utc_today()
    renderer = ClauseRenderer(project.content)
    planned: list[Snapshot] = []
    unchanged: list[str] = []
    for doc_id in [document] if document else known:
        try:
            snap = plan_release(
                renderer,
                slug,
                tenant.folder,
                tenant.facts,
                doc_id,
                document_title(project, tenant, doc_id),
                tenant.documents[doc_id],
                effective,
                released,
            )
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if snap is None:
            unchanged.append(doc_id)
        else:
            planned.append(snap)
    problems.raise_if_any()
    if not planned:
        which = ", ".join(unchanged)
        raise InputError(
            [
                Problem(
                    f"nothing to release: {which} read{'s' if len(unchanged) == 1 else ''} exactly as "
                    "the last released version",
                    file=tenant.folder / "tenant.yaml",
                    suggestion="edit the facts in tenant.yaml or the clauses first",
                )
            ]
        )
    final: list[Snapshot] = []
    for snap in planned:
        if summarise is not None:
            releases = load_releases(tenant.folder, snap.document)
            snap = replace(snap, changes=summarise(releases[-1] if releases else None, snap))
        if translate is not None:
            snap = replace(snap, translations=dict(translate(snap)))
        final.append(with_hash(snap))
    return [replace(snap, path=write_snapshot(release_folder(tenant.folder, snap.document), snap)) for snap in final]
