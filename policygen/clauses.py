"""The clause library: documents as ordered sets of Markdown+Jinja clauses.

content/<document>/document.yaml   title and description of the document
content/<document>/*.md            clauses: YAML front matter, then the body
content/_partials/*.md             macros shared by clauses ({% import %})

The library ships inside policygen (policygen.packaged); a project's own
content/ is looked up first, by the same rules as a tenant's: a clause with the
library's id replaces it, a new id adds one, a partial replaces the library's
partial of the same file name, a document.yaml adds or retitles a document.
tenants/<slug>/content/<document>/*.md
                                   a tenant's own clauses: same id replaces the
                                   library clause, a new id adds one
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .editorfiles import is_editor_file
from .errors import Collector, InputError, Problem, did_you_mean
from .facts import Id, Text, Whole
from .inputs import read_bytes, read_text
from .packaged import library_folders
from .paths import RESERVED_DOCUMENT_IDS
from .validation import problems_from_validation
from .yamlfile import Located, load

FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.S)
PARTIALS = "_partials"

# The language the library is written in: its clause files are the source every translation follows.
SOURCE_LANGUAGE = "en"

# name.<lang>.md / name.<lang>.yaml: a BCP 47 language tag (language, then optional script/region).
_TRANSLATED = re.compile(r"^(?P<stem>[^.]+)\.(?P<lang>[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.(?P<ext>md|yaml)$")


def translation_parts(name: str) -> tuple[str, str] | None:
    """(source file name, language) when *name* is a translation's file name, else None."""
    match = _TRANSLATED.match(name)
    if match is None:
        return None
    return f"{match['stem']}.{match['ext']}", match["lang"]


def is_translation(name: str) -> bool:
    return translation_parts(name) is not None


def language_of(locale: str) -> str:
    """The language subtag of a locale: hi-IN -> hi."""
    return locale.replace("_", "-").split("-")[0].lower()


def translation_file(source: Path, lang: str) -> Path:
    """Where the *lang* translation of *source* lives: beside it, the language before the extension."""
    return source.with_name(f"{source.stem}.{lang}{source.suffix}")


def find_translation(source: Path, locale: str) -> Path | None:
    """The translation of *source* for *locale*: the locale's own (hi-IN) first, then its language's (hi)."""
    for tag in dict.fromkeys([locale.replace("_", "-"), language_of(locale)]):
        candidate = translation_file(source, tag)
        if candidate.is_file():
            return candidate
    return None


class ClauseMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: Id
    title: Text
    order: Whole = Field(description="Position in the document; lower comes first")
    when: str | None = Field(
        None, description="A Jinja expression over the facts; the clause appears only when it is true"
    )
    summary: str | None = Field(None, description="One line for the table of contents and the in-app section list")


class DocumentMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    title: Text
    description: Text | None = None
    kind: str = Field("privacy", description="privacy, usage, deletion, cookies, ...")


@dataclass(frozen=True)
class Clause:
    meta: ClauseMeta
    file: Path
    body: str  # padded with blank lines so template line numbers match the file
    digest: str  # content hash of the file, for dependency tracking

    @property
    def id(self) -> str:
        return self.meta.id


@dataclass
class LibraryDocument:
    id: str
    meta: DocumentMeta
    folder: Path
    clauses: dict[str, Clause] = field(default_factory=dict)
    digest: str = ""
    translations: dict[str, str] = field(default_factory=dict)  # file name -> content hash, for the digest


@dataclass
class Library:
    root: Path
    documents: dict[str, LibraryDocument]
    partials: dict[str, str]  # template name -> digest
    folders: tuple[Path, ...] = ()  # where clauses and partials were found, first match wins (library_folders)


def read_clause(file: Path) -> Clause:
    text = read_text(file)
    match = FRONT.match(text)
    if not match:
        raise InputError(
            [
                Problem(
                    "clause has no front matter",
                    file=file,
                    line=1,
                    expected="a first line '---', then id, title and order, then '---'",
                    suggestion="start the file with:\n---\nid: my-clause\ntitle: My clause\norder: 100\n---",
                )
            ]
        )
    front = match.group(1) or ""
    located = load(file, front, line_offset=1)
    if not isinstance(located.data, dict):
        raise InputError(
            [Problem("front matter must be a YAML mapping", file=file, line=2, expected="id, title and order keys")]
        )
    try:
        meta = ClauseMeta.model_validate(located.data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, located, ClauseMeta)) from None
    head_lines = text[: match.end()].count("\n")
    body = "\n" * head_lines + text[match.end() :]
    return Clause(meta=meta, file=file, body=body, digest=hashlib.sha256(text.encode()).hexdigest())


def _read_clauses(folder: Path, problems: Collector) -> dict[str, Clause]:
    clauses: dict[str, Clause] = {}
    for file in sorted(folder.glob("*.md")):
        if is_editor_file(file.name):  # Emacs locks a modified clause.md with a link named .#clause.md
            continue
        if is_translation(file.name):  # read with its source, for the pages in its language
            continue
        try:
            clause = read_clause(file)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        other = clauses.get(clause.id)
        if other is not None:
            problems.add(
                Problem(
                    f"clause id '{clause.id}' is also used by {other.file.name}",
                    file=file,
                    line=2,
                    key_path="id",
                    expected="one file per clause id in a document",
                    suggestion="rename one of the ids",
                )
            )
            continue
        clauses[clause.id] = clause
    return clauses


