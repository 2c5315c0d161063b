"""A plan in Terraform's JSON plan representation, so policy tools written for `terraform show -json` read it.

Every managed resource is a `managed` resource of type `account_passcode`,
`user_passcode` or `settings`, owned by provider `ctconfig.invalid/ctconfig/clevertap`
(`PROVIDER_NAME`), named by its passcode name, user email or (settings) account
alias, and addressed by its ctconfig address. Actions map to Terraform's words (a grant is a create, a
revoke a delete, a reset or passcode-mode change an update, a rotation
`["create", "delete"]`, a user passcode's revoke-and-grant `["delete",
"create"]`); resources the plan leaves alone are `["no-op"]` changes; drift
is `resource_drift`; the refreshed records are `prior_state`; the resources the
config declares are `configuration`. The README's "Plan JSON and policy checks"
has the whole mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ctconfig.actions import (
    Action,
    ActionKind,
    GrantAction,
    GrantSettings,
    PasscodeAction,
    PasscodeSettings,
    Settings,
    moved_from,
    replace_order,
)
from ctconfig.domain import FOREVER, INFINITE, Address
from ctconfig.jsontypes import days_text, timestamp_text
from ctconfig.plan import Drift, Plan, PriorResource
from ctconfig.planfile.terraform_types import (
    ATTRIBUTES,
    PROVIDER_KEY,
    PROVIDER_NAME,
    STATE_FORMAT,
    TERRAFORM_FORMAT,
    TERRAFORM_VERSION,
    ActionReason,
    Change,
    ChangeNote,
    ChangeWord,
    ConfigResource,
    Configuration,
    PlannedResource,
    ResourceChange,
    StateResource,
    TerraformView,
    Values,
)

Prior = Mapping[Address, PriorResource]

TERRAFORM_ACTIONS: dict[ActionKind, list[ChangeWord]] = {
    ActionKind.CREATE: ["create"],
    ActionKind.GRANT: ["create"],
    ActionKind.UPDATE: ["update"],
    ActionKind.RESET: ["update"],
    ActionKind.CONFIGURE: ["update"],
    ActionKind.DELETE: ["delete"],
    ActionKind.REVOKE: ["delete"],
    ActionKind.MOVE: ["no-op"],  # Terraform's `moved`: the same object at a new address
    ActionKind.FORGET: ["forget"],
}
_KEPT: dict[ActionKind, tuple[str, ...]] = {
    ActionKind.MOVE: ("id", "expires_at"),
    ActionKind.UPDATE: ("id", "expires_at"),
    ActionKind.RESET: ("id",),
    ActionKind.CONFIGURE: ("id",),
}
"""The attributes an action leaves as they were (the rest of `after` comes from its settings)."""


def terraform_actions(action: Action) -> list[ChangeWord]:
    """`["create"]`, `["create", "delete"]`…: Terraform's words for what an action does."""
    order = replace_order(action)
    if order is None:
        return list(TERRAFORM_ACTIONS[action.kind])
    return ["delete", "create"] if order.value == "delete_before_create" else ["create", "delete"]


def terraform_view(plan: Plan) -> TerraformView:
    """The top-level keys of Terraform's plan representation, computed from the plan."""
    prior = {p.address: p for p in plan.prior}
    adopted = {d.address for d in plan.drift if d.adoption}
    changes = [action_change(a, prior, plan) for a in plan.actions]
    changes += no_op_changes(plan, prior)
    for change in changes:
        _mark_import(change, prior, adopted)
    changes.sort(key=lambda c: Address.parse(c["address"]))
    errored, refresh_only = bool(plan.errors), plan.scope.refresh_only
    view: TerraformView = {
        "format_version": TERRAFORM_FORMAT,
        "terraform_version": TERRAFORM_VERSION,
        "applyable": not errored and (plan.has_changes or (refresh_only and plan.state_updates > 0)),
        "complete": not errored and not plan.scope.partial,
        "errored": errored,
        "planned_values": {"root_module": {"resources": planned_resources(changes)}},
        "resource_changes": changes,
        "resource_drift": drift_changes(plan.drift, prior),
        "prior_state": {
            "format_version": STATE_FORMAT,
            "terraform_version": TERRAFORM_VERSION,
            "values": {"root_module": {"resources": [state_resource(p) for p in plan.prior]}},
        },
        "configuration": configuration(changes, prior),
    }
    if plan.stamp.created_at is not None:
        view["timestamp"] = timestamp_text(plan.stamp.created_at)
    return view


# ---- values --------------------------------------------------------------------------------------


def settings_values(address: Address, settings: Settings) -> Values:
    """The attributes a resource's settings give (a user passcode's id is its email)."""
    if isinstance(settings, PasscodeSettings):
        return {"name": settings.name, "expires_in": days_text(settings.expires_in, FOREVER)}
    if isinstance(settings, GrantSettings):
        validity = days_text(settings.validity, INFINITE)
        return {"id": address.name, "email": settings.email, "validity": validity}
    return {"passcode_mode": settings.passcode_mode}


