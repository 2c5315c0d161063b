"""HTTP/1.1 over asyncio streams: lean, bounded in bytes and time.

This transport replaces httpcore, h11 and anyio, which cost ~8x more CPU per
request than the work itself (a request is one write and one read on a
kept-alive socket). The provider sends through `exchange`: a `Route` (parsed
once per URL), the request as bytes (`request_bytes`) and the whole `Answer`
back (all three framed in `http_framing`; this module keeps the pool), with
no `httpx.Request` or `httpx.Response` built per request (they cost as much as
the rest of the exchange). `handle_async_request` serves the same pool as an
httpx transport. It also bounds every answer, which httpcore leaves to the
caller:

* **one deadline per attempt** (`deadline`): connecting, sending and reading
  the whole answer must finish within it, so a server that sends one byte
  every few seconds cannot hold a request longer than that (httpcore's read
  timeout restarts with every byte). Connecting alone has `connect_timeout`.
* **a byte cap** (`max_answer_bytes`): a declared `Content-Length` over it is
  refused before a byte of the body is read, and a chunked or unframed body is
  refused as soon as it passes it; headers are bounded too
  (`MAX_HEAD_BYTES`). An endless body never grows memory.
* **identity only**: an answer in a `Content-Encoding` other than identity is
  refused (a small gzip body can expand without bound), and requests say so.

Connections are pooled per origin and kept alive `keepalive` seconds (shorter
than the sandbox server's 5 s, so the client, not the server, closes an idle
connection and a request never lands on one the server just dropped); at most
`max_connections` are open at once (below the file-descriptor limit, raised to
its hard limit), and a request beyond them waits for one to be returned. Errors
are httpx's own exception types, so callers classify them as before:
`ConnectError`/`ConnectTimeout` (nothing was sent), `ReadTimeout`,
`ReadError`/`WriteError`, `RemoteProtocolError` (the server broke HTTP), and
`AnswerTooLarge` (a `RemoteProtocolError`: refused, not retried by itself).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import resource
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ctconfig.providers.http_framing import (
    MAX_HEAD_BYTES,
    Answer,
    Origin,
    Route,
    StaleConnection,
    os_reason,
    read_answer,
    request_bytes,
)

DEFAULT_MAX_ANSWER_BYTES = 8 * 1024 * 1024
"""A list of 100 passcodes is ~20 KiB; nothing the management API sends comes near this."""
DEFAULT_KEEPALIVE = 4.0
"""Idle seconds a connection is kept: below the sandbox server's 5 s (and typical servers')."""
DEFAULT_MAX_CONNECTIONS = 1024
"""Connections open at once, at most (3 per account for 341 accounts at once; more wait their turn)."""
SPARE_DESCRIPTORS = 128
"""File descriptors kept for the state, the journal, the sink and the event loop."""


def connection_bound(wanted: int = DEFAULT_MAX_CONNECTIONS) -> int:
    """Raise this process's file-descriptor limit to its hard limit; the connections it may hold."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return max(8, min(wanted, soft - SPARE_DESCRIPTORS))


