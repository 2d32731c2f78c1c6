"""The sandbox works out once per type and name whether a template may read an attribute
(policygen/sandbox.py): the answer stays the one Jinja's checks give, for every object. Each template holds a copy
of the globals it may call, so all of them are offered before any template is made."""

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


class _Page:
    title = "Terms"
    count = 3
    _hidden = "secret"

    def heading(self) -> str:
        return "Heading"


def _seen(value: Any) -> object:
    """What a template gets from an attribute read, comparable across reads: an undefined value by its
    kind and message, str.format by its (wrapped) name, anything else as it is."""
    if isinstance(value, jinja2.Undefined):
        return (type(value), value._undefined_hint, value._undefined_exception)
    if callable(value) and getattr(value, "__name__", None) in ("format", "format_map"):
        return ("wrapped", value.__name__, type(value).__name__)
    return value


ATTRIBUTE_READS = [
    (_Page(), "title"),
    (_Page(), "count"),
    (_Page(), "heading"),
    (_Page(), "_hidden"),
    (_Page(), "missing"),
    ("text", "upper"),
    ("text", "format"),
    ("text", "format_map"),
    ({"key": "value"}, "key"),
    ({"key": "value"}, "items"),
    ({"key": "value"}, "pop"),
    ([1, 2], "append"),
    (_Page, "__init__"),
    (_Page.heading, "__globals__"),
]


@pytest.mark.parametrize(
    ("owner", "name"), ATTRIBUTE_READS, ids=[f"{type(o).__name__}.{n}" for o, n in ATTRIBUTE_READS]
)
def test_an_attribute_read_again_gives_what_jinjas_own_checks_give_the_first_time(
    env: BoundedSandbox, owner: object, name: str
) -> None:
    # The second and later reads of a (type, name) already found safe take a shorter path
    # (BoundedSandbox.getattr): it must give what Jinja's full path gives, refusals and str.format included.
    expected = _seen(jinja2.sandbox.ImmutableSandboxedEnvironment.getattr(env, owner, name))
    for _ in range(3):
        assert _seen(env.getattr(owner, name)) == expected


def test_str_format_reached_by_an_attribute_read_stays_refused_after_the_attribute_is_known_safe(
    env: BoundedSandbox,
) -> None:
    page = _Page()
    assert _render(env, "{{ page.title }}{{ page.title }}", page=page) == "TermsTerms"
    for _ in range(2):
        with pytest.raises(SecurityError, match="format"):
            _render(env, "{{ page.title.format(page) }}", page=page)


def test_a_template_calls_every_global_offered_before_it_was_made_and_none_can_be_offered_after() -> None:
    env = BoundedSandbox(CLAUSE_LIMITS, CLAUSE_FILTERS, autoescape=True)
    env.add_globals({"shout": lambda text: text.upper()})
    template = env.from_string("{{ shout('a') }}{{ range(2)|list }}{{ dict(b=1)['b'] }}")
    assert env.render(template, {}) == "A[0, 1]1"
    assert env.render(env.from_string("{{ x }}", globals={"x": "own"}), {}) == "own"
    with pytest.raises(RuntimeError, match="after a template was made"):
        env.add_globals({"late": lambda: "late"})
    assert "late" not in template.globals