def prior_values(prior: PriorResource) -> Values:
    """Everything the refresh knows of a resource."""
    values = dict(settings_values(prior.address, prior.settings))
    if isinstance(prior.settings, PasscodeSettings):
        values["id"] = prior.remote_id
        values["expires_at"] = timestamp_text(prior.expires_at) if prior.expires_at else None
    elif isinstance(prior.settings, GrantSettings):
        if prior.expires_at is not None:
            values["expires_at"] = timestamp_text(prior.expires_at)
    else:
        values["id"] = prior.account_id
    return _values({k: v for k, v in values.items() if k != "id" or v is not None})


def _values(data: dict[str, object]) -> Values:
    return data  # type: ignore[return-value]  # the keys are the settings' and `ATTRIBUTES`


def _before(action: Action, prior: Prior) -> Values | None:
    if action.before is None:
        return None
    known = prior.get(moved_from(action) or action.address)
    if known is not None:
        return prior_values(known)
    values = dict(settings_values(action.address, action.before))
    if isinstance(action, PasscodeAction) and action.remote_id:
        values["id"] = action.remote_id
    return _values(values)


def _after(action: Action, before: Values | None) -> Values | None:
    if action.after is None:
        return None
    values: dict[str, object] = dict(settings_values(action.address, action.after))
    kept: Mapping[str, object] = before or {}
    values.update({k: kept[k] for k in _KEPT.get(action.kind, ()) if k in kept})
    if isinstance(action.after, PasscodeSettings):
        old_expiry = action.before.expires_in if isinstance(action.before, PasscodeSettings) else None
        if action.after.expires_in is None:
            values["expires_at"] = None  # forever: known now
        elif action.after.expires_in != old_expiry:
            values.pop("expires_at", None)  # a new expiry: CleverTap sets the moment
    return _values(values)


# ---- changes -------------------------------------------------------------------------------------


def action_change(action: Action, prior: Prior, plan: Plan) -> ResourceChange:
    """One action as a Terraform resource change."""
    before = _before(action, prior)
    after = _after(action, before)
    change = _change(terraform_actions(action), before, after, action.address.kind.value)
    if isinstance(action, GrantAction) and action.kind is ActionKind.REPLACE:
        change["replace_paths"] = [["validity"]]
    note: ChangeNote = {
        "account": action.address.account,
        "action": action.kind.value,
        "reason": action.reason,
    }
    rc = _resource_change(action.address, change, note)
    moved = moved_from(action)
    if moved is not None:
        rc["previous_address"] = str(moved)
    reason = action_reason(action, prior.get(moved or action.address), plan)
    if reason is not None:
        rc["action_reason"] = reason
    return rc


def action_reason(action: Action, prior: PriorResource | None, plan: Plan) -> ActionReason | None:
    """Why a replacement or deletion, in Terraform's words where they fit (see `ActionReason`)."""
    if action.kind is ActionKind.REPLACE:
        if isinstance(action, GrantAction):
            return "replace_because_cannot_update"  # a user passcode's validity cannot be edited
        if prior is not None and prior.tainted:
            return "replace_because_tainted"
        if plan.scope.replaces(action.address):
            return "replace_by_request"
        return "replace_because_expiring"
    if action.kind in (ActionKind.DELETE, ActionKind.REVOKE):
        if prior is None:
            return "delete_because_unmanaged"
        if prior.retire_after is not None:
            return "delete_because_rotated_out"
        return "delete_because_no_resource_config"
    return None


def no_op_changes(plan: Plan, prior: Prior) -> list[ResourceChange]:
    """The managed resources the plan leaves alone (none in a refresh-only plan, as in Terraform's)."""
    if plan.scope.refresh_only:
        return []
    touched = {a.address for a in plan.actions}
    touched.update(moved for a in plan.actions if (moved := moved_from(a)) is not None)
    changes = []
    for address, resource in prior.items():
        if address in touched or not plan.scope.selects(address):
            continue
        values = prior_values(resource)
        change = _change(["no-op"], values, values, address.kind.value)
        changes.append(_resource_change(address, change, {"account": address.account}))
    return changes


def drift_changes(drift: Iterable[Drift], prior: Prior) -> list[ResourceChange]:
    """Changes made outside ctconfig, one per resource (adoptions are imports, not drift)."""
    by_address: dict[Address, list[Drift]] = {}
    for item in drift:
        if not item.adoption:
            by_address.setdefault(item.address, []).append(item)
    changes = []
    for address, items in sorted(by_address.items()):
        first = items[0]
        known = prior.get(address)
        before = _drift_values(address, first.before, known)
        after = _drift_values(address, first.after, known)
        change = _change(["update"] if after is not None else ["delete"], before, after, address.kind.value)
        change["after_unknown"] = {}
        note: ChangeNote = {"account": address.account, "reason": "; ".join(d.message for d in items)}
        changes.append(_resource_change(address, change, note))
    return changes


