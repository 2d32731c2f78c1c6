#!/usr/bin/env python3
"""Check the clause library's translations against their English sources.

    python3 scripts/check_translations.py [CONTENT_DIR] [--require hi,fr]

A translation sits beside its source (Hugo's convention): content/<doc>/<name>.<lang>.md for a
clause or partial, content/<doc>/document.<lang>.yaml for a document's title and description.
For every translation found, this checks that:

  (a) `translates:` is the first 16 hex digits of the SHA-256 of the source's bytes (CRLF read as
      LF): a clause or document.yaml carries it in its front matter, a partial on a first line
      `{#- translates: <hash> -#}`;
  (b) the front matter holds only title and translates (description too in document.<lang>.yaml),
      with the optional reviewed_by and reviewed_on: never id, order, when or another key, which
      come from the source;
  (c) the body is valid Jinja (the clause environment's settings and extensions);
  (d) its `{% %}` tags are the source's, in the same order, and its `{{ }}` expressions are the
      source's (as a multiset), compared after blanking every quoted string literal;
  (e) every string literal that is not prose is the source's: dictionary keys, comparison operands,
      test, filter and method arguments. Prose literals, which may be translated, are dictionary
      values and the separators given to `join`.

With --require, a source with no translation in one of the listed languages is a problem too.
Prints one line per problem, `file:line: message`, and exits 1 if there is any, else 0.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2
import jinja2.nodes as nodes
import yaml

TRANSLATION = re.compile(r"^(?P<base>[^.]+)\.(?P<lang>[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.(?P<ext>md|yaml)$")
FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.S)
PARTIAL_HEAD = re.compile(r"\A\{#-?\s*translates:\s*(?P<hash>\S+)\s*-?#\}")
REVIEW_KEYS = {"reviewed_by", "reviewed_on"}
CLAUSE_KEYS = {"title", "translates"}
DOCUMENT_KEYS = {"title", "description", "translates"}


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def source_hash(file: Path) -> str:
    return hashlib.sha256(file.read_bytes().replace(b"\r\n", b"\n")).hexdigest()[:16]


def environment() -> jinja2.Environment:
    # The settings of policygen.render.clause_environment that change how a template lexes.
    return jinja2.Environment(
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def split_front(text: str) -> tuple[dict[str, object] | None, str, int]:
    """Front matter (None when there is none), the body, and the body's first line number."""
    match = FRONT.match(text)
    if not match:
        return None, text, 1
    front = yaml.safe_load(match.group(1) or "") or {}
    if not isinstance(front, dict):
        front = {}
    return front, text[match.end() :], text[: match.end()].count("\n") + 1


def tag_signature(env: jinja2.Environment, body: str) -> tuple[list[tuple[int, str]], Counter[str]]:
    """The `{% %}` tags in order (with their lines) and the `{{ }}` expressions, string literals blanked."""
    tags: list[tuple[int, str]] = []
    exprs: Counter[str] = Counter()
    current: list[str] | None = None
    for line, kind, value in env.lex(body):
        if kind in ("block_begin", "variable_begin"):
            current = [value.strip()]
        elif kind == "block_end" and current is not None:
            tags.append((line, " ".join([*current, value.strip()])))
            current = None
        elif kind == "variable_end" and current is not None:
            exprs[" ".join([*current, value.strip()])] += 1
            current = None
        elif current is not None and kind != "whitespace":
            current.append('""' if kind == "string" else value)
    return tags, exprs


def fixed_literals(tree: nodes.Node) -> Counter[str]:
    """String literals a translation must keep: every one but dict values and `join` separators."""
    prose: set[int] = set()
    for pair in tree.find_all(nodes.Pair):
        prose.add(id(pair.value))
    for flt in tree.find_all(nodes.Filter):
        if flt.name == "join":
            prose.update(id(a) for a in flt.args)
            prose.update(id(k.value) for k in flt.kwargs)
    found: Counter[str] = Counter()
    for const in tree.find_all(nodes.Const):
        if isinstance(const.value, str) and id(const) not in prose:
            found[const.value] += 1
    return found


