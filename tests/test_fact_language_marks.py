"""A tenant's free-text fact printed on a page in another language as the tenant wrote it (its translation in
tenant.<lang>.yaml is missing or stale) carries its language: `<span lang="en">Advertisers</span>`, and on a
right-to-left page its direction too (`dir="ltr"`). A fact printed from a current translation is not marked;
neither is a fact that is not words (an email address, a postcode), nor a country (policygen names it).
Where text cannot carry markup (an attribute, a <title>, JSON, a feed) the fact is the plain text it was.

The tenant is fictional (`t`, Plain Example Ltd), published in English, Hindi and Arabic, with three
recipients: hosting providers (no Hindi translation), advertisers (a current one) and mail services (a stale
one: the English changed since it was translated)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, get_origin

import pytest
import yaml
from bs4 import BeautifulSoup, Tag
from conftest import REPO, one_tenant_project
from markupsafe import escape
from pydantic import BaseModel
from test_unknown_facts import REQUIRED

from policygen import fact_translations
from policygen.engine import build
from policygen.errors import InputError
from policygen.fact_translations import _looked_into, in_language, in_words, text_facts, translated_facts, value_hash
from policygen.facts import Tenant, is_free_text, load_tenant, types_in
from policygen.readtrace import fingerprint
from policygen.site import BuildOptions
from policygen.theme import marked
from policygen.versions import published_html
from policygen.vocabulary import ForeignWord

HOSTILE = "<script>alert(1)</script> \"q\" onclick='x' **bold** [link](https://evil.example) {{ 7 * 7 }}"
FACTS: dict[str, Any] = {
    **REQUIRED,
    "locale": "en-GB",
    "languages": ["en-GB", "hi-IN", "ar"],
    "organisation": {
        "legal_name": "Plain Example Ltd",
        "display_name": "Plain Example",
        "email": "privacy@example.org",
        "address": {
            "lines": ["1 High Street"],
            "locality": "Leeds",
            "postcode": "LS1 1AA",
            "country": "United Kingdom",
        },
    },
    "recipients": [
        {"id": "hosting", "category": "Hosting providers"},
        {"id": "ads", "category": "Advertisers", "role": "controller"},
        {"id": "mail", "category": "Mail services"},
        {"id": "odd", "category": HOSTILE},
    ],
    "apps": [{"id": "app", "name": "Example App", "audience": "members"}],
}
# A clause of the project's own that puts a fact into an attribute (a Markdown link's title), with its Hindi.
ATTRIBUTE_CLAUSE = """---
id: attribute-test
title: Attribute test
order: 999
---
See [our hosting](https://example.org "{{ recipients[0].category }}").
"""


def _translation(source: str, title: str) -> str:
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    body = source.split("---\n", 2)[2]
    return f"---\ntitle: {title}\ntranslates: {digest}\n---\n{body}"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = one_tenant_project(tmp_path_factory.mktemp("fact-marks") / "project", FACTS)
    folder = root / "content" / "privacy-policy"
    (folder / "999-attribute.md").write_text(ATTRIBUTE_CLAUSE, encoding="utf-8")
    (folder / "999-attribute.hi.md").write_text(_translation(ATTRIBUTE_CLAUSE, "गुण"), encoding="utf-8")
    # An Arabic translation of the summary (its Hindi words will do): a translated clause in a right-to-left page.
    shutil.copy(folder / "005-at-a-glance.hi.md", folder / "005-at-a-glance.ar.md")
    overlay = {
        "recipients[1].category": {"text": "विज्ञापनदाता", "translates": value_hash("Advertisers")},
        "recipients[2].category": {"text": "डाक सेवाएँ", "translates": value_hash("Post services")},  # stale
    }
    (root / "tenants/t/tenant.hi.yaml").write_text(yaml.safe_dump(overlay, allow_unicode=True), encoding="utf-8")
    return build(root, root / "out", BuildOptions(today=dt.date(2026, 6, 1))).out


def _page(out: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((out / path).read_text(encoding="utf-8"), "html.parser")


def _marked(page: BeautifulSoup) -> list[str]:
    """The text of every element marked lang="en" in the page's main text."""
    main = page.find("main")
    assert isinstance(main, Tag)
    return [span.get_text() for span in main.find_all(attrs={"lang": "en"})]


def _summary_line(page: BeautifulSoup, anchor: str) -> Tag:
    """The line of the "at a glance" section that leads to the section *anchor*."""
    section = page.find("section", id="at-a-glance")
    assert isinstance(section, Tag)
    return next(li for li in section.find_all("li") if li.find("a", href=f"#{anchor}"))


def test_a_hindi_page_marks_a_recipients_name_with_no_translation_as_english(out: Path) -> None:
    page = _page(out, "t/privacy-policy/hi/index.html")
    line = _summary_line(page, "sharing")
    span = line.find("span", string="Hosting providers")
    assert isinstance(span, Tag)
    assert span.attrs == {"lang": "en"}


def test_a_hindi_page_prints_a_current_translation_in_hindi_unmarked(out: Path) -> None:
    page = _page(out, "t/privacy-policy/hi/index.html")
    assert "विज्ञापनदाता" in _summary_line(page, "sharing").get_text()
    assert "Advertisers" not in page.get_text()
    assert not any("विज्ञापनदाता" in text for text in _marked(page))


def test_a_hindi_page_marks_a_recipients_name_whose_translation_is_stale_as_english(out: Path) -> None:
    page = _page(out, "t/privacy-policy/hi/index.html")
    assert "डाक सेवाएँ" not in page.get_text()
    assert "Mail services" in _marked(page)


def test_an_arabic_page_marks_an_untranslated_fact_with_its_language_and_direction(out: Path) -> None:
    page = _page(out, "t/privacy-policy/ar/index.html")
    html = page.find("html")
    assert isinstance(html, Tag) and html.get("dir") == "rtl"
    span = _summary_line(page, "sharing").find("span", string="Hosting providers")
    assert isinstance(span, Tag)
    assert span.attrs == {"lang": "en", "dir": "ltr"}
    header = page.find("a", class_="brand")
    assert isinstance(header, Tag)
    name = header.find("span", attrs={"lang": "en"})
    assert isinstance(name, Tag) and name.get_text() == "Plain Example" and name.get("dir") == "ltr"


def test_a_clause_shown_in_english_on_an_arabic_page_marks_no_fact_inside_it(out: Path) -> None:
    """The clause is marked as a whole (it has no Arabic translation): a fact inside it reads as its sentence."""
    section = _page(out, "t/privacy-policy/ar/index.html").find("section", id="sharing")
    assert isinstance(section, Tag)
    english = section.find("div", attrs={"lang": "en", "dir": "ltr"})
    assert isinstance(english, Tag) and "Hosting providers" in english.get_text()
    assert english.find_all(attrs={"lang": True}) == []


def test_the_tenants_names_in_the_header_footer_and_index_of_a_hindi_page_are_marked(out: Path) -> None:
    index = _page(out, "t/hi/index.html")
    assert {"Plain Example", "Plain Example Ltd"} <= set(_marked(index))
    footer = index.find("footer")
    assert isinstance(footer, Tag)
    assert [s.get_text() for s in footer.find_all("span", attrs={"lang": "en"})] == ["Plain Example Ltd"]
    assert "Plain Example" in [
        s.get_text() for s in _page(out, "t/privacy-policy/hi/index.html").select("a.brand span[lang=en]")
    ]


def test_a_fact_in_an_attribute_or_the_title_of_a_hindi_page_is_plain_text(out: Path) -> None:
    source = (out / "t/privacy-policy/hi/index.html").read_text(encoding="utf-8")
    page = BeautifulSoup(source, "html.parser")
    link = page.find("a", href="https://example.org")
    assert isinstance(link, Tag)
    assert link.get("title") == "Hosting providers"
    assert 'title="Hosting providers"' in source
    title = page.find("title")
    assert isinstance(title, Tag) and "Plain Example" in title.get_text() and "<span" not in title.decode_contents()
    index = (out / "t/hi/index.html").read_text(encoding="utf-8")
    assert 'title="Plain Example: ' in index  # the feed's link in <head>


def test_a_fact_printed_untranslated_is_its_plain_text_in_json_feeds_and_templates_that_do_not_mark_it(
    out: Path,
) -> None:
    facts = translated_facts(
        out.parent / "tenants/t", "hi-IN", load_tenant(out.parent / "tenants/t/tenant.yaml"), False
    )
    name = facts.organisation.legal_name
    assert name == "Plain Example Ltd" and str(name) == "Plain Example Ltd"
    assert json.loads(facts.model_dump_json())["organisation"]["legal_name"] == "Plain Example Ltd"
    assert str(escape(name)) == "Plain Example Ltd"  # a template's {{ name }}: in an attribute, a <title>
    assert str(marked(name, "hi-IN")) == '<span lang="en">Plain Example Ltd</span>'  # {{ name|marked(lang) }}
    manifest = json.loads((out / "t/apps/app/hi/manifest.json").read_text(encoding="utf-8"))
    assert manifest["name"] == "Example App"
    for feed in ("t/hi/feed.xml", "t/privacy-policy/hi/feed.xml"):
        assert "<span" not in (out / feed).read_text(encoding="utf-8")


def test_a_hindi_snippet_marks_an_untranslated_fact(out: Path) -> None:
    snippet = _page(out, "t/apps/app/hi/policy.html")
    assert "Hosting providers" in _marked(snippet)
    title = snippet.find("title")
    assert isinstance(title, Tag) and "<span" not in title.decode_contents()


def test_an_email_address_a_postcode_and_a_country_are_not_marked(out: Path) -> None:
    marked = _marked(_page(out, "t/privacy-policy/hi/index.html"))
    assert "privacy@example.org" not in marked
    assert not any("LS1 1AA" in text or "United Kingdom" in text for text in marked)
    assert "Leeds" in marked  # the town is words


def test_english_pages_mark_no_fact(out: Path) -> None:
    for path in ("t/privacy-policy/index.html", "t/index.html", "t/apps/app/policy.html"):
        page = _page(out, path)
        assert _marked(page) == []
        assert "Plain Example" in page.get_text()


def test_a_hostile_fact_on_a_hindi_page_stays_text_inside_its_mark(out: Path) -> None:
    source = (out / "t/privacy-policy/hi/index.html").read_text(encoding="utf-8")
    page = BeautifulSoup(source, "html.parser")
    assert HOSTILE in _marked(page)
    assert page.find("script") is None
    assert page.find("strong", string="bold") is None
    assert page.find("a", href="https://evil.example") is None
    assert [t for t in page.find_all(True) if "onclick" in t.attrs] == []


def test_a_render_that_reads_a_fact_printed_untranslated_is_reused_only_for_the_same_marked_fact() -> None:
    """A clause render is reused for tenants whose facts read the same: a fact printed untranslated reads
    otherwise than the same words as a current translation (a brand kept as it is), which prints unmarked."""
    untranslated = fingerprint(ForeignWord("Acme", "en"))
    assert untranslated == fingerprint(ForeignWord("Acme", "en"))
    assert untranslated != fingerprint("Acme")
    assert untranslated != fingerprint(ForeignWord("Acme", "fr"))


def test_a_released_translation_keeps_each_marks_language_and_direction() -> None:
    """A version's text in another language is frozen sanitised (versions.published_html): the marks stay."""
    html = (
        '<p class="note translation-note">…</p>\n<div lang="en" dir="ltr">\n<p class="note" lang="en">Our note</p>\n'
        '<p>من <span lang="en" dir="ltr">Plain Example Ltd</span></p>\n</div>\n'
    )
    published = published_html(html)
    assert '<div lang="en" dir="ltr">' in published
    assert '<p class="note" lang="en">Our note</p>' in published
    assert '<span lang="en" dir="ltr">Plain Example Ltd</span>' in published


def test_each_item_of_a_list_of_texts_is_translated_on_its_own_and_marked_while_it_is_not(tmp_path: Path) -> None:
    """A data category's items are free text, item by item: `data_categories[0].items[1]` in the overlay
    translates one; the others print as written, marked; a stale one too."""
    root = one_tenant_project(tmp_path / "project", FACTS)
    overlay = {
        "data_categories[0].items[1]": {"text": "ईमेल पता", "translates": value_hash("Email address")},
        "data_categories[0].name": {"text": "खाते का डेटा", "translates": value_hash("Account info")},  # stale
    }
    (root / "tenants/t/tenant.hi.yaml").write_text(yaml.safe_dump(overlay, allow_unicode=True), encoding="utf-8")
    out = build(root, root / "out", BuildOptions(today=dt.date(2026, 6, 1))).out
    page = _page(out, "t/privacy-policy/hi/index.html")
    assert "ईमेल पता" in page.get_text() and "Email address" not in page.get_text()
    assert {"Name", "Account data", "1 High Street"} <= set(_marked(page))
    assert not any("ईमेल पता" in text for text in _marked(page))
    english = _page(out, "t/privacy-policy/index.html")
    assert "Email address" in english.get_text() and _marked(english) == []


def test_the_facts_a_tenant_can_translate_list_each_item_of_a_list_of_texts(tmp_path: Path) -> None:
    facts = load_tenant(one_tenant_project(tmp_path / "project", FACTS) / "tenants/t/tenant.yaml")
    texts = text_facts(facts)
    assert texts["data_categories[0].items[0]"] == "Name" and texts["data_categories[0].items[1]"] == "Email address"
    assert texts["organisation.address.lines[0]"] == "1 High Street"
    assert "data_categories[0].items" not in texts and "data_categories[0].items[2]" not in texts


def test_an_overlay_key_past_the_end_of_a_list_of_texts_is_a_located_error(tmp_path: Path) -> None:
    root = one_tenant_project(tmp_path / "project", FACTS)
    overlay = "data_categories[0].items[5]:\n  text: x\n  translates: aaaaaaaaaaaaaaaa\n"
    (root / "tenants/t/tenant.hi.yaml").write_text(overlay, encoding="utf-8")
    facts = load_tenant(root / "tenants/t/tenant.yaml")
    with pytest.raises(InputError) as caught:
        translated_facts(root / "tenants/t", "hi-IN", facts, False)
    [problem] = caught.value.problems
    assert problem.line == 1 and problem.key_path == "data_categories[0].items[5]"
    assert "data_categories[0].items[1]" in (problem.suggestion or "")


def test_a_hindi_snippet_names_the_tenant_and_app_as_the_hindi_pages_do(out: Path) -> None:
    """The snippet's own sentences ("What {app} asks permission for", its source line) name the app and the
    tenant marked while they have no Hindi translation; its <title> keeps them plain."""
    page = _page(out, "t/apps/app/hi/permissions.html")
    heading = page.find("h1")
    assert isinstance(heading, Tag)
    assert [s.get_text() for s in heading.find_all("span", attrs={"lang": "en"})] == ["Example App"]
    source = page.find("p", class_="source")
    assert isinstance(source, Tag)
    assert [s.get_text() for s in source.find_all("span", attrs={"lang": "en"})] == ["Plain Example"]
    title = page.find("title")
    assert isinstance(title, Tag) and "<span" not in title.decode_contents()
    english = _page(out, "t/apps/app/permissions.html")
    main = english.find("main")
    assert isinstance(main, Tag) and main.find_all(attrs={"lang": True}) == []


def test_the_contents_of_a_hindi_page_mark_a_sub_heading_made_of_an_untranslated_fact(tmp_path: Path) -> None:
    """Each app's name heads its permissions in the text (marked there) and in the table of contents."""
    camera = {"id": "camera", "reason": "To scan receipts"}
    apps = [
        {"id": "one", "name": "First App", "audience": "members", "permissions": [camera]},
        {"id": "two", "name": "Second App", "audience": "staff", "permissions": [camera]},
    ]
    root = one_tenant_project(tmp_path / "project", {**FACTS, "apps": apps})
    out = build(root, root / "out", BuildOptions(today=dt.date(2026, 6, 1))).out
    toc = _page(out, "t/privacy-policy/hi/index.html").find("nav", class_="toc")
    assert isinstance(toc, Tag)
    assert [s.get_text() for s in toc.find_all("span", attrs={"lang": "en"})] == ["First App", "Second App"]
    english = _page(out, "t/privacy-policy/index.html").find("nav", class_="toc")
    assert isinstance(english, Tag)
    assert "First App" in english.get_text() and english.find_all(attrs={"lang": True}) == []


def _every_field(value: Any, path: str, translations: dict[str, str]) -> Any:
    """What a page in another language prints of *value*, worked out the plain way: every field of every fact
    looked into, whatever its type (policygen skips the fields whose type can hold no free text)."""
    if isinstance(value, BaseModel):
        update: dict[str, Any] = {}
        for name in type(value).model_fields:
            inner, where = getattr(value, name), f"{path}.{name}" if path else name
            free = is_free_text(type(value), name)
            if free and isinstance(inner, str):
                shown = translations.get(where) or (ForeignWord(inner, "en") if in_words(value, name, inner) else inner)
                if shown is not inner:
                    update[name] = shown
            elif free and isinstance(inner, (list, tuple)) and inner and all(isinstance(i, str) for i in inner):
                items = [
                    translations.get(f"{where}[{i}]") or (ForeignWord(t, "en") if in_words(value, name, t) else t)
                    for i, t in enumerate(inner)
                ]
                if any(new is not old for new, old in zip(items, inner, strict=True)):
                    update[name] = type(inner)(items)
            else:
                changed = _every_field(inner, where, translations)
                if changed is not inner:
                    update[name] = changed
        return value.model_copy(update=update) if update else value
    if isinstance(value, (list, tuple)):
        items = [_every_field(item, f"{path}[{i}]", translations) for i, item in enumerate(value)]
        return value if all(n is o for n, o in zip(items, value, strict=True)) else type(value)(items)
    return value


def _told_apart(value: Any) -> Any:
    """*value* with what a page can tell apart spelled out: each fact's type and fields, each text's type and
    the language it is marked with."""
    if isinstance(value, BaseModel):
        return (type(value).__name__, [(name, _told_apart(getattr(value, name))) for name in type(value).model_fields])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_told_apart(item) for item in value])
    return (type(value).__name__, value, getattr(value, "lang", None))


