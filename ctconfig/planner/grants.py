"""User passcodes: grant, reset (`reset_before`), revoke and grant again (validity changes)."""

from __future__ import annotations

from datetime import datetime

from ctconfig.config.spec import Account
from ctconfig.domain import (
    AccountSnapshot,
    Address,
    PasscodeStatus,
    ResourceKind,
    expiry_status,
    isoformat,
    parse_isoformat,
)
from ctconfig.plan import Action, ActionKind, Note
from ctconfig.planner.common import (
    Builder,
    PlanOptions,
    changed_words,
    days_of,
    days_until,
    destroy,
    expiry_words,
    grant_attrs,
)
from ctconfig.state.document import ResourceState


def diff_grants(
    alias: str,
    account: Account,
    managed: dict[str, ResourceState],
    snapshot: AccountSnapshot | None,
    now: datetime,
    options: PlanOptions,
    out: Builder,
) -> None:
    declared = set()
    for email, spec in sorted(account.user_passcodes.items()):
        address = str(Address.user_passcode(alias, email))
        declared.add(address)
        after = grant_attrs(email, spec.validity)
        current = managed.get(address)
        if current is None:
            if snapshot is not None and snapshot.user(email) is None:
                out.errors.append(
                    Note(
                        address,
                        f"{email} is not a dashboard user of account '{alias}' "
                        f"({snapshot.account_id}); invite them in the dashboard first",
                    )
                )
                continue
            out.actions.append(
                Action(address, alias, ActionKind.GRANT, None, after, "declared in config, not granted")
            )
            continue
        before = grant_attrs(str(current.attributes["email"]), days_of(current, "validity"))
        if before != after:
            if spec.prevent_destroy:
                out.errors.append(
                    Note(
                        address,
                        "validity can only change by revoking and granting again, but it has prevent_destroy",
                    )
                )
                continue
            out.actions.append(
                Action(
                    address,
                    alias,
                    ActionKind.REPLACE,
                    before,
                    after,
                    changed_words(before, after) + "; user passcodes cannot be edited, so revoke and grant",
                    remote_id=current.remote_id,
                    replace_order="delete_before_create",
                )
            )
            continue
        expires_at = parse_isoformat(current.attributes.get("expires_at"))
        days_left = days_until(expires_at, now)
        forced = options.replacing(address)
        if forced or (
            spec.reset_before is not None and days_left is not None and days_left <= spec.reset_before
        ):
            reason = (
                "reset requested with --replace"
                if forced
                else expiry_words(days_left) + f"; reset_before is {spec.reset_before}d"
            )
            out.actions.append(
                Action(address, alias, ActionKind.RESET, before, after, reason, remote_id=current.remote_id)
            )
            continue
        status = expiry_status(expires_at, now)
        if status is PasscodeStatus.EXPIRED:
            out.warnings.append(
                Note(
                    address,
                    f"user passcode expired on {isoformat(expires_at)}; "
                    "set reset_before or run plan --replace to reset it",
                )
            )
        elif status is PasscodeStatus.EXPIRING_SOON:
            out.warnings.append(Note(address, f"user passcode expiring soon: {expiry_words(days_left)}"))
    for address, resource in sorted(managed.items()):
        if resource.kind == ResourceKind.USER_PASSCODE and address not in declared:
            destroy(address, alias, resource, ActionKind.REVOKE, "removed from config", out)
