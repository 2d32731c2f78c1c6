"""The example tenants: every fact of each seed policy appears in its generated documents.

tests/expectations/<slug>.yaml lists, per document and clause, the fact values
(taken from the seed) that the clause's section must contain.
"""

from __future__ import annotations

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import EXPECTATIONS

from policygen.engine import BuildReport


def section_text(site: BuildReport, slug: str, doc: str, clause: str) -> str:
    page = site.out / slug / doc / "index.html"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    section = soup.find("section", id=clause)
    assert section is not None, f"{slug}/{doc} has no section #{clause}"
    hrefs = " ".join(a["href"] for a in section.find_all("a", href=True))
    return " ".join(section.get_text(" ").split()) + " " + hrefs


CASES = [
    (path.stem, doc, clause, facts)
    for path in sorted(EXPECTATIONS.glob("*.yaml"))
    for doc, clauses in yaml.safe_load(path.read_text(encoding="utf-8")).items()
    for clause, facts in clauses.items()
]


@pytest.mark.parametrize(("slug", "doc", "clause", "facts"), CASES, ids=[f"{c[0]}/{c[1]}#{c[2]}" for c in CASES])
def test_every_seed_fact_appears_in_its_section(
    example_site: BuildReport, slug: str, doc: str, clause: str, facts: list[str]
) -> None:
    text = section_text(example_site, slug, doc, clause)
    missing = [f for f in facts if " ".join(str(f).split()) not in text]
    assert not missing, f"{slug}/{doc}#{clause} lacks: {missing}"


def test_expectations_cover_all_three_seeds() -> None:
    assert sorted(p.stem for p in EXPECTATIONS.glob("*.yaml")) == ["ihm-connect", "ims-global", "ims-pro"]
    assert len(CASES) > 40


def test_ihm_connect_publishes_three_documents(example_site: BuildReport) -> None:
    pages = [o for o in example_site.outputs if o.tenant == "ihm-connect" and o.kind == "page"]
    assert sorted(o.document for o in pages) == ["data-deletion-policy", "data-usage-policy", "privacy-policy"]


# The only dates the seeds carry (IHM Connect's has none: 1 June 2025 is the documented assumption).
SOURCE_DATES = {
    "ims-pro": ("1 April 2026", "1 April 2026"),
    "ims-global": ("17 November 2021", "17 November 2021"),
    "ihm-connect": ("1 June 2025", "1 June 2025"),
}


@pytest.mark.parametrize("slug", sorted(SOURCE_DATES))
def test_each_example_publishes_only_its_sources_version_and_dates(example_site: BuildReport, slug: str) -> None:
    from conftest import REPO

    assert not (REPO / "tenants" / slug / "releases").exists()  # no version the source does not have
    effective, updated = SOURCE_DATES[slug]
    indexes = {o.path for o in example_site.outputs if o.kind == "index"}  # the tenant's index in another language
    for page in (example_site.out / slug).glob("*/index.html"):
        if page.relative_to(example_site.out).as_posix() in indexes:
            continue
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        dates = [" ".join(dd.get_text(" ").split()) for dd in soup.select("dl.dates dd")]
        assert dates == [effective, updated], page
        assert "version history" not in soup.get_text().lower(), page
    assert not list((example_site.out / slug).glob("*/history"))
    assert not [o for o in example_site.outputs if o.tenant == slug and o.kind in {"archive", "notice", "redline"}]


def test_the_version_history_demos_belong_to_an_invented_organisation(example_site: BuildReport) -> None:
    from conftest import REPO

    from policygen.facts import load_tenant

    demo = load_tenant(REPO / "tenants" / "example-fitness" / "tenant.yaml")
    assert demo.organisation.legal_name == "Example Fitness Ltd"
    assert all(address.endswith("example.org") for address in (demo.organisation.email or "",))
    kinds = {o.kind for o in example_site.outputs if o.tenant == "example-fitness"}
    assert {"archive", "history", "redline", "notice"} <= kinds