@pytest.mark.parametrize("slug", ["example-fitness", "ihm-connect", "ims-global", "ims-pro"])
@pytest.mark.parametrize("share", [0, 2, 1])
def test_a_page_in_another_language_prints_each_fact_as_a_look_into_every_field_finds_it(slug: str, share: int) -> None:
    """The example tenants' facts in another language with none, every other and all of their free-text facts
    translated: the same facts, texts and marks as a walk that looks into every field of every fact."""
    tenant = load_tenant(REPO / "tenants" / slug / "tenant.yaml")
    keys = list(text_facts(tenant))
    assert keys  # (each example tenant has free text to mark)
    translations = {key: f"translated {key}" for key in keys[::share]} if share else {}
    assert _told_apart(in_language(tenant, translations)) == _told_apart(_every_field(tenant, "", translations))


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """*model* and every facts model its fields can hold."""
    if model in seen:
        return seen
    seen.add(model)
    for field in model.model_fields.values():
        for inner in types_in(field.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                _models(inner, seen)
    return seen


def test_the_fields_a_page_in_another_language_skips_can_hold_no_fact_list_or_free_text() -> None:
    """Looking into a fact, a page in another language skips the fields whose type holds only numbers, dates,
    choices and codes: none of them may hold a fact, a list or free text."""
    skipped = 0
    for model in _models(Tenant, set()):
        looked_into = {name for name, _ in _looked_into(model)}
        for name, field in model.model_fields.items():
            if name in looked_into:
                continue
            skipped += 1
            assert not is_free_text(model, name), (model.__name__, name)
            for inner in types_in(field.annotation):
                assert get_origin(inner) not in (list, tuple, set, frozenset, dict), (model.__name__, name)
                assert not (isinstance(inner, type) and issubclass(inner, (BaseModel, list, tuple, dict))), name
    assert skipped > 20  # (the skip is what makes the walk cheaper: most fields are ids, dates and choices)


def test_a_tenants_facts_in_another_language_are_worked_out_once_for_all_its_documents_and_its_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each document in Hindi and the Hindi pages' names take the same facts: made once a language."""
    made: list[str] = []
    real = fact_translations._in_language

    def counted(value: Any, path: str | None, translations: Any) -> Any:
        if isinstance(value, Tenant):
            made.append(value.organisation.legal_name)
        return real(value, path, translations)

    monkeypatch.setattr(fact_translations, "_in_language", counted)
    documents = [{"id": "privacy-policy"}, {"id": "cookie-policy"}, {"id": "data-deletion-policy"}]
    root = one_tenant_project(tmp_path / "project", {**FACTS, "languages": ["en-GB", "hi-IN"], "documents": documents})
    out = build(root, root / "out", BuildOptions(today=dt.date(2026, 6, 1))).out
    assert made == ["Plain Example Ltd"]
    assert _marked(_page(out, "t/cookie-policy/hi/index.html"))  # (the facts are marked in each document)


def test_facts_in_another_language_are_made_again_for_another_tenant_and_a_stale_translation_still_refused(
    tmp_path: Path,
) -> None:
    root = one_tenant_project(tmp_path / "project", FACTS)
    folder = root / "tenants" / "t"
    tenant = load_tenant(folder / "tenant.yaml")
    first = translated_facts(folder, "hi-IN", tenant, refuse_stale=False)
    assert translated_facts(folder, "hi-IN", tenant, refuse_stale=False) is first
    alike = Tenant.model_validate(tenant.model_dump())
    assert translated_facts(folder, "hi-IN", alike, refuse_stale=False) is not first
    stale = f"organisation.legal_name:\n  text: पुराना नाम\n  translates: {value_hash('Plain Old Ltd')}\n"
    (folder / "tenant.hi.yaml").write_text(stale, encoding="utf-8")
    shown = translated_facts(folder, "hi-IN", tenant, refuse_stale=False).organisation.legal_name
    assert isinstance(shown, ForeignWord) and shown == "Plain Example Ltd"
    with pytest.raises(InputError, match="stale"):  # what the other answer kept says nothing of this one
        translated_facts(folder, "hi-IN", tenant, refuse_stale=True)


def test_a_tenants_translations_are_read_once_for_all_its_documents_in_that_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[Path] = []
    real = fact_translations.read_overlay

    def counted(folder: Path, locale: str, tenant: Tenant, text: str | None = None) -> Any:
        read.append(folder)
        return real(folder, locale, tenant, text)

    monkeypatch.setattr(fact_translations, "read_overlay", counted)
    documents = [{"id": "privacy-policy"}, {"id": "cookie-policy"}, {"id": "data-deletion-policy"}]
    root = one_tenant_project(tmp_path / "project", {**FACTS, "languages": ["en-GB", "hi-IN"], "documents": documents})
    english = "Plain Example Ltd"
    overlay = f"organisation.legal_name:\n  text: सादा उदाहरण लिमिटेड\n  translates: {value_hash(english)}\n"
    (root / "tenants" / "t" / "tenant.hi.yaml").write_text(overlay, encoding="utf-8")
    out = build(root, root / "out", BuildOptions(today=dt.date(2026, 6, 1))).out
    assert len(read) == 1
    assert "सादा उदाहरण लिमिटेड" in (out / "t" / "cookie-policy" / "hi" / "index.html").read_text(encoding="utf-8")


def test_translations_changed_since_they_were_read_are_read_again(tmp_path: Path) -> None:
    root = one_tenant_project(tmp_path / "project", FACTS)
    folder = root / "tenants" / "t"
    tenant = load_tenant(folder / "tenant.yaml")
    english = "Plain Example Ltd"
    for hindi in ("पहला नाम", "दूसरा नाम"):
        overlay = f"organisation.legal_name:\n  text: {hindi}\n  translates: {value_hash(english)}\n"
        (folder / "tenant.hi.yaml").write_text(overlay, encoding="utf-8")
        assert translated_facts(folder, "hi-IN", tenant, refuse_stale=False).organisation.legal_name == hindi
    (folder / "tenant.hi.yaml").unlink()
    assert translated_facts(folder, "hi-IN", tenant, refuse_stale=False).organisation.legal_name == english
