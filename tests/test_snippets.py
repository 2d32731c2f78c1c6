"""In-app snippets: self-contained HTML an app can bundle or fetch, and a manifest to cache them by."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import posixpath
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, copy_project, example_with_a_change
from helpers import dead_links

from policygen.colours import contrast
from policygen.engine import BuildReport, build
from policygen.output import Output
from policygen.project import load_project, project_theme
from policygen.render import ClauseRenderer
from policygen.site import BuildOptions, render_tenant_documents
from policygen.snippets import policy_snippet, readable, rebase_links, snippet_view

APPS = ("ims-pro/apps/customer-app", "ims-pro/apps/field-app")
DEMO_APP = "example-fitness/apps/tracker"  # the invented demo tenant: its app ships on both stores
LABELS = ("apple-privacy.json", "play-data-safety.csv", "play-data-safety.json")
BUDGET = 40 * 1024


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An unversioned copy of the example: no released version stands in front, so edits show at once."""
    return copy_project(tmp_path / "project", releases=False)


def files(report: BuildReport, prefix: str = "") -> dict[str, bytes]:
    return {o.path: (report.out / o.path).read_bytes() for o in report.outputs if o.path.startswith(prefix)}


def written(report: BuildReport) -> list[Output]:
    """The report's files with their bytes read back from the output folder (a build streams them there)."""
    return [dataclasses.replace(o, data=(report.out / o.path).read_bytes(), size=None) for o in report.outputs]


def snippets(report: BuildReport) -> dict[str, str]:
    return {o.path: (report.out / o.path).read_text(encoding="utf-8") for o in report.outputs if o.kind == "snippet"}


def style(page: str) -> str:
    return "\n".join(re.findall(r"<style>(.*?)</style>", page, re.S))


def test_every_app_gets_its_snippets_labels_and_manifest(example_site: BuildReport) -> None:
    out = files(example_site)
    for app in (*APPS, DEMO_APP):
        for name in (
            "policy.html",
            "permissions.html",
            "manifest.json",
            "sections/data-we-collect.html",
            "sections/apps-permissions.html",
        ):
            assert f"{app}/{name}" in out, name
    for name in LABELS:  # store labels only where the app's platforms name a store
        assert f"{DEMO_APP}/{name}" in out and not any(f"{app}/{name}" in out for app in APPS), name
    entries = {e["path"]: e for e in json.loads(out["manifest.json"])["files"]}
    assert entries[f"{APPS[0]}/policy.html"]["kind"] == "snippet"
    assert entries[f"{APPS[0]}/policy.html"]["app"] == "customer-app"
    assert entries[f"{DEMO_APP}/apple-privacy.json"]["kind"] == "label"
    assert entries[f"{APPS[0]}/manifest.json"]["kind"] == "data"
    # Tenants without apps get no app folder.
    assert not any(p.startswith(("ims-global/apps/", "ihm-connect/apps/")) for p in out)


def test_the_app_manifest_lists_every_snippet_with_its_hash(example_site: BuildReport) -> None:
    out = files(example_site)
    manifest = json.loads(out[f"{APPS[0]}/manifest.json"])
    page = next(
        e for e in json.loads(out["manifest.json"])["files"] if e["path"] == "ims-pro/privacy-policy/index.html"
    )
    assert (manifest["effective"], manifest["version"]) == (page["effective"], page["version"])
    assert manifest["document"] == "privacy-policy"
    assert manifest["tenant"] == "ims-pro" and manifest["app"] == "customer-app"
    listed = {s["path"] for s in manifest["snippets"]}
    # Snippets in other languages are in their own folders, each with its own manifest (test_languages.py).
    others = tuple(entry["path"] for entry in manifest.get("languages", []) if entry["path"])
    on_disk = {
        p.removeprefix(f"{APPS[0]}/")
        for p in out
        if p.startswith(APPS[0]) and p.endswith(".html") and not p.removeprefix(f"{APPS[0]}/").startswith(others)
    }
    assert listed == on_disk
    for entry in manifest["snippets"] + manifest["labels"]:
        data = out[f"{APPS[0]}/{entry['path']}"]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    sections = [s["section"] for s in manifest["snippets"] if s["kind"] == "section"]
    assert sections[0] == "at-a-glance" and "apps-permissions" in sections
    assert [s["path"] for s in manifest["snippets"] if s["kind"] == "at-a-glance"] == ["at-a-glance.html"]


