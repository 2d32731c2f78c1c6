"""The bounded Jinja sandbox every template runs in: clauses, 'when:' conditions and themes.

Tenant clause files and 'when:' expressions come from client organisations and pull
requests, so a template must never run code, change the facts, read or write files, or
exhaust the build. Jinja's ImmutableSandboxedEnvironment already refuses Python internals
(attributes starting with '_', '__globals__', '__mro__', ...) and methods that change a
list or dict. On top of it this sandbox:

- calls only what policygen documents: macros, caller(), the globals range(), dict() and
  namespace(), the query methods of the facts (tenant.category(id), ...), and read-only
  methods of text, mappings and dates; every other callable is refused;
- offers only the filters listed in CLAUSE_FILTERS / THEME_FILTERS, each checked for the
  size of what it makes;
- bounds the work of one render (Limits): loop steps and calls, macro nesting, the size of
  any value an operator, filter or method makes (so 'x'*10**9 and 10**10**10 are refused
  before they are computed), and the characters written or handled ("volume").

A violation raises TemplateLimit or jinja2's SecurityError, which the renderers report as
located problems. The bounds count steps, never time, so a build that passes on one
machine passes on every machine.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, overload

import jinja2
import jinja2.meta
from jinja2 import nodes
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as DEFAULT_FILTERS
from jinja2.parser import Parser
from jinja2.runtime import BlockReference, LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from .lru import LRU


@dataclass(frozen=True)
class Limits:
    """How much work one render of one template may do."""

    steps: int  # loop iterations plus calls
    volume: int  # characters and items written, or read and made by filters, methods and operators
    size: int  # characters (or items) of one value made by an operator, filter or method
    depth: int  # macros, recursive loops and blocks called inside one another
    range: int  # numbers in one range()
    bits: int  # bits of an integer made by * or **


# A clause renders one section for one tenant; the library's largest takes a few hundred steps
# and a few thousand characters of volume.
CLAUSE_LIMITS = Limits(steps=25_000, volume=1_000_000, size=100_000, depth=40, range=10_000, bits=64)
# A theme page holds a whole document (or a site index of every tenant).
THEME_LIMITS = Limits(steps=500_000, volume=50_000_000, size=10_000_000, depth=40, range=100_000, bits=64)


class TemplateLimit(SecurityError):
    """A template tried to do more work than its Limits allow."""


@dataclass
class _Budget:
    limits: Limits
    steps: int = 0
    volume: int = 0
    depth: int = 0

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > self.limits.steps:
            raise TemplateLimit(f"the template runs more than {self.limits.steps} loop steps and calls")

    def handle(self, amount: int) -> None:
        self.volume += amount
        if self.volume > self.limits.volume:
            raise TemplateLimit(f"the template writes or handles more than {self.limits.volume} characters")

    def made(self, value: Any) -> Any:
        """*value*, counted, if it is no bigger than one value may be."""
        if isinstance(value, (str, list, tuple, dict, set, frozenset)):
            self.handle(len(value))
        return check_size(value, self.limits)

    def enter(self) -> None:
        """One call deeper; leave() when it returns."""
        if self.depth >= self.limits.depth:
            raise TemplateLimit(
                f"the template calls macros (or blocks, or recursive loops) more than {self.limits.depth} deep"
            )
        self.depth += 1

    def leave(self) -> None:
        self.depth -= 1


# Values an attribute read must hand to Jinja's own getattr (BoundedSandbox.getattr): it wraps str.format.
_METHODS = (types.MethodType, types.BuiltinMethodType)

_budget: ContextVar[_Budget | None] = ContextVar("policygen_template_budget", default=None)


def _current() -> _Budget:
    budget = _budget.get()
    if budget is None:  # pragma: no cover - every render goes through BoundedSandbox.render/evaluate
        raise RuntimeError("a sandboxed template ran outside BoundedSandbox.render")
    return budget


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple, dict, set, frozenset, range)) else 0


def check_size(value: Any, limits: Limits) -> Any:
    """*value*, if it is no bigger than one value may be."""
    if isinstance(value, (str, list, tuple, dict, set, frozenset)) and len(value) > limits.size:
        raise TemplateLimit(
            f"the template makes a value of {len(value)} characters or items; the limit is {limits.size}"
        )
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > limits.bits:
        raise TemplateLimit(f"the template makes a number of more than {limits.bits} bits")
    return value


# --- names the compiled templates call (through ImportedName nodes added by _bound_work) ---------------


def steps(iterable: Iterable[Any], weight: int) -> Iterator[Any]:
    """A loop's items, each charged one step and the text the loop body writes."""
    budget = _current()
    for item in iterable:
        budget.step()
        budget.handle(weight)
        yield item


