"""When and how long the HTTP provider waits before trying a request again.

Retries use exponential backoff with *full* jitter (a uniform draw between 0
and the exponential ceiling), so that many clients throttled at once do not
come back in lockstep. A server's `Retry-After` is a floor, never ignored.
Every retry is bounded twice: by a count and by a budget of seconds.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAYBE_COMMITTED_STATUS = frozenset({500, 502, 504})
"""Answers after which the server may have made the change (503 and 429 promise it did not)."""


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
        return f"{self.requests} requests, {self.retries} retried, {self.lost_answers} answers lost"


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and for how long to retry, and the backoff's shape."""

    max_retries: int = 6
    budget_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 20.0

    def start(self, rng: random.Random) -> RetryState:
        """A fresh count and clock for one logical operation (all its attempts)."""
        return RetryState(self, rng, time.monotonic())


@dataclass
class RetryState:
    """The attempts one operation has made so far, shared across its reconciliations."""

    policy: RetryPolicy
    rng: random.Random
    started: float
    retries: int = 0
    maybe_committed: bool = False
    """True once an attempt may have changed the account without us seeing the answer."""

    def next_delay(self, retry_after: float | None) -> float | None:
        """Seconds to sleep before the next attempt, or None when the count or budget is spent."""
        if self.retries >= self.policy.max_retries:
            return None
        ceiling = min(self.policy.max_delay, self.policy.base_delay * 2**self.retries)
        delay = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        elapsed = time.monotonic() - self.started
        if elapsed + delay > self.policy.budget_seconds:
            return None
        return delay

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds; HTTP dates and garbage are treated as absent."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
