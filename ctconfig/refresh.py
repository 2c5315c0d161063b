"""Refresh: reconcile one account's state with what the account reports. Pure.

Drift (a change made outside ctconfig) becomes a note and the refreshed
state records the account as it is, so the diff that follows restores the
config. A declared resource that exists in the account but not in state is
adopted by name (passcodes) or email (grants): after a crash that created a
passcode but did not record it, the next run adopts it instead of creating a
duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ctconfig.config.spec import Config
from ctconfig.domain import (
    AccountSnapshot,
    Address,
    ObservedGrant,
    ObservedPasscode,
    ResourceKind,
    format_days,
    isoformat,
)
from ctconfig.plan import Note
from ctconfig.state.document import ResourceState


@dataclass
class Refreshed:
    """One account's resources after refresh, the drift found, and how many records changed."""

    resources: dict[str, ResourceState]
    drift: list[Note] = field(default_factory=list)
    changes: int = 0
    adopted_ids: frozenset[str] = frozenset()


def passcode_state(
    account_id: str,
    passcode: ObservedPasscode,
    *,
    fingerprint: str | None,
    secret_known: bool,
    extra: dict[str, Any] | None = None,
) -> ResourceState:
    """The state record of an account passcode as the account reported it."""
    return ResourceState(
        kind=ResourceKind.ACCOUNT_PASSCODE.value,
        account_id=account_id,
        remote_id=passcode.id,
        attributes={
            "name": passcode.name,
            "expires_in": format_days(passcode.expires_in_days, "forever"),
            "created_at": isoformat(passcode.created_at),
            "expires_at": isoformat(passcode.expires_at),
            **(extra or {}),
        },
        secret_fingerprint=fingerprint,
        secret_known=secret_known,
    )


def grant_state(account_id: str, grant: ObservedGrant, extra: dict[str, Any] | None = None) -> ResourceState:
    """The state record of a user passcode grant (its secret is the user's, never ours)."""
    return ResourceState(
        kind=ResourceKind.USER_PASSCODE.value,
        account_id=account_id,
        remote_id=grant.email.lower(),
        attributes={
            "email": grant.email.lower(),
            "validity": format_days(grant.validity_days, "infinite"),
            "granted_at": isoformat(grant.granted_at),
            "expires_at": isoformat(grant.expires_at),
            **(extra or {}),
        },
        secret_fingerprint=None,
        secret_known=False,
    )


def settings_state(account_id: str, mode: str) -> ResourceState:
    """The state record of an account's passcode mode."""
    return ResourceState(
        kind=ResourceKind.SETTINGS.value, account_id=account_id, attributes={"passcode_mode": mode}
    )


_KEEP = ("prevent_destroy", "retire_after")


def _kept(resource: ResourceState) -> dict[str, Any]:
    return {k: resource.attributes[k] for k in _KEEP if k in resource.attributes}


def refresh_account(
    config: Config,
    alias: str,
    resources: dict[str, ResourceState],
    snapshot: AccountSnapshot | None,
) -> Refreshed:
    """Refresh one account's state records against `snapshot` (None: not read, keep state)."""
    account = config.accounts[alias]
    out = Refreshed(resources=dict(resources))
    if snapshot is not None:
        out = _refresh_observed(alias, resources, snapshot)
        _adopt(config, alias, snapshot, out)
    # prevent_destroy lives in state too, so that removing a protected resource from the
    # config is refused until the protection itself was removed and applied.
    for name, pspec in account.account_passcodes.items():
        _sync_flag(out, str(Address.account_passcode(alias, name)), pspec.prevent_destroy)
    for email, gspec in account.user_passcodes.items():
        _sync_flag(out, str(Address.user_passcode(alias, email)), gspec.prevent_destroy)
    return out


def _sync_flag(out: Refreshed, address: str, prevent_destroy: bool) -> None:
    current = out.resources.get(address)
    if current is not None and bool(current.attributes.get("prevent_destroy", False)) != prevent_destroy:
        out.resources[address] = current.with_attributes(prevent_destroy=prevent_destroy)
        out.changes += 1


def _refresh_observed(
    alias: str, resources: dict[str, ResourceState], snapshot: AccountSnapshot
) -> Refreshed:
    out = Refreshed(resources={})
    for address, resource in sorted(resources.items()):
        fresh = _refresh_one(address, resource, snapshot, out.drift)
        if fresh is not None:
            out.resources[address] = fresh
        if fresh != resource:
            out.changes += 1
    return out


