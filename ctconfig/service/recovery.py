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
from ctconfig.config.spec import Config
from ctconfig.domain import AccountSnapshot, Address, ResourceKind
from ctconfig.providers.base import Provider
from ctconfig.service.audit import audit_record
from ctconfig.service.restored import Restored, find_restored
from ctconfig.service.workspace import Workspace
from ctconfig.sinks import SecretSink
from ctconfig.state.document import RecordType, State, StateError, check_remote_ids
from ctconfig.state.journal import Intent, Journal, JournalContents
from ctconfig.visible import visible


@dataclass
class Recovered:
    """The state to plan from, what recovery did (in words), and the intents still unsettled."""

    state: State
    token: str | None
    notes: list[str] = field(default_factory=list)
    pending: list[Intent] = field(default_factory=list)
    restored: Restored | None = None
    """The state is older than its history (restored from a copy): nothing may trust it yet."""


async def recover(
    ws: Workspace,
    provider: Provider | None,
    sink: SecretSink,
    *,
    may_write: bool,
    roll_forward: bool = False,
) -> Recovered:
    """Fold the journal into state and settle its open intents (`provider` None: settle none).

    Without `may_write` (a plan, a dry run) nothing is written and a journal that a
    running apply is still writing (the lock is held) is left out: the plan starts from
    the last saved state and says so. A state older than its history (`restored.py`) is
    reported, not used — unless `roll_forward`: then the newest kept version is the base
    the journal is folded onto, written as one new version.
    """
    journal = ws.journal()
    contents = journal.read()
    base = _base(ws, roll_forward, contents)
    if base.restored is not None:
        return base
    state, token, rolled = base.state, base.token, " ".join(base.notes)
    if contents.begin is None and contents.empty:
        return _without_journal(ws, base, may_write)
    running = None if may_write else _running_apply(ws, state)
    if running is not None:
        return Recovered(state, token, notes=[running])
    if token is None and contents.begin is not None:
        state = State(lineage=contents.begin.lineage, serial=contents.begin.serial)
    check_journal(contents, state, ws.config, journal.describe())
    folded, replayed = contents.fold(state, journal.describe())
    check_remote_ids(folded.resources, f"state with journal {journal.describe()} folded in")
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
    if may_write and not out.pending:
        if rolled or not contents.empty:  # a journal that only began holds nothing to save
            summary = f"{replayed} change(s) replayed, {len(open_intents)} open intent(s) settled"
            audit = audit_record("recover", f"{rolled + '; ' if rolled else ''}{summary}", note=ws.audit_note)
            out.state, out.token = ws.save_state(out.state, token, audit)
        journal.clear()
    return out


def _base(ws: Workspace, roll_forward: bool, contents: JournalContents) -> Recovered:
    """The state to start from: the current one, or — rolling forward — the newest kept version.

    `restored` is set (and nothing else done) when the state is older than its history and
    the caller did not ask to roll forward; `notes` says when it rolled forward.
    """
    state, token = ws.read_state()
    began = contents.begin.serial if contents.begin is not None else None
    restored = find_restored(ws.backend, state, began) if token is not None else None
    if restored is None:
        return Recovered(state, token)
    if not roll_forward:
        return Recovered(state, token, restored=restored)
    newest = ws.backend.read_serial(restored.newest)
    rolled = f"rolled forward from serial {restored.newest} (the state was at {restored.current})"
    return Recovered(newest, token, notes=[rolled])


def _without_journal(ws: Workspace, base: Recovered, may_write: bool) -> Recovered:
    """Nothing to fold: the state as it is, or — rolled forward — written as the next version."""
    if not base.notes:
        return base
    rolled = " ".join(base.notes)
    state, token = base.state, base.token
    if may_write:
        state, token = ws.save_state(state, token, audit_record("recover", rolled))
    return Recovered(state, token, notes=[f"State {rolled}."])


def _running_apply(ws: Workspace, state: State) -> str | None:
    """For a read-only run: a note when an apply holding the lock is still writing the journal."""
    holder = ws.backend.lock_holder()
    if holder is None:
        return None
    return (
        f"An apply is running ({visible(holder.describe())}); this plan starts from the last "
        f"saved state (serial {state.serial}), without what that apply has done so far."
    )


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


def check_journal(contents: JournalContents, state: State, config: Config, where: str) -> None:
    """Refuse a journal that this state did not write, or whose intents contradict themselves.

    A journal is folded into state and its intents are settled against the accounts, so a
    journal from elsewhere (another lineage, a file someone committed) could make a run
    taint, adopt or delete what it names: it is refused, never folded.
    """
    if contents.begin is None:
        if not contents.empty:
            raise StateError(f"journal {where} has entries but no beginning; it is not an apply's journal")
        return
    if contents.begin.lineage != state.lineage:
        raise StateError(
            f"journal {where} belongs to state lineage {contents.begin.lineage}, not to this state's "
            f"({state.lineage}); refusing to fold it (remove it if it is not this state's)"
        )
    for intent in contents.intents.values():
        problem = _intent_problem(intent, config)
        if problem is not None:
            raise StateError(
                f"journal {where}: an intent for {intent.address} {problem}; refusing to fold it"
            )
    for entry in contents.records:
        if entry.record is not None and entry.record.kind != entry.address.kind.value:
            raise StateError(
                f"journal {where}: a {entry.record.kind} record under {entry.address}; refusing to fold it"
            )


def _intent_problem(intent: Intent, config: Config) -> str | None:
    address = intent.address
    if address.kind is not ResourceKind.ACCOUNT_PASSCODE:
        return "is not for an account passcode"
    if intent.name != address.name:
        return f"names the passcode {intent.name!r}, not {address.name!r}"
    account = config.accounts.get(address.account)
    if account is not None and account.id != intent.account_id:
        return f"names account {intent.account_id}, but {address.account!r} is {account.id}"
    return None


def pending_words(pending: list[Intent]) -> str:
    """`2 passcode(s) an interrupted apply was creating (prod/account_passcode/a, …)`."""
    names = ", ".join(str(i.address) for i in pending[:5]) + (", …" if len(pending) > 5 else "")
    return f"{len(pending)} passcode(s) an interrupted apply was creating ({names})"
