"""A fact's attribute reads are reported to a render that records them, and cost nothing otherwise."""

from __future__ import annotations

import threading
from typing import Any

from policygen import facts


class Fact(facts.Model):
    name: str = "Example"


def test_reads_are_reported_only_inside_the_block_and_the_hook_is_gone_after_it() -> None:
    fact, seen = Fact(), []
    with facts.reads_reported(lambda owner, name, value: seen.append((name, value))):
        assert fact.name == "Example"
    assert fact.name == "Example"
    assert seen == [("name", "Example")]
    assert Fact.__getattribute__ is object.__getattribute__  # plain reads again


def test_nested_and_concurrent_recordings_each_see_their_own_reads_until_the_last_one_ends() -> None:
    fact = Fact()
    outer: list[Any] = []
    inner: list[Any] = []
    other_thread: list[Any] = []
    recording = threading.Event()
    done = threading.Event()

    def elsewhere() -> None:
        # Another thread's recording, begun while this one records and ended after it.
        with facts.reads_reported(lambda owner, name, value: other_thread.append(name)):
            recording.set()
            done.wait(5)
            assert fact.name

    thread = threading.Thread(target=elsewhere)
    with facts.reads_reported(lambda owner, name, value: outer.append(name)):
        thread.start()
        recording.wait(5)
        with facts.reads_reported(lambda owner, name, value: inner.append(name)):
            assert fact.name
        assert fact.name
    assert fact.name  # no recording in this thread: reported to no one, though the other thread still records
    done.set()
    thread.join()
    assert (outer, inner, other_thread) == (["name"], ["name"], ["name"])
    assert Fact.__getattribute__ is object.__getattribute__
