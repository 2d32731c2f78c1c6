"""Where a tenant's facts meet the clause library and become HTML.

Facts are text, never markup. Every value a clause prints with {{ ... }} is
replaced by an inert placeholder before Markdown runs, and put back, HTML-
escaped, after it. So '<', '*', '[' or '{{' in a fact shows literally, and the
Markdown of a clause (its "skeleton") is the same for every tenant whose facts
have the same shape: the Markdown renderer's cache serves them all.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from . import languages, markdown, readtrace
from .clauses import (
    SOURCE_LANGUAGE,
    Clause,
    Library,
    find_translation,
    is_translation,
    language_of,
)
from .dates import format_day
from .durations import Duration
from .errors import InputError, Problem, did_you_mean
from .facts import Tenant
from .lru import LRU
from .packaged import library_folders
from .paths import between_documents
from .sandbox import (
    CLAUSE_FILTERS,
    CLAUSE_LIMITS,
    KEPT_CODES,
    BoundedSandbox,
    CompiledCode,
    explain_failure,
    template_position,
)
from .vocabulary import (
    MARKED,
    CountryName,
    ForeignWord,
    country,
    duration,
    mark,
    mark_attributes,
    mixed,
    text_language,
)
from .wording import Joiner, has_bound, join_words, needs_article

# The clauses' and partials' translation files serve only pages in another language: translation_files is
# imported where such a page reads them, so a build of tenants without translations does not load it.
if TYPE_CHECKING:
    from .translation_files import Picked

OPEN, CLOSE = "\ue000", "\ue001"  # private-use characters: Markdown gives them no meaning
TOKEN = re.compile(OPEN + r"(\d+)" + CLOSE)
_values: contextvars.ContextVar[list[str]] = contextvars.ContextVar("policygen_fact_values")
_locale: contextvars.ContextVar[str] = contextvars.ContextVar("policygen_locale", default="en")


def as_text(value: Any) -> str:
    """How a fact value reads in a notice."""
    if isinstance(value, ForeignWord):
        # Kept as it is, so the page can mark its language (_fact_html); in a text in that language, plain.
        return value if value.lang != text_language.get() else str(value)
    if isinstance(value, CountryName):
        return country(value)
    if isinstance(value, Duration):
        return duration(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return format_day(value, _locale.get())
    if hasattr(value, "value") and not isinstance(value, str) and type(value).__module__ == "policygen.facts":
        return str(value.value)
    return str(value)


def _placeholder(text: str) -> Markup:
    values = _values.get()
    values.append(text)
    return Markup(f"{OPEN}{len(values) - 1}{CLOSE}")


def _fact_html(value: str, page_lang: str) -> str:
    """A fact's text in the page's body: escaped; a word in another language than its clause (a vocabulary's word
    the language lacks, a tenant's fact printed untranslated) marked with its lang, on a page in *page_lang*."""
    text = html.escape(value, quote=True)
    return mark(value, text, page_lang) if isinstance(value, ForeignWord) else text


def _put_facts(body: str, values: list[str], page_lang: str) -> str:
    """The rendered clause with each fact's placeholder replaced by its text. A fact inside a tag (an image's
    alt, an author's title="") is escaped text: a mark can only stand where text does, between tags."""
    if any(isinstance(v, ForeignWord) for v in values):
        plain = functools.partial(TOKEN.sub, lambda m: html.escape(values[int(m.group(1))], quote=True))
        body = _TAG.sub(lambda tag: plain(tag.group(0)), body)
    return TOKEN.sub(lambda m: _fact_html(values[int(m.group(1))], page_lang), body)


def placeholders() -> list[str]:
    """The fact values printed so far by the clause being rendered, by placeholder number.

    For tools that trace a render (policygen/explain.py); a build never calls it.
    """
    return _values.get()


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value  # produced by a macro or a link filter: already a safe skeleton
    if value is None:
        raise jinja2.TemplateRuntimeError("a fact printed here is not set (it is empty in tenant.yaml)")
    if isinstance(value, (list, tuple, dict)):
        raise jinja2.TemplateRuntimeError(
            "a list or mapping of facts is printed whole here; loop over it or use |join(', ')"
        )
    return _placeholder(as_text(value))


# --- filters that make links: the link text stays a placeholder, the target is checked ------------


def _link(target: str, text: Any) -> Markup:
    label = text if isinstance(text, Markup) else _placeholder(as_text(text))
    return Markup(f"[{label}](<{target}>)")


def f_mailto(value: str, text: Any = None) -> Markup:
    if not re.fullmatch(r"[^@\s<>()\[\]\\]+@[A-Za-z0-9.-]+", value):
        raise jinja2.TemplateRuntimeError(f"'{value}' is not an email address")
    return _link("mailto:" + quote(value, safe="@.+-_"), value if text is None else text)


def f_tel(value: str, text: Any = None) -> Markup:
    digits = re.sub(r"[^0-9+]", "", value)
    return _link("tel:" + digits, value if text is None else text)


def f_url(value: str, text: Any = None) -> Markup:
    if not re.match(r"https?://", value):
        raise jinja2.TemplateRuntimeError(f"'{value}' is not an http(s) address")
    return _link(quote(value, safe=":/?#@!$&'*+,;=%~-._"), value if text is None else text)


def f_join(items: Iterable[Any], sep: str = ", ", last: str | None = None) -> Markup:
    """Join facts into a list in prose, each item staying text: 'a, b and c'."""
    parts = [i if isinstance(i, Markup) else _placeholder(as_text(i)) for i in items]
    if last is not None and len(parts) > 1:
        return Markup(sep.join(parts[:-1]) + last + parts[-1])
    return Markup(sep.join(parts))


def _word_list(items: Iterable[Any], joiner: Joiner) -> Markup:
    parts = [str(i) if isinstance(i, Markup) else str(_placeholder(as_text(i))) for i in items]
    return Markup(join_words(parts, joiner, _locale.get()))


def f_list_and(items: Iterable[Any]) -> Markup:
    """'a, b and c' with the page language's word for "and"."""
    return _word_list(items, "and")


def f_list_or(items: Iterable[Any]) -> Markup:
    """'a, b or c' with the page language's word for "or"."""
    return _word_list(items, "or")


def f_country(value: Any) -> Markup:
    """A country inside a sentence, with its article when it takes one: 'the United Kingdom' (in English)."""
    text = as_text(value)
    english = language_of(_locale.get()) == SOURCE_LANGUAGE
    return Markup("the ") + _placeholder(text) if english and needs_article(text) else _placeholder(text)


def f_up_to(value: Any) -> Markup:
    """A duration as a limit: 'up to 90 days', never 'up to up to 90 days'; in the page's language."""
    text = as_text(value)
    if has_bound(str(value)):  # as written: a duration in another language carries its bound in its words
        return _placeholder(text)
    before, _, after = languages.words(_locale.get()).up_to.partition("{}")
    return Markup.escape(before) + _placeholder(text) + Markup.escape(after)


def f_date(value: dt.date, form: str = "long") -> Markup:
    return _placeholder(format_day(value, _locale.get(), form))


def f_stop(value: Any) -> Markup:
    """A fact that ends a sentence: add a full stop unless it already ends with one."""
    said = as_text(value)
    text = said.rstrip()
    stop = languages.words(_locale.get()).full_stop
    if text.endswith((".", "!", "?", ":", ";", stop)):
        stop = ""
    if isinstance(said, ForeignWord):  # the full stop is the sentence's, in the page's language: not marked
        return _placeholder(ForeignWord(text, said.lang)) + Markup.escape(stop)
    return _placeholder(text + stop)


def f_cell(value: Any) -> Markup:
    """A table cell: the rendered skeleton of a macro, with line breaks made safe for a pipe table."""
    text = value if isinstance(value, Markup) else _placeholder(as_text(value))
    return Markup(str(text).replace("\n", " ").replace("|", "\\|"))


class StrictUndefined(jinja2.StrictUndefined):
    """Undefined facts are errors, even in tests like 'is defined' misuse or in loops."""


# The filters policygen adds for clauses; with sandbox.CLAUSE_FILTERS, all a clause can use.
CLAUSE_OWN_FILTERS: dict[str, Callable[..., Any]] = {
    "mailto": f_mailto,
    "tel": f_tel,
    "url": f_url,
    "join": f_join,
    "date": f_date,
    "cell": f_cell,
    "stop": f_stop,
    "list_and": f_list_and,
    "list_or": f_list_or,
    "country": f_country,
    "up_to": f_up_to,
}


class TranslatedPartials(jinja2.FileSystemLoader):
    """Partials for a page in one language: `{% import "_partials/facts.md" %}` reads facts.<lang>.md
    when it is current (a stale one: the source, or an error when the project refuses stale translations)."""

    def __init__(self, folders: Iterable[Path], locale: str, refuse_stale: bool) -> None:
        super().__init__([str(f) for f in folders])
        self.locale, self.refuse_stale = locale, refuse_stale

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        from .translation_files import current_translation  # a page in another language: see the imports above

        source, filename, uptodate = super().get_source(environment, template)
        found = current_translation(Path(filename), self.locale, self.refuse_stale)
        if found is None:
            return source, filename, uptodate
        return found[1].body, str(found[0]), uptodate


def clause_environment(
    folders: Iterable[Path],
    locale: str | None = None,
    refuse_stale: bool = False,
    compiled: CompiledCode | None = None,
) -> BoundedSandbox:
    """The sandbox clauses, partials and 'when:' run in: tenant clauses are untrusted input.

    Partials are looked up in *folders* in order (clauses.library_folders: the project's, then the library's);
    with a *locale*, their translations into it first. *compiled*: code compiled by the other sandboxes of
    the same renderer, which are configured alike (sandbox.CompiledCode).
    """
    loader = (
        jinja2.FileSystemLoader([str(f) for f in folders])
        if locale is None
        else TranslatedPartials(folders, locale, refuse_stale)
    )
    env = BoundedSandbox(
        CLAUSE_LIMITS,
        CLAUSE_FILTERS,
        finalize=_finalize,
        loader=loader,
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=-1,
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
    )
    env.add_filters(CLAUSE_OWN_FILTERS)
    env.add_globals({"document_url": document_url})
    # What a render reads is recorded, so that its HTML serves every tenant whose facts read the same.
    env.context_class = readtrace.WatchedContext
    env.tests["sameas"] = readtrace.same_object
    env.compiled = compiled
    return env


@dataclass(frozen=True)
class Heading:
    id: str
    text: str


@dataclass(frozen=True)
class RenderedClause:
    id: str
    title: str
    order: int
    html: str
    headings: tuple[Heading, ...]
    file: Path


# What one renderer keeps of its renders for reuse, in bytes: past it, it starts again. A worker of a large site
# fills any budget (tenants that print their own name never share those clauses), so the budget is most of what a
# worker holds past its start, however many tenants it renders. A kept render is counted as its HTML (a byte a
# character: clause HTML is nearly all ASCII) and KEPT_RENDER, plus KEPT_STEP for each step of its record no other
# kept render shares (a node of readtrace.Shapes and the value read there): tests/test_memory.py measures a worker's
# kept renders against this count. 32 MB keep every render of a few thousand tenants.
REUSE_BUDGET = 32_000_000
KEPT_STEP = 450
KEPT_RENDER = 300


@dataclass(frozen=True)
class _Shown:
    """A render kept for reuse: the clause's HTML and its headings."""

    html: str
    headings: tuple[Heading, ...]


# A clause render is reused for tenants whose facts it reads are the same, in the same page language, with the
# same notes, when the context has the same names standing for the tenant's own facts (a when: likewise).
_ShapeKey = tuple[Any, ...]


class ClauseRenderer:
    """Compiles each clause template once and renders it for any tenant; a render is reused for every tenant
    whose facts it reads are the same (policygen/readtrace.py)."""

    reuses_renders = True  # a renderer that watches each render itself (explain's) sets this False

    def __init__(self, content: Path, raw_html: bool | None = None, packaged: Path | None = None) -> None:
        self.content = content
        self.packaged = packaged  # None: the library this policygen ships
        # Every renderer of a project (site, check, release) must agree, so the setting is read here.
        self.raw_html = _project_allows_html(content.parent) if raw_html is None else raw_html
        self.refuse_stale = _project_refuses_stale(content.parent)
        self.compiled = CompiledCode()  # shared by its sandboxes: a source is compiled once for every language
        self.env = clause_environment(library_folders(content, packaged), compiled=self.compiled)
        self._language_envs: dict[str, BoundedSandbox] = {}  # by locale: partials read in that language
        # Templates and when: conditions by clause (a tenant's own too: bounded as their code is, sandbox.KEPT_CODES)
        self._templates: LRU[tuple[Path, str, str | None], jinja2.Template] = LRU(KEPT_CODES)
        self._conditions: LRU[str, Any] = LRU(KEPT_CODES)
        self._acyclic: set[str] = set()  # partials already shown not to lead into a cycle
        self._referenced: LRU[str, tuple[str, ...]] = LRU(KEPT_CODES)  # by template text: the partials it uses
        self._stale_partials: dict[tuple[Path, str, str], bool] = {}  # by translated clause and locale
        self._picked: dict[tuple[Path, str, str], Picked] = {}  # by clause and locale, for one build (warm_renderer)
        self.partials: Mapping[str, str] = {}  # the partials' digests it was made for (warm_renderer)
        self._clauses_read: dict[_ShapeKey, readtrace.Shapes[_Shown]] = {}
        self._conditions_read: dict[_ShapeKey, readtrace.Shapes[bool]] = {}  # a clause's when:, by expression
        self._steps: dict[readtrace.Step, readtrace.Step] = {}  # the steps their records take, each held once
        self._kept = 0  # bytes kept for reuse, as _keep counts them
        self._facts: readtrace.Facts | None = None  # the last context's values, worked out once per context
        self.renders = 0  # templates run (not reused), for tests and benchmarks

    def __reduce__(self) -> tuple[type[ClauseRenderer], tuple[Path, bool, Path | None]]:
        # Build workers get a fresh renderer: compiled templates and the sandbox stay in their process.
        return (ClauseRenderer, (self.content, self.raw_html, self.packaged))

    def language_env(self, locale: str | None) -> BoundedSandbox:
        """The sandbox a translated clause renders in: its partials are read in the page's language."""
        if locale is None:
            return self.env
        env = self._language_envs.get(locale)
        if env is None:
            folders = library_folders(self.content, self.packaged)
            env = self._language_envs[locale] = clause_environment(folders, locale, self.refuse_stale, self.compiled)
        return env

    def _template(self, clause: Clause, locale: str | None = None) -> jinja2.Template:
        key = (clause.file, clause.digest, locale)  # a translation's partials are read in its page's locale
        template = self._templates.get(key)
        env = self.language_env(locale)
        if template is None:
            name = str(clause.file)
            try:
                code = env.compile(clause.body, name=name, filename=name)
            except jinja2.TemplateSyntaxError as exc:
                raise InputError(
                    [
                        Problem(
                            f"template syntax error: {exc.message}",
                            file=clause.file,
                            line=exc.lineno,
                            expected="valid Jinja",
                            suggestion=_syntax_hint(exc.message or "", self.env),
                        )
                    ]
                ) from None
            cycle = self._import_cycle(clause.body, [], name, name)
            if cycle:
                raise InputError([cycle])
            template = jinja2.Template.from_code(env, code, env.make_globals(None))
            self._templates.put(key, template)
        return template

    def compile_clauses(self, library: Library) -> None:
        """Compile every clause of *library* in its source language and its 'when:' conditions now, before any
        render: a build's worker processes start as copies of this process (engine.compile_ahead) and so find
        them compiled. Translations are not: which languages the tenants publish is known only once their files
        are read, and compiling every translation ahead would cost more than it saves; a worker compiles those
        its pages use, each once for all its tenants. A template that does not compile is left to the render that
        uses it, which reports it where it stands (hence every error is suppressed)."""
        for document in library.documents.values():
            for clause in document.clauses.values():
                with contextlib.suppress(Exception):
                    self._template(clause)
                if clause.meta.when:
                    with contextlib.suppress(Exception):
                        self._condition(clause)

    def compile_partials(self, library: Library) -> None:
        """Compile the library's partials (in their source language) now, as compile_clauses its clauses."""
        for name in library.partials:
            if not is_translation(name.rpartition("/")[2]):
                with contextlib.suppress(Exception):
                    self.env.get_template(name)

    def start_build(self) -> None:
        """Forget what a build reads once for all its tenants: a clause's translation may have changed since."""
        self._picked.clear()

    def picked(self, clause: Clause, locale: str) -> Picked:
        """What a *locale* page shows for *clause* (translation_files.pick), read once per build for all
        tenants: the translation's file is read and its source hashed for the first tenant only. Kept
        until the next build (warm_renderer forgets it), which reads translations again."""
        key = (clause.file, clause.digest, locale)
        found = self._picked.get(key)
        if found is None:  # a stale translation the project refuses raises, located, every time
            from .translation_files import pick  # a page in another language: see the imports above

            found = self._picked[key] = pick(clause, locale, self.refuse_stale)
        return found

    def _references(self, source: str, name: str | None = None, filename: str | None = None) -> tuple[str, ...]:
        """The partials *source* imports or includes, found once per text (for every tenant and language, and
        for the worker processes when compile_clauses found them): as compiling it as the template *name* from
        *filename* found them, kept with its code between builds (BoundedSandbox.referenced), else parsed;
        TemplateSyntaxError if it does not parse."""
        found = self._referenced.get(source)
        if found is None:
            found = self.env.referenced(source, name, filename)
            self._referenced.put(source, found)  # a tenant's own text, or an edit in serve, is let go in time
        return found

    def _import_cycle(
        self, source: str, chain: list[str], template: str | None = None, file: str | None = None
    ) -> Problem | None:
        """A Problem if the partials this source (compiled as *template* from *file*) imports or includes lead
        back to one in *chain*.

        Jinja would recurse until Python gives up; the chain of file names says what to fix.
        """
        try:
            names = list(self._references(source, template, file))
        except jinja2.TemplateSyntaxError:
            return None  # reported when that partial is compiled
        for name in sorted(set(names)):
            if name in chain:
                loop = [*chain[chain.index(name) :], name]
                first = Path(self.env.loader.get_source(self.env, loop[0])[1] or loop[0])  # type: ignore[union-attr]
                return Problem(
                    "partials import each other in a cycle: " + " -> ".join(loop),
                    file=first,
                    line=_line_of(first, loop[1]),
                    expected="imports and includes that never lead back to the same file",
                    suggestion=f"remove the import of {loop[0]} from itself"
                    if len(loop) == 2
                    else f"move what {loop[0]} needs from {loop[1]} into a third partial both can import",
                )
            if name in self._acyclic:
                continue
            try:
                partial, partial_file, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                continue  # reported, with a suggestion, when the clause renders
            found = self._import_cycle(partial, [*chain, name], name, partial_file)
            if found:
                return found
            self._acyclic.add(name)
        return None

    def reads_stale_partial(self, clause: Clause, locale: str) -> bool:
        """Whether a translated clause imports, directly or through partials, a partial whose *locale*
        translation is stale: its page then shows the clause in the source language with the stale note
        (or, when the project refuses stale translations, the build stops at that partial's translates:)."""
        key = (clause.file, clause.digest, locale)
        if key not in self._stale_partials:
            # Compiled first, for its page: compiling finds the partials it imports, so its text is parsed once.
            # One that does not compile is reported by the render that compiles it again.
            with contextlib.suppress(Exception):
                self._template(clause, locale)
            name = str(clause.file)  # as _template compiles it
            self._stale_partials[key] = self._imports_stale(clause.body, locale, (), name, name)
        return self._stale_partials[key]

    def _imports_stale(
        self, source: str, locale: str, chain: tuple[str, ...], template: str | None = None, file: str | None = None
    ) -> bool:
        try:
            names = set(self._references(source, template, file))
        except jinja2.TemplateSyntaxError:
            return False  # reported when the clause is compiled
        loader = self.env.loader
        assert loader is not None  # clause_environment always sets one
        from .translation_files import current_translation  # a page in another language: see the imports above

        for name in sorted(names - set(chain)):  # a cycle is reported when the clause is compiled
            try:
                partial, filename, _ = loader.get_source(self.env, name)
            except jinja2.TemplateNotFound:
                continue  # reported, with a suggestion, when the clause renders
            path = Path(filename or name)  # a file system loader always names the file
            found = current_translation(path, locale, self.refuse_stale)
            if found is None and find_translation(path, locale) is not None:
                return True
            # As the page's sandbox compiles it (TranslatedPartials.get_source): its references are then kept.
            inner = (found[1].body, name, str(found[0])) if found else (partial, name, filename)
            with contextlib.suppress(Exception):  # compiled for the page now, as the clause: parsed once
                self.language_env(locale).get_template(name)
            if self._imports_stale(inner[0], locale, (*chain, name), inner[1], inner[2]):
                return True
        return False

    def _condition(self, clause: Clause) -> Any:
        expr = clause.meta.when
        assert expr is not None
        compiled = self._conditions.get(expr)
        if compiled is None:
            try:
                # Keep Undefined as it is: a misspelt fact must fail, not quietly read as false.
                compiled = self.env.compile_expression(expr, undefined_to_none=False)
            except jinja2.TemplateSyntaxError as exc:
                raise InputError([_when_problem(clause, f"'when' is not a valid expression: {exc.message}")]) from None
            self._conditions.put(expr, compiled)
        return compiled

    def applies(self, clause: Clause, context: dict[str, Any], tenant_name: str) -> bool:
        if not clause.meta.when:
            return True
        condition = self._condition(clause)
        shapes, facts = self._reuse(("when", clause.meta.when, _locale.get()), context, self._conditions_read)
        if shapes is not None and facts is not None:
            found = shapes.find(facts)
            if found is not None:
                return bool(found)
        recorder = readtrace.Recorder(context, facts.aliases) if facts is not None else None
        try:
            with readtrace.recording(recorder):
                holds = bool(self.env.evaluate(condition, context))
        except jinja2.UndefinedError as exc:
            message, expected, hint = _explain(exc, self.env, context)
            problem = _when_problem(clause, f"tenant '{tenant_name}': 'when' uses an undefined fact: {message}")
            raise InputError(
                [replace(problem, expected=expected, suggestion=hint or "guard it: 'when: parent and parent.fact'")]
            ) from None
        except Exception as exc:
            message, expected, hint = _explain(exc, self.env, context)
            problem = _when_problem(clause, f"tenant '{tenant_name}': 'when' cannot be evaluated: {message}")
            expected = expected or "an expression over the facts that is true or false"
            raise InputError([replace(problem, expected=expected, suggestion=hint)]) from None
        if shapes is not None and recorder is not None and recorder.reusable:
            self._keep(shapes, recorder.reads, holds, 0)
        return holds

    def render(
        self,
        clause: Clause,
        context: dict[str, Any],
        tenant: Tenant,
        tenant_name: str,
        notes: list[str],
        language: str | None = None,
    ) -> RenderedClause:
        """The clause as HTML; *language*: a translated clause for a page in that locale (None: the source)."""
        template = self._template(clause, language)
        env = self.language_env(language)
        locale = (language or tenant.locale).replace("-", "_")
        # A note printed untranslated (a ForeignWord) renders otherwise than the same text translated.
        key = (clause.file, clause.digest, language, locale, tuple((n, getattr(n, "lang", None)) for n in notes))
        shapes, facts = self._reuse(key, context, self._clauses_read)
        if shapes is not None and facts is not None:
            shown = shapes.find(facts)
            if shown is not None:
                return RenderedClause(
                    clause.id, clause.meta.title, clause.meta.order, shown.html, shown.headings, clause.file
                )
        recorder = readtrace.Recorder(context, facts.aliases) if facts is not None else None
        values: list[str] = []
        token = _values.set(values)
        locale_token = _locale.set(locale)
        # Vocabulary words follow the clause's text: a translation's language, else the source's.
        language_token = text_language.set(language_of(language) if language else SOURCE_LANGUAGE)
        self.renders += 1
        try:
            with readtrace.recording(recorder):
                skeleton = env.render(template, context)
        except InputError:
            raise
        except Exception as exc:
            file, line = template_position(exc)
            file = file or clause.file
            message, expected, hint = _explain(exc, env, context)
            raise InputError(
                [
                    Problem(
                        f"tenant '{tenant_name}': {message}", file=file, line=line, expected=expected, suggestion=hint
                    )
                ]
            ) from None
        finally:
            _values.reset(token)
            _locale.reset(locale_token)
            text_language.reset(language_token)
        body = markdown.render_html(skeleton) if self.raw_html else markdown.render(skeleton)
        misplaced = _facts_in_attributes(body, values, clause, tenant_name)
        if misplaced:
            raise InputError(misplaced)
        body = _put_facts(body, values, locale)
        if self.raw_html:
            # After the facts are in, so a fact inside an author's href="" is checked like any URL.
            body = markdown.sanitize(body)
        if notes:
            body = _with_notes(body, notes, language_of(language) if language else SOURCE_LANGUAGE, locale)
        body, headings = _anchor_headings(_label_tables(body), clause.id)
        if shapes is not None and recorder is not None and recorder.reusable:
            self._keep(shapes, recorder.reads, _Shown(body, headings), len(body))
        return RenderedClause(clause.id, clause.meta.title, clause.meta.order, body, headings, clause.file)

    def _reuse(
        self, key: tuple[Any, ...], context: dict[str, Any], kept: dict[_ShapeKey, readtrace.Shapes[Any]]
    ) -> tuple[readtrace.Shapes[Any] | None, readtrace.Facts | None]:
        """The renders kept under *key* (with this context's names for the tenant's own facts), and this
        context's values to look them up by."""
        if not self.reuses_renders:
            return None, None
        if self._facts is None or not self._facts.holds(context):
            self._facts = readtrace.Facts(context)
        full = (*key, self._facts.names)
        shapes = kept.get(full)
        if shapes is None:
            shapes = kept[full] = readtrace.Shapes(self._steps)
        return shapes, self._facts

    def _keep(self, shapes: readtrace.Shapes[Any], reads: list[readtrace.Read], result: Any, characters: int) -> None:
        """Keep *result* (of *characters* of HTML) for reuse under its *reads*, within REUSE_BUDGET."""
        if self._kept + characters + KEPT_RENDER + KEPT_STEP * len(reads) > REUSE_BUDGET:  # bounded, whatever differs
            self._clauses_read.clear()
            self._conditions_read.clear()
            self._steps.clear()  # a name only one tenant's own clause looks up is held no longer than its render
            self._kept = 0
            return
        self._kept += characters + KEPT_RENDER + KEPT_STEP * shapes.add(reads, result)


def _with_notes(body: str, notes: list[str], text_lang: str, page_lang: str) -> str:
    """The tenant's notes in their clause: after the clause's own text, before its first sub-heading. A note
    printed untranslated in a clause in another language (*text_lang*) is marked with its lang.

    At the very end they would read as part of whatever sub-section came last.
    """
    block = "".join(
        f'<p class="note"{mark_attributes(n, page_lang) if isinstance(n, ForeignWord) and n.lang != text_lang else ""}>'
        f"{html.escape(n)}</p>\n"
        for n in notes
    )
    first = re.search(r"<h[3-6][ >]", body)
    return body + block if first is None else body[: first.start()] + block + body[first.start() :]


# --- facts inside an author's HTML attributes ------------------------------------------------------------

# A start tag of the rendered clause, and one attribute in it. Text '<' is escaped by then, so
# every '<' that starts a tag is the author's raw HTML or Markdown's own.
_TAG = re.compile(
    r"""<([A-Za-z][^\s/>]*)((?:\s+(?:[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?|/))*)\s*/?>"""
)
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
# Attributes whose value a browser follows or loads.
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "cite",
        "poster",
        "background",
        "srcset",
        "xlink:href",
        "data",
        "longdesc",
        "ping",
        "manifest",
        "codebase",
        "usemap",
        "icon",
    }
)
# What a link may be: what the url, mailto and tel filters make (never //host, javascript: or a path).
LINK_TARGET = re.compile(r"(?:https?://|mailto:|tel:)")
# Markdown percent-encodes a placeholder put into a link destination: [text]({{ fact }}).
ENCODED_TOKEN = re.compile(re.escape(quote(OPEN)) + r"\d+" + re.escape(quote(CLOSE)))


