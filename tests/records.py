"""Typed state records for tests, built the way ctconfig builds them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ctconfig.domain import Address
from ctconfig.state.document import (
    AccountPasscodeRecord,
    Origin,
    RecordType,
    SettingsRecord,
    State,
    UserPasscodeRecord,
)

ACCOUNT_ID = "W9R-486-4W5Z"
LINEAGE = "11111111-1111-1111-1111-111111111111"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def passcode(
    name: str, expires_in_days: int | None = 90, *, account_id: str = ACCOUNT_ID, **changes: Any
) -> AccountPasscodeRecord:
    """An account passcode ctconfig created a day ago, expiring `expires_in_days` from now (may be past)."""
    now = _now()
    record = AccountPasscodeRecord(
        account_id=account_id,
        id=f"pc-{name}",
        name=name,
        expires_in=None if expires_in_days is None else max(expires_in_days, 1),
        created_at=now - timedelta(days=1),
        expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
        origin=Origin.CREATED,
        secret_fingerprint="sha256:0123456789ab",
    )
    return replace(record, **changes)


def grant(
    email: str, days: int | None = 30, *, account_id: str = ACCOUNT_ID, **changes: Any
) -> UserPasscodeRecord:
    """A user passcode granted now for `days` (None: infinite)."""
    now = _now()
    record = UserPasscodeRecord(
        account_id=account_id,
        email=email,
        validity=days,
        granted_at=now,
        expires_at=now + timedelta(days=days or 3650),
    )
    return replace(record, **changes)


def settings(mode: str = "user", *, account_id: str = ACCOUNT_ID) -> SettingsRecord:
    """An account's passcode mode."""
    return SettingsRecord(account_id, "user" if mode == "user" else "account")


def by_address(resources: Mapping[str, RecordType]) -> dict[Address, RecordType]:
    """Records keyed by parsed addresses."""
    return {Address.parse(a): r for a, r in resources.items()}


def state(
    resources: Mapping[str, RecordType] | None = None, *, serial: int = 0, lineage: str = LINEAGE
) -> State:
    """A state version holding `resources` (keys as address text)."""
    return State(lineage=lineage, serial=serial).with_resources(by_address(resources or {}))
