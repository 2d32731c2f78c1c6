"""The default theme's own words (every `"..."|t(lang)` in its templates, the in-app snippets' included) have
their translation in each language policygen ships the theme's words for (themes/default/i18n/<lang>.yaml),
so a page or snippet in that language never shows the theme's English."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import REPO, one_tenant_project
from test_unknown_facts import REQUIRED

from policygen.engine import build
from policygen.site import BuildOptions

THEME = REPO / "themes" / "default"
LANGUAGES = sorted(file.stem for file in (THEME / "i18n").glob("*.yaml"))
_WORDS = re.compile(r'"((?:[^"\\]|\\.)*)"\s*\|\s*t\(')


def _theme_words() -> set[str]:
    return {m[1] for file in (THEME / "templates").rglob("*.html") for m in _WORDS.finditer(file.read_text("utf-8"))}


def test_the_theme_asks_for_its_words_in_the_snippets_too() -> None:
    assert {"Contents", "Permissions", "From the {title} of {tenant}, effective {date}."} <= _theme_words()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_word_of_the_theme_has_its_translation_with_the_same_placeholders(lang: str) -> None:
    words = yaml.safe_load((THEME / "i18n" / f"{lang}.yaml").read_text(encoding="utf-8"))
    missing = sorted(_theme_words() - words.keys())
    assert missing == []
    for english in _theme_words():
        assert set(re.findall(r"\{(\w+)\}", words[english])) == set(re.findall(r"\{(\w+)\}", english)), english


FACTS: dict[str, Any] = {
    **REQUIRED,
    "locale": "en-GB",
    "languages": ["en-GB", "hi-IN"],
    "apps": [
        {
            "id": "app",
            "name": "Example App",
            "audience": "members",
            "permissions": [{"id": "camera", "reason": "To scan receipts", "optional": True, "asked": "first_use"}],
        }
    ],
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = one_tenant_project(tmp_path_factory.mktemp("theme-words") / "project", FACTS)
    return build(root, root / "out", BuildOptions(today=dt.date(2026, 6, 1))).out


def _text(out: Path, path: str) -> str:
    return BeautifulSoup((out / path).read_text(encoding="utf-8"), "html.parser").get_text(" ", strip=True)


def test_a_hindi_snippet_says_the_themes_words_in_hindi(out: Path) -> None:
    policy = _text(out, "t/apps/app/hi/policy.html")
    assert "प्रभावी तिथि" in policy and "विषय-सूची" in policy
    assert "Effective" not in policy and "Contents" not in policy
    permissions = _text(out, "t/apps/app/hi/permissions.html")
    assert "(वैकल्पिक)" in permissions and "पहली बार इस्तेमाल करने पर" in permissions
    for english in ("Asked", "optional", "From the", "asks permission"):
        assert english not in permissions


def test_a_snippets_source_line_keeps_its_date_element_in_every_language(out: Path) -> None:
    for path in ("t/apps/app/permissions.html", "t/apps/app/hi/permissions.html"):
        page = BeautifulSoup((out / path).read_text(encoding="utf-8"), "html.parser")
        source = page.find("p", class_="source")
        assert source is not None and source.find("time", attrs={"datetime": "2026-01-01"}) is not None
    english = (out / "t/apps/app/permissions.html").read_text(encoding="utf-8")
    assert '<p class="source">From the Privacy Policy of ' in english and "2026</time>.</p>" in english
