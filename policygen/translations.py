"""Whether each translation of the clause library still matches the text it translates.

A translation (policygen.translation_files) records the hash of its source. When the source changes,
the translation is stale until a translator updates it and marks it current
(`policygen translations mark LANG CLAUSE`). For a stale translation the word diff of the source's
change is shown: the source as it was when translated is looked up in git by its hash (the last
HISTORY_LIMIT commits that touched the file); without git, or when it is not found, the change is
said to be unavailable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .clauses import (
    PARTIALS,
    SOURCE_LANGUAGE,
    Clause,
    Library,
    is_translation,
    language_of,
    translation_file,
    translation_parts,
)
from .errors import Collector, InputError, Problem, UsageError, did_you_mean
from .inputs import read_bytes
from .project import Project, load_for_tenants, load_tenant_source
from .repository import git
from .tenantpool import each_tenant
from .translation_files import code_difference, read_head, source_body, source_hash
from .worddiff import hunks, word_diff

# Git history searched for the source a stale translation was made from (newest first).
HISTORY_LIMIT = 500

Status = Literal["current", "stale", "missing"]


# --- what can be translated, and the state of each translation -----------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A source file of the library that translations follow."""

    key: str  # <doc>/<clause id>, <doc>/document or _partials/<name>
    file: Path
    template: bool  # a clause or a partial (with template code), not a document.yaml


@dataclass(frozen=True)
class Change:
    """The word diff of the source since the translation was made, or why it is not known."""

    words: tuple[dict[str, str], ...] = ()
    unavailable: str | None = None


@dataclass(frozen=True)
class TranslationState:
    language: str
    unit: Unit
    status: Status
    source_hash: str
    file: Path | None = None
    translates: str | None = None
    reviewed: bool = False
    change: Change | None = None  # for a stale translation
    code: str | None = None  # how its template code differs from the source's

    def to_json(self, root: Path) -> dict[str, object]:
        data: dict[str, object] = {
            "language": self.language,
            "clause": self.unit.key,
            "status": self.status,
            "source": _relative(self.unit.file, root),
            "source_hash": self.source_hash,
            "file": _relative(self.file, root) if self.file else None,
            "translates": self.translates,
            "legally_reviewed": self.reviewed,
        }
        if self.change is not None:
            data["source_change"] = list(self.change.words)
            if self.change.unavailable:
                data["source_change_unavailable"] = self.change.unavailable
        if self.code is not None:
            data["template_code"] = self.code
        return data


def library_units(library: Library) -> list[Unit]:
    """Every translatable source file of the library: clauses, document.yaml files and partials."""
    units: list[Unit] = []
    for doc_id, doc in sorted(library.documents.items()):
        meta = doc.folder / "document.yaml"
        if meta.is_file():
            units.append(Unit(f"{doc_id}/document", meta, template=False))
        units.extend(Unit(f"{doc_id}/{cid}", c.file, template=True) for cid, c in sorted(doc.clauses.items()))
    for name in library.partials:
        if is_translation(name.split("/")[-1]):
            continue
        file = next((f / name for f in library.folders if (f / name).is_file()), None)
        if file is not None:
            units.append(Unit(name.removesuffix(".md"), file, template=True))
    return units


def tenant_units(library: Library, documents: Mapping[str, Mapping[str, Clause]]) -> list[Unit]:
    """The source files a tenant's documents are rendered from: the library's and the tenant's own clauses."""
    return document_units(library, documents) + [u for u in library_units(library) if u.key.startswith(PARTIALS + "/")]


def document_units(library: Library, documents: Mapping[str, Mapping[str, Clause]]) -> list[Unit]:
    """The source files of a tenant's documents' own text, without the partials they include."""
    units: list[Unit] = []
    for doc_id, clauses in documents.items():
        meta = library.documents[doc_id].folder / "document.yaml"
        if meta.is_file():
            units.append(Unit(f"{doc_id}/document", meta, template=False))
        units.extend(Unit(f"{doc_id}/{cid}", c.file, template=True) for cid, c in sorted(clauses.items()))
    return units


def translated_languages(locales: Iterable[str]) -> list[str]:
    """The languages of *locales* that are read from translations: all but the library's own."""
    return sorted({language_of(locale) for locale in locales} - {SOURCE_LANGUAGE})


