"""Plan: recover an interrupted apply, read the accounts, refresh state, diff — under the state lock.

This is DESIGN.md's data flow as one sequence of calls: the backend's state
(with the journal folded in), every account read concurrently, the pure
planner's refresh, secrets given back to adopted passcodes, the pure
planner's diff, and the stamp that lets a saved plan be refused when stale.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from operator import itemgetter
from typing import Any, TypeVar

from ctconfig.collector import paused_then_frozen
from ctconfig.config.trust import endpoint_words, trust_surface
from ctconfig.domain import AccountSnapshot, AccountTarget, Address
from ctconfig.errors import CtconfigError
from ctconfig.plan import Note, Plan, PlanScope, PlanStamp, TrustChange
from ctconfig.planner import PlanOptions, Refresh, diff, refresh_state
from ctconfig.providers.base import CredentialStatus, Provider
from ctconfig.redaction import remember_secret
from ctconfig.secrets import Secret
from ctconfig.service.known_state import share_known_state, with_findings
from ctconfig.service.recovery import Recovered, pending_words, recover
from ctconfig.service.scope import check_scope
from ctconfig.service.sink_check import with_sink_checked
from ctconfig.service.workspace import Workspace
from ctconfig.sinks import SecretRef, SecretSink, SinkError
from ctconfig.state.document import AccountPasscodeRecord, Origin, State, StateError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: the scope, whether to read the accounts, and the clock."""

    scope: PlanScope = field(default_factory=PlanScope)
    refresh: bool = True
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))


@dataclass(frozen=True)
class Prepared:
    """A plan, the refreshed state it was made from (what apply starts from), and its write token."""

    plan: Plan
    refreshed: State
    token: str | None
    pending: int = 0
    """Intents of an interrupted apply still unsettled: apply refuses while there are any."""
    observed: Mapping[str, AccountSnapshot | None] = field(default_factory=dict)
    """What each account held when read (empty with --refresh=false): its clock judges expiry."""


async def prepare(
    ws: Workspace,
    provider: Provider,
    sink: SecretSink,
    request: PlanRequest,
    *,
    may_write: bool,
    say: Callable[[str], None] = lambda line: None,
) -> Prepared:
    """Recover, refresh and plan. Call it while holding the state lock when `may_write`;
    otherwise nothing is written and nothing an interrupted apply left is settled."""
    with paused_then_frozen():
        return await _prepare(ws, provider, sink, request, may_write=may_write, say=say)


async def _prepare(
    ws: Workspace,
    provider: Provider,
    sink: SecretSink,
    request: PlanRequest,
    *,
    may_write: bool,
    say: Callable[[str], None],
) -> Prepared:
    settling = provider if request.refresh and may_write else None  # a read-only run settles nothing
    recovered = await recover(ws, settling, sink, may_write=may_write)
    if recovered.restored is not None and may_write:
        raise StateError(recovered.restored.message())  # apply: nothing may start from an old copy
    for note in recovered.notes:
        say(note)
    share_known_state(provider, ws.config, recovered.state, sink, request.now)  # the dashboard provider's
    check_scope(ws.config, recovered.state, request.scope)  # a --target typo fails before any read
    observed: dict[str, AccountSnapshot | None] = {}
    if request.refresh:
        reading = targeted_accounts(sorted(ws.config.accounts), request.scope)
        say(f"Provider: {endpoint_words(ws.config, ws.loaded.policy)}.")
        say(f"Refreshing {len(reading)} account(s)...")
        observed = await observe(provider, ws.targets(), reading)
    refresh = refresh_state(ws.config, recovered.state, observed)
    if request.refresh:
        read = {alias: target for alias, target in ws.targets().items() if alias in observed}
        refresh = await reclaim_secrets(refresh, provider, sink, read)
    plan = diff(ws.config, refresh, observed, PlanOptions(request.now, request.scope))
    plan = _with_pending(with_findings(plan, provider), recovered, may_write=may_write)
    if recovered.restored is not None:
        plan = replace(plan, errors=(*plan.errors, Note("state", recovered.restored.message())))
    lineage = recovered.state.lineage if recovered.token is not None else ""
    stamp = PlanStamp(lineage, recovered.state.serial, ws.loaded.digest, request.now)
    plan = replace(
        plan,
        trust_changes=trust_changes(recovered.state.trust, trust_surface(ws.config)),
        endpoint=endpoint_words(ws.config, ws.loaded.policy),
    )
    return Prepared(plan.stamped(stamp), refresh.state, recovered.token, len(recovered.pending), observed)


def trust_changes(before: Mapping[str, str] | None, after: Mapping[str, str]) -> tuple[TrustChange, ...]:
    """Each entry of the trust surface that differs from what the state recorded (all of them when the
    state recorded none: its first write, or a version written before ctconfig recorded it)."""
    recorded = before or {}
    keys = sorted(set(recorded) | set(after))
    return tuple(
        TrustChange(key, recorded.get(key), after.get(key))
        for key in keys
        if before is None or recorded.get(key) != after.get(key)
    )


def targeted_accounts(aliases: list[str], scope: PlanScope) -> list[str]:
    """The accounts a `--target` can touch (all of them without one): only these are read."""
    if not scope.targets:
        return aliases
    wanted = [target.split("/", 1)[0] for target in scope.targets]
    return [alias for alias in aliases if any(fnmatchcase(alias, pattern) for pattern in wanted)]