def _refresh_one(
    address: str, resource: ResourceState, snapshot: AccountSnapshot, drift: list[Note]
) -> ResourceState | None:
    attrs = resource.attributes
    if resource.kind == ResourceKind.ACCOUNT_PASSCODE:
        passcode = snapshot.passcode_by_id(resource.remote_id or "")
        if passcode is None:
            drift.append(Note(address, "deleted outside ctconfig", {"name": attrs.get("name")}, None))
            return None
        fresh = passcode_state(
            resource.account_id,
            passcode,
            fingerprint=resource.secret_fingerprint,
            secret_known=resource.secret_known,
            extra=_kept(resource),
        )
        if resource.tainted:
            fresh = replace(fresh, tainted=resource.tainted)
        if passcode.name != attrs.get("name"):
            drift.append(
                Note(
                    address,
                    f"renamed outside ctconfig: '{attrs.get('name')}' -> '{passcode.name}'",
                    {"name": attrs.get("name")},
                    {"name": passcode.name},
                )
            )
        if fresh.attributes["expires_in"] != attrs.get("expires_in"):
            drift.append(
                Note(
                    address,
                    "expiry edited outside ctconfig: "
                    f"{attrs.get('expires_in')} -> {fresh.attributes['expires_in']}",
                    {"expires_in": attrs.get("expires_in")},
                    {"expires_in": fresh.attributes["expires_in"]},
                )
            )
        return fresh
    if resource.kind == ResourceKind.USER_PASSCODE:
        user = snapshot.user(str(attrs.get("email", resource.remote_id or "")))
        if user is None or user.grant is None:
            why = "user removed from the dashboard" if user is None else "revoked outside ctconfig"
            drift.append(Note(address, why, {"validity": attrs.get("validity")}, None))
            return None
        fresh = grant_state(resource.account_id, user.grant, extra=_kept(resource))
        if fresh.attributes["validity"] != attrs.get("validity"):
            drift.append(
                Note(
                    address,
                    "granted again outside ctconfig with validity "
                    f"{fresh.attributes['validity']} (was {attrs.get('validity')})",
                    {"validity": attrs.get("validity")},
                    {"validity": fresh.attributes["validity"]},
                )
            )
        elif fresh.attributes["granted_at"] != attrs.get("granted_at"):
            drift.append(Note(address, f"reset outside ctconfig at {fresh.attributes['granted_at']}"))
        return fresh
    if attrs.get("passcode_mode") != snapshot.passcode_mode:
        drift.append(
            Note(
                address,
                "passcode mode switched outside ctconfig: "
                f"{attrs.get('passcode_mode')} -> {snapshot.passcode_mode}",
                {"passcode_mode": attrs.get("passcode_mode")},
                {"passcode_mode": snapshot.passcode_mode},
            )
        )
    return settings_state(resource.account_id, snapshot.passcode_mode)


def _adopt(config: Config, alias: str, snapshot: AccountSnapshot, out: Refreshed) -> None:
    account = config.accounts[alias]
    managed_ids = {r.remote_id for r in out.resources.values() if r.kind == ResourceKind.ACCOUNT_PASSCODE}
    adopted: set[str] = set()
    for name, spec in sorted(account.account_passcodes.items()):
        address = str(Address.account_passcode(alias, name))
        previous = [str(Address.account_passcode(alias, p)) for p in spec.previously]
        if address in out.resources or any(p in out.resources for p in previous):
            continue
        passcode = snapshot.passcode_named(name)
        if passcode is None or passcode.id in managed_ids:
            continue
        out.resources[address] = passcode_state(
            snapshot.account_id, passcode, fingerprint=None, secret_known=False
        )
        out.drift.append(
            Note(
                address,
                "already exists in the account: adopted into state (its secret is unknown to ctconfig)",
            )
        )
        adopted.add(passcode.id)
        out.changes += 1
    for email in sorted(account.user_passcodes):
        address = str(Address.user_passcode(alias, email))
        user = snapshot.user(email)
        if address in out.resources or user is None or user.grant is None:
            continue
        out.resources[address] = grant_state(snapshot.account_id, user.grant)
        out.drift.append(Note(address, "already granted in the account: adopted into state"))
        out.changes += 1
    settings = str(Address.settings(alias))
    if account.passcode_mode is not None and settings not in out.resources:
        out.resources[settings] = settings_state(snapshot.account_id, snapshot.passcode_mode)
        out.changes += 1
    out.adopted_ids = frozenset(adopted)