def test_snippets_are_self_contained_without_scripts_or_requests(example_site: BuildReport) -> None:
    for path, page in snippets(example_site).items():
        assert "<script" not in page and "<link" not in page and "<img" not in page, path
        assert not re.search(r"\bsrc=|url\(|@import|@font-face", page), path
        assert "default-src 'none'" in page, path  # the browser enforces it too
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page, path
        hrefs = re.findall(r'href="([^"]*)"', page)
        local = [h for h in hrefs if not h.startswith(("#", "https://", "http://", "mailto:", "tel:"))]
        # A link to another section leads into the same app's compact policy, at an id that is there.
        for href in local:
            target, _, anchor = posixpath.normpath(posixpath.join(posixpath.dirname(path), href)).partition("#")
            assert target.endswith("/policy.html") and target.startswith(path.split("/apps/")[0]), (path, href)
            assert not anchor or f'id="{anchor}"' in snippets(example_site)[target], (path, href)


def test_snippets_follow_text_size_colour_scheme_and_writing_direction(example_site: BuildReport) -> None:
    for path, page in snippets(example_site).items():
        css = style(page)
        assert "@media (prefers-color-scheme: dark)" in css, path
        assert "-apple-system-body" in css, path
        sizes = re.findall(r"font-size:\s*([^;}]+)", css)
        assert sizes and all(re.fullmatch(r"[\d.]+(r?em|%)", s.strip()) for s in sizes), sizes
        physical = re.findall(
            r"(?<![-\w])(margin|padding|border)-(left|right|top|bottom)\b|\b(left|right):|text-align:\s*(left|right)",
            css,
        )
        assert not physical, (path, physical)
        lang = "en-GB" if path.startswith("example-fitness/") else "en-IN"
        if path.startswith("ims-pro/") and "/hi/" in path:  # ims-pro's snippets in Hindi (test_languages.py)
            lang = "hi-IN"
        assert re.search(rf'<html lang="{lang}" dir="ltr">', page), path


def test_snippets_follow_the_released_version_the_page_shows(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", releases=True)
    only = ["example-fitness"]
    earlier = build(project, tmp_path / "feb", BuildOptions(tenants=only, today=dt.date(2026, 2, 1)))
    later = build(project, tmp_path / "nov", BuildOptions(tenants=only, today=dt.date(2026, 11, 1)))
    for report, version, effective in ((earlier, "1", "2026-01-01"), (later, "2", "2026-03-01")):
        manifest = json.loads(files(report)[f"{DEMO_APP}/manifest.json"])
        assert (manifest["version"], manifest["effective"]) == (version, effective)
    assert "Partner coaching services" in files(later)[f"{DEMO_APP}/policy.html"].decode()
    assert "Partner coaching services" not in files(earlier)[f"{DEMO_APP}/policy.html"].decode()


def test_a_right_to_left_locale_sets_dir_rtl(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    # ims-pro publishes English and Hindi: Arabic alone here
    facts.write_text(facts.read_text().replace("locale: en-IN\nlanguages: [en-IN, hi-IN]", "locale: ar"))
    report = build(project, project / "out", BuildOptions(tenants=["ims-pro"]))
    page = files(report)[f"{APPS[0]}/policy.html"].decode()
    assert '<html lang="ar" dir="rtl">' in page


def test_the_compact_policy_of_every_seed_tenant_fits_the_size_budget() -> None:
    project = load_project(REPO)
    theme = project_theme(project)
    renderer = ClauseRenderer(project.content)
    sizes: dict[str, int] = {}
    for slug, tenant in project.tenants.items():
        for document in render_tenant_documents(project, renderer, tenant):
            data = policy_snippet(theme, snippet_view(tenant.facts, document), document)
            sizes[f"{slug}/{document.id}"] = len(data)
    assert {"ims-pro/privacy-policy", "ims-global/privacy-policy", "ihm-connect/privacy-policy"} <= set(sizes)
    assert all(size < BUDGET for size in sizes.values()), sizes


def test_snippets_show_the_same_rendered_sections_as_the_page(example_site: BuildReport) -> None:
    out = files(example_site)
    page = out["ims-pro/privacy-policy/index.html"].decode()
    policy = out[f"{APPS[0]}/policy.html"].decode()
    bodies = re.findall(
        r'<section id="([^"]+)" aria-labelledby="[^"]+">\s*<h2[^>]*>.*?</h2>(.*?)</section>', page, re.S
    )
    assert len(bodies) > 10
    for clause_id, body in bodies:
        assert body.strip() in policy, clause_id


def test_section_snippets_have_one_h1_and_no_skipped_heading_levels(example_site: BuildReport) -> None:
    for path, page in snippets(example_site).items():
        levels = [int(n) for n in re.findall(r"<h([1-6])", page)]
        assert levels.count(1) == 1, path
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), (path, levels)


def test_the_permissions_snippet_lists_each_permission_with_its_reason(example_site: BuildReport) -> None:
    page = files(example_site)[f"{APPS[1]}/permissions.html"].decode()
    assert "What IMS Pro Field App asks permission for" in page
    for name, reason in (
        ("Camera", "To capture issue photos"),
        ("Storage / Files", "To upload attachments"),
        ("Notifications", "To provide instant updates"),
    ):
        assert re.search(rf"<strong>{re.escape(name)}</strong> {reason}", page), name


def test_facts_stay_text_in_snippets(project: Path) -> None:
    facts = project / "tenants/ims-pro/tenant.yaml"
    text = facts.read_text().replace(
        "reason: To upload attachments and download documents", 'reason: "<script>alert(1)</script> & <img src=x>"', 1
    )
    facts.write_text(text)
    report = build(project, project / "out", BuildOptions(tenants=["ims-pro"]))
    for path, page in snippets(report).items():
        assert "<script>" not in page and "<img" not in page, path
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x&gt;"
        in files(report)[f"{APPS[0]}/permissions.html"].decode()
    )


