"""A theme page rendered once for many tenants: what a template only prints is filled in afterwards.

Most of a section snippet is the same for every tenant that shows the same clause: the tenant's name, its accent
colours and the page's language are printed into it, and nothing else is done with them. So a template's text is
read once (`shape_of`) for the values it only prints, each `{{ value }}` alone, never tested, filtered, looped
over or passed on (its *holes*), and the values it uses otherwise (its *keys*). A page is then rendered once for
each set of keys, with a marker printed in each hole (a `Skeleton`), and every page with the same keys is that
skeleton with its holes' values printed into it, escaped as `{{ }}` prints them: byte for byte what rendering it
would give, in a few microseconds instead of tens.

What the reading proves is kept narrow: a template (with what it extends and includes) that uses anything else
than plain statements and expressions (a macro, a block `set`, a `filter` block, `self`, `super`, an import, a
filter that reads the template's context) has no shape, and renders as always. A value is reached only through
dataclass fields, so that a property computed from a hole's value can never be printed from a marker. A marker
holds a random number this process drew, which no tenant's text can hold. A page whose filled-in text would write
more than the sandbox's limit allows is rendered instead, and so refused as before.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import operator
import re
import secrets
import sys
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import meta, nodes
from markupsafe import Markup, escape

Path = tuple[str, ...]  # a context name, then field names

# Statements and expressions whose values a template can only use where they stand: none captures printed text to
# change it (as a macro's call, a block set or a filter block can), none reads the context by another way than a
# name.
_PLAIN = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.If,
    nodes.For,
    nodes.Block,
    nodes.Extends,
    nodes.Include,
    nodes.Assign,
    nodes.Const,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Filter,
    nodes.Test,
    nodes.Call,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.BinExpr,
    nodes.Concat,
    nodes.CondExpr,
    nodes.Tuple,
    nodes.List,
    nodes.Dict,
    nodes.Pair,
    nodes.Keyword,
)
_SPECIAL = frozenset({"self", "super", "caller", "varargs", "kwargs"})  # names that reach blocks or macros
_ATOMS = frozenset({str, Markup, int, bool, type(None), dt.date})  # values a key holds as they are
HOLE_DEPTH = 2  # a hole is a context name or one field of it: a copy with the marker in that field is cheap
READ_AFTER = 100  # renders of a template before its text is read for its shape
TRIED_PAGES = 256  # skeletons of a template made before it is given up if no page was filled from one
ESCAPED_KEPT = 4096  # texts a theme keeps escaped, each of at most ESCAPED_LENGTH characters
ESCAPED_LENGTH = 256
KEPT_BYTES = 2 << 20  # of skeletons a theme keeps (their text's and their keys' size); past it, some are let go


@dataclass(frozen=True)
class Shape:
    """What a template does with its context: the paths it only prints (*holes*, sorted), and the others (*keys*);
    *own*: the names it sets itself (a loop's, a set's, and `loop`)."""

    holes: tuple[Path, ...]
    keys: tuple[Path, ...]
    own: frozenset[str] = frozenset()

    @functools.cached_property
    def groups(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The holes by context name, each name's fields to be read at once (in the holes' order)."""
        groups: dict[str, list[str]] = {}
        for path in self.holes:
            groups.setdefault(path[0], []).extend(path[1:])
        return tuple((root, tuple(fields)) for root, fields in groups.items())


class _NoShape(Exception):
    """The template does something a shape cannot say."""


def shape_of(env: jinja2.Environment, name: str) -> Shape | None:
    """The shape of the template *name* with everything it extends and includes; None when it has none (it uses
    something but plain statements and expressions), or no holes (a skeleton would save nothing)."""
    if env.finalize is not None and not getattr(env, "finalize_counts_only", False):
        return None  # a finalize that changes values would change what a marker prints
    if env.autoescape is not True:
        return None  # printed text is escaped in every template, as the fill escapes it
    uses: dict[Path, bool] = {}  # each path read from the context: whether every read of it prints it
    stored: set[str] = set()
    try:
        for tree in _closure(env, name):
            _walk(env, tree, uses, stored, printed=False)
    except (_NoShape, jinja2.TemplateError, OSError, RecursionError):
        return None  # (a template nested too deep to walk: Jinja's compiler says so where it stands)
    # A name the template sets (a loop's, a set's) is read as the template's own: a page given a value of that
    # name too renders whole (Skeletons.render), since which one a read means is the compiler's to say.
    reads = {path: only_printed for path, only_printed in uses.items() if path[0] not in stored}
    holes = tuple(sorted(p for p, only in reads.items() if only and len(p) <= HOLE_DEPTH and _alone(p, reads)))
    keys = tuple(sorted(p for p in reads if p not in holes))
    return Shape(holes, keys, frozenset(stored)) if holes else None


