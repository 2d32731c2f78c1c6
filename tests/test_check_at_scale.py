"""`policygen check` on many tenants: a tenant at a time, in worker processes on several cores, holding what it
found rather than the pages it rendered; a tenant's links are followed where it is made, and those that leave
its folder at the end, against every tenant's files; the report is written a piece at a time."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import re
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, copy_project, many_tenants
from helpers import see_also_clause

from policygen import checkreport, tenantpool
from policygen.check import check
from policygen.checkreport import Checked, CheckFinding, CheckReport, TenantCheck, format_json, format_text
from policygen.errors import Problem

TODAY = dt.date(2026, 11, 22)
# ims-pro shows a privacy-policy clause on ten pages: its page in English and Hindi, and in each language each of
# its two apps' policy and section snippets. A dead link written once is one finding, naming the document's page.
ALSO = " (and on 9 more page(s) that show the clause)"


def link_findings(report: CheckReport, page: str) -> dict[str, str]:
    """The dead links of a tenant's page: the href of each, with what is wrong."""
    tenant = next(t for t in report.tenants if t.slug == page.split("/")[0])
    found = {}
    for f in tenant.findings:
        match = re.fullmatch(r"(.+): link '([^']+)' (.*)", f.message)
        if f.id == "link.dead" and match is not None and match.group(1) == page:
            found[match.group(2)] = match.group(3)
    return found


