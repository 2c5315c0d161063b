"""Outages and restarts: the default retry budget rides them out, and a give-up says what it knows.

The long outages run on a fake clock (the provider's injectable `clock` and
`sleep`): the server really is down (nothing listens on its port) until the
fake clock passes the outage, then a real `sandbox serve` starts on that port.
No test here waits for the backoff or asserts a wall-clock bound.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ctconfig.config.spec import ClevertapProviderConfig
from ctconfig.errors import OutcomeUnknownError, UnavailableError
from ctconfig.providers.clevertap import ClevertapProvider
from ctconfig.providers.http_retry import MIN_FINAL_WAIT, RetryPolicy
from ctconfig.redaction import NOTICES
from ctconfig.sandbox.store import SandboxStore
from tests.http.conftest import ACCOUNT_ID, PASSCODE_ENV, SandboxServer, ServerFactory, run, target


@dataclass
class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)
    on_sleep: Callable[[float], None] = lambda now: None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep(self.now)
        await asyncio.sleep(0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connections are refused until a server binds it


def admin_passcode(db: Path) -> str:
    with SandboxStore(db) as store:
        store.ensure_account(ACCOUNT_ID, ())
        return store.issue_admin_passcode(ACCOUNT_ID)


def provider_at(url: str, admin: str, clock: FakeClock, seed: int = 0, **config: object) -> ClevertapProvider:
    """A provider with the default retry settings, timed by `clock`."""
    settings = ClevertapProviderConfig.model_validate({"kind": "clevertap", "base_url": url, **config})
    return ClevertapProvider(
        settings, {PASSCODE_ENV: admin}, rng=random.Random(seed), clock=clock, sleep=clock.sleep
    )


# ---- the policy alone -------------------------------------------------------------------


def test_default_policy_keeps_trying_until_the_end_of_its_budget_whatever_the_jitter() -> None:
    defaults = ClevertapProviderConfig.model_validate({"kind": "clevertap"})
    assert defaults.retry_budget >= 60 and defaults.max_retries >= 20
    for seed in range(1000):
        clock = FakeClock()
        policy = RetryPolicy(defaults.max_retries, defaults.retry_budget, clock=clock, sleep=clock.sleep)
        state = policy.start(random.Random(seed))
        attempts = [clock.now]
        while (delay := state.next_delay(None)) is not None:
            assert 0 <= delay <= policy.max_delay
            clock.now += delay
            state.retries += 1
            attempts.append(clock.now)
        # The last attempt lands at the end of the budget: any outage shorter than it is ridden out.
        assert attempts[-1] == pytest.approx(defaults.retry_budget, abs=MIN_FINAL_WAIT), seed
        assert max(b - a for a, b in itertools.pairwise(attempts)) <= policy.max_delay


def test_retry_after_is_a_floor_and_a_late_one_ends_the_operation() -> None:
    clock = FakeClock()
    state = RetryPolicy(budget_seconds=60, clock=clock, sleep=clock.sleep).start(random.Random(1))
    assert state.next_delay(7.5) == 7.5  # the first ceiling is 0.5 s: the server's word wins
    clock.now = 55.0
    assert state.next_delay(4.0) == 4.0
    assert state.next_delay(6.0) is None  # "not before 61 s" is past the budget: give up now
    assert state.next_delay(None) == pytest.approx(5.0, abs=5.0)


# ---- a real socket, a fake clock ------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_30_second_outage_is_ridden_out(start_server: ServerFactory, tmp_path: Path, seed: int) -> None:
    db, port = tmp_path / "outage.db", free_port()
    admin = admin_passcode(db)
    clock = FakeClock()
    back: list[SandboxServer] = []

    def server_returns_after_30_seconds(now: float) -> None:
        if now >= 30.0 and not back:
            back.append(start_server(db=db, port=port))

    clock.on_sleep = server_returns_after_30_seconds

    async def scenario() -> None:
        provider = provider_at(f"http://127.0.0.1:{port}", admin, clock, seed)
        issued = await provider.create_passcode(target(), "after-the-outage", 30)
        assert issued.passcode.name == "after-the-outage"
        snapshot = await provider.read_account(target())
        assert [p.name for p in snapshot.passcodes] == ["after-the-outage"]
        assert provider.stats.by_status["ConnectError"] >= 3
        assert provider.stats.retries == len(clock.sleeps)
        await provider.aclose()

    run(scenario)
    assert back, "the server came back only after 30 fake seconds"
    assert 30.0 <= clock.now <= 40.0  # at most max_delay after it returned


def test_a_long_wait_says_what_it_waits_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Not 60 silent seconds: after 2 s of retrying, and every 10 s after, one line says what is awaited."""
    port, clock = free_port(), FakeClock()
    notices = logging.getLogger(NOTICES)
    notices.addHandler(caplog.handler)  # caught here only, whether or not a command set notices up
    propagate, notices.propagate = notices.propagate, False
    caplog.set_level(logging.INFO, logger=NOTICES)

    async def scenario() -> None:
        provider = provider_at(f"http://127.0.0.1:{port}", "ADMIN-PASSCODE", clock)
        with pytest.raises(UnavailableError):
            await provider.create_passcode(target(), "never", 30)  # one request: one clock
        await provider.aclose()

    try:
        run(scenario)
    finally:
        notices.removeHandler(caplog.handler)
        notices.propagate = propagate
    said = [r.getMessage() for r in caplog.records if r.name == NOTICES]
    assert 4 <= len(said) <= 6, said  # a 60 s budget: from 2 s on, at least 10 s apart
    assert said[0].startswith(f"Waiting for http://127.0.0.1:{port} (account prod): it cannot be reached (")
    assert said[0].endswith("s more (provider.retry_budget)")
    left = [float(m.split("up to ")[1].split("s more")[0]) for m in said]
    assert left == sorted(left, reverse=True) and 50 <= left[0] <= 58


