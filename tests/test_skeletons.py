"""A theme page rendered once for many tenants, what it only prints filled in afterwards (policygen/skeletons.py).

A page from its skeleton must be byte for byte the page rendered whole, for any values; a template that does
anything with a value but print it alone renders whole; and a skeleton never lets a page past the sandbox's
limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import jinja2
import pytest
from conftest import REPO
from helpers import tree
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from policygen import skeletons as skeletons_module
from policygen.engine import build
from policygen.sandbox import THEME_FILTERS, BoundedSandbox, Limits, TemplateLimit
from policygen.site import BuildOptions
from policygen.skeletons import Skeletons, shape_of
from policygen.snippets import Section, SnippetView
from policygen.theme import SiteTheme
from policygen.vocabulary import ForeignWord


@dataclasses.dataclass(frozen=True)
class View:
    tenant: str
    lang: str
    items: tuple[str, ...] = ()

    @property
    def loud(self) -> str:
        return self.tenant.upper()


def sandbox(templates: dict[str, str], limits: Limits | None = None) -> BoundedSandbox:
    return BoundedSandbox(
        limits or Limits(steps=10_000, volume=100_000, size=100_000, depth=20, range=1_000, bits=64),
        THEME_FILTERS,
        loader=jinja2.DictLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def skeletons(env: BoundedSandbox) -> Skeletons:
    """Skeletons of *env* that read a template's shape at its first render (a build waits for READ_AFTER)."""
    made = Skeletons(env, env.limits.volume)
    made.read_after = 0
    return made


def skeleton_render(env: BoundedSandbox, name: str, **context: object) -> str | None:
    return skeletons(env).render(name, context, lambda n, c: env.render_counted(env.get_template(n), c))


def whole(env: jinja2.Environment, name: str, **context: object) -> str:
    assert isinstance(env, BoundedSandbox)
    return env.render(env.get_template(name), context)


def test_a_value_printed_alone_is_a_hole_and_a_value_used_otherwise_is_a_key() -> None:
    env = sandbox(
        {
            "page.html": "{% extends 'base.html' %}{% block main %}{{ view.tenant }} {{ body|safe }}"
            "{% for item in view.items %}{{ item }}{% endfor %}{% endblock %}",
            "base.html": "<html lang='{{ view.lang }}'>{% include '_head.html' %}{% block main %}{% endblock %}</html>",
            "_head.html": "{% if flag %}<b>{{ note }}</b>{% endif %}{% set shown = note %}",
        }
    )
    shape = shape_of(env, "page.html")
    assert shape is not None
    assert shape.holes == (("view", "lang"), ("view", "tenant"))
    assert shape.keys == (("body",), ("flag",), ("note",), ("view", "items"))


@pytest.mark.parametrize(
    "source",
    [
        "{% macro m() %}{{ view.tenant }}{% endmacro %}{{ m()|upper }}",
        "{% set text %}{{ view.tenant }}{% endset %}{{ text|upper }}",
        "{% filter upper %}{{ view.tenant }}{% endfilter %}",
        "{% block b %}{{ view.tenant }}{% endblock %}{{ self.b()|upper }}",
        "{% include name %}{{ view.tenant }}",
        "{% for x in view.items recursive %}{{ view.tenant }}{{ loop(x)|upper }}{% endfor %}",
        "{% autoescape false %}{{ view.tenant }}{% endautoescape %}",
        "{% import 'other.html' as o %}{{ view.tenant }}",
        "{{ view.tenant }}{{ view|attr('x') }}",  # the whole view is read: its tenant too
        "{{ view.tenant|upper }}",  # no hole left
        "{% set view = 1 %}{{ view.tenant }}",  # a name set in the template
    ],
)
def test_a_template_that_could_change_or_reach_a_printed_value_otherwise_has_no_shape(source: str) -> None:
    env = sandbox({"page.html": source, "other.html": "", "x.html": ""})
    assert shape_of(env, "page.html") is None


