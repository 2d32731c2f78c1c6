"""No script runs from a fact: the hostile tenant's pages in headless Chromium.

The tenant of tests/test_hostile_facts.py (a script-injection payload in every string
fact, released as a change to its plain facts) is built while the change is announced
and once it is in force, and every HTML page, snippet and notice of it is opened in
Chromium with the pages' Content-Security-Policy bypassed (so escaping alone must hold). Every payload
calls alert() or loads from evil.example: neither may happen. A control page with a
real injected script proves the detection works.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from test_hostile_facts import EVIL_HOST, MARK, base_facts, hostile_facts, two_versions

from .conftest import _Quiet

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium is a process of its own

# Runs before any page script: records every way a payload could show it ran.
WATCH = """(() => {
  window.__ran = [];
  for (const name of ["alert", "confirm", "prompt", "print", "open"]) {
    window[name] = (...args) => { window.__ran.push(name + ":" + args.join(",")); };
  }
})();"""


# What the browser built from the page that could still run later: event handlers, script: URLs.
ARMED = """() => [...document.querySelectorAll("*")].flatMap(e => [
  ...[...e.attributes].filter(a => a.name.startsWith("on")).map(a => "handler:" + e.tagName + " " + a.name),
  ...(/^\\s*(javascript|vbscript|data):/i.test(e.getAttribute("href") || e.getAttribute("src") || "")
      ? ["url:" + e.tagName + " " + (e.getAttribute("href") || e.getAttribute("src"))] : [])])"""


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """The served site (base URL) and the hostile tenant's HTML pages, plus a control page."""
    root = tmp_path_factory.mktemp("hostile-browser")
    announced, in_force = two_versions(root, base_facts(), hostile_facts()[0])
    out = root / "site"  # both builds side by side: the change announced (notices) and in force
    out.mkdir()
    announced.rename(out / "announced")
    in_force.rename(out / "in-force")
    pages = sorted(p.relative_to(out).as_posix() for p in out.glob("*/hostile/**/*.html"))
    control = root / "control"
    control.mkdir()
    (control / "index.html").write_text(
        f'<!doctype html><p>control</p><script>alert("{MARK}0")</script>'
        f'<img src="https://{EVIL_HOST}/x.png"><a href="javascript:void 0">x</a>',
        encoding="utf-8",
    )
    servers = []
    for folder in (out, control):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield (
            f"http://127.0.0.1:{servers[0].server_address[1]}/",
            [*pages, f"http://127.0.0.1:{servers[1].server_address[1]}/index.html"],
        )
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


class Visitor:
    """One browser context that opens pages and reports what ran and what was requested from a payload's host."""

    def __init__(self, browser: Any, bypass_csp: bool) -> None:
        self.context = browser.new_context(bypass_csp=bypass_csp, java_script_enabled=True)
        self.context.add_init_script(WATCH)
        self.requests: list[str] = []
        self.context.route(
            f"**://{EVIL_HOST}/**", lambda route: (self.requests.append(route.request.url), route.abort())
        )

    def visit(self, url: str) -> tuple[list[str], list[str]]:
        self.requests = []
        page = self.context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        try:
            page.goto(url, wait_until="load")
            ran = list(page.evaluate("window.__ran || []")) + dialogs
            ran += page.evaluate(ARMED)  # handlers and links that would run on a click or a hover
        finally:
            page.close()
        return ran, self.requests

    def close(self) -> None:
        self.context.close()


def test_the_detection_catches_a_real_injected_script(browser: Any, hostile_site: tuple[str, list[str]]) -> None:
    _, pages = hostile_site
    visitor = Visitor(browser, bypass_csp=True)
    try:
        ran, requests = visitor.visit(pages[-1])
    finally:
        visitor.close()
    assert ran == [f"alert:{MARK}0", "url:A javascript:void 0"]
    assert requests == [f"https://{EVIL_HOST}/x.png"]


def test_no_script_runs_and_nothing_loads_from_a_fact(browser: Any, hostile_site: tuple[str, list[str]]) -> None:
    base, pages = hostile_site
    assert any("/notice" in p for p in pages) and any("/history/" in p for p in pages)
    ran_anywhere: dict[str, list[str]] = {}
    visitor = Visitor(browser, bypass_csp=True)  # escaping alone must hold; the pages' CSP is a second wall
    try:
        for path in pages[:-1]:
            ran, requests = visitor.visit(base + path)
            if ran or requests:
                ran_anywhere[path] = ran + requests
    finally:
        visitor.close()
    assert ran_anywhere == {}
