"""Safe YAML reading that remembers where every value came from.

PyYAML silently keeps the last of two equal keys, will happily expand an
alias or merge-key bomb and builds whatever a tag names; we compose the node
graph ourselves (with the C parser when it is there) so duplicate keys, runaway
aliases and merges, tags and deep nesting become clear problems, and every key
path keeps its line and column for error messages. Files are read through
policygen.inputs (regular files only, size-limited).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError, Problem, quoted
from .inputs import read_text

try:  # the C parser is several times faster on large tenant files
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_NODES = 200_000
MAX_DEPTH = 64

KeyPath = tuple[str | int, ...]
Model = TypeVar("Model", bound=BaseModel)


@dataclass
class Located:
    """A parsed YAML document and the position of each key path in it."""

    data: Any
    file: Path
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    line_offset: int = 0
    text: str | None = None  # set when positions are still to be found (the fast path)
    # Problems with single values (a duplicate key, an impossible date) when loaded with keep_going:
    # the caller validates the rest and reports them all together.
    problems: list[Problem] = field(default_factory=list)

    def where(self, path: KeyPath) -> tuple[int | None, int | None]:
        """Line and column of the deepest known prefix of *path*."""
        key = path[0] if len(path) == 1 else None
        if self.text is not None and isinstance(key, str) and isinstance(self.data, dict) and key in self.data:
            line = _top_level_line(self.text, key)
            if line is not None:  # `check` points many findings at a top-level fact: one line, without the parse
                return line + self.line_offset, 1
        if self.text is not None:  # positions are needed only for messages: find them now
            self.positions = load(self.file, self.text, self.line_offset).positions
            self.text = None
        for end in range(len(path), -1, -1):
            pos = self.positions.get(tuple(path[:end]))
            if pos is not None:
                return pos[0] + self.line_offset, pos[1]
        return None, None

    def problem(self, path: KeyPath, message: str, **kw: Any) -> Problem:
        line, col = self.where(path)
        return Problem(message, file=self.file, line=line, column=col, key_path=format_path(path) or None, **kw)


def _top_level_line(text: str, key: str) -> int | None:
    """The line of *key* where it is written once at the start of a line as a plain key (`key:`), as the
    top-level block mapping's keys are; None when it is not, or more than once (a line of a quoted value that
    looks like it, a key of a document written in flow style): the located parse tells those."""
    found = re.finditer(rf"^{re.escape(key)}[ \t]*:(?:[ \t]|$)", text, re.MULTILINE)
    first, second = next(found, None), next(found, None)
    if first is None or second is not None:
        return None
    return text.count("\n", 0, first.start()) + 1


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _NeedsLocated(Exception):
    """The fast path met something only the located loader reports well."""


@dataclass(frozen=True)
class UnclearNumber:
    """A plain value YAML 1.1 reads as a number that the writer most likely did not mean.

    `017` is 15 to YAML 1.1 (octal) and 17 to people; `0x1f`, `1_000` and `1:30` are numbers
    too. Neither a number nor text, it fails validation wherever it stands, with the value
    shown as written, instead of becoming a number nobody wrote.
    """

    text: str

    def __str__(self) -> str:
        return self.text


_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,17})")  # also short enough to stay a plain machine number


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | UnclearNumber:
    text = str(node.value)
    return int(text) if _DECIMAL.fullmatch(text) else UnclearNumber(text)


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"

# The tag of each plain value the fast loader has resolved, by its text: tenants' files repeat the same short values
# (true, false, ids, dates), and a tag depends on the text alone (its loader has no path resolvers). Short texts only,
# and a bounded number of them.
_tags: dict[str, str] = {}
TAGS_KEPT = 8192
TAGS_LONGEST = 64


class _FastLoader(_Loader):
    """Builds plain documents (no anchors, aliases, tags or merge keys: load_fast checks) without
    PyYAML's general constructor: text, mappings and lists directly, every other value by
    PyYAML's own constructor for it, so the result is the one PyYAML would build."""

    # The tag of each value, as PyYAML's resolver gives it for a loader without path resolvers or wildcard patterns
    # (a safe loader has none): the same patterns tried in the same order, without joining the lists of patterns
    # again for every value (the C parser asks for each one, and a tenant's file has hundreds: loading the example
    # tenant with apps takes about 13% less; remembering the tags, a further 10% of the 1,000-tenant benchmark's).
    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            tag = _tags.get(value)
            if tag is None:
                tag = _STR
                patterns: list[tuple[str, re.Pattern[str]]] = self.yaml_implicit_resolvers.get(value[:1], [])
                for resolved, pattern in patterns:
                    if pattern.match(value):
                        tag = resolved
                        break
                if len(value) <= TAGS_LONGEST and len(_tags) < TAGS_KEPT:
                    _tags[value] = tag
            return tag
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node: yaml.Node | None, current_index: Any) -> None:
        pass  # only path resolvers need the path

    def ascend_resolver(self) -> None:
        pass

    def construct_document(self, node: yaml.Node) -> Any:
        data = self._plain(node)
        self.constructed_objects, self.recursive_objects = {}, {}
        return data

    def _plain(self, node: yaml.Node) -> Any:
        # Nesting is bounded before parsing (check_depth), so the recursion is too.
        if node.tag == _STR:
            return node.value
        if isinstance(node, yaml.MappingNode):
            keys = {k.value for k, _ in node.value if k.tag == _STR and isinstance(k, yaml.ScalarNode)}
            if len(keys) != len(node.value):
                raise _NeedsLocated  # a repeated key, or a key that is not text (a date, a number, a list)
            return {k.value: self._plain(v) for k, v in node.value}
        if isinstance(node, yaml.SequenceNode):
            return [self._plain(item) for item in node.value]
        return self.construct_object(node)  # a number, a date, true/false, null