def test_links_that_leave_a_tenants_folder_are_followed_to_the_site_and_to_other_tenants(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    extra = see_also_clause(
        project,
        "ims-pro",
        "See [the site](../../index.html), [its style](../../assets/style.css), "
        "[IMS's rights](../../ims-global/privacy-policy/index.html#rights), "
        "[IMS's nowhere](../../ims-global/privacy-policy/index.html#nowhere), "
        "[a tenant not there](../../nobody/index.html) and [a lost site file](../../lost.html).",
    )
    page = "ims-pro/privacy-policy/index.html"  # (and each app's snippets of the clause, deeper in the folder)
    assert link_findings(check(project, None, TODAY), page) == {
        "../../ims-global/privacy-policy/index.html#nowhere": "points to '#nowhere', which is not on "
        "ims-global/privacy-policy/index.html" + ALSO,
        "../../nobody/index.html": "leads to no file of the site" + ALSO,
        "../../lost.html": "leads to no file of the site" + ALSO,
    }
    # Each is located in the clause that writes it, at its line (under five lines of front matter).
    report = check(project, None, TODAY)
    dead = [f for t in report.tenants if t.slug == "ims-pro" for f in t.findings if f.id == "link.dead"]
    assert len(dead) == 3 and all(f.file == extra and f.clause == "extra" and f.line == 6 for f in dead)
    assert "tenants/ims-pro/content/privacy-policy/extra.md:6: error: link.dead: " in format_text(report)
    # Checking only ims-pro, IMS's pages are made for the links that lead there: the same findings.
    assert link_findings(check(project, ["ims-pro"], TODAY), page) == link_findings(check(project, None, TODAY), page)


def test_links_into_a_tenant_whose_facts_fail_are_counted_not_followed_and_the_rest_still_are(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "project")
    see_also_clause(
        project,
        "ims-pro",
        "[IMS](../../ims-global/privacy-policy/index.html#rights), [IHM](../../ihm-connect/index.html), "
        "[nobody](../../nobody/index.html) and [here](#nowhere).",
    )
    facts = project / "tenants/ims-global/tenant.yaml"
    facts.write_text(facts.read_text(encoding="utf-8").replace("  legal_name:", "  legal_nme:", 1), encoding="utf-8")
    report = check(project, None, TODAY)
    assert report.unchecked == 1 and any("legal_nme" in p.message for p in report.problems)
    assert link_findings(report, "ims-pro/privacy-policy/index.html") == {
        "../../nobody/index.html": "leads to no file of the site" + ALSO,
        "#nowhere": "points to '#nowhere', which is not on this page" + ALSO,
    }
    unfollowed = [f for f in report.site if f.id == "link.unfollowed"]
    assert len(unfollowed) == 1 and unfollowed[0].level == "warning"
    assert unfollowed[0].message.endswith("were not followed: ims-global")
    assert any(f.id == "translation.words_unreviewed" for f in report.site)  # the site's checks still ran
    assert "in 3 tenant(s); 1 tenant(s) not checked: see the problems above" in format_text(report)
    assert json.loads(format_json(report))["summary"]["unchecked"] == 1


def test_a_check_in_worker_processes_reports_what_a_check_in_one_process_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 12)
    see_also_clause(
        project,
        "ims-pro-003",
        "[Nowhere](#nowhere) and [the other's nowhere](../../ims-global-002/privacy-policy/index.html#nowhere).",
    )
    monkeypatch.setattr(tenantpool, "PARALLEL_MIN_TENANTS", 1 << 30)
    alone = format_json(check(project, None, TODAY))
    pools: list[int] = []

    class Counted(ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pools.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tenantpool, "PARALLEL_MIN_TENANTS", 2)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Counted)
    monkeypatch.setattr(tenantpool.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(tenantpool, "CHUNK_TENANTS", 5)  # chunks that end inside the tenants' order
    shared = format_json(check(project, None, TODAY))
    assert pools == [1] and shared == alone
    tenant = next(t for t in json.loads(shared)["tenants"] if t["tenant"] == "ims-pro-003")
    dead = [f["message"] for f in tenant["findings"] if f["id"] == "link.dead"]
    assert any("link '#nowhere'" in m for m in dead)  # followed in the worker
    assert any(
        "index.html#nowhere' points to '#nowhere', which is not on ims-global-002/" in m for m in dead
    )  # at the end


def test_a_check_reports_each_tenant_done_through_its_callback_in_one_process_and_in_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = many_tenants(tmp_path / "project", 6)
    every = [(done, 6) for done in range(1, 7)]
    calls: list[tuple[int, int]] = []
    check(project, None, TODAY, lambda done, total: calls.append((done, total)))
    assert calls == every
    monkeypatch.setattr(tenantpool, "PARALLEL_MIN_TENANTS", 2)
    monkeypatch.setattr(tenantpool.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(tenantpool, "CHUNK_TENANTS", 4)
    calls.clear()
    check(project, None, TODAY, lambda done, total: calls.append((done, total)))
    assert calls == every
    assert capsys.readouterr() == ("", "")  # the CLI draws the bar, on a terminal only


def test_results_past_the_budget_are_read_back_in_order_with_the_links_found_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = [
        TenantCheck(f"t{i:03d}", ["eu_gdpr"], [CheckFinding("x.y", "error" if i % 3 else "warning", "disclosure", "m")])
        for i in range(40)
    ]
    late = CheckFinding("link.dead", "error", "link", "t007/index.html: link '../x/' leads to no file of the site")
    monkeypatch.setattr(checkreport, "SPOOL_BUDGET", 1000)  # a few results at a time
    checked = Checked(tmp_path)
    for result in results:
        checked.add(result)
    checked.add_late("t007", late)
    assert checked.spilled > 30
    assert (checked.count("error"), checked.count("warning")) == (26 + 1, 14)
    back = list(checked)
    assert [r.slug for r in back] == [r.slug for r in results] and len(checked) == 40
    assert back[7].findings == [*results[7].findings, late] and checked[7] == back[7]
    assert back[8] == results[8] and checked[-1] == results[-1]
    checked.close()


def test_the_json_report_written_a_piece_at_a_time_is_the_whole_report_dumped(tmp_path: Path) -> None:
    report = check(REPO, None, TODAY)
    whole = json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert format_json(report) == whole and json.loads(whole)["tenants"]
    # Nothing found anywhere, and text that JSON escapes: a line break, quotes, a character past ASCII.
    empty = CheckReport(tmp_path, TODAY, Checked(tmp_path))
    assert format_json(empty) == json.dumps(empty.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    odd = CheckReport(tmp_path, TODAY, Checked(tmp_path), problems=[Problem('line\n"two" — é', file=tmp_path / "x")])
    odd.tenants.add(TenantCheck("t", [], [CheckFinding("a.b", "warning", "prose", 'say "it"\nonce — ü')]))
    assert format_json(odd) == json.dumps(odd.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert format_text(odd).endswith("\n1 error(s), 1 warning(s) in 1 tenant(s)\n")  # the problem is an error


# Runs in a fresh process (so that no earlier test's objects count): a check of the project with the main
# process's allocations traced, its spools small, so that both projects measured fill them.
TRACED_CHECK = """
import datetime as dt, sys, tracemalloc
from pathlib import Path
from policygen import check, checkreport, tenantpool
checkreport.SPOOL_BUDGET = check.INDEX_BUDGET = 1 << 14
tenantpool.PARALLEL_MIN_TENANTS = 1  # in worker processes, as a large site's are
tenantpool.os.cpu_count = lambda: 2  # the batches in flight, whose results wait here, are counted by cores, not tenants
root, today = Path(sys.argv[1]), dt.date(2026, 11, 22)
# What a check loads once, whatever its tenants (the words of each language it publishes: more than a megabyte
# parsed, its garbage freed whenever the collector runs), loaded before tracing: not counted against tenants.
check.check(root, [sorted(p.name for p in (root / "tenants").iterdir())[0]], today)
tracemalloc.start()
report = check.check(root, None, today)
for _ in checkreport.json_parts(report):
    pass
print(tracemalloc.get_traced_memory()[1])
"""
# What the check process keeps of a tenant outside its spools: its file names (a tuple shared with tenants of the
# same documents) and its line of the site index, made whole at the end; 0.3 kB here. It held every rendered page
# (about 60 kB a tenant) until the check was streamed. Both projects are larger than the batches two workers have
# in flight (2 x 2 batches of 8 tenants), and the machine's cores are taken as two: on one of eight, the larger
# project's peak held 128 tenants' results in flight, the smaller's 40, which read as 4.6 kB a tenant.
MAX_BYTES_PER_TENANT = 3 * 1024


@pytest.mark.slow
def test_the_check_process_holds_no_tenants_pages_and_few_of_its_results(tmp_path: Path) -> None:
    small, large = 40, 160
    peaks = {}
    for count in (small, large):
        project = many_tenants(tmp_path / str(count), count)
        done = subprocess.run(
            [sys.executable, "-c", TRACED_CHECK, str(project)], capture_output=True, text=True, cwd=REPO, check=True
        )
        peaks[count] = int(done.stdout.strip().splitlines()[-1])
    per_tenant = (peaks[large] - peaks[small]) / (large - small)
    assert per_tenant < MAX_BYTES_PER_TENANT, f"{per_tenant:.0f} bytes more per tenant ({peaks})"
