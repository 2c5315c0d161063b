"""Retries, the in-flight limit and lost answers, with faults injected by the served sandbox."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from ctconfig.errors import SecretLostError, UnavailableError
from ctconfig.providers.base import IssuedPasscode
from ctconfig.providers.clevertap import ClevertapProvider
from tests.http.conftest import ACCOUNT_ID, PASSCODE_ENV, ServerFactory, run, target

USERS = tuple(f"user{n}@example.com" for n in range(12))


async def create_all(
    provider: ClevertapProvider, names: list[str]
) -> tuple[list[IssuedPasscode], list[SecretLostError]]:
    """Create concurrently; a lost create comes back as SecretLostError, never as a duplicate."""
    results = await asyncio.gather(
        *(provider.create_passcode(target(), name, 30) for name in names), return_exceptions=True
    )
    issued = [r for r in results if isinstance(r, IssuedPasscode)]
    lost = [r for r in results if isinstance(r, SecretLostError)]
    unexpected = [r for r in results if not isinstance(r, IssuedPasscode | SecretLostError)]
    assert not unexpected, unexpected
    return issued, lost


def test_client_limit_keeps_the_server_under_its_inflight_limit(start_server: ServerFactory) -> None:
    server = start_server("--latency", "0.15")
    secrets = {PASSCODE_ENV: server.admin()}
    names = [f"p{n}" for n in range(12)]

    async def scenario() -> None:
        provider = server.provider(secrets)
        issued, lost = await create_all(provider, names)
        assert len(issued) == 12 and not lost
        assert provider.stats.retries == 0
        await provider.aclose()

    run(scenario)
    stats = server.stats()
    assert stats["inflight_rejections"] == 0
    assert stats["peak_inflight"] == 3


def test_server_refuses_a_fourth_request_in_flight(start_server: ServerFactory) -> None:
    server = start_server("--latency", "0.3")
    headers = {"X-CleverTap-Account-Id": ACCOUNT_ID, "X-CleverTap-Passcode": server.admin()}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
            return await asyncio.gather(*(client.get("/1/passcodes.json") for _ in range(6)))

    answers = asyncio.run(burst())
    throttled = [a for a in answers if a.status_code == 429]
    assert len(throttled) == 3 and sum(a.status_code == 200 for a in answers) == 3
    assert throttled[0].headers["Retry-After"] == "1"
    assert throttled[0].json() == {
        "status": "fail",
        "error": "too many concurrent requests for this account",
        "code": 429,
    }
    assert server.stats()["inflight_rejections"] == 3


def test_throttles_and_server_errors_are_retried(start_server: ServerFactory) -> None:
    server = start_server(
        "--throttle-rate", "0.3", "--error-rate", "0.2", "--retry-after", "0", "--seed", "7"
    )
    secrets = {PASSCODE_ENV: server.admin(users=USERS)}
    names = [f"p{n}" for n in range(15)]

    async def scenario() -> None:
        provider = server.provider(secrets, max_retries=12)
        issued, lost = await create_all(provider, names)
        grants = await asyncio.gather(*(provider.grant_user_passcode(target(), u, 30) for u in USERS))
        assert {g.email for g in grants} == set(USERS)
        snapshot = await provider.read_account(target())
        assert sorted(p.name for p in snapshot.passcodes) == sorted(names)
        assert len(issued) + len(lost) == len(names)
        assert provider.stats.retries > 0
        assert provider.stats.by_status["429"] > 0
        await provider.aclose()

    run(scenario)
    faults = server.stats()["faults"]
    assert faults["throttle"] > 0 and faults["error"] > 0


def test_retry_after_is_honoured(start_server: ServerFactory) -> None:
    server = start_server("--throttle-rate", "0.5", "--retry-after", "1", "--seed", "3")
    secrets = {PASSCODE_ENV: server.admin()}

    async def scenario() -> None:
        provider = server.provider(secrets, max_retries=10)
        started = time.monotonic()
        for n in range(20):  # until at least one throttle (half of all requests are)
            await provider.create_passcode(target(), f"slow{n}", 5)
            if provider.stats.retries:
                break
        elapsed = time.monotonic() - started
        assert provider.stats.retries >= 1
        assert elapsed >= provider.stats.retries * 1.0
        await provider.aclose()

    run(scenario)


def test_without_kept_answers_lost_secrets_are_reported_never_duplicated(
    start_server: ServerFactory,
) -> None:
    server = start_server("--drop-rate", "0.4", "--seed", "11", "--forget-idempotency-keys")
    secrets = {PASSCODE_ENV: server.admin(users=USERS)}
    names = [f"lost{n}" for n in range(20)]

    async def scenario() -> None:
        provider = server.provider(secrets, max_retries=12)
        issued, lost = await create_all(provider, names)
        assert lost, "with 40% dropped answers some creates must lose their secret"
        for error in lost:
            assert "answer carrying its secret was lost" in str(error)
            assert error.passcode.name in names
        grants = await asyncio.gather(*(provider.grant_user_passcode(target(), u, 7) for u in USERS))
        assert {g.email for g in grants} == set(USERS)

        snapshot = await provider.read_account(target())
        listed = [p.name for p in snapshot.passcodes]
        assert sorted(listed) == sorted(names)  # each exactly once
        by_name = {p.name: p.id for p in snapshot.passcodes}
        assert all(by_name[e.passcode.name] == e.passcode.id for e in lost)
        assert all(by_name[i.passcode.name] == i.passcode.id for i in issued)

        await asyncio.gather(*(provider.delete_passcode(target(), p.id) for p in snapshot.passcodes))
        await asyncio.gather(*(provider.revoke_user_passcode(target(), u) for u in USERS))
        emptied = await provider.read_account(target())
        assert emptied.passcodes == ()
        assert all(u.grant is None for u in emptied.users if u.email in USERS)
        assert provider.stats.lost_answers > 0
        await provider.aclose()

    run(scenario)
    assert server.stats()["faults"]["drop"] > 0


def test_lost_answers_are_replayed_by_idempotency_key_with_their_secret(start_server: ServerFactory) -> None:
    server = start_server("--drop-rate", "0.4", "--seed", "11")
    secrets = {PASSCODE_ENV: server.admin(users=USERS)}
    names = [f"lost{n}" for n in range(20)]

    async def scenario() -> None:
        provider = server.provider(secrets, max_retries=12)
        issued, lost = await create_all(provider, names)
        assert provider.stats.lost_answers > 0, "with 40% dropped answers some answers are lost"
        assert not lost and sorted(i.passcode.name for i in issued) == sorted(names)
        with server.store() as store:
            for item in issued:
                credential = store.authenticate(ACCOUNT_ID, item.secret.reveal())
                assert credential is not None and credential.name == item.passcode.name
        await provider.aclose()

    run(scenario)


def test_retries_stop_at_the_limit_with_one_line(start_server: ServerFactory) -> None:
    server = start_server("--error-rate", "1.0", "--seed", "1")
    secrets = {PASSCODE_ENV: server.admin()}

    async def scenario() -> None:
        provider = server.provider(secrets, max_retries=2)
        with pytest.raises(UnavailableError) as caught:
            await provider.read_account(target())
        message = str(caught.value)
        assert message.startswith("account `prod`: server error 50")
        assert "after 3 attempts" in message and "injected server trouble" in message
        await provider.aclose()

    run(scenario)
    assert server.stats()["requests"] >= 3


def test_stats_and_shutdown_summary(start_server: ServerFactory) -> None:
    server = start_server("--throttle-rate", "1.0", "--retry-after", "0")
    secrets = {PASSCODE_ENV: server.admin()}

    async def scenario() -> None:
        provider = server.provider(secrets, max_retries=1)
        with pytest.raises(UnavailableError, match=r"still throttled \(429\)"):
            await provider.create_passcode(target(), "never", 1)
        await provider.aclose()

    run(scenario)
    stats = server.stats()
    assert stats["requests"] == 2 and stats["faults"]["throttle"] == 2
    assert stats["by_status"] == {"429": 2}
    output = server.stop()
    assert "sandbox served 2 requests; injected 0 errors, 2 throttles, 0 dropped answers" in output