class _Scalars(yaml.SafeLoader):
    """Resolves and builds single values for the located loader."""


for _loader in (_FastLoader, _Scalars):
    _loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
assert not _FastLoader.yaml_path_resolvers and None not in _FastLoader.yaml_implicit_resolvers  # what resolve skips


# Anchors and merge keys can expand (alias bombs) and tags can surprise: those files take the careful path.
_CAREFUL = re.compile(r"(?:^|[\s\[{,:-])[&*!][^\s]|<<\s*:")
_MERGE = re.compile(r"<<\s*:")
_MARKS = "&*!"  # an anchor's, an alias's and a tag's first character
_MARKS_LOOKED_AT = 256  # past this many in a text, _CAREFUL searches it instead


def _careful(text: str) -> bool:
    """Whether *text* may hold an anchor, an alias, a tag or a merge key: _CAREFUL finds one in it. Most files
    hold none of their characters, or a few '&' in prose, so each is looked at where it stands: a search of the
    pattern steps through every character in Python's regular expression engine (165 µs for the example
    tenants' files, 11 µs this way). A text with many goes to the pattern, whose time does not grow with them."""
    if "<<" in text and _MERGE.search(text) is not None:
        return True
    looked_at = 0
    for mark in _MARKS:
        at = text.find(mark)
        while at != -1:
            if _starts_token(text, at):
                return True
            looked_at += 1
            if looked_at > _MARKS_LOOKED_AT:
                return _CAREFUL.search(text) is not None
            at = text.find(mark, at + 1)
    return False


def _starts_token(text: str, at: int) -> bool:
    """Whether the mark at *at* stands where _CAREFUL's first branch finds one: at the start or after white
    space or one of `[{,:-`, and followed by a character that is not white space."""
    before, after = text[at - 1 : at], text[at + 1 : at + 2]
    return (at == 0 or before.isspace() or before in "[{,:-") and after != "" and not after.isspace()


def load_fast(file: Path, keep_going: bool = False) -> Located:
    """Parse a YAML file, finding positions only if a message needs them.

    Plain files (no anchors, aliases, tags or merge keys; no duplicate keys) are
    parsed by the C loader alone, about twice as fast as the located walk; any
    other file, and any error, goes through load() for exact positions.
    """
    text = read_text(file)
    check_depth(file, text)
    if not _careful(text) and not _may_exceed(text):
        try:
            data = yaml.load(text, Loader=_FastLoader)
        except Exception:
            pass
        else:
            # The separator bound below makes this hold; counting keeps it true whatever the bound misses.
            if (data is None or isinstance(data, (dict, list))) and _count_values(data) <= MAX_NODES:
                return Located(data=data, file=file, text=text)
    return load(file, text, keep_going=keep_going)


