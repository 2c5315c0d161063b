"""A secret sink that refuses or fails stops creates, and a tainted passcode never holds a slot of
the account's 100 for longer than it must.

The real applier, planner, sandbox provider, journal files and file sink; the only stand-in is a
file sink that starts refusing after N secrets (a quota), below the layer under test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ctconfig.actions import ActionKind, GrantAction, GrantSettings, PasscodeAction, PasscodeSettings
from ctconfig.applier import Applier, ApplyResult, Status
from ctconfig.config.spec import Config
from ctconfig.domain import AccountTarget, Address
from ctconfig.plan import Plan
from ctconfig.planner import PlanOptions, make_plan
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SinkError, StoreOutcome
from ctconfig.sinks.file import FileSink
from ctconfig.state.document import AccountPasscodeRecord, Origin, State
from ctconfig.state.journal import Journal
from ctconfig.state.journal_store import FileJournalStore
from tests.applier.test_reliability import SpaceRunsOut

PROD, STAGE, OPS = "PRD-AAA-BBBB", "STG-CCC-DDDD", "OPS-EEE-FFFF"
ALICE = "alice@example.com"
REFUSAL = "cannot write secret files in /srv/secrets: /srv is not a directory"


class QuotaSink(FileSink):
    """Real secret files until `room` secrets are stored; every later one is refused."""

    def __init__(self, directory: Path, room: int) -> None:
        super().__init__(directory)
        self.room = room

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        fits, self.room = list(items[: self.room]), max(0, self.room - len(items))
        stored = super().store_many(fits)
        refused = [StoreOutcome(r, error=SinkError("the secret store is over its quota")) for r, _ in items]
        return stored + refused[len(fits) :]


def target(alias: str, account_id: str) -> AccountTarget:
    return AccountTarget(alias, account_id, "eu1", users=(ALICE,))


TARGETS = {"prod": target("prod", PROD), "stage": target("stage", STAGE), "ops": target("ops", OPS)}


def create(alias: str, name: str) -> PasscodeAction:
    return PasscodeAction(
        Address.account_passcode(alias, name), ActionKind.CREATE, None, PasscodeSettings(name, 30), "declared"
    )


def grant(alias: str) -> GrantAction:
    return GrantAction(
        Address.user_passcode(alias, ALICE), ActionKind.GRANT, None, GrantSettings(ALICE, 30), "declared"
    )


@pytest.fixture
def provider(tmp_path: Path) -> SandboxProvider:
    sandbox = SandboxProvider(tmp_path / "sandbox.db")
    for account_id in (PROD, STAGE, OPS):
        sandbox.store.ensure_account(account_id, [ALICE])
    return sandbox


def record_of(provider: SandboxProvider, account_id: str, name: str, **changes: Any) -> AccountPasscodeRecord:
    """A passcode made in the sandbox, as ctconfig's state would record it."""
    passcode, _ = provider.store.create_passcode(account_id, name, 30)
    record = AccountPasscodeRecord.observed(account_id, passcode, origin=Origin.CREATED)
    return replace(record, **changes)


def names(provider: SandboxProvider, account_id: str) -> list[str]:
    return sorted(p.name for p in provider.store.read(account_id).passcodes)


def run(
    provider: SandboxProvider,
    sink: FileSink,
    actions: Sequence[Any],
    state: State | None = None,
    *,
    journal: Journal | None = None,
    refusal: str | None = None,
    targets: Mapping[str, AccountTarget] = TARGETS,
) -> ApplyResult:
    state = state or State.new()
    if journal is not None:
        journal.begin(state.lineage, state.serial)
    applier = Applier(provider, sink, targets, journal=journal, parallelism=3)
    if refusal is not None:
        applier.hold_creates(refusal)
    return asyncio.run(applier.apply(Plan(actions=tuple(actions)), state))


def outcomes(result: ApplyResult) -> dict[str, tuple[Status, str]]:
    return {f"{o.address}": (o.status, o.message) for o in result.outcomes}


