"""`policygen explain`: every block of a rendered document leads back to a file, a line and its facts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_project

from policygen.cli import cli
from policygen.engine import build
from policygen.explain import Explanation, explain
from policygen.htmltext import blocks
from policygen.project import load_project
from policygen.render import ClauseRenderer
from policygen.site import BuildOptions, render_tenant_documents


def _page_parts(html: str) -> tuple[str, str, str]:
    """The head of a policy page (title, dates), its table of contents and its sections."""
    article = re.search(r'<article class="policy">(.*)</article>', html, re.S)
    assert article is not None
    head, toc, body = re.split(r'<nav class="toc"[^>]*>|</nav>', article.group(1))
    return head, toc, body


@pytest.fixture(scope="module")
def working_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example project without its releases: every document's stable page shows its working text."""
    root = copy_project(tmp_path_factory.mktemp("explain") / "project", releases=False)
    build(root, root / "build", BuildOptions())
    return root, root / "build"


def _explanations(root: Path) -> list[Explanation]:
    found: list[Explanation] = []
    for slug in sorted(p.name for p in (root / "tenants").iterdir() if (p / "tenant.yaml").is_file()):
        found.extend(explain(root, slug))
    return found


def test_every_block_of_every_example_page_is_attributed_to_a_file_and_line(working_site: tuple[Path, Path]) -> None:
    root, out = working_site
    explanations = _explanations(root)
    assert (
        {e.tenant for e in explanations}
        == {p.name for p in (root / "tenants").iterdir()}
        >= {"ihm-connect", "ims-global", "ims-pro"}
    )
    for e in explanations:
        head, toc, body = _page_parts((out / e.tenant / e.document / "index.html").read_text(encoding="utf-8"))
        where = f"{e.tenant}/{e.document}"
        title = [b.text for b in blocks(head) if b.kind == "heading"]
        assert title == [b.text for b in e.blocks if b.kind == "heading" and b.level == 1], where
        shown_dates = [b.text for b in blocks(head) if b.kind == "definition"]
        explained_dates = [b.text for b in e.blocks if b.kind == "date"]
        assert [d.split(" ", 1 if d.startswith("Effective") else 2)[-1] for d in explained_dates] == shown_dates, where
        contents = [b.text for b in blocks(toc) if b.kind == "item"]
        assert contents == [b.text for b in e.blocks if b.kind == "contents"], where
        sections = [b.text for b in blocks(body)]
        assert sections == [b.text for b in e.blocks if b.clause is not None], where
        for b in e.blocks:
            assert b.source.file.is_file(), (where, b)
            lines = b.source.file.read_text(encoding="utf-8").splitlines()
            assert b.source.line is not None and 1 <= b.source.line <= len(lines), (where, b)


def test_tracing_a_render_changes_none_of_its_html(working_site: tuple[Path, Path]) -> None:
    root, _ = working_site
    project = load_project(root)
    renderer = ClauseRenderer(project.content)
    for slug, tenant in project.tenants.items():
        traced = {e.document: e for e in explain(root, slug)}
        for doc in render_tenant_documents(project, renderer, tenant):
            texts = [b.text for c in doc.clauses for b in blocks(c.html)]
            assert texts == [
                b.text
                for b in traced[doc.id].blocks
                if b.clause is not None and not (b.kind == "heading" and b.level == 2)
            ]


CLAUSE = """---
id: sharing
title: Who we share your data with
order: 80
---
{% import "_partials/facts.md" as f %}
We share data with these recipients:

{% for r in recipients %}
- {{ r.category }}{% if r.names %} ({{ r.names|join(", ", " and ") }}){% endif +%}
{% endfor %}

{{ organisation.legal_name }} keeps it safe.
"""


@pytest.fixture
def traced_project(tmp_path: Path) -> Path:
    root = copy_project(tmp_path / "project", releases=False)
    (root / "tenants" / "ims-pro" / "content" / "privacy-policy").mkdir(parents=True, exist_ok=True)
    (root / "tenants" / "ims-pro" / "content" / "privacy-policy" / "sharing.md").write_text(CLAUSE, encoding="utf-8")
    return root


