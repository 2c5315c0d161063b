"""Refresh: reconcile one account's state records with what the account reports. Pure.

Drift (a change made outside ctconfig) becomes a `Drift` and the refreshed
records describe the account as it is, so the diff that follows restores the
config. A declared resource that exists in the account but not in state is
adopted by name (passcodes) or email (grants) with origin `adopted`: ctconfig
never makes a duplicate, and it says that it does not hold such a passcode's
secret. (Passcodes ctconfig itself was creating when a run died are resolved
from the journal's intents before planning, not adopted here.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import TypeVar

from ctconfig.actions import GrantSettings, ModeSettings, PasscodeSettings, Settings
from ctconfig.config.spec import Account, AccountPasscodeSpec, UserPasscodeSpec
from ctconfig.domain import AccountSnapshot, Address, ResourceKind, passcode_mode
from ctconfig.jsontypes import days_text
from ctconfig.plan import Drift
from ctconfig.state.document import (
    AccountPasscodeRecord,
    Origin,
    RecordType,
    SettingsRecord,
    UserPasscodeRecord,
)

Records = dict[Address, RecordType]
R = TypeVar("R")


def in_address_order(records: Mapping[Address, R]) -> list[tuple[Address, R]]:
    """The items in address order (compared by address alone: addresses are unique keys)."""
    return sorted(records.items(), key=itemgetter(0))


@dataclass
class Refreshed:
    """One account's records after refresh, the drift found, and how many records changed."""

    resources: Records
    drift: list[Drift] = field(default_factory=list)
    changes: int = 0
    adopted_ids: set[str] = field(default_factory=set)


def passcode_settings(record: AccountPasscodeRecord) -> PasscodeSettings:
    """The managed settings a passcode record holds."""
    return PasscodeSettings(record.name, record.expires_in)


def grant_settings(record: UserPasscodeRecord) -> GrantSettings:
    """The managed settings a grant record holds."""
    return GrantSettings(record.email, record.validity)


def settings_of(record: RecordType) -> Settings:
    """The managed settings any record holds."""
    if isinstance(record, AccountPasscodeRecord):
        return passcode_settings(record)
    if isinstance(record, UserPasscodeRecord):
        return grant_settings(record)
    return ModeSettings(record.passcode_mode)


def refresh_account(
    alias: str, account: Account, records: Records, snapshot: AccountSnapshot | None
) -> Refreshed:
    """Refresh one account's records against `snapshot` (None: not read, keep state as it is)."""
    out = Refreshed(resources=dict(records))
    if snapshot is not None:
        out = Refreshed(resources={})
        for address, record in in_address_order(records):
            fresh = refresh_record(address, record, snapshot, out.drift)
            if fresh is not None:
                out.resources[address] = fresh
            if fresh is not record and fresh != record:
                out.changes += 1
        adopt(alias, account, snapshot, out)
    sync_protection(alias, account, out)
    return out


def refresh_record(
    address: Address, record: RecordType, snapshot: AccountSnapshot, drift: list[Drift]
) -> RecordType | None:
    """One record as the account has it now (None: gone), noting what changed outside ctconfig."""
    if isinstance(record, AccountPasscodeRecord):
        return _refresh_passcode(address, record, snapshot, drift)
    if isinstance(record, UserPasscodeRecord):
        return _refresh_grant(address, record, snapshot, drift)
    return _refresh_settings(address, record, snapshot, drift)


def _refresh_passcode(
    address: Address, record: AccountPasscodeRecord, snapshot: AccountSnapshot, drift: list[Drift]
) -> AccountPasscodeRecord | None:
    before = passcode_settings(record)
    passcode = snapshot.passcode_by_id(record.id)
    if passcode is None:
        drift.append(Drift(address, "deleted outside ctconfig", before, None))
        return None
    if (
        passcode.name == record.name
        and passcode.expires_in_days == record.expires_in
        and passcode.created_at == record.created_at
        and passcode.expires_at == record.expires_at
    ):
        return record  # as recorded: the usual case, and no copy to make
    fresh = record.seen_as(passcode)
    after = passcode_settings(fresh)
    if after.name != before.name:
        drift.append(
            Drift(address, f"renamed outside ctconfig: '{before.name}' -> '{after.name}'", before, after)
        )
    if after.expires_in != before.expires_in:
        words = f"{days_text(before.expires_in, 'forever')} -> {days_text(after.expires_in, 'forever')}"
        drift.append(Drift(address, f"expiry edited outside ctconfig: {words}", before, after))
    return fresh


