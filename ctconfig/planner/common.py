"""Shared pieces of the planner: the builder plans are collected in, attribute views and wording."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from ctconfig.domain import (
    ResourceKind,
    format_days,
    parse_days_text,
)
from ctconfig.plan import Action, ActionKind, MassDelete, Note
from ctconfig.state.document import ResourceState


@dataclass(frozen=True)
class PlanOptions:
    """How to plan: the clock (used when an account was not read), targeting, forced replacement."""

    now: datetime
    refresh_only: bool = False
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()

    def replacing(self, address: str) -> bool:
        """Whether `--replace` (exact address or glob) names this address."""
        return any(address == p or fnmatchcase(address, p) for p in self.replace)


MAX_NAME = 64


@dataclass
class Builder:
    actions: list[Action] = field(default_factory=list)
    drift: list[Note] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)
    errors: list[Note] = field(default_factory=list)
    mass_deletes: list[MassDelete] = field(default_factory=list)


def passcode_attrs(name: str, expires_in: int | None) -> dict[str, Any]:
    return {"name": name, "expires_in": format_days(expires_in, "forever")}


def grant_attrs(email: str, validity: int | None) -> dict[str, Any]:
    return {"email": email, "validity": format_days(validity, "infinite")}


def days_until(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole days left, rounded up (9.9 days left reads "expires in 10 days"); negative once expired."""
    if expires_at is None:
        return None
    seconds = (expires_at - now).total_seconds()
    return math.ceil(seconds / 86400) if seconds >= 0 else -math.ceil(-seconds / 86400)


def days_of(resource: ResourceState, key: str) -> int | None:
    value = resource.attributes.get(key)
    return None if value is None else parse_days_text(value)


def expiry_words(days_left: int | None) -> str:
    if days_left is None:
        return "never expires"
    if days_left < 0:
        return f"expired {-days_left} day{'s' if days_left != -1 else ''} ago"
    if days_left == 0:
        return "expires today"
    return f"expires in {days_left} day{'s' if days_left != 1 else ''}"


def changed_words(before: dict[str, Any], after: dict[str, Any]) -> str:
    changed = [k for k in after if before.get(k) != after.get(k)]
    return ", ".join(f"{k} changed in config" for k in changed) or "changed in config"


def destroy(
    address: str, alias: str, resource: ResourceState, kind: ActionKind, reason: str, out: Builder
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
        before = passcode_attrs(str(resource.attributes["name"]), days_of(resource, "expires_in"))
    else:
        before = grant_attrs(str(resource.attributes["email"]), days_of(resource, "validity"))
    out.actions.append(Action(address, alias, kind, before, None, reason, remote_id=resource.remote_id))
