"""Account-wide decisions: the passcode mode, and resources the config does not manage."""

from __future__ import annotations

from collections.abc import Callable

from ctconfig.actions import (
    ActionKind,
    GrantAction,
    GrantSettings,
    ModeSettings,
    PasscodeAction,
    PasscodeSettings,
    SettingsAction,
)
from ctconfig.config.spec import Account, Config
from ctconfig.domain import AccountSnapshot, Address, ObservedPasscode, ObservedUser
from ctconfig.planner.common import Builder
from ctconfig.planner.refresh import Records
from ctconfig.state.document import AccountPasscodeRecord, SettingsRecord, UserPasscodeRecord


def diff_settings(
    alias: str, account: Account, managed: Records, snapshot: AccountSnapshot | None, out: Builder
) -> None:
    """Set the passcode mode the config asks for; warn which passcodes a switch to `user` stops."""
    if account.passcode_mode is None:
        return
    address = Address.settings(alias)
    current = managed.get(address)
    before = ModeSettings(current.passcode_mode) if isinstance(current, SettingsRecord) else None
    if before is not None and before.passcode_mode == account.passcode_mode:
        return
    after = ModeSettings(account.passcode_mode)
    out.actions.append(
        SettingsAction(address, before, after, f"passcode_mode is '{account.passcode_mode}' in config")
    )
    if account.passcode_mode == "user":
        names = {r.name for r in managed.values() if isinstance(r, AccountPasscodeRecord)}
        if snapshot is not None:
            names.update(p.name for p in snapshot.passcodes)
        listed = ", ".join(sorted(names)) or "none"
        out.warn(
            address,
            "switching to user passcodes: account passcodes stop authenticating "
            f"API calls; these will stop working: {listed}",
        )


def unmanaged(
    config: Config,
    alias: str,
    managed: Records,
    adopted_ids: set[str],
    snapshot: AccountSnapshot | None,
    out: Builder,
    forgotten: Callable[[Address], bool] = lambda address: False,
) -> None:
    """What exists in the account but not in the config: ignore, warn, or delete (`unmanaged:`).

    What `removed:` names (`forgotten`) is left alone while it is listed there.
    """
    policy = config.unmanaged_of(alias)
    if snapshot is None or policy == "ignore":
        return
    known_ids = {r.id for r in managed.values() if isinstance(r, AccountPasscodeRecord)} | adopted_ids
    for passcode in sorted(snapshot.passcodes, key=lambda p: p.name):
        if passcode.id not in known_ids and not forgotten(Address.account_passcode(alias, passcode.name)):
            _unmanaged_passcode(alias, passcode, policy, out)
    known_emails = {r.email.casefold() for r in managed.values() if isinstance(r, UserPasscodeRecord)}
    for user in sorted(snapshot.users, key=lambda u: u.email):
        listed = forgotten(Address.user_passcode(alias, user.email))
        if user.grant is not None and user.email.casefold() not in known_emails and not listed:
            _unmanaged_grant(alias, user, policy, out)


def _unmanaged_passcode(alias: str, passcode: ObservedPasscode, policy: str, out: Builder) -> None:
    address = Address.account_passcode(alias, passcode.name)
    out.unmanaged.append(address)
    if policy == "warn":
        out.warn(address, "unmanaged: exists in the account but not in config")
        return
    before = PasscodeSettings(passcode.name, passcode.expires_in_days)
    reason = "unmanaged: not in config (unmanaged: delete)"
    out.actions.append(
        PasscodeAction(address, ActionKind.DELETE, before, None, reason, remote_id=passcode.id)
    )


def _unmanaged_grant(alias: str, user: ObservedUser, policy: str, out: Builder) -> None:
    if user.role == "admin":
        # An admin's own user passcode is the credential ctconfig (or another admin) runs
        # with: never revoked, and not worth a warning in every plan. Declare it to manage it.
        return
    address = Address.user_passcode(alias, user.email)
    out.unmanaged.append(address)
    if policy == "warn":
        out.warn(address, "unmanaged: user passcode granted outside ctconfig")
    elif user.grant is not None:
        before = GrantSettings(user.email, user.grant.validity_days)
        reason = "unmanaged: not in config (unmanaged: delete)"
        out.actions.append(GrantAction(address, ActionKind.REVOKE, before, None, reason))
