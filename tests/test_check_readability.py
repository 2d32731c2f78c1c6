"""The plain-language score behind check's readability findings."""

from __future__ import annotations

import pytest

from policygen.htmltext import html_text
from policygen.readability import clause_score, is_sentence, prose_text, score, syllables


@pytest.mark.parametrize(
    ("word", "count"),
    [
        ("cat", 1),
        ("data", 2),
        ("policy", 3),
        ("information", 4),
        ("people", 2),
        ("technical", 3),
        ("organisation", 5),
        ("the", 1),
        ("consent", 2),
    ],
)
def test_syllables_of_common_words(word: str, count: int) -> None:
    assert syllables(word) == count


def test_short_plain_sentences_score_higher_than_legalese() -> None:
    plain = score("We keep your data safe. You can ask us to delete it. We answer in a month.")
    legal = score(
        "Notwithstanding the aforementioned provisions, the organisation shall, in accordance with "
        "applicable legislation, retain personally identifiable information for such duration as is "
        "reasonably necessary for the fulfilment of contractual obligations."
    )
    assert plain.reading_ease > 80
    assert legal.reading_ease < 10
    assert plain.band == "plain" and legal.band == "very difficult"


def test_counts_sentences_words_and_ignores_addresses() -> None:
    s = score("Write to privacy@example.org. Or visit https://example.org/privacy today.")
    assert (s.words, s.sentences) == (5, 2)


def test_the_reference_passage_scores_as_published() -> None:
    # Flesch's formula on a passage counted by hand: 2 sentences, 21 words, 22 syllables.
    s = score("The cat sat on the mat with a hat. The dog ran to the park and then came back home again.")
    assert (s.words, s.sentences, s.syllables) == (21, 2, 22)
    assert s.reading_ease == round(206.835 - 1.015 * 21 / 2 - 84.6 * 22 / 21, 1)


def test_html_text_ends_a_line_at_each_block() -> None:
    text = html_text("<p>One <b>bold</b> line</p><ul><li>first</li><li>second &amp; last</li></ul>")
    assert text.splitlines() == ["One bold line", "first", "second & last"]
    assert score(text).sentences == 3


def test_empty_text_is_trivially_easy() -> None:
    assert score("").words == 0 and score("").reading_ease == 100.0


def test_prose_leaves_out_list_entries_that_are_names_not_sentences() -> None:
    html = (
        "<p>We protect your data with these safeguards:</p><ul><li>Administrative safeguards</li>"
        "<li>Account: Name, Email address, Mobile number.</li>"
        "<li>We check every request before we answer it.</li></ul>"
    )
    assert prose_text(html).splitlines() == [
        "We protect your data with these safeguards:",
        "We check every request before we answer it.",
    ]
    assert score(prose_text(html)).reading_ease > score(html_text(html)).reading_ease


@pytest.mark.parametrize(
    ("entry", "sentence"),
    [
        ("Email address", False),
        ("Device Information: Device model, Operating system version, IP address, App version.", False),
        ("Access: you can ask for a copy of the data we hold about you, and we send it within a month.", True),
        ("We keep logs for 30 days.", True),
    ],
)
def test_a_list_entry_is_prose_only_when_it_is_a_sentence(entry: str, sentence: bool) -> None:
    assert is_sentence(entry) is sentence


def test_a_clause_rendered_alike_for_tenant_after_tenant_is_scored_once_with_the_same_score() -> None:
    clause_score.cache_clear()
    html = "<h2>Security</h2><p>We keep your data safe. You can ask us how.</p><ul><li>Email address</li></ul>"
    first = clause_score(html)
    assert clause_score(html) == first == score(prose_text(html))
    assert clause_score.cache_info().hits == 1  # the second tenant's copy
    assert clause_score(html.replace("safe", "secure")) != first  # another text is scored for itself
