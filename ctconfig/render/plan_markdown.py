"""The pull-request view of a plan: summary table, destructive changes first, sections folded.

GitHub rejects comments over 65,535 characters; this view never exceeds
`LIMIT` and degrades to per-account summaries when the full plan would.
"""

from __future__ import annotations

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
)


def _table(plan: Plan) -> list[str]:
    header = "| Account | " + " | ".join(k.value for k in COLUMNS) + " | drift | warnings |"
    rows = [header, "|" + "---|" * (len(COLUMNS) + 3)]
    for account in plan.accounts():
        acts = plan.in_account(account)
        counts = [sum(1 for a in acts if a.kind is k) for k in COLUMNS]
        drift = sum(1 for d in plan.drift if d.address.account == account)
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
            f"> Safety threshold: {m.message()}; apply needs `--allow-mass-delete`.",
        ]
    if plan.errors:
        lines += ["", "> [!CAUTION]", "> **This plan has errors and cannot be applied:**"]
        lines += [f"> - {markdown_code(n.subject)}: {markdown_text(n.message)}" for n in plan.errors[:50]]
    return lines


def render_markdown(plan: Plan, *, limit: int = LIMIT) -> str:
    """A pull-request comment for `plan`, at most `limit` characters."""
    head = _header(plan)
    body = ["", *_table(plan)] if plan.accounts() else []
    for account in plan.accounts():
        acts = plan.in_account(account)
        if not acts:
            continue
        body += [
            "",
            f"<details><summary>{markdown_code(account)}: {len(acts)} change(s)</summary>",
            "",
            "```diff",
        ]
        for action in acts:
            body += _action_block(action)
        body += ["```", "", "</details>"]
    notes = (
        _notes("Changed outside ctconfig", plan.drift)
        + _unknown_secrets(plan)
        + _notes("Warnings", plan.warnings)
    )
    if len(notes) > 40:
        notes = ["", "<details><summary>Drift and warnings</summary>", *notes, "", "</details>"]
    full = "\n".join([*head, *body, *notes]) + "\n"
    if len(full) <= limit:
        return full
    short = [
        *head,
        "",
        *_table(plan),
        "",
        f"The full plan is {len(full):,} characters, more than a comment can hold. "
        "See it in the job log, or run `ctconfig show PLANFILE` on the plan artifact.",
    ]
    text = "\n".join(short) + "\n"
    return text if len(text) <= limit else text[: limit - 40] + "\n\n… (truncated)\n"
