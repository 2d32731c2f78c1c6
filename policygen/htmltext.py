"""The one home for reading text back out of rendered HTML.

A page, a clause or a snippet is read as a list of blocks, the way a person
reads it: headings, paragraphs, list items and table rows, each with its text.
Readability scores, the prose lint (policygen/prose.py), `check`'s pattern
tests, the store-label checks (policygen/labels.py) and `explain`'s page tests
all read text through here, so they agree on where one block ends and the next
begins. Two more passes over rendered HTML live here too: the redline's words and
breaks (`tokens`, for policygen/worddiff.py) and a page's ids and links
(`PageLinks`, for check's dead-link test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

BlockKind = Literal["heading", "paragraph", "item", "row", "term", "definition", "code", "text"]

_KINDS: dict[str, BlockKind] = {
    "p": "paragraph",
    "li": "item",
    "tr": "row",
    "dt": "term",
    "dd": "definition",
    "pre": "code",
    **{f"h{n}": "heading" for n in range(1, 7)},
}
# Tags that end one block and start another; text directly inside them is a block of kind "text".
_CONTAINERS = {
    "div",
    "section",
    "article",
    "nav",
    "header",
    "footer",
    "main",
    "aside",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "ul",
    "ol",
    "dl",
    "blockquote",
    "details",
    "summary",
    "caption",
    "figure",
    "body",
    "html",
}
_CELLS = {"td", "th"}
_LABELS = {"strong", "b"}
_SKIPPED = {"script", "style", "template", "title", "head"}


@dataclass(frozen=True)
class Block:
    """One block as a reader sees it.

    parts: its lines of text: one per table cell, per paragraph of a list item, or per <br>.
    label: the bold text that opens the block ("**Access your data**: ..."), if any, and
    after: the text that follows that label, up to the end of its line.
    """

    kind: BlockKind
    parts: tuple[str, ...]
    level: int = 0  # 1-6 for headings
    # The parts split where the HTML source breaks a line too (a Markdown soft break): readability's
    # sentence count has always ended a sentence there.
    lines: tuple[str, ...] = ()
    label: str | None = None
    after: str | None = None

    @property
    def text(self) -> str:
        return " ".join(self.parts)


@dataclass
class _Open:
    kind: BlockKind
    level: int
    parts: list[list[str]] = field(default_factory=lambda: [[]])
    label: list[str] | None = None  # collecting the opening bold text
    label_done: str | None = None
    label_closed: bool = False

    def has_text(self) -> bool:
        return any("".join(p).strip() for p in self.parts)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.open: list[_Open] = [_Open("text", 0)]
        self.skipping = 0

    @property
    def current(self) -> _Open:
        return self.open[-1]

    def _flush(self, block: _Open) -> None:
        raw = ["".join(p) for p in block.parts]
        parts = tuple(t for t in (" ".join(r.split()) for r in raw) if t)
        if parts:
            lines = tuple(t for t in (" ".join(line.split()) for r in raw for line in r.splitlines()) if t)
            label = " ".join(block.label_done.split()) if block.label_done is not None else None
            after = None
            if label is not None:
                first = next((t for t in (" ".join(r.split()) for r in raw) if t), "")
                after = first[len(label) :].strip() if first.startswith(label) else None
            self.blocks.append(Block(block.kind, parts, block.level, lines, label or None, after))
        block.parts = [[]]
        block.label, block.label_done, block.label_closed = None, None, False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
            return
        block = self.current
        if tag in _KINDS:
            if tag == "p" and block.kind == "item":
                block.parts.append([])  # a paragraph of a list item is a line of that item
                return
            self._flush(block)
            self.open.append(_Open(_KINDS[tag], int(tag[1]) if _KINDS[tag] == "heading" else 0))
        elif tag in _CONTAINERS:
            self._flush(block)
            self.open.append(_Open("text", 0))
        elif tag in _CELLS or tag == "br":
            block.parts.append([])
        elif tag in _LABELS and block.label is None and block.label_done is None and not block.has_text():
            block.label = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
            return
        block = self.current
        if tag in _LABELS and block.label is not None:
            block.label_done, block.label = "".join(block.label), None
        elif tag == "p" and block.kind == "item":
            block.parts.append([])
        elif (tag in _KINDS or tag in _CONTAINERS) and len(self.open) > 1:
            self._flush(block)
            self.open.pop()
        elif tag in _CELLS:
            block.parts.append([])

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        block = self.current
        block.parts[-1].append(data)
        if block.label is not None:
            block.label.append(data)

    def close(self) -> None:
        super().close()
        while self.open:
            self._flush(self.open.pop())


@lru_cache(maxsize=256)
def blocks(html: str) -> tuple[Block, ...]:
    """The blocks of an HTML page or fragment, in reading order.

    Kept for the last fragments read: check reads each clause for its text, its prose, its score and its
    lint, and tenants whose facts a clause does not print share the clause's HTML."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return tuple(reader.blocks)


