"""The embedded provider implements the Provider protocol over the sandbox store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ctconfig.domain import AccountTarget, passcode_shape_problem
from ctconfig.errors import ConflictError, LimitError
from ctconfig.providers.base import Provider
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.sandbox import SandboxStore
from ctconfig.secrets import Secret

TARGET = AccountTarget(
    alias="prod",
    account_id="W9R-486-4W5Z",
    region="in1",
    passcode_env="CT_PROD_PASSCODE",
    users=("alice@example.com", "bob@example.com"),
)


async def _walk_the_protocol(provider: Provider) -> None:
    first = await provider.read_account(TARGET)
    assert first.account_id == TARGET.account_id and first.passcode_mode == "account"
    assert [u.email for u in first.users] == list(TARGET.users)

    issued = await provider.create_passcode(TARGET, "segment-export", 90)
    assert isinstance(issued.secret, Secret)
    assert passcode_shape_problem(issued.secret.reveal()) is None
    assert issued.secret.reveal() not in repr(issued)
    updated = await provider.update_passcode(
        TARGET, issued.passcode.id, name="segment-export-v2", expires_in_days=None
    )
    assert updated.expires_at is None

    grant = await provider.grant_user_passcode(TARGET, "alice@example.com", 365)
    reset = await provider.reset_user_passcode(TARGET, "alice@example.com")
    assert reset.validity_days == grant.validity_days == 365
    await provider.revoke_user_passcode(TARGET, "alice@example.com")
    await provider.set_passcode_mode(TARGET, "user")

    snapshot = await provider.read_account(TARGET)
    assert snapshot.passcode_mode == "user"
    assert snapshot.passcode_named("segment-export-v2") == updated
    assert snapshot.user("alice@example.com").grant is None  # type: ignore[union-attr]

    await provider.delete_passcode(TARGET, issued.passcode.id)
    assert (await provider.read_account(TARGET)).passcodes == ()


def test_the_provider_walks_the_whole_protocol(tmp_path: Path) -> None:
    provider = SandboxProvider(tmp_path / "sandbox.db")
    try:
        asyncio.run(_walk_the_protocol(provider))
    finally:
        asyncio.run(provider.aclose())
    with SandboxStore(tmp_path / "sandbox.db") as store:
        assert store.mutation_count(TARGET.account_id) == 7


def test_the_first_read_seeds_users_and_later_reads_leave_the_account_alone(
    tmp_path: Path,
) -> None:
    provider = SandboxProvider(tmp_path / "sandbox.db")

    async def scenario() -> None:
        await provider.read_account(TARGET)
        provider.store.remove_user(TARGET.account_id, "bob@example.com")
        again = await provider.read_account(TARGET)
        assert [u.email for u in again.users] == ["alice@example.com"]

    asyncio.run(scenario())
    asyncio.run(provider.aclose())


def test_the_provider_raises_the_protocol_errors(tmp_path: Path) -> None:
    provider = SandboxProvider(tmp_path / "sandbox.db")

    async def scenario() -> None:
        await provider.read_account(TARGET)
        await provider.create_passcode(TARGET, "dup", None)
        with pytest.raises(ConflictError):
            await provider.create_passcode(TARGET, "DUP", None)
        with pytest.raises(LimitError, match="not a dashboard user"):
            await provider.grant_user_passcode(TARGET, "stranger@example.com", 30)

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(provider.aclose())