def _facts_in_attributes(body: str, values: list[str], clause: Clause, tenant_name: str) -> list[Problem]:
    """A Problem for each fact the clause puts into an attribute where it could become a live link."""
    problems: list[Problem] = []
    for tag in _TAG.finditer(body):
        if OPEN not in tag.group(0) and not ENCODED_TOKEN.search(tag.group(0)):
            continue
        for attribute in _ATTRIBUTE.finditer(tag.group(2)):
            problem = _attribute_problem(tag.group(1).lower(), attribute, values)
            if problem:
                problems.append(
                    replace(
                        problem,
                        message=f"tenant '{tenant_name}': {problem.message}",
                        file=clause.file,
                        line=_attribute_line(clause.body, attribute.group(1)),
                    )
                )
    return problems


def _attribute_problem(element: str, attribute: re.Match[str], values: list[str]) -> Problem | None:
    name = attribute.group(1).lower()
    quoted = attribute.group(2) if attribute.group(2) is not None else attribute.group(3)
    unquoted = attribute.group(4)
    if ENCODED_TOKEN.search(attribute.group(0)):
        return Problem(
            f"a fact is the target of a Markdown link in <{element}>; it would not be put in",
            expected="links to facts made with the url, mailto or tel filter",
            suggestion="write {{ fact|url }} (or |mailto, |tel) instead of [text]({{ fact }})",
        )
    if OPEN in name or (unquoted is not None and OPEN in unquoted):
        return Problem(
            f"a fact is in the unquoted attribute {name} of <{element}>, where it could add attributes",
            expected="a fact only inside a quoted attribute value",
            suggestion=f'put the value in quotes: {name}="{{{{ ... }}}}"',
        )
    if quoted is None or OPEN not in quoted or name not in URL_ATTRIBUTES:
        return None  # a fact in a quoted title="" is escaped text
    target = TOKEN.sub(lambda m: values[int(m.group(1))], html.unescape(quoted))
    if LINK_TARGET.match(target):
        return None
    shown = target if len(target) <= 80 else target[:77] + "..."
    return Problem(
        f"a fact in the {name} of <{element}> makes the link '{shown}', which is not an http(s), "
        "mailto: or tel: address",
        expected="a link target that starts with http://, https://, mailto: or tel: "
        "(the url filter's rule: no //host, javascript: or relative paths)",
        suggestion="make links to facts with {{ fact|url }}, {{ fact|mailto }} or {{ fact|tel }}, "
        "or start the attribute with the scheme the fact lacks",
    )


