"""CommonMark with tables and no raw HTML, from the fastest engine installed.

A project can allow raw HTML in clause files (raw_html: true in policygen.yaml):
render_html() then passes it through, and sanitize() cleans the finished clause.

markdown-it-pyrs (Rust) renders the same CommonMark as markdown-it-py about
17x faster; both are configured to the same rule set, and a test renders the
whole clause library with each to prove they agree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

RULES = [
    "blockquote",
    "code",
    "fence",
    "heading",
    "hr",
    "lheading",
    "list",
    "paragraph",
    "reference",
    "autolink",
    "backticks",
    "emphasis",
    "entity",
    "escape",
    "link",
    "newline",
    "table",
    "strikethrough",
]


@lru_cache(maxsize=2)
def _python_parser(raw_html: bool = False) -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": raw_html}).enable(["table", "strikethrough"]).disable("image")


def python_renderer() -> Callable[[str], str]:
    return _python_parser().render  # type: ignore[no-any-return]


def parse(source: str, raw_html: bool = False) -> list[Any]:
    """The tokens of *source* as the renderers read it, each block with its source lines (token.map).

    Only tools that trace a render use it (policygen/explain.py); builds render through render().
    """
    return _python_parser(raw_html).parse(source)  # type: ignore[no-any-return]


def rust_renderer() -> Callable[[str], str]:
    import markdown_it_pyrs

    md = markdown_it_pyrs.MarkdownIt("zero").enable_many(RULES)  # type: ignore[arg-type]  # the stub's Literal is private
    render: Callable[[str], str] = md.render
    return render


def _best() -> Callable[[str], str]:
    try:
        return rust_renderer()
    except ImportError:  # pragma: no cover - wheels exist for the usual platforms
        return python_renderer()


_render = _best()


def _html_renderer() -> Callable[[str], str]:
    try:
        import markdown_it_pyrs

        md = markdown_it_pyrs.MarkdownIt("zero").enable_many([*RULES, "html_block", "html_inline"])  # type: ignore[list-item]
        return md.render
    except ImportError:  # pragma: no cover
        return _python_parser(raw_html=True).render  # type: ignore[no-any-return]


# What clause HTML may keep: text structure and links. No images or media (a page must make no
# external requests), no forms, no style, no script, no event handlers.
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    # a word in another language than its clause (vocabulary.ForeignWord), with its direction on a page that
    # runs the other way (vocabulary.mark_attributes)
    "span": {"lang", "dir"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


@lru_cache(maxsize=4096)
def render_html(source: str) -> str:
    """Markdown to HTML with raw HTML passed through: sanitize() the result once facts are in."""
    return _render_html(source)


# What the renderer itself writes beyond that (Markdown headings and table alignment, heading anchors,
# note and table-wrapper classes, cell labels): HTML rendered earlier, such as a released snapshot's,
# keeps these when it is sanitised again, and nothing else.
RENDERED_TAGS = ALLOWED_TAGS | {"h1", "h2"}
RENDERED_ATTRIBUTES = {
    **ALLOWED_ATTRIBUTES,
    **{h: {"id"} for h in ("h1", "h2", "h3", "h4", "h5", "h6")},
    "div": {"lang", "dir"},  # a clause shown in the source language on a page in another (render._render_translated)
    "p": {"lang"},  # a tenant's note printed untranslated there (render._with_notes)
    "td": {"colspan", "rowspan", "data-label", "style"},
    "th": {"colspan", "rowspan", "scope", "style"},
}
RENDERED_CLASSES = {"p": {"note"}, "div": {"table-scroll"}}


def sanitize(body: str, *, rendered: bool = False) -> str:
    """Keep only ALLOWED_TAGS and ALLOWED_ATTRIBUTES, and links to http(s), mailto and tel.

    With *rendered*, also what the renderer itself adds (RENDERED_*), for HTML that was rendered before.
    """
    import nh3

    if not rendered:
        return nh3.clean(
            body,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            link_rel=None,
            strip_comments=True,
        )
    return nh3.clean(
        body,
        tags=RENDERED_TAGS,
        attributes=RENDERED_ATTRIBUTES,
        allowed_classes=RENDERED_CLASSES,
        filter_style_properties={"text-align"},
        url_schemes=URL_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )


_render_html = _html_renderer()


@lru_cache(maxsize=65536)
def render(source: str) -> str:
    """Markdown to HTML. Cached: clause skeletons repeat across tenants (facts are placeholders)."""
    return _render(source)
