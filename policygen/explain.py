"""`policygen explain`: where every block of a rendered document comes from.

A lawyer reviews the clause library once and each tenant's facts per tenant; to
know that nothing else is on the page, every heading, paragraph, list item and
table row must lead back to a line of a clause (or partial) file, and name the
facts it prints. This module renders a document again with a tracing renderer:

- Source lines. A Jinja extension puts an inert mark before every line of the
  clause's own text (private-use characters around a random key, the file and the
  line, so a clause cannot forge one). The marks are taken out of
  the rendered Markdown again before it is parsed, leaving the exact text a build
  renders, plus a map from each of its lines to the clause or partial line that
  wrote it. Markdown-it's tokens carry their source lines (``token.map``).
- Fact paths. Every value a clause prints becomes a numbered placeholder (see
  policygen/render.py). The tracer knows each fact's key path (the whole tenant
  is indexed by object identity before rendering, and every attribute or item
  looked up while rendering is recorded), and notes which placeholder each
  printed value became.

A build never loads this module: the tracing renderer is a separate
ClauseRenderer with its own environment, so builds pay nothing for it.
Released versions are frozen snapshots and are not traced: explain describes the
working text (what a build publishes for an unreleased document, or at draft/).
"""

from __future__ import annotations

import functools
import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup
from pydantic import BaseModel

from . import markdown
from .clauses import Clause
from .dates import format_day
from .errors import Collector
from .facts import Tenant
from .htmltext import html_text
from .paths import document_page
from .project import Project, TenantSource, load_project, load_tenant_source, tenant_document
from .render import TOKEN, ClauseRenderer, RenderedClause, _front_line, placeholders, render_document
from .yamlfile import KeyPath, format_path

Kind = Literal["heading", "date", "contents", "paragraph", "item", "row", "code"]

_MARK, _SEP, _END = "\ue003", "\ue005", "\ue004"  # private-use characters, plus a random key (see Marks)


@dataclass(frozen=True)
class FileLine:
    """A line of a file: a clause, a partial, document.yaml or tenant.yaml."""

    file: Path
    line: int | None


@dataclass(frozen=True)
class FactUse:
    """A fact a block prints: its key path in tenant.yaml and the line it is on there."""

    path: str
    line: int | None


@dataclass(frozen=True)
class ExplainedBlock:
    kind: Kind
    text: str
    source: FileLine
    clause: str | None = None  # the clause the block belongs to (None: the page's title, dates and contents)
    facts: tuple[FactUse, ...] = ()
    level: int = 0  # heading level

    def to_json(self, root: Path) -> dict[str, object]:
        return {
            "kind": self.kind,
            "level": self.level or None,
            "text": self.text,
            "clause": self.clause,
            "file": _relative(self.source.file, root),
            "line": self.source.line,
            "facts": [{"path": f.path, "line": f.line} for f in self.facts],
        }


@dataclass(frozen=True)
class Explanation:
    """Every block of one tenant's document, in page order, with where it comes from."""

    tenant: str
    document: str
    title: str
    facts_file: Path
    blocks: tuple[ExplainedBlock, ...]

    def clause_blocks(self, clause: str) -> list[ExplainedBlock]:
        return [b for b in self.blocks if b.clause == clause]

    def to_json(self, root: Path) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "document": self.document,
            "title": self.title,
            "facts_file": _relative(self.facts_file, root),
            "blocks": [b.to_json(root) for b in self.blocks],
        }


# --- source lines: marks in the clause text ------------------------------------------------------------------


class Marks:
    """Unforgeable source marks: each carries a random key, so text in a (tenant's) clause that looks
    like a mark is left as text and can never claim another file's line."""

    def __init__(self) -> None:
        self.key = secrets.token_hex(8)
        self._pattern = re.compile(f"{_MARK}{self.key}{_SEP}([^{_SEP}{_END}]*){_SEP}(\\d+){_END}")

    def mark(self, file: str, line: int) -> str:
        return f"{_MARK}{self.key}{_SEP}{file}{_SEP}{line}{_END}"

    def marked(self, text: str, file: str, line: int) -> str:
        """*text* (template text starting at *line* of *file*) with a mark at the start of each of its lines."""
        out = [self.mark(file, line)]
        for i, piece in enumerate(text.split("\n")):
            if i:
                out.append("\n" + self.mark(file, line + i))
            out.append(piece)
        return "".join(out)

    def strip(self, marked: str) -> tuple[str, list[FileLine | None]]:
        """The text without its marks, and for each of its lines the mark that came last before the line's text."""
        clean: list[str] = []
        sources: list[FileLine | None] = []
        current: FileLine | None = None
        started = False  # whether the current output line has text yet (its source is then fixed)
        at = 0
        for match in [*self._pattern.finditer(marked), None]:
            end = match.start() if match else len(marked)
            for i, piece in enumerate(marked[at:end].split("\n")):
                if i:  # a line ended
                    if not started:
                        sources.append(current)
                    started = False
                    clean.append("\n")
                if piece and not started:
                    sources.append(current)
                    started = True
                clean.append(piece)
            if match:
                current = FileLine(Path(match.group(1)), int(match.group(2)))
                at = match.end()
        if not started:
            sources.append(current)
        return "".join(clean), sources


