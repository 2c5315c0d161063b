"""An adversarial management-API server on a real loopback socket, for the provider's bounds.

Each connection is served by a scripted behaviour, chosen per request by the
test: an endless body, one byte at a time, a huge declared length, deeply
nested JSON, control sequences in `error`, a create whose answer is cut after
its secret and replayed with another one. The server records what it sent and
whether the client hung up, and stops with the test even when it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

Behaviour = Callable[["Exchange"], Awaitable[None]]


@dataclass
class Exchange:
    """One request as the server read it, and the writer to answer it with."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    writer: asyncio.StreamWriter
    server: HostileServer

    async def send(self, data: bytes) -> None:
        """Write and count bytes; a client that hung up is recorded, not raised."""
        self.writer.write(data)
        self.server.sent += len(data)
        await self.writer.drain()

    async def answer(self, status: int, payload: object, extra: str = "") -> None:
        """A complete JSON answer with its length."""
        body = json.dumps(payload).encode()
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        await self.send((head + extra + "\r\n").encode() + body)


@dataclass
class HostileServer:
    """Answers every request with `behaviour`; counts what it sent and how connections ended."""

    behaviour: Behaviour
    url: str = ""
    sent: int = 0
    requests: list[Exchange] = field(default_factory=list)
    hung_up: int = 0
    """Connections the client closed while the server was still sending."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b""):
                    name, value = raw.decode("latin-1").split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                exchange = Exchange(method, path, headers, body, writer, self)
                self.requests.append(exchange)
                await self.behaviour(exchange)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.hung_up += 1
        finally:
            writer.close()


@contextlib.contextmanager
def hostile_server(behaviour: Behaviour) -> Iterator[HostileServer]:
    """Serve `behaviour` on a free loopback port from a thread; stopped on exit, even on failure."""
    server = HostileServer(behaviour)
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, _context: None)  # connections cut on purpose: no noise
    started = threading.Event()
    holder: dict[str, asyncio.Server] = {}

    async def start() -> None:
        listening = await asyncio.start_server(server._serve, "127.0.0.1", 0)
        holder["server"] = listening
        server.url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True, name="hostile provider")
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    started.wait(10)
    try:
        yield server
    finally:

        async def stop() -> None:
            holder["server"].close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


# ---- behaviours ---------------------------------------------------------------------------------


async def endless_body(exchange: Exchange) -> None:
    """A 200 with no length, then bytes forever (until the client hangs up)."""
    await exchange.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
    chunk = b'{"status": "success", "passcodes": [' + b" " * 65_000
    while True:
        await exchange.send(chunk)


async def endless_chunks(exchange: Exchange) -> None:
    """A chunked 200 whose chunks never end."""
    await exchange.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 32_768
    while True:
        await exchange.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def slow_bytes(interval: float) -> Behaviour:
    """A valid answer, one byte every `interval` seconds."""

    async def behaviour(exchange: Exchange) -> None:
        body = b'{"status": "success", "passcodes": [], "server_time": "2026-01-01T00:00:00Z"}'
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        for byte in answer:
            await exchange.send(bytes([byte]))
            await asyncio.sleep(interval)

    return behaviour


async def huge_declared(exchange: Exchange) -> None:
    """A declared length of 3 GB; the body follows for as long as the client reads."""
    await exchange.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3000000000\r\n\r\n"
    )
    while True:
        await exchange.send(b" " * 65_000)


def deep_json(depth: int) -> Behaviour:
    """A 200 whose JSON nests `depth` arrays deep."""

    async def behaviour(exchange: Exchange) -> None:
        body = b"[" * depth + b"]" * depth
        await exchange.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    return behaviour


ESCAPES = "\x1b]0;owned\x07\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\x1b[2J\u202eevil"


async def escapes_in_error(exchange: Exchange) -> None:
    """Every request refused (400) with terminal control sequences in `error`."""
    await exchange.answer(400, {"status": "fail", "error": f"refused {ESCAPES}", "code": 400})
