"""HTTP/1.1 framing: a request written as bytes, an answer read whole and within bounds.

What `http_streams.StreamTransport` sends and reads on a connection, apart from how connections
are pooled: `Route` (where requests to one URL go, parsed once), `request_bytes` (a control
character in a header or the path is refused, never sent), and `read_answer` (headers within
`MAX_HEAD_BYTES`, a body within the caller's cap, identity encoding only). Errors are httpx's own
exception types, so callers classify them as they would httpx's.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

MAX_HEAD_BYTES = 64 * 1024
"""Status line and headers of one answer, at most."""
_READ_CHUNK = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


class AnswerTooLarge(httpx.RemoteProtocolError):
    """The answer is larger than the transport accepts; it was not read."""


class AnswerRefused(httpx.RemoteProtocolError):
    """The answer cannot be taken as it is (an encoding, a framing or a header out of bounds)."""


Origin = tuple[str, str, int]


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


class StaleConnection(Exception):
    """A reused connection ended before a byte of the answer: the server had closed it."""


def os_reason(exc: BaseException) -> str:
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


async def read_answer(reader: asyncio.StreamReader, method: str, cap: int, fresh: bool) -> Answer:
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
        raise httpx.ReadError(os_reason(exc)) from None
    headers = [(n, v) for n, v in headers if n.lower() not in (b"transfer-encoding", b"content-encoding")]
    return Answer(status, headers, body, keep_alive)


async def _read_head(reader: asyncio.StreamReader, fresh: bool) -> bytes:
    """Status line and headers; `StaleConnection` when a reused connection had been closed."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial and not fresh:
            raise StaleConnection from None
        raise httpx.RemoteProtocolError("the server closed the connection without answering") from None
    except asyncio.LimitOverrunError:
        raise AnswerRefused(f"the answer's headers are longer than {MAX_HEAD_BYTES} bytes") from None
    except OSError as exc:
        if not fresh:
            raise StaleConnection from None
        raise httpx.ReadError(os_reason(exc)) from None


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
