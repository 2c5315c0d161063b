"""Finish what an interrupted apply left in its journal, before anything is planned.

The journal lives where the state lives, so this runs on whichever machine
comes next. Recorded outcomes are folded into state. Every intent no record
closed is resolved against its account: the passcode is not there — nothing
happened; it is there — ask again with the same idempotency key and deliver
the replayed secret, or, when the server cannot replay it, record the passcode
tainted so this very plan replaces it. Only when every intent is settled is
the state written (one version, audited as `recover`) and the journal cleared;
otherwise the journal stays and `apply` refuses to start until it can be.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ctconfig.applier.channels import Channels, open_channels
from ctconfig.applier.creation import TaintedError, resolve_intent
from ctconfig.domain import AccountSnapshot, Address
from ctconfig.providers.base import Provider
from ctconfig.service.audit import audit_record
from ctconfig.service.workspace import Workspace
from ctconfig.sinks import SecretSink
from ctconfig.state.document import RecordType, State
from ctconfig.state.journal import Intent, Journal


@dataclass
class Recovered:
    """The state to plan from, what recovery did (in words), and the intents still unsettled."""

    state: State
    token: str | None
    notes: list[str] = field(default_factory=list)
    pending: list[Intent] = field(default_factory=list)


async def recover(
    ws: Workspace, provider: Provider | None, sink: SecretSink, *, may_write: bool
) -> Recovered:
    """Fold the journal into state and settle its open intents (`provider` None: settle none)."""
    state, token = ws.read_state()
    journal = ws.journal()
    contents = journal.read()
    if contents.begin is None and contents.empty:
        return Recovered(state, token)
    if token is None and contents.begin is not None:
        state = State(lineage=contents.begin.lineage, serial=contents.begin.serial)
    folded, replayed = contents.fold(state, journal.describe())
    records = dict(folded.resources)
    out = Recovered(folded, token)
    if replayed:
        out.notes.append(
            f"Recovered {replayed} change(s) an interrupted apply recorded in {journal.describe()}."
        )
    open_intents = contents.open_intents()
    if open_intents and provider is None:
        out.pending = open_intents
    elif open_intents and provider is not None:
        await _settle(ws, provider, sink, journal, open_intents, records, out)
    out.state = folded.with_resources(records)
    if may_write and not out.pending and not contents.empty:
        summary = f"{replayed} change(s) replayed, {len(open_intents)} open intent(s) settled"
        audit = audit_record("recover", summary, note=ws.audit_note)
        out.state, out.token = ws.save_state(out.state, token, audit)
    if may_write and not out.pending:
        journal.clear()
    return out


async def _settle(
    ws: Workspace,
    provider: Provider,
    sink: SecretSink,
    journal: Journal,
    intents: list[Intent],
    records: dict[Address, RecordType],
    out: Recovered,
) -> None:
    channels = open_channels(provider, journal, sink)
    targets = ws.targets()
    snapshots: dict[str, AccountSnapshot | BaseException] = {}
    try:
        for alias in sorted({i.address.account for i in intents} & set(targets)):
            try:
                snapshots[alias] = await provider.read_account(targets[alias])
            except Exception as exc:
                snapshots[alias] = exc
        async with asyncio.TaskGroup() as group:
            for intent in intents:
                group.create_task(_settle_one(channels, ws, intent, snapshots, records, out))
    finally:
        await channels.close()


async def _settle_one(
    ch: Channels,
    ws: Workspace,
    intent: Intent,
    snapshots: dict[str, AccountSnapshot | BaseException],
    records: dict[Address, RecordType],
    out: Recovered,
) -> None:
    address = intent.address
    target = ws.targets().get(address.account)
    snapshot = snapshots.get(address.account)
    if target is None or target.account_id != intent.account_id:
        out.pending.append(intent)
        out.notes.append(
            f"{address}: an interrupted apply was creating it, but its account is no longer configured"
        )
        return
    if not isinstance(snapshot, AccountSnapshot):
        out.pending.append(intent)
        out.notes.append(
            f"{address}: an interrupted apply was creating it; the account could not be read: {snapshot}"
        )
        return
    try:
        created = await resolve_intent(ch, target, intent, snapshot)
    except TaintedError as exc:
        records[address] = exc.record
        out.notes.append(f"{address}: created by an interrupted apply, but {exc}")
        return
    except Exception as exc:
        out.pending.append(intent)
        out.notes.append(f"{address}: an interrupted apply was creating it; checking failed: {exc}")
        return
    if created is None:
        out.notes.append(f"{address}: an interrupted apply meant to create it and did not; the plan does")
        return
    records[address] = created.record
    out.notes.append(
        f"{address}: created by an interrupted apply; its secret was recovered and sent to {created.where}"
    )


def pending_words(pending: list[Intent]) -> str:
    """`2 passcode(s) an interrupted apply was creating (prod/account_passcode/a, …)`."""
    names = ", ".join(str(i.address) for i in pending[:5]) + (", …" if len(pending) > 5 else "")
    return f"{len(pending)} passcode(s) an interrupted apply was creating ({names})"
