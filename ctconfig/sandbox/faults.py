"""What stands between a client and the sandbox API: counting, the in-flight limit, faults.

`FaultInjector` wraps the API app as plain ASGI. It counts every request,
enforces CleverTap's limits of requests in flight per account and API family
(`concurrency`: 429 beyond them),
and on demand injects the trouble a real network and service cause: latency,
500/503 before doing anything, 429 throttling with `Retry-After`, and dropped
answers: the change is made and committed, then the connection is cut before
the client hears about it.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ctconfig.sandbox.concurrency import READ_LIMIT, UPLOAD_LIMIT, Limits, family_of, refusal

STATS_PATH = "/_sandbox/stats"
ACCOUNT_HEADER = b"x-clevertap-account-id"


@dataclass(frozen=True)
class FaultSettings:
    """The knobs of `ctconfig sandbox serve`; all off by default."""

    max_inflight: int = 3  # the management API's (and the credential check's) limit
    upload_inflight: int = UPLOAD_LIMIT
    read_inflight: int = READ_LIMIT
    latency: float = 0.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    retry_after: int = 1
    seed: int | None = None
    forget_idempotency_keys: bool = False  # act like a server that keeps no answers by key


@dataclass
class ServerStats:
    """What the server saw and did, for `GET /_sandbox/stats` and the shutdown line."""

    requests: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    inflight_rejections: int = 0
    peak_inflight: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The stats as JSON-ready data."""
        return {
            "requests": self.requests,
            "by_status": dict(sorted(self.by_status.items())),
            "faults": {kind: self.faults[kind] for kind in ("error", "throttle", "drop")},
            "inflight_rejections": self.inflight_rejections,
            "peak_inflight": self.peak_inflight,
        }

    def summary(self) -> str:
        """One line for the end of a run."""
        return (
            f"sandbox served {self.requests} requests; injected {self.faults['error']} errors, "
            f"{self.faults['throttle']} throttles, {self.faults['drop']} dropped answers; "
            f"{self.inflight_rejections} refused over max-inflight (peak {self.peak_inflight})"
        )


def error_body(status: int, message: str) -> bytes:
    """The contract's error envelope."""
    return json.dumps({"status": "fail", "error": message, "code": status}).encode()


async def send_json(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    """A complete JSON answer at the ASGI level."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class FaultInjector:
    """ASGI middleware: count, limit in-flight requests per account, inject faults."""

    def __init__(self, app: ASGIApp, settings: FaultSettings, stats: ServerStats) -> None:
        self.app = app
        self.settings = settings
        self.stats = stats
        self.rng = random.Random(settings.seed)
        self.limits = Limits(settings.max_inflight, settings.upload_inflight, settings.read_inflight)
        self.inflight: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == STATS_PATH:
            await self.app(scope, receive, send)
            return
        self.stats.requests += 1
        account = dict(scope["headers"]).get(ACCOUNT_HEADER, b"").decode("latin-1")
        family = family_of(scope["path"])
        key = (account, family)
        if self.inflight[key] >= self.limits.of(family):
            self.stats.inflight_rejections += 1
            await self._answer(send, 429, refusal(family), True)
            return
        self.inflight[key] += 1
        self.stats.peak_inflight = max(self.stats.peak_inflight, self.inflight[key])
        slot = _Slot(self.inflight, key)
        try:
            await self._serve(scope, receive, send, slot)
        finally:
            slot.release()

    async def _serve(self, scope: Scope, receive: Receive, send: Send, slot: _Slot) -> None:
        settings, rng = self.settings, self.rng
        if settings.latency:
            await asyncio.sleep(settings.latency)
        error, throttle, drop = rng.random(), rng.random(), rng.random()
        if error < settings.error_rate:
            self.stats.faults["error"] += 1
            status = rng.choice((500, 503))
            slot.release()
            await self._answer(send, status, "injected server trouble", False)
            return
        if throttle < settings.throttle_rate:
            self.stats.faults["throttle"] += 1
            slot.release()
            await self._answer(send, 429, "throttled; retry after the given seconds", True)
            return
        if drop < settings.drop_rate:
            self.stats.faults["drop"] += 1
            await self.app(scope, receive, _dropping(send, slot, self.stats))
            return
        await self.app(scope, receive, _counting(send, slot, self.stats))

    async def _answer(self, send: Send, status: int, message: str, retry_after: bool) -> None:
        self.stats.by_status[str(status)] += 1
        extra = [(b"retry-after", str(self.settings.retry_after).encode())] if retry_after else []
        await send_json(send, status, error_body(status, message), extra)


class _Slot:
    """One request's place in its account's in-flight count, released exactly once."""

    def __init__(self, inflight: Counter[tuple[str, str]], key: tuple[str, str]) -> None:
        self.inflight = inflight
        self.key = key
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.inflight[self.key] -= 1


def _counting(send: Send, slot: _Slot, stats: ServerStats) -> Send:
    """Pass the answer on, freeing the slot before the last byte so the client may go again."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            stats.by_status[str(message["status"])] += 1
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            slot.release()
        await send(message)

    return wrapped


def _dropping(send: Send, slot: _Slot, stats: ServerStats) -> Send:
    """Swallow the (committed) answer and cut the connection instead of sending it."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            stats.by_status["dropped"] += 1
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            slot.release()
            _abort_connection(send)
            await asyncio.sleep(0)  # let the server notice the connection is gone

    return wrapped


def _abort_connection(send: Send) -> None:
    """Reset the TCP connection under uvicorn's request cycle (its `send` is a bound method)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise RuntimeError("dropping answers needs uvicorn's HTTP transport")
    transport.abort()