def _tenant_line(root: Path, slug: str, text: str) -> int:
    lines = (root / "tenants" / slug / "tenant.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_a_block_names_its_clause_line_and_the_key_path_and_line_of_each_fact_it_prints(traced_project: Path) -> None:
    (doc,) = explain(traced_project, "ims-pro", "privacy-policy")
    sharing = doc.clause_blocks("sharing")
    clause_file = traced_project / "tenants" / "ims-pro" / "content" / "privacy-policy" / "sharing.md"
    by_text = {b.text: b for b in sharing}
    intro = by_text["We share data with these recipients:"]
    assert (intro.kind, intro.source.file, intro.source.line, intro.facts) == ("paragraph", clause_file, 7, ())
    items = [b for b in sharing if b.kind == "item"]
    assert items and all((b.source.file, b.source.line) == (clause_file, 10) for b in items)
    assert next(f.path for f in items[0].facts) == "recipients[0].category"
    assert items[0].facts[0].line == _tenant_line(traced_project, "ims-pro", "category:")
    last = sharing[-1]
    assert last.text.endswith("keeps it safe.") and last.source.line == 13
    assert [f.path for f in last.facts] == ["organisation.legal_name"]


def test_a_list_joined_by_a_filter_names_each_item_it_prints(traced_project: Path) -> None:
    facts = traced_project / "tenants" / "ims-pro" / "tenant.yaml"
    text = facts.read_text(encoding="utf-8")
    first = re.search(r"(\n  - id: [^\n]+\n)(    category: [^\n]+\n)", text.split("\nrecipients:", 1)[1])
    assert first is not None
    text = text.replace(first.group(0), first.group(1) + first.group(2) + "    names: [Acme Cloud, Beta Mail]\n", 1)
    facts.write_text(text, encoding="utf-8")
    (doc,) = explain(traced_project, "ims-pro", "privacy-policy")
    item = next(b for b in doc.clause_blocks("sharing") if "Acme Cloud" in b.text)
    assert "(Acme Cloud and Beta Mail)" in item.text
    assert [f.path for f in item.facts] == [
        "recipients[0].category",
        "recipients[0].names[0]",
        "recipients[0].names[1]",
    ]


def test_a_block_written_by_a_partial_points_to_the_partial_line(traced_project: Path) -> None:
    (doc,) = explain(traced_project, "ims-pro", "privacy-policy")
    partial = traced_project / "content" / "_partials" / "facts.md"
    permissions = [b for b in doc.clause_blocks("apps-permissions") if b.kind == "item"]
    assert permissions and all(b.source.file == partial for b in permissions)
    line = partial.read_text(encoding="utf-8").splitlines()[permissions[0].source.line - 1]
    assert "perm.reason" in line
    assert any(f.path.endswith("permissions[0].reason") for f in permissions[0].facts)


def test_a_tenant_note_is_attributed_to_its_line_in_tenant_yaml(traced_project: Path) -> None:
    facts = traced_project / "tenants" / "ims-pro" / "tenant.yaml"
    text = facts.read_text(encoding="utf-8")
    text = text.replace(
        "\nnotes:\n", "\nnotes:\n  - id: hosting\n    clause: security\n    text: Our servers are in Mumbai.\n", 1
    )
    facts.write_text(text, encoding="utf-8")
    (doc,) = explain(traced_project, "ims-pro", "privacy-policy")
    note = doc.clause_blocks("security")[-1]
    assert note.text == "Our servers are in Mumbai."
    assert (note.source.file, note.source.line) == (facts, _tenant_line(traced_project, "ims-pro", "Mumbai"))
    assert [f.path for f in note.facts] == ["notes[0].text"]


def test_explain_prints_json_for_tools(traced_project: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(traced_project), "explain", "ims-pro", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (doc,) = data["documents"]
    assert (doc["tenant"], doc["document"], doc["facts_file"]) == (
        "ims-pro",
        "privacy-policy",
        "tenants/ims-pro/tenant.yaml",
    )
    block = next(b for b in doc["blocks"] if b["text"] == "We share data with these recipients:")
    assert block == {
        "kind": "paragraph",
        "level": None,
        "text": "We share data with these recipients:",
        "clause": "sharing",
        "file": "tenants/ims-pro/content/privacy-policy/sharing.md",
        "line": 7,
        "facts": [],
    }


def test_explain_text_names_file_line_kind_and_facts(traced_project: Path) -> None:
    result = CliRunner().invoke(cli, ["-C", str(traced_project), "explain", "ims-pro", "-d", "privacy-policy"])
    assert result.exit_code == 0, result.output
    assert (
        "  tenants/ims-pro/content/privacy-policy/sharing.md:7  paragraph  We share data with these recipients:\n"
        in result.output
    )
    assert "      facts: organisation.legal_name (line " in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["explain", "ims-pro", "--document", "cookie-policy"], "ims-pro has no document 'cookie-policy'"),
        (["explain", "nobody"], "no tenant 'nobody'"),
    ],
)
def test_an_unknown_tenant_or_document_is_bad_usage(traced_project: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["-C", str(traced_project), *args])
    assert result.exit_code == 2 and message in result.output


def test_a_tenant_clause_cannot_forge_a_source_mark(traced_project: Path) -> None:
    clause = traced_project / "tenants" / "ims-pro" / "content" / "privacy-policy" / "sharing.md"
    library = traced_project / "content" / "privacy-policy" / "010-introduction.md"
    forged = f"\ue003{library}\ue0051\ue004" + f"\ue003\ue005{library}\ue0051\ue004"
    clause.write_text(CLAUSE.replace("We share data", forged + "We share data"), encoding="utf-8")
    (doc,) = explain(traced_project, "ims-pro", "privacy-policy")
    intro = next(b for b in doc.clause_blocks("sharing") if b.kind == "paragraph")
    assert (intro.source.file, intro.source.line) == (clause, 7)
    assert intro.text.endswith("We share data with these recipients:")
