"""Released versions per language: a release freezes the new version's text in each of the tenant's
other languages beside the authoritative text, so that every archive page, history, redline, notice,
email and feed exists in each language at its own address (<slug>/<doc>/<lang>/...), carries lang,
hreflang alternates both ways and the language switcher, and shows the translation as it was published.
A version released before the tenant published a language says so in the reader's language and links
the authoritative text: a translation made later is never shown as the one of an older version.
Materiality is decided once, from the facts and the source-language clauses.

The tenant is fictional (`t`, Plain Example Ltd): version 1 is released in English only, versions 2 and 3
in English and French, each a material change (a new recipient). The findings and change summaries are
said in each language from the rules' sentences in it; one whose words are policygen's English stays
in English, marked lang="en".
"""

from __future__ import annotations

import datetime as dt
import html
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import one_tenant_project
from helpers import GA_TRACKER
from test_unknown_facts import REQUIRED

from policygen.cli import cli
from policygen.engine import BuildReport, build
from policygen.fact_translations import value_hash
from policygen.site import BuildOptions
from policygen.versions import content_hash

TODAY = dt.date(2026, 6, 1)
DOC = "t/privacy-policy"
V1, V2, V3 = "2026-01-01", "2026-03-01", "2026-05-01"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _edit(root: Path, change: Any) -> None:
    file = root / "tenants/t/tenant.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _release(root: Path, effective: str, released: str) -> None:
    result = CliRunner().invoke(
        cli, ["-C", str(root), "release", "t", "--effective", effective, "--released", released]
    )
    assert result.exit_code == 0, result.output


def released_in_two_languages(folder: Path) -> Path:
    """The project of the fictional tenant with its three versions released, at *folder*/project."""
    root = one_tenant_project(
        folder / "project",
        {**REQUIRED, "locale": "en-GB", "recipients": [{"id": "hosting", "category": "Hosting providers"}]},
    )
    _release(root, V1, "2025-12-01")

    def in_french_too(data: dict[str, Any]) -> None:
        data["languages"] = ["en-GB", "fr-FR"]
        data["recipients"].append({"id": "analytics", "category": "Analytics providers", "role": "controller"})

    _edit(root, in_french_too)
    _release(root, V2, "2026-01-15")
    _edit(root, lambda d: d["recipients"].append({"id": "ads", "category": "Advertisers", "role": "controller"}))
    _release(root, V3, "2026-03-15")
    return root


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = released_in_two_languages(tmp_path_factory.mktemp("language-versions"))
    return root, build(root, root / "out", BuildOptions(today=TODAY)).out


def _read(out: Path, path: str) -> str:
    return (out / path).read_text(encoding="utf-8")


def _text(out: Path, path: str) -> str:
    """A page's text with its character references read (l&#39;a -> l'a)."""
    return html.unescape(_read(out, path))


def test_a_release_freezes_the_text_in_each_published_language_and_older_snapshots_keep_their_hash(
    site: tuple[Path, Path],
) -> None:
    root, _ = site
    folder = root / "tenants/t/releases/privacy-policy"
    first, second = (
        json.loads((folder / name).read_text(encoding="utf-8"))
        for name in ("0001-2026-01-01.json", "0002-2026-03-01.json")
    )
    assert "translations" not in first  # released before French was published: as it always was
    assert list(second["translations"]) == ["fr-FR"]
    assert second["translations"]["fr-FR"]["title"] == "Politique de confidentialité"
    assert [c["id"] for c in second["translations"]["fr-FR"]["clauses"]] == [c["id"] for c in second["clauses"]]


def test_every_version_has_an_archive_page_in_each_language_linked_by_hreflang_both_ways(
    site: tuple[Path, Path],
) -> None:
    _, out = site
    english, french = _read(out, f"{DOC}/{V2}/index.html"), _text(out, f"{DOC}/fr/{V2}/index.html")
    assert '<html lang="fr-FR">' in french
    assert '<link rel="alternate" hreflang="en-GB" href="../../2026-03-01/index.html">' in french
    assert '<link rel="alternate" hreflang="fr-FR" href="../fr/2026-03-01/index.html">' in english
    assert '<span aria-current="page" lang="fr-FR">français</span>' in french  # the switcher
    assert "<h1>Politique de confidentialité</h1>" in french
    # The banners are in French, with dates in the French locale.
    assert "Ceci est une ancienne version. Elle était en vigueur du 1 mars 2026 au 1 mai 2026" in french


