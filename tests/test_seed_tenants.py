"""The example tenants: every fact of each seed policy appears in its generated documents.

tests/expectations/<slug>.yaml lists, per document and clause, the fact values
(taken from the seed) that the clause's section must contain.
"""

from __future__ import annotations


import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import EXPECTATIONS
from policygen.site import BuildReport


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
def test_every_seed_fact_appears_in_its_section(example_site: BuildReport, slug: str, doc: str, clause: str,
                                                facts: list[str]) -> None:
    text = section_text(example_site, slug, doc, clause)
    missing = [f for f in facts if " ".join(str(f).split()) not in text]
    assert not missing, f"{slug}/{doc}#{clause} lacks: {missing}"


def test_expectations_cover_all_three_seeds() -> None:
    assert sorted(p.stem for p in EXPECTATIONS.glob("*.yaml")) == ["ihm-connect", "ims-global", "ims-pro"]
    assert len(CASES) > 40


def test_ihm_connect_publishes_three_documents(example_site: BuildReport) -> None:
    pages = [o for o in example_site.outputs if o.tenant == "ihm-connect" and o.kind == "page"]
    assert sorted(o.document for o in pages) == ["data-deletion-policy", "data-usage-policy", "privacy-policy"]
