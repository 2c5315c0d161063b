"""User passcodes: grant, reset (`reset_before`), revoke, and revoke-and-grant (validity changes)."""

from __future__ import annotations

from datetime import datetime

from ctconfig.actions import ActionKind, GrantAction, GrantSettings
from ctconfig.config.spec import Account, UserPasscodeSpec
from ctconfig.domain import AccountSnapshot, Address, PasscodeStatus, expiry_status, warning_days
from ctconfig.jsontypes import timestamp_text
from ctconfig.planner.common import (
    Builder,
    PlanOptions,
    changed_words,
    days_until,
    destroy,
    expiry_words,
    token_change,
)
from ctconfig.planner.refresh import Records, grant_settings, in_address_order
from ctconfig.state.document import UserPasscodeRecord


def diff_grants(
    alias: str,
    account: Account,
    managed: Records,
    snapshot: AccountSnapshot | None,
    now: datetime,
    options: PlanOptions,
    out: Builder,
) -> None:
    """Grant what is declared, change what differs, revoke what is managed but no longer declared."""
    declared = set()
    for email, spec in sorted(account.user_passcodes.items()):
        address = Address.user_passcode(alias, email)
        declared.add(address)
        current = managed.get(address)
        after = GrantSettings(email, spec.validity)
        if not isinstance(current, UserPasscodeRecord):
            _grant(alias, address, after, spec.reset, snapshot, out)
        else:
            _declared_grant(address, spec, current, after, now, options, out)
    for address, record in in_address_order(managed):
        if isinstance(record, UserPasscodeRecord) and address not in declared:
            destroy(address, record, "removed from config", out)


def _grant(
    alias: str,
    address: Address,
    after: GrantSettings,
    token: str | None,
    snapshot: AccountSnapshot | None,
    out: Builder,
) -> None:
    if snapshot is not None and snapshot.user(after.email) is None:
        out.error(
            address,
            f"{after.email} is not a dashboard user of account '{alias}' "
            f"({snapshot.account_id}); invite them in the dashboard first",
        )
        return
    reason = "declared in config, not granted"
    out.actions.append(GrantAction(address, ActionKind.GRANT, None, after, reason, reset_token=token))


def _declared_grant(
    address: Address,
    spec: UserPasscodeSpec,
    current: UserPasscodeRecord,
    after: GrantSettings,
    now: datetime,
    options: PlanOptions,
    out: Builder,
) -> None:
    before = grant_settings(current)
    if before != after:
        if spec.prevent_destroy:
            out.error(
                address, "validity can only change by revoking and granting again, but it has prevent_destroy"
            )
            return
        why = (
            changed_words(before, after, out.changed_outside(address))
            + "; user passcodes cannot be edited, so revoke and grant"
        )
        replaced = GrantAction(address, ActionKind.REPLACE, before, after, why, reset_token=spec.reset)
        out.actions.append(replaced)
        return
    days_left = days_until(current.expires_at, now)
    reason = _reset_reason(spec, current, days_left, options.replacing(address))
    if reason is not None:
        out.actions.append(
            GrantAction(address, ActionKind.RESET, before, after, reason, reset_token=spec.reset)
        )
        return
    status = expiry_status(current.expires_at, now)
    if status is PasscodeStatus.EXPIRED:
        out.warn(
            address,
            f"user passcode expired on {timestamp_text(current.expires_at)}; "
            "set reset_before or run plan --replace to reset it",
        )
    elif (
        status is PasscodeStatus.EXPIRING_SOON
        and days_left is not None
        and days_left <= warning_days(current.validity)
    ):
        out.warn(address, f"user passcode expiring soon: {expiry_words(days_left)}")


def _reset_reason(
    spec: UserPasscodeSpec, current: UserPasscodeRecord, days_left: int | None, forced: bool
) -> str | None:
    """Why this user passcode must be reset now, or None."""
    if forced:
        return "reset requested with --replace"
    if spec.reset is not None and spec.reset != current.reset_token:
        return "reset token changed: " + token_change(current.reset_token, spec.reset)
    if spec.reset_before is not None and days_left is not None and days_left <= spec.reset_before:
        return expiry_words(days_left) + f"; reset_before is {spec.reset_before}d"
    return None
