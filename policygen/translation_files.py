"""The file format of translations: where a translation lives, what it records, and its template code.

A source file content/<doc>/<name>.md is translated by content/<doc>/<name>.<lang>.md beside it
(Hugo's convention): the same for partials (_partials/facts.md -> _partials/facts.<lang>.md) and for
a document's document.yaml (document.<lang>.yaml, only its title and description). A translation
records `translates: <hash>`, the first 16 hex digits of the SHA-256 of the source file's bytes
(CRLF read as LF); partials, which have no front matter, say it in a first line
`{#- translates: <hash> -#}`. Optional `reviewed_by` and `reviewed_on` record a legal review.

A translation never repeats `id`, `order` or `when`: those come from the source, so a translation
cannot change when a clause applies. Its template code (the `{% %}` tags in order, the `{{ }}`
expressions in any order, both with string literals blanked) must be the source's.

Whether a translation still matches its source is policygen.translations' business.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .clauses import FRONT, PARTIALS, Clause, find_translation
from .errors import InputError, Problem
from .facts import Text
from .inputs import read_bytes
from .validation import problems_from_validation
from .yamlfile import load

_HASH = r"[0-9a-f]{16}"
# A partial has no front matter, so its translation says what it translates in a first Jinja comment.
_PARTIAL_HEAD = re.compile(
    r"\A\{#-?\s*translates:\s*(?P<hash>\S+?)"
    r"(?:\s+reviewed_by:\s*(?P<by>.+?)\s+reviewed_on:\s*(?P<on>\d{4}-\d{2}-\d{2}))?\s*-?#\}"
)


def source_hash(data: bytes) -> str:
    """What a translation records of its source: the SHA-256 of its bytes (CRLF as LF), 16 hex digits."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()[:16]


# --- a translation's head: what it translates, and who reviewed it ----------------------------------------


class ClauseTranslationMeta(BaseModel):
    """The front matter of a clause's translation: the translated title and the source hash, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    title: Text
    translates: str = Field(
        pattern=f"^{_HASH}$",
        description="the hash of the source file it translates: 16 hex digits (`policygen translations --format json` "
        "shows each source's hash)",
    )
    summary: Text | None = None
    reviewed_by: Text | None = Field(None, description="Who reviewed the translation legally (a person or firm)")
    reviewed_on: dt.date | None = Field(None, description="When that review was made")


class DocumentTranslationMeta(BaseModel):
    """document.<lang>.yaml: the document's human text in that language."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    title: Text
    description: Text | None = None
    translates: str = Field(
        pattern=f"^{_HASH}$", description="the hash of the document.yaml it translates: 16 hex digits"
    )
    reviewed_by: Text | None = None
    reviewed_on: dt.date | None = None


@dataclass(frozen=True)
class Head:
    """What a translation file says about itself."""

    translates: str
    title: str | None = None
    summary: str | None = None
    description: str | None = None
    reviewed_by: str | None = None
    reviewed_on: dt.date | None = None
    body: str = ""  # the translated template (line numbers kept), empty for document.<lang>.yaml

    @property
    def reviewed(self) -> bool:
        return self.reviewed_by is not None


def read_head(file: Path) -> Head:
    """The head and body of the translation *file*; InputError (located) when its head is malformed."""
    return _head(file, read_bytes(file).decode("utf-8", errors="strict").replace("\r\n", "\n"))


HEADS_KEPT = 1024  # translations whose head a process keeps, the most recently read


@lru_cache(maxsize=HEADS_KEPT)
def _head(file: Path, text: str) -> Head:
    """The head of the translation *file* reading *text*. Kept by the file's text too (a file edited since is read
    again): a check asks for the library's translations once for each tenant that publishes their language."""
    if file.suffix == ".yaml":
        return _document_head(file, text)
    if file.parent.name == PARTIALS:
        return _partial_head(file, text)
    return _clause_head(file, text)


def _clause_head(file: Path, text: str) -> Head:
    match = FRONT.match(text)
    if match is None:
        raise InputError(
            [
                Problem(
                    "translation has no front matter",
                    file=file,
                    line=1,
                    expected="a first line '---', then title and translates, then '---'",
                    suggestion="start the file with:\n---\ntitle: <the translated title>\ntranslates: <source hash>\n---",
                )
            ]
        )
    located = load(file, match.group(1) or "", line_offset=1)
    try:
        meta = ClauseTranslationMeta.model_validate(located.data or {})
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, located, ClauseTranslationMeta)) from None
    body = "\n" * text[: match.end()].count("\n") + text[match.end() :]
    return Head(meta.translates, meta.title, meta.summary, None, meta.reviewed_by, meta.reviewed_on, body)


def _partial_head(file: Path, text: str) -> Head:
    match = _PARTIAL_HEAD.match(text)
    if match is None or not re.fullmatch(_HASH, match["hash"]):
        raise InputError(
            [
                Problem(
                    "partial translation does not say what it translates",
                    file=file,
                    line=1,
                    expected="a first line {#- translates: <16 hex digits of the source's SHA-256> -#}",
                    suggestion="run `policygen translations` to see the source's hash",
                )
            ]
        )
    on = dt.date.fromisoformat(match["on"]) if match["on"] else None
    return Head(match["hash"], reviewed_by=match["by"], reviewed_on=on, body=text)


