"""Moves and forgets through the applier: the record journalled at its new address before the old one
is dropped, the secret moved only when the old slot holds this passcode's own, and a secret that
cannot follow its passcode reported (the move itself still recorded)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from ctconfig.actions import ActionKind, PasscodeSettings, StateAction
from ctconfig.applier import Applier, ApplyResult, Status
from ctconfig.domain import AccountTarget, Address
from ctconfig.plan import Plan
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SinkError
from ctconfig.sinks.file import FileSink
from ctconfig.state.document import AccountPasscodeRecord, State
from ctconfig.state.journal import Journal, Recorded
from ctconfig.state.journal_store import FileJournalStore

ACCOUNT_ID = "TEST-R78-ZZK-955Z"
OLD = Address.account_passcode("demo", "seg")
NEW = Address.account_passcode("demo-eu", "seg")
SECRET = Secret("QXK-RMB-TWAZ")


def record(fingerprint: str | None = None) -> AccountPasscodeRecord:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    return AccountPasscodeRecord(
        ACCOUNT_ID, "p1", "seg", 90, at, None, secret_fingerprint=fingerprint or SECRET.fingerprint()
    )


class StuckSink(FileSink):
    """A file sink whose moves fail (a full disk, a permission)."""

    def move(self, old: SecretRef, new: SecretRef) -> str:
        raise SinkError(f"could not write {self.path_for(new)}: No space left on device")


def apply(tmp_path: Path, sink: FileSink, plan: Plan, state: State) -> tuple[ApplyResult, Journal]:
    provider = SandboxProvider(tmp_path / "sandbox.db")
    journal = Journal(FileJournalStore(tmp_path / "journal"))
    journal.begin(state.lineage, state.serial)
    targets = {alias: AccountTarget(alias, ACCOUNT_ID, "eu1") for alias in ("demo", "demo-eu")}
    try:
        result = asyncio.run(Applier(provider, sink, targets, journal=journal).apply(plan, state))
    finally:
        asyncio.run(provider.aclose())
    return result, journal


def move_plan() -> Plan:
    settings = PasscodeSettings("seg", 90)
    return Plan(actions=(StateAction(NEW, ActionKind.MOVE, settings, settings, "renamed", moved_from=OLD),))


def test_a_move_takes_the_record_and_the_secret_to_the_new_address(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "secrets")
    sink.store(SecretRef(OLD, ACCOUNT_ID), SECRET)
    state = State.new().with_resources({OLD: record()})
    result, journal = apply(tmp_path, sink, move_plan(), state)
    [outcome] = result.outcomes
    assert outcome.status is Status.DONE
    assert outcome.message == (
        f"moved from {OLD}; its secret moved to file {tmp_path / 'secrets' / 'demo-eu' / 'seg'}"
    )
    assert result.resources == {NEW: record()}
    assert sink.read(SecretRef(NEW, ACCOUNT_ID)) == SECRET
    assert sink.read(SecretRef(OLD, ACCOUNT_ID)) is None
    entries = journal.read().records
    assert entries == [Recorded(NEW, record()), Recorded(OLD, None)]  # never a moment with neither


def test_a_secret_that_cannot_follow_fails_the_move_but_state_follows_the_config(tmp_path: Path) -> None:
    sink = StuckSink(tmp_path / "secrets")
    sink.store(SecretRef(OLD, ACCOUNT_ID), SECRET)
    result, _ = apply(tmp_path, sink, move_plan(), State.new().with_resources({OLD: record()}))
    [outcome] = result.outcomes
    assert outcome.status is Status.FAILED
    assert outcome.message.startswith(
        f"its secret did not move from file {tmp_path / 'secrets' / 'demo' / 'seg'} to file "
    )
    assert "No space left on device; move it yourself, then `ctconfig verify` checks it" in outcome.message
    assert SECRET.reveal() not in outcome.message
    assert result.resources == {NEW: record()}
    assert sink.read(SecretRef(OLD, ACCOUNT_ID)) == SECRET  # still where it was


def test_another_secret_in_the_old_slot_is_never_moved(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "secrets")
    sink.store(SecretRef(OLD, ACCOUNT_ID), Secret("AAA-BBB-CCCC"))
    result, _ = apply(tmp_path, sink, move_plan(), State.new().with_resources({OLD: record()}))
    [outcome] = result.outcomes
    assert outcome.status is Status.FAILED and "holds a secret that is not this passcode's" in outcome.message
    assert sink.read(SecretRef(NEW, ACCOUNT_ID)) is None


def test_a_move_a_dead_run_finished_in_the_sink_is_finished_in_state(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "secrets")
    sink.store(SecretRef(NEW, ACCOUNT_ID), SECRET)  # the sink moved it; the run died before the journal
    result, _ = apply(tmp_path, sink, move_plan(), State.new().with_resources({OLD: record()}))
    [outcome] = result.outcomes
    assert outcome.status is Status.DONE and "its secret is already in file" in outcome.message
    assert result.resources == {NEW: record()}


def test_a_passcode_whose_secret_ctconfig_never_held_moves_alone_and_a_forget_touches_nothing(
    tmp_path: Path,
) -> None:
    sink = FileSink(tmp_path / "secrets")
    adopted = replace(record(), secret_fingerprint=None)
    forgotten = Address.account_passcode("demo", "other")
    settings = PasscodeSettings("other", 90)
    plan = Plan(
        actions=(
            *move_plan().actions,
            StateAction(forgotten, ActionKind.FORGET, settings, None, "in removed:"),
        )
    )
    state = State.new().with_resources({OLD: adopted, forgotten: replace(record(), id="p2", name="other")})
    result, _ = apply(tmp_path, sink, plan, state)
    assert [(o.address, o.status, o.message) for o in result.outcomes] == [
        (NEW, Status.DONE, f"moved from {OLD}"),
        (forgotten, Status.DONE, "forgotten; it stays in the account"),
    ]
    assert result.resources == {NEW: adopted}
    assert not (tmp_path / "secrets").exists()
