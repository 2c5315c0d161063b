"""The terminal view of a plan, in Terraform's spirit: a symbol per action, before -> after, the reason."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from ctconfig.actions import (
    Action,
    ActionKind,
    PasscodeAction,
    ReplaceOrder,
    Settings,
    is_destructive,
    moved_from,
    replace_order,
    settings_json,
)
from ctconfig.plan import Drift, Note, Plan
from ctconfig.render.escape import terminal_safe

SYMBOLS = {
    ActionKind.CREATE: "+",
    ActionKind.GRANT: "+",
    ActionKind.UPDATE: "~",
    ActionKind.RESET: "~",
    ActionKind.CONFIGURE: "~",
    ActionKind.DELETE: "-",
    ActionKind.REVOKE: "-",
    ActionKind.MOVE: ">",
    ActionKind.FORGET: ".",
}
COLOURS = {
    "+": "green", "~": "yellow", "-": "red", "+/-": "yellow", "-/+": "red", "!": "yellow", "x": "red",
    ">": "cyan", ".": "cyan",
}  # fmt: skip
VERBS = {
    ActionKind.CREATE: "will be created",
    ActionKind.UPDATE: "will be updated in place",
    ActionKind.DELETE: "will be deleted",
    ActionKind.GRANT: "will be granted",
    ActionKind.RESET: "will be reset",
    ActionKind.REVOKE: "will be revoked",
    ActionKind.CONFIGURE: "will be configured",
    ActionKind.FORGET: "will be forgotten (removed from state; it stays in the account)",
}
UNKNOWN_SECRETS_TITLE = "Passcodes ctconfig did not create (their secret is not in the sink):"


def plural(count: int, noun: str) -> str:
    """`1 warning`, `2 warnings`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def symbol(action: Action) -> str:
    """`+` create/grant, `~` in-place, `-` delete/revoke, `+/-` create-before-delete, `-/+` the reverse
    (a user passcode revoked and granted again; a tainted passcode deleted, then created again)."""
    order = replace_order(action)
    if order is ReplaceOrder.DELETE_BEFORE_CREATE:
        return "-/+"
    if order is ReplaceOrder.CREATE_BEFORE_DELETE:
        return "+/-"
    return SYMBOLS[action.kind]


def _paint(text: str, mark: str, color: bool) -> str:
    return click.style(text, fg=COLOURS.get(mark), bold=mark in ("-", "-/+", "x")) if color else text


def _shown(settings: Settings | None) -> dict[str, object]:
    data = settings_json(settings)
    return data if isinstance(data, dict) else {}


def _value(value: object) -> str:
    return terminal_safe(json.dumps(value, ensure_ascii=False))


def attribute_lines(action: Action) -> list[str]:
    """`name: "a" -> "b"` lines; unchanged settings are left out of updates."""
    before, after = _shown(action.before), _shown(action.after)
    if action.kind in (ActionKind.CREATE, ActionKind.GRANT):
        return [f"{k}: {_value(v)}" for k, v in after.items()]
    if action.kind in (ActionKind.DELETE, ActionKind.REVOKE, ActionKind.FORGET):
        return [f"{k}: {_value(v)}" for k, v in before.items()]
    if action.kind is ActionKind.MOVE:
        return [f"address: {_value(str(moved_from(action)))} -> {_value(str(action.address))}"]
    keys = list(dict.fromkeys([*before, *after]))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    if not changed:
        return [f"{k}: {_value(after.get(k))}" for k in keys][:1]
    return [f"{k}: {_value(before.get(k))} -> {_value(after.get(k))}" for k in changed]


def verb(action: Action) -> str:
    """`will be created`, `will be rotated (…)`, …"""
    if action.kind is ActionKind.MOVE:
        old = terminal_safe(str(moved_from(action)))
        return f"has moved from {old} (state only; the account is not changed)"
    order = replace_order(action)
    if order is ReplaceOrder.CREATE_BEFORE_DELETE:
        return "will be rotated (new one created, old one renamed aside and retired)"
    if order is ReplaceOrder.DELETE_BEFORE_CREATE and isinstance(action, PasscodeAction):
        return "will be replaced (delete first: nobody holds its secret)"
    if order is ReplaceOrder.DELETE_BEFORE_CREATE:
        return "will be revoked and granted again"
    return VERBS[action.kind]


