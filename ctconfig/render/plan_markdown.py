"""The pull-request view of a plan: summary table, destructive changes first, sections folded.

GitHub rejects comments over 65,535 characters; this view never exceeds
`LIMIT` and degrades to per-account summaries when the full plan would.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ctconfig.actions import Action, ActionKind, is_destructive
from ctconfig.plan import Drift, Note, Plan
from ctconfig.render.escape import markdown_code, markdown_text, terminal_safe
from ctconfig.render.plan_text import UNKNOWN_SECRETS_TITLE, attribute_lines, symbol

LIMIT = 60_000
MARKER = "<!-- ctconfig-plan -->"
COLUMNS = (
    ActionKind.CREATE,
    ActionKind.UPDATE,
    ActionKind.DELETE,
    ActionKind.REPLACE,
    ActionKind.GRANT,
    ActionKind.RESET,
    ActionKind.REVOKE,
    ActionKind.CONFIGURE,
    ActionKind.MOVE,
    ActionKind.FORGET,
)


def _table(plan: Plan) -> list[str]:
    """One row per account: its changes by kind, adoptions (when any), drift and warnings."""
    adopting = bool(plan.adoptions)
    extra = ["adopt"] if adopting else []
    header = "| Account | " + " | ".join([*(k.value for k in COLUMNS), *extra]) + " | drift | warnings |"
    rows = [header, "|" + "---|" * (len(COLUMNS) + len(extra) + 3)]
    for account in plan.accounts():
        acts = plan.in_account(account)
        counts = [sum(1 for a in acts if a.kind is k) for k in COLUMNS]
        if adopting:
            counts.append(sum(1 for a in plan.adoptions if a.account == account))
        drift = sum(1 for d in plan.drift if d.address.account == account and not d.adoption)
        warn = sum(1 for n in plan.warnings if n.subject.split("/", 1)[0] == account)
        cells = [str(c) if c else "·" for c in [*counts, drift, warn]]
        rows.append(f"| {markdown_code(account)} | " + " | ".join(cells) + " |")
    return rows


def _action_block(action: Action) -> list[str]:
    lines = [f"{symbol(action)} {terminal_safe(str(action.address))} ({action.kind.value})"]
    lines += [f"    {line}" for line in attribute_lines(action)]
    lines.append(f"    reason: {terminal_safe(action.reason)}")
    return lines


def _notes(title: str, notes: Sequence[Note | Drift]) -> list[str]:
    if not notes:
        return []
    lines = ["", f"#### {title}", ""]
    for note in notes:
        subject = str(note.address) if isinstance(note, Drift) else note.subject
        lines.append(f"- {markdown_code(subject)}: {markdown_text(note.message)}")
    return lines


def _unknown_secrets(plan: Plan) -> list[str]:
    if not plan.unknown_secrets:
        return []
    lines = ["", f"#### {UNKNOWN_SECRETS_TITLE.rstrip(':')}", ""]
    lines += [
        f"- {markdown_code(str(a))}: rotate it with {markdown_code(f'ctconfig apply --replace {a}')}"
        for a in plan.unknown_secrets
    ]
    return lines


def _trust_block(plan: Plan) -> list[str]:
    """First of all: a change to where credentials, secrets or state go (a reviewer cannot miss it)."""
    if not plan.trust_changes:
        return []
    unrecorded = all(change.before is None for change in plan.trust_changes)
    lines = ["", "> [!CAUTION]"]
    if unrecorded:
        lines.append(
            "> **Where credentials, secrets and state go** has not been recorded in state yet (a first "
            "apply, or state written by an older ctconfig): review it before anything else."
        )
    else:
        lines.append(
            "> **This change moves where credentials, secrets or state go.** Review it before anything else:"
        )
    for change in plan.trust_changes[:50]:
        before = "(none)" if change.before is None else markdown_code(change.before)
        after = "(removed)" if change.after is None else markdown_code(change.after)
        lines.append(
            f"> - {markdown_code(change.key)}: {after}"
            if unrecorded
            else f"> - {markdown_code(change.key)}: {before} → {after}"
        )
    if len(plan.trust_changes) > 50:
        lines.append(f"> - … and {len(plan.trust_changes) - 50} more")
    return lines


def _header(plan: Plan) -> list[str]:
    lines = [MARKER, "### ctconfig plan", *_trust_block(plan)]
    lines += [
        "",
        f"**{plan.summary_line()}**",
        "",
        f"Plan digest: `{plan.digest}`",
    ]
    if plan.endpoint:
        lines += ["", f"Provider: {markdown_text(plan.endpoint)}"]
    if plan.scope.partial:
        lines += ["", "> [!NOTE]", "> This is a **partial** plan (targeted); other changes may be pending."]
    destructive = [a for a in plan.actions if is_destructive(a)]
    if destructive:
        lines += [
            "",
            "> [!CAUTION]",
            f"> **{len(destructive)} destructive change(s)**: integrations using these stop working:",
        ]
        lines += [
            f"> - {markdown_code(str(a.address))} ({a.kind.value}): {markdown_text(a.reason)}"
            for a in destructive[:50]
        ]
        if len(destructive) > 50:
            lines.append(f"> - … and {len(destructive) - 50} more")
    for m in plan.mass_deletes:
        lines += [
            "",
            "> [!WARNING]",
            f"> Safety threshold: {markdown_text(m.message())}. To approve exactly these deletes, add this "
            "to the config in this pull request:",
            ">",
            "> ```yaml",
            *(f"> {line}" for line in m.approval()),
            "> ```",
        ]
    if plan.errors:
        lines += ["", "> [!CAUTION]", "> **This plan has errors and cannot be applied:**"]
        lines += [f"> - {markdown_code(n.subject)}: {markdown_text(n.message)}" for n in plan.errors[:50]]
    return lines


def _account_block(account: str, actions: list[Action], full: bool) -> list[str]:
    """One account's changes in a folded section: in full, or each kind of change on one line."""
    lines = ["", f"<details><summary>{markdown_code(account)}: {len(actions)} change(s)</summary>", ""]
    if full:
        lines.append("```diff")
        for action in actions:
            lines += _action_block(action)
        return [*lines, "```", "", "</details>"]
    groups: dict[tuple[str, str], list[str]] = {}
    for action in actions:
        key = (f"{symbol(action)} {action.kind.value}", action.address.kind.value)
        groups.setdefault(key, []).append(action.address.name or action.address.account)
    for (what, kind), names in groups.items():
        listed = ", ".join(markdown_code(n) for n in names)
        lines.append(f"- `{what}` {kind} ({len(names)}): {listed}")
    return [*lines, "", "</details>"]


