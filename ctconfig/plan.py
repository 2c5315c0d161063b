"""The Plan: computed once by the planner, rendered many ways, applied once.

A plan is plain data. Its digest covers only what would be done (addresses,
action kinds, managed attributes before and after), never times or wording,
so the same change planned twice has the same digest and a reviewer's digest
can gate an apply (`apply --plan-digest`); the dated name a rotated
passcode is set aside under is left out for the same reason. A saved plan also records the state
lineage and serial and the config digest it was made from, so a stale plan
is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ctconfig import __version__
from ctconfig.errors import CtconfigError

PLAN_FORMAT_VERSION = 1


class ActionKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"
    GRANT = "grant"
    RESET = "reset"
    REVOKE = "revoke"
    CONFIGURE = "configure"


# Terraform's `change.actions` vocabulary, so existing policy tools can read our JSON.
TERRAFORM_ACTIONS: dict[ActionKind, list[str]] = {
    ActionKind.CREATE: ["create"],
    ActionKind.GRANT: ["create"],
    ActionKind.UPDATE: ["update"],
    ActionKind.RESET: ["update"],
    ActionKind.CONFIGURE: ["update"],
    ActionKind.DELETE: ["delete"],
    ActionKind.REVOKE: ["delete"],
    ActionKind.REPLACE: ["create", "delete"],
}
DESTRUCTIVE = frozenset({ActionKind.DELETE, ActionKind.REVOKE})
SUMMARY_ORDER = (
    ActionKind.CREATE,
    ActionKind.UPDATE,
    ActionKind.DELETE,
    ActionKind.GRANT,
    ActionKind.RESET,
    ActionKind.REVOKE,
)


class PlanError(CtconfigError):
    """A plan cannot be made, loaded or applied as asked."""


class StalePlanError(PlanError):
    """A saved plan no longer matches the state or config it was made from."""


@dataclass(frozen=True)
class Action:
    """One change to one resource, with its reason in words.

    `before`/`after` hold managed attributes only (no timestamps) so that they
    are stable across runs. `remote_id` is the account's id for the resource
    (a passcode id; a user's email), which the applier needs. `replace_order`
    is "create_before_delete" (passcode rotation: rename the old one aside,
    create the new, retire the old) or "delete_before_create" (a user passcode
    can only be revoked and granted again). `retire_after` (ISO time) says when
    a rotated-out passcode may be deleted.
    """

    address: str
    account: str
    kind: ActionKind
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    remote_id: str | None = None
    replace_order: str | None = None
    moved_from: str | None = None
    retire_after: str | None = None
    aside_name: str | None = None  # rotation: the name the old passcode is renamed to

    @property
    def destructive(self) -> bool:
        return self.kind in DESTRUCTIVE or self.replace_order == "delete_before_create"

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "account": self.account,
            "action": self.kind.value,
            "actions": self.terraform_actions(),
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "remote_id": self.remote_id,
            "replace_order": self.replace_order,
            "moved_from": self.moved_from,
            "retire_after": self.retire_after,
            "aside_name": self.aside_name,
        }

    def terraform_actions(self) -> list[str]:
        if self.replace_order == "delete_before_create":
            return ["delete", "create"]
        return list(TERRAFORM_ACTIONS[self.kind])

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        return cls(
            address=str(data["address"]),
            account=str(data["account"]),
            kind=ActionKind(data["action"]),
            before=data.get("before"),
            after=data.get("after"),
            reason=str(data.get("reason", "")),
            remote_id=data.get("remote_id"),
            replace_order=data.get("replace_order"),
            moved_from=data.get("moved_from"),
            retire_after=data.get("retire_after"),
            aside_name=data.get("aside_name"),
        )

    def digest_material(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": self.kind.value,
            "before": self.before,
            "after": self.after,
            "moved_from": self.moved_from,
            "replace_order": self.replace_order,
        }


@dataclass(frozen=True)
class Note:
    """A drift report, warning or error about one address (or an account)."""

    address: str
    message: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"address": self.address, "message": self.message}
        if self.before is not None or self.after is not None:
            data["before"] = self.before
            data["after"] = self.after
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Note:
        return cls(
            address=str(data["address"]),
            message=str(data["message"]),
            before=data.get("before"),
            after=data.get("after"),
        )


@dataclass(frozen=True)
class MassDelete:
    """An account where one apply would delete or revoke too large a share of what it manages."""

    account: str
    destroying: int
    managed: int
    limit: float

    def message(self) -> str:
        share = self.destroying / self.managed if self.managed else 1.0
        return (
            f"{self.account}: {self.destroying} of {self.managed} managed resources would be "
            f"deleted or revoked ({share:.0%} > {self.limit:.0%})"
        )


@dataclass(frozen=True)
class Plan:
    """Everything one `plan` decided. Immutable; rendered by `ctconfig.render`."""

    actions: tuple[Action, ...] = ()
    drift: tuple[Note, ...] = ()
    warnings: tuple[Note, ...] = ()
    errors: tuple[Note, ...] = ()
    mass_deletes: tuple[MassDelete, ...] = ()
    lineage: str = ""
    serial: int = 0
    config_digest: str = ""
    created_at: str = ""
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()  # --replace addresses, so applying a saved plan re-plans the same way
    refresh_only: bool = False
    state_updates: int = 0  # resources whose state the refresh changed (adopted, drifted, gone)

    @property
    def partial(self) -> bool:
        return bool(self.targets or self.excludes)

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)

    @property
    def digest(self) -> str:
        """`sha256:` of what would be done; stable across runs and wording."""
        material = json.dumps(
            [a.digest_material() for a in self.actions], sort_keys=True, separators=(",", ":")
        )
        return "sha256:" + hashlib.sha256(material.encode()).hexdigest()

    def counts(self) -> dict[ActionKind, int]:
        counts = {kind: 0 for kind in ActionKind}
        for action in self.actions:
            counts[action.kind] += 1
        return counts

    def summary_line(self) -> str:
        """`Plan: 2 to create, 1 to update, ...`, or `No changes.`."""
        if not self.actions:
            return "No changes."
        counts = self.counts()
        parts = [f"{counts[kind]} to {kind.value}" for kind in SUMMARY_ORDER]
        for kind in (ActionKind.REPLACE, ActionKind.CONFIGURE):
            if counts[kind]:
                parts.append(f"{counts[kind]} to {kind.value}")
        return "Plan: " + ", ".join(parts) + "."

    def accounts(self) -> list[str]:
        names = {a.account for a in self.actions}
        names.update(n.address.split("/", 1)[0] for n in (*self.drift, *self.warnings))
        return sorted(names)

    def with_stamp(self, lineage: str, serial: int, config_digest: str, created_at: str) -> Plan:
        return replace(
            self, lineage=lineage, serial=serial, config_digest=config_digest, created_at=created_at
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "ctconfig_version": __version__,
            "digest": self.digest,
            "lineage": self.lineage,
            "serial": self.serial,
            "config_digest": self.config_digest,
            "created_at": self.created_at,
            "partial": self.partial,
            "targets": list(self.targets),
            "excludes": list(self.excludes),
            "replace": list(self.replace),
            "refresh_only": self.refresh_only,
            "state_updates": self.state_updates,
            "summary": {kind.value: n for kind, n in self.counts().items()},
            "actions": [a.to_json() for a in self.actions],
            # Terraform's shape, so policy tools written for `terraform show -json` can read it.
            "resource_changes": [
                {
                    "address": a.address,
                    "type": a.address.split("/")[1],
                    "change": {"actions": a.terraform_actions(), "before": a.before, "after": a.after},
                }
                for a in self.actions
            ],
            "drift": [n.to_json() for n in self.drift],
            "warnings": [n.to_json() for n in self.warnings],
            "errors": [n.to_json() for n in self.errors],
            "mass_deletes": [
                {
                    "account": m.account,
                    "destroying": m.destroying,
                    "managed": m.managed,
                    "limit": m.limit,
                    "message": m.message(),
                }
                for m in self.mass_deletes
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        if data.get("format_version") != PLAN_FORMAT_VERSION:
            raise PlanError(
                f"unsupported plan format_version {data.get('format_version')!r}; "
                "re-run `ctconfig plan -o FILE` with this ctconfig"
            )
        try:
            plan = cls(
                actions=tuple(Action.from_json(a) for a in data["actions"]),
                drift=tuple(Note.from_json(n) for n in data.get("drift", [])),
                warnings=tuple(Note.from_json(n) for n in data.get("warnings", [])),
                errors=tuple(Note.from_json(n) for n in data.get("errors", [])),
                mass_deletes=tuple(
                    MassDelete(m["account"], m["destroying"], m["managed"], m["limit"])
                    for m in data.get("mass_deletes", [])
                ),
                lineage=str(data["lineage"]),
                serial=int(data["serial"]),
                config_digest=str(data["config_digest"]),
                created_at=str(data.get("created_at", "")),
                targets=tuple(data.get("targets", [])),
                excludes=tuple(data.get("excludes", [])),
                replace=tuple(data.get("replace", [])),
                refresh_only=bool(data.get("refresh_only", False)),
                state_updates=int(data.get("state_updates", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"the plan file is malformed: {exc}") from exc
        if data.get("digest") and data["digest"] != plan.digest:
            raise PlanError("the plan file was edited after it was saved (digest mismatch)")
        return plan

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, indent=2) + "\n"


def save_plan(plan: Plan, path: Path) -> None:
    """Write a plan file (it holds no secret; remote ids and attributes only)."""
    path.write_text(plan.dumps(), encoding="utf-8")


def load_plan(path: Path) -> Plan:
    """Read a plan file written by `plan -o`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PlanError(f"plan file {path} does not exist") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path} is not a ctconfig plan file: {exc}") from exc
    if not isinstance(data, dict):
        raise PlanError(f"{path} is not a ctconfig plan file")
    return Plan.from_json(data)


def check_fresh(plan: Plan, lineage: str, serial: int, config_digest: str) -> None:
    """Refuse a saved plan whose state or config moved since it was made."""
    reasons = []
    if plan.lineage and plan.lineage != lineage:
        reasons.append(f"it was made for state lineage {plan.lineage}, not {lineage}")
    elif plan.serial != serial:
        reasons.append(f"state moved from serial {plan.serial} to {serial}")
    if plan.config_digest != config_digest:
        reasons.append("config changed")
    if reasons:
        raise StalePlanError(
            "saved plan is stale: " + "; ".join(reasons) + ". Re-run `ctconfig plan` and review it again."
        )