def _notes(title: str, notes: Sequence[Note | Drift], mark: str, color: bool) -> list[str]:
    if not notes:
        return []
    lines = [title]
    for note in notes:
        subject = note.address if isinstance(note, Drift) else note.subject
        lines.append(
            _paint(f"  {mark} {terminal_safe(str(subject))}: {terminal_safe(note.message)}", mark, color)
        )
    return [*lines, ""]


def _unknown_secrets(plan: Plan) -> list[str]:
    if not plan.unknown_secrets:
        return []
    lines = [UNKNOWN_SECRETS_TITLE]
    lines += [
        f"  ? {terminal_safe(str(a))}: rotate it with `ctconfig apply --replace {a}`"
        for a in plan.unknown_secrets
    ]
    return [*lines, ""]


def _safety(plan: Plan, color: bool) -> list[str]:
    """Each refused mass delete, with the config lines that would approve exactly those deletes."""
    if not plan.mass_deletes:
        return []
    lines = ["Safety:"]
    for refused in plan.mass_deletes:
        lines.append(_paint(f"  ! {terminal_safe(refused.message())}", "!", color))
        lines.append("    to approve exactly these deletes, add to the config (and review it):")
        lines += [f"      {terminal_safe(line)}" for line in refused.approval()]
    return [*lines, ""]


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The full plan for a terminal; ends with the summary line."""
    lines: list[str] = _trust_lines(plan)
    if plan.scope.partial:
        scope = ", ".join(
            [*(f"--target {t}" for t in plan.scope.targets), *(f"--exclude {e}" for e in plan.scope.excludes)]
        )
        lines += [f"Note: this is a partial plan ({terminal_safe(scope)}); other changes may be pending.", ""]
    lines += _notes("Changed outside ctconfig:", plan.drift, "!", color)
    if plan.actions:
        lines += ["ctconfig will perform the following actions:", ""]
        for action in plan.actions:
            mark = symbol(action)
            lines.append(_paint(f"  {mark} {terminal_safe(str(action.address))} {verb(action)}", mark, color))
            lines.extend(f"      {line}" for line in attribute_lines(action))
            lines.append(f"      reason: {terminal_safe(action.reason)}")
            lines.append("")
    lines += _unknown_secrets(plan)
    lines += _notes("Warnings:", plan.warnings, "!", color)
    lines += _safety(plan, color)
    lines += _notes("Errors:", plan.errors, "x", color)
    if plan.scope.refresh_only and not plan.errors:
        lines.append(
            f"Refresh only: {plan.state_updates} state record(s) would change; the accounts are not changed."
        )
    else:
        lines.append(plan.summary_line())
    return "\n".join(lines) + "\n"


def _trust_lines(plan: Plan) -> list[str]:
    """A config that moves where credentials, secrets or state go, said first (when the state had
    recorded where they went: a first plan has nothing to compare with)."""
    changed = [c for c in plan.trust_changes if c.before is not None]
    if not changed:
        return []
    lines = ["CAUTION: this config changes where credentials, secrets or state go:"]
    for change in changed:
        after = "(removed)" if change.after is None else repr(terminal_safe(change.after))
        lines.append(f"  {terminal_safe(change.key)}: {terminal_safe(repr(change.before))} -> {after}")
    return [*lines, ""]


def render_summary(plan: Plan) -> str:
    """A one-screen view: counts per account, destructive actions named, the summary line."""
    lines = []
    for account in plan.accounts():
        acts = plan.in_account(account)
        counts: dict[str, int] = {}
        for a in acts:
            counts[a.kind.value] = counts.get(a.kind.value, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no changes"
        drift = sum(1 for d in plan.drift if d.address.account == account)
        warn = sum(1 for n in plan.warnings if n.subject.split("/", 1)[0] == account)
        extra = (f", {drift} drifted" if drift else "") + (f", {plural(warn, 'warning')}" if warn else "")
        lines.append(f"{terminal_safe(account)}: {parts}{extra}")
        lines.extend(
            f"  {symbol(a)} {terminal_safe(str(a.address))} ({a.kind.value})"
            for a in acts
            if is_destructive(a)
        )
    lines.extend(f"error: {terminal_safe(n.subject)}: {terminal_safe(n.message)}" for n in plan.errors)
    lines.extend(f"safety: {m.message()}" for m in plan.mass_deletes)
    if plan.unknown_secrets:
        count = len(plan.unknown_secrets)
        lines.append(f"{count} passcode(s) ctconfig did not create; their secrets are not in the sink")
    lines.append(plan.summary_line())
    lines.append(f"Plan digest: {plan.digest}")
    return "\n".join(lines) + "\n"