def test_a_version_released_before_the_language_was_published_says_so_and_links_the_authoritative_text(
    site: tuple[Path, Path],
) -> None:
    _, out = site
    french = _text(out, f"{DOC}/fr/{V1}/index.html")
    assert "La version 1 n'a pas été publiée en français. Son texte est en anglais." in french
    assert '<a href="../../2026-01-01/index.html">Lire la version 1 en anglais</a>' in french
    assert "<section" not in french  # no translation is invented for it


def test_the_history_page_exists_in_each_language_and_links_that_languages_archives(
    site: tuple[Path, Path],
) -> None:
    _, out = site
    french = _read(out, f"{DOC}/fr/history/index.html")
    assert '<html lang="fr-FR">' in french
    assert '<a href="../2026-03-01/index.html">Version 2</a>' in french
    assert "(non publiée dans cette langue)" in french  # version 1
    assert '<link rel="alternate" hreflang="en-GB" href="../../history/index.html">' in french
    assert '<link rel="alternate" hreflang="fr-FR" href="../fr/history/index.html">' in _read(
        out, f"{DOC}/history/index.html"
    )


def test_a_redline_in_another_language_compares_the_two_frozen_translations(site: tuple[Path, Path]) -> None:
    _, out = site
    french = _read(out, f"{DOC}/fr/{V3}/changes/index.html")
    assert '<html lang="fr-FR">' in french
    assert "<ins>" in french and "Advertisers" in french
    # The finding is said in French from the French rule sentences, quoting the tenant's own word (which it
    # did not translate: as written, marked).
    assert '<ul class="findings">' in french
    assert (
        '<li class="finding tier-material">Nous partageons désormais des données avec un nouveau type de '
        'destinataire : <span lang="en">Advertisers</span>.'
    ) in french
    english = _read(out, f"{DOC}/{V3}/changes/index.html")
    assert '<link rel="alternate" hreflang="fr-FR" href="../../fr/2026-05-01/changes/index.html">' in english


def test_a_redline_with_a_version_not_published_in_the_language_compares_nothing_across_languages(
    site: tuple[Path, Path],
) -> None:
    _, out = site
    french = _read(out, f"{DOC}/fr/{V2}/changes/index.html")
    assert "<ins>" not in french and "<del>" not in french
    assert '<a href="../../../2026-03-01/changes/index.html">' in french


def test_the_notice_and_email_are_rendered_in_each_language_from_one_decision(site: tuple[Path, Path]) -> None:
    _, out = site
    for language in ("", "fr/"):
        for name in ("banner.html", "email.html", "email.txt"):
            assert (out / f"{DOC}/{language}{V3}/notice/{name}").is_file(), (language, name)
    email = _read(out, f"{DOC}/fr/{V3}/notice/email.txt")
    assert "Nous modifions notre Politique de confidentialité le 1 mai 2026" in email
    assert f"{DOC}/fr/{V3}/" in email or "../index.html" in email
    banner = _read(out, f"{DOC}/fr/{V3}/notice/banner.html")
    assert '<html lang="fr-FR">' in banner


def test_each_language_has_its_own_feed_with_xml_lang_and_links_to_the_others(site: tuple[Path, Path]) -> None:
    _, out = site
    atom = "{http://www.w3.org/2005/Atom}"
    french = ET.parse(out / DOC / "fr/feed.xml").getroot()
    assert french.get(XML_LANG) == "fr-FR"
    # Links are relative to the feed, which is in the French folder: each entry is a French archive page.
    links = [link.get("href") for e in french.iter(f"{atom}entry") for link in e.iter(f"{atom}link")]
    assert links == [f"{V3}/index.html", f"{V2}/index.html", f"{V1}/index.html"]
    titles = [e.findtext(f"{atom}title") for e in french.iter(f"{atom}entry")]
    assert titles[0] == "Plain Example : Politique de confidentialité, version 3 (en vigueur le 1 mai 2026)"
    others = [link.get("hreflang") for link in french.findall(f"{atom}link") if link.get("hreflang")]
    assert others == ["en-GB"]
    english = ET.parse(out / DOC / "feed.xml").getroot()
    assert english.get(XML_LANG) == "en-GB"


