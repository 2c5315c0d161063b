"""What both APIs of the sandbox server share: answers, and request bodies read within bounds.

Every body is bounded before it is read: a declared `Content-Length` over the
route's limit is refused with 413 before a byte is read (`BodyLimit`), and a
body without one is read in the server's chunks and refused as soon as it
passes the limit, so a 300 MB upload never reaches memory. JSON is refused
(400) when it nests deeper than `MAX_JSON_DEPTH`, holds NaN or Infinity, or is
not UTF-8; nothing a client sends can end in a 500.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ctconfig.sandbox.faults import error_body, send_json

MAX_JSON_DEPTH = 32
MANAGEMENT_BODY_LIMIT = 16 * 1024  # a passcode create is ~60 bytes
UPLOAD_BODY_LIMIT = 1024 * 1024  # 1,000 small records
MAX_CONTENT_LENGTH_DIGITS = 18


class ApiError(Exception):
    """An answer in the `{"status": "fail", "error": ..., "code": N}` envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def fail(status: int, message: str) -> JSONResponse:
    """The error envelope CleverTap and the contract use."""
    return JSONResponse({"status": "fail", "error": message, "code": status}, status_code=status)


def ok(status: int = 200, **fields: Any) -> JSONResponse:
    """The success envelope."""
    return JSONResponse({"status": "success", **fields}, status_code=status)


def body_limit_for(path: str) -> int:
    """How many bytes a request to `path` may carry."""
    return UPLOAD_BODY_LIMIT if path == "/1/upload" else MANAGEMENT_BODY_LIMIT


def declared_length(headers: Callable[[str], str | None]) -> int | None:
    """The request's `Content-Length`, if it sent one; 400 if it is not a number."""
    text = headers("content-length")
    if text is None:
        return None
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_CONTENT_LENGTH_DIGITS:
        raise ApiError(400, "Content-Length must be a number of bytes")
    return int(text)


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request body is larger than this endpoint accepts ({limit} bytes)")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, read chunk by chunk and refused (413) as soon as it passes `limit`."""
    declared = declared_length(request.headers.get)
    if declared is not None and declared > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the client went away before sending the whole body") from None
    return b"".join(chunks)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    """1e400 parses to infinity, which no JSON answer could carry back: refuse it."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large for a double")
    return value


def parse_json(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON (no NaN/Infinity) nested at most `max_depth` deep, else 400."""
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except RecursionError:
        raise too_deep(max_depth) from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body must be JSON (UTF-8)") from None
    if nesting_depth(value, max_depth) > max_depth:
        raise too_deep(max_depth)
    return value


def too_deep(max_depth: int) -> ApiError:
    return ApiError(400, f"the body nests arrays and objects more than {max_depth} levels deep")


def nesting_depth(value: Any, stop_after: int) -> int:
    """How deeply arrays and objects nest (a scalar is 0), counted without recursion and
    given up once past `stop_after`."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > stop_after:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest


async def read_json(request: Request, limit: int) -> Any:
    """The body as bounded, strict JSON."""
    return parse_json(await read_body(request, limit))


class BodyLimit:
    """ASGI middleware: refuse a declared body over the route's limit before reading any of it.

    Runs before authentication, so an anonymous client cannot make the server
    take in a large body either; bodies without a `Content-Length` are bounded
    where they are read (`read_body`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])

            def header(name: str) -> str | None:
                value = headers.get(name.encode())
                return None if value is None else value.decode("latin-1")

            limit = body_limit_for(scope["path"])
            try:
                declared = declared_length(header)
                if declared is not None and declared > limit:
                    raise too_large(limit)
            except ApiError as refused:
                # The body was not read, so the connection cannot carry another request: close it
                # now, rather than leave the client waiting for the keep-alive timeout.
                body = error_body(refused.status, refused.message)
                await send_json(send, refused.status, body, [(b"connection", b"close")])
                return
        await self.app(scope, receive, send)
