"""Account passcodes: create, update, rename (`previously`), rotate, retire and delete."""

from __future__ import annotations

from datetime import datetime, timedelta

from ctconfig.config.spec import Account, Config
from ctconfig.domain import (
    RETIRING_MARK,
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
    MAX_NAME,
    Builder,
    PlanOptions,
    changed_words,
    days_of,
    days_until,
    destroy,
    expiry_words,
    passcode_attrs,
)
from ctconfig.state.document import ResourceState


def retiring_name(name: str, now: datetime, taken: frozenset[str] = frozenset()) -> str:
    """`<name>~retiring-YYYYMMDD` (then `-2`, `-3`… if taken), within CleverTap's 64 characters."""
    for n in range(1, len(taken) + 2):
        suffix = f"{RETIRING_MARK}{now:%Y%m%d}" + (f"-{n}" if n > 1 else "")
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        if candidate.casefold() not in taken:
            return candidate
    raise AssertionError("unreachable: more candidates than taken names")


def diff_passcodes(
    config: Config,
    alias: str,
    account: Account,
    managed: dict[str, ResourceState],
    snapshot: AccountSnapshot | None,
    now: datetime,
    options: PlanOptions,
    out: Builder,
) -> None:
    declared = set()
    for name, spec in sorted(account.account_passcodes.items()):
        address = str(Address.account_passcode(alias, name))
        declared.add(address)
        after = passcode_attrs(name, spec.expires_in)
        current = managed.get(address)
        if current is None:
            moved = _find_previous(alias, spec.previously, managed, declared)
            if moved is not None:
                old_address, old = moved
                declared.add(old_address)
                out.actions.append(
                    Action(
                        address,
                        alias,
                        ActionKind.UPDATE,
                        passcode_attrs(str(old.attributes["name"]), days_of(old, "expires_in")),
                        after,
                        f"renamed from '{old.attributes['name']}' (previously); the secret is kept",
                        remote_id=old.remote_id,
                        moved_from=old_address,
                    )
                )
                continue
            out.actions.append(
                Action(
                    address, alias, ActionKind.CREATE, None, after, "declared in config, not in the account"
                )
            )
            continue
        before = passcode_attrs(str(current.attributes["name"]), days_of(current, "expires_in"))
        expires_at = parse_isoformat(current.attributes.get("expires_at"))
        days_left = days_until(expires_at, now)
        rotate_reason = None
        if current.tainted:
            rotate_reason = f"tainted: {current.tainted}"
        elif options.replacing(address):
            rotate_reason = "replacement requested with --replace"
        elif spec.rotate_before is not None and days_left is not None and days_left <= spec.rotate_before:
            rotate_reason = expiry_words(days_left) + f"; rotate_before is {spec.rotate_before}d"
        if rotate_reason:
            # A tainted passcode's secret reached nobody: retire it at once (retire_after None).
            retire_at: datetime | None = None
            if not current.tainted:
                retire_at = now + timedelta(days=config.defaults.rotation_overlap)
                if expires_at is not None:
                    retire_at = min(retire_at, expires_at)
            out.actions.append(
                Action(
                    address,
                    alias,
                    ActionKind.REPLACE,
                    before,
                    after,
                    rotate_reason,
                    remote_id=current.remote_id,
                    replace_order="create_before_delete",
                    retire_after=isoformat(retire_at),
                    aside_name=retiring_name(name, now, _names_in_use(managed, snapshot)),
                )
            )
            continue
        if before != after:
            out.actions.append(
                Action(
                    address,
                    alias,
                    ActionKind.UPDATE,
                    before,
                    after,
                    changed_words(before, after),
                    remote_id=current.remote_id,
                )
            )
        status = expiry_status(expires_at, now)
        if status is PasscodeStatus.EXPIRED:
            out.warnings.append(
                Note(
                    address,
                    f"expired on {isoformat(expires_at)}: API calls with it fail; "
                    "set rotate_before or run plan --replace to issue a new one",
                )
            )
        elif status is PasscodeStatus.EXPIRING_SOON and before == after:
            out.warnings.append(
                Note(address, f"expiring soon: {expiry_words(days_left)} ({isoformat(expires_at)})")
            )
    for address, resource in sorted(managed.items()):
        if resource.kind != ResourceKind.ACCOUNT_PASSCODE or address in declared:
            continue
        if "retire_after" in resource.attributes:
            _retire(alias, address, resource, now, out)
            continue
        destroy(address, alias, resource, ActionKind.DELETE, "removed from config", out)


def _names_in_use(managed: dict[str, ResourceState], snapshot: AccountSnapshot | None) -> frozenset[str]:
    names = {str(r.attributes.get("name", "")).casefold() for r in managed.values()}
    if snapshot is not None:
        names.update(p.name.casefold() for p in snapshot.passcodes)
    return frozenset(names)


def _find_previous(
    alias: str, previously: list[str], managed: dict[str, ResourceState], taken: set[str]
) -> tuple[str, ResourceState] | None:
    for old_name in previously:
        old_address = str(Address.account_passcode(alias, old_name))
        if old_address in managed and old_address not in taken:
            return old_address, managed[old_address]
    return None


def _retire(alias: str, address: str, resource: ResourceState, now: datetime, out: Builder) -> None:
    retire_after = parse_isoformat(resource.attributes.get("retire_after"))
    expires_at = parse_isoformat(resource.attributes.get("expires_at"))
    due = retire_after is None or retire_after <= now or (expires_at is not None and expires_at <= now)
    before = passcode_attrs(str(resource.attributes["name"]), days_of(resource, "expires_in"))
    if due:
        out.actions.append(
            Action(
                address,
                alias,
                ActionKind.DELETE,
                before,
                None,
                f"rotated out; its overlap ended {isoformat(retire_after)}",
                remote_id=resource.remote_id,
            )
        )
    else:
        out.warnings.append(Note(address, f"retiring: rotated out, deleted after {isoformat(retire_after)}"))