def _attribute_line(source: str, attribute: str) -> int | None:
    """The line of the clause that puts a fact into *attribute* (the first one, if several do)."""
    pattern = re.compile(rf"""{re.escape(attribute)}\s*=\s*["']?[^"'>]*\{{\{{|\]\(\s*<?\{{\{{""", re.I)
    return next((i for i, line in enumerate(source.splitlines(), 1) if pattern.search(line)), None)


_SUBHEADING = re.compile(r"<h([3-6])>(.*?)</h\1>", re.S)


# A fact printed untranslated in a page's body (_put_facts): its span, marked with the fact's language.
def _heading_text(inner: str) -> str:
    """A sub-heading's text for the table of contents, from its HTML: each fact in it that the page marks
    with its language kept as a ForeignWord (a MixedText), so the contents mark it too (`|marked(lang)`)."""
    parts: list[str] = []
    at = 0
    for match in MARKED.finditer(inner):
        parts += [_plain(inner[at : match.start()]), ForeignWord(_plain(match[2]), match[1])]
        at = match.end()
    return mixed(*parts, _plain(inner[at:]))


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _anchor_headings(body: str, clause_id: str) -> tuple[str, tuple[Heading, ...]]:
    """Give headings inside a clause stable ids derived from the clause id and their text."""
    found: list[Heading] = []
    seen: dict[str, int] = {}

    def add(match: re.Match[str]) -> str:
        text = re.sub(r"<[^>]+>", "", match.group(2))
        slug = re.sub(r"[^a-z0-9]+", "-", html.unescape(text).lower()).strip("-") or "section"
        anchor = f"{clause_id}-{slug}"
        seen[anchor] = seen.get(anchor, 0) + 1
        if seen[anchor] > 1:
            anchor += f"-{seen[anchor]}"
        if match.group(1) == "3":
            found.append(Heading(anchor, _heading_text(match.group(2))))
        return f'<h{match.group(1)} id="{anchor}">{match.group(2)}</h{match.group(1)}>'

    return _SUBHEADING.sub(add, body), tuple(found)


