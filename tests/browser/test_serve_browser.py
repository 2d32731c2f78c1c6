"""policygen serve in a real browser: open pages reload on save and show broken edits as an overlay."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from policygen.serve import ServeOptions, Session

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium is a process of its own

CHROMIUM = Path(os.environ.get("POLICYGEN_CHROMIUM", "/usr/bin/chromium"))
WAIT_MS = 20_000


def drive(url: str, file: Path) -> None:
    """Open the page, then save a good edit, a broken one and a fix, checking what the page shows each time."""
    from playwright.sync_api import sync_playwright

    good = file.read_text(encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            page = browser.new_page()
            page.goto(url + "ims-pro/privacy-policy/")
            page.wait_for_function("document.querySelector('h1') !== null", timeout=WAIT_MS)

            # A good save: the page reloads by itself and shows it.
            file.write_text(good.replace("display_name: IMS Pro", "display_name: IMS Pro Live", 1), encoding="utf-8")
            page.wait_for_function("document.body.innerText.includes('IMS Pro Live')", timeout=WAIT_MS)

            # A broken save: the page keeps the last good build and shows where the problem is.
            file.write_text(good.replace("  legal_name:", "  legal_nme:", 1), encoding="utf-8")
            alert = page.wait_for_selector("[role=alert]", timeout=WAIT_MS)
            assert alert is not None
            text = alert.inner_text()
            assert "tenants/ims-pro/tenant.yaml:" in text and "legal_nme" in text
            assert "IMS Pro Live" in page.content()

            # The next good save clears it.
            file.write_text(good.replace("display_name: IMS Pro", "display_name: IMS Pro Fixed", 1), encoding="utf-8")
            page.wait_for_function("document.body.innerText.includes('IMS Pro Fixed')", timeout=WAIT_MS)
            assert page.query_selector("[role=alert]") is None
        finally:
            browser.close()


def test_open_page_reloads_on_save_and_shows_a_broken_edit(project: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}; ./scripts/test installs Debian's chromium with apt-get")
    pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[test]')"
    )
    session = Session(project, ServeOptions(port=0, out=tmp_path / "out"))
    session.start()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            drive(session.url, project / "tenants/ims-pro/tenant.yaml")
        except BaseException as exc:
            failures.append(exc)

    # Its own thread: other browser tests may hold a Playwright session (and its event loop) in this one.
    worker = threading.Thread(target=run)
    try:
        worker.start()
        worker.join(timeout=120)
    finally:
        session.stop()
    assert not worker.is_alive(), "the browser did not finish"
    if failures:
        raise failures[0]
