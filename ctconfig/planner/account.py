"""Account-wide decisions: the passcode mode and resources the config does not manage."""

from __future__ import annotations

from ctconfig.config.spec import Account, Config
from ctconfig.domain import (
    AccountSnapshot,
    Address,
    ResourceKind,
)
from ctconfig.plan import Action, ActionKind, Note
from ctconfig.planner.common import (
    Builder,
    grant_attrs,
    passcode_attrs,
)
from ctconfig.state.document import ResourceState


def diff_settings(
    alias: str,
    account: Account,
    managed: dict[str, ResourceState],
    snapshot: AccountSnapshot | None,
    out: Builder,
) -> None:
    if account.passcode_mode is None:
        return
    address = str(Address.settings(alias))
    current = managed.get(address)
    before_mode = current.attributes.get("passcode_mode") if current else None
    if before_mode == account.passcode_mode:
        return
    reason = f"passcode_mode is '{account.passcode_mode}' in config"
    out.actions.append(
        Action(
            address,
            alias,
            ActionKind.CONFIGURE,
            {"passcode_mode": before_mode} if before_mode else None,
            {"passcode_mode": account.passcode_mode},
            reason,
        )
    )
    if account.passcode_mode == "user":
        names = sorted(
            str(r.attributes["name"]) for r in managed.values() if r.kind == ResourceKind.ACCOUNT_PASSCODE
        )
        if snapshot is not None:
            names = sorted({*names, *(p.name for p in snapshot.passcodes)})
        listed = ", ".join(names) if names else "none"
        out.warnings.append(
            Note(
                address,
                "switching to user passcodes: account passcodes stop authenticating "
                f"API calls; these will stop working: {listed}",
            )
        )


def unmanaged(
    config: Config,
    alias: str,
    managed: dict[str, ResourceState],
    adopted_ids: frozenset[str],
    snapshot: AccountSnapshot | None,
    out: Builder,
) -> None:
    policy = config.unmanaged_of(alias)
    if snapshot is None or policy == "ignore":
        return
    known_ids = {
        r.remote_id for r in managed.values() if r.kind == ResourceKind.ACCOUNT_PASSCODE
    } | adopted_ids
    known_emails = {
        str(r.attributes.get("email", "")).casefold()
        for r in managed.values()
        if r.kind == ResourceKind.USER_PASSCODE
    }
    for passcode in sorted(snapshot.passcodes, key=lambda p: p.name):
        if passcode.id in known_ids:
            continue
        address = str(Address.account_passcode(alias, passcode.name))
        before = passcode_attrs(passcode.name, passcode.expires_in_days)
        if policy == "warn":
            out.warnings.append(Note(address, "unmanaged: exists in the account but not in config"))
        else:
            out.actions.append(
                Action(
                    address,
                    alias,
                    ActionKind.DELETE,
                    before,
                    None,
                    "unmanaged: not in config (unmanaged: delete)",
                    remote_id=passcode.id,
                )
            )
    for user in sorted(snapshot.users, key=lambda u: u.email):
        if user.grant is None or user.email.casefold() in known_emails:
            continue
        address = str(Address.user_passcode(alias, user.email))
        if policy == "warn":
            out.warnings.append(Note(address, "unmanaged: user passcode granted outside ctconfig"))
        elif user.role == "admin":
            # The credential ctconfig itself runs with is an admin's user passcode: revoking
            # unmanaged admin passcodes could lock every admin out. Declare them to manage them.
            out.warnings.append(
                Note(
                    address,
                    "unmanaged admin user passcode: left alone even with "
                    "unmanaged: delete; declare it to manage it",
                )
            )
        else:
            out.actions.append(
                Action(
                    address,
                    alias,
                    ActionKind.REVOKE,
                    grant_attrs(user.email, user.grant.validity_days),
                    None,
                    "unmanaged: not in config (unmanaged: delete)",
                    remote_id=user.email,
                )
            )
