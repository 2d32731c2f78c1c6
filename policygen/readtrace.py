"""A clause rendered once for every tenant whose facts it reads are the same.

Most clauses read a few facts, and many tenants agree on them: those tenants get the same HTML.
A render is a function of the values it reads, so a render records them (a `Recorder`), in the
order it reads them, and `Shapes` keeps its result under that record. For the next tenant, the
same reads are made on its facts, one after the other: while every value is equal, the render
would take the same steps and read the same next fact; when the last read matches, it would make
the same HTML. One value that differs (or a fact the first render never looked at) and the clause
is rendered again. A wrong reuse would print another organisation's words, so what counts as a
read is everything that reaches a fact:

- a name the template looks up: every lookup of a name is recorded, with the fact under that name
  or that there is none (WatchedContext, the clause environments' context class);
- an attribute of a fact (facts.reads_reported: every attribute read of a facts.Model while recording): a
  field of a fact the render reached through recorded reads is recorded; a method or property of
  facts.py reads the fields it uses through the same hook; anything else on a fact (printing it,
  comparing it, iterating over it, pydantic's own methods) records the whole fact;
- a value that is not a fact (text, a number, a date, a list) is recorded whole when it is read,
  so what the template then does with it (loops, filters, tests) needs no recording;
- an object the render reaches by two paths is recorded whole at the second, and a template that
  asks whether two values are the same object (`is sameas`) is never reused.

Values are compared by a canonical form that keeps their types ('1' is not 1, True is not 1, 0.0
is not -0.0, a fact printed untranslated, which the page marks, is not the same words translated). The page's language, the tenant's notes and the clause file are part of the key the
caller gives; two renders whose same reads lead to different next reads mean something escaped
the record, and that clause is not reused again.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import inspect
import types
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from typing import Any, Generic, Literal, TypeVar

import jinja2.runtime

from . import facts
from .facts import Model
from .vocabulary import ForeignWord

Path = tuple[str, ...]  # a root name of the context, then attribute names
# "reached": the value, but of a fact only its type (its fields are recorded as they are read); "whole": the whole
# value, a fact's every field too; "absent": the name is not in the context.
Kind = Literal["reached", "whole", "absent"]
Step = tuple[Path, Kind]
Read = tuple[Step, Hashable]
Result = TypeVar("Result")


class Unreusable(Exception):
    """A value read that has no canonical form: the render it is read in is not reused."""


_ATOMS = frozenset({str, int, bool, type(None), dt.date})
_SEQUENCES = frozenset({list, tuple, set, frozenset})


def fingerprint(value: Any) -> Hashable:
    """A hashable form of *value* that is equal only for values a template cannot tell apart."""
    kind = type(value)
    if kind in _ATOMS:
        return (kind, value)
    # Lists and facts first, their text and numbers printed here (a render's record prints every tenant's lists).
    if kind in _SEQUENCES:  # a set in the order it iterates: the order a loop prints
        return (kind, tuple([(t, v) if (t := type(v)) in _ATOMS else fingerprint(v) for v in value]))
    if Model in kind.__mro__:
        fields = object.__getattribute__(value, "__dict__")  # past the read hook: this is not a template's read
        extra = object.__getattribute__(value, "__pydantic_extra__")
        private = object.__getattribute__(value, "__pydantic_private__")
        printed = tuple([(k, (t, v) if (t := type(v)) in _ATOMS else fingerprint(v)) for k, v in fields.items()])
        return (kind, printed, fingerprint(extra), fingerprint(private))
    if kind is ForeignWord:  # a fact printed untranslated: the same text translated renders unmarked
        return (kind, str(value), value.lang)
    if kind is float:
        return (kind, repr(value))  # 0.0 == -0.0, but they print differently
    if isinstance(value, Enum):
        return (kind, fingerprint(value.value))
    if kind is dict:
        return (kind, tuple((fingerprint(k), fingerprint(v)) for k, v in value.items()))
    if dataclasses.is_dataclass(value) and kind.__dataclass_params__.frozen:
        return (kind, tuple(fingerprint(getattr(value, f.name)) for f in dataclasses.fields(value)))
    raise Unreusable(kind.__name__)


def reached_print(value: Any) -> Hashable:
    """What a read of *value* records: a fact's type (its fields are recorded as they are read), else all of it."""
    return type(value) if isinstance(value, Model) else fingerprint(value)


