"""State edits and reads: list, show, rm, mv, push, pull, history, force-unlock.

Reading never locks. Every edit takes the lock (waiting up to the timeout),
writes exactly one new version with an audit record, and never touches an
account: `rm` forgets, `mv` re-addresses, `push` replaces.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ctconfig.domain import Address
from ctconfig.errors import CtconfigError
from ctconfig.service.audit import audit_record
from ctconfig.service.workspace import Workspace
from ctconfig.state.base import HistoryEntry, LockHeldError, LockInfo
from ctconfig.state.document import RecordType, State
from ctconfig.state.timeline import (
    LifeEvent,
    address_life,
    kept_versions,
    moment_of,
    version_at,
    written_at,
)


def current_state(ws: Workspace) -> State:
    """The current state; an error naming the backend when nothing was written yet."""
    version = ws.backend.read()
    if version is None:
        raise CtconfigError(f"no state yet in {ws.backend.describe()}; run `ctconfig apply` first")
    return version.state


def parse_addresses(texts: tuple[str, ...] | list[str]) -> list[Address]:
    """Addresses from the command line; the first malformed one is a clear error."""
    try:
        return [Address.parse(t) for t in texts]
    except ValueError as exc:
        raise CtconfigError(str(exc)) from None


def record_of(ws: Workspace, address: Address) -> RecordType:
    """One managed record, or an error pointing at `state list`."""
    state = current_state(ws)
    _require(ws, state, [address])
    return state.resources[address]


def remove(ws: Workspace, addresses: list[Address], lock_timeout: float) -> int:
    """Forget resources without touching the account; returns the new serial."""
    with ws.locked("state rm", lock_timeout):
        state, token = ws.read_state()
        _require(ws, state, addresses)
        kept = {a: r for a, r in state.resources.items() if a not in set(addresses)}
        listed = ", ".join(str(a) for a in addresses)
        actions = [{"address": str(a), "action": "forget", "outcome": "forgotten"} for a in addresses]
        summary = f"forgot {len(addresses)} resource(s): {listed}"
        audit = audit_record("state rm", summary, actions=actions, note=ws.audit_note)
        written, _ = ws.save_state(state.with_resources(kept), token, audit)
    return written.serial


def move(ws: Workspace, source: Address, destination: Address, lock_timeout: float) -> int:
    """Move a resource to a new address (e.g. after renaming an account alias); returns the new serial."""
    if source.kind is not destination.kind:
        raise CtconfigError(f"cannot move a {source.kind.value} to a {destination.kind.value} address")
    with ws.locked("state mv", lock_timeout):
        state, token = ws.read_state()
        _require(ws, state, [source])
        if destination in state.resources:
            raise CtconfigError(f"{destination} is already in state; `state rm` it first")
        moved = {(destination if a == source else a): r for a, r in state.resources.items()}
        actions = [{"address": str(source), "action": "move", "outcome": f"now {destination}"}]
        summary = f"moved {source} to {destination}"
        audit = audit_record("state mv", summary, actions=actions, note=ws.audit_note)
        written, _ = ws.save_state(state.with_resources(moved), token, audit)
    return written.serial


def push(ws: Workspace, text: str, source: str, *, force: bool, lock_timeout: float) -> int | None:
    """Replace the state with a document; returns the new serial, or None when it already matches.

    Refuses a different lineage, an older serial, or the same serial with
    different content unless `force`.
    """
    pushed = State.loads(text, source)
    with ws.locked("state push", lock_timeout):
        version = ws.backend.read()
        if version is not None:
            refusal = push_refusal(pushed, version.state)
            if refusal and not force:
                raise CtconfigError(f"refusing to push {source}: {refusal} (--force overrides)")
            if not refusal and pushed.serial == version.state.serial:
                return None
        serial = max(pushed.serial, version.state.serial + 1 if version is not None else 1)
        written = replace(pushed, serial=serial)
        summary = f"pushed {source}" + (" (forced)" if force else "")
        audit = audit_record("state push", summary, note=ws.audit_note)
        ws.backend.write(written, version.token if version else None, audit)
    return written.serial


def push_refusal(pushed: State, current: State) -> str | None:
    """Why a push would lose information, or None when it is safe."""
    if pushed.lineage != current.lineage:
        return (
            f"the file has lineage {pushed.lineage} but the state has {current.lineage}: "
            "it is a different state"
        )
    if pushed.serial < current.serial:
        return f"the file has serial {pushed.serial}, older than the state's {current.serial}"
    if pushed.serial == current.serial and pushed.resources != current.resources:
        return f"the file and the state both have serial {pushed.serial} but differ"
    return None


def force_unlock(ws: Workspace, lock_id: str) -> LockInfo:
    """Remove a dead run's lock by its ID; returns what was removed."""
    return ws.backend.force_unlock(lock_id)