def _drift_values(address: Address, settings: Settings | None, known: PriorResource | None) -> Values | None:
    """One side of a drift entry: the managed settings and the id, the same keys on both sides.

    The moment an expiry falls (`expires_at`) is left out of both: ctconfig
    records the settings it manages, not the moment the old expiry had.
    """
    if settings is None:
        return None
    values = dict(settings_values(address, settings))
    if known is not None and known.remote_id:
        values["id"] = known.remote_id  # the same object: the refresh found it by id
    elif known is not None and address.kind.value == "settings":
        values["id"] = known.account_id
    return _values(values)


def _change(actions: list[ChangeWord], before: Values | None, after: Values | None, kind: str) -> Change:
    unknown = {} if after is None else {k: True for k in ATTRIBUTES[kind] if k not in after}
    return {
        "actions": actions,
        "before": before,
        "after": after,
        "after_unknown": unknown,  # type: ignore[typeddict-item]  # only `True` leaves
        "before_sensitive": {} if before is not None else False,
        "after_sensitive": {} if after is not None else False,
    }


def _resource_change(address: Address, change: Change, note: ChangeNote) -> ResourceChange:
    return {
        "address": str(address),
        "mode": "managed",
        "type": address.kind.value,
        "name": address.name or address.account,
        "provider_name": PROVIDER_NAME,
        "change": change,
        "ctconfig": note,
    }


def _mark_import(change: ResourceChange, prior: Prior, adopted: set[Address]) -> None:
    """An adopted resource's change says it is imported, with the id it was found by."""
    address = Address.parse(change.get("previous_address", change["address"]))
    known = prior.get(address)
    if address in adopted and known is not None:
        change["change"]["importing"] = {"id": known.remote_id or address.name}


# ---- resources -----------------------------------------------------------------------------------

DECLARED: dict[str, tuple[str, ...]] = {
    "account_passcode": ("name", "expires_in"),
    "user_passcode": ("email", "validity"),
    "settings": ("passcode_mode",),
}
"""The attributes a config sets, per type (the rest are CleverTap's: ids, moments)."""


def configuration(changes: Iterable[ResourceChange], prior: Prior) -> Configuration:
    """`configuration`: ctconfig's provider, and each resource the config declares, as constants.

    The declared resources are those the plan keeps or makes (every change with
    an `after`), less the set-aside predecessors of rotations, which the config
    does not name; so a `--target` plan lists the targeted ones, as its
    `resource_changes` do.
    """
    resources: list[ConfigResource] = []
    for rc in changes:
        after = rc["change"]["after"]
        known = prior.get(Address.parse(rc["address"]))
        if after is None or (known is not None and known.retire_after is not None):
            continue
        declared: Mapping[str, object] = after
        resources.append(
            {
                "address": rc["address"],
                "mode": "managed",
                "type": rc["type"],
                "name": rc["name"],
                "provider_config_key": PROVIDER_KEY,
                "expressions": {
                    key: {"constant_value": str(declared[key])}
                    for key in DECLARED[rc["type"]]
                    if key in declared
                },
                "schema_version": 0,
            }
        )
    return {
        "provider_config": {PROVIDER_KEY: {"name": PROVIDER_KEY, "full_name": PROVIDER_NAME}},
        "root_module": {"resources": resources},
    }



def planned_resources(changes: Iterable[ResourceChange]) -> list[PlannedResource]:
    """Every resource as it will be after the apply (`planned_values`): what is not deleted."""
    return [
        {
            "address": rc["address"],
            "mode": "managed",
            "type": rc["type"],
            "name": rc["name"],
            "provider_name": PROVIDER_NAME,
            "schema_version": 0,
            "values": rc["change"]["after"],
            "sensitive_values": {},
        }
        for rc in changes
        if rc["change"]["after"] is not None
    ]


def state_resource(prior: PriorResource) -> StateResource:
    """One refreshed record in `prior_state`, with how ctconfig manages it beside its values."""
    address = prior.address
    resource: StateResource = {
        "address": str(address),
        "mode": "managed",
        "type": address.kind.value,
        "name": address.name or address.account,
        "provider_name": PROVIDER_NAME,
        "schema_version": 0,
        "values": prior_values(prior),
        "sensitive_values": {},
        "ctconfig": {
            "account": address.account,
            "account_id": prior.account_id,
            "origin": prior.origin,
            "prevent_destroy": prior.prevent_destroy,
        },
    }
    if prior.tainted:
        resource["tainted"] = True
    if prior.retire_after is not None:
        resource["ctconfig"]["retire_after"] = timestamp_text(prior.retire_after)
    return resource
