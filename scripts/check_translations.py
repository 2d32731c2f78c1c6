#!/usr/bin/env python3
"""Check the clause library's translations against their English sources, without rendering.

A translation sits beside its source (Hugo's convention): content/<doc>/<name>.<lang>.md for a
clause or partial, content/<doc>/document.<lang>.yaml for a document's title and description.
For every translation this checks that:

  - `translates:` (front matter; for a partial, a first line `{#- translates: <hash> -#}`) is the
    first 16 hex digits of the SHA-256 of the source's bytes, CRLF turned into LF, so a changed
    source shows which translations are stale;
  - the front matter holds only title, translates, reviewed_by and reviewed_on (id, order and when
    come from the source: a translation can never change when a clause applies);
  - the body is valid Jinja (with the do and loopcontrols extensions the clause sandbox loads);
  - the body's {% %} tags are the source's, in the same order, and its {{ }} expressions the same
    multiset, compared token by token after blanking quoted string literals (these may be
    translated);
  - beyond that, only a string literal that is prose may differ from the source: a dict value
    (`{"email": "by email"}`) or a join() separator. Dict keys, comparisons, filter arguments and
    import paths are code and must stay as written.

Usage: scripts/check_translations.py [--require LANG]... [CONTENT_DIR]
CONTENT_DIR defaults to content/ beside this script; each --require LANG also reports every
clause, partial and document.yaml that has no LANG translation.
Exit 0 when every translation passes, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.S)
PARTIAL_HEADER = re.compile(r"\A\{#- translates: ([0-9a-f]{16}) -#\}\n")
LANG = r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*"
CLAUSE_NAME = re.compile(rf"\A(?P<stem>[^.]+)\.(?P<lang>{LANG})\.md\Z")
DOCUMENT_NAME = re.compile(rf"\Adocument\.(?P<lang>{LANG})\.yaml\Z")
CLAUSE_KEYS = {"title", "translates", "reviewed_by", "reviewed_on"}
DOCUMENT_KEYS = CLAUSE_KEYS | {"description"}
TAG_OPEN = {"block_begin": "block_end", "variable_begin": "variable_end"}
# Tags whose string literals name files: they stay exactly as written.
PATH_TAGS = {"import", "from", "include", "extends"}
WORDY = {"name", "integer", "float", "string"}  # token types written with a space between them

Token = tuple[str, str]


@dataclass(frozen=True)
class Tag:
    kind: str  # block_begin or variable_begin
    line: int
    tokens: tuple[Token, ...]  # whitespace dropped, strings kept

    def blanked(self) -> tuple[Token, ...]:
        keep = len(self.tokens) > 1 and self.tokens[1][1] in PATH_TAGS
        return tuple(t if keep or t[0] != "string" else ("string", '""') for t in self.tokens)

    def text(self) -> str:
        return show(self.tokens)


def show(tokens: tuple[Token, ...]) -> str:
    """Tokens as template text: a space between words, none around operators ('a.b|c(1)')."""
    out = ""
    for i, (typ, value) in enumerate(tokens):
        prev = tokens[i - 1][0] if i else ""
        gap = (typ in WORDY and prev in WORDY) or typ.endswith("_end") or prev.endswith("_begin")
        out += (" " if gap else "") + value
    return out


def source_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()[:16]


def environment() -> jinja2.Environment:
    # The clause sandbox's lexing options (policygen.render.clause_environment), so tags lex alike.
    return jinja2.Environment(
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def tags(env: jinja2.Environment, body: str) -> list[Tag]:
    found: list[Tag] = []
    current: list[Token] | None = None
    kind, line = "", 0
    for lineno, typ, value in env.lex(body):
        if typ in TAG_OPEN:
            current, kind, line = [(typ, value)], typ, lineno
        elif current is not None and typ == TAG_OPEN[kind]:
            current.append((typ, value.strip()))
            found.append(Tag(kind, line, tuple(current)))
            current = None
        elif current is not None and typ != "whitespace":
            current.append((typ, value))
    return found


def prose_literals(tag: Tag) -> set[int]:
    """Indexes of the string tokens that are words, not code: dict values and join() separators."""
    prose: set[int] = set()
    toks = tag.tokens
    for i, (typ, _) in enumerate(toks):
        if typ != "string":
            continue
        before = [v for _, v in toks[max(0, i - 2) : i]]
        if before[-1:] == [":"] or before == ["join", "("]:
            prose.add(i)
    return prose


def compare_bodies(env: jinja2.Environment, src: str, trn: str, where: str) -> list[str]:
    problems: list[str] = []
    try:
        env.parse(trn)
    except jinja2.TemplateSyntaxError as e:
        return [f"{where}:{e.lineno}: not valid Jinja: {e.message}"]
    s_tags, t_tags = tags(env, src), tags(env, trn)
    s_blocks = [t for t in s_tags if t.kind == "block_begin"]
    t_blocks = [t for t in t_tags if t.kind == "block_begin"]
    for i, (s, t) in enumerate(zip(s_blocks, t_blocks, strict=False)):
        if s.blanked() != t.blanked():
            problems.append(f"{where}:{t.line}: tag {i + 1} is `{t.text()}`, the source has `{s.text()}`")
            break  # later tags are shifted: one report is enough
    if len(s_blocks) != len(t_blocks):
        problems.append(f"{where}: {len(t_blocks)} {{% %}} tags, the source has {len(s_blocks)}")
    s_vars = Counter(t.blanked() for t in s_tags if t.kind == "variable_begin")
    t_vars = Counter(t.blanked() for t in t_tags if t.kind == "variable_begin")
    for missing in s_vars - t_vars:
        problems.append(f"{where}: missing expression `{show(missing)}`")
    for extra in t_vars - s_vars:
        problems.append(f"{where}: expression `{show(extra)}` is not in the source")
    if not problems:
        problems += compare_code_literals(s_tags, t_tags, where)
    return problems


def compare_code_literals(s_tags: list[Tag], t_tags: list[Tag], where: str) -> list[str]:
    problems: list[str] = []
    s_blocks = [t for t in s_tags if t.kind == "block_begin"]
    t_blocks = [t for t in t_tags if t.kind == "block_begin"]
    pairs = list(zip(s_blocks, t_blocks, strict=True))
    # Expressions may move; pair each translated expression with an unused source one alike once blanked.
    unused = [t for t in s_tags if t.kind == "variable_begin"]
    for t in (t for t in t_tags if t.kind == "variable_begin"):
        s = next(s for s in unused if s.blanked() == t.blanked())
        unused.remove(s)
        pairs.append((s, t))
    for s, t in pairs:
        prose = prose_literals(s)
        for i, (a, b) in enumerate(zip(s.tokens, t.tokens, strict=True)):
            if a[0] == "string" and i not in prose and a != b:
                problems.append(f"{where}:{t.line}: the code literal {a[1]} became {b[1]}")
    return problems


def check_clause(env: jinja2.Environment, source: Path, trn: Path) -> list[str]:
    text = trn.read_text(encoding="utf-8").replace("\r\n", "\n")
    src_text = source.read_text(encoding="utf-8").replace("\r\n", "\n")
    match = FRONT.match(text)
    if not match:
        return [f"{trn}:1: no front matter (a first line '---', then title and translates, then '---')"]
    front = yaml.safe_load(match.group(1) or "") or {}
    problems = check_front(front, CLAUSE_KEYS, source, trn)
    src_match = FRONT.match(src_text)
    src_body = src_text[src_match.end() :] if src_match else src_text
    # Pad the body with the front matter's lines so reported line numbers are the file's.
    body = "\n" * text[: match.end()].count("\n") + text[match.end() :]
    return problems + compare_bodies(env, src_body, body, str(trn))


def check_partial(env: jinja2.Environment, source: Path, trn: Path) -> list[str]:
    text = trn.read_text(encoding="utf-8").replace("\r\n", "\n")
    match = PARTIAL_HEADER.match(text)
    if not match:
        return [f"{trn}:1: a partial's translation starts with the line {{#- translates: <hash> -#}}"]
    problems = []
    if match.group(1) != source_hash(source):
        problems.append(f"{trn}:1: translates {match.group(1)}, the source's hash is {source_hash(source)}")
    src_text = source.read_text(encoding="utf-8").replace("\r\n", "\n")
    return problems + compare_bodies(env, src_text, text, str(trn))


def check_document(source: Path, trn: Path) -> list[str]:
    front = yaml.safe_load(trn.read_text(encoding="utf-8")) or {}
    problems = check_front(front, DOCUMENT_KEYS, source, trn)
    src = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    if isinstance(front, dict) and ("description" in src) != ("description" in front):
        problems.append(f"{trn}: the source {'has' if 'description' in src else 'has no'} description")
    return problems


def check_front(front: Any, allowed: set[str], source: Path, trn: Path) -> list[str]:
    if not isinstance(front, dict):
        return [f"{trn}: the front matter must be a mapping"]
    problems = [f"{trn}: key '{k}' does not belong in a translation" for k in front if k not in allowed]
    for key in ("title", "translates"):
        if not isinstance(front.get(key), str) or not front[key].strip():
            problems.append(f"{trn}: '{key}' must be set")
    if front.get("translates") not in (None, source_hash(source)):
        problems.append(f"{trn}: translates {front['translates']}, the source's hash is {source_hash(source)}")
    if "reviewed_on" in front and not isinstance(front["reviewed_on"], dt.date):
        problems.append(f"{trn}: reviewed_on must be a date, YYYY-MM-DD")
    return problems


def translations(content: Path) -> list[tuple[Path, Path]]:
    """(source, translation) pairs; a translation whose source is missing pairs with that path."""
    found: list[tuple[Path, Path]] = []
    for file in sorted(content.glob("*/*")):
        if m := CLAUSE_NAME.match(file.name):
            found.append((file.with_name(m["stem"] + ".md"), file))
        elif DOCUMENT_NAME.match(file.name):
            found.append((file.with_name("document.yaml"), file))
    return found


def check(content: Path) -> tuple[int, list[str]]:
    env = environment()
    problems: list[str] = []
    pairs = translations(content)
    for source, trn in pairs:
        if not source.is_file():
            problems.append(f"{trn}: no source {source.name} beside it")
        elif trn.suffix == ".yaml":
            problems += check_document(source, trn)
        elif trn.parent.name == "_partials":
            problems += check_partial(env, source, trn)
        else:
            problems += check_clause(env, source, trn)
    return len(pairs), problems


def untranslated(content: Path, lang: str) -> list[str]:
    sources = [f for f in sorted(content.glob("*/*.md")) if "." not in f.stem]
    sources += sorted(content.glob("*/document.yaml"))
    return [f"{f}: no {lang} translation" for f in sources if not f.with_suffix(f".{lang}{f.suffix}").is_file()]


def main(argv: list[str]) -> int:
    args, required = argv[1:], []
    while args[:1] == ["--require"] and len(args) > 1:
        required.append(args[1])
        args = args[2:]
    content = (Path(args[0]) if args else Path(__file__).parent.parent / "content").resolve()
    os.chdir(content.parent)  # problems name files as content/<doc>/<file>
    content = Path(content.name)
    count, problems = check(content)
    for lang in required:
        problems += untranslated(content, lang)
    for p in problems:
        print(p)
    print(f"{count} translations checked, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
