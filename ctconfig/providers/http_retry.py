"""When and how long the HTTP provider waits before trying a request again.

Retries use exponential backoff with *full* jitter (a uniform draw between 0
and the exponential ceiling, capped at `max_delay`), so that many clients
throttled at once do not come back in lockstep. A server's `Retry-After` is a
floor, never ignored. Every operation is bounded twice: by a count of retries
and by a budget of seconds. The count is set high enough that the budget is
what normally ends an outage: the last wait is shortened so that one final
attempt lands at the end of the budget, so the defaults (25 retries, 60 s,
at most 10 s between attempts) ride out any outage or throttling burst
shorter than the budget, whatever the jitter draws.

The clock and the sleep are injectable, so tests can prove that with a fake
clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAYBE_COMMITTED_STATUS = frozenset({500, 502, 504})
"""Answers after which the server may have made the change (503 and 429 promise it did not)."""

DEFAULT_MAX_RETRIES = 25
DEFAULT_BUDGET_SECONDS = 60.0
DEFAULT_BASE_DELAY = 0.5
DEFAULT_MAX_DELAY = 10.0
MIN_FINAL_WAIT = 0.05
"""A last attempt squeezed into less of the budget than this is not worth making."""
NOTICE_AFTER = 2.0
"""Seconds of retrying before a person is told what the command is waiting on (blips stay quiet)."""
NOTICE_EVERY = 10.0
"""Seconds between two such notices for one operation."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class RequestStats:
    """What the provider sent: the figures behind "N requests, M retried"."""

    requests: int = 0
    retries: int = 0
    lost_answers: int = 0
    by_status: Counter[str] = field(default_factory=Counter)

    def record(self, outcome: str) -> None:
        """Count one answer by status code, or by transport error name."""
        self.requests += 1
        self.by_status[outcome] += 1

    def summary(self) -> str:
        """One line for reports and benchmarks."""
        requests = f"{self.requests} request{'' if self.requests == 1 else 's'}"
        lost = f"{self.lost_answers} answer{'' if self.lost_answers == 1 else 's'} lost"
        return f"{requests}, {self.retries} retried, {lost}"


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and for how long to retry, the backoff's shape, and whose clock counts."""

    max_retries: int = DEFAULT_MAX_RETRIES
    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    base_delay: float = DEFAULT_BASE_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep

    def start(self, rng: random.Random) -> RetryState:
        """A fresh count and clock for one logical operation (all its attempts)."""
        return RetryState(self, rng, self.clock())


@dataclass
class RetryState:
    """The attempts one operation has made so far, shared across its reconciliations."""

    policy: RetryPolicy
    rng: random.Random
    started: float
    retries: int = 0
    maybe_committed: bool = False
    """True once an attempt may have changed the account without us seeing the answer."""

    def notice_due(self, last_notice: float | None) -> bool:
        """Whether to say now what this wait is for: after NOTICE_AFTER of retrying, and not
        within NOTICE_EVERY of the last such notice (`last_notice`, on the policy's clock)."""
        now = self.policy.clock()
        recently = last_notice is not None and now - last_notice < NOTICE_EVERY
        return self.elapsed() >= NOTICE_AFTER and not recently

    def remaining(self) -> float:
        """Seconds of the budget left."""
        return max(0.0, self.policy.budget_seconds - self.elapsed())

    def next_delay(self, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None when the count or budget is spent.

        A wait that would overrun the budget is shortened to end with it (one last
        attempt), unless the server's `Retry-After` forbids coming back that soon.
        """
        if self.retries >= self.policy.max_retries:
            return None
        ceiling = min(self.policy.max_delay, self.policy.base_delay * 2**self.retries)
        delay = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        remaining = self.policy.budget_seconds - self.elapsed()
        if delay <= remaining:
            return delay
        if (retry_after is not None and retry_after > remaining) or remaining < MIN_FINAL_WAIT:
            return None
        return remaining

    async def wait(self, delay: float) -> None:
        """Sleep on the policy's clock and count the retry."""
        self.retries += 1
        await self.policy.sleep(delay)

    def elapsed(self) -> float:
        """Seconds since the operation's first attempt, on the policy's clock."""
        return self.policy.clock() - self.started


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds; HTTP dates and garbage are treated as absent."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