def test_a_filter_that_reads_the_templates_context_leaves_it_without_a_shape() -> None:
    env = sandbox({"page.html": "{{ view.tenant }}{{ 1|peek }}"})
    env.filters["peek"] = jinja2.pass_context(lambda context, value: context["view"].tenant)
    assert shape_of(env, "page.html") is None


THEME = SiteTheme(REPO, "default")  # one for every example: a skeleton one makes, the next may fill
THEME.skeletons.read_after = 0
TEXTS = st.text(alphabet=st.sampled_from(["a", "é", "<", ">", "&", "'", '"', "{", "}", "\x02", "\x03", "0", "-", " "]))


@settings(max_examples=200, deadline=None)
@given(tenant=TEXTS, lang=TEXTS, title=TEXTS, source=TEXTS, markup=st.booleans(), foreign=st.booleans())
def test_a_section_snippet_from_its_skeleton_is_the_snippet_rendered_whole(
    tenant: str, lang: str, title: str, source: str, markup: bool, foreign: bool
) -> None:
    theme = THEME
    view = SnippetView(
        tenant=ForeignWord(tenant, "en") if foreign else tenant,
        app="app",
        app_name="App",
        document="privacy-policy",
        title=title,
        effective=dt.date(2026, 1, 1),
        last_updated=dt.date(2026, 1, 1),
        version=None,
        lang=lang,
        dir="ltr",
        accent_light="#1f5f8b",
        accent_dark="#8fc1e3",
    )
    clause = Section("who-we-are", f"Who {title}", "<p>We are {{ here }} &amp; there.</p>")
    context = {"view": view, "clause": clause, "source": Markup(source) if markup else source}
    first = theme.render("snippets/section.html", **context)  # makes the skeleton, or renders whole
    again = theme.render("snippets/section.html", **context)  # from the skeleton
    assert first == again == whole(theme.env, "snippets/section.html", **context).encode()


def test_pages_that_differ_only_in_what_they_print_share_one_skeleton() -> None:
    env = sandbox({"page.html": "<h1>{{ view.tenant }}</h1>{{ body|safe }}"})
    kept = skeletons(env)

    def render(tenant: str, body: str) -> str | None:
        context = {"view": View(tenant, "en"), "body": body}
        return kept.render("page.html", context, lambda n, c: env.render_counted(env.get_template(n), c))

    assert render("Ann & Co", "<p>x</p>") == "<h1>Ann &amp; Co</h1><p>x</p>"
    assert render("Bob <Ltd>", "<p>x</p>") == "<h1>Bob &lt;Ltd&gt;</h1><p>x</p>"
    assert kept.made == 1
    assert render("Bob <Ltd>", "<p>y</p>") == "<h1>Bob &lt;Ltd&gt;</h1><p>y</p>"
    assert kept.made == 2  # another key


def test_a_property_of_a_value_is_never_printed_from_a_marker() -> None:
    # view.loud is computed from view.tenant: a copy holding a marker in its tenant would print the marker's.
    env = sandbox({"page.html": "{{ view.tenant }} {{ view.loud }}"})
    assert skeleton_render(env, "page.html", view=View("ann", "en")) is None
    assert whole(env, "page.html", view=View("ann", "en")) == "ann ANN"


def test_text_that_prints_itself_otherwise_renders_whole() -> None:
    class Html(str):
        def __html__(self) -> str:
            return "<i>shown otherwise</i>"

    env = sandbox({"page.html": "{{ view.tenant }}"})
    assert skeleton_render(env, "page.html", view=View(Html("ann"), "en")) is None
    assert skeleton_render(env, "page.html", view=View("ann", "en")) == "ann"


def test_a_value_named_as_a_global_renders_whole() -> None:
    env = sandbox({"page.html": "{{ note }}{% for i in range(2) %}{{ i }}{% endfor %}"})
    assert skeleton_render(env, "page.html", note="x") == "x01"
    assert skeleton_render(env, "page.html", note="x", range=lambda n: [7]) is None


