"""`--format runbook`: the plan as a Markdown checklist a person can follow in the CleverTap dashboard.

One numbered, tickable step per action, in plan order (the order the guided
`ctconfig apply` follows too), each in the dashboard's own words
(`providers/dashboard_steps.py`): where to click, the exact name, days or
user to type, what to expect, and what ctconfig checks when it guides the
step. Fit for a ticket or a pull request: values from configs and accounts
are escaped; the fixed wording is ctconfig's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ctconfig.actions import Action
from ctconfig.plan import Drift, Note, Plan
from ctconfig.providers.dashboard_steps import DashboardSteps, Exact, Line, dashboard_url, steps_for
from ctconfig.render.escape import markdown_code, markdown_text
from ctconfig.render.plan_text import UNKNOWN_SECRETS_TITLE

MARKER = "<!-- ctconfig-runbook -->"
GUIDED = (
    "Do the steps in this order in the CleverTap dashboard and tick each one. "
    "`ctconfig apply PLANFILE`, run at a terminal, guides you through the same steps: it asks "
    "for each new API Key (hidden), proves it with CleverTap's credential check against its "
    "account, sends it to the secret sink and records its fingerprint, and checks each other "
    "step where a check applies."
)


@dataclass(frozen=True)
class RunbookAccount:
    """Where an account's dashboard is: its id and region (from the config)."""

    account_id: str
    region: str | None = None
    """None when not known (a saved plan rendered without its config): no dashboard URL then."""


def render_runbook(plan: Plan, accounts: Mapping[str, RunbookAccount] | None = None) -> str:
    """The plan as a dashboard checklist; `accounts` (by alias) adds each account's id and dashboard URL."""
    where = _accounts(plan, accounts or {})
    lines = [MARKER, "# ctconfig runbook", "", f"**{plan.summary_line()}**", ""]
    lines += [f"Plan digest: `{plan.digest}`", *_banners(plan)]
    number = 0
    for alias in dict.fromkeys(a.address.account for a in plan.actions):
        known = where.get(alias)
        lines += ["", *_account_heading(alias, known)]
        for action in (a for a in plan.actions if a.address.account == alias):
            number += 1
            lines += ["", *_step(number, action, steps_for(action, known.account_id if known else ""))]
    unknown = [Note(str(a), f"rotate it with ctconfig apply --replace {a}") for a in plan.unknown_secrets]
    lines += _notes("Changed outside ctconfig", plan.drift)
    lines += _notes(UNKNOWN_SECRETS_TITLE.rstrip(":"), unknown)
    lines += _notes("Warnings", plan.warnings)
    return "\n".join(lines) + "\n"


def _banners(plan: Plan) -> list[str]:
    lines: list[str] = []
    if plan.errors:
        lines += ["", "> [!CAUTION]", "> **This plan has errors and cannot be applied:**"]
        lines += [f"> - {markdown_code(n.subject)}: {markdown_text(n.message)}" for n in plan.errors]
    if plan.scope.partial:
        lines += ["", "> [!NOTE]", "> This is a **partial** plan (targeted); other changes may be pending."]
    if plan.actions and not plan.errors:
        lines += ["", GUIDED]
    return lines


def _accounts(plan: Plan, given: Mapping[str, RunbookAccount]) -> dict[str, RunbookAccount]:
    """The accounts the config names, else the ids the plan's prior records hold (a saved plan alone)."""
    found = {p.address.account: RunbookAccount(p.account_id) for p in plan.prior}
    found.update(given)
    return found


def _account_heading(alias: str, account: RunbookAccount | None) -> list[str]:
    if account is None:
        return [f"## Account {markdown_code(alias)}"]
    title = f"## Account {markdown_code(alias)} ({markdown_code(account.account_id)})"
    if account.region is None:
        return [title]
    return [title, "", f"Dashboard: <{dashboard_url(account.account_id, account.region)}>"]


def _step(number: int, action: Action, steps: DashboardSteps) -> list[str]:
    marker = f"{number}. "
    item = " " * len(marker) + "- "  # nested under the numbered item however wide its number is
    lines = [f"{marker}[ ] **{_md(steps.title)}** ({markdown_code(str(action.address))})"]
    lines += [f"{item}{_md(step)}" for step in steps.steps]
    if steps.caution is not None:
        lines.append(f"{item}**Caution:** {_md(steps.caution)}")
    lines += [f"{item}**Expected:** {_md(line)}" for line in steps.expected]
    lines.append(f"{item}**ctconfig checks:** {_md(steps.checked)}")
    lines.append(f"{item}Why: {markdown_text(action.reason)}")
    return lines


def _md(line: Line) -> str:
    """Exact values as code spans (escaped); ctconfig's own wording as it is."""
    return "".join(markdown_code(part) if isinstance(part, Exact) else part for part in line)


def _notes(title: str, notes: Sequence[Note | Drift]) -> list[str]:
    if not notes:
        return []
    lines = ["", f"## {title}", ""]
    for note in notes:
        subject = str(note.address) if isinstance(note, Drift) else note.subject
        lines.append(f"- {markdown_code(subject)}: {markdown_text(note.message)}")
    return lines
