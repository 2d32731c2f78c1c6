"""Plain-language scores: the Flesch reading ease of a passage of English text.

    206.835 - 1.015 * (words / sentences) - 84.6 * (syllables / words)

Higher is easier: 60-70 is plain English, under 30 reads like a law journal.
The syllable count is the usual vowel-group heuristic; it is a few percent off
on single words but stable over paragraphs, which is what a score needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .htmltext import blocks

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_SENTENCE_END = re.compile(r"[.!?;]+(?=\s|$)|\n")
# Addresses and links are not prose; they would count as long, odd words.
_NOT_PROSE = re.compile(r"\S*(?:@|://|www\.)\S*?(?=[.,;:!?)]*(?:\s|$))")


@dataclass(frozen=True)
class Score:
    reading_ease: float
    words: int
    sentences: int
    syllables: int

    @property
    def band(self) -> str:
        s = self.reading_ease
        if s >= 60:
            return "plain"
        if s >= 50:
            return "fairly difficult"
        if s >= 30:
            return "difficult"
        return "very difficult"


def syllables(word: str) -> int:
    """Syllables in one English word, by counting vowel groups with the common corrections."""
    w = word.lower().replace("’", "'").split("'")[0]
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    w = re.sub(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$", lambda m: m.group(0)[0], w)
    w = re.sub(r"^y", "", w)
    count = len(re.findall(r"[aeiouy]{1,2}", w))
    return max(1, count)


def score(text: str) -> Score:
    """The Flesch reading ease of *text* (sentences end at . ! ? ; or a line break)."""
    text = _NOT_PROSE.sub(" ", text)
    sentences = [s for s in _SENTENCE_END.split(text) if _WORD.search(s)]
    words = _WORD.findall(text)
    if not words:
        return Score(100.0, 0, 0, 0)
    count = sum(syllables(w) for w in words)
    n_sent = max(1, len(sentences))
    ease = 206.835 - 1.015 * (len(words) / n_sent) - 84.6 * (count / len(words))
    return Score(round(ease, 1), len(words), n_sent, count)


_SENTENCE_END_AT_END = re.compile(r"[.!?][\"'’”)]*$")
_LABEL = re.compile(r"^[^:.!?]{1,60}:\s+")  # "Account information: ..."
_ENUMERATION = re.compile(r",|;|\band\b|\bor\b")
LONGEST_NOUN_PHRASE = 6  # words; "Attached files such as images or documents" is still a noun phrase


def is_sentence(entry: str) -> bool:
    """Whether a list entry is prose: it ends as a sentence ends and is not a list of short names."""
    if not _SENTENCE_END_AT_END.search(entry):
        return False
    names = [p for p in _ENUMERATION.split(_LABEL.sub("", entry).rstrip(".!?\"'’”) ")) if p.strip()]
    return len(names) < 2 or any(len(_WORD.findall(p)) > LONGEST_NOUN_PHRASE for p in names)


SCORES_KEPT = 1024  # rendered clauses whose score a process keeps, the most recently asked for


@lru_cache(maxsize=SCORES_KEPT)
def clause_score(html: str) -> Score:
    """The reading ease of a rendered clause's prose (`score` of `prose_text`). Kept for the clauses asked for
    most recently: a library clause that prints no fact, or prints facts that tenants share, renders the same
    HTML for tenant after tenant of a check."""
    return score(prose_text(html))


def prose_text(html: str) -> str:
    """The text of an HTML fragment as html_text reads it, without list entries that are not sentences.

    A readability score measures sentences; a list of nouns or short labels ("Email address",
    "Account: Name, Email address.") has none, and its long words would make a plain clause score
    as unreadable.
    """
    return "\n".join(
        line for block in blocks(html) if block.kind != "item" or is_sentence(block.text) for line in block.lines
    )
