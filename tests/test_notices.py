"""Redline pages and change notices: what the build publishes for each pair of consecutive versions."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from helpers import edit_facts

from policygen.cli import cli
from policygen.engine import BuildReport, build
from policygen.site import BuildOptions

TODAY = "2026-11-20"
SLUG = "example-fitness"  # the invented demo tenant, whose version 2 is already a material change
FOLDER = f"{SLUG}/privacy-policy/2027-01-15"
V2 = f"{SLUG}/privacy-policy/2026-03-01"
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def material_edits(data: dict[str, Any]) -> None:
    data["recipients"].append({"id": "advertisers", "category": HOSTILE, "role": "controller"})
    data["apps"][0]["permissions"].append(
        {"id": "microphone", "reason": "To take voice notes of a workout", "optional": True, "on_device": True}
    )


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    """The example project with a third, material version of the demo tenant's policy, built."""
    from conftest import copy_project

    project = copy_project(tmp_path_factory.mktemp("notices") / "project")
    edit_facts(project, SLUG, material_edits)
    result = CliRunner().invoke(
        cli, ["-C", str(project), "release", SLUG, "--effective", "2027-01-15", "--released", "2026-11-15"]
    )
    assert result.exit_code == 0, result.output
    report = build(project, project / "out", BuildOptions(today=__import__("datetime").date.fromisoformat(TODAY)))
    return project, report


def read(report: BuildReport, path: str) -> str:
    return (report.out / path).read_text(encoding="utf-8")