def html_text(html: str) -> str:
    """The text of an HTML fragment, one line per block (paragraph, list item, cell)."""
    return "\n".join(line for block in blocks(html) for line in block.lines)


class ClauseLike(Protocol):
    """A rendered section as the page shows it: from today's render or from a released snapshot."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def html(self) -> str: ...


class DocumentLike(Protocol):
    """A rendered document as its pages show it: today's render or a released snapshot."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def clauses(self) -> Sequence[ClauseLike]: ...


# --- the redline's pass: words and breaks ---------------------------------------------------

BREAK = "\n"  # a token that ends a paragraph, so a redline keeps the clause's shape
_BLOCKS = frozenset(
    {
        "p",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "div",
        "section",
        "table",
        "ul",
        "ol",
        "blockquote",
        "dt",
        "dd",
        "br",
        "pre",
    }
)


_MARK = "\ue002"  # marks a block boundary in the parsed text; newlines in HTML source are only spaces


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(f" {_MARK} ")
        elif tag in {"td", "th"}:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.handle_starttag(tag, [])

    def handle_data(self, data: str) -> None:
        self.parts.append(data.replace(_MARK, " "))


def tokens(fragment: str) -> list[str]:
    """The words of an HTML fragment, with a BREAK token between blocks (never two in a row).

    The redline's pass (policygen/worddiff.py): it breaks lines inside list items and cells too,
    where `blocks` keeps one block, so a redline keeps the clause's every line."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    out: list[str] = []
    for word in "".join(parser.parts).split():
        if word == _MARK:
            if out and out[-1] != BREAK:
                out.append(BREAK)
        else:
            out.append(word)
    while out and out[-1] == BREAK:
        out.pop()
    return out


def words(fragment: str) -> list[str]:
    return [t for t in tokens(fragment) if t != BREAK]


# --- check's pass: ids and links ----------------------------------------------------------------


_SECTIONS = frozenset({"section", "article"})


@dataclass(frozen=True)
class PageLinks:
    """The ids a page defines and the links it makes: check's pass for dead links and anchors. Each link's
    section is the id of the innermost <section> or <article> with an id that it is first in (a clause's, on a
    document page and in an app's snippets)."""

    ids: frozenset[str]
    hrefs: frozenset[str]  # each link's href or src as written (character references decoded)
    sections: dict[str, str]

    @classmethod
    def read(cls, html: str) -> PageLinks:
        """The page parsed as a browser parses it (lexbor, an HTML5 parser in C: about 2.5 times as fast as the
        standard library's parser, which was a quarter of check's time); only the elements with an id or a name,
        a link or a source are looked at from Python, in the page's order (an element matched by two of a
        selector's parts comes twice: the sets and the first section found make that harmless)."""
        # Imported here: only check reads pages for their links, and every build imports this module (6 ms of a
        # one-tenant rebuild's start).
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(html)
        ids = frozenset(value for node in tree.css("[id],[name]") for value in _named(node) if value)
        hrefs: set[str] = set()
        sections: dict[str, str] = {}
        known: dict[int, str | None] = {}  # each element passed: the section it is in (_section_of)
        for node in tree.css("[href],[src]"):
            attributes = node.attributes
            for value in (attributes.get("href"), attributes.get("src")):
                if value is None:  # absent, or written without a value
                    continue
                hrefs.add(value)
                if value not in sections and (section := _section_of(node, known)) is not None:
                    sections[value] = section
        return cls(ids, frozenset(hrefs), sections)


def _named(node: LexborNode) -> tuple[str | None, str | None]:
    attributes = node.attributes
    return attributes.get("id"), attributes.get("name")


def _section_of(node: LexborNode, known: dict[int, str | None]) -> str | None:
    """The id of the innermost <section> or <article> with an id that *node* is in (or is). Each element's answer
    is kept in *known* as the climb passes it, so a page's climbs together pass each element once: a deep page
    with many links costs its size, not its depth times its links."""
    passed: list[int] = []
    found: str | None = None
    up: LexborNode | None = node
    while up is not None:
        if (key := up.mem_id) in known:
            found = known[key]
            break
        passed.append(key)
        if up.tag in _SECTIONS and (id_ := up.attributes.get("id")):
            found = id_
            break
        up = up.parent
    for key in passed:
        known[key] = found
    return found
