"""Shared pieces of the planner: options, the builder plans are collected in, and wording."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime

from ctconfig.actions import Action, ActionKind, GrantAction, PasscodeAction, Settings
from ctconfig.domain import Address
from ctconfig.plan import Drift, MassDelete, Note, PlanScope
from ctconfig.planner.refresh import grant_settings, passcode_settings
from ctconfig.state.document import AccountPasscodeRecord, UserPasscodeRecord


@dataclass(frozen=True)
class PlanOptions:
    """How to plan: the clock (used when an account was not read) and the scope asked for."""

    now: datetime
    scope: PlanScope = field(default_factory=PlanScope)

    def replacing(self, address: Address) -> bool:
        """Whether `--replace` (an exact address or a glob) names this address."""
        return bool(self.scope.replace) and self.scope.replaces(address)


@dataclass
class Builder:
    """What the planner has decided so far, per kind of finding."""

    actions: list[Action] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)
    errors: list[Note] = field(default_factory=list)
    mass_deletes: list[MassDelete] = field(default_factory=list)
    unmanaged: list[Address] = field(default_factory=list)
    _drift_index: dict[Address, set[str]] = field(default_factory=dict, repr=False)
    _drift_index_of: list[Drift] = field(default_factory=list, repr=False)

    def changed_outside(self, address: Address) -> set[str]:
        """The settings of `address` the refresh found changed in the account (drift)."""
        if len(self._drift_index_of) != len(self.drift):
            index: dict[Address, set[str]] = {}
            for d in self.drift:
                if d.before is not None and d.after is not None:
                    index.setdefault(d.address, set()).update(differing(d.before, d.after))
            self._drift_index, self._drift_index_of = index, list(self.drift)
        return self._drift_index.get(address, set())

    def warn(self, subject: Address | str, message: str) -> None:
        """Add a warning about one resource (or an entry of the config that names some)."""
        self.warnings.append(Note(str(subject), message))

    def error(self, subject: Address | str, message: str) -> None:
        """Add an error: the plan cannot be applied until it is fixed."""
        self.errors.append(Note(str(subject), message))


def days_until(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole days left, rounded up (9.9 days left reads "expires in 10 days"); negative once expired."""
    if expires_at is None:
        return None
    seconds = (expires_at - now).total_seconds()
    return math.ceil(seconds / 86400) if seconds >= 0 else -math.ceil(-seconds / 86400)


def expiry_words(days_left: int | None) -> str:
    """`expires in 3 days`, `expires today`, `expired 2 days ago`, `never expires`."""
    if days_left is None:
        return "never expires"
    if days_left < 0:
        return f"expired {-days_left} day{'s' if days_left != -1 else ''} ago"
    if days_left == 0:
        return "expires today"
    return f"expires in {days_left} day{'s' if days_left != 1 else ''}"


def token_change(before: str | None, after: str) -> str:
    """`'2026-q1' -> '2026-q2'` (`none -> 'SEC-1'` for the first token)."""
    return f"{'none' if before is None else repr(before)} -> {after!r}"


def differing(before: Settings, after: Settings) -> list[str]:
    """The names of the settings that differ."""
    return [f.name for f in fields(after) if getattr(before, f.name, None) != getattr(after, f.name)]


def changed_words(before: Settings, after: Settings, outside: set[str] | frozenset[str] = frozenset()) -> str:
    """`expires_in changed in config` for each setting that differs.

    A setting changed in the account (`outside`, from the refresh's drift) is being
    restored, and says so: `name changed in the account; restoring the config`.
    """
    changed = differing(before, after)
    words = [f"{name} changed in config" for name in changed if name not in outside]
    restored = [name for name in changed if name in outside]
    if restored:
        words.append(f"{' and '.join(restored)} changed in the account; restoring the config")
    return ", ".join(words) or "changed in config"


def destroy(
    address: Address,
    record: AccountPasscodeRecord | UserPasscodeRecord,
    reason: str,
    out: Builder,
) -> None:
    """Delete a passcode or revoke a grant, unless it is protected (then it is an error)."""
    if record.prevent_destroy:
        verb = "deleted" if isinstance(record, AccountPasscodeRecord) else "revoked"
        out.error(
            address,
            f"would be {verb} ({reason}), but it has prevent_destroy; set prevent_destroy: false "
            "and apply first, or `ctconfig state rm` it to stop managing it",
        )
        return
    if isinstance(record, AccountPasscodeRecord):
        before = passcode_settings(record)
        out.actions.append(
            PasscodeAction(address, ActionKind.DELETE, before, None, reason, remote_id=record.id)
        )
    else:
        out.actions.append(GrantAction(address, ActionKind.REVOKE, grant_settings(record), None, reason))