@dataclass
class _Connection:
    """One kept-alive socket and when it was last used."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self, now: float, keepalive: float) -> bool:
        """Still open on both sides and not idle for longer than `keepalive`."""
        return now - self.idle_since < keepalive and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        """Drop the socket without waiting (the server sees the connection end)."""
        transport = self.writer.transport
        with contextlib.suppress(Exception):
            transport.abort()


class StreamTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 for httpx over asyncio streams, one pool for every origin; see the module notes."""

    def __init__(
        self,
        *,
        deadline: float,
        connect_timeout: float,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        keepalive: float = DEFAULT_KEEPALIVE,
        tls: Callable[[], ssl.SSLContext] | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_connections: int | None = None,
    ) -> None:
        self._deadline = deadline
        self._max_connections = max_connections or connection_bound()
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._connect_timeout = connect_timeout
        self._max_answer = max_answer_bytes
        self._keepalive = keepalive
        self._make_tls = tls
        self._tls: ssl.SSLContext | None = None
        self._clock = clock
        self._idle: dict[Origin, list[_Connection]] = {}
        self.opened = 0
        """Connections opened so far (for tests and benchmarks)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """httpx's transport API over the same pool: one `exchange` of the request as httpx built it."""
        route = Route.of(request.url)
        payload = request_bytes(request.method, route.target, request.headers.raw, await request.aread())
        answer = await self.exchange(route, request.method, payload)
        return httpx.Response(
            answer.status_code, headers=answer.headers, content=answer.content, request=request
        )

    async def exchange(self, route: Route, method: str, payload: bytes) -> Answer:
        """One attempt: a pooled (or new) connection, the request, the whole answer, all in one deadline."""
        try:
            async with asyncio.timeout(self._deadline):
                return await self._exchange(route.origin, method, payload)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no complete answer within {self._deadline:g}s") from None

    async def _exchange(self, origin: Origin, method: str, payload: bytes) -> Answer:
        connection, fresh = await self._acquire(origin)
        if not fresh:
            try:
                return await self._on(connection, origin, method, payload)
            except StaleConnection:
                if method not in ("GET", "HEAD"):
                    raise httpx.RemoteProtocolError(
                        "the server closed the connection without answering"
                    ) from None
            connection, _ = await self._acquire(origin, fresh_only=True)
        return await self._on(connection, origin, method, payload, fresh=True)

    async def _acquire(self, origin: Origin, fresh_only: bool = False) -> tuple[_Connection, bool]:
        """An idle connection to `origin` (False), or a new one (True) while fewer than
        `max_connections` are open; else wait until one is returned or closed."""
        while True:
            connection = None if fresh_only else self._checkout(origin)
            if connection is not None:
                return connection, False
            if self._open < self._max_connections or self._close_one_idle():
                self._open += 1
                try:
                    return await self._connect(origin), True
                except BaseException:
                    self._open -= 1
                    self._wake_one()
                    raise
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, but this request will not use the room: pass it on
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                raise

    def _close_one_idle(self) -> bool:
        """Close the longest-idle connection of any origin, to make room for a new one."""
        oldest: tuple[float, Origin] | None = None
        for origin, idle in self._idle.items():
            if idle and (oldest is None or idle[0].idle_since < oldest[0]):
                oldest = (idle[0].idle_since, origin)
        if oldest is None:
            return False
        self._drop(self._idle[oldest[1]].pop(0))
        return True

    def _drop(self, connection: _Connection) -> None:
        """Close a connection and count it gone; a request waiting for room may open one."""
        connection.close()
        self._open -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _on(
        self, connection: _Connection, origin: Origin, method: str, payload: bytes, fresh: bool = False
    ) -> Answer:
        """Send `payload` on `connection` and read the answer; the connection goes back to the pool
        when the answer leaves it reusable, and is dropped on any failure."""
        try:
            connection.writer.write(payload)
            answer = await read_answer(connection.reader, method, self._max_answer, fresh)
        except BaseException:
            self._drop(connection)
            raise
        if answer.keep_alive:
            connection.idle_since = self._clock()
            self._idle.setdefault(origin, []).append(connection)
            self._wake_one()
        else:
            self._drop(connection)
        return answer

    def _checkout(self, origin: Origin) -> _Connection | None:
        """The most recently used idle connection to `origin` that is still good; stale ones are closed."""
        idle = self._idle.get(origin)
        now = self._clock()
        while idle:
            connection = idle.pop()
            if connection.usable(now, self._keepalive):
                return connection
            self._drop(connection)
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = (self._make_tls or httpx.create_ssl_context)()  # httpx's, looked up now
            tls = self._tls
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, limit=MAX_HEAD_BYTES, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection within {self._connect_timeout:g}s") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(os_reason(exc)) from None
        self.opened += 1
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        pools, self._idle = self._idle, {}
        for idle in pools.values():
            for connection in idle:
                self._drop(connection)