_TABLE = re.compile(r"<table>(.*?)</table>", re.S)


def _label_tables(body: str) -> str:
    """Wrap tables for narrow screens and label each cell with its column, so rows can stack."""

    def one(match: re.Match[str]) -> str:
        table = match.group(1)
        head = re.search(r"<thead>(.*?)</thead>", table, re.S)
        labels = re.findall(r"<th[^>]*>(.*?)</th>", head.group(1), re.S) if head else []
        labels = [html.escape(re.sub(r"<[^>]+>", "", label), quote=True) for label in labels]

        def row(m: re.Match[str]) -> str:
            cells = iter(labels)
            return re.sub(r"<td([^>]*)>", lambda c: f'<td{c.group(1)} data-label="{next(cells, "")}">', m.group(0))

        table = re.sub(r"<tr>.*?</tr>", row, table, flags=re.S) if labels else table
        return f'<div class="table-scroll"><table>{table}</table></div>'

    return _TABLE.sub(one, body)


def _project_refuses_stale(root: Path) -> bool:
    from .project import load_config

    try:
        return load_config(root).stale_translations == "refuse"
    except InputError:
        return False  # reported when the project is loaded


def _project_allows_html(root: Path) -> bool:
    from .project import load_config

    try:
        return load_config(root).raw_html
    except InputError:
        return False  # the project loader reports a broken policygen.yaml