def _notes_section(plan: Plan) -> list[str]:
    notes = (
        _notes("Changed outside ctconfig", plan.drift)
        + _unknown_secrets(plan)
        + _notes("Warnings", plan.warnings)
    )
    if len(notes) > 40:
        notes = ["", "<details><summary>Drift and warnings</summary>", *notes, "", "</details>"]
    return notes


def _link(url: str) -> str:
    """A URL from the CI's environment as an autolink (anything else shown as code)."""
    return f"<{url}>" if re.fullmatch(r"https?://[^\s<>`]{1,1000}", url) else markdown_code(url)


def render_markdown(plan: Plan, *, limit: int = LIMIT, full_plan_at: str | None = None) -> str:
    """A pull-request comment for `plan`, at most `limit` characters.

    When the whole plan does not fit, each account keeps its row in the summary
    table and its own folded section, first as one line per change, then — for
    the accounts that still do not fit — as a pointer to the full plan (the
    job's artifact, at `full_plan_at` when the CI says where).
    """
    accounts = [a for a in plan.accounts() if plan.in_account(a)]
    head = _header(plan)
    table = ["", *_table(plan)] if plan.accounts() else []
    notes = _notes_section(plan)
    full = [line for a in accounts for line in _account_block(a, plan.in_account(a), full=True)]
    text = "\n".join([*head, *table, *full, *notes]) + "\n"
    if len(text) <= limit:
        return text
    where = f"the `ctconfig-plan` artifact of {_link(full_plan_at)}" if full_plan_at else "the job's artifact"
    pointer = [
        "",
        f"> [!NOTE]\n> The full plan is {len(text):,} characters, more than a comment holds: below, each "
        f"account's changes are listed by name, and the full plan is in {where} "
        "(`ctconfig show plan.bin`).",
    ]
    notes_text = "\n".join(notes)
    budget = limit - len("\n".join([*head, *pointer, *table])) - 400
    body: list[str] = []
    left_out: list[str] = []
    for account in accounts:
        block = _account_block(account, plan.in_account(account), full=False)
        cost = len("\n".join(block)) + 1
        if not left_out and cost <= budget:
            body += block
            budget -= cost
        else:
            left_out.append(account)
    if left_out:
        body += ["", f"Not listed here ({len(left_out)} account(s); see the table and the full plan):"]
        body += [f"- {markdown_code(a)}: {len(plan.in_account(a))} change(s)" for a in left_out[:200]]
        if len(left_out) > 200:
            body.append(f"- … and {len(left_out) - 200} more")
    tail = notes if budget - len(notes_text) > 0 else []
    short = "\n".join([*head, *pointer, *table, *body, *tail]) + "\n"
    return short if len(short) <= limit else short[: limit - 40] + "\n\n… (truncated)\n"