def _count_values(data: Any) -> int:
    """How many values a loaded document holds, counted as the located loader counts them."""
    count = 0
    stack = [data]
    while stack and count <= MAX_NODES:
        value = stack.pop()
        count += 1
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return count


def _may_exceed(text: str) -> bool:
    """Whether *text* could hold more than MAX_NODES values: each value but the first needs a
    separator or indicator (a comma, a line break, a colon, a bracket, '- ' or '? '), so most files
    are cleared by counting those."""
    separators = sum(text.count(c) for c in ",\n:[{-?")
    return 2 * separators + 2 > MAX_NODES


def check_count(file: Path, text: str, line_offset: int = 0) -> None:
    """Refuse a document of more than MAX_NODES values before anything is built from it.

    900 000 one-character items fit in 2 MiB; composing them all would take seconds and
    hundreds of MiB before the builder's own count stops. The event scan stops at the limit.
    Values are counted as the builder counts them: keys are not, each alias is one (the
    builder also counts what aliases and merge keys expand to).
    """
    if not _may_exceed(text):
        return
    count = 0
    try:
        for key, _event in _values(yaml.parse(text, Loader=_Loader)):
            count += 1
            if count > MAX_NODES:
                line, column = (key.start_mark.line, key.start_mark.column) if key and key.start_mark else (0, 0)
                raise InputError(
                    [
                        Problem(
                            TOO_MANY,
                            file=file,
                            line=line + 1 + line_offset,
                            column=column + 1,
                            key_path=str(key.value) if key else None,
                            expected=TOO_MANY_EXPECTED,
                            suggestion=TOO_MANY_HINT,
                        )
                    ]
                )
    except yaml.YAMLError:
        return  # the composer reports syntax errors with their place


@dataclass
class _Open:
    """A collection the event scan is inside."""

    mapping: bool
    key_next: bool = True


def _values(events: Iterable[yaml.Event]) -> Iterator[tuple[yaml.ScalarEvent | None, yaml.Event]]:
    """(the top-level key above it, the event) for each value event: scalars, collections and aliases, not keys."""
    stack: list[_Open] = []
    top_key: yaml.ScalarEvent | None = None
    for event in events:
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent, yaml.AliasEvent)):
            inner = stack[-1] if stack else None
            is_key = inner is not None and inner.mapping and inner.key_next
            if inner is not None and inner.mapping:
                inner.key_next = not inner.key_next
            if is_key and len(stack) == 1 and isinstance(event, yaml.ScalarEvent):
                top_key = event
            if not is_key:
                yield top_key, event
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append(_Open(isinstance(event, yaml.MappingStartEvent)))
        elif isinstance(event, yaml.CollectionEndEvent):
            stack.pop()


TOO_MANY = f"document expands to more than {MAX_NODES} values"
TOO_MANY_EXPECTED = "a plain facts file"
TOO_MANY_HINT = "remove YAML aliases (*name) and merge keys (<<) that repeat large blocks, or pasted data"


def check_depth(file: Path, text: str, line_offset: int = 0) -> None:
    """Refuse deep nesting before the composer sees it: libyaml's C composer recurses
    once per level and a 2 MiB file of '[' or '- ' crashes the interpreter.

    Nesting is bounded by the flow brackets plus the longest run of indentation and
    block indicators at a line start; only files where that bound is over the limit
    pay for the (iterative) event scan that finds the real depth and where it is.
    """
    if text.count("[") + text.count("{") + longest_lead(text) + 2 <= MAX_DEPTH:
        return
    try:
        _scan_depth(file, text, line_offset, _Loader)
    except yaml.YAMLError:
        # libyaml 0.2.6 and later stop at their own nesting limit, scanning ahead of the events,
        # before we see level 65: the pure-Python parser has no such limit, so the message is ours.
        try:
            _scan_depth(file, text, line_offset, yaml.SafeLoader)
        except yaml.YAMLError:
            return  # the composer reports syntax errors with their place


