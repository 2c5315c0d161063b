"""The provider calls each action makes, in words: what `apply --dry-run` prints, in order."""

from __future__ import annotations

from ctconfig.actions import Action, ActionKind, GrantAction, PasscodeAction, StateAction
from ctconfig.jsontypes import days_text, timestamp_text
from ctconfig.plan import Plan


def describe_operations(action: Action) -> list[str]:
    """The steps one action takes, in the order the applier takes them."""
    if isinstance(action, PasscodeAction):
        return _passcode(action)
    if isinstance(action, GrantAction):
        return _grant(action)
    if isinstance(action, StateAction):
        if action.kind is ActionKind.MOVE:
            return [f"move {action.moved_from} to {action.address} in state (and its secret in the sink)"]
        return ["forget it in state; leave it in the account"]
    return [f"set passcode mode to '{action.after.passcode_mode}'"]


def dry_run_lines(plan: Plan) -> list[str]:
    """Every operation of the plan, numbered."""
    lines: list[str] = []
    for action in plan.actions:
        for operation in describe_operations(action):
            lines.append(f"  {len(lines) + 1}. {action.address}: {operation}")
    return lines or ["  (none)"]


def _passcode(action: PasscodeAction) -> list[str]:
    settings = action.after or action.before
    name = settings.name if settings else action.address.name
    if action.kind is ActionKind.CREATE and action.after is not None:
        expiry = days_text(action.after.expires_in, "forever")
        return [f"create account passcode '{name}' (expires_in {expiry}); send its secret to the sink"]
    if action.kind is ActionKind.UPDATE and action.before is not None and action.after is not None:
        changes = []
        if action.before.name != action.after.name:
            changes.append(f"name {action.before.name} -> {action.after.name}")
        if action.before.expires_in != action.after.expires_in:
            old, new = (days_text(d, "forever") for d in (action.before.expires_in, action.after.expires_in))
            changes.append(f"expires_in {old} -> {new}")
        steps = [f"update account passcode {action.remote_id}: " + ", ".join(changes)]
        if action.moved_from is not None:
            steps.append(f"move its secret (if the sink holds one) from the slot of {action.moved_from}")
        return steps
    if action.kind is ActionKind.DELETE:
        return [f"delete account passcode '{name}' ({action.remote_id})"]
    rotation = action.rotation
    if rotation is None:  # a tainted passcode: replaced delete-first
        return [
            f"delete account passcode '{name}' ({action.remote_id}) first: nobody holds its secret",
            f"create account passcode '{name}'; send its secret to the sink",
        ]
    steps = [
        f"rename account passcode '{name}' ({action.remote_id}) aside as '{rotation.aside_name}'",
        f"create account passcode '{name}'; send its secret to the sink",
    ]
    if rotation.retire_after is None:
        steps.append(f"delete the old '{name}' at once (its secret reached nobody)")
    else:
        steps.append(
            f"keep the old one until {timestamp_text(rotation.retire_after)}, then delete it in a later apply"
        )
    return steps


def _grant(action: GrantAction) -> list[str]:
    email = action.email
    validity = days_text(action.after.validity, "infinite") if action.after else ""
    if action.kind is ActionKind.REPLACE:
        return [
            f"revoke the user passcode of {email}",
            f"grant {email} a user passcode (validity {validity})",
        ]
    if action.kind is ActionKind.GRANT:
        return [f"grant {email} a user passcode (validity {validity})"]
    if action.kind is ActionKind.RESET:
        return [f"reset the user passcode of {email} (a fresh secret the user sees in their settings)"]
    return [f"revoke the user passcode of {email}"]
