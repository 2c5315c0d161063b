"""`sandbox serve` switches Nagle's algorithm off on every connection (issue 13a).

With Nagle on, an answer written in two pieces (head, then body) waits for the
client's delayed ACK: ~40 ms per request on a kept-alive connection. asyncio
sets TCP_NODELAY only on sockets created with protocol IPPROTO_TCP, so these
tests look at the option on the server's accepted sockets, not at a clock.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from ctconfig.sandbox import serving as sandbox_server
from ctconfig.sandbox.faults import FaultSettings
from ctconfig.sandbox.store import SandboxStore

ACCOUNT = "W9R-486-4W5Z"


async def nodelay_of_an_accepted_connection(listener: socket.socket) -> int:
    """Serve `listener` with asyncio (as uvicorn does) and read the option on the accepted socket."""
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Probe, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        value = await asyncio.wait_for(seen, 10)
        writer.close()
    return value


def test_the_listening_socket_gives_every_connection_tcp_nodelay() -> None:
    listener = sandbox_server.listening_socket("127.0.0.1", 0)
    assert listener.proto == socket.IPPROTO_TCP
    assert asyncio.run(nodelay_of_an_accepted_connection(listener)) != 0


def test_a_socket_made_with_protocol_zero_would_not_get_it() -> None:
    """The mechanism the fix relies on: what `serve` used to create kept Nagle on."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    assert asyncio.run(nodelay_of_an_accepted_connection(listener)) == 0


def test_serve_itself_answers_on_nodelay_connections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` as the CLI runs it (uvicorn, port 0), with a kept-alive client connection."""
    servers: list[uvicorn.Server] = []

    class RecordingServer(uvicorn.Server):
        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            servers.append(self)

    monkeypatch.setattr(sandbox_server.uvicorn, "Server", RecordingServer)
    with SandboxStore(tmp_path / "s.db") as store:
        admin = store.issue_admin_passcode(ACCOUNT)
    announced: list[str] = []
    ready = threading.Event()

    def announce(line: str) -> None:
        announced.append(line)
        ready.set()

    runner = threading.Thread(
        target=sandbox_server.serve, args=(tmp_path / "s.db", "127.0.0.1", 0, FaultSettings(), announce)
    )
    runner.start()
    try:
        assert ready.wait(20)
        port = int(announced[0].rsplit(":", 1)[1])
        client = HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(2):  # the same connection, reused
            client.request("GET", "/1/passcodes.json", headers=headers(admin))
            answer = client.getresponse()
            assert answer.status == 200
            answer.read()
        options = [nodelay(connection) for connection in servers[0].server_state.connections]
        client.close()
        assert options and all(option != 0 for option in options)
    finally:
        if servers:
            servers[0].should_exit = True
        runner.join(timeout=20)


def headers(admin: str) -> dict[str, str]:
    return {"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": admin}


def nodelay(connection: Any) -> int:
    value: int = connection.transport.get_extra_info("socket").getsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY
    )
    return value
