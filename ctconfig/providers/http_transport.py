"""One HTTP pool for the `clevertap` provider: per-account limits, retries, honest failures.

Every request of the provider goes through `HttpTransport.send`: one pool of
kept-alive connections per event loop (`http_streams.StreamTransport`;
connections are loop-bound), at most `max_inflight` requests in
flight per account, retries with full jitter on 429/5xx and transport errors
(`http_retry`), and an error that says whether a change may have been applied
when retries give up (`OutcomeUnknownError`). Requests that cannot be sent
as they are (a bad URL, a line break in a header value) are not retried, and
their messages are redacted.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from ctconfig import __version__
from ctconfig.config.spec import ClevertapProviderConfig
from ctconfig.domain import REGION_HOSTS, AccountTarget
from ctconfig.errors import OutcomeUnknownError, ProviderError, UnavailableError
from ctconfig.providers.clevertap_wire import answer_error
from ctconfig.providers.http_framing import Answer, Route, request_bytes
from ctconfig.providers.http_retry import (
    MAYBE_COMMITTED_STATUS,
    RETRYABLE_STATUS,
    RequestStats,
    RetryPolicy,
    RetryState,
    parse_retry_after,
)
from ctconfig.providers.http_streams import StreamTransport
from ctconfig.redaction import NOTICES, redact

logger = logging.getLogger(__name__)
notices = logging.getLogger(NOTICES)

CLIENT_FIELDS = ((b"User-Agent", f"ctconfig/{__version__}".encode("ascii")), (b"Accept", b"application/json"))
JSON_FIELD = (b"Content-Type", b"application/json")
MAX_CACHED_URLS = 4096

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before any byte of the request reached the server."""
_CANNOT_SEND = (httpx.LocalProtocolError, httpx.UnsupportedProtocol, httpx.InvalidURL)
"""The request cannot be sent as it is (a bad URL, a line break in a header): retrying cannot help."""


class AnswerLost(Exception):
    """A request that must not be replayed blindly may have been applied; check before retrying."""


