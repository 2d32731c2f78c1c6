"""Commands that read every tenant (`check`, `translations`, `upgrade-diff`) read them a tenant at a time
through one pool (policygen/tenantpool.py): in worker processes on a project of many tenants, in this process on
a few, with the same report either way, every tenant's problems in one run."""

from __future__ import annotations

import concurrent.futures
import json
import os
import pickle
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import REPO, many_tenants
from helpers import see_also_clause

from policygen import tenantpool
from policygen.cli import cli
from policygen.upgrade import library_upgrade

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")


def in_workers(monkeypatch: pytest.MonkeyPatch, chunk: int = 3) -> list[int]:
    """From here on, a pool of two workers takes batches of *chunk* tenants, whatever the machine's cores. The
    list returned gets an item for each pool started."""
    monkeypatch.setattr(tenantpool, "PARALLEL_MIN_TENANTS", 2)
    monkeypatch.setattr(tenantpool.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(tenantpool, "CHUNK_TENANTS", chunk)
    pools: list[int] = []

    class Counted(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pools.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Counted)
    return pools


def run(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-C", str(project), *args])
    return result.exit_code, result.output


def process_of(slug: str) -> tuple[str, int]:
    return slug, os.getpid()


def test_each_tenants_work_comes_back_in_the_tenants_order_from_workers_as_from_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slugs = [f"t{i:02d}" for i in range(10)]
    here = list(tenantpool.each_tenant(process_of, slugs))
    assert here == [(slug, os.getpid()) for slug in slugs]
    in_workers(monkeypatch)
    shared = list(tenantpool.each_tenant(process_of, slugs))
    assert [slug for slug, _ in shared] == slugs  # batches of 3 that end inside the order, put back in it
    workers = {pid for _, pid in shared}
    assert os.getpid() not in workers and len(workers) <= 2  # by the pool's workers (one may take every batch)


def test_translations_in_worker_processes_report_what_one_process_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 10)
    see_also_clause(project, "ims-pro-003", "A clause of this tenant's own, to be translated like the library's.")
    alone = [run(project, "translations", "--format", fmt) for fmt in ("text", "json")]
    pools = in_workers(monkeypatch)
    assert [run(project, "translations", "--format", fmt) for fmt in ("text", "json")] == alone
    assert pools == [1, 1]
    code, found = alone[1]
    sources = {s["source"] for s in json.loads(found)}
    assert code == 0 and "tenants/ims-pro-003/content/privacy-policy/extra.md" in sources  # a tenant's own clause
    assert "content/privacy-policy/010-introduction.md" in sources  # and the library's


def test_translations_report_every_tenants_problems_in_one_run_from_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 10)
    for slug in ("ims-global-002", "ims-pro-003"):
        facts = project / "tenants" / slug / "tenant.yaml"
        facts.write_text(facts.read_text(encoding="utf-8").replace("  legal_name:", "  legal_nme:", 1), "utf-8")
    in_workers(monkeypatch)
    code, output = run(project, "translations")
    assert code == 1 and "Traceback" not in output
    assert "tenants/ims-global-002/tenant.yaml:" in output and "tenants/ims-pro-003/tenant.yaml:" in output


def test_upgrade_diff_in_worker_processes_reports_what_one_process_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 10)  # example-fitness keeps its releases; its copies have none
    shutil.rmtree(project / "content")  # the packaged library's clauses, none of the project's own in the way
    old = tmp_path / "old-library"
    shutil.copytree(REPO / "content", old)
    (old / "privacy-policy/140-complaints.md").unlink()  # a clause today's library added
    modes = (["upgrade-diff", "--format", "json"], ["upgrade-diff", "--from-library", str(old), "--format", "json"])
    alone = [run(project, *args) for args in modes]
    pools = in_workers(monkeypatch)
    assert [run(project, *args) for args in modes] == alone
    assert pools == [1, 1]
    released, library = (json.loads(output) for _, output in alone)
    assert [d["tenant"] for d in released["documents"]] == ["example-fitness"]
    unreleased = [d["tenant"] for d in released["unreleased"]]
    assert sorted(set(unreleased)) == sorted(p.name for p in (project / "tenants").iterdir())[1:]
    assert unreleased == sorted(unreleased)  # in the tenants' order, whichever worker compared them
    compared = [d["tenant"] for d in library["documents"]]
    assert len(set(compared)) == 10 and compared == sorted(compared) and library["tier"] == "needs-review"


def test_upgrade_diff_of_a_document_no_tenant_publishes_is_bad_usage_after_reading_them_in_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 6)
    in_workers(monkeypatch, chunk=2)
    code, output = run(project, "upgrade-diff", "--document", "cookie-policy")
    assert code == 2 and "no tenant here publishes a document 'cookie-policy'" in output


def test_upgrade_diff_keeps_what_it_prints_of_each_document_not_the_sides_it_compared(tmp_path: Path) -> None:
    project = many_tenants(tmp_path / "project", 4)
    shutil.rmtree(project / "content")
    old = tmp_path / "old-library"
    shutil.copytree(REPO / "content", old)
    (old / "privacy-policy/140-complaints.md").unlink()
    result = library_upgrade(project, old_library=old)
    assert len(result.reports) == 6 and result.tier == "needs-review"
    # Each side's facts and clause texts made a report 15 to 60 kB pickled; what is printed is under 2 kB.
    assert all(len(pickle.dumps(report)) < 2048 for report in result.reports)
    text = result.to_text()
    assert text.count("  complaints (added, ") == 3 and "6 documents compared, 3 with text changes" in text
