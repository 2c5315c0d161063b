"""HTTP/1.1 over asyncio streams: lean, bounded in bytes and time.

This transport replaces httpcore, h11 and anyio, which cost ~8x more CPU per
request than the work itself (a request is one write and one read on a
kept-alive socket). The provider sends through `exchange`: a `Route` (parsed
once per URL), the request as bytes (`request_bytes`) and the whole `Answer`
back, with no `httpx.Request` or `httpx.Response` built per request (they cost
as much as the rest of the exchange). `handle_async_request` serves the same
pool as an httpx transport. It also bounds every answer, which httpcore leaves
to the caller:

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
import re
import resource
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

MAX_HEAD_BYTES = 64 * 1024
"""Status line and headers of one answer, at most."""
DEFAULT_MAX_ANSWER_BYTES = 8 * 1024 * 1024
"""A list of 100 passcodes is ~20 KiB; nothing the management API sends comes near this."""
DEFAULT_KEEPALIVE = 4.0
"""Idle seconds a connection is kept: below the sandbox server's 5 s (and typical servers')."""
DEFAULT_MAX_CONNECTIONS = 1024
"""Connections open at once, at most (3 per account for 341 accounts at once; more wait their turn)."""
SPARE_DESCRIPTORS = 128
"""File descriptors kept for the state, the journal, the sink and the event loop."""
_READ_CHUNK = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


def connection_bound(wanted: int = DEFAULT_MAX_CONNECTIONS) -> int:
    """Raise this process's file-descriptor limit to its hard limit; the connections it may hold."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return max(8, min(wanted, soft - SPARE_DESCRIPTORS))


class AnswerTooLarge(httpx.RemoteProtocolError):
    """The answer is larger than the transport accepts; it was not read."""


class AnswerRefused(httpx.RemoteProtocolError):
    """The answer cannot be taken as it is (an encoding, a framing or a header out of bounds)."""


Origin = tuple[str, str, int]


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


