"""Account passcodes: create, update, rename (`previously`), rotate, retire and delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ctconfig.actions import ActionKind, PasscodeAction, PasscodeSettings, Rotation
from ctconfig.config.spec import Account, AccountPasscodeSpec, Config
from ctconfig.domain import (
    MAX_NAME_LENGTH,
    RETIRING_MARK,
    AccountSnapshot,
    Address,
    PasscodeStatus,
    expiry_status,
    warning_days,
)
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
from ctconfig.planner.moves import move_secret_words
from ctconfig.planner.refresh import Records, in_address_order, passcode_settings
from ctconfig.state.document import AccountPasscodeRecord


@dataclass(frozen=True)
class AccountView:
    """What every decision about one account's passcodes needs."""

    config: Config
    alias: str
    managed: Records
    snapshot: AccountSnapshot | None
    now: datetime
    options: PlanOptions


def retiring_name(name: str, now: datetime, taken: frozenset[str] = frozenset()) -> str:
    """`<name>~retiring-YYYYMMDD` (then `-2`, `-3`… if taken), within CleverTap's 64 characters."""
    for n in range(1, len(taken) + 2):
        suffix = f"{RETIRING_MARK}{now:%Y%m%d}" + (f"-{n}" if n > 1 else "")
        candidate = name[: MAX_NAME_LENGTH - len(suffix)] + suffix
        if candidate.casefold() not in taken:
            return candidate
    raise AssertionError("unreachable: more candidates than taken names")


def diff_passcodes(view: AccountView, account: Account, out: Builder) -> None:
    """Create, change or rotate what is declared; retire or delete what no longer is."""
    declared: set[Address] = set()
    for name, spec in sorted(account.account_passcodes.items()):
        address = Address.account_passcode(view.alias, name)
        declared.add(address)
        current = view.managed.get(address)
        if isinstance(current, AccountPasscodeRecord):
            _declared(view, address, spec, current, out)
        else:
            _absent(view, address, spec, declared, out)
    for address, record in in_address_order(view.managed):
        if not isinstance(record, AccountPasscodeRecord) or address in declared:
            continue
        if record.retire_after is not None:
            _retire(address, record, view.now, out)
        else:
            destroy(address, record, "removed from config", out)


def _absent(
    view: AccountView, address: Address, spec: AccountPasscodeSpec, declared: set[Address], out: Builder
) -> None:
    """A declared passcode not in state: a rename of an earlier one (`previously`), or a create."""
    after = PasscodeSettings(address.name, spec.expires_in)
    for old_name in spec.previously:
        old_address = Address.account_passcode(view.alias, old_name)
        old = view.managed.get(old_address)
        if isinstance(old, AccountPasscodeRecord) and old_address not in declared:
            declared.add(old_address)
            reason = f"renamed from '{old.name}' (previously); the secret is kept"
            if old.secret_known:
                words = move_secret_words(view.config.secrets, old_address, address, out)
                reason += f" and {words}" if words else ""
            before = passcode_settings(old)
            action = PasscodeAction(
                address, ActionKind.UPDATE, before, after, reason, remote_id=old.id, moved_from=old_address
            )
            out.actions.append(action)
            return
    created = PasscodeAction(
        address,
        ActionKind.CREATE,
        None,
        after,
        "declared in config, not in the account",
        rotate_token=spec.rotate,
    )
    out.actions.append(created)


def _declared(
    view: AccountView,
    address: Address,
    spec: AccountPasscodeSpec,
    current: AccountPasscodeRecord,
    out: Builder,
) -> None:
    before = passcode_settings(current)
    after = PasscodeSettings(address.name, spec.expires_in)
    days_left = days_until(current.expires_at, view.now)
    reason = _rotation_reason(view, address, spec, current, days_left)
    if reason is not None:
        # A tainted passcode's secret is known to no one: delete it first (no overlap to protect),
        # so that retries never add passcodes toward the account's limit of 100.
        rotation = None if current.tainted else _rotation(view, current)
        out.actions.append(
            PasscodeAction(
                address,
                ActionKind.REPLACE,
                before,
                after,
                reason,
                remote_id=current.id,
                rotation=rotation,
                rotate_token=spec.rotate,
            )
        )
        return
    if before != after:
        out.actions.append(
            PasscodeAction(
                address,
                ActionKind.UPDATE,
                before,
                after,
                changed_words(before, after, out.changed_outside(address)),
                remote_id=current.id,
            )
        )
    status = expiry_status(current.expires_at, view.now)
    if status is PasscodeStatus.EXPIRED and current.expires_at is not None:
        out.warn(
            address,
            f"expired on {timestamp_text(current.expires_at)}: API calls with it fail; "
            "set rotate_before or run plan --replace to issue a new one",
        )
    elif (
        status is PasscodeStatus.EXPIRING_SOON
        and before == after
        and current.expires_at is not None
        and days_left is not None
        and days_left <= warning_days(current.expires_in)
    ):
        out.warn(address, f"expiring soon: {expiry_words(days_left)} ({timestamp_text(current.expires_at)})")


def _rotation_reason(
    view: AccountView,
    address: Address,
    spec: AccountPasscodeSpec,
    current: AccountPasscodeRecord,
    days_left: int | None,
) -> str | None:
    """Why this passcode must be rotated now, or None."""
    if current.tainted:
        return f"tainted: {current.tainted}"
    if view.options.replacing(address):
        return "replacement requested with --replace"
    if spec.rotate is not None and spec.rotate != current.rotate_token:
        return "rotate token changed: " + token_change(current.rotate_token, spec.rotate)
    if spec.rotate_before is not None and days_left is not None and days_left <= spec.rotate_before:
        return expiry_words(days_left) + f"; rotate_before is {spec.rotate_before}d"
    return None


def _rotation(view: AccountView, current: AccountPasscodeRecord) -> Rotation:
    """Where the old passcode goes and how long it lives on: the overlap, or its own expiry."""
    retire_at = view.now + timedelta(days=view.config.defaults.rotation_overlap)
    if current.expires_at is not None:
        retire_at = min(retire_at, current.expires_at)
    return Rotation(retiring_name(current.name, view.now, _names_in_use(view)), retire_at)


def _names_in_use(view: AccountView) -> frozenset[str]:
    names = {r.name.casefold() for r in view.managed.values() if isinstance(r, AccountPasscodeRecord)}
    if view.snapshot is not None:
        names.update(p.name.casefold() for p in view.snapshot.passcodes)
    return frozenset(names)


def _retire(address: Address, record: AccountPasscodeRecord, now: datetime, out: Builder) -> None:
    """A rotated-out passcode: delete it once its overlap (or its own expiry) has passed."""
    retire_after = record.retire_after
    expired = record.expires_at is not None and record.expires_at <= now
    if retire_after is None or retire_after <= now or expired:
        ended = timestamp_text(retire_after) if retire_after else "already"
        out.actions.append(
            PasscodeAction(
                address,
                ActionKind.DELETE,
                passcode_settings(record),
                None,
                f"rotated out; its overlap ended {ended}",
                remote_id=record.id,
            )
        )
    else:
        out.warn(address, f"retiring: rotated out, deleted after {timestamp_text(retire_after)}")
