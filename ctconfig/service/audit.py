"""Audit records: who did what, when, from which change, with which plan — built in one place.

Every state version carries one. Besides who and when, it records where the
change came from when the CI says so (`provenance`: the commit, the pull or
merge request, the run's URL; `--audit-note` for anything else), each action
with its outcome (renames and rotations named as such, adoptions included),
and the changes made outside ctconfig that the run saw (`observations`): what
was deleted, edited or created by hand in the dashboard, and when it was
first seen. All of it is outside text, so it is bounded and made visible
(`state.base.audit_text`) before it is kept.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ctconfig.actions import Action, ActionKind, PasscodeAction, ReplaceOrder, replace_order
from ctconfig.applier import Outcome
from ctconfig.jsontypes import timestamp_text
from ctconfig.plan import Plan
from ctconfig.state.base import AuditRecord, HistoryEntry, audit_text, current_actor

PAST_TENSE = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "replace": "replaced",
    "grant": "granted",
    "reset": "reset",
    "revoke": "revoked",
    "configure": "configured",
    "rename": "renamed",
    "rotate": "rotated",
    "regrant": "granted again",
    "adopt": "adopted",
    "move": "moved",
    "forget": "forgotten",
}
EVENT_BYTES = 4 * 1024 * 1024
"""The most of GitHub's event payload (`GITHUB_EVENT_PATH`) read to find the pull request."""
_GITHUB_MERGE = re.compile(r"^Merge pull request #(\d{1,9}) ")
_GITHUB_SQUASH = re.compile(r"\(#(\d{1,9})\)\s*$")
_GITLAB_MERGE = re.compile(r"^See merge request (\S{1,300})!(\d{1,9})\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Provenance:
    """Where a change came from, as the CI tells it (each None when it does not)."""

    commit: str | None = None
    change: str | None = None
    run_url: str | None = None


def provenance(environ: Mapping[str, str] | None = None) -> Provenance:
    """The commit, pull/merge request and run URL from GitHub Actions' or GitLab CI's variables."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") == "true":
        return _github(env)
    if env.get("GITLAB_CI") == "true":
        return _gitlab(env)
    return Provenance()


def _github(env: Mapping[str, str]) -> Provenance:
    server, repository = env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_REPOSITORY", "")
    run_url = None
    if server and repository and env.get("GITHUB_RUN_ID"):
        run_url = f"{server}/{repository}/actions/runs/{env['GITHUB_RUN_ID']}"
        if env.get("GITHUB_RUN_ATTEMPT", "1") != "1":
            run_url += f"/attempts/{env['GITHUB_RUN_ATTEMPT']}"
    number = _github_pull_request(env)
    change = f"{server}/{repository}/pull/{number}" if number and server and repository else None
    return Provenance(env.get("GITHUB_SHA") or None, change, run_url)


def _github_pull_request(env: Mapping[str, str]) -> str | None:
    """The pull request: the event's own (a pull_request run), else the merge commit's message."""
    ref = re.fullmatch(r"refs/pull/(\d{1,9})/(merge|head)", env.get("GITHUB_REF", ""))
    if ref:
        return ref.group(1)
    event = _event(env.get("GITHUB_EVENT_PATH"))
    pull = event.get("pull_request")
    if isinstance(pull, dict) and isinstance(pull.get("number"), int):
        return str(pull["number"])
    head = event.get("head_commit")
    message = head.get("message") if isinstance(head, dict) else None
    if isinstance(message, str):
        first = message.splitlines()[0] if message else ""
        found = _GITHUB_MERGE.match(first) or _GITHUB_SQUASH.search(first)
        if found:
            return found.group(1)
    return None


def _event(path: str | None) -> dict[str, Any]:
    """GitHub's event payload, bounded; an unreadable one tells nothing."""
    if not path:
        return {}
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(EVENT_BYTES + 1)
        data = json.loads(raw) if len(raw) <= EVENT_BYTES else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _gitlab(env: Mapping[str, str]) -> Provenance:
    change = None
    if env.get("CI_MERGE_REQUEST_IID") and env.get("CI_MERGE_REQUEST_PROJECT_URL"):
        change = f"{env['CI_MERGE_REQUEST_PROJECT_URL']}/-/merge_requests/{env['CI_MERGE_REQUEST_IID']}"
    else:
        found = _GITLAB_MERGE.search(env.get("CI_COMMIT_MESSAGE", "")[:65536])
        server = env.get("CI_SERVER_URL")
        if found and server:
            change = f"{server}/{found.group(1)}/-/merge_requests/{found.group(2)}"
    run_url = env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL") or None
    return Provenance(env.get("CI_COMMIT_SHA") or None, change, run_url)


def audit_record(
    operation: str,
    summary: str,
    *,
    plan_digest: str | None = None,
    actions: Iterable[dict[str, Any]] = (),
    observed: Sequence[dict[str, Any]] = (),
    unmanaged: dict[str, str] | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> AuditRecord:
    """The record stored next to the state version an operation wrote."""
    origin = provenance()
    return AuditRecord(
        who=audit_text(current_actor()) or "unknown",
        when=timestamp_text(now or datetime.now(UTC)),
        operation=operation,
        plan_digest=plan_digest,
        actions=list(actions),
        summary=audit_text(summary, 4096) or "",
        commit=audit_text(origin.commit, 80),
        change=audit_text(origin.change),
        run_url=audit_text(origin.run_url),
        note=audit_text(note),
        observed=list(observed),
        unmanaged=unmanaged,
    )


def action_word(action: Action | None, kind: ActionKind) -> str:
    """What an action did, in the audit's words: a rename and a rotation are named as such."""
    if isinstance(action, PasscodeAction) and action.moved_from is not None:
        return "rename"
    if action is not None and replace_order(action) is ReplaceOrder.CREATE_BEFORE_DELETE:
        return "rotate"
    if action is not None and replace_order(action) is ReplaceOrder.DELETE_BEFORE_CREATE:
        return "regrant"
    return kind.value


def outcome_entries(outcomes: Iterable[Outcome], plan: Plan | None = None) -> list[dict[str, Any]]:
    """Each action's outcome, as the audit record keeps it (a rename says where it came from)."""
    by_address = {a.address: a for a in plan.actions} if plan is not None else {}
    entries = []
    for o in outcomes:
        action = by_address.get(o.address)
        entry: dict[str, Any] = {
            "address": str(o.address),
            "action": action_word(action, o.action),
            "outcome": o.status.value,
            "message": o.message,
        }
        if isinstance(action, PasscodeAction) and action.moved_from is not None:
            entry["from"] = str(action.moved_from)
        entries.append(entry)
    return entries


def adoption_entries(plan: Plan) -> list[dict[str, Any]]:
    """Declared resources found in the accounts and adopted into state by this run."""
    return [{"address": str(a), "action": "adopt", "outcome": "done", "message": ""} for a in plan.adoptions]


def entries_summary(entries: Iterable[Mapping[str, Any]]) -> str:
    """`3 created, 1 renamed, 1 failed`: counts by past tense (done) or by status."""
    counts: dict[str, int] = {}
    for entry in entries:
        action, status = str(entry.get("action")), str(entry.get("outcome"))
        key = PAST_TENSE.get(action, action) if status == "done" else status
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no changes"


def outcome_summary(outcomes: Iterable[Outcome], plan: Plan | None = None) -> str:
    """`3 created, 1 failed`: counts by past tense (done) or by status."""
    return entries_summary(outcome_entries(outcomes, plan))


def observations(
    plan: Plan, seen_at: datetime, history: Sequence[HistoryEntry] = ()
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Changes made outside ctconfig that this run saw, and what the accounts hold unmanaged.

    Changes to managed resources (deleted, renamed, edited, revoked, reset in the
    dashboard) are folded into state by this run, so each is seen once. A resource
    the config does not manage stays outside state: it is listed in `unmanaged`
    with when it was first seen (carried from the latest record that listed it),
    and among the observations only the first time.
    """
    seen = timestamp_text(seen_at)
    observed = [
        {"address": str(d.address), "change": audit_text(d.message), "first_seen": seen}
        for d in plan.drift
        if not d.adoption
    ]
    before = _latest_unmanaged(history)
    unmanaged: dict[str, str] = {}
    for address in plan.unmanaged:
        key = str(address)
        unmanaged[key] = before.get(key, seen)
        if key not in before:
            observed.append(
                {"address": key, "change": "created outside ctconfig (not in the config)", "first_seen": seen}
            )
    return observed, unmanaged


def _latest_unmanaged(history: Sequence[HistoryEntry]) -> dict[str, str]:
    """What the newest record that looked at the accounts found unmanaged."""
    for entry in reversed(history):
        if entry.audit is not None and entry.audit.unmanaged is not None:
            return entry.audit.unmanaged
    return {}