_NO_ATTRIBUTE = re.compile(r"'(?:[\w.]+\.)?(\w+) object' has no attribute '([^']+)'")
_NOT_DEFINED = re.compile(r"'([^']+)' is undefined")


def _explain(exc: Exception, env: jinja2.Environment, context: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """What went wrong while rendering a clause: (message, expected, hint)."""
    from . import facts

    if isinstance(exc, jinja2.UndefinedError):
        attribute = _NO_ATTRIBUTE.search(exc.message or "")
        model = getattr(facts, attribute.group(1), None) if attribute else None
        if attribute and isinstance(model, type) and hasattr(model, "model_fields"):
            known = sorted(model.model_fields)
            return (
                f"{attribute.group(1)} has no fact '{attribute.group(2)}'",
                f"a fact of {attribute.group(1)} (`policygen schema` lists them all)",
                did_you_mean(attribute.group(2), known),
            )
        name = _NOT_DEFINED.search(exc.message or "")
        if name:
            known = sorted(context)
            return (
                f"'{name.group(1)}' is not a fact or a name the clause defines",
                "a top-level fact of tenant.yaml, or a name set with {% set %}, {% import %} or a loop",
                did_you_mean(name.group(1), known),
            )
        return f"undefined fact: {exc.message}", None, "guard it with {% if ... %} in the clause"
    if isinstance(exc, jinja2.TemplateSyntaxError):  # in a partial, met when the clause imports it
        return f"template syntax error: {exc.message}", "valid Jinja", _syntax_hint(exc.message or "", env)
    if isinstance(exc, jinja2.TemplateNotFound):
        partials = sorted(
            n for n in env.list_templates() if n.startswith("_partials/") and not is_translation(n.split("/")[-1])
        )
        return (
            f"imports or includes '{exc.name}', which does not exist",
            "one of: " + (", ".join(partials) or "none"),
            did_you_mean(str(exc.name), partials),
        )
    if isinstance(exc, jinja2.TemplateRuntimeError) and "is not set" in str(exc):
        return (
            str(exc),
            "every fact the clause prints to be set in tenant.yaml",
            "add the fact, or guard it with {% if ... %} in the clause",
        )
    return explain_failure(exc)


def _syntax_hint(message: str, env: jinja2.Environment) -> str | None:
    unknown = re.search(r"No (filter|test) named '([^']+)'", message)
    if unknown:
        names = sorted(env.filters if unknown.group(1) == "filter" else env.tests)
        return did_you_mean(unknown.group(2), names) or f"{unknown.group(1)}s: " + ", ".join(names)
    if "end of template" in message or "Encountered unknown tag" in message:
        return "check that every {% if %} / {% for %} / {% macro %} has its {% end... %}"
    return None


def _line_of(file: Path, needle: str) -> int | None:
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return next((i for i, line in enumerate(lines, 1) if needle in line), None)


def _when_problem(clause: Clause, message: str) -> Problem:
    """A problem with a clause's `when:`, located at that line of its front matter."""
    return Problem(message, file=clause.file, line=_front_line(clause, "when"), key_path="when")


def _front_line(clause: Clause, key: str) -> int | None:
    for i, line in enumerate(clause.body.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return i
    try:
        text = clause.file.read_text(encoding="utf-8")
    except OSError:
        return None
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return i
    return None


def fact_context(tenant: Tenant) -> dict[str, Any]:
    """The names a clause can use: every top-level fact, plus the whole tenant."""
    context: dict[str, Any] = {name: getattr(tenant, name) for name in type(tenant).model_fields}
    context["tenant"] = tenant
    return context


# --- links between one tenant's documents ---------------------------------------------------------------
# A clause's link is written for its document's stable page in the authoritative language (paths.DocumentPaths.stable:
# <slug>/<doc>/index.html), document_url's too; a document in another language moves them to its own stable page
# (translated.translated_document), and a page elsewhere (an archived version, the draft, an app's snippet)
# rebases them with links.rebase_links.


@jinja2.pass_context
def document_url(context: jinja2.runtime.Context, doc_id: str) -> Markup | None:
    """A clause's link to the tenant's document *doc_id* in the page's language, from this document's stable page in
    the authoritative language; None when it is not published."""
    tenant = context.get("tenant")
    if not isinstance(tenant, Tenant) or not tenant.publishes(doc_id):
        return None
    # The page's language: a translated page links to the other document in the same language.
    segment = languages.language_segment(_locale.get().replace("_", "-"), tenant.locale.replace("_", "-"))
    # The id is one of the tenant's documents, a validated Id ([a-z0-9_-]): safe in a link as it is.
    return Markup(document_href(doc_id, segment))


def document_href(doc_id: str, language: str | None = None) -> str:
    """The link from one document's stable page (in the authoritative language) to the stable page of the same
    tenant's document *doc_id* in the language folder *language* (None: the authoritative language's pages)."""
    return between_documents("_", doc_id, language)  # the same from every document: they are siblings


@dataclass(frozen=True)
class RenderedDocument:
    """One document of one tenant, rendered from today's clauses and facts."""

    tenant: str
    id: str
    title: str
    clauses: tuple[RenderedClause, ...]


def render_document(
    renderer: ClauseRenderer,
    slug: str,
    tenant: Tenant,
    doc_id: str,
    clauses: dict[str, Clause],
    title: str,
    language: str | None = None,
) -> RenderedDocument:
    """Render the clauses that apply to this tenant, in order, with its notes placed in them.

    *language*: a locale the tenant publishes other than its authoritative one; each clause is read from
    its translation, or shown in the source language with a note in the reader's language (stale or missing).
    """
    context = fact_context(tenant)
    context["document"] = {"id": doc_id, "title": title}
    notes: dict[str, list[str]] = {}
    for note in tenant.notes:
        if note.document in (None, doc_id):
            notes.setdefault(note.clause, []).append(note.text)
    problems: list[Problem] = []
    rendered: list[RenderedClause] = []
    for clause in clauses.values():
        try:
            if renderer.applies(clause, context, slug):
                if language is None:
                    rendered.append(renderer.render(clause, context, tenant, slug, notes.get(clause.id, [])))
                else:
                    rendered.append(_render_translated(renderer, clause, context, tenant, slug, notes, language))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return RenderedDocument(slug, doc_id, title, tuple(rendered))


def _render_translated(
    renderer: ClauseRenderer,
    clause: Clause,
    context: dict[str, Any],
    tenant: Tenant,
    slug: str,
    notes: dict[str, list[str]],
    language: str,
) -> RenderedClause:
    picked = renderer.picked(clause, language)
    use = picked.use
    if use == "translated" and renderer.reads_stale_partial(picked.clause, language):
        use = "stale"  # its words would be half the source's: the whole clause is shown in the source language
    if use == "translated":
        return renderer.render(picked.clause, context, tenant, slug, notes.get(clause.id, []), language)
    # The source text, marked as such: the reader is told why, in their language.
    shown = renderer.render(clause, context, tenant, slug, notes.get(clause.id, []))
    note = html.escape(languages.note(language, "stale_note" if use == "stale" else "missing_note"), quote=False)
    source = html.escape(SOURCE_LANGUAGE)
    body = f'<p class="note translation-note">{note}</p>\n<div lang="{source}" dir="ltr">\n{shown.html}</div>\n'
    return replace(shown, html=body)


def warm_renderer(warm: ClauseRenderer | None, library: Library) -> ClauseRenderer:
    """*warm* while its content folder and every partial are as they were when it was made; else a new
    renderer. Its compiled templates, reused renders and stale-partial answers are keyed by clause, and a
    clause reads its partials: an edited partial (or partial translation) must be compiled and read again."""
    if warm is not None and warm.content == library.root and warm.partials == library.partials:
        warm.start_build()
        return warm
    renderer = ClauseRenderer(library.root)
    renderer.partials = dict(library.partials)
    return renderer