@pytest.mark.parametrize("length", [1, 20, 30, 35, 40, 60])
def test_a_page_whose_filled_in_text_passes_the_limit_is_rendered_whole_and_refused(length: int) -> None:
    limits = Limits(steps=10_000, volume=2_000, size=100_000, depth=20, range=1_000, bits=64)
    env = sandbox({"page.html": "{% for i in range(50) %}{{ view.tenant }}{% endfor %}"}, limits)
    kept = skeletons(env)
    for warm in ("a", "x" * length):  # the skeleton is made by the first, filled for the second
        filled = kept.render(
            "page.html", {"view": View(warm, "en")}, lambda n, c: env.render_counted(env.get_template(n), c)
        )
    try:
        expected = whole(env, "page.html", view=View("x" * length, "en"))
    except TemplateLimit:
        assert filled is None  # rendered whole, and so refused
    else:
        assert filled == expected


def test_a_template_is_read_for_its_shape_only_once_it_was_rendered_many_times() -> None:
    env = sandbox({"page.html": "<h1>{{ view.tenant }}</h1>"})
    kept = Skeletons(env, env.limits.volume)
    kept.read_after = 3
    pages = [
        kept.render("page.html", {"view": View(t, "en")}, lambda n, c: env.render_counted(env.get_template(n), c))
        for t in "abcde"
    ]
    assert pages == [None, None, None, "<h1>d</h1>", "<h1>e</h1>"]  # rendered whole three times, then read
    assert skeletons_module.READ_AFTER >= 100  # a one-tenant rebuild renders each template a few dozen times


def test_a_built_site_from_skeletons_is_the_site_rendered_whole(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A build reads a template for its shape after READ_AFTER renders, more than the example site makes.
    build(project, tmp_path / "whole", BuildOptions(today=dt.date(2026, 12, 4), jobs=1))
    monkeypatch.setattr(skeletons_module, "READ_AFTER", 0)
    filled: list[str] = []
    render = Skeletons.render

    def counted(self: Skeletons, name: str, context: dict[str, object], whole: object) -> str | None:
        page = render(self, name, context, whole)  # type: ignore[arg-type]
        if page is not None and name == "snippets/section.html":
            filled.append(name)
        return page

    monkeypatch.setattr(Skeletons, "render", counted)
    made = []
    make = Skeletons._make
    monkeypatch.setattr(Skeletons, "_make", lambda self, *a: made.append(a[0]) or make(self, *a))
    build(project, project / "build", BuildOptions(today=dt.date(2026, 12, 4), jobs=1))
    snippets = len(list((project / "build").glob("*/apps/**/sections/*.html")))
    assert len(filled) == snippets  # each one filled in, none rendered whole
    assert 0 < made.count("snippets/section.html") < snippets  # one skeleton for each clause's text, language
    assert tree(project / "build") == tree(tmp_path / "whole")


def test_a_value_named_as_a_name_the_template_sets_renders_whole() -> None:
    env = sandbox({"page.html": "{% for note in view.items %}{{ note }}{% endfor %}{{ view.tenant }}"})
    view = View("ann", "en", ("a", "b"))
    assert skeleton_render(env, "page.html", view=view) == "abann"
    assert skeleton_render(env, "page.html", view=view, note="x") is None


def test_a_value_named_loop_outside_a_loop_renders_whole() -> None:
    env = sandbox({"page.html": "{{ loop.x }}{{ view.tenant }}"})
    assert skeleton_render(env, "page.html", view=View("ann", "en"), loop={"x": 1}) is None


def test_a_long_text_is_escaped_for_each_page_not_kept() -> None:
    env = sandbox({"page.html": "{{ view.tenant }}"})
    kept = skeletons(env)
    for text in ("Ann & Co", "x" * 1000 + "&"):
        page = kept.render(
            "page.html", {"view": View(text, "en")}, lambda n, c: env.render_counted(env.get_template(n), c)
        )
        assert page == whole(env, "page.html", view=View(text, "en"))
    assert list(kept._escaped) == ["Ann & Co"]
