"""The apply pipeline: intents durable together ahead of their creates, sink writes off the request
slot, and the intents left open known without reading the journal back.

The provider is the embedded sandbox, wrapped to observe the order of events;
the journal is a real file.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ctconfig.applier import Applier
from ctconfig.errors import UnavailableError
from ctconfig.plan import Plan
from ctconfig.providers.base import IssuedPasscode
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef
from ctconfig.sinks.base import StoreOutcome
from ctconfig.sinks.file import FileSink
from ctconfig.state.document import State
from ctconfig.state.journal import Intent, Journal
from ctconfig.state.journal_store import FileJournalStore
from tests.applier.test_reliability import OTHER, create, provider, run, target

__all__ = ["provider"]  # the fixture, shared with the reliability tests


class Watching:
    """The sandbox provider, noting what the journal held when each create was sent."""

    def __init__(self, inner: SandboxProvider, journal: Journal) -> None:
        self.inner = inner
        self.journal = journal
        self.intents_when_sent: list[int] = []
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def create_passcode(self, target: Any, name: str, days: Any, **kw: Any) -> IssuedPasscode:
        self.intents_when_sent.append(len(self.journal.read().intents))
        self.sent.append(name)
        return await self.inner.create_passcode(target, name, days, **kw)


def test_the_intents_of_a_phase_are_durable_before_its_first_create_is_sent(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    journal = Journal(FileJournalStore(tmp_path / "journal"))
    watching = Watching(provider, journal)
    names = [f"p{i}" for i in range(8)]
    targets = {"other": target("other", OTHER)}
    result = run(
        watching, FileSink(tmp_path / "secrets"), targets, [create("other", n) for n in names], journal
    )  # type: ignore[arg-type]
    assert result.ok
    # One group commit held all eight intents before the first request went out.
    assert watching.intents_when_sent[0] == len(names)
    assert sorted(watching.sent) == names


class HeldSink(FileSink):
    """A file sink whose first batch waits until the account's next create has been sent."""

    def __init__(self, directory: Path, sent: list[str]) -> None:
        super().__init__(directory)
        self.sent = sent
        self.second_sent = threading.Event()
        self.waited: bool | None = None

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        if self.waited is None:
            self.waited = self.second_sent.wait(timeout=30)
        return super().store_many(items)


def test_a_create_leaves_its_request_slot_while_its_secret_goes_to_the_sink(
    provider: SandboxProvider, tmp_path: Path
) -> None:
    journal = Journal(FileJournalStore(tmp_path / "journal"))
    watching = Watching(provider, journal)
    sink = HeldSink(tmp_path / "secrets", watching.sent)
    original = watching.create_passcode

    async def create_and_tell(*args: Any, **kw: Any) -> IssuedPasscode:
        issued = await original(*args, **kw)
        if len(watching.sent) >= 2:
            sink.second_sent.set()
        return issued

    watching.create_passcode = create_and_tell  # type: ignore[method-assign]
    targets = {"other": target("other", OTHER)}
    result = run(watching, sink, targets, [create("other", n) for n in ("a", "b", "c")], journal, 1)  # type: ignore[arg-type]
    assert result.ok
    # With one request slot, the second create went out while the first secret was still held.
    assert sink.waited is True


class Unreachable(SandboxProvider):
    """Creates that may have reached the server, and an account that cannot be read to check."""

    async def create_passcode(self, *args: Any, **kw: Any) -> IssuedPasscode:
        raise UnavailableError("cannot reach the server (the answer was lost)")

    async def read_account(self, *args: Any, **kw: Any) -> Any:
        raise UnavailableError("cannot reach the server")


class Unreadable(FileJournalStore):
    """A journal that can be appended to but not read: the applier must never need to."""

    def entries(self) -> list[dict[str, Any]]:
        raise AssertionError("the applier read the journal back")


def test_the_intents_left_open_are_known_without_reading_the_journal(tmp_path: Path) -> None:
    provider = Unreachable(tmp_path / "sandbox.db")
    provider.store.ensure_account(OTHER, [])
    store = Unreadable(tmp_path / "journal")
    store.append([{"entry": "begin", "lineage": "x", "serial": 0, "format": 2}])
    sink = FileSink(tmp_path / "secrets")
    applier = Applier(provider, sink, {"other": target("other", OTHER)}, journal=Journal(store))
    plan = Plan(actions=(create("other", "a"), create("other", "b")))
    result = asyncio.run(applier.apply(plan, State.new()))
    assert sorted(i.name for i in result.open_intents) == ["a", "b"]
    assert all(isinstance(i, Intent) for i in result.open_intents)
    # What the journal holds on disk says the same.
    on_disk = Journal(FileJournalStore(tmp_path / "journal")).read()
    assert {i.id for i in on_disk.open_intents()} == {i.id for i in result.open_intents}