async def observe(
    provider: Provider, targets: Mapping[str, AccountTarget], aliases: list[str]
) -> dict[str, AccountSnapshot | None]:
    """Read the accounts concurrently; the first failure is raised as one clear message."""
    results = await asyncio.gather(
        *(provider.read_account(targets[a]) for a in aliases), return_exceptions=True
    )
    observed: dict[str, AccountSnapshot | None] = {}
    for alias, result in zip(aliases, results, strict=True):
        if isinstance(result, CtconfigError) or (
            isinstance(result, BaseException) and not isinstance(result, Exception)
        ):
            raise result  # a stop (SIGTERM's `Terminated`, Ctrl-C) that landed in a read stays a stop
        if isinstance(result, BaseException):
            raise CtconfigError(f"reading account '{alias}' failed: {type(result).__name__}") from result
        observed[alias] = result
        log.debug("read %s: %d passcodes, %d users", alias, len(result.passcodes), len(result.users))
    return observed


async def reclaim_secrets(
    refresh: Refresh, provider: Provider, sink: SecretSink, targets: Mapping[str, AccountTarget]
) -> Refresh:
    """Give an adopted passcode its fingerprint back when the sink holds a secret that authenticates.

    Only a secret in the passcode's own slot, live for its account and not the
    fingerprint of another managed passcode (a rotated-out predecessor) counts.
    """
    if not getattr(sink, "can_read_back", True):
        return refresh
    records = dict(refresh.state.resources)
    known = {r.secret_fingerprint for r in records.values() if isinstance(r, AccountPasscodeRecord)}
    reclaimed: set[Address] = set()
    candidates = [(a, r) for a, r in records.items() if _reclaimable(r) and a.account in targets]
    for address, record in sorted(candidates, key=itemgetter(0)):
        assert isinstance(record, AccountPasscodeRecord)
        secret = await _live_secret(address, record, provider, sink, targets[address.account])
        if secret is not None and not secret.fingerprints() & known:  # in any form state keeps
            records[address] = replace(record, secret_fingerprint=secret.fingerprint())
            known.add(secret.fingerprint())
            reclaimed.add(address)
    if not reclaimed:
        return refresh
    drift = tuple(
        replace(d, message=RECLAIMED_WORDS) if d.adoption and d.address in reclaimed else d
        for d in refresh.drift
    )
    return replace(
        refresh,
        state=refresh.state.with_resources(records),
        drift=drift,
        state_updates=refresh.state_updates + len(reclaimed),
    )


RECLAIMED_WORDS = "already exists in the account: adopted into state; the secret in the sink authenticates"
"""An adopted passcode whose secret the sink holds (said instead of "does not hold its secret")."""


def _reclaimable(record: object) -> bool:
    return (
        isinstance(record, AccountPasscodeRecord)
        and record.origin is not Origin.CREATED
        and record.secret_fingerprint is None
        and record.retire_after is None
    )


async def _live_secret(
    address: Address,
    record: AccountPasscodeRecord,
    provider: Provider,
    sink: SecretSink,
    target: AccountTarget,
) -> Secret | None:
    try:
        secret = sink.read(SecretRef(address, record.account_id))
        if secret is None:
            return None
        remember_secret(secret.reveal())
        check = await provider.check_credential(target, secret)
    except (SinkError, CtconfigError) as exc:
        log.debug("%s: could not check the sink's secret: %s", address, exc)
        return None
    return secret if check.status is CredentialStatus.VALID else None


def _with_pending(plan: Plan, recovered: Recovered, *, may_write: bool) -> Plan:
    """Open intents: a warning while an apply settles them, an error for a plan (it settles none)."""
    if not recovered.pending:
        return plan
    if not may_write:  # plan, or a dry run: it cannot know whether they exist with their secrets
        note = Note(
            "journal",
            f"{pending_words(recovered.pending)}: whether they exist, and where their secrets are, is "
            "settled only by `ctconfig apply` (or `ctconfig recover`), which asks the accounts first; "
            "this plan may be wrong about them",
        )
        return replace(plan, errors=(*plan.errors, note))
    note = Note(
        "journal",
        f"{pending_words(recovered.pending)} could not be settled now; "
        "`ctconfig apply` refuses to start until they are (they need the accounts to be reachable)",
    )
    return replace(plan, warnings=(*plan.warnings, note))


def make_plan(
    ws: Workspace, request: PlanRequest, *, say: Callable[[str], None] = lambda line: None
) -> Prepared:
    """`ctconfig plan`: read-only. No lock is taken, nothing an interrupted apply left is settled,
    no state is written and no file is made: a saved plan is refused when stale instead."""
    provider, sink = ws.provider(read_only=True), ws.sink()

    async def run() -> Prepared:
        try:
            prepared = await prepare(ws, provider, sink, request, may_write=False, say=say)
        finally:
            await provider.aclose()
        return replace(prepared, plan=await with_sink_checked(sink, prepared.plan, ws.targets()))

    return run_async(run())


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, keeping the result out of the event loop's main task.

    On exit, Python 3.11's `asyncio.run` looks its SIGINT handler up in an enum, which
    builds the handler's full `repr` — the main task's, result included: half a second
    for a plan of 10,000 resources, only to be thrown away.
    """
    box: list[T] = []

    async def main_task() -> None:
        box.append(await main)

    asyncio.run(main_task())
    return box[0]
