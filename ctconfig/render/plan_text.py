"""The terminal view of a plan, in Terraform's spirit: a symbol per action, before -> after, the reason."""

from __future__ import annotations

import json
from typing import Any

import click

from ctconfig.plan import Action, ActionKind, Note, Plan

SYMBOLS = {
    ActionKind.CREATE: "+",
    ActionKind.GRANT: "+",
    ActionKind.UPDATE: "~",
    ActionKind.RESET: "~",
    ActionKind.CONFIGURE: "~",
    ActionKind.DELETE: "-",
    ActionKind.REVOKE: "-",
}
COLOURS = {"+": "green", "~": "yellow", "-": "red", "+/-": "yellow", "-/+": "red", "!": "yellow", "x": "red"}


def symbol(action: Action) -> str:
    """`+` create/grant, `~` in-place, `-` delete/revoke, `+/-` create-before-delete, `-/+` the reverse."""
    if action.kind is ActionKind.REPLACE:
        return "-/+" if action.replace_order == "delete_before_create" else "+/-"
    return SYMBOLS[action.kind]


def _paint(text: str, mark: str, color: bool) -> str:
    return click.style(text, fg=COLOURS.get(mark), bold=mark in ("-", "-/+", "x")) if color else text


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def attribute_lines(action: Action) -> list[str]:
    """`name: "a" -> "b"` lines; unchanged attributes are left out of updates."""
    before, after = action.before or {}, action.after or {}
    if action.kind in (ActionKind.CREATE, ActionKind.GRANT):
        return [f"{k}: {_value(v)}" for k, v in after.items()]
    if action.kind in (ActionKind.DELETE, ActionKind.REVOKE):
        return [f"{k}: {_value(v)}" for k, v in before.items()]
    keys = list(dict.fromkeys([*before, *after]))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    if not changed:
        return [f"{k}: {_value(after.get(k))}" for k in keys][:1]
    return [f"{k}: {_value(before.get(k))} -> {_value(after.get(k))}" for k in changed]


def _verb(action: Action) -> str:
    if action.kind is ActionKind.REPLACE and action.replace_order == "create_before_delete":
        return "will be rotated (new one created, old one renamed aside and retired)"
    if action.kind is ActionKind.REPLACE:
        return "will be revoked and granted again"
    return {
        ActionKind.CREATE: "will be created",
        ActionKind.UPDATE: "will be updated in place",
        ActionKind.DELETE: "will be deleted",
        ActionKind.GRANT: "will be granted",
        ActionKind.RESET: "will be reset",
        ActionKind.REVOKE: "will be revoked",
        ActionKind.CONFIGURE: "will be configured",
    }[action.kind]


def _notes(title: str, notes: tuple[Note, ...], mark: str, color: bool) -> list[str]:
    if not notes:
        return []
    lines = [title]
    lines.extend(_paint(f"  {mark} {note.address}: {note.message}", mark, color) for note in notes)
    return [*lines, ""]


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The full plan for a terminal; ends with the summary line."""
    lines: list[str] = []
    if plan.partial:
        scope = ", ".join(
            [*(f"--target {t}" for t in plan.targets), *(f"--exclude {e}" for e in plan.excludes)]
        )
        lines += [f"Note: this is a partial plan ({scope}); other changes may be pending.", ""]
    lines += _notes("Changed outside ctconfig:", plan.drift, "!", color)
    if plan.actions:
        lines += ["ctconfig will perform the following actions:", ""]
        for action in plan.actions:
            mark = symbol(action)
            lines.append(_paint(f"  {mark} {action.address} {_verb(action)}", mark, color))
            lines.extend(f"      {line}" for line in attribute_lines(action))
            lines.append(f"      reason: {action.reason}")
            lines.append("")
    lines += _notes("Warnings:", plan.warnings, "!", color)
    lines += _notes("Safety:", tuple(Note(m.account, m.message()) for m in plan.mass_deletes), "!", color)
    lines += _notes("Errors:", plan.errors, "x", color)
    if plan.refresh_only:
        lines.append(
            f"Refresh only: {plan.state_updates} state record(s) would change; the accounts are not changed."
        )
    else:
        lines.append(plan.summary_line())
    return "\n".join(lines) + "\n"


def render_summary(plan: Plan) -> str:
    """A one-screen view: counts per account, destructive actions named, the summary line."""
    lines = []
    for account in plan.accounts():
        acts = [a for a in plan.actions if a.account == account]
        counts: dict[str, int] = {}
        for a in acts:
            counts[a.kind.value] = counts.get(a.kind.value, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no changes"
        drift = sum(1 for n in plan.drift if n.address.startswith(account + "/"))
        warn = sum(1 for n in plan.warnings if n.address.startswith(account + "/"))
        extra = "".join([f", {drift} drifted" if drift else "", f", {warn} warnings" if warn else ""])
        lines.append(f"{account}: {parts}{extra}")
        lines.extend(f"  {symbol(a)} {a.address} ({a.kind.value})" for a in acts if a.destructive)
    lines.extend(f"error: {n.address}: {n.message}" for n in plan.errors)
    lines.extend(f"safety: {m.message()}" for m in plan.mass_deletes)
    lines.append(plan.summary_line())
    lines.append(f"Digest: {plan.digest}")
    return "\n".join(lines) + "\n"