def _document_head(file: Path, text: str) -> Head:
    located = load(file, text)
    try:
        meta = DocumentTranslationMeta.model_validate(located.data or {})
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, located, DocumentTranslationMeta)) from None
    return Head(meta.translates, meta.title, None, meta.description, meta.reviewed_by, meta.reviewed_on)


# --- template code: a translation keeps its source's --------------------------------------------------------

_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_TAG = re.compile(r"\{%[-+]?(.*?)[-+]?%\}", re.S)
_EXPRESSION = re.compile(r"\{\{[-+]?(.*?)[-+]?\}\}", re.S)
_STRING = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'""", re.S)


@dataclass(frozen=True)
class TemplateCode:
    """The code of a template, its string literals blanked (they may be translated)."""

    tags: tuple[str, ...]  # in order
    expressions: tuple[str, ...]  # sorted: word order may move them

    @classmethod
    def of(cls, body: str) -> TemplateCode:
        body = _COMMENT.sub("", body)
        return cls(
            tuple(_blank(m) for m in _TAG.findall(body)), tuple(sorted(_blank(m) for m in _EXPRESSION.findall(body)))
        )


def _blank(code: str) -> str:
    return " ".join(_STRING.sub('""', code).split())


DIFFERENCES_KEPT = 1024  # pairs of template code whose difference a process keeps, the most recently compared


@lru_cache(maxsize=DIFFERENCES_KEPT)
def code_difference(source_body: str, translated_body: str) -> str | None:
    """How a translation's template code differs from its source's, or None when it is the same. Kept for the
    pairs compared most recently: a check compares the library's clauses with their translations for each tenant."""
    source, translated = TemplateCode.of(source_body), TemplateCode.of(translated_body)
    if source.tags != translated.tags:
        for i, (a, b) in enumerate(zip(source.tags, translated.tags, strict=False)):
            if a != b:
                return f"tag {i + 1} is {{% {b} %}} where the source has {{% {a} %}}"
        return f"it has {len(translated.tags)} {{% %}} tag(s) where the source has {len(source.tags)}"
    if source.expressions != translated.expressions:
        gone = sorted(set(source.expressions) - set(translated.expressions))
        extra = sorted(set(translated.expressions) - set(source.expressions))
        parts = [f"missing {{{{ {e} }}}}" for e in gone] + [f"not in the source {{{{ {e} }}}}" for e in extra]
        return "; ".join(parts) or "a {{ }} expression appears a different number of times than in the source"
    return None


def source_body(file: Path, data: bytes) -> str:
    """The template of a source clause or partial: its text after any front matter."""
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    match = FRONT.match(text) if file.parent.name != PARTIALS else None
    return text[match.end() :] if match else text


# --- picking what a page in a language shows ------------------------------------------------------------------

Use = Literal["translated", "stale", "missing"]


@dataclass(frozen=True)
class Picked:
    """What a page in a language shows for one clause: its translation, or the source (stale or missing)."""

    clause: Clause
    use: Use


def current_translation(source: Path, locale: str, refuse_stale: bool) -> tuple[Path, Head] | None:
    """The translation of *source* a *locale* page reads, when there is one and it is current.

    A stale one is None (the source is read instead), or a located InputError when the project refuses them.
    """
    file = find_translation(source, locale)
    if file is None:
        return None
    head = read_head(file)
    if head.translates == source_hash(read_bytes(source)):
        return file, head
    if refuse_stale:
        raise InputError([_stale_problem(file, source)])
    return None


def _stale_problem(file: Path, source: Path) -> Problem:
    line = next((i for i, text in enumerate(read_bytes(file).decode().splitlines(), 1) if "translates:" in text), 1)
    return Problem(
        f"this translation is stale: {source.name} changed since it was translated",
        file=file,
        line=line,
        key_path="translates",
        expected=f"the hash of {source.name} as it is now: {source_hash(read_bytes(source))}",
        suggestion="translate the change, then run `policygen translations mark "
        f"{file.suffixes[-2].lstrip('.')} <document>/<clause>`; or set stale_translations: fallback in "
        "policygen.yaml to publish the source text with a note meanwhile",
    )


def pick(clause: Clause, locale: str, refuse_stale: bool) -> Picked:
    """The clause a *locale* page renders: the translation with the source's id, order and `when`."""
    found = current_translation(clause.file, locale, refuse_stale)
    if found is None:
        use: Use = "stale" if find_translation(clause.file, locale) is not None else "missing"
        return Picked(clause, use)
    file, head = found
    meta = clause.meta.model_copy(update={"title": head.title, "summary": head.summary or clause.meta.summary})
    digest = hashlib.sha256(read_bytes(file)).hexdigest()
    return Picked(replace(clause, meta=meta, file=file, body=head.body, digest=digest), "translated")


def document_title(document_yaml: Path, locale: str, refuse_stale: bool) -> str | None:
    """A document's title in *locale* from its document.<lang>.yaml, when current."""
    found = current_translation(document_yaml, locale, refuse_stale)
    return found[1].title if found is not None else None
