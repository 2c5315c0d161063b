"""The applier: executes a Plan against a provider, checkpointing every step.

Accounts run concurrently; within an account, actions run phase by phase (the
planner's safe order) with at most `parallelism` operations in flight. After
each operation the resulting state record is queued for the journal; a
single writer appends and fsyncs whatever has queued (group commit), so
operations never wait on the disk one by one and a crash loses at most the
last few milliseconds of records — which the next refresh re-finds by name.
The caller rewrites the full state once at the end. On the first failure — or
a stop request (Ctrl-C) — nothing new starts, in-flight operations finish,
and the result says what was done and what was not. A second apply converges
from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from ctconfig.domain import (
    RETIRING_MARK,
    AccountTarget,
    Address,
    ObservedPasscode,
    ResourceKind,
    parse_days_text,
)
from ctconfig.errors import CtconfigError, NotFoundError, SecretLostError
from ctconfig.plan import Action, ActionKind, Plan
from ctconfig.planner import PHASES
from ctconfig.providers.base import Provider
from ctconfig.redaction import remember_secret
from ctconfig.refresh import grant_state, passcode_state, settings_state
from ctconfig.sinks import SecretRef, SecretSink, SinkError
from ctconfig.state.document import ResourceState, State
from ctconfig.state.journal import Journal

Progress = Callable[[str], None]
log = logging.getLogger(__name__)

DONE = "done"
FAILED = "failed"
NOT_STARTED = "not started"


@dataclass(frozen=True)
class Outcome:
    """What happened to one action: done, failed (with why) or not started."""

    address: str
    action: str
    status: str
    message: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "address": self.address,
            "action": self.action,
            "outcome": self.status,
            "message": self.message,
        }


@dataclass
class ApplyResult:
    """The state records after the apply, and what happened to each action."""

    resources: dict[str, ResourceState]
    outcomes: list[Outcome] = field(default_factory=list)
    tainted: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted and not self.tainted


def describe_operations(action: Action) -> list[str]:
    """The provider calls an action makes, in words: what `apply --dry-run` prints."""
    name = (action.after or action.before or {}).get("name", "")
    email = (action.after or action.before or {}).get("email", "")
    kind = action.kind
    if kind is ActionKind.CREATE:
        return [
            f"create account passcode '{name}' (expires_in {action.after and action.after['expires_in']}); "
            "send its secret to the sink"
        ]
    if kind is ActionKind.UPDATE:
        before, after = action.before or {}, action.after or {}
        changes = [f"{k} {before.get(k)} -> {after[k]}" for k in after if before.get(k) != after[k]]
        return [f"update account passcode {action.remote_id}: " + ", ".join(changes)]
    if kind is ActionKind.DELETE:
        return [f"delete account passcode '{name}' ({action.remote_id})"]
    if kind is ActionKind.REPLACE and action.replace_order == "delete_before_create":
        validity = (action.after or {}).get("validity")
        return [
            f"revoke the user passcode of {email}",
            f"grant {email} a user passcode (validity {validity})",
        ]
    if kind is ActionKind.REPLACE:
        steps = [
            f"rename account passcode '{name}' ({action.remote_id}) aside as '{action.aside_name}'",
            f"create account passcode '{name}'; send its secret to the sink",
        ]
        if action.retire_after is None:
            steps.append(f"delete the old '{name}' at once (its secret reached nobody)")
        else:
            steps.append(f"keep the old one until {action.retire_after}, then delete it in a later apply")
        return steps
    if kind is ActionKind.GRANT:
        return [f"grant {email} a user passcode (validity {(action.after or {}).get('validity')})"]
    if kind is ActionKind.RESET:
        return [f"reset the user passcode of {email} (a fresh secret the user sees in their settings)"]
    if kind is ActionKind.REVOKE:
        return [f"revoke the user passcode of {email}"]
    return [f"set passcode mode to '{(action.after or {}).get('passcode_mode')}'"]


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
        protected: Iterable[str] = (),
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
        self._resources: dict[str, ResourceState] = {}
        self._result = ApplyResult(resources=self._resources)
        self._pending: list[tuple[str, ResourceState | None]] = []
        self._queued = asyncio.Event()

    def request_stop(self) -> None:
        """Start nothing new; let in-flight operations finish (Ctrl-C)."""
        if not self._stop:
            self.progress("Stopping: letting operations in flight finish; nothing new will start.")
        self._stop = True
        self._result.interrupted = True

    async def apply(self, plan: Plan, state: State) -> ApplyResult:
        """Execute `plan` starting from `state`'s resources; never raises for a failed action."""
        self._resources.update(state.resources)
        by_account: dict[str, list[Action]] = {}
        for action in plan.actions:
            by_account.setdefault(action.account, []).append(action)
        writer = asyncio.create_task(self._journal_writer())
        try:
            await asyncio.gather(*(self._run_account(acts) for acts in by_account.values()))
        finally:
            self._pending.append(("", None))  # sentinel: flush what is left, then stop
            self._queued.set()
            await writer
        order = {a.address: i for i, a in enumerate(plan.actions)}
        self._result.outcomes.sort(key=lambda o: order.get(o.address, 0))
        self._result.resources = dict(sorted(self._resources.items()))
        return self._result

    async def _run_account(self, actions: list[Action]) -> None:
        semaphore = asyncio.Semaphore(self.parallelism)

        async def run(action: Action) -> None:
            async with semaphore:
                if self._stop:
                    self._outcome(action, NOT_STARTED)
                    return
                try:
                    await self._execute(action)
                except CtconfigError as exc:
                    self._stop = True
                    self._outcome(action, FAILED, str(exc))
                    self.progress(f"{action.address}: {action.kind.value} failed: {exc}")

        for phase in sorted({PHASES[a.kind] for a in actions}):
            await asyncio.gather(*(run(a) for a in actions if PHASES[a.kind] == phase))

    def _outcome(self, action: Action, status: str, message: str = "") -> None:
        self._result.outcomes.append(Outcome(action.address, action.kind.value, status, message))

    def _record(self, address: str, resource: ResourceState | None) -> None:
        if resource is None:
            self._resources.pop(address, None)
        else:
            self._resources[address] = resource
        self._pending.append((address, resource))
        self._queued.set()

    async def _journal_writer(self) -> None:
        """Append queued records in batches, one fsync per batch, off the event loop."""
        while True:
            await self._queued.wait()
            self._queued.clear()
            batch, self._pending = self._pending, []
            done = bool(batch) and batch[-1] == ("", None)
            records = [entry for entry in batch if entry != ("", None)]
            if records and self.journal is not None:
                await asyncio.to_thread(self.journal.record_many, records)
            if done:
                return

    def _extra(self, address: str) -> dict[str, object]:
        return {"prevent_destroy": True} if address in self.protected else {}

    async def _execute(self, action: Action) -> None:
        target = self.targets[action.account]
        kind = action.kind
        log.debug("%s: %s (%s)", action.address, kind.value, "; ".join(describe_operations(action)))
        if kind is ActionKind.CREATE:
            where = await self._create(action.address, target, action)
            self._done(action, f"created; secret sent to {where}")
        elif kind is ActionKind.UPDATE:
            await self._update(action, target)
            self._done(action, "updated")
        elif kind is ActionKind.DELETE:
            await self._ignore_missing(self.provider.delete_passcode(target, action.remote_id or ""))
            self._record(action.address, None)
            self._done(action, "deleted")
        elif kind is ActionKind.REPLACE and action.replace_order == "delete_before_create":
            email = str((action.after or {})["email"])
            await self._ignore_missing(self.provider.revoke_user_passcode(target, email))
            self._record(action.address, None)
            await self._grant(action, target)
            self._done(action, "revoked and granted again")
        elif kind is ActionKind.REPLACE:
            where = await self._rotate(action, target)
            self._done(action, f"replaced; new secret sent to {where}")
        elif kind is ActionKind.GRANT:
            await self._grant(action, target)
            self._done(action, "granted")
        elif kind is ActionKind.RESET:
            grant = await self.provider.reset_user_passcode(target, str((action.after or {})["email"]))
            self._record(action.address, grant_state(target.account_id, grant, self._extra(action.address)))
            self._done(action, "reset")
        elif kind is ActionKind.REVOKE:
            email = str((action.before or {}).get("email") or action.remote_id)
            await self._ignore_missing(self.provider.revoke_user_passcode(target, email))
            self._record(action.address, None)
            self._done(action, "revoked")
        else:
            mode = str((action.after or {})["passcode_mode"])
            await self.provider.set_passcode_mode(target, mode)
            self._record(action.address, settings_state(target.account_id, mode))
            self._done(action, f"passcode mode set to {mode}")

    def _done(self, action: Action, message: str) -> None:
        self._outcome(action, DONE, message)
        self.progress(f"{action.address}: {message}")

    @staticmethod
    async def _ignore_missing(call: Awaitable[None]) -> None:
        """Deleting or revoking something already gone is success: the goal is reached."""
        with contextlib.suppress(NotFoundError):
            await call

    async def _create(self, address: str, target: AccountTarget, action: Action) -> str:
        name = str((action.after or {})["name"])
        days = parse_days_text((action.after or {})["expires_in"])
        try:
            issued = await self.provider.create_passcode(target, name, days)
        except SecretLostError as exc:
            self._taint(
                address, target, exc.passcode, "the create response was lost; its secret never arrived"
            )
            raise
        remember_secret(issued.secret.reveal())
        log.debug("%s: issued %r (fingerprint %s)", address, issued, issued.secret.fingerprint())
        ref = SecretRef(Address.parse(address), target.account_id)
        try:
            where = await asyncio.to_thread(self.sink.store, ref, issued.secret)
        except SinkError as exc:
            self._taint(
                address, target, issued.passcode, f"secret sink failed: {exc}", issued.secret.fingerprint()
            )
            raise SinkError(
                f"{address}: {exc}; the passcode is marked tainted and the next plan replaces it"
            ) from None
        record = passcode_state(
            target.account_id,
            issued.passcode,
            fingerprint=issued.secret.fingerprint(),
            secret_known=True,
            extra=self._extra(address),
        )
        self._record(address, record)
        return where

    def _taint(
        self,
        address: str,
        target: AccountTarget,
        passcode: ObservedPasscode,
        why: str,
        fingerprint: str | None = None,
    ) -> None:
        record = passcode_state(
            target.account_id,
            passcode,
            fingerprint=fingerprint,
            secret_known=False,
            extra=self._extra(address),
        )
        self._record(address, replace(record, tainted=why))
        self._result.tainted.append(address)

    async def _update(self, action: Action, target: AccountTarget) -> None:
        after = action.after or {}
        old_address = action.moved_from or action.address
        old = self._resources.get(old_address)
        passcode = await self.provider.update_passcode(
            target,
            action.remote_id or "",
            name=str(after["name"]),
            expires_in_days=parse_days_text(after["expires_in"]),
        )
        if action.moved_from:
            self._record(action.moved_from, None)
        self._record(
            action.address,
            passcode_state(
                target.account_id,
                passcode,
                fingerprint=old.secret_fingerprint if old else None,
                secret_known=old.secret_known if old else False,
                extra=self._extra(action.address),
            ),
        )

    async def _rotate(self, action: Action, target: AccountTarget) -> str:
        before = action.before or {}
        old = self._resources.get(action.address)
        aside = action.aside_name or f"{before['name']}{RETIRING_MARK}"
        renamed = await self.provider.update_passcode(
            target, action.remote_id or "", name=aside, expires_in_days=parse_days_text(before["expires_in"])
        )
        retiring_address = str(Address(action.account, ResourceKind.ACCOUNT_PASSCODE, renamed.name))
        self._record(action.address, None)
        if action.retire_after is None:
            retired = None
        else:
            retired = passcode_state(
                target.account_id,
                renamed,
                fingerprint=old.secret_fingerprint if old else None,
                secret_known=old.secret_known if old else False,
                extra={"retire_after": action.retire_after},
            )
        self._record(retiring_address, retired)
        where = await self._create(action.address, target, action)
        if action.retire_after is None:
            await self._ignore_missing(self.provider.delete_passcode(target, renamed.id))
        return where

    async def _grant(self, action: Action, target: AccountTarget) -> None:
        after = action.after or {}
        grant = await self.provider.grant_user_passcode(
            target, str(after["email"]), parse_days_text(after["validity"])
        )
        self._record(action.address, grant_state(target.account_id, grant, self._extra(action.address)))