def _refresh_grant(
    address: Address, record: UserPasscodeRecord, snapshot: AccountSnapshot, drift: list[Drift]
) -> UserPasscodeRecord | None:
    before = grant_settings(record)
    user = snapshot.user(record.email)
    if user is None or user.grant is None:
        why = "user removed from the dashboard" if user is None else "revoked outside ctconfig"
        drift.append(Drift(address, why, before, None))
        return None
    grant = user.grant
    if (
        grant.validity_days == record.validity
        and grant.granted_at == record.granted_at
        and grant.expires_at == record.expires_at
    ):
        return record  # as recorded
    fresh = record.seen_as(grant)
    after = grant_settings(fresh)
    if after.validity != before.validity:
        message = (
            f"granted again outside ctconfig with validity {days_text(after.validity, 'infinite')} "
            f"(was {days_text(before.validity, 'infinite')})"
        )
        drift.append(Drift(address, message, before, after))
    elif fresh.granted_at != record.granted_at:
        drift.append(
            Drift(address, f"reset outside ctconfig at {fresh.granted_at:%Y-%m-%dT%H:%M:%SZ}", before, after)
        )
    return fresh


def _refresh_settings(
    address: Address, record: SettingsRecord, snapshot: AccountSnapshot, drift: list[Drift]
) -> SettingsRecord:
    if record.passcode_mode != snapshot.passcode_mode:
        drift.append(
            Drift(
                address,
                "passcode mode switched outside ctconfig: "
                f"{record.passcode_mode} -> {snapshot.passcode_mode}",
                ModeSettings(record.passcode_mode),
                ModeSettings(passcode_mode(snapshot.passcode_mode)),
            )
        )
    mode = passcode_mode(snapshot.passcode_mode)
    return record if record.passcode_mode == mode else replace(record, passcode_mode=mode)


def adopt(alias: str, account: Account, snapshot: AccountSnapshot, out: Refreshed) -> None:
    """Take declared resources that already exist in the account into state (never duplicate them)."""
    _adopt_passcodes(alias, account, snapshot, out)
    _adopt_grants(alias, account, snapshot, out)
    settings = Address.settings(alias)
    if account.passcode_mode is not None and settings not in out.resources:
        out.resources[settings] = SettingsRecord(snapshot.account_id, passcode_mode(snapshot.passcode_mode))
        out.changes += 1


def _adopt_passcodes(alias: str, account: Account, snapshot: AccountSnapshot, out: Refreshed) -> None:
    managed_ids = {r.id for r in out.resources.values() if isinstance(r, AccountPasscodeRecord)}
    managed_names = {a.name for a in out.resources if a.kind is ResourceKind.ACCOUNT_PASSCODE}
    for name, spec in sorted(account.account_passcodes.items()):
        if name in managed_names or any(p in managed_names for p in spec.previously):
            continue
        address = Address.account_passcode(alias, name)
        passcode = snapshot.passcode_named(name)
        if passcode is None or passcode.id in managed_ids:
            continue
        out.resources[address] = AccountPasscodeRecord.observed(
            snapshot.account_id, passcode, origin=Origin.ADOPTED, rotate_token=spec.rotate
        )
        managed_names.add(name)
        out.drift.append(
            Drift(
                address,
                "already exists in the account: adopted into state (ctconfig does not hold its secret)",
            )
        )
        out.adopted_ids.add(passcode.id)
        out.changes += 1


def _adopt_grants(alias: str, account: Account, snapshot: AccountSnapshot, out: Refreshed) -> None:
    for email, spec in sorted(account.user_passcodes.items()):
        address = Address.user_passcode(alias, email)
        user = snapshot.user(email)
        if address in out.resources or user is None or user.grant is None:
            continue
        out.resources[address] = UserPasscodeRecord.observed(
            snapshot.account_id, user.grant, origin=Origin.ADOPTED, reset_token=spec.reset
        )
        out.drift.append(Drift(address, "already granted in the account: adopted into state"))
        out.changes += 1


def sync_protection(alias: str, account: Account, out: Refreshed) -> None:
    """Copy `prevent_destroy` from the config into state.

    It lives in state too, so that removing a protected resource from the
    config is refused until the protection itself was removed and applied.
    """
    passcodes = account.account_passcodes
    grants = {email.lower(): spec for email, spec in account.user_passcodes.items()}
    for address, current in out.resources.items():  # this account's records only
        if isinstance(current, AccountPasscodeRecord) and address.kind is ResourceKind.ACCOUNT_PASSCODE:
            spec: AccountPasscodeSpec | UserPasscodeSpec | None = passcodes.get(address.name)
        elif isinstance(current, UserPasscodeRecord) and address.kind is ResourceKind.USER_PASSCODE:
            spec = grants.get(address.name)
        else:
            continue
        if spec is not None and current.prevent_destroy != spec.prevent_destroy:
            out.resources[address] = replace(current, prevent_destroy=spec.prevent_destroy)
            out.changes += 1