def test_every_section_snippet_ends_with_the_source_line_of_its_own_language(project: Path) -> None:
    # The line is rendered once per app and language (snippets.source_line) and printed by each snippet.
    facts = project / "tenants/ims-pro/tenant.yaml"
    facts.write_text(facts.read_text().replace("display_name: IMS Pro", "display_name: IMS <Pro> & Co", 1))
    report = build(project, project / "out", BuildOptions(tenants=["ims-pro"]))
    lines: dict[str, set[str]] = {}
    for path, page in snippets(report).items():
        if "/sections/" in path or path.endswith("/at-a-glance.html"):
            folder = path.split("/sections/")[0].removesuffix("/at-a-glance.html")
            found = re.findall(r'<p class="source">.*?</p>', page)
            assert len(found) == 1 and page.index(found[0]) > page.index("</h1>"), path
            lines.setdefault(folder, set()).update(found)
    english, hindi = lines[APPS[0]], lines[f"{APPS[0]}/hi"]
    assert english == {
        '<p class="source">From the Privacy Policy of IMS &lt;Pro&gt; &amp; Co, effective'
        ' <time datetime="2026-04-01">1 April 2026</time>.</p>'
    }
    assert len(hindi) == 1 and "IMS &lt;Pro&gt; &amp; Co" in hindi.pop() and len(lines) == 4


OLD_SOURCE_LINE = (
    '{% set effective %}<time datetime="{{ view.effective.isoformat() }}">{{ view.effective|longdate(view.lang) }}'
    "</time>{% endset %}\n"
    '<p class="source">{{ "From the {title} of {tenant}, effective {date}."|t(view.lang, title=view.title, '
    "tenant=view.tenant, date=effective)|marked(view.lang) }}</p>\n"
)


def test_a_projects_own_theme_without_the_source_line_template_still_builds_the_same_snippets(project: Path) -> None:
    # A complete theme of the project's own, copied from policygen's before snippets/_source.html existed.
    default = files(build(project, project / "default", BuildOptions(tenants=["ims-pro"])), "ims-pro/apps/")
    theme = project / "themes/corporate"
    shutil.copytree(REPO / "themes/default", theme)
    (theme / "templates/snippets/_source.html").unlink()
    for name in ("section.html", "at-a-glance.html"):
        template = theme / "templates/snippets" / name
        template.write_text(template.read_text().replace("{{ source }}\n", OLD_SOURCE_LINE), encoding="utf-8")
    with (project / "policygen.yaml").open("a", encoding="utf-8") as config:
        config.write("theme: corporate\n")
    corporate = files(build(project, project / "corporate", BuildOptions(tenants=["ims-pro"])), "ims-pro/apps/")
    assert corporate == default and any('<p class="source">' in data.decode() for data in corporate.values())