def test_every_pair_of_consecutive_versions_gets_a_redline(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    redlines = sorted(o.path for o in report.outputs if o.kind == "redline")
    assert redlines == [f"{V2}/changes/index.html", f"{FOLDER}/changes/index.html"]


def test_only_material_and_consent_changes_get_a_notice(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    notices = sorted(o.path for o in report.outputs if o.kind == "notice")
    assert notices == [
        f"{V2}/notice/banner.html",
        f"{V2}/notice/email.html",
        f"{V2}/notice/email.txt",
        f"{FOLDER}/notice/banner.html",
        f"{FOLDER}/notice/email.html",
        f"{FOLDER}/notice/email.txt",
    ]


def test_the_manifest_lists_redlines_and_notices_with_their_version(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    manifest = json.loads(read(report, "manifest.json"))
    entries = {e["path"]: e for e in manifest["files"]}
    banner = entries[f"{FOLDER}/notice/banner.html"]
    assert (banner["kind"], banner["tenant"], banner["document"], banner["version"], banner["effective"]) == (
        "notice",
        SLUG,
        "privacy-policy",
        "3",
        "2027-01-15",
    )
    assert entries[f"{FOLDER}/changes/index.html"]["kind"] == "redline"


def test_the_redline_shows_findings_on_top_and_words_inserted(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    soup = BeautifulSoup(read(report, f"{FOLDER}/changes/index.html"), "html.parser")
    findings = [li.get_text(" ", strip=True) for li in soup.select("ul.findings li")]
    assert any("now asks for access to your Microphone" in f for f in findings)
    assert any(HOSTILE in f for f in findings)  # the fact shows literally
    inserted = " ".join(i.get_text() for i in soup.select("section#sharing ins"))
    assert HOSTILE in inserted
    intro = soup.select_one("section#introduction")
    assert intro is not None and intro.get("class") == ["unchanged"]
    links = {a.get_text(): str(a["href"]) for a in soup.select("p.lede a")}
    # the example project sets base_url, so links are absolute (an email or an app needs that)
    assert links["Read version 3"].endswith(f"://policies.example.org/{FOLDER}/")
    assert links["Read version 2"].endswith(f"://policies.example.org/{V2}/")


def test_with_a_base_url_notices_address_a_version_as_its_feed_entry_does(
    released: tuple[Path, BuildReport],
) -> None:
    _, report = released
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.fromstring(read(report, f"{SLUG}/privacy-policy/feed.xml"))
    in_feed = {link.get("href") for link in feed.iter(f"{atom}link") if link.get("rel") == "alternate"}
    assert f"https://policies.example.org/{FOLDER}/" in in_feed
    for name in ("banner.html", "email.html"):
        soup = BeautifulSoup(read(report, f"{FOLDER}/notice/{name}"), "html.parser")
        hrefs = {str(a["href"]) for a in soup.find_all("a")}
        assert f"https://policies.example.org/{FOLDER}/" in hrefs
        assert f"https://policies.example.org/{FOLDER}/changes/" in hrefs
        assert not any(h.endswith("index.html") for h in hrefs), hrefs
    text = read(report, f"{FOLDER}/notice/email.txt")
    assert "index.html" not in text


def test_the_banner_is_self_contained(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    page = read(report, f"{FOLDER}/notice/banner.html")
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find("script") is None and soup.find("link") is None and soup.find("img") is None
    assert "url(" not in page and "@import" not in page
    assert soup.find("style") is not None  # inline CSS
    assert "<script>" not in page and "&lt;script&gt;" in page  # the hostile fact is escaped
    hrefs = [str(a["href"]) for a in soup.find_all("a")]
    assert len(hrefs) == 3 and all(not h.startswith(("javascript:", "data:")) for h in hrefs)


def test_notices_say_what_changed_the_effect_the_date_and_link_everything(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    text = read(report, f"{FOLDER}/notice/email.txt")
    assert "We are changing our Privacy Policy on 15 January 2027" in text
    assert "- Example Fitness Tracker now asks for access to your Microphone." in text
    assert f"- We now share data with a new kind of recipient: {HOSTILE}." in text
    assert "More organisations will receive your data." in text
    for label in ("Read the new version:", "See every change, word by word:", "Read the version in force until then:"):
        line = next(line for line in text.splitlines() if line.startswith(label))
        assert line.split(": ", 1)[1].strip()
    for name in ("banner.html", "email.html", "email.txt"):
        body = read(report, f"{FOLDER}/notice/{name}")
        assert "15 January 2027" in body
        assert not re.search(r"regularly|periodically|from time to time", body, re.I)


def test_the_email_html_is_escaped_and_uses_inline_styles(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    page = read(report, f"{FOLDER}/notice/email.html")
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find("script") is None and soup.find("link") is None and soup.find("style") is None
    items = [li.get_text(" ", strip=True) for li in soup.find_all("li")]
    assert f"We now share data with a new kind of recipient: {HOSTILE}." in items


def test_tenants_without_released_changes_get_no_notice(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    assert not [o for o in report.outputs if o.kind in {"notice", "redline"} and o.tenant != SLUG]


def test_feed_entries_carry_the_tier(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    feed = read(report, f"{SLUG}/privacy-policy/feed.xml")
    assert feed.count('term="material"') == 2  # versions 2 and 3; the first version has no tier


def test_notices_are_deterministic(released: tuple[Path, BuildReport], tmp_path: Path) -> None:
    project, first = released
    import datetime as dt

    again = build(project, tmp_path / "again", BuildOptions(today=dt.date.fromisoformat(TODAY)))
    for output in first.outputs:
        if output.kind in {"redline", "notice"}:
            assert (again.out / output.path).read_bytes() == (first.out / output.path).read_bytes()


def test_the_history_page_links_each_version_to_its_redline(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    soup = BeautifulSoup(read(report, f"{SLUG}/privacy-policy/history/index.html"), "html.parser")
    links = [str(a["href"]) for a in soup.find_all("a") if a.get_text() == "See what changed"]
    assert links == ["../2027-01-15/changes/index.html", "../2026-03-01/changes/index.html"]
    for link in links:
        assert (report.out / f"{SLUG}/privacy-policy/history" / link).resolve().is_file()


def test_a_consent_change_says_consent_will_be_asked_for(tmp_path: Path) -> None:
    import datetime as dt

    from conftest import REPO

    from policygen.diff import Side, compare
    from policygen.facts import Children, load_tenant
    from policygen.notices import change_outputs
    from policygen.paths import PairPaths
    from policygen.rules import load_rules
    from policygen.theme import SiteTheme
    from policygen.worddiff import ClauseText

    base = load_tenant(REPO / "tenants" / SLUG / "tenant.yaml")
    old_facts = base.model_copy(update={"children": Children(min_age=18, directed_at_children=False)})
    new_facts = base.model_copy(update={"children": Children(min_age=13, directed_at_children=True)})
    clauses = {"children": ClauseText("Children", "<p>Not for children.</p>")}
    old = Side("1", old_facts, clauses, dt.date(2026, 1, 1), dt.date(2025, 12, 1))
    new = Side("2", new_facts, clauses, dt.date(2026, 3, 1), dt.date(2026, 1, 15))
    report = compare(SLUG, "privacy-policy", old, new, load_rules())
    assert report.tier == "consent"
    paths = PairPaths(
        f"{SLUG}/privacy-policy/2026-03-01",
        f"{SLUG}/privacy-policy/2026-03-01/index.html",
        f"{SLUG}/privacy-policy/2026-01-01/index.html",
    )
    from policygen.project import ProjectConfig
    from policygen.site import TenantView

    common = {
        "site": ProjectConfig(),
        "tenant": TenantView(SLUG, "Example Fitness", "Example Fitness Ltd", None, None, ()),
        "lang": "en-IN",
        "accent": None,
    }
    outputs = change_outputs(
        SiteTheme(REPO, "default"),
        report,
        paths,
        organisation="Example Fitness",
        document_title="Privacy Policy",
        locale="en-IN",
        accent=None,
        base_url=None,
        common=common,
    )
    texts = {o.path.rsplit("/", 1)[-1]: o.data.decode() for o in outputs if o.kind == "notice"}
    assert set(texts) == {"banner.html", "email.html", "email.txt"}
    assert "Our service is now directed at children." in texts["email.txt"]
    assert "Younger people may now use our service: the minimum age is 13 instead of 18." in texts["email.txt"]
    assert "We will ask for your consent before these changes apply to your data." in texts["email.txt"]
    assert "We will ask for your consent" in texts["banner.html"]
    assert "Read the new version: ../index.html" in texts["email.txt"]  # relative without base_url


def test_the_redline_links_the_sections_whose_words_changed(released: tuple[Path, BuildReport]) -> None:
    _, report = released
    soup = BeautifulSoup(read(report, f"{FOLDER}/changes/index.html"), "html.parser")
    para = next(p for p in soup.find_all("p") if p.get_text().startswith("Sections with changed words"))
    targets = [str(a["href"]) for a in para.find_all("a")]
    assert "#sharing" in targets and "#apps-permissions" in targets and "#introduction" not in targets
    for target in targets:
        assert soup.find("section", id=target[1:]) is not None


# --- notices and archives true to their document ------------------------------------------------


def test_a_documents_notice_lists_only_the_changes_that_alter_its_text(tmp_path: Path) -> None:
    import datetime as dt

    from conftest import copy_project

    from policygen.versions import release

    project = copy_project(tmp_path / "project")
    release(project, "ihm-connect", dt.date(2025, 6, 1), released=dt.date(2025, 6, 1))

    def two_changes(data: dict[str, Any]) -> None:
        # Printed only by the privacy policy: a new kind of recipient.
        data["recipients"].append({"id": "analytics", "category": "Analytics providers", "role": "processor"})
        # Printed only by the deletion policy: a deletion deadline, lengthened.
        period = next(p for p in data["retention"]["periods"] if p["id"] == "user-account")
        period["period"] = "30 business days"

    edit_facts(project, "ihm-connect", two_changes)
    released = release(project, "ihm-connect", dt.date(2025, 8, 1), released=dt.date(2025, 6, 15))
    assert [s.document for s in released] == ["privacy-policy", "data-deletion-policy"]
    report = build(project, project / "out", BuildOptions(today=dt.date(2025, 9, 1)))
    privacy = read(report, "ihm-connect/privacy-policy/2025-08-01/notice/email.txt")
    deletion = read(report, "ihm-connect/data-deletion-policy/2025-08-01/notice/email.txt")
    assert "Analytics providers" in privacy and "Personal user account data" not in privacy
    assert "Personal user account data" in deletion and "Analytics providers" not in deletion


def test_an_archived_version_keeps_the_name_and_branding_it_was_published_with(tmp_path: Path) -> None:
    import datetime as dt

    from conftest import copy_project

    project = copy_project(tmp_path / "project")

    def rebrand(data: dict[str, Any]) -> None:
        data["organisation"]["display_name"] = "Fitness Renamed"
        data["theme"]["accent"] = "#123456"

    edit_facts(project, SLUG, rebrand)
    report = build(project, project / "out", BuildOptions(today=dt.date(2026, 11, 20)))
    for page in (
        f"{V2}/index.html",
        f"{SLUG}/privacy-policy/2026-01-01/index.html",
        f"{SLUG}/privacy-policy/index.html",
    ):
        soup = BeautifulSoup(read(report, page), "html.parser")
        brand = soup.select_one("a.brand")
        assert brand is not None and brand.get_text(strip=True) == "Example Fitness", page
        assert "--accent: #2b5d1f" in read(report, page) and "#123456" not in read(report, page), page
    # The tenant's own index is not a released version: it shows the tenant as it is now.
    assert "Fitness Renamed" in read(report, f"{SLUG}/index.html")
