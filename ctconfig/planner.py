"""The planner: desired config + state + observed accounts + now → Plan. Pure: no I/O.

It works per account in two steps. *Refresh* reconciles state with what the
account reports (drift notes; resources deleted outside ctconfig dropped;
declared resources that already exist adopted by name, so a crash never causes
a duplicate). *Diff* compares the config with the refreshed state and emits
actions in a safe order: renames and updates, then creates, grants, rotations
and resets, then the passcode mode, then deletes and revokes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from ctconfig.config.models import Account, Config
from ctconfig.model import (
    RETIRING_MARK,
    AccountSnapshot,
    Address,
    PasscodeStatus,
    ResourceKind,
    expiry_status,
    format_days,
    isoformat,
    parse_isoformat,
)
from ctconfig.plan import Action, ActionKind, MassDelete, Note, Plan
from ctconfig.refresh import Refreshed, refresh_account
from ctconfig.state.model import ResourceState, State

PHASES = {
    ActionKind.UPDATE: 0,
    ActionKind.CREATE: 1,
    ActionKind.GRANT: 1,
    ActionKind.REPLACE: 1,
    ActionKind.RESET: 1,
    ActionKind.CONFIGURE: 2,
    ActionKind.DELETE: 3,
    ActionKind.REVOKE: 3,
}
MAX_NAME = 64


@dataclass(frozen=True)
class PlanOptions:
    """How to plan: the clock (used when an account was not read), targeting, forced replacement."""

    now: datetime
    refresh_only: bool = False
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanResult:
    """The plan, and the state as the refresh left it (what `apply` starts from)."""

    plan: Plan
    refreshed: State


@dataclass
class _Builder:
    actions: list[Action] = field(default_factory=list)
    drift: list[Note] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)
    errors: list[Note] = field(default_factory=list)
    mass_deletes: list[MassDelete] = field(default_factory=list)


def make_plan(
    config: Config,
    state: State,
    observed: Mapping[str, AccountSnapshot | None],
    options: PlanOptions,
) -> PlanResult:
    """Diff the config against state refreshed with `observed` (alias → snapshot; None = not read)."""
    out = _Builder()
    resources: dict[str, ResourceState] = {}
    state_updates = 0
    by_account = _group_by_account(state)
    for alias in sorted(set(by_account) - set(config.accounts)):
        out.errors.append(
            Note(
                f"{alias}/*",
                f"account '{alias}' is in state ({len(by_account[alias])} resources) but not in the "
                f"config; keep it with no passcodes to delete them, or `ctconfig state rm '{alias}/*'` "
                "to stop managing it",
            )
        )
        resources.update(by_account[alias])
    for alias in sorted(config.accounts):
        snapshot = observed.get(alias)
        now = snapshot.observed_at if snapshot is not None else options.now
        refreshed = refresh_account(config, alias, by_account.get(alias, {}), snapshot)
        out.drift.extend(refreshed.drift)
        state_updates += refreshed.changes
        resources.update(refreshed.resources)
        if not options.refresh_only:
            _diff_account(config, alias, refreshed, snapshot, now, options, out)
    actions = _select(out.actions, options.targets, options.excludes)
    actions.sort(key=lambda a: (a.account, PHASES[a.kind], a.address))
    out.mass_deletes.extend(_mass_deletes(config, resources, actions))
    plan = Plan(
        actions=tuple(actions),
        drift=tuple(out.drift),
        warnings=tuple(out.warnings),
        errors=tuple(out.errors),
        mass_deletes=tuple(out.mass_deletes),
        targets=options.targets,
        excludes=options.excludes,
        refresh_only=options.refresh_only,
        state_updates=state_updates,
    )
    return PlanResult(plan, state.with_resources(dict(sorted(resources.items()))))


def _group_by_account(state: State) -> dict[str, dict[str, ResourceState]]:
    grouped: dict[str, dict[str, ResourceState]] = {}
    for address, resource in state.resources.items():
        grouped.setdefault(address.split("/", 1)[0], {})[address] = resource
    return grouped


def _select(actions: list[Action], targets: tuple[str, ...], excludes: tuple[str, ...]) -> list[Action]:
    def matches(action: Action, patterns: tuple[str, ...]) -> bool:
        names = [action.address, *([action.moved_from] if action.moved_from else [])]
        return any(
            fnmatchcase(name, p) or name.startswith(p.rstrip("/") + "/") for p in patterns for name in names
        )

    return [
        a for a in actions if (not targets or matches(a, targets)) and not (excludes and matches(a, excludes))
    ]


def _diff_account(
    config: Config,
    alias: str,
    refreshed: Refreshed,
    snapshot: AccountSnapshot | None,
    now: datetime,
    options: PlanOptions,
    out: _Builder,
) -> None:
    account = config.accounts[alias]
    managed = refreshed.resources
    _diff_passcodes(config, alias, account, managed, snapshot, now, options, out)
    _diff_grants(alias, account, managed, snapshot, now, options, out)
    _diff_settings(alias, account, managed, snapshot, out)
    _unmanaged(config, alias, managed, refreshed.adopted_ids, snapshot, out)


def _passcode_attrs(name: str, expires_in: int | None) -> dict[str, Any]:
    return {"name": name, "expires_in": format_days(expires_in, "forever")}


def _grant_attrs(email: str, validity: int | None) -> dict[str, Any]:
    return {"email": email, "validity": format_days(validity, "infinite")}


def _days_left(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole days left, rounded up (9.9 days left reads "expires in 10 days"); negative once expired."""
    if expires_at is None:
        return None
    seconds = (expires_at - now).total_seconds()
    return math.ceil(seconds / 86400) if seconds >= 0 else -math.ceil(-seconds / 86400)