def _alone(path: Path, reads: Mapping[Path, bool]) -> bool:
    """No other path read is inside *path* or holds it: its value is used nowhere else."""
    return not any(other != path and (other[: len(path)] == path or path[: len(other)] == other) for other in reads)


def _closure(env: jinja2.Environment, name: str) -> Iterator[nodes.Template]:
    """The parsed templates *name* extends and includes, itself first; each once."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if env.loader is None:
            raise _NoShape
        source, filename, _ = env.loader.get_source(env, current)
        tree = env.parse(source, current, filename)
        for found in meta.find_referenced_templates(tree):
            if found is None:
                raise _NoShape  # which template it is, only the render knows
            todo.append(found)
        yield tree


def _walk(env: jinja2.Environment, node: nodes.Node, uses: dict[Path, bool], stored: set[str], printed: bool) -> None:
    """Record in *uses* each path *node* reads, and whether it is printed there; *stored*: names set."""
    if not isinstance(node, _PLAIN):
        raise _NoShape
    if isinstance(node, nodes.For) and node.recursive:
        raise _NoShape  # loop() returns the body's text, which a filter could change
    if isinstance(node, nodes.Include) and not node.with_context:
        raise _NoShape
    if isinstance(node, (nodes.Filter, nodes.Test)):
        _plain_callable((env.filters if isinstance(node, nodes.Filter) else env.tests).get(node.name))
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name in env.globals:
        _plain_callable(env.globals[node.node.name])
    path = _path(node)
    if path is not None:
        if path[0] in _SPECIAL:
            raise _NoShape
        if (isinstance(node, nodes.Name) and node.ctx != "load") or path[0] == "loop":
            stored.add(path[0])  # a loop's or a set's target, or a loop's own `loop`
        elif path[0] not in env.globals:  # (a global is not the context's either)
            uses[path] = uses.get(path, True) and printed
        return
    for child in node.iter_child_nodes():
        _walk(env, child, uses, stored, printed=isinstance(node, nodes.Output) and _path(child) is not None)


def _plain_callable(found: Any) -> None:
    """A filter, test or global the template calls must not be given its context (Jinja's pass_context), which
    it could read a value from without a name."""
    if found is None or getattr(getattr(found, "jinja_pass_arg", None), "name", None) == "context":
        raise _NoShape


def _path(node: nodes.Node) -> Path | None:
    """The path *node* reads (a name, then attributes), if it is one."""
    names: list[str] = []
    while isinstance(node, nodes.Getattr):
        names.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name) or (names and node.ctx != "load"):
        return None
    return (node.name, *reversed(names))


class _Unreachable(Exception):
    """A path's value cannot be taken as the template would take it."""


_FIELDS: dict[tuple[type, tuple[str, ...]], Callable[[Any], Any] | None] = {}  # (type, names): their getter


def _fields(value: Any, names: tuple[str, ...]) -> list[Any]:
    """*value*'s dataclass fields *names*, read at once: not a property, which could compute its value from a
    hole's, nor a name the sandbox refuses; _Unreachable for anything else."""
    kind = type(value)
    key = (kind, names)
    if key not in _FIELDS:
        fields = getattr(kind, "__dataclass_fields__", None)
        valid = fields is not None and all(not n.startswith("_") and n in fields for n in names)
        _FIELDS[key] = operator.attrgetter(*names) if valid else None
    getter = _FIELDS[key]
    if getter is None or value.__class__ is not kind:
        raise _Unreachable
    found = getter(value)
    return list(found) if len(names) > 1 else [found]


def _key_value(context: Mapping[str, Any], path: Path) -> Any:
    """The value at the key *path*: a context name, then dataclass fields, up to text, a number or a date, from
    which the template computes the rest (`page.effective.isoformat()` is the date's)."""
    value = context[path[0]]
    for name in path[1:]:
        if type(value) in _ATOMS:
            return value
        value = _fields(value, (name,))[0]
    return value


def _print(value: Any) -> str:
    """What `{{ value }}` prints of a hole's value: text escaped, Markup as it is; _Unreachable for any other
    value (text whose type prints itself otherwise, through __html__ or __str__)."""
    kind = type(value)
    if kind is Markup:
        return str(value)
    if isinstance(value, str) and not hasattr(kind, "__html__") and kind.__str__ is str.__str__:  # type: ignore[comparison-overlap]
        return str(escape(value))
    raise _Unreachable


def _key_print(value: Any) -> Hashable:
    """A hashable form of a key's *value*, equal only for values a template cannot tell apart: text, numbers,
    dates, and tuples, lists and frozen dataclasses of them; _Unreachable for anything else."""
    kind = type(value)
    if kind in _ATOMS:
        return (kind, value)
    if kind is float:
        return (kind, repr(value))  # 0.0 == -0.0, but they print differently
    if kind in (tuple, list):
        return (kind, tuple(_key_print(v) for v in value))
    params = getattr(kind, "__dataclass_params__", None)
    if params is not None and params.frozen and value.__class__ is kind:
        return (kind, tuple(_key_print(getattr(value, f.name)) for f in dataclasses.fields(value)))
    raise _Unreachable


@dataclass(frozen=True)
class Skeleton:
    """A page's text cut at its holes' printings: *texts* between them, *slots* the hole printed at each cut;
    *volume*: what its render counted against the sandbox's limit, a marker's *marker* characters at each cut."""

    texts: tuple[str, ...]
    slots: tuple[int, ...]
    volume: int
    marker: int

    def filled(self, prints: list[str]) -> str:
        page: list[str] = [""] * (2 * len(self.slots) + 1)
        page[0::2] = self.texts
        page[1::2] = [prints[i] for i in self.slots]
        return "".join(page)


def _held_by(key: Any) -> int:
    """The bytes of the text a key holds (its tuples are small beside it)."""
    if isinstance(key, str):
        return sys.getsizeof(key)
    return sum(map(_held_by, key)) if isinstance(key, tuple) else 0


Render = Callable[[str, Mapping[str, Any]], tuple[str, int]]  # a template rendered: its text, the volume counted


class Skeletons:
    """The skeletons of a theme's pages (one environment's), made as they are met."""

    def __init__(self, env: jinja2.Environment, volume: int | None) -> None:
        self.env = env
        self.volume = volume  # the sandbox's limit on what a render writes; None: no limit (a trusted theme)
        self.read_after = READ_AFTER
        self._shapes: dict[str, Shape | None] = {}  # template: its shape, once read
        self._renders: dict[str, int] = {}  # template: pages rendered before it is read
        self._kept: dict[str, dict[tuple[Any, ...], Skeleton]] = {}  # template: its skeletons, by their keys
        self._held: dict[str, int] = {}  # template: the bytes its skeletons hold
        self._nonce = secrets.token_hex(16)
        self._tally: dict[str, list[int]] = {}  # template: skeletons made, pages filled from one kept
        self._escaped: dict[str, str] = {}  # plain text (only str: a Markup equal to it prints otherwise), escaped
        self.made = 0  # skeletons rendered

    def _print(self, value: Any) -> str:
        """_print, each short plain text escaped once (a tenant's name is printed into each of its snippets; a
        long text is escaped each time, so that what is kept stays small)."""
        if type(value) is not str or len(value) > ESCAPED_LENGTH:
            return _print(value)
        found = self._escaped.get(value)
        if found is None:
            if len(self._escaped) >= ESCAPED_KEPT:
                self._escaped.clear()
            found = self._escaped[value] = str(escape(value))
        return found

    def shape(self, name: str) -> Shape | None:
        """The template's shape, once it is worth reading: reading its text (and what it extends and includes)
        costs as much as a hundred renders of a section snippet, so a template is read only after it has been
        rendered `read_after` times in this process (READ_AFTER). A one-tenant rebuild renders each a few times, and parses
        none (a warm build parses no template: its compiled code is kept in the cache)."""
        if name in self._shapes:
            return self._shapes[name]
        renders = self._renders.get(name, 0)
        if renders < self.read_after:
            self._renders[name] = renders + 1
            return None
        found = self._shapes[name] = shape_of(self.env, name)
        return found

    def _tried(self, name: str, filled: bool) -> None:
        """Count a page of *name* filled from a skeleton kept, or one made (or not: a value it could not take): a
        template none of whose first pages shared one (it uses each tenant's name otherwise than printing it
        alone, or a value a skeleton cannot take) is no longer tried here."""
        tally = self._tally.setdefault(name, [0, 0])
        tally[1 if filled else 0] += 1
        if tally[0] >= TRIED_PAGES and tally[1] == 0:
            self._shapes[name] = None

    def render(self, name: str, context: Mapping[str, Any], whole: Render) -> str | None:
        """The page *name* with *context*, from its skeleton (rendered by *whole* the first time); None when it
        has no shape, or a value is not one a skeleton can take, or its skeleton does not render: render it
        whole."""
        shape = self.shape(name)
        if shape is None or not (self.env.globals.keys().isdisjoint(context) and shape.own.isdisjoint(context)):
            return None  # a value named as a global, or as a name the template sets: the shape took it for that
        try:
            # The holes' owners' types too: a page of another type of view is another page, whatever it prints.
            key = (name, *[type(context[root]) for root, _ in shape.groups])
            key += tuple(_key_print(_key_value(context, p)) for p in shape.keys)
            holes: list[Any] = []
            for root, fields in shape.groups:
                holes += _fields(context[root], fields) if fields else [context[root]]
            prints = [self._print(v) for v in holes]
        except (_Unreachable, KeyError, RecursionError):  # (a key nested too deep to print)
            self._tried(name, False)  # a value that cannot be taken is a skeleton that could not be made
            return None
        skeleton = self._kept.setdefault(name, {}).get(key)
        self._tried(name, skeleton is not None)
        if skeleton is None:
            skeleton = self._make(name, context, shape, whole)
            if skeleton is None:
                return None
            self._keep(name, key, skeleton)
        # What rendering it would count: at most the longest hole's text at each printing of a marker.
        printed = len(skeleton.slots)
        if (
            self.volume is not None
            and skeleton.volume + (max(map(len, holes)) - skeleton.marker) * printed > self.volume
        ):
            return None  # rendered whole, the sandbox counts it exactly, and may refuse it
        return skeleton.filled(prints)

    def _make(self, name: str, context: Mapping[str, Any], shape: Shape, whole: Render) -> Skeleton | None:
        markers = [f"\x02{self._nonce}-{i}\x03" for i in range(len(shape.holes))]
        marked = dict(context)
        try:
            for path, marker in zip(shape.holes, markers, strict=True):
                if len(path) == 1:
                    marked[path[0]] = marker
                else:  # a copy of the value, the marker in its field; made as copy makes it, not through __init__
                    owner = marked[path[0]] = copy.copy(marked[path[0]])
                    object.__setattr__(owner, path[1], marker)
            text, volume = whole(name, marked)
        except Exception:
            return None  # rendered whole, it fails where it stands (or passes: a marker is longer than some values)
        self.made += 1
        pieces = re.split("\x02" + self._nonce + r"-(\d+)\x03", text)
        return Skeleton(tuple(pieces[0::2]), tuple(map(int, pieces[1::2])), volume, len(markers[0]))

    def _keep(self, name: str, key: tuple[Any, ...], skeleton: Skeleton) -> None:
        """Keep *skeleton*, within KEPT_BYTES: past it, the template that holds most lets go of all of its (a
        template whose every page is its own, until it is given up, must not push out the others')."""
        size = sum(map(sys.getsizeof, skeleton.texts)) + _held_by(key)  # a key holds its text too (a clause's)
        while self._held and sum(self._held.values()) + size > KEPT_BYTES:
            largest = max(self._held, key=self._held.__getitem__)
            self._kept.get(largest, {}).clear()
            self._held.pop(largest, None)
        self._kept.setdefault(name, {})[key] = skeleton
        self._held[name] = self._held.get(name, 0) + size