@dataclass(slots=True)
class Answer:
    """One whole answer: its status, its headers as sent (names in their case), its body."""

    status_code: int
    headers: list[tuple[bytes, bytes]]
    content: bytes
    keep_alive: bool = False

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), if the answer has it."""
        wanted = name.lower().encode("ascii")
        for field, value in self.headers:
            if field.lower() == wanted:
                return value.decode("latin-1")
        return None


@dataclass(frozen=True, slots=True)
class Route:
    """Where requests to one URL go: the origin to connect to, the request target and the Host header."""

    origin: Origin
    target: bytes
    host: bytes

    @classmethod
    def of(cls, url: httpx.URL) -> Route:
        """The route of `url`; an unsupported scheme or a path with a space or control character is
        refused (never sent)."""
        if url.scheme not in ("http", "https"):
            if not url.scheme:
                raise httpx.UnsupportedProtocol("Request URL is missing an 'http://' or 'https://' protocol.")
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{url.scheme}://'.")
        if _UNSENDABLE_PATH.search(url.raw_path):
            raise httpx.LocalProtocolError("the request's path holds a space or a control character")
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        return cls(origin, url.raw_path, url.netloc)


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
            except _StaleConnection:
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
            answer = await _read_answer(connection.reader, method, self._max_answer, fresh)
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
            raise httpx.ConnectError(_os_reason(exc)) from None
        self.opened += 1
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        pools, self._idle = self._idle, {}
        for idle in pools.values():
            for connection in idle:
                self._drop(connection)


class _StaleConnection(Exception):
    """A reused connection ended before a byte of the answer: the server had closed it."""


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


_UNSENDABLE = re.compile(rb"[\x00-\x1f\x7f]")
_UNSENDABLE_PATH = re.compile(rb"[\x00-\x20\x7f]")


def request_bytes(method: str, target: bytes, fields: Iterable[tuple[bytes, bytes]], body: bytes) -> bytes:
    """The request line, `fields` and body as one write (with a Content-Length for a body that has
    none); a control character (a line break that would end a header early) in a header or the
    target is refused, never sent. `fields` must hold the Host header."""
    if _UNSENDABLE_PATH.search(target):
        raise httpx.LocalProtocolError("the request's path holds a space or a control character")
    lines = [b"%s %s HTTP/1.1" % (method.encode("ascii"), target)]
    has_length = False
    for name, value in fields:
        if _UNSENDABLE.search(name) or _UNSENDABLE.search(value) or b":" in name:
            raise httpx.LocalProtocolError("a header name or value holds a line break or control character")
        lowered = name.lower()
        if lowered == b"accept-encoding":
            continue
        has_length = has_length or lowered == b"content-length"
        lines.append(name + b": " + value)
    lines.append(b"Accept-Encoding: identity")
    if body and not has_length:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def _read_answer(reader: asyncio.StreamReader, method: str, cap: int, fresh: bool) -> Answer:
    """The whole answer: head within `MAX_HEAD_BYTES`, body within `cap`."""
    status, version, headers = _parse_head(await _read_head(reader, fresh))
    fields = {name.lower(): value for name, value in headers}
    encoding = fields.get(b"content-encoding", b"identity").strip().lower()
    if encoding not in (b"identity", b""):
        raise AnswerRefused("the answer is compressed, and ctconfig asked for (and takes) identity only")
    connection = fields.get(b"connection", b"").lower()
    keep_alive = b"close" not in connection and (version == b"HTTP/1.1" or b"keep-alive" in connection)
    try:
        if method == "HEAD" or status in _NO_BODY_STATUS or 100 <= status < 200:
            body = b""
        elif b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            body = await _read_chunked(reader, cap)
        elif b"content-length" in fields:
            body = await _read_sized(reader, fields[b"content-length"], cap)
        else:
            body, keep_alive = await _read_to_end(reader, cap), False
    except asyncio.IncompleteReadError:
        raise httpx.RemoteProtocolError("the server closed the connection in its answer's middle") from None
    except OSError as exc:
        raise httpx.ReadError(_os_reason(exc)) from None
    headers = [(n, v) for n, v in headers if n.lower() not in (b"transfer-encoding", b"content-encoding")]
    return Answer(status, headers, body, keep_alive)


async def _read_head(reader: asyncio.StreamReader, fresh: bool) -> bytes:
    """Status line and headers; `_StaleConnection` when a reused connection had been closed."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial and not fresh:
            raise _StaleConnection from None
        raise httpx.RemoteProtocolError("the server closed the connection without answering") from None
    except asyncio.LimitOverrunError:
        raise AnswerRefused(f"the answer's headers are longer than {MAX_HEAD_BYTES} bytes") from None
    except OSError as exc:
        if not fresh:
            raise _StaleConnection from None
        raise httpx.ReadError(_os_reason(exc)) from None


def _parse_head(head: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise httpx.RemoteProtocolError("the server's answer does not start with an HTTP/1.x status line")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise httpx.RemoteProtocolError("the server's answer has a malformed header line")
        headers.append((name, value.strip()))
    return int(parts[1]), parts[0], headers


def _too_large(cap: int) -> AnswerTooLarge:
    return AnswerTooLarge(f"the answer is larger than {cap} bytes; refused unread")


async def _read_sized(reader: asyncio.StreamReader, declared: bytes, cap: int) -> bytes:
    text = declared.strip()
    if not text.isdigit() or len(text) > 18:
        raise AnswerRefused("the answer's Content-Length is not a number")
    length = int(text)
    if length > cap:
        raise _too_large(cap)
    return await reader.readexactly(length)


async def _read_to_end(reader: asyncio.StreamReader, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await reader.read(_READ_CHUNK):
        size += len(chunk)
        if size > cap:
            raise _too_large(cap)
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_chunked(reader: asyncio.StreamReader, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            line = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError:
            raise AnswerRefused("a chunk header of the answer is too long") from None
        text = line.split(b";", 1)[0].strip()
        try:
            length = int(text, 16)
        except ValueError:
            raise AnswerRefused("the answer's chunked framing is malformed") from None
        if length < 0:
            raise AnswerRefused("the answer's chunked framing is malformed")
        if length == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, ignored
                pass
            return b"".join(chunks)
        size += length
        if size > cap:
            raise _too_large(cap)
        chunks.append(await reader.readexactly(length))
        if await reader.readexactly(2) != b"\r\n":
            raise AnswerRefused("the answer's chunked framing is malformed")
