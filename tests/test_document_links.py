"""A clause links to the tenant's other documents with document_url(id): the privacy policy's cookie clause links
to the cookie policy when the tenant publishes one. The link is relative, survives the sanitiser of released
snapshots, and leads to the cookie policy from the stable page, an archived version and the draft alike.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from conftest import one_tenant_project
from helpers import built_files, dead_links, see_also_clause

from policygen.check import check
from policygen.engine import build
from policygen.site import BuildOptions
from policygen.versions import release

FACTS: dict[str, Any] = {
    "organisation": {"legal_name": "Linden Example Ltd", "display_name": "Linden", "email": "privacy@linden.example"},
    "data_categories": [{"id": "usage", "name": "Usage data", "items": ["Pages visited"]}],
    "purposes": [{"id": "service", "name": "Providing the service", "data": ["usage"]}],
    "cookies": "We use cookies to keep you signed in.",
    "trackers": [
        {
            "id": "session",
            "name": "sid",
            "provider": "Linden",
            "party": "first",
            "purpose": "Keeps you signed in",
            "category": "strictly_necessary",
            "duration": "session",
        }
    ],
    "documents": [{"id": "privacy-policy"}, {"id": "cookie-policy"}],
    "dates": {"effective": "2026-01-01"},
}
LINK = '<a href="../cookie-policy/index.html">Cookie Policy</a>'


def built(project: Path, today: dt.date = dt.date(2026, 6, 1)) -> Path:
    return build(project, project / "out", BuildOptions(today=today, drafts=True)).out


def page(out: Path, path: str) -> str:
    return (out / path).read_text(encoding="utf-8")


def test_the_cookie_clause_links_to_a_published_cookie_policy(tmp_path: Path) -> None:
    out = built(one_tenant_project(tmp_path, FACTS))
    assert LINK in page(out, "t/privacy-policy/index.html")
    assert (out / "t/cookie-policy/index.html").is_file()


def test_no_link_and_no_sentence_when_the_tenant_publishes_no_cookie_policy(tmp_path: Path) -> None:
    facts = {**FACTS, "documents": [{"id": "privacy-policy"}]}
    html = page(built(one_tenant_project(tmp_path, facts)), "t/privacy-policy/index.html")
    assert "cookie-policy" not in html and "Our Cookie Policy" not in html


def test_the_link_survives_a_release_and_leads_to_the_cookie_policy_from_every_page(tmp_path: Path) -> None:
    project = one_tenant_project(tmp_path, FACTS)
    release(project, "t", dt.date(2026, 1, 1), released=dt.date(2026, 1, 1))
    snapshot = next((project / "tenants/t/releases/privacy-policy").glob("*.json"))
    assert LINK.replace('"', '\\"') in snapshot.read_text(encoding="utf-8")  # kept by the snapshot's sanitiser
    facts = yaml.safe_load((project / "tenants/t/tenant.yaml").read_text(encoding="utf-8"))
    facts["cookies"] = "We use one cookie to keep you signed in."  # an unreleased edit: a draft page
    (project / "tenants/t/tenant.yaml").write_text(yaml.safe_dump(facts), encoding="utf-8")
    out = built(project)
    archive = '<a href="../../cookie-policy/index.html">Cookie Policy</a>'
    assert LINK in page(out, "t/privacy-policy/index.html")
    assert archive in page(out, "t/privacy-policy/2026-01-01/index.html")
    assert archive in page(out, "t/privacy-policy/draft/index.html")
    assert dead_links(built_files(out, "t")) == []
    assert not [
        f for t in check(project, ["t"], dt.date(2026, 6, 1)).tenants for f in t.findings if f.id == "link.dead"
    ]


def test_a_translated_page_links_to_the_other_document_in_the_same_language(tmp_path: Path) -> None:
    facts = {**FACTS, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]}
    out = built(one_tenant_project(tmp_path, facts))
    french = page(out, "t/privacy-policy/fr/index.html")
    assert 'href="../../cookie-policy/fr/index.html"' in french
    assert (out / "t/cookie-policy/fr/index.html").is_file()
    assert LINK in page(out, "t/privacy-policy/index.html")  # the authoritative page is as before
    assert dead_links(built_files(out, "t")) == []


def test_a_tenant_clauses_links_lead_to_the_same_place_from_the_page_in_another_language(tmp_path: Path) -> None:
    # A clause's relative links are written for its document's page in the authoritative language; the same
    # clause on the French page, a folder deeper, must lead to the same places.
    facts = {**FACTS, "locale": "en-GB", "languages": ["en-GB", "fr-FR"]}
    project = one_tenant_project(tmp_path, facts)
    see_also_clause(
        project,
        "t",
        "[All policies](../../index.html), [the cookies](../cookie-policy/index.html) and [here](#extra).",
    )
    out = built(project)
    english, french = page(out, "t/privacy-policy/index.html"), page(out, "t/privacy-policy/fr/index.html")
    assert 'href="../../index.html"' in english and 'href="../cookie-policy/index.html"' in english
    assert 'href="../../../index.html"' in french and 'href="../../cookie-policy/index.html"' in french
    assert 'href="#extra"' in french
    assert 'href="../../cookie-policy/fr/index.html"' in french  # document_url, in the page's language
    assert dead_links(built_files(out, "t")) == []
