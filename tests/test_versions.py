"""Released versions: frozen snapshots, refusals, tamper detection, and what the build publishes from them."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from conftest import REPO, copy_project
from helpers import edit

from policygen.cli import cli
from policygen.engine import BuildReport, build
from policygen.errors import InputError, UsageError
from policygen.facts import Tenant
from policygen.site import BuildOptions
from policygen.versions import (
    Snapshot,
    canonical,
    content_hash,
    in_force,
    load_releases,
    release,
    release_folder,
    upcoming,
)

TODAY = dt.date(2026, 11, 22)
SLUG, DOC = "example-fitness", "privacy-policy"  # the invented demo tenant: two releases


def tenant_yaml(project: Path, slug: str = SLUG) -> Path:
    return project / "tenants" / slug / "tenant.yaml"


def releases_of(project: Path, slug: str = SLUG, doc: str = DOC) -> list[Snapshot]:
    return load_releases(project / "tenants" / slug, doc)


def site(project: Path, today: dt.date = TODAY, drafts: bool = False, out: str = "build") -> BuildReport:
    return build(project, project / out, BuildOptions(today=today, drafts=drafts))


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def text(path: Path) -> str:
    return " ".join(soup(path).get_text(" ").split())


def banners(path: Path) -> list[BeautifulSoup]:
    return soup(path).select("p.banner")


def cli_run(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--project", str(project), *args])
    return result.exit_code, result.output


def add_fact(project: Path, text: str = "We now keep a public log of every version of this policy.") -> str:
    file = tenant_yaml(project)
    file.write_text(
        file.read_text(encoding="utf-8") + f"\nnotes:\n  - id: version-log\n    clause: changes\n    text: {text}\n",
        encoding="utf-8",
    )
    return text


# --- the demo history --------------------------------------------------------------------


def test_the_demo_tenant_has_two_released_versions_with_different_dates() -> None:
    history = releases_of(REPO)
    assert [(s.version, s.effective) for s in history] == [(1, dt.date(2026, 1, 1)), (2, dt.date(2026, 3, 1))]


def test_a_snapshot_holds_the_facts_clauses_dates_and_hash_it_was_released_with() -> None:
    first, second = releases_of(REPO)
    assert (first.version, first.effective, first.released) == (1, dt.date(2026, 1, 1), dt.date(2025, 12, 1))
    assert isinstance(first.facts, Tenant)
    assert first.facts.dates.effective == first.effective  # the version's own dates, not today's tenant.yaml
    assert first.facts.organisation.legal_name == "Example Fitness Ltd"
    assert [c.id for c in first.clauses][:3] == ["at-a-glance", "introduction", "controller"]
    assert "1 January 2026" in first.texts()["changes"]
    assert "coaching" not in {r.id for r in first.facts.recipients}  # added only in version 2
    assert "coaching" in {r.id for r in second.facts.recipients}
    assert second.previous == first.hash and first.previous is None
    assert first.summary == "First published version."  # nothing before it to compare with
    assert isinstance(second.changes, dict) and second.changes["tier"] == "material"
    raw = json.loads(first.path.read_bytes()) if first.path else {}
    assert first.path is not None and first.path.read_bytes() == canonical(raw)  # stored canonical
    assert content_hash({k: v for k, v in raw.items() if k != "hash"}) == first.hash


# --- releasing ---------------------------------------------------------------------------


def test_release_freezes_the_document_as_it_reads_now(project: Path) -> None:
    added = add_fact(project)
    [snap] = release(project, SLUG, dt.date(2027, 1, 1), released=dt.date(2026, 11, 20))
    assert snap.path == release_folder(project / "tenants" / SLUG, DOC) / "0003-2027-01-01.json"
    assert (snap.version, snap.effective, snap.released) == (3, dt.date(2027, 1, 1), dt.date(2026, 11, 20))
    assert added in snap.texts()["changes"] and "1 January 2027" in snap.texts()["changes"]
    assert snap.previous == releases_of(project)[1].hash
    assert releases_of(project)[-1] == snap  # reads back verified and equal
    assert oct(snap.path.stat().st_mode & 0o777) != oct(0o600)  # an ordinary file for git, not a private temp file


def test_releasing_with_nothing_changed_is_refused(project: Path) -> None:
    code, output = cli_run(project, "release", SLUG, "--effective", "2027-01-01")
    assert code == 1
    assert "nothing to release" in output and "privacy-policy" in output
    assert len(releases_of(project)) == 2


def test_a_fact_no_clause_prints_is_no_new_version(project: Path) -> None:
    edit(tenant_yaml(project), "  accent: '#2b5d1f'", "  accent: '#2b5d1e'")  # branding only
    with pytest.raises(InputError, match="nothing to release"):
        release(project, SLUG, dt.date(2027, 1, 1))


def test_two_releases_cannot_share_an_effective_date(project: Path) -> None:
    add_fact(project)
    code, output = cli_run(project, "release", SLUG, "--effective", "2026-03-01")
    assert code == 1
    assert "already takes effect on 2026-03-01" in output and "0002-2026-03-01.json" in output
    assert len(releases_of(project)) == 2


def test_an_effective_date_before_the_previous_one_is_refused(project: Path) -> None:
    add_fact(project)
    code, output = cli_run(project, "release", SLUG, "--effective", "2025-01-01")
    assert code == 1
    assert "before the effective date of version 2 (2026-03-01)" in output
    assert len(releases_of(project)) == 2


def test_an_unknown_document_is_a_usage_error(project: Path) -> None:
    with pytest.raises(UsageError, match="did you mean 'privacy-policy'"):
        release(project, SLUG, dt.date(2027, 1, 1), document="privacy-polcy")
    code, _ = cli_run(project, "release", SLUG, "--document", "nope", "--effective", "2027-01-01")
    assert code == 2


def test_a_badly_written_date_is_a_usage_error(project: Path) -> None:
    code, output = cli_run(project, "release", SLUG, "--effective", "1 Jan 2027")
    assert code == 2 and "YYYY-MM-DD" in output


def test_without_document_only_the_changed_documents_are_released(project: Path) -> None:
    first = release(project, "ihm-connect", dt.date(2025, 6, 1), released=dt.date(2025, 6, 1))
    assert [s.document for s in first] == ["privacy-policy", "data-usage-policy", "data-deletion-policy"]
    edit(
        tenant_yaml(project, "ihm-connect"),
        "  - id: termination-deletion\n",
        "  - id: termination-deletion\n    # edited\n",
    )  # a comment: no change
    edit(
        tenant_yaml(project, "ihm-connect"),
        "a confirmation email will be sent.",
        "a confirmation email will be sent to the address on the account.",
    )
    released = release(project, "ihm-connect", dt.date(2027, 2, 1), released=dt.date(2026, 12, 1))
    assert [s.document for s in released] == ["data-deletion-policy"]
    assert len(releases_of(project, "ihm-connect", "data-deletion-policy")) == 2
    assert len(releases_of(project, "ihm-connect", "data-usage-policy")) == 1


def test_a_summariser_fills_the_change_summary(project: Path) -> None:
    add_fact(project)
    seen: list[tuple[int | None, int]] = []

    def summarise(previous: Snapshot | None, candidate: Snapshot) -> dict[str, str]:
        seen.append((previous.version if previous else None, candidate.version))
        return {"summary": "Adds a public version log.", "tier": "editorial"}

    [snap] = release(project, SLUG, dt.date(2027, 1, 1), summarise=summarise)
    assert seen == [(2, 3)]
    assert snap.changes == {"summary": "Adds a public version log.", "tier": "editorial"}
    assert releases_of(project)[-1].summary == "Adds a public version log."
    report = site(project)
    history = text(report.out / SLUG / DOC / "history" / "index.html")
    assert "Adds a public version log." in history


def test_a_summariser_can_refuse_a_release(project: Path) -> None:
    add_fact(project)

    def refuse(previous: Snapshot | None, candidate: Snapshot) -> None:
        from policygen.errors import Problem

        raise InputError([Problem("material change needs 30 days' notice")])

    with pytest.raises(InputError, match="30 days"):
        release(project, SLUG, dt.date(2027, 1, 1), summarise=refuse)
    assert len(releases_of(project)) == 2


def test_an_interrupted_release_leaves_no_snapshot_behind(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_fact(project)
    folder = release_folder(project / "tenants" / SLUG, DOC)
    before = sorted(p.name for p in folder.iterdir())

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt  # as if the process were stopped between writing and publishing the file

    monkeypatch.setattr(os, "link", crash)
    with pytest.raises(KeyboardInterrupt):
        release(project, SLUG, dt.date(2027, 1, 1))
    assert sorted(p.name for p in folder.iterdir()) == before  # no new file, no temporary file
    monkeypatch.undo()
    [snap] = release(project, SLUG, dt.date(2027, 1, 1))
    assert snap.version == 3


def test_a_leftover_temporary_file_is_not_part_of_the_history(project: Path) -> None:
    folder = release_folder(project / "tenants" / SLUG, DOC)
    (folder / ".0003-2027-01-01.json.abc.tmp").write_text('{"half": ', encoding="utf-8")
    assert [s.version for s in releases_of(project)] == [1, 2]
    site(project)


# --- the frozen record -------------------------------------------------------------------


def test_a_released_version_stays_fixed_when_the_library_and_facts_change(project: Path) -> None:
    before = site(project, out="before")
    pages = [f"{SLUG}/{DOC}/index.html", f"{SLUG}/{DOC}/2026-01-01/index.html", f"{SLUG}/{DOC}/2026-03-01/index.html"]
    old = {p: text(before.out / p) for p in pages}
    edit(
        project / "content" / "privacy-policy" / "170-changes.md",
        "When we change this policy",
        "Whenever we revise this policy",
    )
    edit(tenant_yaml(project), "privacy@example.org", "jane.doe@example.org")
    after = site(project, out="after")
    for p in pages:
        assert text(after.out / p) == old[p], p
        assert "jane.doe@example.org" not in old[p] and "Whenever we revise" not in old[p]
    snapshot_texts = [s.texts() for s in releases_of(project)]
    assert (
        "privacy@example.org" in snapshot_texts[0]["controller"]
        and "privacy@example.org" in snapshot_texts[1]["controller"]
    )
    drafts = site(project, drafts=True, out="drafts")
    draft = text(drafts.out / SLUG / DOC / "draft" / "index.html")
    assert "jane.doe@example.org" in draft and "Whenever we revise this policy" in draft


def test_a_hand_edited_snapshot_fails_the_build_naming_the_file(project: Path) -> None:
    file = releases_of(project)[0].path
    assert file is not None
    edit(file, "privacy@example.org", "someone@example.org")
    with pytest.raises(InputError) as caught:
        site(project)
    [problem] = caught.value.problems
    assert problem.file == file and "changed after its release" in problem.message
    code, output = cli_run(project, "build", "--today", TODAY.isoformat())
    assert code == 1
    assert "tenants/example-fitness/releases/privacy-policy/0001-2026-01-01.json" in output
    assert "no longer matches its hash" in output and "Traceback" not in output


def test_a_snapshot_rewritten_with_a_fresh_hash_breaks_the_chain(project: Path) -> None:
    file = releases_of(project)[0].path
    assert file is not None
    raw = json.loads(file.read_text(encoding="utf-8"))
    raw["clauses"][0]["html"] = raw["clauses"][0]["html"].replace("Example Fitness", "ACME")
    del raw["hash"]
    file.write_bytes(canonical({**raw, "hash": content_hash(raw)}))
    with pytest.raises(InputError) as caught:
        site(project)
    assert [p.file.name for p in caught.value.problems if p.file] == ["0002-2026-03-01.json"]
    assert "history was rewritten" in caught.value.problems[0].message


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda raw: raw.update(version=5), "does not match its content"),
        (lambda raw: raw.pop("facts"), "Field required"),
    ],
)
def test_a_malformed_snapshot_is_reported_with_its_file(project: Path, damage: object, expected: str) -> None:
    file = releases_of(project)[1].path
    assert file is not None
    raw = json.loads(file.read_text(encoding="utf-8"))
    del raw["hash"]
    damage(raw)  # type: ignore[operator]
    file.write_bytes(canonical({**raw, "hash": content_hash(raw)}))
    with pytest.raises(InputError) as caught:
        site(project)
    assert any(p.file == file and expected in p.message for p in caught.value.problems), caught.value


def test_a_snapshot_that_is_not_json_is_reported_with_its_line(project: Path) -> None:
    file = releases_of(project)[1].path
    assert file is not None
    file.write_text('{\n  "changes": null,\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        site(project)
    [problem] = caught.value.problems
    assert problem.file == file and problem.line == 3


# --- what the build publishes --------------------------------------------------------------


@pytest.mark.slow
def test_the_stable_url_switches_to_a_new_version_on_its_effective_date(project: Path) -> None:
    add_fact(project, "Version three is here.")
    release(project, SLUG, dt.date(2027, 1, 1), released=dt.date(2026, 11, 20))
    day_before = site(project, today=dt.date(2026, 12, 31), out="before")
    stable = day_before.out / SLUG / DOC / "index.html"
    assert "Version three is here." not in text(stable)
    [notice] = banners(stable)
    assert "This policy changes on 1 January 2027." in notice.get_text()
    assert [a["href"] for a in notice.find_all("a")] == ["2027-01-01/index.html", "2027-01-01/changes/index.html"]
    assert (day_before.out / SLUG / DOC / "2027-01-01" / "changes" / "index.html").is_file()
    upcoming_page = day_before.out / SLUG / DOC / "2027-01-01" / "index.html"
    assert "Version three is here." in text(upcoming_page)
    assert "takes effect on 1 January 2027" in banners(upcoming_page)[0].get_text()
    entry = {f.path: f for f in day_before.outputs}[f"{SLUG}/{DOC}/index.html"]
    assert (entry.version, entry.effective) == ("2", dt.date(2026, 3, 1))

    on_the_day = site(project, today=dt.date(2027, 1, 1), out="after")
    stable = on_the_day.out / SLUG / DOC / "index.html"
    assert "Version three is here." in text(stable)
    assert banners(stable) == []
    old = on_the_day.out / SLUG / DOC / "2026-03-01" / "index.html"
    [superseded] = banners(old)
    assert "banner-superseded" in superseded["class"]
    assert "until 1 January 2027, when version 3 replaced it" in superseded.get_text()
    assert [a["href"] for a in superseded.find_all("a")] == ["../2027-01-01/index.html", "../index.html"]


def test_every_version_has_a_dated_page_and_the_history_lists_them(project: Path) -> None:
    report = site(project)
    folder = report.out / SLUG / DOC
    assert (folder / "2026-01-01" / "index.html").is_file() and (folder / "2026-03-01" / "index.html").is_file()
    first = folder / "2026-01-01" / "index.html"
    assert "1 January 2026" in text(first) and "Partner coaching services" not in first.read_text(encoding="utf-8")
    [old] = banners(first)
    assert "version 2 replaced it" in old.get_text()
    history = soup(folder / "history" / "index.html")
    rows = [" ".join(tr.get_text(" ").split()) for tr in history.select("tbody tr")]
    assert len(rows) == 2
    assert rows[0].startswith("Version 2 1 March 2026 15 January 2026 in force")
    assert rows[1].startswith("Version 1 1 January 2026 1 December 2025 superseded First published version")
    assert [a["href"] for a in history.select("tbody td:first-child a")] == [
        "../2026-03-01/index.html",
        "../2026-01-01/index.html",
    ]
    kinds = {f.path: (f.kind, f.version) for f in report.outputs if f.tenant == SLUG}
    assert kinds[f"{SLUG}/{DOC}/2026-01-01/index.html"] == ("archive", "1")
    assert kinds[f"{SLUG}/{DOC}/history/index.html"] == ("history", None)
    assert kinds[f"{SLUG}/{DOC}/index.html"] == ("page", "2")


def test_unreleased_edits_appear_only_as_a_marked_draft(project: Path) -> None:
    added = add_fact(project)
    plain = site(project, out="plain")
    assert not (plain.out / SLUG / DOC / "draft").exists()
    assert added not in text(plain.out / SLUG / DOC / "index.html")
    with_drafts = site(project, drafts=True, out="drafts")
    draft = with_drafts.out / SLUG / DOC / "draft" / "index.html"
    assert added in text(draft)
    page = soup(draft)
    assert page.find("meta", attrs={"name": "robots"})["content"] == "noindex"
    assert page.title is not None and page.title.get_text().startswith("Draft: ")
    assert "not released" in banners(draft)[0].get_text()
    assert "Effective" not in [term.get_text() for term in page.select("dl.dates dt")]  # in force on no date yet
    entry = {f.path: f for f in with_drafts.outputs}[f"{SLUG}/{DOC}/draft/index.html"]
    assert (entry.kind, entry.version) == ("page", "draft")
    # Documents without unreleased edits get no draft page.
    assert not (with_drafts.out / "ims-pro" / "privacy-policy" / "draft").exists()


def test_a_document_never_released_publishes_from_the_working_tree(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", releases=False)
    edit(tenant_yaml(project), "privacy@example.org", "jane.doe@example.org")
    report = site(project)
    stable = report.out / SLUG / DOC / "index.html"
    assert "jane.doe@example.org" in text(stable)
    assert soup(stable).find("meta", attrs={"name": "policygen:status"})["content"] == "unreleased"
    assert not (report.out / SLUG / DOC / "history").exists()
    entry = {f.path: f for f in report.outputs}[f"{SLUG}/{DOC}/index.html"]
    assert entry.version is None and entry.effective == dt.date(2026, 3, 1)


def test_a_first_version_not_yet_in_force_is_shown_with_its_date(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", releases=False)
    release(project, SLUG, dt.date(2027, 6, 1), released=dt.date(2026, 11, 1))
    report = site(project)
    stable = report.out / SLUG / DOC / "index.html"
    assert "This policy takes effect on 1 June 2027." in banners(stable)[0].get_text()


def test_in_force_and_upcoming_pick_versions_by_date() -> None:
    history = releases_of(REPO)
    assert in_force(history, dt.date(2025, 12, 31)) is None
    assert in_force(history, dt.date(2026, 1, 1)) == history[0]
    assert in_force(history, dt.date(2026, 2, 28)) == history[0]
    assert in_force(history, dt.date(2026, 3, 1)) == history[1]
    assert upcoming(history, dt.date(2026, 2, 28)) == [history[1]]


def test_two_releases_made_from_the_same_history_are_caught(project: Path) -> None:
    # As when two branches each release a version 3 and both are merged.
    add_fact(project, "Branch one.")
    [first] = release(project, SLUG, dt.date(2027, 1, 1))
    assert first.path is not None
    moved = project.parent / "kept-aside.json"  # out of releases/, where a stray file is an error
    first.path.rename(moved)
    edit(tenant_yaml(project), "Branch one.", "Branch two.")
    release(project, SLUG, dt.date(2027, 2, 1))
    moved.rename(first.path)
    with pytest.raises(InputError) as caught:
        site(project)
    [problem] = caught.value.problems
    assert problem.file is not None and problem.file.name == "0003-2027-02-01.json"
    assert "out of sequence" in problem.message and "delete the later file" in (problem.suggestion or "")


def test_a_released_document_dropped_from_the_tenant_is_reported_not_silently_unpublished(project: Path) -> None:
    releases = project / "tenants" / SLUG / "releases"
    (releases / DOC).rename(releases / "cookie-policy")  # as if cookie-policy had been released, then unlisted
    with pytest.raises(InputError) as caught:
        site(project)
    [problem] = caught.value.problems
    assert problem.file == releases / "cookie-policy"
    assert "has released versions but is not in this tenant's documents" in problem.message


def test_facts_that_no_longer_fit_the_model_are_reported_with_their_snapshot() -> None:
    snap = releases_of(REPO)[0]
    from dataclasses import replace

    old = replace(snap, facts_data={**snap.facts_data, "retired_key": True})
    with pytest.raises(InputError) as caught:
        old.facts  # noqa: B018
    [problem] = caught.value.problems
    assert problem.file == snap.path and "no longer fit the facts model: retired_key" in problem.message