def test_a_create_that_never_reached_the_server_gives_up_at_the_budget_as_unavailable(tmp_path: Path) -> None:
    port, clock = free_port(), FakeClock()

    async def scenario() -> None:
        provider = provider_at(f"http://127.0.0.1:{port}", "ADMIN-PASSCODE", clock)
        with pytest.raises(UnavailableError) as caught:
            await provider.create_passcode(target(), "never", 30)
        assert not isinstance(caught.value, OutcomeUnknownError)
        assert caught.value.maybe_committed is False
        message = str(caught.value)
        assert message.startswith(f"cannot reach http://127.0.0.1:{port}: ") and "in 60.0s)" in message
        await provider.aclose()

    run(scenario)
    assert clock.now == pytest.approx(60.0)


def test_throttled_to_the_end_is_unavailable_not_unknown(start_server: ServerFactory) -> None:
    server = start_server("--throttle-rate", "1.0", "--retry-after", "2")
    admin, clock = server.admin(), FakeClock()

    async def scenario() -> None:
        provider = provider_at(server.url, admin, clock)
        with pytest.raises(UnavailableError, match=r"still throttled \(429\)") as caught:
            await provider.create_passcode(target(), "never", 30)
        assert not isinstance(caught.value, OutcomeUnknownError)  # a 429 promises nothing was done
        assert all(s >= 2.0 for s in clock.sleeps)  # Retry-After honoured
        await provider.aclose()

    run(scenario)
    with server.store() as store:
        assert store.read(ACCOUNT_ID).passcodes == ()


def test_a_create_whose_answers_are_all_lost_is_an_outcome_unknown(start_server: ServerFactory) -> None:
    """Every answer dropped after the change is committed: the provider cannot tell, and says so."""
    server = start_server("--drop-rate", "1.0")
    admin, clock = server.admin(), FakeClock()

    async def scenario() -> None:
        provider = provider_at(server.url, admin, clock)
        with pytest.raises(OutcomeUnknownError) as caught:
            await provider.create_passcode(target(), "in-limbo", 30, idempotency_key="intent-42")
        assert caught.value.maybe_committed is True
        assert isinstance(caught.value, UnavailableError)
        assert str(caught.value).endswith("; the change may have been made (the outcome is unknown)")
        await provider.aclose()

    run(scenario)
    with server.store() as store:  # it was made: the applier resolves it by name and key
        assert [p.name for p in store.read(ACCOUNT_ID).passcodes] == ["in-limbo"]


# ---- a real restart, real time -------------------------------------------------------------


@pytest.mark.slow  # ~15 s: full jitter brings the last of 6 operations back up to 10 s after the restart
def test_creates_and_lists_succeed_across_a_server_restart(start_server: ServerFactory) -> None:
    """`sandbox serve` is killed and started again on the same port 2 s later, mid-run."""
    first = start_server()
    admin = first.admin()
    port = int(first.url.rsplit(":", 1)[1])
    restarted: list[SandboxServer] = []
    settings = ClevertapProviderConfig.model_validate({"kind": "clevertap", "base_url": first.url})

    def restart_after_a_pause() -> None:
        time.sleep(2.0)
        restarted.append(start_server(db=first.db, port=port))

    async def scenario() -> None:
        provider = ClevertapProvider(settings, {PASSCODE_ENV: admin})
        await provider.create_passcode(target(), "before", 30)
        first.process.kill()  # no graceful shutdown: connections die mid-air
        first.process.wait()
        thread = threading.Thread(target=restart_after_a_pause)
        thread.start()
        try:
            results = await asyncio.gather(
                *(provider.create_passcode(target(), f"during-{n}", 30) for n in range(5)),
                provider.read_account(target()),
            )
        finally:
            await asyncio.to_thread(thread.join)
        assert {r.passcode.name for r in results[:5]} == {f"during-{n}" for n in range(5)}  # type: ignore[union-attr]
        snapshot = await provider.read_account(target())
        assert sorted(p.name for p in snapshot.passcodes) == ["before", *(f"during-{n}" for n in range(5))]
        assert provider.stats.retries > 0
        await provider.aclose()

    run(scenario)
    assert restarted
