"""Builders for planner tests: configs, snapshots and states as plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ctconfig.config.spec import Config
from ctconfig.domain import AccountSnapshot, ObservedGrant, ObservedPasscode, ObservedUser
from ctconfig.refresh import grant_state, passcode_state, settings_state
from ctconfig.state.document import State

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
    resources = {}
    for p in snap.passcodes:
        resources[f"{alias}/account_passcode/{p.name}"] = passcode_state(
            ACCOUNT_ID, p, fingerprint="sha256:000000000000", secret_known=True
        )
    for u in snap.users:
        if u.grant:
            resources[f"{alias}/user_passcode/{u.email}"] = grant_state(ACCOUNT_ID, u.grant)
    if with_settings:
        resources[f"{alias}/settings"] = settings_state(ACCOUNT_ID, snap.passcode_mode)
    return State(lineage="11111111-1111-1111-1111-111111111111", serial=3, resources=resources)
