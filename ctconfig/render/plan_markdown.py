"""The pull-request view of a plan: summary table, destructive changes first, sections folded.

GitHub rejects comments over 65,535 characters; this view never exceeds
`LIMIT` and degrades to per-account summaries when the full plan would.
"""

from __future__ import annotations

from ctconfig.plan import DESTRUCTIVE, Action, ActionKind, Note, Plan
from ctconfig.render.plan_text import attribute_lines, symbol

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


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _table(plan: Plan) -> list[str]:
    header = "| Account | " + " | ".join(k.value for k in COLUMNS) + " | drift | warnings |"
    rows = [header, "|" + "---|" * (len(COLUMNS) + 3)]
    for account in plan.accounts():
        counts = [sum(1 for a in plan.actions if a.account == account and a.kind is k) for k in COLUMNS]
        drift = sum(1 for n in plan.drift if n.address.startswith(account + "/"))
        warn = sum(1 for n in plan.warnings if n.address.startswith(account + "/"))
        cells = [str(c) if c else "·" for c in [*counts, drift, warn]]
        rows.append(f"| `{account}` | " + " | ".join(cells) + " |")
    return rows


def _action_block(action: Action) -> list[str]:
    lines = [f"{symbol(action)} {action.address} ({action.kind.value})"]
    lines += [f"    {line}" for line in attribute_lines(action)]
    lines.append(f"    reason: {action.reason}")
    return lines


def _notes(title: str, notes: tuple[Note, ...]) -> list[str]:
    if not notes:
        return []
    lines = ["", f"#### {title}", ""]
    lines += [f"- `{n.address}`: {_escape(n.message)}" for n in notes]
    return lines


def _header(plan: Plan) -> list[str]:
    lines = [
        MARKER,
        "### ctconfig plan",
        "",
        f"**{plan.summary_line()}**",
        "",
        f"Plan digest: `{plan.digest}`",
    ]
    if plan.partial:
        lines += ["", "> [!NOTE]", "> This is a **partial** plan (targeted); other changes may be pending."]
    destructive = [a for a in plan.actions if a.kind in DESTRUCTIVE or a.destructive]
    if destructive:
        lines += [
            "",
            "> [!CAUTION]",
            f"> **{len(destructive)} destructive change(s)**: integrations using these stop working:",
        ]
        lines += [f"> - `{a.address}` ({a.kind.value}): {_escape(a.reason)}" for a in destructive[:50]]
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
        lines += [f"> - `{n.address}`: {_escape(n.message)}" for n in plan.errors[:50]]
    return lines


def render_markdown(plan: Plan, *, limit: int = LIMIT) -> str:
    """A pull-request comment for `plan`, at most `limit` characters."""
    head = _header(plan)
    body = ["", *_table(plan)] if plan.accounts() else []
    for account in plan.accounts():
        acts = [a for a in plan.actions if a.account == account]
        if not acts:
            continue
        body += [
            "",
            f"<details><summary><code>{account}</code>: {len(acts)} change(s)</summary>",
            "",
            "```diff",
        ]
        for action in acts:
            body += _action_block(action)
        body += ["```", "", "</details>"]
    notes = _notes("Changed outside ctconfig", plan.drift) + _notes("Warnings", plan.warnings)
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