FRENCH_FINDING = "Nous partageons désormais des données avec un nouveau type de destinataire : Advertisers."
ENGLISH_FINDING = "We now share data with a new kind of recipient: Advertisers."
# On a page, the tenant's own word, which it did not translate into French, is marked.
FRENCH_MARKED = FRENCH_FINDING.replace("Advertisers", '<span lang="en">Advertisers</span>')


def test_the_french_notice_email_and_history_say_the_findings_and_summary_in_french(
    site: tuple[Path, Path],
) -> None:
    _, out = site
    banner = _text(out, f"{DOC}/fr/{V3}/notice/banner.html")
    assert f"<li>{FRENCH_MARKED}</li>" in banner
    assert "Davantage d'organisations recevront vos données." in banner
    assert "en anglais" not in banner and banner.count('lang="en"') == 1
    for name in ("email.html", "email.txt"):
        email = _text(out, f"{DOC}/fr/{V3}/notice/{name}")
        assert (FRENCH_MARKED if name == "email.html" else FRENCH_FINDING) in email
        assert "Davantage d'organisations recevront vos données." in email
        assert ENGLISH_FINDING not in email
    history = _text(out, f"{DOC}/fr/history/index.html")
    assert f'<td data-label="Modifications">{FRENCH_MARKED} <a' in history
    assert '<td data-label="Modifications">Première version publiée.</td>' in history


def test_a_summary_with_a_finding_in_policygens_english_words_stays_english_and_is_marked(
    site: tuple[Path, Path],
) -> None:
    _, out = site
    # Version 2 also changed the tenant's languages: a finding filled with policygen's English words.
    history = _text(out, f"{DOC}/fr/history/index.html")
    assert '<span lang="en">We now share data with a new kind of recipient: Analytics providers. (' in history
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(out / DOC / "fr/feed.xml").getroot()
    summaries = [(e.find(f"{atom}summary"), e.findtext(f"{atom}summary")) for e in feed.iter(f"{atom}entry")]
    assert summaries[0][1] == FRENCH_FINDING and summaries[0][0] is not None
    assert summaries[0][0].get(XML_LANG) is None
    assert summaries[1][0] is not None and summaries[1][0].get(XML_LANG) == "en"


def test_the_english_notice_and_history_keep_the_english_words(site: tuple[Path, Path]) -> None:
    _, out = site
    banner = _text(out, f"{DOC}/{V3}/notice/banner.html")
    assert f"<li>{ENGLISH_FINDING}</li>" in banner and "More organisations will receive your data." in banner
    history = _text(out, f"{DOC}/history/index.html")
    assert f'<td data-label="Changes">{ENGLISH_FINDING} <a' in history
    assert '<td data-label="Changes">First published version.</td>' in history


def test_a_project_rule_without_a_french_sentence_shows_english_marked(tmp_path: Path) -> None:
    root = released_in_two_languages(tmp_path)
    # The project's own rule decides a new recipient first, with English words only.
    (root / "rules.yaml").write_text(
        "rules:\n"
        "  - id: our-recipients\n"
        "    path: recipients[*]\n"
        "    tiers: {added: material}\n"
        "    say: {added: 'We now work with {item}.'}\n"
        "    effect: {added: 'Someone new sees your data.'}\n",
        encoding="utf-8",
    )
    out = build(root, tmp_path / "out", BuildOptions(today=TODAY)).out
    banner = _read(out, f"{DOC}/fr/{V3}/notice/banner.html")
    assert "Les modifications sont énumérées en anglais." in banner
    assert '<ul lang="en">\n    <li>We now work with Advertisers.</li>' in banner
    assert '<span lang="en">Someone new sees your data.</span>' in banner
    # Its French words, given in the project's rules.yaml, are used once they are there.
    with (root / "rules.yaml").open("a", encoding="utf-8") as file:
        file.write(
            "languages:\n"
            "  fr:\n"
            "    rules:\n"
            "      our-recipients:\n"
            "        say: {added: 'Nous travaillons désormais avec {item}.'}\n"
            "        effect: {added: 'Quelqu’un de nouveau voit vos données.'}\n"
        )
    out = build(root, tmp_path / "out2", BuildOptions(today=TODAY)).out
    banner = _read(out, f"{DOC}/fr/{V3}/notice/banner.html")
    assert '<li>Nous travaillons désormais avec <span lang="en">Advertisers</span>.</li>' in banner
    assert banner.count('lang="en"') == 1  # the tenant's word it did not translate


