"""`policygen serve` against hostile requests, sent as raw bytes: it stays on 127.0.0.1,
serves only files inside the output folder, bounds what it reads, and keeps serving."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import copy_project

from policygen.serve import ServeOptions, Session

WAIT = 20.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Path]]:
    """One server for the module (each test only reads): the session and the folder holding its output."""
    tmp_path = tmp_path_factory.mktemp("served")
    (tmp_path / "secret.txt").write_text("outside the site", encoding="utf-8")
    s = Session(copy_project(tmp_path / "project"), ServeOptions(port=0, out=tmp_path / "out"))
    s.start()
    yield s, tmp_path
    s.stop()


@pytest.fixture
def session(served: tuple[Session, Path]) -> Session:
    return served[0]


def raw(session: Session, request: bytes) -> tuple[int, bytes]:
    """Send *request* as it is, but with `Host: HOST` naming the server; the status code and everything
    the server answered."""
    host, port = session.server.server_address[:2]
    request = request.replace(b"Host: HOST\r\n", f"Host: localhost:{port}\r\n".encode())
    with socket.create_connection((str(host), int(port)), timeout=WAIT) as conn:
        conn.sendall(request)
        answer = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer


def get(session: Session, target: str, headers: str = "") -> tuple[int, bytes]:
    return raw(session, f"GET {target} HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\n{headers}\r\n".encode("latin-1"))


TRAVERSALS = [
    "/../secret.txt",
    "/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/ims-pro/../../secret.txt",
    "/ims-pro/%2e%2e/%2e%2e/secret.txt",
    "/..%5csecret.txt",
    "/%5c..%5csecret.txt",
    "/%252e%252e/secret.txt",
    "/.%2e/secret.txt",
    "/secret.txt%00.html",
    "//../secret.txt",
    "/./../secret.txt",
    "http://localhost/../secret.txt",
    "/index.html/../../secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_request_reaches_a_file_outside_the_output_folder(session: Session, target: str) -> None:
    status, answer = get(session, target)
    assert b"outside the site" not in answer
    assert status in {400, 403, 404}


def test_a_symlink_in_the_output_folder_leads_nowhere(served: tuple[Session, Path]) -> None:
    session, folder = served
    (folder / "out" / "link.txt").symlink_to(folder / "secret.txt")
    try:
        status, answer = get(session, "/link.txt")
    finally:
        (folder / "out" / "link.txt").unlink()
    assert status == 403 and b"outside the site" not in answer


@pytest.mark.parametrize(
    ("what", "request_bytes", "statuses"),
    [
        ("a request line of 100 kB", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: HOST\r\n\r\n", {414}),
        (
            "a header line of 100 kB",
            b"GET / HTTP/1.1\r\nHost: HOST\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
            {431, 400},
        ),
        (
            "a thousand headers",
            b"GET / HTTP/1.1\r\nHost: HOST\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(1000)) + b"\r\n",
            {431, 400},
        ),
        ("a body on a GET", b"GET / HTTP/1.1\r\nHost: HOST\r\nContent-Length: 5\r\n\r\nhello", {413}),
        (
            "a Content-Length that is not a number",
            b"GET / HTTP/1.1\r\nHost: HOST\r\nContent-Length: lots\r\n\r\n",
            {400},
        ),
        (
            "a chunked body on a GET",
            b"GET / HTTP/1.1\r\nHost: HOST\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            {413},
        ),
        ("a huge announced body", b"GET / HTTP/1.1\r\nHost: HOST\r\nContent-Length: 99999999999\r\n\r\n", {413}),
        ("an upload", b"POST / HTTP/1.1\r\nHost: HOST\r\nContent-Length: 3\r\n\r\nabc", {405}),
        (
            "a chunked upload",
            b"PUT /x HTTP/1.1\r\nHost: HOST\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            {405},
        ),
    ],
)
def test_oversized_or_writing_requests_are_refused_and_the_server_keeps_serving(
    session: Session, what: str, request_bytes: bytes, statuses: set[int]
) -> None:
    status, _ = raw(session, request_bytes)
    assert status in statuses, what
    assert get(session, "/index.html")[0] == 200


def test_it_listens_on_localhost_by_default(session: Session) -> None:
    assert ServeOptions().host == "127.0.0.1"
    assert session.server.server_address[0] == "127.0.0.1"


def test_a_client_that_connects_and_sends_nothing_is_dropped(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from policygen import serve

    monkeypatch.setattr(serve._Handler, "timeout", 0.5)
    host, port = session.server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=WAIT) as idle:
        idle.settimeout(WAIT)
        assert idle.recv(1) == b""  # the server closed the silent connection instead of waiting forever
    assert get(session, "/index.html")[0] == 200


def request_with_host(session: Session, target: str, host: str | None) -> tuple[int, bytes]:
    line = f"Host: {host}\r\n" if host is not None else ""
    return raw(session, f"GET {target} HTTP/1.1\r\n{line}Connection: close\r\n\r\n".encode("latin-1"))


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:{port}",
        "evil.example",
        "localhost.evil.example:{port}",
        "127.0.0.1.nip.io:{port}",
        "localhost",
        "localhost:1",
        "127.0.0.1:{port}@evil",
        None,
    ],
)
@pytest.mark.parametrize(
    "target", ["/", "/ims-pro/privacy-policy/draft/", "/__policygen/events", "/__policygen/live.js", "/manifest.json"]
)
def test_a_request_for_another_host_gets_nothing_of_the_site(session: Session, host: str | None, target: str) -> None:
    # DNS rebinding: a page on evil.example, its name now pointing at 127.0.0.1, asks for our pages.
    port = session.server.server_address[1]
    status, answer = request_with_host(session, target, host.format(port=port) if host else None)
    assert status == 421
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert b"policygen" not in body.replace(b"policygen-serve", b"") and b"IMS" not in body
    assert b"text/event-stream" not in answer and b"EventSource" not in answer


def test_two_host_headers_are_refused(session: Session) -> None:
    port = session.server.server_address[1]
    request = f"GET / HTTP/1.1\r\nHost: localhost:{port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    assert raw(session, request.encode())[0] == 421


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}"])
def test_the_loopback_names_with_the_port_are_served(session: Session, host: str) -> None:
    port = session.server.server_address[1]
    assert request_with_host(session, "/ims-pro/privacy-policy/", host.format(port=port))[0] == 200


def test_another_listening_address_is_served_by_that_name_too() -> None:
    from policygen.serve import allowed_hosts

    assert allowed_hosts("127.0.0.1", 8000) == {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    assert "192.168.1.5:8000" in allowed_hosts("192.168.1.5", 8000)
    assert "[fd00::5]:8000" in allowed_hosts("fd00::5", 8000)
    assert "localhost" in allowed_hosts("127.0.0.1", 80) and "localhost" not in allowed_hosts("127.0.0.1", 8000)


def test_a_client_that_resets_is_forgotten_without_a_traceback(
    session: Session, capfd: pytest.CaptureFixture[str]
) -> None:
    host, port = session.server.server_address[:2]
    for request in (
        b"GET / HTTP/1.1\r\nHost: HOST\r\n",
        b"GET /ims-pro/privacy-policy/ HTTP/1.1\r\nHost: HOST\r\n\r\n",
    ):
        conn = socket.create_connection((str(host), int(port)), timeout=WAIT)
        conn.sendall(request.replace(b"HOST", f"localhost:{port}".encode()))
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # close sends RST
        conn.close()
    assert get(session, "/index.html")[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_a_path_segment_longer_than_a_file_name_is_not_found(
    session: Session, capfd: pytest.CaptureFixture[str]
) -> None:
    for target in ("/" + "a" * 300, "/ims-pro/" + "b" * 256 + "/", "/" + "%C3%A9" * 200 + "/x"):
        assert get(session, target)[0] == 404
    assert "Traceback" not in capfd.readouterr().err


def test_fifty_connections_are_accepted_at_once(session: Session) -> None:
    host, port = session.server.server_address[:2]
    started = time.monotonic()
    conns = [socket.create_connection((str(host), int(port)), timeout=WAIT) for _ in range(50)]
    try:
        assert time.monotonic() - started < 2.0  # a listen backlog of 5 made this take seconds
    finally:
        for conn in conns:
            conn.close()
    assert get(session, "/index.html")[0] == 200


def test_connections_beyond_the_limit_are_turned_away_at_once(session: Session) -> None:
    from policygen.serve import MAX_CONNECTIONS

    host, port = session.server.server_address[:2]
    held = [socket.create_connection((str(host), int(port)), timeout=WAIT) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)  # let the server accept them all
        status, answer = get(session, "/index.html")
        assert status == 503 and b"IMS" not in answer
    finally:
        for conn in held:
            conn.close()
    for _ in range(100):  # the held connections' threads end as they see the close
        if get(session, "/index.html")[0] == 200:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the server did not serve again after the connections closed")


def test_a_client_that_trickles_its_request_is_dropped_after_the_deadline(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policygen import serve

    monkeypatch.setattr(serve._Handler, "request_deadline", 1.0)
    host, port = session.server.server_address[:2]
    request = b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 1000
    started = time.monotonic()
    with socket.create_connection((str(host), int(port)), timeout=WAIT) as conn:
        closed = False
        for byte in request:  # one byte every 50 ms: each arrives long before a per-read timeout
            try:
                conn.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            conn.settimeout(0.05)
            try:
                if conn.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed = True
                break
    assert closed and time.monotonic() - started < 5.0
    assert get(session, "/index.html")[0] == 200