def retiring_name(name: str, now: datetime) -> str:
    """`<name>~retiring-YYYYMMDD`, shortened so it stays within CleverTap's 64 characters."""
    suffix = f"{RETIRING_MARK}{now:%Y%m%d}"
    return name[: MAX_NAME - len(suffix)] + suffix


def _diff_passcodes(
    config: Config,
    alias: str,
    account: Account,
    managed: dict[str, ResourceState],
    snapshot: AccountSnapshot | None,
    now: datetime,
    options: PlanOptions,
    out: _Builder,
) -> None:
    declared = set()
    for name, spec in sorted(account.account_passcodes.items()):
        address = str(Address.account_passcode(alias, name))
        declared.add(address)
        after = _passcode_attrs(name, spec.expires_in)
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
                        _passcode_attrs(str(old.attributes["name"]), _days_of(old, "expires_in")),
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
        before = _passcode_attrs(str(current.attributes["name"]), _days_of(current, "expires_in"))
        expires_at = parse_isoformat(current.attributes.get("expires_at"))
        days_left = _days_left(expires_at, now)
        rotate_reason = None
        if current.tainted:
            rotate_reason = f"tainted: {current.tainted}"
        elif address in options.replace or any(fnmatchcase(address, p) for p in options.replace):
            rotate_reason = "replacement requested with --replace"
        elif spec.rotate_before is not None and days_left is not None and days_left <= spec.rotate_before:
            rotate_reason = _expiry_words(days_left) + f"; rotate_before is {spec.rotate_before}d"
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
                    aside_name=retiring_name(name, now),
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
                    _changed_words(before, after),
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
                Note(address, f"expiring soon: {_expiry_words(days_left)} ({isoformat(expires_at)})")
            )
    for address, resource in sorted(managed.items()):
        if resource.kind != ResourceKind.ACCOUNT_PASSCODE or address in declared:
            continue
        if "retire_after" in resource.attributes:
            _retire(alias, address, resource, now, out)
            continue
        _destroy(address, alias, resource, ActionKind.DELETE, "removed from config", out)


def _find_previous(
    alias: str, previously: list[str], managed: dict[str, ResourceState], taken: set[str]
) -> tuple[str, ResourceState] | None:
    for old_name in previously:
        old_address = str(Address.account_passcode(alias, old_name))
        if old_address in managed and old_address not in taken:
            return old_address, managed[old_address]
    return None


def _retire(alias: str, address: str, resource: ResourceState, now: datetime, out: _Builder) -> None:
    retire_after = parse_isoformat(resource.attributes.get("retire_after"))
    expires_at = parse_isoformat(resource.attributes.get("expires_at"))
    due = retire_after is None or retire_after <= now or (expires_at is not None and expires_at <= now)
    before = _passcode_attrs(str(resource.attributes["name"]), _days_of(resource, "expires_in"))
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