@dataclass
class History:
    """Earlier versions of source files, from git, found by the hash a translation recorded."""

    found: dict[tuple[Path, str], str | None] = field(default_factory=dict)

    def source_at(self, file: Path, digest: str) -> tuple[str | None, str | None]:
        """(the source text whose hash is *digest*, None) or (None, why it cannot be found)."""
        key = (file, digest)
        if key not in self.found:
            self.found[key] = _from_git(file, digest)
        text = self.found[key]
        if text is None:
            return None, "the source as translated is not in the git history (or there is no git repository)"
        return text, None


def _from_git(file: Path, digest: str) -> str | None:
    top = git(file.parent, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    home = Path(top.decode().strip()).resolve()
    rel = file.resolve().relative_to(home).as_posix()
    commits = git(home, "rev-list", f"--max-count={HISTORY_LIMIT}", "HEAD", "--", rel)
    if not commits:
        return None
    names = b"".join(c + b":" + rel.encode() + b"\n" for c in commits.split())
    blobs = git(home, "cat-file", "--batch", stdin=names)
    if blobs is None:
        return None
    at = 0
    while at < len(blobs):
        end = blobs.index(b"\n", at)
        header = blobs[at:end].split()
        at = end + 1
        if len(header) != 3 or header[1] != b"blob":
            continue
        size = int(header[2])
        content = blobs[at : at + size]
        at += size + 1
        if source_hash(content) == digest:
            return content.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return None


def state(unit: Unit, language: str, history: History) -> TranslationState:
    """Whether *unit* has a current, stale or no translation into *language* (InputError: a malformed one)."""
    data = read_bytes(unit.file)
    digest = source_hash(data)
    file = translation_file(unit.file, language)
    if not file.is_file():
        return TranslationState(language, unit, "missing", digest)
    head = read_head(file)
    code = None
    if unit.template:
        code = code_difference(source_body(unit.file, data), head.body)
    if head.translates == digest:
        return TranslationState(language, unit, "current", digest, file, head.translates, head.reviewed, None, code)
    before, why = history.source_at(unit.file, head.translates)
    current = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    change = (
        Change(unavailable=why) if before is None else Change(tuple(hunks(word_diff(before.split(), current.split()))))
    )
    return TranslationState(language, unit, "stale", digest, file, head.translates, head.reviewed, change, code)


def states(units: Iterable[Unit], languages: Iterable[str]) -> list[TranslationState]:
    """The state of every unit in every language, by language then unit; all malformed translations reported."""
    history = History()
    problems = Collector()
    out: list[TranslationState] = []
    for language in sorted(set(languages)):
        for unit in units:
            try:
                out.append(state(unit, language, history))
            except InputError as exc:
                problems.extend(exc.problems)
    problems.raise_if_any()
    return out


def found_languages(units: Iterable[Unit]) -> set[str]:
    """The languages any unit has a translation file in."""
    found: set[str] = set()
    for unit in units:
        for candidate in unit.file.parent.glob(f"{unit.file.stem}.*{unit.file.suffix}"):
            parts = translation_parts(candidate.name)
            if parts is not None and parts[0] == unit.file.name:
                found.add(parts[1])
    return found


# --- marking a translation current ------------------------------------------------------------------------------


def mark(units: Sequence[Unit], language: str, clause: str) -> TranslationState:
    """Record that the *language* translation of *clause* matches its source as it is now."""
    unit = find_unit(units, clause)
    file = translation_file(unit.file, language)
    if not file.is_file():
        raise UsageError(f"{unit.key} has no '{language}' translation: {file.name} does not exist")
    head = read_head(file)  # refuses a malformed head before anything is written
    digest = source_hash(read_bytes(unit.file))
    text = read_bytes(file).decode("utf-8")
    pattern = re.compile(r"(translates:\s*)" + re.escape(head.translates))
    updated, count = pattern.subn(lambda m: m.group(1) + digest, text, count=1)
    if count != 1:  # read_head found it, so it is there
        raise RuntimeError(f"translates: not found in {file}")
    if updated != text:
        _write_atomically(file, updated.encode("utf-8"))
    return state(unit, language, History())


def _write_atomically(file: Path, data: bytes) -> None:
    temporary = file.with_name(f".{file.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(file)


def find_unit(units: Sequence[Unit], clause: str) -> Unit:
    """The unit named DOC/CLAUSE (or a clause id used by one document only)."""
    by_key = {u.key: u for u in units}
    if clause in by_key:
        return by_key[clause]
    named = [u for u in units if u.key.split("/")[-1] == clause or u.file.stem == clause.split("/")[-1]]
    if "/" in clause:
        named = [u for u in named if u.key.split("/")[0] == clause.split("/")[0]]
    if len(named) == 1:
        return named[0]
    if named:
        raise UsageError(f"'{clause}' is in several documents; name one: " + ", ".join(u.key for u in named))
    hint = did_you_mean(clause, sorted(by_key))
    raise UsageError(f"no clause '{clause}'" + (f"; {hint}" if hint else " (write it as DOCUMENT/CLAUSE)"))


# --- output -----------------------------------------------------------------------------------------------------


def format_text(found: Sequence[TranslationState], root: Path) -> str:
    lines: list[str] = []
    for language in sorted({s.language for s in found}):
        mine = [s for s in found if s.language == language]
        counts = {k: sum(1 for s in mine if s.status == k) for k in ("current", "stale", "missing")}
        lines.append(f"{language}: {counts['current']} current, {counts['stale']} stale, {counts['missing']} missing")
        for s in mine:
            review = "" if s.status == "missing" or s.reviewed else " (not legally reviewed)"
            lines.append(f"  {s.status:<8} {s.unit.key}{review}")
            if s.code:
                lines.append(f"           template code differs: {s.code}")
            if s.change is not None:
                if s.change.unavailable:
                    lines.append(f"           source change: unavailable: {s.change.unavailable}")
                for hunk in s.change.words:
                    lines.append(f"           - {hunk['old']}" if hunk["old"] else "           - (nothing)")
                    lines.append(f"           + {hunk['new']}" if hunk["new"] else "           + (nothing)")
    if not lines:
        lines.append("no languages to translate into: no tenant lists `languages` and no translation files exist")
    return "\n".join(lines) + "\n"


def _relative(file: Path, root: Path) -> str:
    try:
        return file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file.as_posix()


@dataclass(frozen=True)
class Sources:
    """What the project's translations are made from: every source of the library and of the tenants' own
    clauses, and every locale a tenant publishes (a tenant's languages, in slug order)."""

    units: list[Unit]
    locales: list[str]


def project_sources(root: Path) -> Sources:
    """The project's sources: its tenants read a tenant at a time (by worker processes when there are many:
    tenantpool.each_tenant), each let go once what it adds is taken; every tenant's problems raised together."""
    project, slugs = load_for_tenants(root)
    units = library_units(project.library)
    reader = _SourceReader(project, frozenset(u.file for u in units))
    seen = set(reader.library_files)
    locales: list[str] = []
    problems = Collector()
    for found in each_tenant(reader, slugs):
        problems.extend(found.problems)
        locales.extend(found.locales)
        for unit in found.units:
            if unit.file not in seen:  # a clause of a tenant's own that another tenant shares (a link, a copy)
                units.append(unit)
                seen.add(unit.file)
    problems.raise_if_any()
    return Sources(units, locales)


@dataclass(frozen=True)
class _TenantSources:
    """What one tenant adds to the project's sources: its own clauses' files (not the library's) and its
    languages; or the problems of its facts and clauses."""

    units: list[Unit]
    locales: list[str]
    problems: list[Problem]


class _SourceReader:
    """Reads a tenant's facts and clauses, validated as a build reads them, for what it adds to the sources."""

    def __init__(self, project: Project, library_files: frozenset[Path]) -> None:
        self.project = project
        self.library_files = library_files  # a tenant's own clauses are the files not among these

    def __call__(self, slug: str) -> _TenantSources:
        problems = Collector()
        tenant = load_tenant_source(self.project, slug, problems)
        if tenant is None:
            return _TenantSources([], [], problems.problems)
        units = document_units(self.project.library, tenant.documents)
        own = [u for u in units if u.file not in self.library_files]
        return _TenantSources(own, list(tenant.facts.languages), [])


def project_report(root: Path) -> list[TranslationState]:
    """`policygen translations`: every source in every language a tenant publishes or a translation exists in."""
    sources = project_sources(root)
    languages = set(translated_languages(sources.locales)) | (found_languages(sources.units) - {SOURCE_LANGUAGE})
    return states(sources.units, sorted(languages))


def format_json(found: Sequence[TranslationState], root: Path) -> str:
    return json.dumps([s.to_json(root) for s in found], indent=2, ensure_ascii=False, sort_keys=True) + "\n"