class TemplateList(list):  # type: ignore[type-arg]
    """A list a template wrote itself ([...]): unlike a list of facts, the template may append to it."""


def made_list(items: list[Any]) -> TemplateList:
    return TemplateList(items)


def sized(value: Any) -> Any:
    """The result of '~', counted, if it is no bigger than one value may be."""
    return _current().made(value)


# --- what templates may call ------------------------------------------------------------------------------

_TEXT_METHODS = frozenset(
    {
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "isalnum",
        "isalpha",
        "isdecimal",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "replace",
        "rfind",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "striptags",
        "swapcase",
        "title",
        "unescape",
        "upper",
    }
)
_MAPPING_METHODS = frozenset({"get", "items", "keys", "values"})
_SEQUENCE_METHODS = frozenset({"count", "index"})
_DATE_METHODS = frozenset({"isoformat", "isoweekday", "weekday"})
_LOOP_METHODS = frozenset({"changed", "cycle"})
FACTS_MODULE = "policygen.facts"


def _method_allowed(owner: Any, name: str) -> bool:
    if isinstance(owner, str):
        return name in _TEXT_METHODS
    if isinstance(owner, list):
        return name in _SEQUENCE_METHODS or (name == "append" and isinstance(owner, TemplateList))
    if isinstance(owner, tuple):
        return name in _SEQUENCE_METHODS
    if isinstance(owner, dict):
        return name in _MAPPING_METHODS
    if isinstance(owner, dt.date):
        return name in _DATE_METHODS
    if isinstance(owner, LoopContext):
        return name in _LOOP_METHODS
    # The facts' own query methods (tenant.category(id)); not pydantic's (model_copy, ...).
    defined = getattr(type(owner), name, None)
    return getattr(defined, "__module__", None) == FACTS_MODULE and not name.startswith("_")


def _callable_name(obj: Any) -> str:
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", None) or type(obj).__name__
    if owner is not None and not isinstance(owner, types.ModuleType):
        return f"{type(owner).__name__}.{name}()"
    return f"{name}()"


