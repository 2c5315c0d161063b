"""The fault run: 200 account passcodes and 50 grants through a hostile network, exactly once each."""

from __future__ import annotations

import asyncio

import pytest

from ctconfig.domain import AccountTarget, ObservedGrant
from ctconfig.errors import SecretLostError
from ctconfig.providers.base import IssuedPasscode
from ctconfig.providers.clevertap import ClevertapProvider
from tests.http.conftest import ServerFactory, run

ACCOUNTS = [f"FLT-000-{n:04d}" for n in range(4)]
PASSCODES_PER_ACCOUNT = 50
GRANTS_PER_ACCOUNT = (13, 13, 12, 12)


def targets() -> list[AccountTarget]:
    return [AccountTarget(f"acct{n}", a, "eu1", f"CT_ACCT{n}_PASSCODE") for n, a in enumerate(ACCOUNTS)]


def users_of(n: int) -> tuple[str, ...]:
    return tuple(f"user{i}@acct{n}.example.com" for i in range(GRANTS_PER_ACCOUNT[n]))


async def apply_everything(
    provider: ClevertapProvider,
) -> tuple[list[IssuedPasscode], list[SecretLostError], list[ObservedGrant]]:
    creates = [
        provider.create_passcode(t, f"integration-{i:03d}", 90)
        for t in targets()
        for i in range(PASSCODES_PER_ACCOUNT)
    ]
    grants = [
        provider.grant_user_passcode(t, email, 180) for n, t in enumerate(targets()) for email in users_of(n)
    ]
    results = await asyncio.gather(*creates, *grants, return_exceptions=True)
    issued = [r for r in results if isinstance(r, IssuedPasscode)]
    lost = [r for r in results if isinstance(r, SecretLostError)]
    granted = [r for r in results if isinstance(r, ObservedGrant)]
    failures = [r for r in results if isinstance(r, BaseException) and not isinstance(r, SecretLostError)]
    assert not failures, failures[:3]
    return issued, lost, granted


@pytest.mark.slow
def test_200_passcodes_and_50_grants_through_faults(
    start_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_server(
        "--throttle-rate",
        "0.3",
        "--error-rate",
        "0.1",
        "--drop-rate",
        "0.1",
        "--retry-after",
        "0",
        "--seed",
        "2024",
    )
    secrets = {t.passcode_env or "": server.admin(t.account_id, users_of(n)) for n, t in enumerate(targets())}

    async def scenario() -> None:
        provider = server.provider(secrets, max_retries=15, retry_budget=60.0)
        issued, lost, granted = await apply_everything(provider)
        assert len(issued) == len(ACCOUNTS) * PASSCODES_PER_ACCOUNT
        assert len({i.secret.reveal() for i in issued}) == len(issued)
        assert len(granted) == sum(GRANTS_PER_ACCOUNT) == 50

        for n, target in enumerate(targets()):
            snapshot = await provider.read_account(target)
            names = [p.name for p in snapshot.passcodes]
            assert sorted(names) == [f"integration-{i:03d}" for i in range(PASSCODES_PER_ACCOUNT)]
            for email in users_of(n):
                user = snapshot.user(email)
                assert user is not None and user.grant is not None and user.grant.validity_days == 180
        with capsys.disabled():
            print(
                f"\nfault run: 250 operations, {provider.stats.summary()}; "
                f"{len(lost)} creates lost their secret; "
                f"server: {server.stats()}"
            )
        # Lost answers happened, yet every create got its secret: retries carry the same
        # Idempotency-Key and the server replays the original answer.
        assert provider.stats.retries > 0 and provider.stats.lost_answers > 0
        assert not lost
        await provider.aclose()

    run(scenario)
    faults = server.stats()["faults"]
    assert faults["throttle"] > 0 and faults["error"] > 0 and faults["drop"] > 0
    assert server.stats()["inflight_rejections"] == 0