class SourceLines(Extension):
    """Marks the start of every line of template text with its file and line (see the module docstring)."""

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.extend(policygen_marks=Marks())

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        marks: Marks = self.environment.policygen_marks  # type: ignore[attr-defined]
        name = stream.filename or stream.name or ""
        for token in stream:
            if token.type == "data":
                yield Token(token.lineno, "data", marks.marked(token.value, name, token.lineno))
                continue
            if token.type in ("variable_begin", "block_begin"):
                # A line that starts with {{ ... }} has no text of its own to carry a mark.
                yield Token(token.lineno, "data", marks.mark(name, token.lineno))
            yield token


# --- fact paths: which fact each placeholder printed ----------------------------------------------------------


class FactPaths:
    """Key paths of the tenant's facts by object identity, and of every value looked up while rendering."""

    def __init__(self) -> None:
        self._paths: dict[int, tuple[object, KeyPath]] = {}  # the object is kept, so its id is not reused
        self._indexed: object | None = None
        self.values: list[str] | None = None  # the placeholders of the clause being rendered
        self.printed: dict[int, KeyPath] = {}  # placeholder number -> the fact it shows

    def index(self, tenant: Tenant) -> None:
        if self._indexed is not tenant:
            self._paths.clear()
            self._walk(tenant, ())
            self._indexed = tenant

    def _walk(self, value: object, path: KeyPath) -> None:
        if value is None or isinstance(value, bool):
            return  # shared singletons: their path is only known where they are looked up
        self._paths[id(value)] = (value, path)
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                self._walk(getattr(value, name), (*path, name))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                self._walk(item, (*path, i))

    def path(self, value: object) -> KeyPath | None:
        entry = self._paths.get(id(value))
        return entry[1] if entry is not None and entry[0] is value else None

    def note(self, value: object, path: KeyPath) -> None:
        if value is None or (callable(value) and not isinstance(value, (BaseModel, str))):
            return
        self._paths[id(value)] = (value, path)
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                self._paths[id(item)] = (item, (*path, i))

    def looked_up(self, container: object, key: object, value: object) -> None:
        """Record *value* as container.key (or, from a lookup table, as the fact that chose it)."""
        parent = self.path(container)
        if parent is not None:
            derived = isinstance(container, BaseModel) and key not in type(container).model_fields
            # A computed property (a permission's label, a right's name) reads its entry's facts: name the entry.
            self.note(value, parent if derived or not isinstance(key, (str, int)) else (*parent, key))
        elif (chosen_by := self.path(key)) is not None and self.path(value) is None:
            self.note(value, chosen_by)

    def count(self) -> int:
        return len(self.values) if self.values is not None else 0

    def printed_as(self, before: int, paths: list[KeyPath | None]) -> None:
        """The placeholders from number *before* on show the facts *paths*, one each, in order."""
        for number, path in zip(range(before, self.count()), paths, strict=False):
            if path is not None:
                self.printed[number] = path

    def printed_all(self, before: int, path: KeyPath | None) -> None:
        """Every placeholder from number *before* on shows the fact *path*."""
        self.printed_as(before, [path] * (self.count() - before))