def test_a_sink_that_refuses_before_the_apply_starts_no_create_and_the_rest_goes_on(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    old = record_of(provider, PROD, "old-name")
    legacy = record_of(provider, OPS, "legacy")
    state = State.new().with_resources(
        {Address.account_passcode("prod", "old-name"): old, Address.account_passcode("ops", "legacy"): legacy}
    )
    rename = PasscodeAction(
        Address.account_passcode("prod", "new-name"),
        ActionKind.UPDATE,
        PasscodeSettings("old-name", 30),
        PasscodeSettings("new-name", 30),
        "renamed (previously)",
        remote_id=old.id,
        moved_from=Address.account_passcode("prod", "old-name"),
    )
    delete = PasscodeAction(
        Address.account_passcode("ops", "legacy"),
        ActionKind.DELETE,
        PasscodeSettings("legacy", 30),
        None,
        "removed from config",
        remote_id=legacy.id,
    )
    actions = [rename, create("prod", "a"), create("prod", "b"), grant("prod"), create("stage", "c"), delete]
    result = run(provider, FileSink(tmp_path / "secrets"), actions, state, refusal=REFUSAL)

    held = f"the secret sink cannot take secrets: {REFUSAL}"
    assert outcomes(result) == {
        "prod/account_passcode/new-name": (Status.DONE, "renamed"),
        "prod/account_passcode/a": (Status.NOT_STARTED, held),
        "prod/account_passcode/b": (Status.NOT_STARTED, held),
        f"prod/user_passcode/{ALICE}": (Status.DONE, "granted"),
        "stage/account_passcode/c": (Status.NOT_STARTED, held),
        "ops/account_passcode/legacy": (Status.DONE, "deleted"),  # an account with no create waits for none
    }
    assert result.sink_failure is not None and result.sink_failure.before_start
    assert [str(o.address) for o in result.held_back] == [
        "prod/account_passcode/a",
        "prod/account_passcode/b",
        "stage/account_passcode/c",
    ]
    assert [names(provider, i) for i in (PROD, STAGE, OPS)] == [["new-name"], [], []]
    assert not result.tainted and not (tmp_path / "secrets").exists()


def test_after_a_sink_failure_no_further_create_starts_in_any_account(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    actions = [create(alias, f"p{i:02d}") for alias in ("prod", "stage") for i in range(15)]
    actions += [grant("prod"), grant("stage")]
    journal = Journal(FileJournalStore(tmp_path / "journal"))
    result = run(provider, QuotaSink(tmp_path / "secrets", room=4), actions, journal=journal)

    failure = result.sink_failure
    assert failure is not None and not failure.before_start
    assert failure.reason == "the secret store is over its quota"
    made = {a: names(provider, i) for a, i in (("prod", PROD), ("stage", STAGE))}
    done = [o for o in result.done if o.action is ActionKind.CREATE]
    assert len(done) == 4  # exactly what the sink took
    # What was in flight when the sink failed is tainted; nothing after it started. Per account that
    # is 3 sending and 3 whose answer was in and whose secret was on its way (off the request slot).
    assert 1 <= len(result.tainted) <= (3 + 3) * 2
    assert sum(len(n) for n in made.values()) == len(done) + len(result.tainted)
    held = result.held_back
    assert len(held) == 30 - len(done) - len(result.tainted) and len(held) == len(result.not_started)
    assert {o.address.account for o in held} == {"prod", "stage"}
    assert all(o.message == f"the secret sink failed earlier in this apply: {failure.reason}" for o in held)
    # Grants need no sink: they went on.
    assert outcomes(result)[f"prod/user_passcode/{ALICE}"][0] is Status.DONE
    assert outcomes(result)[f"stage/user_passcode/{ALICE}"][0] is Status.DONE
    # Every taint is durable.
    journalled = {r.address: r.record for r in journal.read().records}
    for address in result.tainted:
        record = journalled[address]
        assert isinstance(record, AccountPasscodeRecord) and record.tainted


def full_account_with_a_tainted_passcode(provider: SandboxProvider) -> tuple[Config, State]:
    """An account at CleverTap's limit of 100, one of whose passcodes (`api`) is tainted."""
    declared = [f"filler-{i:02d}" for i in range(99)] + ["api"]
    resources = {}
    for name in declared:
        tainted = "secret sink failed: the secret store is over its quota" if name == "api" else None
        resources[Address.account_passcode("prod", name)] = record_of(provider, PROD, name, tainted=tainted)
    config = Config.model_validate(
        {
            "version": 1,
            "accounts": {
                "prod": {"id": PROD, "account_passcodes": {n: {"expires_in": "30d"} for n in declared}}
            },
        }
    )
    return config, State.new().with_resources(resources)


def plan_for(config: Config, state: State, provider: SandboxProvider) -> Plan:
    observed = {"prod": provider.store.read(PROD)}
    return make_plan(config, state, observed, PlanOptions(datetime.now(UTC))).plan


def test_a_tainted_passcode_is_replaced_delete_first_even_at_the_limit(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    config, state = full_account_with_a_tainted_passcode(provider)
    old_id = state.resources[Address.account_passcode("prod", "api")].id  # type: ignore[union-attr]
    [action] = plan_for(config, state, provider).actions
    assert isinstance(action, PasscodeAction) and action.kind is ActionKind.REPLACE
    assert action.rotation is None  # no `~retiring-` aside: there is no overlap to protect

    journal = Journal(FileJournalStore(tmp_path / "journal"))
    result = run(provider, FileSink(tmp_path / "secrets"), [action], state, journal=journal)

    api = Address.account_passcode("prod", "api")
    assert outcomes(result) == {
        str(api): (
            Status.DONE,
            f"replaced (the old one deleted first); secret sent to file {tmp_path / 'secrets/prod/api'}",
        )
    }
    snapshot = provider.store.read(PROD)
    assert len(snapshot.passcodes) == 100  # a create before the delete would have been the 101st
    new = snapshot.passcode_named("api")
    assert new is not None and new.id != old_id
    record = result.resources[api]
    assert isinstance(record, AccountPasscodeRecord) and record.id == new.id and not record.tainted
    # Journalled in order: the old one forgotten durably, then the ordinary intent-protected create.
    entries = [e for e in journal.store.entries() if e.get("address") == str(api)]
    assert [e["entry"] for e in entries] == ["record", "intent", "record"]
    assert entries[0]["record"] is None and entries[2]["closes"] == entries[1]["id"]


def test_stopped_between_the_delete_and_the_create_nothing_is_lost(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    config, state = full_account_with_a_tainted_passcode(provider)
    [action] = plan_for(config, state, provider).actions
    journal = Journal(SpaceRunsOut(tmp_path / "journal", allowed=2))  # its Begin, then the delete's record
    result = run(provider, FileSink(tmp_path / "secrets"), [action], state, journal=journal)

    assert result.durability_error is not None
    assert "api" not in names(provider, PROD)  # deleted; its create never asked for
    contents = journal.read()
    assert not contents.intents  # nothing to settle: no secret was made
    recovered, folded = contents.fold(state, "journal")
    assert folded == 1 and Address.account_passcode("prod", "api") not in recovered.resources
    # The next plan creates it like any declared passcode that is missing, and the apply converges.
    [again] = plan_for(config, recovered, provider).actions
    assert again.kind is ActionKind.CREATE and again.address == Address.account_passcode("prod", "api")
    result = run(provider, FileSink(tmp_path / "secrets"), [again], recovered)
    assert [o.status for o in result.outcomes] == [Status.DONE]
    assert len(names(provider, PROD)) == 100


def test_the_delete_of_a_tainted_passcode_never_waits_for_its_account(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    for i in range(98):
        provider.store.create_passcode(PROD, f"filler-{i:02d}", None)
    aside = record_of(
        provider, PROD, "api~retiring-20261101", tainted="secret lost", retire_after=datetime.now(UTC)
    )
    gone = record_of(provider, PROD, "gone")  # 100 now
    state = State.new().with_resources(
        {Address.account_passcode("prod", aside.name): aside, Address.account_passcode("prod", "gone"): gone}
    )
    deletes = [
        PasscodeAction(
            Address.account_passcode("prod", r.name),
            ActionKind.DELETE,
            PasscodeSettings(r.name, 30),
            None,
            "removed",
            remote_id=r.id,
        )
        for r in (aside, gone)
    ]
    result = run(provider, FileSink(tmp_path / "secrets"), [create("prod", "new"), *deletes], state)

    found = outcomes(result)
    assert found["prod/account_passcode/new"][0] is Status.FAILED  # the 101st passcode
    assert found[f"prod/account_passcode/{aside.name}"] == (Status.DONE, "deleted")
    assert found["prod/account_passcode/gone"] == (
        Status.NOT_STARTED,
        "skipped: an earlier change in this account failed",
    )
    assert aside.name not in names(provider, PROD) and "gone" in names(provider, PROD)
