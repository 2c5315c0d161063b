"""The applier: executes a Plan against a provider, journalling every step, keeping going like Terraform.

Accounts run concurrently; within an account, actions run phase by phase (the
planner's safe order, `plan.PHASES`) with at most `parallelism` in flight. An
action that fails stops only what depends on it — the later passcode-mode
switch, deletes and revokes of the same account — and everything else
finishes; the result lists what failed and why. Every task is awaited in one
`asyncio.TaskGroup`, and every exception an action raises becomes its outcome:
nothing escapes, nothing is left running.

Two things stop everything new at once, letting what is in flight finish: a
stop request (Ctrl-C, SIGTERM), and a journal that cannot be written (a
change without a durable record is a change a crash would forget). A secret
sink that refused before the apply (`hold_creates`, from its preflight) or
failed during it stops every create that has not started, in every account:
each would only make a passcode whose secret nobody holds. Renames, grants
and deletes go on (a delete still waits, like any, for a create of its own
account that did not happen). The delete of a tainted passcode (its secret is
known to no one) never waits for the rest of its account: keeping it helps
nobody, and it counts toward CleverTap's 100 passcodes.

A provider whose steps a person performs (`providers.guided.StepByStep`, the
dashboard's) gets one action at a time, in plan order, each announced with
its number before its operations run. An operation that person did not
perform (`NotPerformedError`: skipped, or the session stopped) leaves its
action not started, for the next plan; like a failure, it holds back the
account's later mode switch, deletes and revokes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping

from ctconfig.actions import PHASES, STATE_ONLY, Action, ActionKind, issues_secret
from ctconfig.applier.channels import AccountSlots, open_channels, request_slot
from ctconfig.applier.creation import TaintedError
from ctconfig.applier.outcomes import ApplyResult, Outcome, SinkFailure, Status
from ctconfig.applier.steps import Steps
from ctconfig.domain import AccountTarget, Address
from ctconfig.errors import CtconfigError
from ctconfig.plan import Plan
from ctconfig.providers.base import Provider
from ctconfig.providers.guided import NotPerformedError, StepByStep
from ctconfig.redaction import redact
from ctconfig.sinks import SecretSink, SinkError
from ctconfig.state.document import AccountPasscodeRecord, State
from ctconfig.state.journal import Journal
from ctconfig.state.journal_store import JournalWriteError

Progress = Callable[[str], None]
log = logging.getLogger(__name__)

DEPENDENT_KINDS = frozenset({ActionKind.CONFIGURE, ActionKind.DELETE, ActionKind.REVOKE})
"""What waits for the rest of its account: a mode switch needs its grants, and nothing is
deleted or revoked while a change meant to replace it failed (except a tainted passcode, whose
secret no one holds)."""


class Applier:
    """Runs a plan's actions through a provider, a secret sink and a journal."""

    def __init__(
        self,
        provider: Provider,
        sink: SecretSink,
        targets: Mapping[str, AccountTarget],
        *,
        journal: Journal | None = None,
        parallelism: int = 3,
        protected: Iterable[Address] = (),
        progress: Progress = lambda line: None,
    ) -> None:
        self.provider = provider
        self.sink = sink
        self.targets = targets
        self.journal = journal
        self.parallelism = max(1, parallelism)
        self.protected = frozenset(protected)
        self.progress = progress
        self._stop = False
        self._failed_accounts: set[str] = set()
        self._declined_accounts: set[str] = set()
        self._result = ApplyResult(resources={})
        self._guide = provider if isinstance(provider, StepByStep) else None
        self._numbers: dict[int, int] = {}
        if self._guide is not None:  # a person performs the steps: one at a time, in plan order
            self.parallelism = 1

    def hold_creates(self, reason: str) -> None:
        """The sink's preflight refused: start no create in this apply (everything else may run)."""
        self._result.sink_failure = SinkFailure(reason, before_start=True)

    def request_stop(self) -> None:
        """Start nothing new; let in-flight operations finish (Ctrl-C)."""
        if not self._stop:
            self.progress("Stopping: letting operations in flight finish; nothing new will start.")
        self._stop = True
        self._result.interrupted = True

    async def apply(self, plan: Plan, state: State) -> ApplyResult:
        """Execute `plan` starting from `state`'s records; never raises for a failed action."""
        records = dict(state.resources)
        channels = open_channels(self.provider, self.journal, self.sink)
        self._journal_writer = channels.journal
        self._steps = Steps(channels, self.targets, records, self.protected, self.sink)
        by_account: dict[str, list[Action]] = {}
        for action in plan.actions:
            by_account.setdefault(action.address.account, []).append(action)
        self._numbers = {id(action): number for number, action in enumerate(plan.actions, start=1)}
        try:
            if self._guide is not None:
                for actions in by_account.values():
                    await self._run_account(actions)
            else:
                async with asyncio.TaskGroup() as group:
                    for actions in by_account.values():
                        group.create_task(self._run_account(actions))
        finally:
            await channels.close()
        self._result.open_intents = channels.ledger.still_open()
        if channels.journal.failure is not None:
            self._result.durability_error = str(channels.journal.failure)
        order = {a.address: i for i, a in enumerate(plan.actions)}
        self._result.outcomes.sort(key=lambda o: order.get(o.address, 0))
        self._result.resources = dict(sorted(records.items()))
        return self._result

    async def _run_account(self, actions: list[Action]) -> None:
        slots = AccountSlots.of(self.parallelism)
        alias = actions[0].address.account
        for phase in sorted({PHASES[a.kind] for a in actions}):
            failed_before = alias in self._failed_accounts or alias in self._declined_accounts
            in_phase = [a for a in actions if PHASES[a.kind] == phase]
            if self._guide is None and not self._stop:  # a person's steps are announced one by one
                self._steps.announce(in_phase)
            async with asyncio.TaskGroup() as group:
                for action in in_phase:
                    group.create_task(self._run_one(action, slots, failed_before))

    async def _run_one(self, action: Action, slots: AccountSlots, failed_before: bool) -> None:
        async with request_slot(slots, early_release=self._guide is None):
            if self._stop or self._journal_writer.failure is not None:
                self._steps.withdraw(action)
                self._outcome(action, Status.NOT_STARTED, "the apply stopped before it started")
                return
            held = self._result.sink_failure
            if held is not None and issues_secret(action):
                self._steps.withdraw(action)  # its intent was announced with its phase: never sent
                self._declined_accounts.add(action.address.account)  # its deletes wait, as for a skip
                self._outcome(action, Status.NOT_STARTED, held.held_back())
                return
            if failed_before and action.kind in DEPENDENT_KINDS and not self._tainted_delete(action):
                why = "failed" if action.address.account in self._failed_accounts else "was not performed"
                self._outcome(action, Status.NOT_STARTED, f"skipped: an earlier change in this account {why}")
                return
            log.debug("%s: %s", action.address, action.kind.value)
            try:
                message = await self._perform(action)
            except NotPerformedError as declined:
                self._declined(action, declined)
                return
            except Exception as exc:  # every failure becomes this action's outcome
                self._failed(action, exc)
                return
            self._outcome(action, Status.DONE, message)
            self.progress(f"{action.address}: {message}")

    async def _perform(self, action: Action) -> str:
        """Announce the action to the person performing it (if any), then carry it out."""
        if self._guide is not None and action.kind not in STATE_ONLY:  # nothing for a person to do
            await self._guide.begin_action(action, self._numbers.get(id(action), 0), len(self._numbers))
        return await self._steps.run(action)

    def _declined(self, action: Action, declined: NotPerformedError) -> None:
        """Left undone by the person performing it: not started, for the next plan; maybe stop."""
        self._declined_accounts.add(action.address.account)
        self._outcome(action, Status.NOT_STARTED, str(declined))
        self.progress(f"{action.address}: {declined}")
        if declined.stop:
            self.request_stop()

    def _tainted_delete(self, action: Action) -> bool:
        """A delete of a tainted passcode: no one holds its secret, so nothing can depend on it."""
        record = self._steps.records.get(action.address)
        return (
            action.kind is ActionKind.DELETE
            and isinstance(record, AccountPasscodeRecord)
            and bool(record.tainted)
        )

    def _failed(self, action: Action, exc: Exception) -> None:
        self._failed_accounts.add(action.address.account)
        if isinstance(exc, TaintedError):
            self._result.tainted.append(exc.address)
        sink_error = exc.sink_error if isinstance(exc, TaintedError) else exc
        if isinstance(sink_error, SinkError) and self._result.sink_failure is None:
            self._result.sink_failure = SinkFailure(str(sink_error))
        if isinstance(exc, JournalWriteError):
            self._stop = True
        message = str(exc) if isinstance(exc, CtconfigError) else internal_error(exc)
        self._outcome(action, Status.FAILED, message)
        self.progress(f"{action.address}: {action.kind.value} failed: {message}")

    def _outcome(self, action: Action, status: Status, message: str) -> None:
        self._result.outcomes.append(Outcome(action.address, action.kind, status, message))


def internal_error(exc: BaseException) -> str:
    """A bug's one-line description: its type, and its words only when they cannot hold a secret."""
    detail = redact(str(exc))[:200] if isinstance(exc, (ValueError, TypeError, KeyError)) else ""
    return f"internal error ({type(exc).__name__}{': ' + detail if detail else ''}); rerun with --debug"