AttributeUse = Literal["field", "derived", "class", "whole"]
_uses: dict[tuple[type, str], AttributeUse] = {}


def attribute_use(owner: type, name: str) -> AttributeUse:
    """What reading *name* of a fact of type *owner* reads of it.

    A field: that field. A method or property written in facts.py ("derived"): only what its code
    reads, each through the hook. `__class__`: nothing of this tenant's. Anything else: the whole fact.
    """
    use = _uses.get((owner, name))
    if use is None:
        if name == "__class__":
            use = "class"
        elif name in owner.__pydantic_fields__:  # type: ignore[attr-defined]
            use = "field"
        else:
            found = inspect.getattr_static(owner, name, None)
            code = found.fget if isinstance(found, property) else found
            own = isinstance(code, types.FunctionType) and code.__module__ == facts.__name__
            use = "derived" if own and isinstance(found, (property, types.FunctionType)) else "whole"
        _uses[(owner, name)] = use
    return use


class Recorder:
    """The reads of one render, in order, each once."""

    def __init__(self, root: Mapping[str, Any], aliases: Mapping[str, str]) -> None:
        self.root = root
        self.aliases = aliases  # attribute of the root fact 'tenant' -> the root name holding the same object
        self.reads: list[Read] = []
        self.reusable = True
        self._seen: set[Step] = set()
        self._paths: dict[int, tuple[Path, Model]] = {}  # a fact reached, by id (kept alive, so the id stays its)

    def named(self, key: str) -> None:
        """The template looked up *key*: the root fact under it, or that there is none."""
        if key in self.root:
            self._reached((key,), self.root[key])
        else:
            self._add(((key,), "absent"), True)

    def attribute(self, owner: Model, name: str, value: Any) -> None:
        """Something read *name* of the fact *owner*."""
        known = self._paths.get(id(owner))
        if known is None:
            return  # inside a value recorded whole, or a fact made from recorded reads
        path = known[0]
        use = attribute_use(type(owner), name)
        if use == "field":
            alias = self.aliases.get(name) if path == ("tenant",) else None
            self._reached((alias,) if alias else (*path, name), value)
        elif use == "whole":
            self._add((path, "whole"), fingerprint(owner))

    def refuse(self) -> None:
        self.reusable = False

    def _reached(self, path: Path, value: Any) -> None:
        if isinstance(value, Model):
            known = self._paths.get(id(value))
            if known is None:
                self._paths[id(value)] = (path, value)
            elif known[0] != path:
                # The same fact by a second path: its reads are recorded under the first, so record it whole here.
                self._add((path, "whole"), fingerprint(value))
                return
        self._add((path, "reached"), reached_print(value))

    def _add(self, step: Step, print_: Hashable) -> None:
        if step not in self._seen:
            self._seen.add(step)
            self.reads.append((step, print_))


_recording: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar("policygen_recording", default=None)


def _on_fact_read(owner: Model, name: str, value: Any) -> None:
    recorder = _recording.get()
    if recorder is None or not recorder.reusable:
        return
    try:
        recorder.attribute(owner, name, value)
    except Exception:  # the hook must never change what the template does: just don't reuse
        recorder.refuse()


@contextmanager
def recording(recorder: Recorder | None) -> Iterator[None]:
    """Record the reads of the render run inside this block (None: record nothing)."""
    if recorder is None:
        yield
        return
    token = _recording.set(recorder)
    try:
        with facts.reads_reported(_on_fact_read):
            yield
    finally:
        _recording.reset(token)


class WatchedContext(jinja2.runtime.Context):
    """A template context that tells the render's Recorder of every name the template looks up."""

    def resolve_or_missing(self, key: str) -> Any:
        recorder = _recording.get()
        if recorder is not None and recorder.reusable:
            try:
                recorder.named(key)
            except Exception:  # as in _on_fact_read
                recorder.refuse()
        return super().resolve_or_missing(key)