def lock_holder(ws: Workspace, lock_id: str) -> LockInfo | None:
    """Who holds the lock `lock_id` names (None when the backend does not say).

    Refused at once, before anyone is asked anything, when nothing is locked or the
    lock has another ID. The backend is asked by trying to take the lock: if that
    succeeds the state was not locked, and the probe is released at once.
    """
    try:
        probe = ws.backend.lock("force-unlock", 0.0)
    except LockHeldError as exc:
        holder = exc.holder
    else:
        ws.backend.unlock(probe)
        raise CtconfigError(f"state {ws.backend.describe()} is not locked; nothing to force-unlock")
    if holder is not None and holder.id != lock_id:
        raise CtconfigError(
            f"lock ID {lock_id} does not match the lock on {ws.backend.describe()} "
            f"(held by {holder.describe()}); nothing was removed"
        )
    return holder


def _require(ws: Workspace, state: State, addresses: list[Address]) -> None:
    missing = [str(a) for a in addresses if a not in state.resources]
    if missing:
        raise CtconfigError(
            f"not in state {ws.backend.describe()}: {', '.join(missing)} "
            "(`ctconfig state list` shows what is there)"
        )


@dataclass(frozen=True)
class PastState:
    """A state as it was at a serial or a moment, who wrote it, and what was unmanaged then."""

    state: State
    entry: HistoryEntry | None
    moment: datetime
    unmanaged: dict[str, str]
    unmanaged_serial: int | None = None


def state_then(ws: Workspace, *, at: str | None = None, serial: int | None = None) -> PastState:
    """The current state, or the version current at `at` (a date or time), or serial `serial`."""
    if at is None and serial is None:
        state = current_state(ws)
        return PastState(state, None, datetime.now(UTC), {})
    history = ws.backend.history()
    if serial is not None:
        entry = next((e for e in history if e.serial == serial), None)
        if entry is None:
            kept = f"{history[0].serial} to {history[-1].serial}" if history else "none"
            raise CtconfigError(f"serial {serial} is not kept in {ws.backend.describe()} (kept: {kept})")
        moment = written_at(entry) or datetime.now(UTC)
    else:
        assert at is not None
        moment = moment_of(at)
        entry = version_at(history, moment)
        if entry is None:
            first = f"; the first was written {history[0].created}" if history else ""
            raise CtconfigError(f"no state version existed in {ws.backend.describe()} at {at}{first}")
    unmanaged, seen_in = _unmanaged_as_of(history, entry.serial)
    return PastState(ws.backend.read_serial(entry.serial), entry, moment, unmanaged, seen_in)


def _unmanaged_as_of(history: list[HistoryEntry], serial: int) -> tuple[dict[str, str], int | None]:
    """What the newest run up to `serial` that read the accounts found unmanaged in them."""
    for entry in reversed([e for e in history if e.serial <= serial]):
        if entry.audit is not None and entry.audit.unmanaged is not None:
            return entry.audit.unmanaged, entry.serial
    return {}, None


def address_history(ws: Workspace, address: Address) -> list[LifeEvent]:
    """One address's life across every kept version (the passcode followed through renames)."""
    account = ws.config.accounts.get(address.account)
    ids = [account.id] if account is not None else []
    return address_life(kept_versions(ws.backend), address, ids)
