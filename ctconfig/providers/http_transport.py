"""One HTTP client for the `clevertap` provider: pooling, per-account limits, retries, honest failures.

Every request of the provider goes through `HttpTransport.send`: one pooled
httpx client per event loop (httpx pools are loop-bound), at most
`max_inflight` requests in flight per account, retries with full jitter on
429/5xx and transport errors (`http_retry`), and an error that says whether a
change may have been applied when retries give up (`OutcomeUnknownError`).
Requests the client itself cannot send (a bad URL, a header value h11
refuses) are not retried, and their messages are redacted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from ctconfig import __version__
from ctconfig.config.spec import ClevertapProviderConfig
from ctconfig.domain import REGION_HOSTS, AccountTarget
from ctconfig.errors import OutcomeUnknownError, ProviderError, UnavailableError
from ctconfig.providers.clevertap_wire import answer_error
from ctconfig.providers.http_retry import (
    MAYBE_COMMITTED_STATUS,
    RETRYABLE_STATUS,
    RequestStats,
    RetryPolicy,
    RetryState,
    parse_retry_after,
)
from ctconfig.redaction import NOTICES, redact

logger = logging.getLogger(__name__)
notices = logging.getLogger(NOTICES)

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before any byte of the request reached the server."""
_CANNOT_SEND = (httpx.LocalProtocolError, httpx.UnsupportedProtocol, httpx.InvalidURL)
"""The client refuses the request itself (bad URL, a header h11 refuses): retrying cannot help."""


class AnswerLost(Exception):
    """A request that must not be replayed blindly may have been applied; check before retrying."""


@dataclass
class _Lane:
    """One account's way to the server: its in-flight slots and its own small connection pool.

    A pool per account keeps each pool at `max_inflight` connections: httpcore checks
    every pooled connection on every request, so one shared pool would cost each
    request a little more with every account added.
    """

    slot: asyncio.Semaphore
    client: httpx.AsyncClient


@dataclass
class _Session:
    """The lanes of one event loop (httpx pools are loop-bound) and the TLS context they share."""

    loop: asyncio.AbstractEventLoop
    lanes: dict[str, _Lane] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None


@dataclass
class _Attempt:
    """What one try of a request came back with: an answer or a transport failure."""

    response: httpx.Response | None = None
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
    ) -> httpx.Response:
        """Send until an answer not worth retrying; raise `AnswerLost` when a retry could double a change."""
        url = self.base_url(target) + path
        lane = self._lane(target.account_id)
        while True:
            attempt = _Attempt()
            async with lane.slot:
                try:
                    attempt.response = await lane.client.request(method, url, headers=headers, json=body)
                except _CANNOT_SEND as exc:
                    raise self._cannot_send(target, exc) from None
                except httpx.TransportError as exc:
                    attempt.failure = exc
            response = attempt.response
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
        retry_after = None if response is None else parse_retry_after(response.headers.get("Retry-After"))
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

    def _lane(self, account_id: str) -> _Lane:
        loop = asyncio.get_running_loop()
        session = self._session_now
        if session is None or session.loop is not loop:
            session = self._session_now = _Session(loop)
        lane = session.lanes.get(account_id)
        if lane is None:
            lane = session.lanes[account_id] = _Lane(
                asyncio.Semaphore(self._config.max_inflight), self._client(session)
            )
        return lane

    def _client(self, session: _Session) -> httpx.AsyncClient:
        """A client whose pool holds one account's connections, kept alive between its requests.

        The TLS context (loading the CA bundle costs ~0.2 s) is made once per session and shared.
        """
        if session.tls is None:
            session.tls = httpx.create_ssl_context()
        config = self._config
        size = config.max_inflight
        return httpx.AsyncClient(
            verify=session.tls,
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size, keepalive_expiry=30),
            headers={"User-Agent": f"ctconfig/{__version__}", "Accept": "application/json"},
        )

    async def aclose(self) -> None:
        """Close the pooled connections of the current session."""
        if self._session_now is not None:
            session, self._session_now = self._session_now, None
            await asyncio.gather(*(lane.client.aclose() for lane in session.lanes.values()))

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
