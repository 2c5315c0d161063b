"""The machine views of a plan: the saved-plan document, and its one-screen summary as JSON."""

from __future__ import annotations

from typing import Any

from ctconfig.actions import is_destructive
from ctconfig.plan import Plan
from ctconfig.planfile import CTCONFIG_FORMAT, dumps_json, dumps_plan, terraform_actions, terraform_view


def render_json(plan: Plan, pretty: bool = False) -> str:
    """The plan document (`schemas/plan.schema.json`): ctconfig's plan and Terraform's representation."""
    return dumps_plan(plan, pretty)


def render_json_summary(plan: Plan, pretty: bool = False) -> str:
    """`plan --format json --summary`: what `--summary` shows, as JSON for scripts and CI."""
    return dumps_json(summary_document(plan), pretty)


def summary_document(plan: Plan) -> dict[str, Any]:
    """Counts per account, destructive changes named, errors, and the flags and digest to gate on.

    Keys it shares with the full document (`digest`, `summary`, `applyable`,
    `errors`, …) mean the same there.
    """
    view = terraform_view(plan)
    accounts: dict[str, Any] = {}
    for account in plan.accounts():
        changes: dict[str, int] = {}
        for action in plan.in_account(account):
            changes[action.kind.value] = changes.get(action.kind.value, 0) + 1
        accounts[account] = {
            "changes": dict(sorted(changes.items())),
            "drift": sum(1 for d in plan.drift if d.address.account == account),
            "warnings": sum(1 for n in plan.warnings if n.subject.split("/", 1)[0] == account),
        }
    return {
        "ctconfig_format": CTCONFIG_FORMAT,
        "digest": plan.digest,
        "summary_line": plan.summary_line(),
        "summary": {kind.value: n for kind, n in plan.counts().items()},
        "applyable": view["applyable"],
        "complete": view["complete"],
        "errored": view["errored"],
        "accounts": accounts,
        "destructive": [
            {"address": str(a.address), "action": a.kind.value, "actions": terraform_actions(a)}
            for a in plan.actions
            if is_destructive(a)
        ],
        "errors": [{"subject": n.subject, "message": n.message} for n in plan.errors],
        "mass_deletes": [m.message() for m in plan.mass_deletes],
        "unknown_secrets": len(plan.unknown_secrets),
    }