def test_the_tenants_feed_exists_in_each_language_beside_its_index_linked_by_hreflang_both_ways(
    site: tuple[Path, Path],
) -> None:
    _, out = site
    atom = "{http://www.w3.org/2005/Atom}"
    french, english = ET.parse(out / "t/fr/feed.xml").getroot(), ET.parse(out / "t/feed.xml").getroot()
    assert (french.get(XML_LANG), english.get(XML_LANG)) == ("fr-FR", "en-GB")
    assert french.findtext(f"{atom}title") == "Plain Example : documents de confidentialité"
    assert english.findtext(f"{atom}title") == "Plain Example: privacy documents"
    assert [(e.get("hreflang"), e.get("href")) for e in french.findall(f"{atom}link") if e.get("hreflang")] == [
        ("en-GB", "../feed.xml")
    ]
    assert [(e.get("hreflang"), e.get("href")) for e in english.findall(f"{atom}link") if e.get("hreflang")] == [
        ("fr-FR", "fr/feed.xml")
    ]
    # Each entry is the version's French archive page, titled in French; the English feed keeps its own.
    links = [link.get("href") for e in french.iter(f"{atom}entry") for link in e.iter(f"{atom}link")]
    assert links == [f"../privacy-policy/fr/{d}/index.html" for d in (V3, V2, V1)]
    titles = [e.findtext(f"{atom}title") for e in french.iter(f"{atom}entry")]
    assert titles[0] == "Plain Example : Politique de confidentialité, version 3 (en vigueur le 1 mai 2026)"
    english_links = [link.get("href") for e in english.iter(f"{atom}entry") for link in e.iter(f"{atom}link")]
    assert english_links == [f"privacy-policy/{d}/index.html" for d in (V3, V2, V1)]


def test_the_tenants_index_exists_in_each_language_and_its_pages_lead_back_to_it(site: tuple[Path, Path]) -> None:
    _, out = site
    french = _text(out, "t/fr/index.html")
    assert '<html lang="fr-FR">' in french
    # The tenant wrote its name in English and gave no French: it is marked so (test_fact_language_marks.py).
    assert 'Les documents de confidentialité de <span lang="en">Plain Example Ltd</span>.' in french
    assert '<a href="../../t/privacy-policy/fr/index.html">Politique de confidentialité</a>' in french
    assert '<link rel="alternate" hreflang="en-GB" href="../index.html">' in french
    assert '<link rel="alternate" hreflang="fr-FR" href="fr/index.html">' in _read(out, "t/index.html")
    # Every French page's header and footer lead to the French index.
    assert 'href="../../../../t/fr/index.html">Tous les documents</a>' in _read(out, f"{DOC}/fr/{V2}/index.html")


