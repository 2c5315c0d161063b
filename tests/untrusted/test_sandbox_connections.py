"""Issue 20 row 15: slow-header connections cannot starve `sandbox serve` or flood its log.

The command itself takes 1,100 connections that each send part of a request's
headers and stop; a normal request still gets its answer, and the log stays
quiet. The header deadline is shown on the server's own protocol with a short
deadline, so the test need not wait the command's 10 s.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import pytest
import uvicorn

from ctconfig.sandbox.connections import GuardedH11Protocol
from ctconfig.sandbox.faults import FaultSettings
from ctconfig.sandbox.server import create_app, listening_socket
from ctconfig.sandbox.store import SandboxStore
from tests.conftest import ctconfig_executable

SLOW_CONNECTIONS = 1_100
PARTIAL = b"GET /1/passcodes.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def enough_descriptors(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs {wanted} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def answered(port: int) -> int:
    client = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", "/1/passcodes.json")  # no credentials: 401 is an answer
        return client.getresponse().status
    finally:
        client.close()


@pytest.mark.process
def test_a_thousand_slow_header_connections_do_not_starve_the_server(tmp_path: Path) -> None:
    enough_descriptors(SLOW_CONNECTIONS + 200)
    command = [
        *ctconfig_executable(),
        "sandbox",
        "--db",
        str(tmp_path / "s.db"),
        "serve",
        "--port",
        "0",
        "--max-connections",
        "200",
    ]
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    slow: list[socket.socket] = []
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        for _ in range(SLOW_CONNECTIONS):
            connection = socket.create_connection(("127.0.0.1", port), timeout=30)
            with contextlib.suppress(OSError):  # the server may already have closed an old one
                connection.sendall(PARTIAL)
            slow.append(connection)
        assert answered(port) == 401
        assert answered(port) == 401
    finally:
        for connection in slow:
            connection.close()
        server.terminate()
        server.wait(timeout=30)
    log.seek(0)
    text = log.read()
    assert "Traceback" not in text and "Too many open files" not in text
    assert len(text.splitlines()) < 50, text[-2000:]


class _ShortDeadline(GuardedH11Protocol):
    header_timeout = 0.3


@contextlib.contextmanager
def guarded_server(tmp_path: Path) -> Iterator[int]:
    """The sandbox app behind the guarded protocol (short header deadline), from a thread."""
    sock = listening_socket("127.0.0.1", 0)
    store = SandboxStore(tmp_path / "s.db")
    config = uvicorn.Config(
        create_app(store, FaultSettings()), http=_ShortDeadline, log_config=None, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the guarded server did not start")
            threading.Event().wait(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        store.close()
        sock.close()


def whole_answer(connection: socket.socket) -> bytes:
    """One complete answer (headers and a body of its Content-Length) from the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += connection.recv(65536)
    return data


def closed_by_server(connection: socket.socket) -> bool:
    try:
        return connection.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_headers_that_do_not_arrive_in_time_close_the_connection(tmp_path: Path) -> None:
    with guarded_server(tmp_path) as port:
        slow = socket.create_connection(("127.0.0.1", port), timeout=30)
        slow.sendall(PARTIAL)
        assert closed_by_server(slow)  # recv waits until the server gives up on the headers
        slow.close()
        # A kept-alive connection: the first request answered, the second one's headers stall.
        kept = socket.create_connection(("127.0.0.1", port), timeout=30)
        kept.sendall(b"GET /1/passcodes.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert whole_answer(kept).startswith(b"HTTP/1.1 401")
        kept.sendall(PARTIAL)
        assert closed_by_server(kept)
        kept.close()
        assert answered(port) == 401  # the server itself is fine
