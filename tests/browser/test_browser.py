"""What a person sees: every page and snippet in headless Chromium, on a phone, in the dark, on paper."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium is a process of its own

PHONES = (320, 390)
# A4 at 96 dpi is 794 px wide; less 10 mm margins on each side leaves about 718 px of paper for the page.
PRINTABLE_WIDTH = 718
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""
COLOURS = """() => {
  const body = getComputedStyle(document.body), link = document.querySelector("a");
  return [body.backgroundColor, body.color, link ? getComputedStyle(link).color : null];
}"""


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": PHONES[0], "height": 720}, bypass_csp=True)
    try:
        yield ctx
    finally:
        ctx.close()


def app_snippets(site: Site, app: str = "example-fitness/apps/tracker/") -> list[str]:
    return [p for p in site.html("snippet") if p.startswith(app)]


def test_the_site_has_pages_of_every_kind_and_snippets(site: Site) -> None:
    assert {"page", "index", "archive", "history", "redline", "notice"} <= set(site.one_per_kind())
    assert len(app_snippets(site)) > 10
    assert "example-fitness/apps/tracker/notice.html" in app_snippets(site)
    assert "example-fitness/apps/tracker/at-a-glance.html" in app_snippets(
        site
    )  # the first layer, checked like the rest


def test_no_page_or_snippet_scrolls_sideways_on_a_phone(context: Any, site: Site) -> None:
    page = context.new_page()
    too_wide: list[tuple[str, int, int]] = []
    for path in site.html():
        page.goto(site.url + path)
        for width in PHONES:
            page.set_viewport_size({"width": width, "height": 720})
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                too_wide.append((path, width, scroll))
    assert not too_wide


def test_snippets_make_no_network_request(browser: Any, site: Site) -> None:
    ctx = browser.new_context(viewport={"width": PHONES[1], "height": 720})
    requested: list[str] = []
    try:
        page = ctx.new_page()
        page.on("request", lambda request: requested.append(request.url))
        for path in site.html("snippet"):
            requested.clear()
            page.goto(site.url + path, wait_until="load")  # no script: nothing can start after load
            assert requested == [site.url + path], path
    finally:
        ctx.close()


def test_dark_mode_changes_the_colours_of_every_snippet(context: Any, site: Site) -> None:
    page = context.new_page()
    for path in site.html("snippet"):
        page.goto(site.url + path)
        page.emulate_media(color_scheme="light")
        light = page.evaluate(COLOURS)
        page.emulate_media(color_scheme="dark")
        dark = page.evaluate(COLOURS)
        assert light[0] != dark[0] and light[1] != dark[1], (path, light, dark)
        if light[2] is not None:
            assert light[2] != dark[2], (path, "link colour")


def test_full_pages_print_without_cut_off_tables(context: Any, site: Site, screenshots: Path) -> None:
    page = context.new_page()
    page.set_viewport_size({"width": PRINTABLE_WIDTH, "height": 1000})
    page.emulate_media(media="print")
    documents = site.html("page", "archive") + [p for p in app_snippets(site) if p.endswith("/policy.html")]
    tables = 0
    for path in documents:
        page.goto(site.url + path)
        cut = page.evaluate("""() => [...document.querySelectorAll("table")].map(t => {
            const r = t.getBoundingClientRect(), box = t.parentElement;
            return {left: r.left, right: r.right, inner: window.innerWidth,
                    clipped: box.scrollWidth > box.clientWidth + 1, width: t.scrollWidth, shown: t.clientWidth};
          }).filter(t => t.left < 0 || t.right > t.inner + 1 || t.clipped || t.width > t.shown + 1)""")
        tables += page.evaluate("document.querySelectorAll('table').length")
        assert not cut, (path, cut)
    assert tables > 0  # the check ran on real tables
    page.goto(site.url + "ims-global/privacy-policy/index.html")
    page.pdf(
        path=str(screenshots / "print-ims-global-privacy-policy.pdf"),
        format="A4",
        margin={"top": "10mm", "bottom": "10mm", "left": "10mm", "right": "10mm"},
    )


def _axe(page: Any, axe_source: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=axe_source)
    return list(page.evaluate(AXE_RUN))


def test_axe_finds_no_accessibility_violations(context: Any, site: Site, axe_source: str) -> None:
    page = context.new_page()
    page.set_viewport_size({"width": PHONES[1], "height": 720})
    found: dict[str, list[dict[str, Any]]] = {}
    for path in [*site.one_per_kind().values(), *app_snippets(site)]:
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.goto(site.url + path)
            violations = _axe(page, axe_source)
            if violations:
                found[f"{path} ({scheme})"] = violations
    assert not found


def test_screenshots_of_each_page_kind(context: Any, site: Site, screenshots: Path) -> None:
    page = context.new_page()
    page.set_viewport_size({"width": PHONES[1], "height": 844})
    shots = dict(site.one_per_kind())
    for snippet in app_snippets(site):
        role = "section" if "/sections/" in snippet else Path(snippet).stem  # policy, permissions, notice
        shots.setdefault(f"snippet-{role}", snippet)
    for name, path in sorted(shots.items()):
        for scheme in ("light", "dark") if name.startswith("snippet") else ("light",):
            page.emulate_media(color_scheme=scheme)
            page.goto(site.url + path)
            file = screenshots / f"{re.sub(r'[^a-z0-9-]+', '-', name)}-{scheme}.png"
            page.screenshot(path=str(file), full_page=True)
            assert file.stat().st_size > 1000
    print(f"screenshots in {screenshots}")