def compare_bodies(env: jinja2.Environment, file: Path, body: str, first: int, source_body: str) -> list[Problem]:
    try:
        tree = env.parse(body)
    except jinja2.TemplateSyntaxError as exc:
        return [Problem(file, first + (exc.lineno or 1) - 1, f"not valid Jinja: {exc.message}")]
    problems: list[Problem] = []
    found, exprs = tag_signature(env, body)
    want_found, want_exprs = tag_signature(env, source_body)
    tags, want_tags = [t for _, t in found], [t for _, t in want_found]
    if tags != want_tags:
        at = next(
            (i for i, (a, b) in enumerate(zip(tags, want_tags, strict=False)) if a != b), min(len(tags), len(want_tags))
        )
        got = tags[at] if at < len(tags) else "(no more tags)"
        want = want_tags[at] if at < len(want_tags) else "(no more tags)"
        line = first + (found[at][0] if at < len(found) else body.count("\n") + 1) - 1
        problems.append(Problem(file, line, f"tag {at + 1} differs from the source's: {got!r}, expected {want!r}"))
    for expr in sorted((exprs - want_exprs).keys()):
        problems.append(Problem(file, first, f"expression not in the source: {expr}"))
    for expr in sorted((want_exprs - exprs).keys()):
        problems.append(Problem(file, first, f"source expression missing: {expr}"))
    literals, want_literals = fixed_literals(tree), fixed_literals(env.parse(source_body))
    for lit in sorted((literals - want_literals).keys()):
        problems.append(
            Problem(file, first, f"string literal {lit!r} is code (key, comparison or argument) and not in the source")
        )
    for lit in sorted((want_literals - literals).keys()):
        problems.append(Problem(file, first, f"source string literal {lit!r} is code and must stay as written"))
    return problems


def check_keys(
    file: Path, front: dict[str, object], allowed: set[str], source_front: dict[str, object]
) -> list[Problem]:
    problems = [
        Problem(file, 2, f"key '{k}' does not belong in a translation; it comes from the source")
        for k in front
        if k not in allowed | REVIEW_KEYS
    ]
    for key in sorted((allowed - {"translates"}) & set(source_front)):
        value = front.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(file, 2, f"'{key}' missing: the source has one, so its translation needs one"))
    reviewed_on = front.get("reviewed_on")
    if reviewed_on is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(reviewed_on)):
        problems.append(Problem(file, 2, "reviewed_on must be a date YYYY-MM-DD"))
    if ("reviewed_by" in front) != ("reviewed_on" in front):
        problems.append(Problem(file, 2, "reviewed_by and reviewed_on go together"))
    return problems


def check_hash(file: Path, line: int, stated: object, source: Path) -> list[Problem]:
    want = source_hash(source)
    if stated is None:
        return [Problem(file, line, f"no 'translates:' hash (the source's is {want})")]
    if str(stated) != want:
        return [
            Problem(
                file, line, f"translates: {stated} but {source.name} now hashes to {want}: the source changed since"
            )
        ]
    return []


def check_translation(env: jinja2.Environment, file: Path, source: Path) -> list[Problem]:
    text = file.read_text(encoding="utf-8").replace("\r\n", "\n")
    source_text = source.read_text(encoding="utf-8").replace("\r\n", "\n")
    if file.suffix == ".yaml":
        data = yaml.safe_load(text) or {}
        source_data = yaml.safe_load(source_text) or {}
        if not isinstance(data, dict):
            return [Problem(file, 1, "a document translation is a YAML mapping")]
        problems = check_keys(file, data, DOCUMENT_KEYS, source_data)
        return [*problems, *check_hash(file, 1, data.get("translates"), source)]
    source_front, source_body, _ = split_front(source_text)
    if source_front is None:  # a partial: the hash rides on a Jinja comment line
        head = PARTIAL_HEAD.match(text)
        problems = check_hash(file, 1, head.group("hash") if head else None, source)
        if head and text.startswith("---"):
            problems.append(Problem(file, 1, "a partial's translation has no front matter"))
        return [*problems, *compare_bodies(env, file, text, 1, source_text)]
    front, body, first = split_front(text)
    if front is None:
        return [Problem(file, 1, "no front matter: a clause translation starts with title and translates")]
    problems = [
        *check_keys(file, front, CLAUSE_KEYS, source_front),
        *check_hash(file, 2, front.get("translates"), source),
    ]
    return [*problems, *compare_bodies(env, file, body, first, source_body)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("content", nargs="?", default="content", type=Path)
    parser.add_argument("--require", default="", help="comma-separated languages every source must be translated into")
    args = parser.parse_args(argv)
    env = environment()
    problems: list[Problem] = []
    sources = [
        f for f in sorted(args.content.rglob("*")) if f.suffix in (".md", ".yaml") and not TRANSLATION.match(f.name)
    ]
    checked = Counter[str]()
    for file in sorted(args.content.rglob("*")):
        match = TRANSLATION.match(file.name)
        if not match:
            continue
        source = file.with_name(f"{match['base']}.{match['ext']}")
        if not source.is_file():
            problems.append(Problem(file, 1, f"no source {source.name} beside it"))
            continue
        problems.extend(check_translation(env, file, source))
        checked[match["lang"]] += 1
    for lang in filter(None, args.require.split(",")):
        for source in sources:
            if not source.with_name(f"{source.stem}.{lang}{source.suffix}").is_file():
                problems.append(Problem(source, 1, f"no '{lang}' translation"))
    for problem in problems:
        print(problem)
    summary = ", ".join(f"{lang}: {n}" for lang, n in sorted(checked.items())) or "none"
    print(f"{sum(checked.values())} translations checked ({summary}); {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
