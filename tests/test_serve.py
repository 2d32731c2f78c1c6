"""policygen serve: live preview while editing, without ever serving a half-built site."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import many_tenants
from helpers import edit

from policygen import preview, serve, statcache
from policygen.cli import cli
from policygen.engine import BuildReport, TenantResult, build
from policygen.errors import UsageError
from policygen.output import Output
from policygen.preview import MemorySite, WrittenSite
from policygen.serve import (
    LiveState,
    Rebuilder,
    ServeOptions,
    Session,
    inject,
    is_source,
    page_file,
    resolve,
    site_shapes,
)
from policygen.site import BuildOptions

WAIT = 20.0  # generous: a loaded CI machine may be slow; nothing here measures speed


class Events:
    """Reads the server-sent event stream in a thread, one (event, data) pair at a time."""

    def __init__(self, session: Session, page: str | None = None) -> None:
        """*page*: the URL path of the page this stream belongs to, as the live script tells it."""
        host, port = session.server.server_address[:2]
        self.conn = http.client.HTTPConnection(str(host), int(port), timeout=WAIT)
        self.conn.request("GET", "/__policygen/events" + (f"?page={page}" if page else ""))
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type") == "text/event-stream"
        self.queue: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name = ""
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    self.queue.put((name, json.loads(line[6:])))
        except (OSError, ValueError):
            return

    def next(self) -> tuple[str, dict[str, object]]:
        """The next event other than progress (tests of progress read `any`)."""
        while True:
            event = self.any()
            if event[0] != "progress":
                return event

    def any(self) -> tuple[str, dict[str, object]]:
        return self.queue.get(timeout=WAIT)

    def close(self) -> None:
        self.conn.close()


def get(
    session: Session, path: str, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, bytes]:
    host, port = session.server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=WAIT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def start(project: Path, tmp_path: Path, poll: bool = False) -> Session:
    session = Session(project, ServeOptions(port=0, out=tmp_path / "out", poll=poll))
    session.start()
    return session


@pytest.fixture
def session(project: Path, tmp_path: Path) -> Iterator[Session]:
    s = start(project, tmp_path)
    yield s
    s.stop()


def test_serve_on_the_output_a_build_left_as_it_is_starts_without_building(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0)  # the build may record inputs written a moment before
    build(project, tmp_path / "out", BuildOptions(drafts=True))  # what serve would write: drafts, today
    time.sleep(0.05)  # an edit from here has another modification time
    said: list[str] = []
    session = Session(project, ServeOptions(port=0, out=tmp_path / "out"), lambda text, error: said.append(text))
    session.start()
    try:
        assert session.rebuilder.last is None and said[0].startswith("nothing changed since the last build")
        events = Events(session, "/ims-pro/privacy-policy/")
        assert events.next() == ("hello", {"generation": 1})
        assert b"IMS Pro" in get(session, "/ims-pro/privacy-policy/")[1]
        edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Edited")
        assert events.next()[0] == "reload"
        assert b"IMS Pro Edited" in get(session, "/ims-pro/privacy-policy/")[1]
        assert wait_until(lambda: session.rebuilder.last is not None)
        assert session.rebuilder.last is not None and session.rebuilder.last.rendered_tenants == ["ims-pro"]
        events.close()
    finally:
        session.stop()


def test_a_tenant_edit_reloads_open_pages_and_rerenders_only_that_tenant(session: Session, project: Path) -> None:
    events = Events(session)
    assert events.next() == ("hello", {"generation": 1})
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Edited")
    assert events.next() == ("reload", {"generation": 2})
    status, page = get(session, "/ims-pro/privacy-policy/")
    assert status == 200 and b"IMS Pro Edited" in page
    assert session.rebuilder.last is not None and session.rebuilder.last.rendered_tenants == ["ims-pro"]
    events.close()


def test_a_clause_edit_rerenders_the_tenants_that_use_it(session: Session, project: Path) -> None:
    events = Events(session)
    events.next()
    clause = next((project / "content/data-usage-policy").glob("010-*.md"))
    clause.write_text(clause.read_text(encoding="utf-8") + "\nA sentence added while serving.\n", encoding="utf-8")
    assert events.next()[0] == "reload"
    assert session.rebuilder.last is not None and session.rebuilder.last.rendered_tenants == ["ihm-connect"]
    # The document has no release: the working text is its page.
    status, page = get(session, "/ihm-connect/data-usage-policy/")
    assert status == 200 and b"A sentence added while serving." in page
    events.close()


def test_a_theme_edit_rerenders_everything_with_the_new_template(session: Session, project: Path) -> None:
    events = Events(session)
    events.next()
    template = project / "themes/default/templates/tenant.html"
    edit(template, "</ul>\n{% endblock %}", "</ul>\n<p>Theme edited while serving.</p>\n{% endblock %}")
    assert events.next()[0] == "reload"
    assert session.rebuilder.last is not None
    assert session.rebuilder.last.rendered_tenants == ["example-fitness", "ihm-connect", "ims-global", "ims-pro"]
    assert b"Theme edited while serving." in get(session, "/ims-global/")[1]
    events.close()


def test_a_rules_yaml_edit_rerenders_every_tenant(session: Session, project: Path) -> None:
    events = Events(session)
    events.next()
    # rules.yaml is an input of every tenant's build key: serve must watch it as the build reads it.
    (project / "rules.yaml").write_text("notice_days: 10\n", encoding="utf-8")
    assert events.next()[0] == "reload"
    assert session.rebuilder.last is not None
    assert session.rebuilder.last.rendered_tenants == ["example-fitness", "ihm-connect", "ims-global", "ims-pro"]
    events.close()


def test_a_broken_edit_shows_file_and_line_and_keeps_the_last_good_site(session: Session, project: Path) -> None:
    events = Events(session)
    events.next()
    _, before = get(session, "/ims-pro/privacy-policy/")
    file = project / "tenants/ims-pro/tenant.yaml"
    good = file.read_text(encoding="utf-8")
    file.write_text(good.replace("  legal_name:", "  legal_nme:", 1), encoding="utf-8")
    name, data = events.next()
    assert name == "problem"
    problems = data["problems"]
    assert isinstance(problems, list) and problems
    assert {p["file"] for p in problems} == {"tenants/ims-pro/tenant.yaml"}
    assert all(isinstance(p["line"], int) for p in problems) and any("legal_nme" in p["text"] for p in problems)
    status, still = get(session, "/ims-pro/privacy-policy/")
    assert status == 200 and still == before
    # A new page load learns about the problem at once, and recovers on the next good save.
    late = Events(session)
    assert late.next()[0] == "hello" and late.next()[0] == "problem"
    file.write_text(good.replace("GJ Global IT Ventures", "GJ Global IT Ventures (recovered)"), encoding="utf-8")
    assert events.next()[0] == "reload"
    assert b"(recovered)" in get(session, "/ims-pro/privacy-policy/")[1]
    events.close()
    late.close()


def test_a_template_error_is_reported_with_its_clause_file(session: Session, project: Path) -> None:
    events = Events(session)
    events.next()
    clause = project / "content/privacy-policy/170-changes.md"
    clause.write_text(clause.read_text(encoding="utf-8") + "\n{{ no_such_fact }}\n", encoding="utf-8")
    name, data = events.next()
    assert name == "problem"
    files = {p["file"] for p in data["problems"]}  # type: ignore[union-attr]
    assert files == {"content/privacy-policy/170-changes.md"}
    events.close()


def test_the_reload_script_is_added_by_the_server_never_written(session: Session, tmp_path: Path) -> None:
    status, page = get(session, "/ims-pro/privacy-policy/")
    assert status == 200 and b'src="/__policygen/live.js"' in page
    on_disk = (tmp_path / "out/ims-pro/privacy-policy/index.html").read_bytes()
    assert b"__policygen" not in on_disk
    status, script = get(session, "/__policygen/live.js")
    assert status == 200 and b"EventSource" in script and b"innerHTML" not in script
    assert get(session, "/assets/style.css")[1] == (tmp_path / "out/assets/style.css").read_bytes()


def test_paths_outside_the_output_folder_are_refused(session: Session, project: Path, tmp_path: Path) -> None:
    assert get(session, "/../tenants/ims-pro/tenant.yaml")[0] == 403
    assert get(session, "/%2e%2e/%2e%2e/etc/passwd")[0] == 403
    assert get(session, "/ims-pro/..%2f..%2fmanifest.json")[0] == 403
    (tmp_path / "out/leak").symlink_to(project / "tenants")
    assert get(session, "/leak/ims-pro/tenant.yaml")[0] == 403
    assert get(session, "/no-such-page/")[0] == 404


def test_directories_redirect_to_their_slash_so_relative_links_work(session: Session) -> None:
    host, port = session.server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=WAIT)
    conn.request("GET", "/ims-pro/privacy-policy")
    response = conn.getresponse()
    assert response.status == 301 and response.getheader("Location") == "/ims-pro/privacy-policy/"
    conn.close()


def test_requests_are_bounded_and_read_only(session: Session) -> None:
    assert get(session, "/", method="POST", body=b"x")[0] == 405
    assert get(session, "/", headers={"Content-Length": "5"}, body=b"hello")[0] == 413
    assert get(session, "/" + "a" * 5000)[0] == 414


def test_serves_on_localhost_unless_told_otherwise(session: Session) -> None:
    assert ServeOptions().host == "127.0.0.1"
    assert session.server.server_address[0] == "127.0.0.1"
    host = next(p for p in cli.commands["serve"].params if p.name == "host")
    assert host.default == "127.0.0.1"


def test_polling_mode_sees_edits_too(project: Path, tmp_path: Path) -> None:
    session = start(project, tmp_path, poll=True)
    try:
        events = Events(session)
        events.next()
        edit(project / "tenants/ims-global/tenant.yaml", "display_name: IMS", "display_name: IMS Polled")
        assert events.next()[0] == "reload"
        assert b"IMS Polled" in get(session, "/ims-global/privacy-policy/")[1]
        events.close()
    finally:
        session.stop()


def test_a_burst_of_saves_is_one_rebuild(project: Path, tmp_path: Path) -> None:
    state = LiveState()
    rebuilder = Rebuilder(project, ServeOptions(out=tmp_path / "out", debounce=0.3), state, lambda m, e: None)
    rebuilder.build()
    rebuilder.start()
    try:
        seq = state.snapshot.seq
        file = project / "tenants" / "ims-pro" / "tenant.yaml"
        good = file.read_text(encoding="utf-8")
        for i in range(10):  # saves that change the page: one that changes nothing tells open pages nothing
            file.write_text(good.replace("display_name: IMS Pro", f"display_name: IMS Pro {i}", 1), encoding="utf-8")
            rebuilder.changed(file)
        after = state.wait(seq, WAIT)
        assert after.seq == seq + 1
        assert state.wait(after.seq, 1.0).seq == after.seq  # and no second build follows
    finally:
        rebuilder.stop()


def test_only_project_inputs_trigger_rebuilds(tmp_path: Path) -> None:
    root = tmp_path
    assert is_source(root / "tenants/a/tenant.yaml", root)
    assert is_source(root / "content/privacy-policy/010-x.md", root)
    assert is_source(root / "policygen.yaml", root)
    assert is_source(root / "rules.yaml", root)
    assert is_source(root / "layouts", root)
    for other in (
        "build/index.html",
        ".build.policygen-new/x",
        ".git/index",
        "tenants/a/.tenant.yaml.swp",
        "tenants/a/tenant.yaml~",
        "notes.txt",
        "content/privacy-policy/.#010-x.md",
        "tenants/a/.#tenant.yaml",
        "tenants/a/tenant.yaml.swx",
        "tenants/a/4913",
        "tenants/a/tenant.yaml.bak",
        "tenants/a/#tenant.yaml#",
        "tenants/a/.DS_Store",
        "tenants/a/tenant.yaml.tmp",
        "themes/default/static/.style.css.swp",
    ):
        assert not is_source(root / other, root), other


def test_every_project_input_is_watched_hashed_and_never_written_into(project: Path, tmp_path: Path) -> None:
    from policygen.deps import settings_digest
    from policygen.inputs import INPUT_FOLDERS, PROJECT_FILES
    from policygen.output import check_out_dir
    from policygen.project import load_project

    for name in (*PROJECT_FILES, *INPUT_FOLDERS):
        assert is_source(project / name, project), name
    for name in INPUT_FOLDERS:
        with pytest.raises(UsageError):
            check_out_dir(project / name / "out", load_project(project).reserved)
    loaded = load_project(project)
    before = settings_digest(loaded)
    for name in PROJECT_FILES:
        file = project / name
        file.write_text((file.read_text(encoding="utf-8") if file.exists() else "") + "\n# edited\n", "utf-8")
        after = settings_digest(loaded)
        assert after != before, name
        before = after


def test_resolve_maps_urls_to_files_inside_the_site(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a/index.html").write_text("x", encoding="utf-8")
    assert resolve(tmp_path, "/a/") == (tmp_path.resolve() / "a/index.html", 200)
    assert resolve(tmp_path, "/a/index.html?x=1#y")[0] == tmp_path.resolve() / "a/index.html"
    assert resolve(tmp_path, "/a")[1] == 301
    assert resolve(tmp_path, "/a/%00")[1] == 400
    assert resolve(tmp_path, "/a\\..\\..")[1] == 400


def test_inject_places_the_script_before_the_body_ends() -> None:
    assert inject(b"<html><body><p>x</p></body></html>", 7) == (
        b'<html><body><p>x</p><script src="/__policygen/live.js" data-generation="7"></script></body></html>'
    )


def test_serve_command_refuses_a_port_in_use(project: Path, session: Session) -> None:
    port = session.server.server_address[1]
    result = CliRunner().invoke(
        cli, ["-C", str(project), "serve", "--port", str(port), "--out", str(project / "other-out")]
    )
    assert result.exit_code == 2 and "cannot listen" in result.output


def test_a_broken_edit_is_printed_in_the_terminal_with_file_and_line(project: Path, tmp_path: Path) -> None:
    printed: list[tuple[str, bool]] = []
    state = LiveState()
    rebuilder = Rebuilder(project, ServeOptions(out=tmp_path / "out"), state, lambda m, e: printed.append((m, e)))
    assert rebuilder.build() is not None
    file = project / "tenants/ims-pro/tenant.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("  legal_name:", "  legal_nme:", 1), encoding="utf-8")
    assert rebuilder.build({file}) is None
    errors = [m for m, is_error in printed if is_error]
    assert any(re.match(r"tenants/ims-pro/tenant\.yaml:\d+:\d+: error: ", m) for m in errors)
    assert errors[-1].endswith("still serving the last good build")
    assert state.snapshot.problems and state.snapshot.generation == 1


def test_an_unexpected_error_is_reported_and_the_next_save_rebuilds(
    session: Session, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = Events(session)
    events.next()
    assert session.rebuilder.warmed.wait(60)  # serve's own renders at start are done: the next is the edit's
    real = session.rebuilder.preview.render
    calls: list[int] = []

    def broken_once(slugs: list[str], written: WrittenSite) -> list[TenantResult]:  # an edit's first step
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in the build")
        return real(slugs, written)

    monkeypatch.setattr(session.rebuilder.preview, "render", broken_once)
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro One")
    name, data = events.next()
    assert name == "problem" and "RuntimeError: a bug in the build" in data["problems"][0]["text"]  # type: ignore[index]
    edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro One", "display_name: IMS Pro Two")
    assert events.next()[0] == "reload"
    assert b"IMS Pro Two" in get(session, "/ims-pro/privacy-policy/")[1]
    events.close()


def test_an_odd_yaml_value_and_editor_files_do_not_stop_the_rebuilds(session: Session, project: Path) -> None:
    events = Events(session)
    events.next()
    file = project / "tenants/ims-pro/tenant.yaml"
    good = file.read_text(encoding="utf-8")
    (file.parent / ".#tenant.yaml").symlink_to("writer@host.4242:1767225600")  # Emacs locks the file being edited
    file.write_text(good.replace("display_name: IMS Pro", "display_name: !!bool maybe", 1), encoding="utf-8")
    assert events.next()[0] == "problem"
    file.write_text(good.replace("display_name: IMS Pro", "display_name: IMS Pro Fixed", 1), encoding="utf-8")
    assert events.next()[0] == "reload"
    assert b"IMS Pro Fixed" in get(session, "/ims-pro/privacy-policy/")[1]
    events.close()


@pytest.mark.slow
def test_serve_on_a_hundred_tenants_serves_every_edit(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # Past 64 tenants the build uses worker processes: every rebuild must still work in a long-lived server.
    project = many_tenants(tmp_path / "project", 103)
    printed: list[tuple[str, bool]] = []
    session = Session(project, ServeOptions(port=0, out=tmp_path / "out"), lambda m, e: printed.append((m, e)))
    session.start()
    try:
        events = Events(session)
        assert events.next() == ("hello", {"generation": 1})
        tenant = project / "tenants/ims-global-002/tenant.yaml"
        edit(tenant, "display_name: IMS", "display_name: First Edit")
        assert events.next() == ("reload", {"generation": 2})
        assert b"First Edit" in get(session, "/ims-global-002/privacy-policy/")[1]
        edit(tenant, "display_name: First Edit", "display_name: Second Edit")
        assert events.next() == ("reload", {"generation": 3})
        assert b"Second Edit" in get(session, "/ims-global-002/privacy-policy/")[1]
        clause = project / "content/privacy-policy/010-introduction.md"
        clause.write_text(clause.read_text(encoding="utf-8") + "\nA sentence for every tenant.\n", encoding="utf-8")
        assert events.next() == ("reload", {"generation": 4})
        assert session.rebuilder.last is not None and len(session.rebuilder.last.rendered_tenants) >= 64
        assert b"A sentence for every tenant." in get(session, "/ims-global-098/privacy-policy/")[1]
        events.close()
    finally:
        session.stop()
    assert [m for m, is_error in printed if is_error] == []
    assert "Traceback" not in capfd.readouterr().err


def test_a_disk_error_in_a_rebuild_is_one_line_naming_the_path(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed: list[tuple[str, bool]] = []
    state = LiveState()
    rebuilder = Rebuilder(project, ServeOptions(out=tmp_path / "out"), state, lambda m, e: printed.append((m, e)))
    assert rebuilder.build() is not None

    def full() -> object:
        raise OSError(28, "No space left on device", str(tmp_path / ".out.policygen-new/index.html"))

    monkeypatch.setattr(rebuilder.builder, "build", full)
    assert rebuilder.build() is None
    assert [m for m, is_error in printed if is_error] == [
        f"error: No space left on device: {tmp_path}/.out.policygen-new/index.html; still serving the last good build"
    ]
    assert state.snapshot.problems[0].message.startswith("No space left on device: ")


class HeldWrites:
    """Holds the session's disk writes until released, counting them: what is served meanwhile comes from memory."""

    def __init__(self, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = session.rebuilder.builder.build
        self.release = threading.Event()
        self.started = 0
        monkeypatch.setattr(session.rebuilder.builder, "build", self._build)

    def _build(self) -> BuildReport:
        self.started += 1
        assert self.release.wait(WAIT)
        return self.real()


def wait_until(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.slow
def test_a_tenant_edit_is_served_from_memory_before_the_site_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 103)
    session = start(project, tmp_path)
    try:
        held = HeldWrites(session, monkeypatch)
        events = Events(session, "/ims-pro-003/privacy-policy/")
        events.next()
        edit(project / "tenants/ims-pro-003/tenant.yaml", "display_name: IMS Pro", "display_name: From Memory")
        assert events.next()[0] == "reload"
        assert b"From Memory" in get(session, "/ims-pro-003/privacy-policy/")[1]
        assert b"From Memory" in get(session, "/")[1]  # the site index lists the tenant by its new name
        other = Events(session, "/ims-global-006/privacy-policy/")
        other.next()
        edit(project / "tenants/ims-global-006/tenant.yaml", "display_name: IMS", "display_name: Also Memory")
        assert other.next()[0] == "reload"
        index = get(session, "/")[1]
        assert b"Also Memory" in index and b"From Memory" in index  # both tenants edited since the last write
        other.close()
        on_disk = tmp_path / "out/ims-pro-003/privacy-policy/index.html"
        assert b"From Memory" not in on_disk.read_bytes()
        held.release.set()
        assert wait_until(lambda: b"From Memory" in on_disk.read_bytes())
        assert wait_until(lambda: len(session.rebuilder.memory) == 0)  # written: served from disk again
        assert held.started == 1
        assert b"From Memory" in get(session, "/ims-pro-003/privacy-policy/")[1]
        events.close()
    finally:
        session.stop()


@pytest.mark.slow
def test_a_clause_every_tenant_uses_serves_the_viewed_pages_first_then_the_rest_with_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = many_tenants(tmp_path / "project", 103)
    printed: list[tuple[str, bool]] = []
    session = Session(project, ServeOptions(port=0, out=tmp_path / "out"), lambda m, e: printed.append((m, e)))
    session.start()
    try:
        held = HeldWrites(session, monkeypatch)
        viewed = Events(session, "/ims-global-050/privacy-policy/")
        viewed.next()
        clause = project / "content/privacy-policy/010-introduction.md"
        clause.write_text(clause.read_text(encoding="utf-8") + "\nA sentence for every tenant.\n", encoding="utf-8")
        assert viewed.any()[0] == "reload"  # before any progress: the viewed page came first
        assert b"A sentence for every tenant." in get(session, "/ims-global-050/privacy-policy/")[1]
        # (Its sources, which the server adds from the inputs as they are now, are not its text.)
        text = get(session, "/ims-global-098/privacy-policy/")[1].split(b'id="policygen-sources"')[0]
        assert b"A sentence for every tenant." not in text
        assert session.rebuilder.last is not None and session.rebuilder.last.rendered_tenants == ["ims-global-050"]
        held.release.set()
        progress = []
        while not progress or progress[-1]["done"] != progress[-1]["total"]:
            name, data = viewed.any()
            assert name == "progress"
            progress.append(data)
        assert {p["total"] for p in progress} == {103}
        assert wait_until(lambda: b"A sentence for every tenant." in get(session, "/ims-global-098/privacy-policy/")[1])
        viewed.close()
    finally:
        session.stop()
    told = [m for m, _ in printed if m.startswith("rendering: ")]
    assert told and told[-1] == "rendering: 103 of 103 tenants"  # counts, never names
    assert [m for m, is_error in printed if is_error] == []


def test_after_the_edits_the_output_folder_is_what_a_fresh_build_writes(project: Path, tmp_path: Path) -> None:
    today = dt.date(2026, 6, 1)
    session = Session(project, ServeOptions(port=0, out=tmp_path / "out", build=BuildOptions(today=today, drafts=True)))
    session.start()
    try:
        events = Events(session, "/ims-pro/privacy-policy/")
        events.next()
        tenant = project / "tenants/ims-pro/tenant.yaml"
        edit(tenant, "display_name: IMS Pro", "display_name: IMS Pro One")
        assert events.next()[0] == "reload"
        edit(tenant, "display_name: IMS Pro One", "display_name: IMS Pro Two")
        assert events.next()[0] == "reload"
        clause = project / "content/privacy-policy/010-introduction.md"
        clause.write_text(clause.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
        assert events.next()[0] == "reload"
    finally:
        session.stop()  # writes what was shown and not yet written
    fresh = build(project, tmp_path / "fresh", BuildOptions(today=today, drafts=True)).out
    served = tmp_path / "out"
    files = sorted(p.relative_to(served) for p in served.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert [f for f in files if (served / f).read_bytes() != (fresh / f).read_bytes()] == []
    assert b"One more sentence." in (served / "ims-pro/privacy-policy/index.html").read_bytes()


def test_a_failed_site_write_keeps_the_pages_shown_and_the_next_save_writes(
    session: Session, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = Events(session, "/ims-pro/privacy-policy/")
    events.next()
    real = session.rebuilder.builder.build
    calls: list[int] = []

    def full_once() -> BuildReport:
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device", str(tmp_path / ".out.policygen-new/index.html"))
        return real()

    monkeypatch.setattr(session.rebuilder.builder, "build", full_once)
    tenant = project / "tenants/ims-pro/tenant.yaml"
    edit(tenant, "display_name: IMS Pro", "display_name: IMS Pro Shown")
    assert events.next()[0] == "reload"
    name, data = events.next()
    problems = data["problems"]
    assert name == "problem" and isinstance(problems, list) and "No space left on device" in problems[0]["text"]
    assert b"IMS Pro Shown" in get(session, "/ims-pro/privacy-policy/")[1]  # the last good pages, from memory
    edit(tenant, "display_name: IMS Pro Shown", "display_name: IMS Pro Written")
    assert events.next()[0] == "reload"
    on_disk = tmp_path / "out/ims-pro/privacy-policy/index.html"
    assert wait_until(lambda: b"IMS Pro Written" in on_disk.read_bytes())
    events.close()


def test_page_file_names_the_output_file_a_url_shows() -> None:
    assert page_file("/") == "index.html"
    assert page_file("/ims-pro/privacy-policy/") == "ims-pro/privacy-policy/index.html"
    assert page_file("/ims-pro/feed.xml") == "ims-pro/feed.xml"
    assert page_file("/a/%2e%2e/b") is None
    assert page_file("/a/../b") is None
    assert page_file("/a\\b") is None and page_file("/a%00") is None and page_file("a") is None


# A debounce far longer than any test waits: an edit shown sooner was taken without waiting for a burst's quiet.
LONG_QUIET = 60.0


def quiet_session(project: Path, tmp_path: Path, printed: list[tuple[str, bool]] | None = None) -> Session:
    log = (lambda m, e: printed.append((m, e))) if printed is not None else (lambda m, e: None)
    options = ServeOptions(port=0, out=tmp_path / "out", debounce=LONG_QUIET, timings=printed is not None)
    session = Session(project, options, log)
    session.start()
    return session


@pytest.mark.parametrize("save", ["truncate-then-write", "write-rename"])
def test_a_save_that_leaves_the_file_whole_is_shown_without_waiting_for_a_burst(
    project: Path, tmp_path: Path, save: str
) -> None:
    session = quiet_session(project, tmp_path)
    try:
        events = Events(session, "/ims-pro/privacy-policy/")
        events.next()
        file = project / "tenants/ims-pro/tenant.yaml"
        text = file.read_text(encoding="utf-8").replace("display_name: IMS Pro", "display_name: IMS Pro Saved", 1)
        if save == "truncate-then-write":
            file.write_text(text, encoding="utf-8")  # closed after writing
        else:
            scratch = file.parent / ".tenant.yaml.swp"  # an editor's scratch file, renamed into place
            scratch.write_text(text, encoding="utf-8")
            scratch.replace(file)
        assert events.next()[0] == "reload"  # within WAIT, far sooner than LONG_QUIET
        assert b"IMS Pro Saved" in get(session, "/ims-pro/privacy-policy/")[1]
        events.close()
    finally:
        session.stop()


def test_a_file_still_being_written_is_not_shown_half_written(project: Path, tmp_path: Path) -> None:
    session = quiet_session(project, tmp_path)
    try:
        events = Events(session, "/ims-pro/privacy-policy/")
        events.next()
        file = project / "tenants/ims-pro/tenant.yaml"
        text = file.read_text(encoding="utf-8").replace("display_name: IMS Pro", "display_name: IMS Pro Whole", 1)
        with file.open("w", encoding="utf-8") as f:  # truncated, then written in two parts with a pause
            f.write(text[: len(text) // 3])
            f.flush()
            time.sleep(0.5)  # half a file on disk, not closed: no rebuild yet
            f.write(text[len(text) // 3 :])
        assert events.next() == ("reload", {"generation": 2})  # not a problem with the half file
        assert b"IMS Pro Whole" in get(session, "/ims-pro/privacy-policy/")[1]
        events.close()
    finally:
        session.stop()


def test_timings_name_each_step_of_an_edit(project: Path, tmp_path: Path) -> None:
    printed: list[tuple[str, bool]] = []
    session = quiet_session(project, tmp_path, printed)
    try:
        events = Events(session, "/ims-pro/privacy-policy/")
        events.next()
        edit(project / "tenants/ims-pro/tenant.yaml", "display_name: IMS Pro", "display_name: IMS Pro Timed")
        assert events.next()[0] == "reload"
        assert b"IMS Pro Timed" in get(session, "/ims-pro/privacy-policy/")[1]
        assert wait_until(lambda: any("served from memory" in m for m, _ in printed))
    finally:
        session.stop()
    timed = [m for m, _ in printed if m.startswith("timings: ")]
    steps = next(m for m in timed if m.startswith("timings: tenants/ims-pro/tenant.yaml: "))
    assert re.fullmatch(
        r"timings: tenants/ims-pro/tenant\.yaml: quiet \+\d+, rendered \+\d+, announced \+\d+ ms", steps
    )
    assert any(re.fullmatch(r"timings: reload sent to ims-pro/privacy-policy/index\.html \+\d+ ms", m) for m in timed)
    assert any(re.fullmatch(r"timings: /ims-pro/privacy-policy/ served from memory \+\d+ ms", m) for m in timed)


def test_serve_starts_by_rendering_one_tenant_of_each_shape_so_a_first_edit_compiles_nothing(
    session: Session,
) -> None:
    assert session.rebuilder.warmed.wait(60)
    preview = session.rebuilder.preview
    renderer = preview._renderer
    assert renderer is not None
    held = len(renderer.compiled._codes)
    for slug in sorted(session.rebuilder.site.documents):  # Hindi pages, three documents, one: every shape
        preview.render([slug], session.rebuilder.site)
    assert len(renderer.compiled._codes) == held


def test_the_shapes_of_a_site_are_its_tenants_sets_of_paths_most_common_first() -> None:
    def shapes(files: dict[str, list[str]]) -> list[str]:
        site_files = ["index.html", "assets/style.css"]  # the site's own files are no tenant's
        listed = [*site_files, *(f"{slug}/{path}" for slug, within in files.items() for path in within)]
        return site_shapes(listed, WrittenSite(documents=dict.fromkeys(files, ())).owner)

    english, hindi = ["index.html", "privacy-policy/index.html"], ["index.html", "privacy-policy/hi/index.html"]
    assert shapes({"c": english, "b": hindi, "a": english}) == ["a", "b"]
    assert shapes({"b": hindi, "a": english}) == ["a", "b"]
    assert shapes({}) == []
    assert list(WrittenSite().paths()) == []


def test_the_shapes_of_a_large_site_are_looked_for_among_its_first_tenants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "SHAPES_FROM", 2)
    read: list[str] = []

    def paths() -> Iterator[str]:
        for path in ["a/index.html", "b/index.html", "b/hi/index.html", "c/other.html", "d/index.html"]:
            read.append(path)
            yield path

    assert site_shapes(paths(), WrittenSite(documents=dict.fromkeys("abcd", ())).owner) == ["a", "b"]
    assert read[-1] == "c/other.html"  # the third tenant's first file ends the look


def test_the_written_site_is_read_from_the_manifests_tenants_never_its_file_list(project: Path, tmp_path: Path) -> None:
    # The file list is most of a large site's manifest (about 100 MB at 10,000 tenants): serve reads the written
    # site after every write, and holds it, so only the "tenants" object at the end is read.
    out = build(project, tmp_path / "out", BuildOptions(today=dt.date(2026, 11, 22))).out
    manifest = out / "manifest.json"
    whole = WrittenSite.read(out)
    assert set(whole.documents) == {"example-fitness", "ihm-connect", "ims-global", "ims-pro"}
    assert "ims-pro/privacy-policy/index.html" in set(whole.paths())
    assert whole.owner("ims-pro/privacy-policy/index.html") == "ims-pro" and whole.owner("index.html") is None
    text = manifest.read_text(encoding="utf-8")
    list_end = text.index('\n  ],\n  "tenants"')
    manifest.write_text(text[: list_end // 2] + "NOT JSON" + text[list_end // 2 :], encoding="utf-8")
    damaged = WrittenSite.read(out)
    assert damaged.documents == whole.documents and damaged.views == whole.views
    assert damaged.published == whole.published


def test_a_page_reloads_after_a_write_only_when_what_serve_sends_now_differs_from_what_it_sent(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a/index.html").write_bytes(b"<p>a</p>")
    (out / "b.html").write_bytes(b"<p>b</p>")
    memory = MemorySite()
    memory.sent("a/index.html", b"<p>a</p>")  # from the disk
    memory.sent("b.html", b"<p>b</p>")
    assert memory.written(out, memory.stamp) == frozenset()  # the write left both as they were
    (out / "b.html").write_bytes(b"<p>b, edited</p>")
    assert memory.written(out, memory.stamp) == {"b.html"}
    memory.sent("b.html", b"<p>b, edited</p>")  # the page reloaded
    assert memory.written(out, memory.stamp) == frozenset()
    # A preview holds a newer page than the write: that is what serve sends, and what the page is compared with.
    assert memory.put([Output("a/index.html", "page", b"<p>a, newer</p>")]) == {"a/index.html"}
    assert memory.written(out, memory.stamp - 1) == {"a/index.html"}
    assert memory.put([Output("a/index.html", "page", b"<p>a, newer</p>")]) == {"a/index.html"}  # not sent yet
    memory.sent("a/index.html", b"<p>a, newer</p>")
    assert memory.put([Output("a/index.html", "page", b"<p>a, newer</p>")]) == frozenset()  # the same bytes
    (out / "a/index.html").unlink()
    assert memory.written(out, memory.stamp) == {"a/index.html"}  # gone from the disk, no longer held


def test_a_page_open_before_serve_started_reloads_when_a_write_changes_it(tmp_path: Path) -> None:
    # Its live-reload stream opens again on its own: the page is taken to show what serve would send then.
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_bytes(b"<p>old</p>")
    memory = MemorySite()
    memory.showing("index.html", out)
    assert memory.written(out, memory.stamp) == frozenset()
    (out / "index.html").write_bytes(b"<p>new</p>")
    memory.showing("index.html", out)  # a second stream for it changes nothing: the first page still shows old
    assert memory.written(out, memory.stamp) == {"index.html"}
    os.mkfifo(out / "pipe.html")  # a stream may name any page: one that is no regular file is never waited on
    looking = threading.Thread(target=memory.showing, args=("pipe.html", out), daemon=True)
    looking.start()
    looking.join(WAIT)
    assert not looking.is_alive()
    assert memory.written(out, memory.stamp) == {"index.html"}


def test_serve_remembers_what_it_sent_of_a_bounded_number_of_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview, "SENT_KEPT", 2)
    memory = MemorySite()
    for name in ("a.html", "b.html", "c.html", "style.css"):
        (tmp_path / name).write_bytes(b"x")
        memory.sent(name, b"x")
    (tmp_path / "a.html").write_bytes(b"y")
    (tmp_path / "c.html").write_bytes(b"y")
    assert memory.written(tmp_path, memory.stamp) == {"c.html"}  # a.html, the oldest, is forgotten
