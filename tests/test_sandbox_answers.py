"""The sandbox works out once per type and name whether a template may read an attribute
(policygen/sandbox.py): the answer stays the one Jinja's checks give, for every object."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from jinja2.exceptions import SecurityError

from policygen.sandbox import CLAUSE_FILTERS, CLAUSE_LIMITS, BoundedSandbox


def _render(env: BoundedSandbox, source: str, **context: Any) -> str:
    return env.render(env.from_string(source), context)


@pytest.fixture
def env() -> BoundedSandbox:
    return BoundedSandbox(CLAUSE_LIMITS, CLAUSE_FILTERS, undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])


def test_a_list_the_template_made_may_grow_but_a_list_it_was_given_never_does_in_either_order(
    env: BoundedSandbox,
) -> None:
    given: list[int] = [1]
    assert _render(env, "{% set own = [] %}{% do own.append(1) %}{{ own|length }}") == "1"
    with pytest.raises(SecurityError):
        _render(env, "{% do given.append(2) %}", given=given)
    assert given == [1]
    assert _render(env, "{% set own = [] %}{% do own.append(1) %}{% do own.append(2) %}{{ own|length }}") == "2"


def test_an_object_whose_class_is_not_its_type_is_answered_afresh_each_time(env: BoundedSandbox) -> None:
    class Disguised:
        pop = "shown"

        @property
        def __class__(self) -> type:  # type: ignore[override]  # what a proxy does: isinstance sees another class
            return dict

    for _ in range(2):  # a dict's pop() changes it: refused, though the type alone would allow it
        with pytest.raises(SecurityError, match="unsafe"):
            _render(env, "{{ thing.pop }}", thing=Disguised())
    assert (Disguised, "pop") not in env._safe
