"""The applier hands a sink that has `store_many` its secrets a batch at a time, and one refused
secret of a batch taints only its own passcode (the rest of its batch is stored)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from ctconfig.actions import ActionKind, PasscodeAction, PasscodeSettings
from ctconfig.applier import Applier, Status
from ctconfig.domain import AccountTarget, Address
from ctconfig.plan import Plan
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SinkError
from ctconfig.sinks.base import StoreOutcome
from ctconfig.sinks.file import FileSink
from ctconfig.state.document import AccountPasscodeRecord, State
from ctconfig.state.journal import Journal
from ctconfig.state.journal_store import FileJournalStore

ACCOUNT_ID = "TEST-R78-ZZK-955Z"


class BatchSink(FileSink):
    """Real secret files, written by `store_many`; refuses one name, and fails if `store` is used."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.batches: list[int] = []

    def store(self, ref: SecretRef, secret: Secret) -> str:
        raise AssertionError("the applier should hand this sink whole batches")

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        self.batches.append(len(items))
        written = iter(super().store_many([(r, s) for r, s in items if r.name != "refused"]))
        return [
            StoreOutcome(ref, error=SinkError(f"{ref.address}: no room for it"))
            if ref.name == "refused"
            else next(written)
            for ref, _ in items
        ]


def test_secrets_go_to_store_many_in_batches_and_a_refusal_taints_only_its_passcode(tmp_path: Path) -> None:
    names = ["a", "b", "c", "d", "e", "refused"]  # last: a refusal stops creates not yet started
    actions = tuple(
        PasscodeAction(
            Address.account_passcode("demo", n), ActionKind.CREATE, None, PasscodeSettings(n, 30), "declared"
        )
        for n in names
    )
    sink = BatchSink(tmp_path / "secrets")
    provider = SandboxProvider(tmp_path / "sandbox.db")
    provider.store.ensure_account(ACCOUNT_ID)
    journal = Journal(FileJournalStore(tmp_path / "journal"))
    state = State.new()
    journal.begin(state.lineage, 0)
    applier = Applier(provider, sink, {"demo": AccountTarget("demo", ACCOUNT_ID, "eu1")}, journal=journal)
    result = asyncio.run(applier.apply(Plan(actions=actions), state))
    asyncio.run(provider.aclose())

    assert sum(sink.batches) == len(names) and max(sink.batches) > 1
    refused = Address.account_passcode("demo", "refused")
    assert result.tainted == [refused]
    record = result.resources[refused]
    assert isinstance(record, AccountPasscodeRecord) and record.tainted is not None
    assert "no room for it" in record.tainted
    for outcome in result.outcomes:
        if outcome.address != refused:
            assert outcome.status is Status.DONE
            assert (
                outcome.message
                == f"created; secret sent to file {tmp_path / 'secrets' / 'demo' / outcome.address.name}"
            )
            assert (tmp_path / "secrets" / "demo" / outcome.address.name).exists()
    journalled = {r.address: r.record for r in journal.read().records}
    assert journalled == result.resources  # every record, the taint included, is durable