def _replace_size(text: str, old: str, new: str, count: int = -1) -> int:
    found = text.count(old) if old else len(text) + 1
    if count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _prechecked(name: str, limits: Limits, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a replace() whose result would be too big before it is made."""
    if name == "replace" and len(args) >= 3 and all(isinstance(a, str) for a in args[:3]):
        count = args[3] if len(args) > 3 else kwargs.get("count", -1)
        if _replace_size(args[0], args[1], args[2], count if isinstance(count, int) else -1) > limits.size:
            raise TemplateLimit(f"replace() would make a text of more than {limits.size} characters")


# --- filters ----------------------------------------------------------------------------------------------

# Jinja's filters a clause may use, besides the ones policygen adds (render.py). Left out: those
# that make markup from facts (safe, escape, urlize, xmlattr, tojson, ...), that multiply text by
# a number (center, indent, format, batch, slice, ...), that are not deterministic (random), that print an unset
# fact as an answer (default, d, string: None becomes 'None' or a stated default) or whose work grows past the
# limits before its result can be measured (sum and string of nested lists).
CLAUSE_FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "count",
        "dictsort",
        "first",
        "float",
        "groupby",
        "int",
        "items",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "select",
        "selectattr",
        "sort",
        "title",
        "trim",
        "truncate",
        "unique",
        "upper",
        "wordcount",
    }
)
# A theme writes HTML around policygen's own, already safe, markup.
THEME_FILTERS = CLAUSE_FILTERS | frozenset(
    {
        "attr",
        "e",
        "escape",
        "filesizeformat",
        "forceescape",
        "join",
        "safe",
        "striptags",
        "urlencode",
        "urlize",
        "wordwrap",
        "xmlattr",
    }
)


def bounded_filter(name: str, function: Callable[..., Any], limits: Limits) -> Callable[..., Any]:
    """*function* charged for what it reads and makes (keeps Jinja's pass_* marks)."""
    first = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        value = args[first:]
        _prechecked(name, limits, value, kwargs)
        budget = _budget.get()
        if budget is None:  # folded while compiling: the arguments are constants of the template
            return check_size(function(*args, **kwargs), limits)
        budget.step()
        budget.handle(_size(value[0]) if value else 0)
        return budget.made(function(*args, **kwargs))

    return run


# --- the environment --------------------------------------------------------------------------------------


def _bounded_range(limits: Limits) -> Callable[..., range]:
    def range_(*args: int) -> range:
        numbers = range(*args)
        if len(numbers) > limits.range:
            raise TemplateLimit(f"range() of {len(numbers)} numbers; the limit is {limits.range}")
        return numbers

    range_.__name__ = "range"
    return range_


def _literal_size(body: Iterable[nodes.Node]) -> int:
    """Characters of template text inside these nodes: what one pass over them writes at least."""
    total = 0
    for node in body:
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        total += sum(len(d.data) for d in node.find_all(nodes.TemplateData))
    return total


def _bound_work(template: nodes.Template) -> None:
    """Route every loop through steps() and every '~' through sized(), in the compiled code."""
    for loop in template.find_all(nodes.For):
        loop.iter = nodes.Call(
            nodes.ImportedName(f"{__name__}.steps"),
            [loop.iter, nodes.Const(_literal_size(loop.body))],
            [],
            None,
            None,
            lineno=loop.iter.lineno,
        )
    for parent in list(template.find_all(nodes.Node)):
        for name, value in parent.iter_fields():
            if isinstance(value, nodes.Node):
                setattr(parent, name, _wrapped(value))
            elif isinstance(value, list):
                setattr(parent, name, [_wrapped(v) if isinstance(v, nodes.Node) else v for v in value])


def _wrapped(node: nodes.Node) -> nodes.Node:
    """'~' checked by sized(); a list literal made a TemplateList by made_list()."""
    wrapper = "sized" if isinstance(node, nodes.Concat) else "made_list" if isinstance(node, nodes.List) else None
    if wrapper is None:
        return node
    return nodes.Call(nodes.ImportedName(f"{__name__}.{wrapper}"), [node], [], None, None, lineno=node.lineno)


@dataclass(frozen=True)
class _Compiled:
    code: types.CodeType
    literal: int  # characters of the template's text (BoundedSandbox._literal)
    references: tuple[str, ...] = ()  # the templates it imports or includes (referenced_templates)


_EXPRESSION = "expression"  # a key's mark for an expression's code: a template of the same text compiles otherwise


class CodeShelf(Protocol):
    """Compiled code kept outside the process (policygen/codecache.py: signed, so only code this user's
    policygen compiled is ever loaded), by a text naming what it was compiled from."""

    def load(self, lookup: str) -> tuple[types.CodeType, int, tuple[str, ...]] | None: ...

    def store(self, lookup: str, code: types.CodeType, literal: int, references: tuple[str, ...] = ()) -> None: ...


def referenced_templates(template: nodes.Template) -> tuple[str, ...]:
    """The names of the templates a parsed template imports or includes by a constant name, in order."""
    return tuple(name for name in jinja2.meta.find_referenced_templates(template) if name)


# Compiled sources a store keeps (CompiledCode). A library of a hundred clauses in five languages, with its partials
# and conditions, is a few hundred; one met again after it was let go is loaded from the shelf or compiled again.
KEPT_CODES = 2_048


class CompiledCode:
    """Templates compiled to Python code, kept by source text for every sandbox that shares the store.

    Compiling (parsing, generating and compiling Python) costs far more than running the code: the
    sandboxes of one clause renderer (one per page language, all configured alike) share one store, and
    a build's worker processes start as copies of a process that compiled the library (engine.py), so
    each template source is compiled once per build. A code object is made by this process, from the
    source's text, or loaded from the *shelf* (a build's: the project's cache, signed), which keeps what
    this process compiles for the next build. It keeps the KEPT_CODES sources used most recently: a tenant's
    own clause is compiled for it alone, and a worker meets thousands.
    """

    def __init__(self, shelf: CodeShelf | None = None) -> None:
        self._codes: LRU[tuple[object, ...], _Compiled] = LRU(KEPT_CODES)
        self.shelf = shelf
        self.compiles = 0  # sources compiled (not found in the store), for tests and benchmarks

    def get(self, key: tuple[object, ...]) -> _Compiled | None:
        found = self._codes.get(key)
        if found is None and self.shelf is not None:
            kept = self.shelf.load(repr(key))
            if kept is not None:
                found = _Compiled(*kept)
                self._codes.put(key, found)
        return found

    def put(self, key: tuple[object, ...], compiled: _Compiled) -> None:
        self.compiles += 1
        self._codes.put(key, compiled)
        if self.shelf is not None:
            self.shelf.store(repr(key), compiled.code, compiled.literal, compiled.references)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An ImmutableSandboxedEnvironment that calls only documented names and bounds each render's work."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(
        self, limits: Limits, filters: frozenset[str], finalize: Callable[[Any], Any] | None = None, **options: Any
    ) -> None:
        inner = finalize

        def charged(value: Any) -> Any:
            # Every {{ ... }} passes here, in macros too. (No budget: a constant folded while compiling.)
            budget = _budget.get()
            if budget is not None:
                budget.handle(len(value) if isinstance(value, str) else 1)
            return inner(value) if inner is not None else value

        super().__init__(finalize=charged, **options)
        self.limits = limits
        self.finalize_counts_only = inner is None  # the finalize counts what is printed and changes none of it
        self._literal: dict[str | None, int] = {}  # template name -> characters of its text
        self._references: dict[str | None, tuple[str, ...]] = {}  # template name -> what it imports, when compiled
        self.compiled: CompiledCode | None = None  # compiled sources shared with like sandboxes (clause_environment)
        self._safe: dict[tuple[type, str], bool] = {}  # (type, attribute) -> whether templates may read it
        self._globals_copied = False  # make_globals: a template made holds a copy
        self.globals.clear()
        self.globals.update(range=_bounded_range(limits), dict=dict, namespace=Namespace)
        # What a template may call by name (ids of objects this environment keeps alive).
        self._callable_ids = frozenset(map(id, (steps, sized, made_list, *self.globals.values())))
        kept = {name: DEFAULT_FILTERS[name] for name in filters if name in DEFAULT_FILTERS}
        self.filters.clear()
        self.add_filters(kept)

    def add_globals(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        """Offer these functions by name; each call counts as a step, like every call. Only before any template
        is made: each template holds a copy of the globals (make_globals)."""
        if self._globals_copied:
            raise RuntimeError("globals added after a template was made")
        self.globals.update(functions)
        self._callable_ids = self._callable_ids | frozenset(map(id, functions.values()))

    def add_filters(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        """Offer these filters, each bounded by the limits."""
        for name, function in functions.items():
            self.filters[name] = bounded_filter(name, function, self.limits)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals: a plain copy, not Jinja's ChainMap over the environment's. Every render copies
        its template's globals into a new context, and a ChainMap is copied in Python (5.4 against 1.3 us a
        render, about 60 renders a tenant). Nothing is missed: every global is added before any template."""
        self._globals_copied = True
        return {**self.globals, **(d or {})}

    # -- rendering, with a fresh budget --

    def render(self, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        """*template* rendered with *context*, within the limits."""
        token = _budget.set(_Budget(self.limits))
        try:
            return template.render(context)
        finally:
            _budget.reset(token)

    def render_counted(self, template: jinja2.Template, context: Mapping[str, Any]) -> tuple[str, int]:
        """What render returns, and the volume the render counted against the limit (skeletons.py)."""
        budget = _Budget(self.limits)
        token = _budget.set(budget)
        try:
            return template.render(context), budget.volume
        finally:
            _budget.reset(token)

    def generate(self, template: jinja2.Template, context: Mapping[str, Any]) -> Iterator[str]:
        """*template* rendered with *context* a piece at a time (a page too large to hold whole), within the
        limits, counted over the whole page as render counts them."""
        token = _budget.set(_Budget(self.limits))
        try:
            yield from template.generate(context)
        finally:
            _budget.reset(token)

    def evaluate(self, expression: Callable[..., Any], context: Mapping[str, Any]) -> Any:
        """A compiled expression evaluated with *context*, within the limits."""
        token = _budget.set(_Budget(self.limits))
        try:
            return expression(**context)
        finally:
            _budget.reset(token)

    # -- hooks Jinja calls while compiling and running templates --

    @overload
    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: Literal[False] = False,
        defer_init: bool = False,
    ) -> types.CodeType: ...

    @overload
    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: Literal[True] = ...,
        defer_init: bool = False,
    ) -> str: ...

    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> str | types.CodeType:
        """Jinja's compile, found in the shared store (CompiledCode) when this source was compiled before."""
        store = self.compiled
        if raw:
            return super().compile(source, name, filename, True, defer_init)
        if store is None or not isinstance(source, str):
            return super().compile(source, name, filename, False, defer_init)
        key = self._compile_key(source, name, filename, defer_init)
        found = store.get(key)
        if found is None:
            code = super().compile(source, name, filename, False, defer_init)
            found = _Compiled(code, self._literal.get(name, 0), self._references.pop(name, ()))
            store.put(key, found)
        self._literal[name] = found.literal  # as _generate would have recorded it
        return found.code

    def compile_expression(self, source: str, undefined_to_none: bool = True) -> TemplateExpression:
        """Jinja's compile_expression, found in the shared store when this expression was compiled before: a
        clause's `when:` is compiled once for every process that renders it (a one-tenant rebuild's renders
        in a new one), as its templates are."""
        store = self.compiled
        if store is None:
            return super().compile_expression(source, undefined_to_none)
        key = (_EXPRESSION, *self._compile_key(source, None, None, False))
        found = store.get(key)
        if found is None:
            parser = Parser(self, source, state="variable")
            try:
                expr = parser.parse_expression()
                if not parser.stream.eos:
                    raise jinja2.TemplateSyntaxError("chunk after expression", parser.stream.current.lineno)
                expr.set_environment(self)
            except jinja2.TemplateSyntaxError:
                self.handle_exception(source=source)
            # The template Jinja makes of an expression: its value assigned to `result`, which it reads back.
            body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
            found = _Compiled(super().compile(nodes.Template(body, lineno=1)), 0)
            store.put(key, found)
        template = self.template_class.from_code(self, found.code, self.make_globals(None), None)
        return TemplateExpression(template, undefined_to_none)

    def referenced(self, source: str, name: str | None = None, filename: str | None = None) -> tuple[str, ...]:
        """The templates *source* imports or includes (referenced_templates): what compiling it as *name*
        from *filename* found, when the shared store has it (kept between builds: a warm build parses no
        clause again), else parsed now; TemplateSyntaxError if it does not parse."""
        store = self.compiled
        found = None if store is None else store.get(self._compile_key(source, name, filename, False))
        return found.references if found is not None else referenced_templates(self.parse(source))

    def _compile_key(self, source: str, name: str | None, filename: str | None, defer_init: bool) -> tuple[object, ...]:
        # The code depends on the source and on everything compiling reads from the sandbox.
        return (self._compile_settings(), name, filename, defer_init, hashlib.sha256(source.encode()).digest())

    def _compile_settings(self) -> tuple[object, ...]:
        """What the generated code depends on besides the source: names checked while compiling, syntax options."""
        return (
            type(self),
            self.limits,
            tuple(sorted(self.filters)),
            tuple(sorted(self.tests)),
            tuple(sorted(self.extensions)),
            self.autoescape,
            self.finalize is not None,
            self.trim_blocks,
            self.lstrip_blocks,
            self.keep_trailing_newline,
            self.newline_sequence,
            self.optimized,
            (self.block_start_string, self.block_end_string, self.variable_start_string, self.variable_end_string),
            (self.comment_start_string, self.comment_end_string, self.line_statement_prefix, self.line_comment_prefix),
        )

    def _generate(
        self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        self._references[name] = referenced_templates(source)  # before _bound_work rewrites the tree
        _bound_work(source)
        self._literal[name] = _literal_size([source])
        return super()._generate(source, name, filename, defer_init)

    def _load_template(self, name: str, globals: Any) -> jinja2.Template:
        template = super()._load_template(name, globals)
        budget = _budget.get()
        if budget is not None:  # an include, import or extends: its text is written again each time
            budget.step()
            budget.handle(self._literal.get(template.name, 0))
        return template

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        limits = self.limits
        if operator == "%" and isinstance(left, str):
            raise SecurityError("text formatting with '%' is not available in templates; join text with '~'")
        if operator == "**" and _power_too_big(left, right, limits.bits):
            raise TemplateLimit(f"{left!r} ** {right!r} makes a number of more than {limits.bits} bits")
        if operator == "*":
            _check_product(left, right, limits)
        return _current().made(self.binop_table[operator](left, right))

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(__obj, jinja2.Undefined):
            return super().call(__context, __obj, *args, **kwargs)  # raises its own, clearer, error
        budget = _current()
        budget.step()
        if isinstance(__obj, (Macro, BlockReference, LoopContext)):
            if isinstance(__obj, LoopContext) and args:  # loop(children) in a recursive loop
                args = (steps(args[0], 0), *args[1:])
            budget.enter()
            try:
                return budget.made(super().call(__context, __obj, *args, **kwargs))
            finally:
                budget.leave()
        if not __self._may_call(__obj):
            raise SecurityError(f"the template calls {_callable_name(__obj)}, which templates may not call")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _prechecked(__obj.__name__, __self.limits, (owner, *args), kwargs)
            budget.handle(len(owner))
        return budget.made(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, jinja2.Undefined):
            obj._fail_with_undefined_error()  # 'x' is undefined, not "'__init__' is unsafe"
        # Every {{ page.title }} comes here, tens of thousands of times a build. An attribute already found
        # safe for this type (is_safe_attribute: by type and name alone) whose value is no method is returned
        # as Jinja's getattr would return it; a method (str.format must be wrapped), a missing attribute or
        # one not yet worked out takes Jinja's own path.
        kind = type(obj)
        if obj.__class__ is kind and self._safe.get((kind, attribute)):
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                pass
            else:
                if not isinstance(value, _METHODS):
                    return value
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, jinja2.Undefined):
            obj._fail_with_undefined_error()
        return super().getitem(obj, argument)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Jinja's answer depends on the object's type and the name only (isinstance checks, abstract base
        # classes among them: the slow part of every attribute a template reads), so it is worked out once per
        # type and name; an object whose __class__ is not its type could pass isinstance checks its type does
        # not, so it is never answered from what was worked out.
        kind = type(obj)
        known = self._safe.get((kind, attr))
        if known is None:
            if isinstance(obj, TemplateList) and attr == "append":
                known = True  # {% do names.append(x) %} on the template's own list; each append is a counted call
            else:
                known = super().is_safe_attribute(obj, attr, value)
            if obj.__class__ is kind:
                self._safe[(kind, attr)] = known
        return known

    def _may_call(self, obj: Any) -> bool:
        if id(obj) in self._callable_ids:
            return True
        if isinstance(obj, (types.MethodType, types.BuiltinMethodType)):
            owner = obj.__self__
            return (
                owner is not None
                and not isinstance(owner, (type, types.ModuleType))
                and _method_allowed(owner, obj.__name__)
            )
        return False


def _power_too_big(base: Any, exponent: Any, bits: int) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0 or abs(base) <= 1:
        return False
    return exponent * math.log2(abs(base)) > bits


def _check_product(left: Any, right: Any, limits: Limits) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > limits.bits + 1:
            raise TemplateLimit(f"the template makes a number of more than {limits.bits} bits")
        return
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) and len(sequence) * times > limits.size:
            raise TemplateLimit(
                f"'*' would make {len(sequence) * times} characters or items; the limit is {limits.size}"
            )


def template_position(exc: BaseException) -> tuple[Path | None, int | None]:
    """The template file and line where rendering failed, from Jinja's rewritten traceback."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return (Path(exc.filename) if exc.filename else None), exc.lineno
    found: tuple[Path | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        name = frame.f_code.co_filename
        if "__jinja_exception__" in frame.f_globals and not name.startswith("<"):
            found = (Path(name), tb.tb_lineno)
        tb = tb.tb_next
    return found


def explain_failure(exc: BaseException) -> tuple[str, str | None, str | None]:
    """What a template did wrong while running, in words: (message, expected, hint)."""
    if isinstance(exc, TemplateLimit):
        return (
            str(exc),
            "a template that stays within policygen's limits (docs/errors-and-safety.md)",
            "look for a loop or a macro that does not end, or for * or ** with a large number",
        )
    if isinstance(exc, SecurityError):
        return (
            f"refused by the sandbox: {str(exc).rstrip('.')}",
            "facts, macros, and the filters and names policygen documents",
            "a template can read facts and call macros; it cannot reach Python internals, call other "
            "functions or change the facts (build lists with filters such as selectattr, or with namespace())",
        )
    if isinstance(exc, RecursionError):
        return "a macro or include calls itself without end", "macros and includes that finish", None
    expected = "an expression that works for every tenant's facts"
    if isinstance(exc, ZeroDivisionError):
        return "divides by zero", expected, "check the arithmetic, or test the fact itself: {% if fact %}"
    if isinstance(exc, OverflowError):
        return "a number is too large to compute", expected, "check the arithmetic"
    if isinstance(exc, MemoryError):
        return "runs out of memory", "a template that stays within policygen's limits", None
    if isinstance(exc, TypeError):
        return (f"TypeError: {exc}", expected, "check the types: text, numbers and lists do not mix in one operation")
    if isinstance(exc, jinja2.UndefinedError):
        return f"undefined fact: {exc.message}", None, "guard it with {% if ... %}"
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"included template not found: {exc.name}", None, None
    if isinstance(exc, jinja2.TemplateError):
        return exc.message or type(exc).__name__, None, None
    return f"{type(exc).__name__}: {exc}", expected, None
