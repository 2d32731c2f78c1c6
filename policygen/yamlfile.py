"""Safe YAML reading that remembers where every value came from.

PyYAML silently keeps the last of two equal keys and will happily expand an
alias bomb; we compose the node graph ourselves (with the C parser when it is
there) so duplicate keys, runaway aliases and deep nesting become clear
problems, and every key path keeps its line and column for error messages.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem

try:  # the C parser is several times faster on large tenant files
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

KeyPath = tuple[str | int, ...]


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


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def read_text(file: Path) -> str:
    """Read a UTF-8 text file, turning size and encoding trouble into problems."""
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise InputError([Problem(f"cannot read file: {exc.strerror}", file=file)]) from None
    if size > MAX_BYTES:
        raise InputError([Problem(
            f"file is {size} bytes, larger than the {MAX_BYTES} bytes policygen reads",
            file=file, expected="a file under 2 MiB", suggestion="split it or remove pasted binary data",
        )])
    try:
        raw = file.read_bytes()
    except OSError as exc:  # unreadable (permissions) or a folder where a file belongs
        raise InputError([Problem(f"cannot read file: {exc.strerror or exc}", file=file)]) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark carries no meaning; editors on Windows add it
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError([Problem(
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8", file=file, line=line, column=col,
            expected="UTF-8 text", suggestion="re-save the file as UTF-8",
        )]) from None


class _NeedsLocated(Exception):
    """The fast path met something only the located loader reports well."""


class _FastLoader(_Loader):  # type: ignore[misc,valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
        if len(keys) != len(set(keys)) or len(keys) != len(node.value):
            raise _NeedsLocated
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


# Anchors and merge keys can expand (alias bombs) and tags can surprise: those files take the careful path.
_CAREFUL = re.compile(r"(?:^|[\s\[{,:-])[&*!][^\s]|<<\s*:")


def load_fast(file: Path, keep_going: bool = False) -> Located:
    """Parse a YAML file, finding positions only if a message needs them.

    Plain files (no anchors, aliases, tags or merge keys; no duplicate keys) are
    parsed by the C loader alone, about twice as fast as the located walk; any
    other file, and any error, goes through load() for exact positions.
    """
    text = read_text(file)
    check_depth(file, text)
    if not _CAREFUL.search(text):
        try:
            data = yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a SafeLoader subclass
        except (yaml.YAMLError, _NeedsLocated, ValueError, TypeError):
            pass
        else:
            if data is None or isinstance(data, (dict, list)):
                return Located(data=data, file=file, text=text)
    return load(file, text, keep_going=keep_going)


def check_depth(file: Path, text: str, line_offset: int = 0) -> None:
    """Refuse deep nesting before the composer sees it: libyaml's C composer recurses
    once per level and a 2 MiB file of '[' or '- ' crashes the interpreter.

    Nesting is bounded by the flow brackets plus the longest run of indentation and
    block indicators at a line start; only files where that bound is over the limit
    pay for the (iterative) event scan that finds the real depth and where it is.
    """
    lead = max((len(m) for m in _LEADING.findall(text)), default=0)
    if text.count("[") + text.count("{") + lead + 2 <= MAX_DEPTH:
        return
    depth = 0
    top_mapping = False
    expect_key = True
    top_key: str | None = None  # the top-level key the nesting sits under, for the message
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if depth == 1 and top_mapping and isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                if expect_key and isinstance(event, yaml.ScalarEvent):
                    top_key = event.value
                expect_key = not expect_key
            if isinstance(event, yaml.CollectionStartEvent):
                top_mapping = top_mapping or (depth == 0 and isinstance(event, yaml.MappingStartEvent))
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise InputError([Problem(
                        f"values nested deeper than {MAX_DEPTH} levels", file=file,
                        line=mark.line + 1 + line_offset, column=mark.column + 1, key_path=top_key,
                        expected="a shallower structure",
                    )])
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # the composer reports syntax errors with their place


_LEADING = re.compile(r"^[ ?-]*", re.M)


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
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or exc.context}"
        start = exc.context_mark
        if (exc.problem and exc.context and start is not None and mark is not None and start.line != mark.line
                and ('quoted' in exc.context or 'flow' in exc.context)):
            # "end of stream" at the last line says little; where the unfinished value began says what to fix.
            message += f" ({exc.context.removeprefix('while ')} that starts at line {start.line + 1 + line_offset}, column {start.column + 1})"
        raise InputError([Problem(
            message,
            file=file,
            line=(mark.line + 1 + line_offset) if mark else None,
            column=(mark.column + 1) if mark else None,
            expected="valid YAML",
            suggestion=_syntax_hint(f"{exc.context or ''} {exc.problem or ''}"),
        )]) from None
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


class _Builder:
    def __init__(self, located: Located) -> None:
        self.located = located
        self.problems: list[Problem] = []
        self.count = 0
        self.constructor = yaml.SafeLoader("")  # only used for scalar resolution

    def build(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        self.count += 1
        # Both limits report the top-level key the runaway value sits under: the full
        # path of an alias bomb or of 65 nested lists says nothing a person can use.
        if self.count > MAX_NODES:
            raise InputError([self.located.problem(
                path[:1], f"document expands to more than {MAX_NODES} values",
                expected="a plain facts file", suggestion="remove YAML aliases (*name) that repeat large blocks",
            )])
        if depth > MAX_DEPTH:
            raise InputError([Problem(
                f"values nested deeper than {MAX_DEPTH} levels", file=self.located.file,
                line=node.start_mark.line + 1 + self.located.line_offset, column=node.start_mark.column + 1,
                key_path=format_path(path[:1]) or None, expected="a shallower structure",
            )])
        self.located.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in _merged(node):
                key = self._scalar(key_node, path)
                if not isinstance(key, (str, int, bool, dt.date)) or isinstance(key, bool):
                    self.problems.append(self.located.problem(path, "mapping keys must be plain text", expected="a key name"))
                    continue
                key = str(key)
                child = (*path, key)
                if key in out:
                    first = self.located.positions.get(child, (None, None))[0]
                    self.problems.append(Problem(
                        f"duplicate key '{key}' (first defined on line {first})",
                        file=self.located.file, line=key_node.start_mark.line + 1 + self.located.line_offset,
                        column=key_node.start_mark.column + 1, key_path=format_path(child),
                        expected="each key once per mapping", suggestion="merge the two entries or remove one",
                    ))
                    continue
                self.located.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = self.build(value_node, child, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return None
        try:
            return self.constructor.construct_object(node, deep=False)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            # PyYAML resolves 2026-02-30 as a date, then fails to build it.
            self.problems.append(Problem(
                f"'{node.value}' is not a real date ({exc})" if node.tag.endswith(":timestamp")
                else f"'{node.value}' cannot be read: {exc}",
                file=self.located.file, line=node.start_mark.line + 1 + self.located.line_offset,
                column=node.start_mark.column + 1, key_path=format_path(path) or None,
                expected="a date written YYYY-MM-DD that exists in the calendar" if node.tag.endswith(":timestamp") else None,
            ))
            return node.value


def _merged(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    """Key/value pairs with YAML merge keys (<<) resolved, explicit keys winning."""
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for src in sources:
                if isinstance(src, yaml.MappingNode):
                    merged.extend(_merged(src))
        else:
            pairs.append((key, value))
    explicit = {k.value for k, _ in pairs if isinstance(k, yaml.ScalarNode)}
    return [p for p in merged if p[0].value not in explicit] + pairs
