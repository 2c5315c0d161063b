"""Apply: plan under the lock, check it is the reviewed one, ask, execute, save state and its audit.

The sequence Terraform users expect, in one function the CLI and the tests
(and the dashboard provider's guided session) all call: recover and refresh,
refuse a stale saved plan or a changed digest, show the plan, refuse errors,
unsettled intents and mass deletes, ask for `yes` (unless approved), ask the
secret sink whether it can take the new secrets (if not, no create starts),
run the applier with its journal, and write one new state version with the
audit record. If the state cannot be written, the report says so with everything a
person needs to recover; the journal then keeps what was done.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from ctconfig import failpoints
from ctconfig.actions import Action
from ctconfig.applier import Applier, ApplyResult
from ctconfig.collector import settled_objects_frozen
from ctconfig.errors import CtconfigError
from ctconfig.plan import Plan, PlanError, check_fresh, mass_delete_refusal
from ctconfig.providers.base import Provider
from ctconfig.providers.guided import StepByStep
from ctconfig.providers.operator import Operator
from ctconfig.service.audit import (
    adoption_entries,
    audit_record,
    entries_summary,
    observations,
    outcome_entries,
)
from ctconfig.service.planning import PlanRequest, Prepared, prepare, run_async
from ctconfig.service.sink_check import secrets_to_issue, sink_refusal
from ctconfig.service.workspace import Workspace
from ctconfig.sinks import SecretSink
from ctconfig.state.document import State, StateError
from ctconfig.state.journal import Begin, Intent, Journal


class ApplyUi(Protocol):
    """What apply needs from whoever runs it: a place to show things, and someone to ask."""

    def show_plan(self, plan: Plan) -> None:
        """Show the plan that is about to be applied."""
        ...

    def confirm(self, plan: Plan) -> bool:
        """Ask for approval; False cancels."""
        ...

    def progress(self, line: str) -> None:
        """One finished (or failed) operation."""
        ...

    def note(self, line: str) -> None:
        """Something worth knowing that is not the plan (recovery, refreshing)."""
        ...


@dataclass(frozen=True)
class ApplyRequest:
    """How to apply: the plan request (or a saved plan), the approvals, and how hard to push."""

    plan: PlanRequest
    saved: Plan | None = None
    expected_digest: str | None = None
    auto_approve: bool = False
    dry_run: bool = False
    parallelism: int = 3
    allow_mass_delete: bool = False
    lock: bool = True
    lock_timeout: float = 0.0
    operator: Operator | None = None
    """The person at the terminal, for a provider whose steps a person performs (the dashboard's)."""


class ApplyKind(StrEnum):
    """What an apply ended up doing."""

    APPLIED = "applied"
    DRY_RUN = "dry run"
    NOTHING = "nothing to do"
    REFRESHED = "state refreshed"


@dataclass(frozen=True)
class ApplyReport:
    """What apply did, for the CLI to render and turn into an exit code."""

    kind: ApplyKind
    plan: Plan
    result: ApplyResult | None = None
    serial: int | None = None
    where: str = ""
    save_error: str | None = None
    journal_where: str = ""
    journal_kept: bool = True
    """After a failed save: whether this apply's journal is still there to replay (a run that forced
    the lock meanwhile may have folded it into state already)."""
    traffic: str = ""
    unlock_error: str | None = None
    """The state lock could not be released afterwards (the report still says what was done)."""


def apply(ws: Workspace, request: ApplyRequest, ui: ApplyUi) -> ApplyReport:
    """`ctconfig apply`: everything between reading state and writing the next version."""
    if request.saved is not None:
        request = replace(request, plan=replace(request.plan, scope=request.saved.scope))
    provider, sink = ws.provider(request.operator, read_only=request.dry_run), ws.sink()
    changes_accounts = not (request.dry_run or request.plan.scope.refresh_only)
    if isinstance(provider, StepByStep) and changes_accounts:
        provider.check_can_apply()  # no one at a terminal: refuse before taking the lock
    report: ApplyReport | None = None
    try:
        with ws.locked("apply", request.lock_timeout, request.lock and not request.dry_run):
            report = run_async(_apply(ws, request, ui, provider, sink))
    except StateError as exc:
        if report is None:  # the lock was never held, or planning failed: that error is the story
            raise
        # Releasing the lock failed after the work: the report must still be told (what was done,
        # why state could not be saved), with this beside it, never instead of it.
        return replace(report, unlock_error=str(exc))
    return report


async def _apply(
    ws: Workspace, request: ApplyRequest, ui: ApplyUi, provider: Provider, sink: SecretSink
) -> ApplyReport:
    try:
        may_write = request.lock and not request.dry_run
        prepared = await prepare(ws, provider, sink, request.plan, may_write=may_write, say=ui.note)
        plan = prepared.plan
        _check_reviewed(ws, request, prepared)
        ui.show_plan(plan)
        _check_applicable(request, prepared)
        if request.dry_run:
            return ApplyReport(ApplyKind.DRY_RUN, plan)
        if request.plan.scope.refresh_only or not plan.has_changes:
            return _save_refresh(ws, prepared, request.plan.scope.refresh_only)
        refs = secrets_to_issue(plan, ws.targets())
        refusal = await sink_refusal(sink, refs)  # before the question, so that it is answered knowing
        if refusal is not None:
            ui.note(
                f"The {sink.describe()} cannot take secrets: {refusal}. This apply starts none of the "
                f"{len(refs)} passcode create(s); the other changes go ahead."
            )
        if not request.auto_approve and request.saved is None and not ui.confirm(plan):
            raise CtconfigError("apply cancelled; nothing was changed")
        return await _execute(ws, request, ui, prepared, provider, sink, refusal)
    finally:
        await provider.aclose()


def _check_reviewed(ws: Workspace, request: ApplyRequest, prepared: Prepared) -> None:
    """A saved plan must be fresh, and the new plan must be the reviewed one (its digest)."""
    stamp = prepared.plan.stamp
    if request.saved is not None:
        check_fresh(request.saved, stamp.lineage, stamp.serial, ws.loaded.digest)
    expected = request.saved.digest if request.saved is not None else request.expected_digest
    if expected and prepared.plan.digest != expected:
        raise PlanError(
            f"the plan changed since it was reviewed (reviewed {expected[:19]}…, "
            f"now {prepared.plan.digest[:19]}…): {_what_it_is_now(ws, prepared.plan)}. "
            "Re-run `ctconfig plan` and review it again."
        )


def _what_it_is_now(ws: Workspace, plan: Plan, most: int = 5) -> str:
    """What the plan would do now, what changed in the accounts, and who last wrote the state."""
    from ctconfig.render.escape import terminal_safe
    from ctconfig.render.plan_text import attribute_lines, symbol

    def described(action: Action) -> str:
        details = "; ".join(attribute_lines(action)[:2])
        return f"{symbol(action)} {action.address} ({action.kind.value}{': ' + details if details else ''})"

    parts = []
    if plan.actions:
        listed = ", ".join(described(a) for a in plan.actions[:most])
        more = f" and {len(plan.actions) - most} more" if len(plan.actions) > most else ""
        parts.append(f"now it would {listed}{more}")
    else:
        parts.append("now it would change nothing")
    drift = [d for d in plan.drift if not d.adoption]
    if drift:
        changed = ", ".join(f"{d.address} ({d.message})" for d in drift[:most])
        parts.append(f"changed in the accounts: {changed}")
    history = ws.backend.history() if plan.stamp.serial else []
    last = history[-1] if history and history[-1].serial == plan.stamp.serial else None
    if last is not None and last.audit is not None:
        audit = last.audit
        commit = f", commit {audit.commit[:12]}" if audit.commit else ""
        by = f"written by {audit.who} at {audit.when} ({audit.operation}{commit})"
        parts.append(f"state is at serial {last.serial}, {by}")
    return terminal_safe("; ".join(parts))


def _check_applicable(request: ApplyRequest, prepared: Prepared) -> None:
    plan = prepared.plan
    if plan.errors:
        raise PlanError(f"the plan has {len(plan.errors)} error(s); nothing was applied")
    if prepared.pending and not request.dry_run:
        raise PlanError(
            "an interrupted apply left passcodes whose creation could not be checked now "
            "(see the warning above); nothing was applied. Run `ctconfig apply` again once the "
            "accounts can be reached."
        )
    if plan.mass_deletes and not request.allow_mass_delete:
        raise PlanError(mass_delete_refusal(plan.mass_deletes))


def _save_refresh(ws: Workspace, prepared: Prepared, refresh_only: bool) -> ApplyReport:
    """No account changes: record what the refresh found (adoptions, drift, hand-made passcodes)."""
    plan = prepared.plan
    observed, unmanaged = _observations(ws, plan)
    if plan.state_updates == 0 and prepared.token is not None and not observed:
        return ApplyReport(ApplyKind.NOTHING, plan, where=ws.backend.describe())
    adopted = [] if refresh_only else adoption_entries(plan)
    parts = [entries_summary(adopted)] if adopted else []
    parts.append(f"{plan.state_updates} record(s) updated")
    parts += [f"{len(observed)} change(s) outside ctconfig seen"] if observed else []
    audit = audit_record(
        "refresh" if refresh_only or not adopted else "apply",
        ", ".join(parts),
        plan_digest=None if refresh_only else plan.digest,
        actions=adopted,
        observed=observed,
        unmanaged=unmanaged,
        note=ws.audit_note,
    )
    written, _ = ws.save_state(prepared.refreshed, prepared.token, audit)
    return ApplyReport(ApplyKind.REFRESHED, plan, serial=written.serial, where=ws.backend.describe())


def _observations(ws: Workspace, plan: Plan) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Hand changes this run saw; the history is read only when something is unmanaged."""
    history = ws.backend.history() if plan.unmanaged else []
    seen_at = plan.stamp.created_at or datetime.now(UTC)
    return observations(plan, seen_at, history)


async def _execute(
    ws: Workspace,
    request: ApplyRequest,
    ui: ApplyUi,
    prepared: Prepared,
    provider: Provider,
    sink: SecretSink,
    refusal: str | None,
) -> ApplyReport:
    """Run the applier (creates held back when the sink refused them) and save the next version."""
    plan = prepared.plan
    journal = ws.journal()
    journal.begin(prepared.refreshed.lineage, prepared.refreshed.serial)
    applier = Applier(
        provider,
        sink,
        ws.targets(),
        journal=journal,
        parallelism=request.parallelism,
        protected=ws.protected(),
        progress=ui.progress,
    )
    if refusal is not None:
        applier.hold_creates(refusal)
    with _stop_on_signals(applier), settled_objects_frozen():
        result = await applier.apply(plan, prepared.refreshed)
    stats = getattr(provider, "stats", None)
    traffic = stats.summary() if stats is not None else ""
    entries = [*outcome_entries(result.outcomes, plan), *adoption_entries(plan)]
    observed, unmanaged = _observations(ws, plan)
    audit = audit_record(
        "apply",
        entries_summary(entries),
        plan_digest=plan.digest,
        actions=entries,
        observed=observed,
        unmanaged=unmanaged,
        note=ws.audit_note,
    )
    report = ApplyReport(
        ApplyKind.APPLIED,
        plan,
        result,
        where=ws.backend.describe(),
        journal_where=journal.describe(),
        traffic=traffic,
    )
    try:
        written, _ = ws.save_state(prepared.refreshed.with_resources(result.resources), prepared.token, audit)
    except (CtconfigError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        began = Begin(prepared.refreshed.lineage, prepared.refreshed.serial)
        return replace(report, save_error=reason, journal_kept=_still_ours(journal, began))
    _clear_journal(journal, written, result.open_intents)
    return replace(report, serial=written.serial)


def _still_ours(journal: Journal, began: Begin) -> bool:
    """Whether the journal still holds what this apply recorded (True when it cannot be read)."""
    try:
        contents = journal.read()
    except (CtconfigError, OSError):
        return True
    return contents.begin == began and not contents.empty


def _clear_journal(journal: Journal, written: State, still_open: list[Intent]) -> None:
    """Compact the journal of a saved apply to the intents no record closed, in one atomic step.

    A create whose outcome is unknown (retries gave up, or the dashboard's operator
    stopped without saying) stays open against the version just written, so the next
    run settles it before planning instead of forgetting it. The applier knows which
    those are from what it appended, so the journal is not read back. Clearing and then
    appending would be two steps, and a crash (or a lost connection) between them
    forgot those intents; `replace` leaves the old journal or the new one.
    """
    failpoints.hit("apply.compact", journal.describe())
    if still_open:
        journal.replace([Begin(written.lineage, written.serial), *still_open])
    else:
        journal.clear()


@contextlib.contextmanager
def _stop_on_signals(applier: Applier) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP ask the applier to stop starting things; in-flight work finishes.

    The handlers they replace (the console entry's, `cli/signals.py`) are put back afterwards,
    so a signal while the state is saved still unwinds instead of killing the process.
    """
    loop = asyncio.get_running_loop()
    installed: list[tuple[signal.Signals, Any]] = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            previous = signal.getsignal(sig)
            loop.add_signal_handler(sig, applier.request_stop)
            installed.append((sig, previous))
    try:
        yield
    finally:
        for sig, previous in installed:
            loop.remove_signal_handler(sig)
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, previous)