def _traced_filter(facts: FactPaths, name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    offset = 1 if getattr(f, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(f)
    def traced(*args: Any, **kwargs: Any) -> Any:
        value = args[offset] if len(args) > offset else None
        if name == "join" and value is not None and not isinstance(value, str):
            value = list(value)
            args = (*args[:offset], value, *args[offset + 1 :])
        before = facts.count()
        out = f(*args, **kwargs)
        if name == "join":  # one placeholder for each item that is not already markup
            facts.printed_as(before, [facts.path(v) for v in value or () if not isinstance(v, Markup)])
        else:
            facts.printed_all(before, facts.path(value))
        if not isinstance(out, Markup) and facts.path(out) is None and (path := facts.path(value)) is not None:
            facts.note(out, path)  # a fact transformed by a filter is still that fact
        return out

    return traced


# --- the tracing renderer --------------------------------------------------------------------------------------


@dataclass
class ClauseTrace:
    clause: Clause
    rendered: RenderedClause
    skeleton: str
    sources: list[FileLine | None]
    values: list[str]
    printed: dict[int, KeyPath]
    notes: list[int]  # indexes in tenant.notes of the notes shown in the clause


class _Traced:
    """A clause template that renders with source marks and hands back the text without them."""

    def __init__(self, template: jinja2.Template, renderer: TracingRenderer) -> None:
        self.template = template
        self.renderer = renderer

    def render(self, context: dict[str, Any]) -> str:
        facts = self.renderer.facts
        facts.values, facts.printed = placeholders(), {}
        marked = self.template.render(context)
        clean: str
        sources: list[FileLine | None]
        clean, sources = self.renderer.env.policygen_marks.strip(marked)  # type: ignore[attr-defined]
        self.renderer.last = (clean, sources, facts.values, facts.printed)
        facts.values = None
        return clean


class TracingRenderer(ClauseRenderer):
    """A ClauseRenderer whose every clause render also records a ClauseTrace (slower; for explain only)."""

    reuses_renders = False  # each render is traced, so each one runs

    def __init__(self, content: Path, raw_html: bool | None = None) -> None:
        super().__init__(content, raw_html)
        self.facts = FactPaths()
        self.traces: list[ClauseTrace] = []
        self.last: tuple[str, list[FileLine | None], list[str], dict[int, KeyPath]] | None = None
        env = self.env
        env.add_extension(SourceLines)
        base_getattr, base_getitem, base_finalize = env.getattr, env.getitem, env.finalize
        facts = self.facts

        def getattr_(obj: Any, attribute: str) -> Any:
            value = base_getattr(obj, attribute)
            facts.looked_up(obj, attribute, value)
            return value

        def getitem(obj: Any, argument: Any) -> Any:
            value = base_getitem(obj, argument)
            facts.looked_up(obj, argument, value)
            return value

        def finalize(value: Any) -> Any:
            before = facts.count()
            out = base_finalize(value) if base_finalize else value
            facts.printed_all(before, facts.path(value))
            return out

        # Instance attributes shadow the environment's methods for this renderer only.
        env.getattr, env.getitem, env.finalize = getattr_, getitem, finalize  # type: ignore[method-assign]
        env.filters = {name: _traced_filter(facts, name, f) for name, f in env.filters.items()}

    def _template(self, clause: Clause, locale: str | None = None) -> Any:
        return _Traced(super()._template(clause, locale), self)

    def render(
        self,
        clause: Clause,
        context: dict[str, Any],
        tenant: Tenant,
        tenant_name: str,
        notes: list[str],
        language: str | None = None,
    ) -> RenderedClause:
        self.facts.index(tenant)
        self.last = None
        rendered = super().render(clause, context, tenant, tenant_name, notes, language)
        assert self.last is not None
        skeleton, sources, values, printed = self.last
        shown = _shown_notes(tenant, clause.id, notes)
        self.traces.append(ClauseTrace(clause, rendered, skeleton, sources, values, printed, shown))
        return rendered


def _shown_notes(tenant: Tenant, clause_id: str, texts: list[str]) -> list[int]:
    """Indexes in tenant.notes of the notes the renderer was given for this clause, in order.

    The renderer gets only their texts (already chosen by document), so match them back in order.
    """
    found: list[int] = []
    pending = iter(texts)
    wanted = next(pending, None)
    for i, note in enumerate(tenant.notes):
        if wanted is not None and note.clause == clause_id and note.text == wanted:
            found.append(i)
            wanted = next(pending, None)
    return found


# --- blocks from the traced Markdown -----------------------------------------------------------------------------


@dataclass
class _Open:
    kind: Kind
    level: int
    line: int  # first skeleton line (0-based)
    parts: list[str] = field(default_factory=list)


def _inline_text(token: Any) -> str:
    out: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return "".join(out)


def _skeleton_blocks(skeleton: str, raw_html: bool) -> list[_Open]:
    """The blocks of a clause's Markdown (headings, paragraphs, list items, table rows), in order."""
    found: list[_Open] = []
    containers: list[_Open] = []  # open list items and table rows
    target: _Open | None = None  # where the next inline content goes
    for token in markdown.parse(skeleton, raw_html):
        kind = token.type
        if kind == "heading_open":
            target = _Open("heading", int(token.tag[1]), token.map[0])
            found.append(target)
        elif kind == "paragraph_open":
            if containers and containers[-1].kind == "item":
                target = containers[-1]
            else:
                target = _Open("paragraph", 0, token.map[0])
                found.append(target)
        elif kind in ("list_item_open", "tr_open"):
            block = _Open("item" if kind == "list_item_open" else "row", 0, token.map[0])
            found.append(block)
            containers.append(block)
        elif kind in ("list_item_close", "tr_close"):
            containers.pop()
        elif kind in ("th_open", "td_open"):
            target = containers[-1]
        elif kind in ("fence", "code_block"):
            found.append(_Open("code", 0, token.map[0], [token.content]))
        elif kind == "html_block":
            found.append(_Open("paragraph", 0, token.map[0], [html_text(token.content)]))
        elif kind == "inline" and target is not None:
            target.parts.append(_inline_text(token))
    return [b for b in found if "".join(b.parts).strip()]


def _clause_blocks(trace: ClauseTrace, raw_html: bool, tenant: TenantSource) -> list[ExplainedBlock]:
    clause, rendered = trace.clause, trace.rendered
    blocks = [
        ExplainedBlock(
            "heading", rendered.title, FileLine(clause.file, _front_line(clause, "title")), clause.id, level=2
        )
    ]
    for block in _skeleton_blocks(trace.skeleton, raw_html):
        raw = " ".join(block.parts)
        numbers = [int(n) for n in TOKEN.findall(raw)]
        text = " ".join(TOKEN.sub(lambda m: trace.values[int(m.group(1))], raw).split())
        source = trace.sources[block.line] if block.line < len(trace.sources) else None
        paths = list(dict.fromkeys(trace.printed[n] for n in numbers if n in trace.printed))
        blocks.append(
            ExplainedBlock(
                block.kind, text, source or FileLine(clause.file, None), clause.id, _uses(tenant, paths), block.level
            )
        )
    # Notes stand where the renderer puts them: before the clause's first sub-heading.
    at = next((n for n, b in enumerate(blocks) if b.kind == "heading" and b.level >= 3), len(blocks))
    for i in reversed(trace.notes):
        path: KeyPath = ("notes", i, "text")
        blocks.insert(
            at,
            ExplainedBlock(
                "paragraph",
                " ".join(tenant.facts.notes[i].text.split()),
                FileLine(tenant.folder / "tenant.yaml", tenant.line_of(path)),
                clause.id,
                _uses(tenant, [path]),
            ),
        )
    return blocks


def _uses(tenant: TenantSource, paths: list[KeyPath]) -> tuple[FactUse, ...]:
    return tuple(FactUse(format_path(p), tenant.line_of(p)) for p in paths)


# --- whole documents ----------------------------------------------------------------------------------------------


def explain_document(
    project: Project, tenant: TenantSource, doc_id: str, renderer: TracingRenderer | None = None
) -> Explanation:
    """Every block of the tenant's document as the working text renders it, with its source."""
    from .project import document_title

    renderer = renderer or TracingRenderer(project.content)
    renderer.traces = []
    title = document_title(project, tenant, doc_id)
    render_document(renderer, tenant.slug, tenant.facts, doc_id, tenant.documents[doc_id], title)
    facts_file = tenant.folder / "tenant.yaml"
    body = [b for t in renderer.traces for b in _clause_blocks(t, renderer.raw_html, tenant)]
    page = [_title_block(project, tenant, doc_id, title), *_date_blocks(tenant)]
    page.extend(
        ExplainedBlock("contents", b.text, b.source, None, b.facts, b.level)
        for b in body
        if b.kind == "heading" and b.level in (2, 3)
    )
    return Explanation(tenant.slug, doc_id, title, facts_file, tuple(page + body))


def _title_block(project: Project, tenant: TenantSource, doc_id: str, title: str) -> ExplainedBlock:
    for i, doc in enumerate(tenant.facts.documents):
        if doc.id == doc_id and doc.title:
            path: KeyPath = ("documents", i, "title")
            return ExplainedBlock(
                "heading",
                title,
                FileLine(tenant.folder / "tenant.yaml", tenant.line_of(path)),
                level=1,
                facts=_uses(tenant, [path]),
            )
    file = project.library.documents[doc_id].folder / "document.yaml"
    return ExplainedBlock("heading", title, FileLine(file, _line_starting(file, "title:")), level=1)


def _date_blocks(tenant: TenantSource) -> list[ExplainedBlock]:
    dates, file = tenant.facts.dates, tenant.folder / "tenant.yaml"
    shown = [
        ("Effective", dates.effective, ("dates", "effective")),
        (
            "Last updated",
            dates.last_updated or dates.effective,
            ("dates", "last_updated" if dates.last_updated else "effective"),
        ),
    ]
    return [
        ExplainedBlock(
            "date",
            f"{label} {format_day(day, tenant.facts.locale)}",
            FileLine(file, tenant.line_of(path)),
            facts=_uses(tenant, [path]),
        )
        for label, day, path in shown
    ]


def _line_starting(file: Path, prefix: str) -> int | None:
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return next((i for i, line in enumerate(lines, 1) if line.startswith(prefix)), None)


def explain(
    root: Path, slug: str, document: str | None = None, renderer: TracingRenderer | None = None
) -> list[Explanation]:
    """`policygen explain`: the tenant's documents (or only *document*), block by block. A *renderer*
    kept from an earlier call (serve keeps one) reuses its compiled clauses."""
    project = load_project(root, [slug])
    tenant = project.tenants[slug]
    doc_ids = [tenant_document(tenant, document)] if document is not None else list(tenant.documents)
    if renderer is None or renderer.content != project.content:
        renderer = TracingRenderer(project.content)
    return [explain_document(project, tenant, d, renderer) for d in doc_ids]


def working_page(out: Path, page: Path) -> tuple[str, str] | None:
    """The (tenant, document) whose working text the built *page* shows, or None.

    That is a document's draft page, or the stable page of a document with no release yet;
    every other page shows a released version, whose text comes from its snapshot file.
    """
    try:
        found = document_page(page.resolve().relative_to(out.resolve()).as_posix())
    except ValueError:
        return None
    if found is None:
        return None
    paths, kind = found
    if kind == "stable":
        try:
            unreleased = b'<meta name="policygen:status" content="unreleased">' in page.read_bytes()
        except OSError:
            return None
        if not unreleased:
            return None
    return paths.slug, paths.doc


def explain_loaded(base: Project, slug: str, document: str, renderer: TracingRenderer) -> Explanation:
    """explain() of one document on a project whose settings and library are loaded already (serve's
    warm one): only the tenant is read, not the whole clause library again."""
    problems = Collector()
    tenant = load_tenant_source(base, slug, problems)
    problems.raise_if_any()
    assert tenant is not None  # no problems: loaded
    return explain_document(base, tenant, tenant_document(tenant, document), renderer)


def page_sources(
    root: Path, out: Path, page: Path, renderer: TracingRenderer | None = None, base: Project | None = None
) -> str | None:
    """The blocks of the working-text page *page* with their sources, as JSON safe inside a <script> element;
    *base*: the project without tenants, loaded already (with *renderer*), so only the tenant is read."""
    shown = working_page(out, page)
    if shown is None:
        return None
    slug, doc_id = shown
    if base is not None and renderer is not None and renderer.content == base.content:
        explanation = explain_loaded(base, slug, doc_id, renderer)
    else:
        explanation = explain(root, slug, doc_id, renderer)[0]
    text = json.dumps(explanation.to_json(root.resolve()), ensure_ascii=False, sort_keys=True)
    # Facts are text: '<', '>' and '&' as JSON escapes can never close the script element or start markup.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- output ----------------------------------------------------------------------------------------------------------


def format_json(explanations: list[Explanation], root: Path) -> str:
    data = {"generator": "policygen", "documents": [e.to_json(root.resolve()) for e in explanations]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def format_text(explanations: list[Explanation], root: Path, width: int = 100) -> str:
    root = root.resolve()
    lines: list[str] = []
    for e in explanations:
        lines.append(f"{e.tenant} / {e.document}: {e.title} (facts: {_relative(e.facts_file, root)})")
        for b in e.blocks:
            where = f"{_relative(b.source.file, root)}:{b.source.line or '?'}"
            text = b.text if len(b.text) <= width else b.text[: width - 1] + "…"
            lines.append(f"  {where}  {b.kind}{b.level or ''}  {text}")
            if b.facts:
                lines.append(
                    "      facts: " + ", ".join(f"{f.path}" + (f" (line {f.line})" if f.line else "") for f in b.facts)
                )
        lines.append(f"  {len(e.blocks)} block(s)")
    return "\n".join(lines) + "\n"


def _relative(file: Path, root: Path) -> str:
    try:
        return file.resolve().relative_to(root).as_posix()
    except ValueError:
        return file.as_posix()
