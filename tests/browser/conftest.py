"""Headless Chromium against the built example site, served on 127.0.0.1.

Debian's chromium (/usr/bin/chromium) driven by Playwright for Python, with axe-core
from npm injected into pages. ./scripts/test installs all three when they are missing;
the tests skip, saying why, only when Chromium is not there at all.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import example_with_a_change

from policygen.engine import BuildReport, build
from policygen.site import BuildOptions

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("POLICYGEN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_PLACES = (REPO / ".cache/npm/node_modules/axe-core/axe.min.js", REPO / "node_modules/axe-core/axe.min.js")
TODAY = dt.date(2026, 11, 15)  # version 2 in force, version 3 announced
HTML_KINDS = ("page", "index", "archive", "history", "redline", "notice", "snippet")


@dataclass(frozen=True)
class Site:
    """The built site as the browser sees it."""

    root: Path
    url: str
    files: list[dict[str, Any]]  # manifest entries

    def html(self, *kinds: str) -> list[str]:
        return sorted(
            f["path"] for f in self.files if f["path"].endswith(".html") and f["kind"] in (kinds or HTML_KINDS)
        )

    def kind(self, path: str) -> str:
        return str(next(f["kind"] for f in self.files if f["path"] == path))

    def one_per_kind(self) -> dict[str, str]:
        """The first page of each HTML kind except snippets (a document page, an index, a history...), by kind."""
        seen: dict[str, str] = {}
        for path in self.html():
            if self.kind(path) != "snippet":
                seen.setdefault(self.kind(path), path)
        seen["index"] = "index.html"  # the site index rather than a tenant's
        return dict(sorted(seen.items()))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    root = tmp_path_factory.mktemp("browser-site")
    return build(example_with_a_change(root), root / "out", BuildOptions(today=TODAY))


@pytest.fixture(scope="session")
def site(built: BuildReport) -> Iterator[Site]:
    example_site = built
    handler = functools.partial(_Quiet, directory=str(example_site.out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    files = json.loads((example_site.out / "manifest.json").read_text(encoding="utf-8"))["files"]
    try:
        yield Site(example_site.out, f"http://127.0.0.1:{server.server_address[1]}/", files)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}; ./scripts/test installs Debian's chromium with apt-get")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed; ./scripts/test installs it (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    for place in AXE_PLACES:
        if place.is_file():
            return place.read_text(encoding="utf-8")
    pytest.fail("axe-core is not installed: run ./scripts/test, which installs it with npm into .cache/npm")


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $POLICYGEN_SCREENSHOTS if set, else a pytest temp folder."""
    folder = (
        Path(os.environ["POLICYGEN_SCREENSHOTS"])
        if os.environ.get("POLICYGEN_SCREENSHOTS")
        else tmp_path_factory.mktemp("screenshots")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder
