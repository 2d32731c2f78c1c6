"""The prose lint: broken sentences a page would show, found in its rendered text.

A policy is assembled from clause text and facts, so seams show: a fact that
repeats the clause's own words ("kept for up to up to 30 days"), a fact written
as a sentence dropped mid-sentence ("owned and controlled by The institution"),
a bold label run into the sentence after it, a loop that prints the same heading
for every entry, a heading whose facts are all unset. `check` runs these rules
on every rendered document (see lint_document); each finding names the clause
and the block, which `explain` turns into a file and line.

Rules (ids are what `check` reports, as prose.<rule>):
    doubled           a word or phrase of up to four words written twice in a row
    capital           a function word ("The", "Outside", "Through") capitalised mid-sentence
    repeated-sentence a sentence of five words or more printed twice on the page
    repeated-contents an entry of the table of contents that is there twice
    empty-section     a heading with nothing under it before the next heading of its level or higher
    run-in-label      a bold label followed by its sentence with no punctuation between them
    article           a country whose name takes "the" printed without it ("regulator in United Kingdom")
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from .htmltext import Block, ClauseLike, blocks
from .wording import THE_NAMES

Rule = Literal[
    "doubled", "capital", "repeated-sentence", "repeated-contents", "empty-section", "run-in-label", "article"
]

# Words that are never capitalised inside an English sentence unless they start a proper name.
FUNCTION_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "across",
        "after",
        "against",
        "along",
        "among",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "during",
        "each",
        "either",
        "every",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "if",
        "in",
        "inside",
        "into",
        "is",
        "it",
        "its",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "onto",
        "or",
        "other",
        "our",
        "out",
        "outside",
        "over",
        "per",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "throughout",
        "to",
        "under",
        "unless",
        "until",
        "upon",
        "us",
        "via",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "with",
        "within",
        "without",
        "would",
        "you",
        "your",
    ]
) - {"a", "i"}  # "Plan A", "I": single capitals are names or the pronoun
_ALLOWED_DOUBLES = frozenset({("that",), ("had",)})  # "that that data", "had had": grammatical
_TOKEN = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*|[^\w\s]")
_SENTENCE_STARTS = frozenset('.!?:;(["“')  # what a sentence (or a list item written as one) follows
_LABEL_END = tuple(".:;,!?)–—-")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"“(]?[A-Z0-9])")
MIN_SENTENCE_WORDS = 5
# Country names English writes with "the", after a word that needs the article before them.
# The names are the `country` filter's (wording.THE_NAMES), so the lint and the filter agree; abbreviations
# are left out, since "for US residents" uses one as an adjective.
_NO_ARTICLE = re.compile(
    r"\b(?:in|to|from|of|within|outside|across|throughout|into|for|by|at)\s+("
    + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(THE_NAMES, key=len, reverse=True) if len(n) > 3)
    + r")\b"
)
_MAX_PHRASE = 4


@dataclass(frozen=True)
class Passage:
    """A block of a page and where it is: its clause and its number there (0 is the clause's title)."""

    clause: str | None
    index: int
    block: Block


@dataclass(frozen=True)
class ProseFinding:
    rule: Rule
    message: str
    passage: Passage

    @property
    def excerpt(self) -> str:
        text = self.passage.block.text
        return text if len(text) <= 160 else text[:159] + "…"


def document_passages(clauses: Iterable[ClauseLike]) -> list[Passage]:
    """A document page's passages in reading order: each clause's title, then the blocks of its text."""
    found: list[Passage] = []
    for clause in clauses:
        found.append(Passage(clause.id, 0, Block("heading", (clause.title,), 2, (clause.title,))))
        found.extend(Passage(clause.id, i, b) for i, b in enumerate(blocks(clause.html), 1))
    return found


def lint_document(clauses: Sequence[ClauseLike]) -> list[ProseFinding]:
    """Every rule on a document: blocks one by one, then the page as a whole."""
    passages = document_passages(clauses)
    found = [f for p in passages for f in lint_passage(p)]
    found.extend(repeated_sentences(passages))
    found.extend(repeated_contents(passages))
    found.extend(empty_sections(passages))
    return found


def lint_passage(passage: Passage) -> list[ProseFinding]:
    """The rules that need only one block: doubled words, capitals mid-sentence, run-in labels."""
    return [ProseFinding(rule, message, passage) for rule, message in block_findings(passage.block)]


BLOCKS_KEPT = 4096  # blocks whose findings a process keeps, the most recently linted


@lru_cache(maxsize=BLOCKS_KEPT)
def block_findings(block: Block) -> tuple[tuple[Rule, str], ...]:
    """What lint_passage finds in *block*, by rule. Kept for the blocks linted most recently: most of a clause's
    blocks print no fact, or facts that tenants share, and are the same block for tenant after tenant of a check."""
    found: list[tuple[Rule, str]] = []
    run_in = run_in_label(block)
    if run_in is not None:
        found.append(("run-in-label", run_in))
    for part in block.parts:
        found.extend(("article", m) for m in missing_articles(part))
        tokens = _TOKEN.findall(part)
        found.extend(("doubled", m) for m in doubled(tokens))
        if block.kind != "heading":
            skip = _first_word_after(block.label) if run_in is not None and part == block.parts[0] else None
            found.extend(("capital", m) for m in capitals(tokens, skip))
    return tuple(found)


def _is_word(token: str) -> bool:
    return token[0].isalnum()


def doubled(tokens: list[str]) -> list[str]:
    """Messages for each word or phrase written twice in a row ("to to", "up to up to")."""
    found: list[str] = []
    lowered = [t.lower() for t in tokens]
    words = [_is_word(t) for t in tokens]
    i, count = 0, len(tokens)
    while i < count:
        for n in range(_MAX_PHRASE, 0, -1):
            end = i + 2 * n
            # The first words compared first: nearly every position fails there, before any slice is made.
            if end > count or lowered[i] != lowered[i + n] or lowered[i : i + n] != lowered[i + n : end]:
                continue
            phrase = tuple(lowered[i : i + n])
            if not all(words[i:end]) or phrase in _ALLOWED_DOUBLES or all(t.isdigit() for t in phrase):
                continue  # "10 10" is a number pair, not prose
            first = " ".join(tokens[i : i + n])
            found.append(f"'{first}' is written twice in a row: \"{first} {' '.join(tokens[i + n : end])}\"")
            i += 2 * n - 1
            break
        i += 1
    return found


def capitals(tokens: list[str], skip: int | None = None) -> list[str]:
    """Messages for function words capitalised mid-sentence and followed by a lower-case word.

    A following capital ("The Hague", "Terms Of Service") is a name; a following lower-case word
    ("by The institution", "goes Outside the EEA") is a sentence with a fact's capital in it. A
    sentence starts a block, and follows . ! ? : ; or an opening bracket or quote; items of a list
    that are all capitalised ("Name, Email address, Other identifiers") are a list, not a sentence.
    """
    found: list[str] = []
    start, item_start = True, 0
    for i, token in enumerate(tokens):
        if not _is_word(token):
            if token in _SENTENCE_STARTS:
                start, item_start = True, i + 1
            elif token == ",":
                item_start = i + 1
            continue
        was_start, start = start, False
        if was_start or i == skip or not (token[0].isupper() and token[1:].islower()):
            continue
        if token.lower() not in FUNCTION_WORDS or (
            i == item_start and _starts_capital(tokens, _item_before(tokens, i))
        ):
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if not _is_word(nxt) or not nxt[0].islower():
            continue
        before = tokens[i - 1] if i else ""
        found.append(f"'{token}' is capitalised mid-sentence: \"{before} {token} {nxt}\"")
    return found


def _starts_capital(tokens: list[str], at: int) -> bool:
    return at < len(tokens) and _is_word(tokens[at]) and tokens[at][0].isupper()


def _item_before(tokens: list[str], i: int) -> int:
    """Where the list item before the comma at tokens[i - 1] starts."""
    j = i - 2
    while j >= 0 and tokens[j] != "," and tokens[j] not in _SENTENCE_STARTS:
        j -= 1
    return j + 1


def missing_articles(text: str) -> list[str]:
    """Messages for country names that take "the" printed without it ("the regulator in United Kingdom")."""
    return [f"'{m.group(1)}' needs 'the' here: \"{m.group(0)}\"" for m in _NO_ARTICLE.finditer(text)]


def _first_word_after(label: str | None) -> int | None:
    return len(_TOKEN.findall(label)) if label else None


def run_in_label(block: Block) -> str | None:
    """A message if the block opens with a bold label run straight into a sentence ("Access your data Through ...")."""
    if block.label is None or not block.after:
        return None
    label, after = block.label.strip(), block.after.strip()
    if label.endswith(_LABEL_END) or not after[0].isupper():
        return None
    return f"the bold label '{label}' runs into the sentence after it with no punctuation: \"{label} {after[:40]}\""


def _sentences(block: Block) -> list[str]:
    return [s for part in block.parts for s in _SENTENCE.split(part)]


def _key(sentence: str) -> str:
    return " ".join(w.lower() for w in _TOKEN.findall(sentence) if _is_word(w))


def repeated_sentences(passages: list[Passage]) -> list[ProseFinding]:
    """Each sentence of five words or more that the page prints a second time, in its paragraphs.

    Lists and tables repeat on purpose (the same permission under each app, the same address
    for two contacts); a paragraph said twice is a clause and a note, or two clauses, saying it.
    """
    seen: set[str] = set()
    found: list[ProseFinding] = []
    for p in passages:
        if p.block.kind not in ("paragraph", "definition", "text"):
            continue
        for sentence in _sentences(p.block):
            key = _key(sentence)
            if len(key.split()) < MIN_SENTENCE_WORDS:
                continue
            if key in seen:
                found.append(ProseFinding("repeated-sentence", f'this sentence is printed twice: "{sentence}"', p))
            seen.add(key)
    return found


def repeated_contents(passages: list[Passage]) -> list[ProseFinding]:
    """Each table-of-contents entry (clause titles and their ### headings) that is already in the contents."""
    counts: dict[str, int] = {}
    for p in passages:
        if p.block.kind == "heading" and p.block.level in (2, 3):
            counts[p.block.text.lower()] = counts.get(p.block.text.lower(), 0) + 1
    found: list[ProseFinding] = []
    reported: set[str] = set()
    seen: set[str] = set()
    for p in passages:
        if p.block.kind != "heading" or p.block.level not in (2, 3):
            continue
        key = p.block.text.lower()
        if key in seen and key not in reported:
            found.append(
                ProseFinding("repeated-contents", f"the contents list '{p.block.text}' {counts[key]} times", p)
            )
            reported.add(key)
        seen.add(key)
    return found


def empty_sections(passages: list[Passage]) -> list[ProseFinding]:
    """Each heading followed by nothing, or straight by a heading of its own level or higher."""
    found: list[ProseFinding] = []
    for p, following in zip(passages, [*passages[1:], None], strict=False):  # None follows the last
        if p.block.kind != "heading":
            continue
        if following is None or (following.block.kind == "heading" and following.block.level <= p.block.level):
            found.append(ProseFinding("empty-section", f"the section '{p.block.text}' has nothing under it", p))
    return found
