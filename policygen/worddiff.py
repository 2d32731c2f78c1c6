"""The words of two versions of a clause, compared: the evidence a redline shows.

Clause HTML is read as words and paragraph breaks; the words are compared with difflib, so a
redline keeps the clause's shape and marks what was inserted and deleted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal, get_args

from .htmltext import BREAK, tokens

PieceOp = Literal["equal", "insert", "delete"]
ClauseStatus = Literal["added", "removed", "changed"]
Review = Literal["follows-facts", "needs-review", "editorial"]
REVIEWS: tuple[Review, ...] = get_args(Review)


def as_review(value: object) -> Review | None:
    """A review read back from a snapshot, if it is one policygen writes."""
    return next((r for r in REVIEWS if r == value), None)


@dataclass(frozen=True)
class ClauseText:
    """One clause as a reader sees it: title and rendered HTML."""

    title: str
    html: str

    def tokens(self) -> list[str]:
        return [*self.title.split(), BREAK, *tokens(self.html)]


@dataclass(frozen=True)
class Piece:
    """A run of the redline: equal, insert or delete, with its tokens."""

    op: PieceOp
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class ClauseChange:
    id: str
    title: str
    status: ClauseStatus  # see `review`
    review: Review
    pieces: tuple[Piece, ...]
    reason: str | None = None

    @property
    def inserted(self) -> int:
        return sum(len([t for t in p.tokens if t != BREAK]) for p in self.pieces if p.op == "insert")

    @property
    def deleted(self) -> int:
        return sum(len([t for t in p.tokens if t != BREAK]) for p in self.pieces if p.op == "delete")

    def hunks(self) -> list[dict[str, str]]:
        """The changed words: each run of deleted and inserted words, with what replaced what."""
        return hunks(self.pieces)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "review": self.review,
            "inserted": self.inserted,
            "deleted": self.deleted,
            "words": self.hunks(),
        }
        if self.reason:
            data["reason"] = self.reason
        return data


def hunks(pieces: Sequence[Piece]) -> list[dict[str, str]]:
    """Each run of deleted and inserted words of a redline, with what replaced what."""
    out: list[dict[str, str]] = []
    pending: dict[str, str] = {}
    for piece in [*pieces, Piece("equal", ())]:
        if piece.op == "equal":
            if pending:
                out.append({"old": pending.get("delete", ""), "new": pending.get("insert", "")})
                pending = {}
            continue
        joined = " ".join(t for t in piece.tokens if t != BREAK)
        if joined:
            pending[piece.op] = (pending.get(piece.op, "") + " " + joined).strip()
    return out


def word_diff(old: Sequence[str], new: Sequence[str]) -> tuple[Piece, ...]:
    """Insertions and deletions that turn the *old* tokens into the *new* ones, word by word."""
    pieces: list[Piece] = []
    matcher = SequenceMatcher(None, list(old), list(new), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(Piece("equal", tuple(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("delete", tuple(old[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("insert", tuple(new[j1:j2])))
    return tuple(pieces)


def _same_words(a: ClauseText | None, b: ClauseText | None) -> bool:
    if a is None or b is None:
        return a is b
    return [t for t in a.tokens() if t != BREAK] == [t for t in b.tokens() if t != BREAK]


def diff_clauses(
    old: Mapping[str, ClauseText],
    new: Mapping[str, ClauseText],
    *,
    facts_changed: bool,
    expected: Mapping[str, ClauseText] | None = None,
    expected_new: Mapping[str, ClauseText] | None = None,
    editorial: str | None = None,
    recorded: Mapping[str, Review] | None = None,
) -> list[ClauseChange]:
    """Clause by clause word changes, in the new document's order (removed clauses last).

    A change "follows-facts" when the clause's wording did not change, only the
    facts it prints. *expected* and *expected_new* are today's clauses rendered
    with the old and with the new facts: when both sides read as today's clauses
    do with their facts, only facts changed; when one does and the other does not,
    the wording changed. When neither tells (no rendering, or both differ from
    today's clauses), a change follows the facts if any fact changed.
    Otherwise it "needs-review", or is "editorial" when the release says why.
    *recorded* keeps the review a release already recorded for a clause.
    """
    out: list[ClauseChange] = []
    ids = [*new, *[cid for cid in old if cid not in new]]
    for cid in ids:
        a, b = old.get(cid), new.get(cid)
        if _same_words(a, b):
            continue
        status: ClauseStatus = "added" if a is None else "removed" if b is None else "changed"
        review: Review
        reason = None
        if recorded is not None and cid in recorded:
            review = recorded[cid]
            reason = editorial if review == "editorial" else None
        else:
            known_old = expected is not None and _same_words(a, expected.get(cid))
            known_new = expected_new is not None and _same_words(b, expected_new.get(cid))
            if known_old and known_new:
                review = "follows-facts"
            elif (expected is not None and expected_new is not None) and (known_old or known_new):
                review = "needs-review"
            else:
                review = "follows-facts" if facts_changed else "needs-review"
        if review == "needs-review" and editorial:
            review, reason = "editorial", editorial
        pieces = word_diff(a.tokens() if a else [], b.tokens() if b else [])
        title = (b or a).title  # type: ignore[union-attr]
        out.append(ClauseChange(cid, title, status, review, pieces, reason))
    return out