def test_accent_colours_are_adjusted_to_stay_readable() -> None:
    for accent in ("#1f4e79", "#ffee00", "#000000", "#777777"):
        assert contrast(readable(accent, "#ffffff"), "#ffffff") >= 4.5
        assert contrast(readable(accent, "#16181b"), "#16181b") >= 4.5
    assert readable("#1f4e79", "#ffffff") == "#1f4e79"  # already readable: unchanged


def test_a_tenant_gets_its_own_accent_after_another_tenants_was_worked_out(project: Path) -> None:
    # readable() keeps its answers by colour: the second build, in the same process, must not reuse the first's.
    facts = project / "tenants/ims-pro/tenant.yaml"
    accents = {}
    for accent in ("#7a1f5c", "#1f4e79"):
        facts.write_text(re.sub(r"accent: '#[0-9a-f]{6}'", f"accent: '{accent}'", facts.read_text()))
        report = build(project, project / accent.strip("#"), BuildOptions(tenants=["ims-pro"]))
        accents[accent] = re.findall(r"--accent: (#[0-9a-f]{6});", files(report)[f"{APPS[0]}/policy.html"].decode())
    assert accents == {
        "#7a1f5c": [readable("#7a1f5c", "#ffffff"), readable("#7a1f5c", "#16181b")],
        "#1f4e79": [readable("#1f4e79", "#ffffff"), readable("#1f4e79", "#16181b")],
    }
    assert accents["#7a1f5c"] != accents["#1f4e79"]


def test_app_outputs_are_deterministic(project: Path) -> None:
    first = files(build(project, project / "a", BuildOptions(tenants=["ims-pro"])), "ims-pro/apps/")
    second = files(build(project, project / "b", BuildOptions(tenants=["ims-pro"])), "ims-pro/apps/")
    assert first == second and len(first) > 20
    assert not any(str(project).encode() in data for data in first.values())


def test_a_change_notice_becomes_the_apps_notice_snippet(tmp_path: Path) -> None:
    project = example_with_a_change(tmp_path)
    (project / "policygen.yaml").unlink(missing_ok=True)  # no base_url: the banner's links are relative
    report = build(project, tmp_path / "out", BuildOptions(tenants=["example-fitness"], today=dt.date(2026, 11, 15)))
    out = files(report)
    banner = out[f"{DEMO_APP}/notice.html"].decode()
    assert "Heart Rate Data" in banner and 'dir="ltr"' in banner
    assert next(o for o in report.outputs if o.path == f"{DEMO_APP}/notice.html").kind == "snippet"
    manifest = json.loads(out[f"{DEMO_APP}/manifest.json"])
    assert {"kind": "notice", "path": "notice.html"}.items() <= next(
        s for s in manifest["snippets"] if s["kind"] == "notice"
    ).items()
    assert manifest["version"] == "2"  # the page still shows version 2; the notice announces version 3
    links = re.findall(r'href="([^"]+)"', banner)
    assert "../../privacy-policy/2027-01-01/index.html" in links
    assert not dead_links([o for o in written(report) if o.kind != "snippet" or o.path.endswith("notice.html")])


def test_links_in_snippets_lead_where_the_page_links_lead(project: Path) -> None:
    own = project / "tenants/ims-pro/content/privacy-policy"
    own.mkdir(parents=True)
    (own / "extra.md").write_text(
        "---\nid: extra\ntitle: See also\norder: 175\n---\n"
        "See [your rights](#rights), [this section](#extra) and [all policies](../../index.html).\n",
        encoding="utf-8",
    )
    report = build(project, project / "out", BuildOptions(tenants=["ims-pro"]))
    section = files(report)[f"{APPS[0]}/sections/extra.html"].decode()
    assert 'href="../policy.html#rights"' in section and 'href="#extra"' in section  # its own article
    assert 'href="../../../../index.html"' in section
    policy = files(report)[f"{APPS[0]}/policy.html"].decode()
    assert 'href="#rights"' in policy and 'href="../../../index.html"' in policy
    assert not [m for m in dead_links(written(report)) if "/apps/" in m]


def test_rebasing_keeps_absolute_links_and_fragments() -> None:
    page = '<a href="https://example.org/x">x</a> <a href="#top">t</a> <a href="mailto:a@b.c">m</a> <a href="../y.html">y</a>'
    moved = rebase_links(page, "t/doc/index.html", "t/apps/app/policy.html")
    assert moved == (
        '<a href="https://example.org/x">x</a> <a href="#top">t</a> <a href="mailto:a@b.c">m</a> '
        '<a href="../../y.html">y</a>'
    )