def _scan_depth(file: Path, text: str, line_offset: int, loader: Any) -> None:
    """Walk the parser's events, refusing the first collection nested deeper than MAX_DEPTH."""
    depth = 0
    top_mapping = False
    expect_key = True
    top_key: str | None = None  # the top-level key the nesting sits under, for the message
    for event in yaml.parse(text, Loader=loader):
        if depth == 1 and top_mapping and isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            if expect_key and isinstance(event, yaml.ScalarEvent):
                top_key = event.value
            expect_key = not expect_key
        if isinstance(event, yaml.CollectionStartEvent):
            top_mapping = top_mapping or (depth == 0 and isinstance(event, yaml.MappingStartEvent))
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                assert mark is not None  # the parser marks every event it makes
                raise InputError(
                    [
                        Problem(
                            f"values nested deeper than {MAX_DEPTH} levels",
                            file=file,
                            line=mark.line + 1 + line_offset,
                            column=mark.column + 1,
                            key_path=top_key,
                            expected="a shallower structure",
                        )
                    ]
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


# A line break and the indentation and block indicators after it: the line break first, so that the search skips
# from one to the next (a pattern starting at each line's start tries every character: 2.6 times as long).
_LEADING = re.compile(r"\n[ ?-]+")


def longest_lead(text: str) -> int:
    """The longest run of spaces, '-' and '?' that starts a line of *text*."""
    return max(map(len, _LEADING.findall("\n" + text)), default=1) - 1


_SYNTAX_HINTS = [
    ("tab character", "indent with spaces; YAML does not allow tabs for indentation"),
    ("undefined alias", "a value starting with '*' is read as an alias: put it in quotes"),
    ("quoted scalar", "close the quote, or write a ' inside single quotes as ''"),
    ("mapping values are not allowed", "put values that contain ': ' in quotes, or fix the indentation of this key"),
    ("flow sequence", "close the '[' with ']' and separate items with ', ', or quote a value that starts with '['"),
    ("flow mapping", "close the '{' with '}', or quote a value that starts with '{'"),
    ("expected <block end>", "line this key up with the keys above it"),
    ("found character that cannot start any token", "put values that start with '@', '`', '%' or '|' in quotes"),
]


def _syntax_hint(text: str) -> str:
    for needle, hint in _SYNTAX_HINTS:
        if needle in text:
            return hint
    return "check indentation and quote values that contain ': ' or start with '*', '&', '{', '['"


def load(file: Path, text: str | None = None, line_offset: int = 0, keep_going: bool = False) -> Located:
    """Parse one YAML document from *file* (or from *text*, which came from it)."""
    if text is None:
        text = read_text(file)
    check_depth(file, text, line_offset)
    check_count(file, text, line_offset)
    try:
        node = _compose(text)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids: it has a place, not a mark
        raise InputError([_forbidden_character(file, text, exc, line_offset)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or exc.context}"
        start = exc.context_mark
        if (
            exc.problem
            and exc.context
            and start is not None
            and mark is not None
            and start.line != mark.line
            and ("quoted" in exc.context or "flow" in exc.context)
        ):
            # "end of stream" at the last line says little; where the unfinished value began says what to fix.
            message += f" ({exc.context.removeprefix('while ')} that starts at line {start.line + 1 + line_offset}, column {start.column + 1})"
        raise InputError(
            [
                Problem(
                    message,
                    file=file,
                    line=(mark.line + 1 + line_offset) if mark else None,
                    column=(mark.column + 1) if mark else None,
                    expected="valid YAML",
                    suggestion=_syntax_hint(f"{exc.context or ''} {exc.problem or ''}"),
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(f"YAML error: {exc}", file=file, expected="valid YAML")]) from None
    located = Located(data=None, file=file, line_offset=line_offset)
    if node is None:
        return located
    builder = _Builder(located)
    located.data = builder.build(node, (), 0)
    if builder.problems and not keep_going:
        raise InputError(builder.problems)
    located.problems = builder.problems
    return located


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" not in str(exc.problem):
            raise
        # A libyaml nesting limit below ours: check_depth has already refused anything deeper than
        # MAX_DEPTH, so the pure-Python composer (which has no such limit) reads the rest.
        return yaml.compose(text, Loader=yaml.SafeLoader)


def _forbidden_character(file: Path, text: str, exc: yaml.reader.ReaderError, line_offset: int) -> Problem:
    # libyaml counts bytes of the UTF-8 text; finding the character ourselves gives a column in characters.
    found = yaml.reader.Reader.NON_PRINTABLE.search(text)
    position = found.start() if found else max(0, min(exc.position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    character = ord(found.group()[0]) if found else exc.character if isinstance(exc.character, int) else 0
    return Problem(
        f"character U+{character:04X} is not allowed in a YAML file",
        file=file,
        line=line + line_offset,
        column=column,
        expected="text without control characters",
        suggestion="remove it; a NUL byte often means the file was saved as UTF-16 or is not text at all"
        if character == 0
        else "remove it, or write it as an escape such as \\t inside double quotes",
    )


_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_CORE + name for name in ("str", "int", "float", "bool", "null", "timestamp")}
_COLLECTION_TAGS = {yaml.MappingNode: _CORE + "map", yaml.SequenceNode: _CORE + "seq"}
_TAG_EXPECTED = "plain text, numbers, true/false, dates, lists and mappings, without a '!' tag"


class _Builder:
    def __init__(self, located: Located) -> None:
        self.located = located
        self.problems: list[Problem] = []
        self.count = 0
        self.constructor = _Scalars("")  # only used for scalar resolution

    def build(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        self._spend(path)
        if depth > MAX_DEPTH:
            raise InputError(
                [
                    Problem(
                        f"values nested deeper than {MAX_DEPTH} levels",
                        file=self.located.file,
                        line=node.start_mark.line + 1 + self.located.line_offset,
                        column=node.start_mark.column + 1,
                        key_path=format_path(path[:1]) or None,
                        expected="a shallower structure",
                    )
                ]
            )
        self.located.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag != _COLLECTION_TAGS[type(node)]:
            self._refuse_tag(node, path)  # !!set, !!omap, !!python/object...: nothing is built from it
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _spend(self, path: KeyPath) -> None:
        """Count one value, alias or merged entry against the document's budget."""
        self.count += 1
        # The limit reports the top-level key the runaway value sits under: the full
        # path of an alias bomb says nothing a person can use.
        if self.count > MAX_NODES:
            raise InputError(
                [self.located.problem(path[:1], TOO_MANY, expected=TOO_MANY_EXPECTED, suggestion=TOO_MANY_HINT)]
            )

    def _mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in self._merged(node, path):
            key = self._key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            if key in out:
                first = self.located.positions.get(child, (None, None))[0]
                self.problems.append(
                    Problem(
                        f"duplicate key '{key}' (first defined on line {first})",
                        file=self.located.file,
                        line=key_node.start_mark.line + 1 + self.located.line_offset,
                        column=key_node.start_mark.column + 1,
                        key_path=format_path(child),
                        expected="each key once per mapping",
                        suggestion="merge the two entries or remove one",
                    )
                )
                continue
            self.located.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, child, depth + 1)
        return out

    def _key(self, node: yaml.Node, path: KeyPath) -> str | None:
        """A key as the file spells it (`2026-01-01:` or `on:` stays that text), or None with a problem."""
        before = len(self.problems)
        key = self._scalar(node, path)
        if isinstance(key, str):
            return key
        if key is not None and isinstance(node, yaml.ScalarNode):
            return str(node.value)
        if len(self.problems) == before:  # a list, a mapping or an empty value as a key
            self.problems.append(self.located.problem(path, "mapping keys must be plain text", expected="a key name"))
        return None

    def _merged(
        self, node: yaml.MappingNode, path: KeyPath, within: frozenset[int] = frozenset()
    ) -> list[tuple[yaml.Node, yaml.Node]]:
        """Key/value pairs with YAML merge keys (<<) resolved, explicit keys winning.

        Every merged entry is counted: nested `<<: [*m, *m, ...]` doubles per level, like an alias bomb.
        *within* holds the mappings being merged into: one that merges itself (`a: &x {<<: *x}`) is refused.
        """
        within = within | {id(node)}
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key, value in node.value:
            if key.tag == _CORE + "merge":
                sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
                for src in sources:
                    if id(src) in within:
                        raise InputError(
                            [
                                self.located.problem(
                                    path,
                                    "a merge key (<<) refers to a mapping it is part of",
                                    expected="a merge key naming another mapping",
                                    suggestion="merge an anchor defined outside this mapping",
                                )
                            ]
                        )
                    if isinstance(src, yaml.MappingNode):
                        for pair in self._merged(src, path, within):
                            self._spend(path)
                            merged.append(pair)
            else:
                pairs.append((key, value))
        seen = {k.value for k, _ in pairs if isinstance(k, yaml.ScalarNode)}
        out: list[tuple[yaml.Node, yaml.Node]] = []
        for pair in merged:  # the first mapping merged wins, as YAML says; explicit keys win over all
            name = pair[0].value if isinstance(pair[0], yaml.ScalarNode) else id(pair[0])
            if name not in seen:
                seen.add(name)
                out.append(pair)
        return out + pairs

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return None
        if node.tag not in _SCALAR_TAGS:
            self._refuse_tag(node, path)
            return None
        if node.tag not in (_CORE + "str", self._implicit_tag(node)):
            # An explicit tag the value does not fit (!!bool maybe, !!int ''): PyYAML's constructors
            # would crash on it, and the value means nothing else.
            kind = node.tag.removeprefix(_CORE)
            self.problems.append(
                self._at(
                    node,
                    path,
                    f"{quoted(node.value)} is not a valid !!{kind} value",
                    expected=_TAG_FORMS[kind],
                    suggestion=f"remove the tag !!{kind}",
                )
            )
            return None
        try:
            return self.constructor.construct_object(node, deep=False)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            # PyYAML resolves 2026-02-30 as a date, then fails to build it.
            timestamp = node.tag.endswith(":timestamp")
            self.problems.append(
                self._at(
                    node,
                    path,
                    f"{quoted(node.value)} is not a real date ({exc})"
                    if timestamp
                    else f"{quoted(node.value)} cannot be read: {exc}",
                    expected="a date written YYYY-MM-DD that exists in the calendar" if timestamp else None,
                )
            )
            return node.value

    def _implicit_tag(self, node: yaml.ScalarNode) -> str:
        tag: str = self.constructor.resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]  # untyped in PyYAML's stubs
        # Any number is a fine float; a float tag on an integer's text still reads as intended.
        return node.tag if node.tag == _CORE + "float" and tag == _CORE + "int" else tag

    def _refuse_tag(self, node: yaml.Node, path: KeyPath) -> None:
        shown = node.tag.replace(_CORE, "!!")
        self.problems.append(
            self._at(
                node,
                path,
                f"the YAML tag {quoted(shown)} is not allowed",
                expected=_TAG_EXPECTED,
                suggestion=f"remove {shown}",
            )
        )

    def _at(self, node: yaml.Node, path: KeyPath, message: str, **kw: Any) -> Problem:
        return Problem(
            message,
            file=self.located.file,
            line=node.start_mark.line + 1 + self.located.line_offset,
            column=node.start_mark.column + 1,
            key_path=format_path(path) or None,
            **kw,
        )


_TAG_FORMS = {
    "int": "a whole number such as 16",
    "float": "a number such as 2.5",
    "bool": "true or false",
    "null": "an empty value or null",
    "timestamp": "a date written YYYY-MM-DD",
}


def packaged_data(*parts: str) -> Any:
    """A data file that ships with policygen (policygen/data/<parts>), read like every other YAML file
    (limits, no tags); None when policygen ships no such file. Malformed, it is a packaging bug, not the
    user's input."""
    entry = resources.files("policygen").joinpath("data", *parts)
    if not entry.is_file():
        return None
    try:
        with resources.as_file(entry) as file:
            return load_fast(file).data  # plain files: no positions kept (a one-tenant rebuild reads six)
    except InputError as exc:
        raise RuntimeError(f"policygen/data/{'/'.join(parts)} is malformed: {exc}") from None


def packaged(model: type[Model], *parts: str) -> Model:
    """packaged_data(*parts) validated by *model*."""
    try:
        return model.model_validate(packaged_data(*parts))
    except ValidationError as exc:
        raise RuntimeError(f"policygen/data/{'/'.join(parts)} is malformed: {exc}") from None