@dataclass
class _Session:
    """One event loop's transport (its connections are loop-bound) and each account's in-flight slots.

    One transport and one pool of connections serve every account of the run;
    each account's semaphore keeps it at `max_inflight` requests, so no account
    waits for another's, and a connection freed by one account serves the next
    request of any account. A request goes to the transport as bytes
    (`StreamTransport.exchange`): no `httpx.AsyncClient` (it would add only what the
    provider must not have: cookies kept from one account's answers and sent with
    another's, redirect handling) and no `httpx.Request`/`httpx.Response` per request
    (building them cost as much as the exchange itself).
    """

    loop: asyncio.AbstractEventLoop
    streams: StreamTransport
    slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)

    def request(
        self, method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None
    ) -> tuple[Route, bytes]:
        """Where the request goes, and its bytes: each URL is parsed once (parsing one costs more than
        sending it); header values must be ASCII; the body is JSON in orjson's compact form."""
        route = self.routes.get(url)
        if route is None:
            if len(self.routes) >= MAX_CACHED_URLS:
                self.routes.clear()
            route = self.routes[url] = Route.of(httpx.URL(url))
        try:
            fields = [(b"Host", route.host), *CLIENT_FIELDS]
            fields += [(name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()]
        except UnicodeEncodeError:
            raise httpx.LocalProtocolError("a header name or value is not ASCII") from None
        if body is None:
            return route, request_bytes(method, route.target, fields, b"")
        fields.append(JSON_FIELD)
        return route, request_bytes(method, route.target, fields, orjson.dumps(body))


@dataclass
class _Attempt:
    """What one try of a request came back with: an answer or a transport failure."""

    response: Answer | None = None
    failure: httpx.TransportError | None = None

    def maybe_committed(self) -> bool:
        """Whether the server may have acted on the request although we saw no success."""
        if self.failure is not None:
            return not isinstance(self.failure, _NOT_SENT)
        return self.response is not None and self.response.status_code in MAYBE_COMMITTED_STATUS


class HttpTransport:
    """Sends the provider's requests; knows URLs, limits and retries, nothing of passcodes."""

    def __init__(
        self, config: ClevertapProviderConfig, policy: RetryPolicy, rng: random.Random, stats: RequestStats
    ) -> None:
        self._config = config
        self._policy = policy
        self._rng = rng
        self._session_now: _Session | None = None
        self._noticed: dict[str, float] = {}
        self.stats = stats

    def start(self) -> RetryState:
        """A fresh retry count and clock for one logical operation."""
        return self._policy.start(self._rng)

    def base_url(self, target: AccountTarget) -> str:
        """The explicit `base_url`, else the account's region host; an unknown region is refused."""
        if self._config.base_url:
            return self._config.base_url.rstrip("/")
        host = REGION_HOSTS.get(target.region)
        if host is None:
            raise ProviderError(f"account `{target.alias}`: unknown region {target.region!r}")
        return f"https://{host}"

    async def send(
        self,
        target: AccountTarget,
        method: str,
        path: str,
        retry: RetryState,
        headers: dict[str, str],
        *,
        body: dict[str, Any] | None = None,
        replay_safe: bool = True,
    ) -> Answer:
        """Send until an answer not worth retrying; raise `AnswerLost` when a retry could double a change."""
        url = self.base_url(target) + path
        session = self._session()
        slot = session.slots.get(target.account_id)
        if slot is None:
            slot = session.slots[target.account_id] = asyncio.Semaphore(self._config.max_inflight)
        while True:
            attempt = _Attempt()
            async with slot:
                try:
                    route, payload = session.request(method, url, headers, body)
                    attempt.response = await session.streams.exchange(route, method, payload)
                except _CANNOT_SEND as exc:
                    raise self._cannot_send(target, exc) from None
                except httpx.TransportError as exc:
                    attempt.failure = exc
            response = attempt.response
            if response is not None and logger.isEnabledFor(logging.INFO):  # as httpx's client logs it
                logger.info('HTTP Request: %s %s "HTTP/1.1 %d"', method, url, response.status_code)
            if response is not None and response.status_code not in RETRYABLE_STATUS:
                self.stats.record(str(response.status_code))
                return response
            await self._before_retry(target, method, path, retry, attempt, replay_safe)

    async def _before_retry(
        self,
        target: AccountTarget,
        method: str,
        path: str,
        retry: RetryState,
        attempt: _Attempt,
        replay_safe: bool,
    ) -> None:
        """Wait for the next attempt, or raise the error that ends the operation."""
        response = attempt.response
        outcome = str(response.status_code) if response is not None else type(attempt.failure).__name__
        self.stats.record(outcome)
        changes = method != "GET"
        if changes and attempt.maybe_committed():
            retry.maybe_committed = True
            self.stats.lost_answers += 1
        retry_after = None if response is None else parse_retry_after(response.header("Retry-After"))
        delay = retry.next_delay(retry_after)
        if delay is None:
            raise self._gave_up(target, method, path, retry, attempt)
        self.stats.retries += 1
        logger.debug(
            "%s %s for account %s: %s; retry %d in %.2fs",
            *(method, path, target.alias, outcome, retry.retries + 1, delay),
        )
        if retry.notice_due(self._noticed.get(target.account_id)):
            self._noticed[target.account_id] = self._policy.clock()  # once for parallel requests
            why = f"answers {outcome}" if response is not None else f"cannot be reached ({outcome})"
            notices.info(
                "Waiting for %s (account %s): it %s; trying again for up to %.0fs more "
                "(provider.retry_budget)",
                *(self.base_url(target), target.alias, why, retry.remaining()),
            )
        await retry.wait(delay)
        if changes and attempt.maybe_committed() and not replay_safe:
            raise AnswerLost

    def _session(self) -> _Session:
        """This event loop's transport, made on first use."""
        loop = asyncio.get_running_loop()
        session = self._session_now
        if session is None or session.loop is not loop:
            config = self._config
            streams = StreamTransport(deadline=config.timeout, connect_timeout=config.connect_timeout)
            session = self._session_now = _Session(loop, streams)
        return session

    async def aclose(self) -> None:
        """Close the pooled connections of the current session."""
        if self._session_now is not None:
            session, self._session_now = self._session_now, None
            await session.streams.aclose()

    def _cannot_send(self, target: AccountTarget, exc: Exception) -> ProviderError:
        reason = redact(" ".join(str(exc).split()))[:200] or type(exc).__name__
        return ProviderError(
            f"account `{target.alias}`: cannot send the request to {self.base_url(target)}: {reason}"
        )

    def _gave_up(
        self, target: AccountTarget, method: str, path: str, retry: RetryState, attempt: _Attempt
    ) -> ProviderError:
        """The last error, saying how long we tried and whether a change may have been made."""
        attempts = retry.retries + 1
        spent = f"after {attempts} attempt{'s' if attempts > 1 else ''} in {retry.elapsed():.1f}s"
        if attempt.failure is not None:
            reason = redact(" ".join(str(attempt.failure).split()))[:200] or type(attempt.failure).__name__
            error: ProviderError = UnavailableError(
                f"cannot reach {self.base_url(target)}: {reason} ({spent})"
            )
        else:
            assert attempt.response is not None
            error = answer_error(target, attempt.response, f"{method} {path}", suffix=f" ({spent})")
        if retry.maybe_committed:
            return outcome_unknown(error)
        return error


def outcome_unknown(error: ProviderError) -> OutcomeUnknownError:
    """The same message, flagged and worded as a change that may have been made."""
    return OutcomeUnknownError(f"{error}; the change may have been made (the outcome is unknown)")