def load_library(content: Path, packaged: Path | None = None) -> Library:
    """The documents and partials of the project's content/ over the packaged library: a document folder in
    content/ adds clauses to the library's document of that id or replaces them by id; a partial replaces the
    library's partial of that file name; a document.yaml replaces the library's or adds a document."""
    problems = Collector()
    folders = library_folders(content, packaged)
    documents: dict[str, LibraryDocument] = {}
    partials: dict[str, str] = {}
    for folder in reversed(folders):  # the library first, then what the project overrides
        _add_documents(folder, documents, problems)
        partials.update(_partials(folder, problems))
    problems.raise_if_any()
    for doc in documents.values():
        translated = [f"{name}:{digest}" for name, digest in sorted(doc.translations.items())]
        doc.digest = _digest([doc.meta.model_dump_json(), *(c.digest for c in doc.clauses.values()), *translated])
    return Library(root=content, documents=documents, partials=dict(sorted(partials.items())), folders=folders)


def _add_documents(content: Path, documents: dict[str, LibraryDocument], problems: Collector) -> None:
    for folder in sorted(p for p in content.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        if folder.name in RESERVED_DOCUMENT_IDS:
            problems.add(
                Problem(
                    f"'{folder.name}' cannot be a document id: the build writes a tenant's "
                    f"{RESERVED_DOCUMENT_IDS[folder.name]} to <tenant>/{folder.name}/",
                    file=folder,
                    expected="a document id other than " + " or ".join(sorted(RESERVED_DOCUMENT_IDS)),
                    suggestion=f"rename the folder, e.g. to {folder.name}-policy",
                )
            )
            continue
        known = documents.get(folder.name)
        meta = _document_meta(folder, problems, required=known is None)
        if meta is None and known is None:
            continue
        clauses = _read_clauses(folder, problems)
        translations = _translation_digests(folder, problems)
        if known is None:
            if meta is not None:  # always, by the check above; said again for the type checker
                documents[folder.name] = LibraryDocument(folder.name, meta, folder, clauses, translations=translations)
        else:
            if meta is not None:  # the title (and where it is written) is the project's
                known.meta, known.folder = meta, folder
            known.clauses = {**known.clauses, **clauses}
            known.translations = {**known.translations, **translations}


def _translation_digests(folder: Path, problems: Collector) -> dict[str, str]:
    """The content hash of each translation in a document folder: a changed translation re-renders its tenants."""
    found: dict[str, str] = {}
    for file in sorted(folder.iterdir()):
        if is_translation(file.name) and not is_editor_file(file.name) and not file.is_dir():
            try:
                found[file.name] = hashlib.sha256(read_bytes(file)).hexdigest()
            except InputError as exc:
                problems.extend(exc.problems)
    return found


def _document_meta(folder: Path, problems: Collector, required: bool) -> DocumentMeta | None:
    meta_file = folder / "document.yaml"
    if not meta_file.is_file():
        if required:
            problems.add(
                Problem(
                    "document folder has no document.yaml",
                    file=folder,
                    expected="document.yaml with a title",
                    suggestion=f"create {folder.name}/document.yaml",
                )
            )
        return None
    try:
        located = load(meta_file)
        return DocumentMeta.model_validate(located.data or {})
    except InputError as exc:
        problems.extend(exc.problems)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, located, DocumentMeta))
    return None


def _partials(content: Path, problems: Collector) -> dict[str, str]:
    partials: dict[str, str] = {}
    partial_dir = content / PARTIALS
    if partial_dir.is_dir():
        for file in sorted(partial_dir.glob("*")):
            if not file.is_dir() and not is_editor_file(file.name):  # a lock or backup file is no partial
                try:  # the same reader as every input: a pipe or a device is refused, not left for Jinja to open
                    partials[f"{PARTIALS}/{file.name}"] = hashlib.sha256(read_bytes(file)).hexdigest()
                except InputError as exc:
                    problems.extend(exc.problems)
    return partials


def tenant_clauses(
    library: Library, tenant_dir: Path, document_ids: list[str], problems: Collector, where: Located | None = None
) -> dict[str, dict[str, Clause]]:
    """The clauses each of a tenant's documents is made of: library, then the tenant's own."""
    out: dict[str, dict[str, Clause]] = {}
    for i, doc_id in enumerate(document_ids):
        doc = library.documents.get(doc_id)
        if doc is None:
            hint = did_you_mean(doc_id, sorted(library.documents))
            problem = Problem(
                f"unknown document '{doc_id}'",
                file=tenant_dir / "tenant.yaml",
                key_path=f"documents[{i}].id",
                expected="one of: " + ", ".join(sorted(library.documents)),
                suggestion=hint,
            )
            if where is not None:
                line, col = where.where(("documents", i, "id"))
                problem = replace(problem, line=line, column=col)
            problems.add(problem)
            continue
        merged = dict(doc.clauses)
        own = tenant_dir / "content" / doc_id
        if own.is_dir():
            # A tenant's files come from its own folder: a link out could pull in anything on the machine.
            home = tenant_dir.resolve()
            linked = [f for f in [own, *sorted(own.glob("*.md"))] if not f.resolve().is_relative_to(home)]
            if linked:
                problems.add(
                    Problem(
                        "a symbolic link out of the tenant folder; policygen reads only files inside the project",
                        file=linked[0],
                        expected="the tenant's own clause files inside its folder",
                        suggestion="copy the files into the tenant folder instead of linking them",
                    )
                )
                continue
            merged.update(_read_clauses(own, problems))
        out[doc_id] = dict(sorted(merged.items(), key=lambda kv: (kv[1].meta.order, kv[0])))
    return out


def _digest(parts: list[str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()