def test_a_snapshots_frozen_translation_is_covered_by_its_hash(site: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = site
    project = tmp_path / "project"
    shutil.copytree(root, project, ignore=shutil.ignore_patterns("out"))
    snapshot = project / "tenants/t/releases/privacy-policy/0003-2026-05-01.json"
    data = json.loads(snapshot.read_text(encoding="utf-8"))
    data["translations"]["fr-FR"]["title"] = "Politique modifiée après coup"
    snapshot.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(project), "build", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "0003-2026-05-01.json: error: hash: this released version was changed after its release" in result.output
    assert not (tmp_path / "out").exists()


def test_markup_in_a_committed_translation_is_sanitised_like_every_snapshots(
    site: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _ = site
    project = tmp_path / "project"
    shutil.copytree(root, project, ignore=shutil.ignore_patterns("out"))
    snapshot = project / "tenants/t/releases/privacy-policy/0003-2026-05-01.json"
    data = json.loads(snapshot.read_text(encoding="utf-8"))
    del data["hash"]
    clause = data["translations"]["fr-FR"]["clauses"][0]
    clause["html"] = '<script>alert(1)</script><p onclick="alert(2)">Bonjour</p>'
    data["hash"] = content_hash(data)  # a well-formed snapshot, as a pull request could commit one
    snapshot.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    out = build(project, tmp_path / "out", BuildOptions(today=TODAY)).out
    french = _read(out, f"{DOC}/fr/{V3}/index.html")
    assert "<p>Bonjour</p>" in french
    assert "<script>alert" not in french and "onclick" not in french


def test_the_example_ims_pro_has_its_index_and_feed_in_hindi_linked_both_ways(example_site: BuildReport) -> None:
    out = example_site.out
    hindi = _read(out, "ims-pro/hi/index.html")
    assert '<html lang="hi-IN">' in hindi
    assert '<span lang="en">GJ Global IT Ventures Pvt. Ltd.</span> के गोपनीयता दस्तावेज़।' in hindi
    assert '<link rel="alternate" hreflang="hi-IN" href="hi/index.html">' in _read(out, "ims-pro/index.html")
    feed = ET.parse(out / "ims-pro/privacy-policy/hi/feed.xml").getroot()
    assert feed.get(XML_LANG) == "hi-IN"
    english = ET.parse(out / "ims-pro/privacy-policy/feed.xml").getroot()
    alternates = [(e.get("hreflang"), e.get("href")) for e in english if e.get("hreflang")]
    assert alternates == [("hi-IN", "https://policies.example.org/ims-pro/privacy-policy/hi/feed.xml")]


def test_a_finding_that_names_a_section_is_said_fully_in_french(tmp_path: Path) -> None:
    root = released_in_two_languages(tmp_path)
    _edit(root, lambda d: d.update(dpo={"name": "Ada Lovelace", "email": "dpo@example.org"}))
    _release(root, "2026-07-01", "2026-05-20")
    _edit(root, lambda d: d.pop("dpo"))
    _release(root, "2026-09-01", "2026-06-01")
    out = build(root, tmp_path / "out", BuildOptions(today=dt.date(2026, 9, 2))).out
    # The section's name ("our data protection officer") is in French: the finding is too.
    banner = _text(out, f"{DOC}/fr/2026-09-01/notice/banner.html")
    assert (
        '<li>Vous ne pouvez plus joindre notre délégué à la protection des données (<span lang="en">Ada Lovelace'
        "</span>).</li>"
    ) in banner
    assert banner.count('lang="en"') == 1  # the tenant's words (a name it did not translate)
    english = _text(out, f"{DOC}/2026-09-01/notice/banner.html")
    assert "<li>You can no longer reach our data protection officer (Ada Lovelace).</li>" in english


@pytest.fixture(scope="module")
def hindi_and_arabic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fictional tenant in English, Hindi and Arabic: version 2 starts selling personal data (a field's
    words) and has two more changes (a new recipient; a new transfer tool, named by the vocabulary)."""
    folder = tmp_path_factory.mktemp("hindi-and-arabic")
    root = one_tenant_project(
        folder / "project",
        {
            **REQUIRED,
            "locale": "en-GB",
            "languages": ["en-GB", "hi-IN", "ar-EG"],
            "recipients": [{"id": "hosting", "category": "Hosting providers"}],
            "transfers": [{"id": "us", "destination": "US", "leaves": "eu", "safeguards": ["eu-sccs-2021"]}],
        },
    )
    _release(root, V1, "2025-12-01")

    def sells_and_more(data: dict[str, Any]) -> None:
        data["sharing"] = {"sells": True}
        data["recipients"].append({"id": "analytics", "category": "Analytics providers", "role": "controller"})
        data["transfers"][0]["safeguards"].append("eu-us-dpf")

    _edit(root, sells_and_more)
    _translate_facts(root, TENANTS_WORDS)  # the tenant's own words, translated: quoted in the language
    _release(root, V2, "2026-01-15")
    return build(root, root / "out", BuildOptions(today=TODAY)).out


def _translate_facts(root: Path, by_language: dict[str, dict[str, tuple[str, str]]]) -> None:
    """tenant.<lang>.yaml for each language: each key path's translation (said, of the English words) current."""
    for lang, words in by_language.items():
        (root / f"tenants/t/tenant.{lang}.yaml").write_text(
            "".join(
                f"{key}:\n  text: {said}\n  translates: {value_hash(english)}\n"
                for key, (said, english) in words.items()
            ),
            encoding="utf-8",
        )


TENANTS_WORDS = {
    "hi": {
        "recipients[1].category": ("विश्लेषण प्रदाता", "Analytics providers"),
        "transfers[0].destination": ("अमेरिका", "US"),
    },
    "ar": {
        "recipients[1].category": ("مزودو التحليلات", "Analytics providers"),
        "transfers[0].destination": ("الولايات المتحدة", "US"),
    },
}


HINDI_SELLS = "<li>अब हम यह करेंगे: व्यक्तिगत डेटा बेचना।</li>"
ARABIC_SELLS = "<li>سنقوم الآن بما يلي: بيع البيانات الشخصية.</li>"
TOOL = {"hi": "ईयू-यूएस डेटा प्राइवेसी फ़्रेमवर्क", "ar": "إطار خصوصية البيانات بين الاتحاد الأوروبي والولايات المتحدة"}


@pytest.mark.parametrize(("lang", "said"), [("hi", HINDI_SELLS), ("ar", ARABIC_SELLS)])
def test_a_hindi_and_an_arabic_notice_say_a_change_in_a_fields_words_fully_in_their_language(
    hindi_and_arabic: Path, lang: str, said: str
) -> None:
    banner = _text(hindi_and_arabic, f"{DOC}/{lang}/{V2}/notice/banner.html")
    findings = banner[banner.index("<ul") : banner.index("</ul>")]
    assert said in findings
    assert 'lang="en"' not in findings
    assert findings.count("<li>") == 3
    assert TOOL[lang] in findings  # the transfer tool by the vocabulary's word


def test_the_arabic_history_says_the_count_of_more_changes_in_its_plural_form(hindi_and_arabic: Path) -> None:
    history = _text(hindi_and_arabic, f"{DOC}/ar/history/index.html")
    assert "(وتغييران آخران.)" in history  # two more changes: Arabic's dual
    english = _text(hindi_and_arabic, f"{DOC}/history/index.html")
    assert "(2 more changes.)" in english


@pytest.fixture(scope="module")
def addresses_and_countries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fictional tenant in English, Hindi and Arabic: version 2 moves its list of processors (a URL) and
    its address to another country, states its cookie's technology, and starts selling personal data and
    keeping the cookie longer (so that each document has a notice)."""
    folder = tmp_path_factory.mktemp("addresses-and-countries")
    root = one_tenant_project(
        folder / "project",
        {
            **REQUIRED,
            "organisation": {
                **REQUIRED["organisation"],
                "address": {"lines": ["1 High Street"], "locality": "Leeds", "country": "United Kingdom"},
            },
            "locale": "en-GB",
            "languages": ["en-GB", "hi-IN", "ar-EG"],
            "sharing": {"subprocessor_list": "https://example.org/processors"},
            "trackers": [dict(GA_TRACKER)],
            "documents": [{"id": "privacy-policy"}, {"id": "cookie-policy"}],
        },
    )
    _release(root, V1, "2025-12-01")

    def moved(data: dict[str, Any]) -> None:
        data["organisation"]["address"]["country"] = "Ireland"
        data["sharing"] = {"subprocessor_list": "https://example.org/subprocessors", "sells": True}
        data["trackers"][0].update(technology="cookie", duration="25 months")

    _edit(root, moved)
    _translate_facts(root, ADDRESS_TENANTS_WORDS)  # the tenant's own words, translated
    _release(root, V2, "2026-01-15")
    return build(root, root / "out", BuildOptions(today=TODAY)).out


ADDRESS_TENANTS_WORDS = {
    "hi": {"organisation.display_name": ("प्लेन उदाहरण", "Plain Example"), "trackers[0].name": ("_ga", "_ga")},
    "ar": {"organisation.display_name": ("مثال بسيط", "Plain Example"), "trackers[0].name": ("_ga", "_ga")},
}

# The findings of version 2, by document, in Hindi and Arabic: a URL as it is, a country by Babel's name for it
# (as pages print it), a cookie's technology by its word; the tenant's words in their translation.
ADDRESS_FINDINGS = {
    "hi": {
        "privacy-policy": [
            "अब हम यह करेंगे: व्यक्तिगत डेटा बेचना।",
            "प्लेन उदाहरण के लिए संपर्क विवरण अब आयरलैंड हैं (पहले: यूनाइटेड किंगडम)।",
            "हमारे प्रोसेसरों की सूची अब https://example.org/subprocessors पर है (पहले: https://example.org/processors)।",
        ],
        "cookie-policy": [
            "कुकी _ga अब आपके डिवाइस पर 13 महीने के बजाय 25 महीने तक रहती है।",
            "कुकी _ga: अब हम यह बताते हैं: तकनीक (कुकी)।",
        ],
    },
    "ar": {
        "privacy-policy": [
            "سنقوم الآن بما يلي: بيع البيانات الشخصية.",
            "أصبحت بيانات الاتصال لـ مثال بسيط: أيرلندا (سابقًا: المملكة المتحدة).",
            'أصبحت قائمة معالجي البيانات لدينا على <bdi dir="ltr">https://example.org/subprocessors</bdi> '
            '(سابقًا: <bdi dir="ltr">https://example.org/processors</bdi>).',
        ],
        "cookie-policy": [
            "يبقى ملف تعريف الارتباط _ga الآن على جهازك 25 شهرًا بدلًا من 13 شهرًا.",
            "ملف تعريف الارتباط _ga: نذكر الآن التقنية (ملف تعريف ارتباط).",
        ],
    },
}


def _findings(out: Path, page: str) -> list[str]:
    banner = _text(out, page)
    listed = banner[banner.index("<ul") : banner.index("</ul>")]
    return [line.strip().removeprefix("<li>").removesuffix("</li>") for line in listed.splitlines()[1:] if line.strip()]


@pytest.mark.parametrize("lang", sorted(ADDRESS_FINDINGS))
@pytest.mark.parametrize("doc", ["privacy-policy", "cookie-policy"])
def test_a_hindi_and_an_arabic_notice_say_a_url_a_country_and_a_cookies_technology_wholly_in_their_language(
    addresses_and_countries: Path, lang: str, doc: str
) -> None:
    said = _findings(addresses_and_countries, f"t/{doc}/{lang}/{V2}/notice/banner.html")
    assert said == ADDRESS_FINDINGS[lang][doc]
    assert not any('lang="en"' in finding for finding in said)


def test_an_arabic_notice_keeps_a_url_left_to_right_and_the_plain_text_email_as_it_is(
    addresses_and_countries: Path,
) -> None:
    notice = f"t/privacy-policy/ar/{V2}/notice"
    email = _text(addresses_and_countries, f"{notice}/email.html")
    assert '<bdi dir="ltr">https://example.org/subprocessors</bdi>' in email
    plain = _read(addresses_and_countries, f"{notice}/email.txt")
    assert "- أصبحت قائمة معالجي البيانات لدينا على https://example.org/subprocessors (سابقًا:" in plain
    hindi = _text(addresses_and_countries, f"t/privacy-policy/hi/{V2}/notice/banner.html")
    assert "<bdi" not in hindi  # a left-to-right language needs no isolating


def test_the_english_notice_says_the_url_and_the_country_as_written(addresses_and_countries: Path) -> None:
    assert _findings(addresses_and_countries, f"t/privacy-policy/{V2}/notice/banner.html") == [
        "We will now sell personal data.",
        "Contact details for Plain Example are now Ireland (before: United Kingdom).",
        "The list of our processors is now at https://example.org/subprocessors (before: https://example.org/processors).",
    ]
