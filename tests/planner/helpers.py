"""Builders for planner tests: configs, snapshots and states as plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ctconfig.config.spec import Config
from ctconfig.domain import (
    AccountSnapshot,
    Address,
    ObservedGrant,
    ObservedPasscode,
    ObservedUser,
    passcode_mode,
)
from ctconfig.state.document import (
    AccountPasscodeRecord,
    Origin,
    RecordType,
    SettingsRecord,
    State,
    UserPasscodeRecord,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ACCOUNT_ID = "W9R-486-4W5Z"


def config(accounts: dict[str, Any] | None = None, **sections: Any) -> Config:
    data: dict[str, Any] = {"version": 1, **sections}
    data["accounts"] = accounts if accounts is not None else {}
    return Config.model_validate(data)


def account(
    passcodes: dict[str, Any] | None = None, users: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"id": ACCOUNT_ID, "account_passcodes": passcodes or {}, "user_passcodes": users or {}, **extra}


def passcode(pid: str, name: str, days: int | None = 90, age_days: int = 0) -> ObservedPasscode:
    created = NOW - timedelta(days=age_days)
    return ObservedPasscode(pid, name, days, created, created + timedelta(days=days) if days else None)


def grant(email: str, days: int | None = 30, age_days: int = 0) -> ObservedGrant:
    granted = NOW - timedelta(days=age_days)
    return ObservedGrant(email, days, granted, granted + timedelta(days=days or 3650))


def snapshot(
    passcodes: list[ObservedPasscode] = (),  # type: ignore[assignment]
    users: dict[str, ObservedGrant | None] | None = None,
    mode: str = "account",
) -> AccountSnapshot:
    observed_users = tuple(ObservedUser(e, "member", g) for e, g in (users or {}).items())
    return AccountSnapshot(ACCOUNT_ID, mode, NOW, tuple(passcodes), observed_users)


def state_of(snap: AccountSnapshot, alias: str = "prod", with_settings: bool = False) -> State:
    """The state ctconfig would hold after creating everything in `snap` itself."""
    resources: dict[Address, RecordType] = {}
    for p in snap.passcodes:
        resources[Address.account_passcode(alias, p.name)] = AccountPasscodeRecord.observed(
            ACCOUNT_ID, p, origin=Origin.CREATED, fingerprint="sha256:000000000000"
        )
    for u in snap.users:
        if u.grant:
            resources[Address.user_passcode(alias, u.email)] = UserPasscodeRecord.observed(
                ACCOUNT_ID, u.grant, origin=Origin.CREATED
            )
    if with_settings:
        resources[Address.settings(alias)] = SettingsRecord(ACCOUNT_ID, passcode_mode(snap.passcode_mode))
    return State(lineage="11111111-1111-1111-1111-111111111111", serial=3).with_resources(resources)
