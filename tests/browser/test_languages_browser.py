"""Pages in other languages as a person sees them: Hindi (IMS Pro's), French and Arabic (right to
left) at 390 px, with Debian's Noto fonts (./scripts/test installs fonts-noto-core): axe-core finds
nothing, nothing scrolls sideways, and the screenshots are kept for people to look at."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, one_tenant_project
from test_language_versions import DOC, V1, V2, V3, released_in_two_languages
from test_translations import INTRO, _translate
from test_unknown_facts import REQUIRED

from policygen.engine import build
from policygen.site import BuildOptions
from policygen.translation_files import source_hash

from .conftest import TODAY, Site, _Quiet
from .test_browser import AXE_RUN

pytestmark = pytest.mark.browser

ARABIC_INTRO = """---
title: حول هذه السياسة
translates: {hash}
---
{{% set org = organisation %}}
توضح هذه السياسة البيانات الشخصية التي تجمعها {{{{ org.display_name }}}}، ولماذا، ومع من نشاركها، ومدة احتفاظنا بها، وما يمكنك فعله بشأنها.

{{% if org.display_name != org.legal_name %}}
تقدّم {{{{ org.display_name }}}} شركة {{% if org.trading_names %}}{{{{ org.legal_name }}}}، التي تعمل أيضًا باسم {{{{ org.trading_names|list_and }}}}.{{% else %}}{{{{ org.legal_name|stop }}}}{{% endif +%}}
{{% endif %}}
{{% if org.description %}}
{{{{ org.display_name }}}}: {{{{ org.description|stop }}}}
{{% endif %}}
{{% if org.website %}}
موقعنا الإلكتروني هو {{{{ org.website|url }}}}.
{{% endif %}}

{{% if products %}}
{{% if products|length == 1 %}}تشمل هذه السياسة هذا المنتج:{{% else %}}تشمل هذه السياسة هذه المنتجات:{{% endif +%}}

{{% for p in products %}}
- **{{{{ p.name }}}}**{{% if p.description %}}: {{{{ p.description|stop }}}}{{% endif +%}}
{{% endfor %}}

{{% endif %}}
{{% if apps %}}
{{% if apps|length == 1 %}}تشمل هذه السياسة هذا التطبيق:{{% else %}}تشمل هذه السياسة هذه التطبيقات:{{% endif +%}}

{{% for app in apps %}}
- **{{{{ app.name }}}}.** لمن هو: {{{{ app.audience|stop }}}}
{{% endfor %}}
{{% endif %}}
"""


@pytest.fixture(scope="module")
def languages_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A tenant publishing English, French and Arabic, and the example project's IMS Pro in Hindi."""
    root = tmp_path_factory.mktemp("languages")
    facts = {**REQUIRED, "locale": "en-GB", "languages": ["en-GB", "fr-FR", "ar"]}
    project = one_tenant_project(root / "project", facts)
    shutil.copytree(REPO / "tenants/ims-pro", project / "tenants/ims-pro")  # its Hindi pages
    _translate(project, INTRO, "fr", "À propos de cette politique")
    digest = source_hash((project / INTRO).read_bytes())
    (project / "content/privacy-policy/010-introduction.ar.md").write_text(
        ARABIC_INTRO.format(hash=digest), encoding="utf-8"
    )
    out = build(project, root / "out", BuildOptions(today=TODAY)).out
    handler = functools.partial(_Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Site(out, f"http://127.0.0.1:{server.server_address[1]}/", [])
    finally:
        server.shutdown()
        server.server_close()


PAGES = {
    "hindi": "ims-pro/privacy-policy/hi/index.html",
    "french": "t/privacy-policy/fr/index.html",
    "arabic": "t/privacy-policy/ar/index.html",
    "hindi-snippet": "ims-pro/apps/customer-app/hi/policy.html",
}


def test_pages_in_hindi_french_and_arabic_hold_their_layout_on_a_phone(
    browser: Any, languages_site: Site, axe_source: str, screenshots: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    problems: dict[str, Any] = {}
    try:
        for name, path in PAGES.items():
            page.goto(languages_site.url + path)
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                problems[f"{name}: scrolls sideways"] = (scroll, inner)
            file = screenshots / f"language-{name}-390.png"
            page.screenshot(path=str(file), full_page=True)
            assert file.stat().st_size > 1000
            page.add_script_tag(content=axe_source)
            violations = page.evaluate(AXE_RUN)
            if violations:
                problems[f"{name}: axe"] = violations
        page.goto(languages_site.url + PAGES["arabic"])
        direction = page.evaluate("getComputedStyle(document.documentElement).direction")
        assert direction == "rtl"
    finally:
        context.close()
    assert not problems
    print(f"screenshots in {screenshots}")


@pytest.fixture(scope="module")
def versions_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The fictional tenant with three released versions, the last two in English and French."""
    root = tmp_path_factory.mktemp("language-versions")
    project = released_in_two_languages(root)
    out = build(project, root / "out", BuildOptions(today=dt.date(2026, 6, 1))).out
    handler = functools.partial(_Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Site(out, f"http://127.0.0.1:{server.server_address[1]}/", [])
    finally:
        server.shutdown()
        server.server_close()


VERSION_PAGES = {
    "index": "t/fr/index.html",
    "archive": f"{DOC}/fr/{V2}/index.html",
    "archive-not-published": f"{DOC}/fr/{V1}/index.html",
    "history": f"{DOC}/fr/history/index.html",
    "redline": f"{DOC}/fr/{V3}/changes/index.html",
    "redline-not-compared": f"{DOC}/fr/{V2}/changes/index.html",
    "notice": f"{DOC}/fr/{V3}/notice/banner.html",
}


def test_version_pages_in_another_language_hold_their_layout_and_pass_axe(
    browser: Any, versions_site: Site, axe_source: str, screenshots: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    problems: dict[str, Any] = {}
    try:
        for name, path in VERSION_PAGES.items():
            page.goto(versions_site.url + path)
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                problems[f"{name}: scrolls sideways"] = (scroll, inner)
            page.screenshot(path=str(screenshots / f"language-version-{name}-390.png"), full_page=True)
            page.add_script_tag(content=axe_source)
            violations = page.evaluate(AXE_RUN)
            if violations:
                problems[f"{name}: axe"] = violations
    finally:
        context.close()
    assert not problems