def same_object(a: Any, b: Any) -> bool:
    """Jinja's 'sameas' test: whether two values are one object, which no record of values can tell."""
    recorder = _recording.get()
    if recorder is not None:
        recorder.refuse()
    return a is b


def aliases(context: Mapping[str, Any]) -> dict[str, str]:
    """The root names whose value is the same object as the attribute of that name of the root fact 'tenant'."""
    tenant = context.get("tenant")
    if not isinstance(tenant, Model):
        return {}
    fields = type(tenant).__pydantic_fields__
    held = object.__getattribute__(tenant, "__dict__")
    return {name: name for name in fields if name in context and name in held and context[name] is held[name]}


class _Missing(Exception):
    """A recorded read that this context cannot make the same way."""


class Facts:
    """The values of one context at the steps recorded reads name, each worked out once."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context
        self.aliases = aliases(context)
        self.names = frozenset(self.aliases)  # what renders are kept under, with the rest of their key
        self._keys, self._values = tuple(context), tuple(map(id, context.values()))
        self._prints: dict[Step, Hashable] = {}

    def holds(self, context: Mapping[str, Any]) -> bool:
        """Whether *context* is the one these values were worked out for, with the same values in it."""
        return (
            context is self.context
            and self._values == tuple(map(id, context.values()))
            and self._keys == tuple(context)
        )

    def print_at(self, step: Step) -> Hashable:
        found = self._prints.get(step)
        if found is None and step not in self._prints:
            found = self._prints[step] = self._work_out(step)
        return found

    def _work_out(self, step: Step) -> Hashable:
        path, kind = step
        if kind == "absent":
            return path[0] not in self.context
        if path[0] not in self.context:
            raise _Missing
        value = self.context[path[0]]
        for name in path[1:]:
            if not isinstance(value, Model) or name not in type(value).__pydantic_fields__:
                raise _Missing
            value = object.__getattribute__(value, "__dict__")[name]
        try:
            return reached_print(value) if kind == "reached" else fingerprint(value)
        except Unreusable:
            raise _Missing from None


@dataclasses.dataclass(slots=True)
class _Node(Generic[Result]):
    step: Step
    next: dict[Hashable, _Node[Result] | _Leaf[Result]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(slots=True)
class _Leaf(Generic[Result]):
    result: Result


class Shapes(Generic[Result]):
    """The renders of one clause (for one page language, with the same notes), by the reads that made them."""

    def __init__(self, steps: dict[Step, Step]) -> None:
        self._root: _Node[Result] | _Leaf[Result] | None = None
        self.broken = False  # two renders that read alike took different steps: never reused again
        # Each step stored once, in a table its owner shares among its Shapes and empties with them: every tenant's
        # render of a clause takes the same steps, and a worker keeps the renders of thousands of tenants.
        self._steps = steps

    def find(self, facts_: Facts) -> Result | None:
        """The result of a render whose every read *facts_* makes with an equal value, if there is one."""
        node = None if self.broken else self._root
        while isinstance(node, _Node):
            try:
                node = node.next.get(facts_.print_at(node.step))
            except _Missing:
                return None
        return node.result if node is not None else None

    def add(self, reads: list[Read], result: Result) -> int:
        """Keep *result* under *reads*. Returns how many of the reads it stored (none that a kept render's record
        shares with it): what the record holds grows by that many steps."""
        if self.broken:
            return 0
        if self._root is None:
            self._root = _chain(reads, result, self._steps)
            return len(reads)
        node = self._root
        for i, (step, print_) in enumerate(reads):
            if not isinstance(node, _Node) or node.step != step:
                self.broken = True
                return 0
            following = node.next.get(print_)
            if following is None:
                node.next[print_] = _chain(reads[i + 1 :], result, self._steps)
                return len(reads) - i
            node = following
        if isinstance(node, _Node):
            self.broken = True
        return 0


def _chain(reads: list[Read], result: Result, steps: dict[Step, Step]) -> _Node[Result] | _Leaf[Result]:
    node: _Node[Result] | _Leaf[Result] = _Leaf(result)
    for step, print_ in reversed(reads):
        node = _Node(steps.setdefault(step, step), {print_: node})
    return node
