"""The applier keeps going like Terraform, turns every failure after a secret exists into a taint,
and stops starting things the moment its journal cannot be written.

These run the real applier against the embedded sandbox provider and real sinks and journal
files; only the failures are provoked (a full account, a sink whose file is not text, a journal
store that runs out of space after N writes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ctconfig.actions import ActionKind, GrantAction, GrantSettings, PasscodeAction, PasscodeSettings
from ctconfig.applier import Applier, ApplyResult, Status
from ctconfig.domain import AccountTarget, Address
from ctconfig.plan import Plan
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.sinks import SecretRef
from ctconfig.sinks.env_file import EnvFileSink
from ctconfig.sinks.file import FileSink
from ctconfig.state.document import AccountPasscodeRecord, State
from ctconfig.state.journal import Journal, Recorded
from ctconfig.state.journal_store import FileJournalStore, JournalWriteError

FULL, OTHER = "FULL-AAA-BBBB", "OTHER-CCC-DDDD"


def target(alias: str, account_id: str, users: tuple[str, ...] = ()) -> AccountTarget:
    return AccountTarget(alias, account_id, "eu1", users=users)


def create(alias: str, name: str) -> PasscodeAction:
    address = Address.account_passcode(alias, name)
    return PasscodeAction(address, ActionKind.CREATE, None, PasscodeSettings(name, 30), "declared")


def run(
    provider: SandboxProvider,
    sink: Any,
    targets: Mapping[str, AccountTarget],
    actions: Sequence[Any],
    journal: Journal | None = None,
    parallelism: int = 3,
) -> ApplyResult:
    state = State.new()
    if journal is not None:
        journal.begin(state.lineage, 0)
    applier = Applier(provider, sink, targets, journal=journal, parallelism=parallelism)
    return asyncio.run(applier.apply(Plan(actions=tuple(actions)), state))


@pytest.fixture
def provider(tmp_path: Path) -> SandboxProvider:
    sandbox = SandboxProvider(tmp_path / "sandbox.db")
    sandbox.store.ensure_account(FULL, [])
    sandbox.store.ensure_account(OTHER, ["eve@example.com"])
    for i in range(99):  # one slot left in FULL
        sandbox.store.create_passcode(FULL, f"filler-{i:02d}", None)
    return sandbox


def outcome(result: ApplyResult, address: Address) -> tuple[Status, str]:
    [found] = [(o.status, o.message) for o in result.outcomes if o.address == address]
    return found


def test_a_failure_stops_only_what_depends_on_it(provider: SandboxProvider, tmp_path: Path) -> None:
    full_delete = PasscodeAction(
        Address.account_passcode("full", "filler-00"),
        ActionKind.DELETE,
        PasscodeSettings("filler-00", None),
        None,
        "removed from config",
        remote_id=provider.store.read(FULL).passcodes[0].id,
    )
    grant = GrantAction(
        Address.user_passcode("other", "eve@example.com"),
        ActionKind.GRANT,
        None,
        GrantSettings("eve@example.com", 30),
        "declared",
    )
    actions = [create("full", "a"), create("full", "b"), full_delete, create("other", "c"), grant]
    targets = {"full": target("full", FULL), "other": target("other", OTHER, ("eve@example.com",))}
    result = run(provider, FileSink(tmp_path / "secrets"), targets, actions, parallelism=1)

    statuses = {str(o.address): o.status for o in result.outcomes}
    assert statuses["full/account_passcode/a"] is Status.DONE  # the last free slot
    assert statuses["full/account_passcode/b"] is Status.FAILED  # the 101st passcode
    assert "100" in outcome(result, Address.account_passcode("full", "b"))[1]
    # The delete waits for nothing it needs, but nothing is deleted while a change in its account failed.
    assert outcome(result, full_delete.address) == (
        Status.NOT_STARTED,
        "skipped: an earlier change in this account failed",
    )
    # The other account is untouched by the failure.
    assert statuses["other/account_passcode/c"] is Status.DONE
    assert statuses["other/user_passcode/eve@example.com"] is Status.DONE
    assert not result.interrupted and not result.tainted
    assert Address.account_passcode("other", "c") in result.resources


def test_any_sink_failure_after_the_secret_exists_is_a_taint_never_an_escape(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    env_file = tmp_path / "secrets.env"
    env_file.write_bytes(b"CT_OTHER_OLD=\xff\xfe not text\n")  # the env-file sink cannot read it
    targets = {"other": target("other", OTHER)}
    journal = Journal(FileJournalStore(tmp_path / "journal"))
    result = run(
        provider, EnvFileSink(env_file), targets, [create("other", "a"), create("other", "b")], journal
    )

    assert sorted(str(a) for a in result.tainted) == ["other/account_passcode/a", "other/account_passcode/b"]
    for name in ("a", "b"):
        address = Address.account_passcode("other", name)
        record = result.resources[address]
        assert isinstance(record, AccountPasscodeRecord) and record.tainted
        assert record.tainted.startswith("secret sink failed")
        status, message = outcome(result, address)
        assert status is Status.FAILED and "tainted" in message and "next plan replaces it" in message
    # The taint is durable: a run killed right now would still know.
    journalled = {r.address: r.record for r in journal.read().records}
    assert all(isinstance(r, AccountPasscodeRecord) and r.tainted for r in journalled.values())
    assert len(journalled) == 2
    assert {p.name for p in provider.store.read(OTHER).passcodes} == {"a", "b"}


class SpaceRunsOut(FileJournalStore):
    """A real journal file that fails like a full disk after `allowed` appends."""

    def __init__(self, path: Path, allowed: int) -> None:
        super().__init__(path)
        self.allowed = allowed

    def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        if self.allowed <= 0:
            raise JournalWriteError(str(self.path), "No space left on device")
        self.allowed -= 1
        super().append(entries)


def test_a_journal_that_cannot_be_written_stops_everything_new(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    store = SpaceRunsOut(tmp_path / "journal", allowed=1)  # begin; the batch of intents fails
    journal = Journal(store)
    names = [f"p{i}" for i in range(12)]
    targets = {"other": target("other", OTHER)}
    result = run(
        provider, FileSink(tmp_path / "secrets"), targets, [create("other", n) for n in names], journal, 1
    )

    assert result.durability_error is not None
    assert "No space left on device" in result.durability_error and str(store.path) in result.durability_error
    failed, not_started = result.failed, result.not_started
    assert failed and not_started, "it failed at once and started nothing after that"
    assert len(result.done) + len(failed) + len(not_started) == len(names)
    made = {p.name for p in provider.store.read(OTHER).passcodes}
    # Nothing was made without a durable intent: every passcode in the account was begun before the failure.
    durable = {r.address.name for r in journal.read().records if isinstance(r, Recorded)} | {
        i.name for i in journal.read().intents.values()
    }
    assert made <= durable
    assert all(o.message == "the apply stopped before it started" for o in not_started)


def test_a_journal_that_fails_after_the_intents_starts_nothing_new_and_loses_nothing(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    """The intents of a phase are durable together before its creates; records that cannot be
    written later stop what has not started, and nothing was made without its intent."""
    store = SpaceRunsOut(tmp_path / "journal", allowed=2)  # begin, the intents; then records fail
    journal = Journal(store)
    names = [f"p{i}" for i in range(12)]
    targets = {"other": target("other", OTHER)}
    result = run(
        provider, FileSink(tmp_path / "secrets"), targets, [create("other", n) for n in names], journal, 1
    )

    assert result.durability_error is not None and "No space left on device" in result.durability_error
    assert len(result.done) + len(result.failed) + len(result.not_started) == len(names)
    intents = journal.read().intents.values()
    assert {i.name for i in intents} == set(names)  # all announced in one batch, before any request
    made = {p.name for p in provider.store.read(OTHER).passcodes}
    assert made == {o.address.name for o in result.done}
    assert all(o.message == "the apply stopped before it started" for o in result.not_started)
    # What was made is in the applier's records (state is written from them) and in the sink.
    sink = FileSink(tmp_path / "secrets")
    for name in made:
        address = Address.account_passcode("other", name)
        record = result.resources[address]
        secret = sink.read(SecretRef(address, OTHER))
        assert isinstance(record, AccountPasscodeRecord) and secret is not None
        assert record.secret_fingerprint == secret.fingerprint()