def _destroy(
    address: str, alias: str, resource: ResourceState, kind: ActionKind, reason: str, out: _Builder
) -> None:
    if resource.attributes.get("prevent_destroy"):
        out.errors.append(
            Note(
                address,
                f"would be {'deleted' if kind is ActionKind.DELETE else 'revoked'} ({reason}), "
                "but it has prevent_destroy; set prevent_destroy: false and apply first, "
                "or `ctconfig state rm` it to stop managing it",
            )
        )
        return
    if resource.kind == ResourceKind.ACCOUNT_PASSCODE:
        before = _passcode_attrs(str(resource.attributes["name"]), _days_of(resource, "expires_in"))
    else:
        before = _grant_attrs(str(resource.attributes["email"]), _days_of(resource, "validity"))
    out.actions.append(Action(address, alias, kind, before, None, reason, remote_id=resource.remote_id))


def _diff_grants(
    alias: str,
    account: Account,
    managed: dict[str, ResourceState],
    snapshot: AccountSnapshot | None,
    now: datetime,
    options: PlanOptions,
    out: _Builder,
) -> None:
    declared = set()
    for email, spec in sorted(account.user_passcodes.items()):
        address = str(Address.user_passcode(alias, email))
        declared.add(address)
        after = _grant_attrs(email, spec.validity)
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
        before = _grant_attrs(str(current.attributes["email"]), _days_of(current, "validity"))
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
                    _changed_words(before, after) + "; user passcodes cannot be edited, so revoke and grant",
                    remote_id=current.remote_id,
                    replace_order="delete_before_create",
                )
            )
            continue
        expires_at = parse_isoformat(current.attributes.get("expires_at"))
        days_left = _days_left(expires_at, now)
        forced = address in options.replace or any(fnmatchcase(address, p) for p in options.replace)
        if forced or (
            spec.reset_before is not None and days_left is not None and days_left <= spec.reset_before
        ):
            reason = (
                "reset requested with --replace"
                if forced
                else _expiry_words(days_left) + f"; reset_before is {spec.reset_before}d"
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
            out.warnings.append(Note(address, f"user passcode expiring soon: {_expiry_words(days_left)}"))
    for address, resource in sorted(managed.items()):
        if resource.kind == ResourceKind.USER_PASSCODE and address not in declared:
            _destroy(address, alias, resource, ActionKind.REVOKE, "removed from config", out)


def _diff_settings(
    alias: str,
    account: Account,
    managed: dict[str, ResourceState],
    snapshot: AccountSnapshot | None,
    out: _Builder,
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


def _unmanaged(
    config: Config,
    alias: str,
    managed: dict[str, ResourceState],
    adopted_ids: frozenset[str],
    snapshot: AccountSnapshot | None,
    out: _Builder,
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
        before = _passcode_attrs(passcode.name, passcode.expires_in_days)
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
        else:
            out.actions.append(
                Action(
                    address,
                    alias,
                    ActionKind.REVOKE,
                    _grant_attrs(user.email, user.grant.validity_days),
                    None,
                    "unmanaged: not in config (unmanaged: delete)",
                    remote_id=user.email,
                )
            )


def _mass_deletes(
    config: Config, resources: dict[str, ResourceState], actions: list[Action]
) -> list[MassDelete]:
    limit = config.safety.max_delete_fraction
    managed: dict[str, int] = {}
    for address, resource in resources.items():
        if resource.kind != ResourceKind.SETTINGS:
            account = address.split("/", 1)[0]
            managed[account] = managed.get(account, 0) + 1
    destroying: dict[str, int] = {}
    for action in actions:
        retiring = "retire_after" in getattr(resources.get(action.address), "attributes", {})
        if action.kind in (ActionKind.DELETE, ActionKind.REVOKE) and not retiring:
            destroying[action.account] = destroying.get(action.account, 0) + 1
    found = []
    for alias in sorted(config.accounts):
        count, total = destroying.get(alias, 0), managed.get(alias, 0)
        if total >= config.safety.min_resources and total and count / total > limit:
            found.append(MassDelete(alias, count, total, limit))
    return found


def _days_of(resource: ResourceState, key: str) -> int | None:
    value = resource.attributes.get(key)
    if value is None or value in ("forever", "infinite"):
        return None
    return int(str(value).rstrip("d"))


def _expiry_words(days_left: int | None) -> str:
    if days_left is None:
        return "never expires"
    if days_left < 0:
        return f"expired {-days_left} day{'s' if days_left != -1 else ''} ago"
    if days_left == 0:
        return "expires today"
    return f"expires in {days_left} day{'s' if days_left != 1 else ''}"


def _changed_words(before: dict[str, Any], after: dict[str, Any]) -> str:
    changed = [k for k in after if before.get(k) != after.get(k)]
    return ", ".join(f"{k} changed in config" for k in changed) or "changed in config"
