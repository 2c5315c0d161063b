"""Audit records: who did what, when, with which plan — built in one place for every operation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ctconfig.applier import Outcome
from ctconfig.jsontypes import timestamp_text
from ctconfig.state.base import AuditRecord, current_actor

PAST_TENSE = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "replace": "replaced",
    "grant": "granted",
    "reset": "reset",
    "revoke": "revoked",
    "configure": "configured",
    "move": "moved",
    "forget": "forgotten",
}


def audit_record(
    operation: str,
    summary: str,
    *,
    plan_digest: str | None = None,
    actions: Iterable[dict[str, Any]] = (),
) -> AuditRecord:
    """The record stored next to the state version an operation wrote."""
    return AuditRecord(
        who=current_actor(),
        when=timestamp_text(datetime.now(UTC)),
        operation=operation,
        plan_digest=plan_digest,
        actions=list(actions),
        summary=summary,
    )


def outcome_entries(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    """Each action's outcome, as the audit record keeps it."""
    return [
        {"address": str(o.address), "action": o.action.value, "outcome": o.status.value, "message": o.message}
        for o in outcomes
    ]


def outcome_summary(outcomes: Iterable[Outcome]) -> str:
    """`3 created, 1 failed`: counts by past tense (done) or by status."""
    counts: dict[str, int] = {}
    for o in outcomes:
        key = PAST_TENSE.get(o.action.value, o.action.value) if o.status.value == "done" else o.status.value
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no changes"
