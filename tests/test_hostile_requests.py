"""`policygen serve` against hostile requests, sent as raw bytes: it stays on 127.0.0.1,
serves only files inside the output folder, bounds what it reads, and keeps serving."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Iterator

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
    """Send *request* as it is; the status code and everything the server answered."""
    host, port = session.server.server_address[:2]
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
    return raw(session, f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n".encode("latin-1"))


TRAVERSALS = [
    "/../secret.txt", "/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/ims-pro/../../secret.txt",
    "/ims-pro/%2e%2e/%2e%2e/secret.txt", "/..%5csecret.txt", "/%5c..%5csecret.txt", "/%252e%252e/secret.txt",
    "/.%2e/secret.txt", "/secret.txt%00.html", "//../secret.txt", "/./../secret.txt",
    "http://localhost/../secret.txt", "/index.html/../../secret.txt",
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


@pytest.mark.parametrize(("what", "request_bytes", "statuses"), [
    ("a request line of 100 kB", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {414}),
    ("a header line of 100 kB", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", {431, 400}),
    ("a thousand headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(1000)) + b"\r\n",
     {431, 400}),
    ("a body on a GET", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", {413}),
    ("a Content-Length that is not a number", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n", {400}),
    ("a chunked body on a GET", b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
     {413}),
    ("a huge announced body", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", {413}),
    ("an upload", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", {405}),
    ("a chunked upload", b"PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", {405}),
])
def test_oversized_or_writing_requests_are_refused_and_the_server_keeps_serving(
        session: Session, what: str, request_bytes: bytes, statuses: set[int]) -> None:
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
