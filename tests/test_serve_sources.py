"""policygen serve's source toggle: working-text pages carry their sources (policygen explain) for the reviewer."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_project
from helpers import edit
from test_serve import Events, get

from policygen.serve import ServeOptions, Session

CHROMIUM = Path(os.environ.get("POLICYGEN_CHROMIUM", "/usr/bin/chromium"))
SOURCES = re.compile(rb'<script type="application/json" id="policygen-sources">(.*?)</script>', re.S)


def serve(root: Path, out: Path) -> Session:
    session = Session(root, ServeOptions(port=0, out=out))
    session.start()
    return session


@pytest.fixture
def unreleased(tmp_path: Path) -> Iterator[tuple[Path, Session]]:
    """The example project with no releases: every stable page shows working text."""
    root = copy_project(tmp_path / "project", releases=False)
    session = serve(root, tmp_path / "out")
    yield root, session
    session.stop()


def sources(page: bytes) -> dict[str, Any] | None:
    found = SOURCES.search(page)
    return json.loads(found.group(1)) if found else None


def test_a_working_text_page_is_served_with_the_source_of_every_block(
    unreleased: tuple[Path, Session], tmp_path: Path
) -> None:
    _, session = unreleased
    status, page = get(session, "/ims-pro/privacy-policy/")
    data = sources(page)
    assert status == 200 and data is not None
    assert (data["tenant"], data["document"]) == ("ims-pro", "privacy-policy")
    intro = next(b for b in data["blocks"] if b["clause"] == "introduction" and b["kind"] == "paragraph")
    assert intro["file"] == "content/privacy-policy/010-introduction.md" and intro["line"] == 7
    assert b"policygen-sources" not in (tmp_path / "out/ims-pro/privacy-policy/index.html").read_bytes()


def test_a_released_page_carries_no_sources_its_text_is_the_snapshot(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    session = serve(root, tmp_path / "out")
    try:
        released = list((root / "tenants/example-fitness/releases/privacy-policy").glob("*.json"))
        assert released, "the demo tenant has releases"
        status, page = get(session, "/example-fitness/privacy-policy/")
        assert status == 200 and b'src="/__policygen/live.js"' in page and sources(page) is None
    finally:
        session.stop()


def test_a_fact_with_markup_stays_text_inside_the_sources(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project", releases=False)
    facts = root / "tenants/ims-pro/tenant.yaml"
    hostile = "</script><script>document.title='owned'</script> & <!--"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(
        re.sub(r"(\n  description: ).*", lambda m: m.group(1) + json.dumps(hostile), text, count=1), encoding="utf-8"
    )
    session = serve(root, tmp_path / "out")
    try:
        _, page = get(session, "/ims-pro/privacy-policy/")
        found = SOURCES.search(page)
        assert found is not None
        assert b"<" not in found.group(1) and b">" not in found.group(1)
        data = json.loads(found.group(1))
        assert any(hostile in b["text"] for b in data["blocks"])
        assert page.count(b"<script") == 2  # the sources and the live-reload script, nothing a fact wrote
    finally:
        session.stop()


@pytest.mark.browser
@pytest.mark.slow
def test_the_toggle_outlines_every_block_with_its_source_and_leaves_none_unsourced(
    unreleased: tuple[Path, Session],
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}; ./scripts/test installs Debian's chromium with apt-get")
    pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[test]')"
    )
    _, session = unreleased
    results: list[Any] = []

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                try:
                    for slug in ("ihm-connect", "ims-global", "ims-pro"):
                        page = browser.new_page()
                        page.goto(session.url + f"{slug}/privacy-policy/")
                        toggle = page.wait_for_selector("#policygen-sources-toggle", timeout=20_000)
                        assert toggle is not None
                        toggle.click()
                        counted = page.evaluate("""() => ({
                          sourced: document.querySelectorAll('article [data-policygen-source]').length,
                          unsourced: Array.from(document.querySelectorAll('[data-policygen-unsourced]'))
                                          .map((e) => e.textContent.trim().slice(0, 80))})""")
                        page.hover("section#introduction p")
                        shown = page.inner_text("#policygen-source")
                        toggle.click()
                        after = page.evaluate("document.querySelectorAll('[data-policygen-source]').length")
                        results.append((slug, counted, shown, after))
                        page.close()
                finally:
                    browser.close()
        except BaseException as exc:
            results.append(exc)

    worker = threading.Thread(target=run)  # Playwright's event loop stays out of this thread
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the browser did not finish"
    for result in results:
        if isinstance(result, BaseException):
            raise result
        slug, counted, shown, after = result
        assert counted["sourced"] > 20 and counted["unsourced"] == [], (slug, counted)
        assert shown.startswith("content/privacy-policy/010-introduction.md:"), (slug, shown)
        assert after == 0


def test_sources_come_from_the_warm_project_not_a_second_reading_of_the_library(
    unreleased: tuple[Path, Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, session = unreleased
    assert session.rebuilder.warmed.wait(60)
    events = Events(session, "/ims-pro/privacy-policy/")
    events.next()
    edit(root / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Warm")
    assert events.next()[0] == "reload"

    def whole_project(*args: object) -> None:
        raise AssertionError("the project was loaded again for a page's sources")

    monkeypatch.setattr("policygen.explain.load_project", whole_project)
    _, page = get(session, "/ims-pro/privacy-policy/")
    data = sources(page)
    assert b"IMS Pro Warm" in page and data is not None and data["tenant"] == "ims-pro"
    events.close()
