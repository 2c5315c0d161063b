"""Where an apply's operations go: the provider, and the journal and sink behind group commit.

Both the applier and recovery (which settles an interrupted apply's intents)
open the same channels, so a secret takes the same road either way: to the
sink in a batch, then its record to the journal in a batch.

The channels also know which intents the journal holds open (`IntentLedger`,
kept from what was appended, so the end of an apply need not read the journal
back), and which of its account's slots the running action holds
(`request_slot`): a create leaves its request slot once its answer is in, so
the next create of the account is sent while this one's secret goes to the
sink; as many creates may be delivering as sending, so a slow sink holds
creates back instead of letting them run ahead without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ctconfig.batching import GroupCommit
from ctconfig.providers.base import Provider
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SecretSink, SinkError
from ctconfig.state.journal import Closed, Entry, Intent, Journal, Recorded

SinkOutcome = str | SinkError
"""Where a secret went, in words; or why the sink refused it."""


class IntentLedger:
    """The intents the journal holds that no durable entry closed yet, as appended."""

    def __init__(self) -> None:
        self._open: dict[str, Intent] = {}

    def note(self, entries: Sequence[Entry]) -> None:
        """Entries that were just made durable."""
        for entry in entries:
            if isinstance(entry, Intent):
                self._open[entry.id] = entry
            elif isinstance(entry, Recorded) and entry.closes:
                self._open.pop(entry.closes, None)
            elif isinstance(entry, Closed):
                self._open.pop(entry.intent, None)

    def still_open(self) -> list[Intent]:
        """What a read of the journal would call open: outcome unknown."""
        return list(self._open.values())


@dataclass
class AccountSlots:
    """An account's slots: actions sending requests, and actions past their last request whose
    secret is still on its way to the sink (as many: a slow sink holds creates back, not forever)."""

    requests: asyncio.Semaphore
    delivering: asyncio.Semaphore

    @classmethod
    def of(cls, parallelism: int) -> AccountSlots:
        """`parallelism` of each."""
        return cls(asyncio.Semaphore(parallelism), asyncio.Semaphore(parallelism))


_leave_slot: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("leave_slot", default=None)


@contextlib.asynccontextmanager
async def request_slot(slots: AccountSlots, *, early_release: bool = True) -> AsyncIterator[None]:
    """Hold one of an account's request slots for the running action, until it leaves it for a
    delivering slot (`leave_request_slot`) or ends. `early_release=False`: held to the end."""
    await slots.requests.acquire()
    held = {"requests": True, "delivering": False}

    async def leave() -> None:
        if held["requests"] and not slots.delivering.locked():
            await slots.delivering.acquire()  # free: no wait
            held["delivering"] = True
            held["requests"] = False
            slots.requests.release()

    token = _leave_slot.set(leave if early_release else None)
    try:
        yield
    finally:
        _leave_slot.reset(token)
        if held["requests"]:
            slots.requests.release()
        if held["delivering"]:
            slots.delivering.release()


async def leave_request_slot() -> None:
    """The running action has sent its last request: let the account's next action start, if a
    delivering slot is free (else it keeps its request slot until it ends)."""
    leave = _leave_slot.get()
    if leave is not None:
        await leave()


@dataclass(frozen=True)
class Channels:
    """The provider, and the journal and the sink, each written a batch at a time."""

    provider: Provider
    journal: GroupCommit[Entry, None]
    sink: GroupCommit[tuple[SecretRef, Secret], SinkOutcome]
    ledger: IntentLedger

    async def close(self) -> None:
        """Flush the sink, then the journal (a record follows its secret)."""
        await self.sink.close()
        await self.journal.close()


def open_channels(provider: Provider, journal: Journal | None, sink: SecretSink) -> Channels:
    """Channels writing to `journal` (None: keep no journal, e.g. in tests of the planner's output)."""
    ledger = IntentLedger()
    journal_writer = GroupCommit(journal_flush(journal, ledger))
    return Channels(provider, journal_writer, GroupCommit(sink_flush(sink)), ledger)


def journal_flush(
    journal: Journal | None, ledger: IntentLedger | None = None
) -> Callable[[Sequence[Entry]], list[None]]:
    """Append a batch of entries durably (and tell `ledger` which intents that opened or closed)."""

    def flush(entries: Sequence[Entry]) -> list[None]:
        if journal is not None:
            journal.append(entries)
        if ledger is not None:
            ledger.note(entries)
        return [None] * len(entries)

    return flush


def sink_flush(sink: SecretSink) -> Callable[[Sequence[tuple[SecretRef, Secret]]], list[SinkOutcome]]:
    """Store a batch of secrets; each item's outcome is where it went, or why it failed.

    A sink with `store_many` takes the whole batch at once (one fsync pass, one
    rewrite); one without it is called once per secret.
    """
    store_many = getattr(sink, "store_many", None)

    def flush(items: Sequence[tuple[SecretRef, Secret]]) -> list[SinkOutcome]:
        if store_many is not None:
            return _store_batch(store_many, items)
        outcomes: list[SinkOutcome] = []
        for ref, secret in items:
            try:
                outcomes.append(sink.store(ref, secret))
            except Exception as exc:  # a sink bug must not escape with the secret in flight
                outcomes.append(_sink_error(exc))
        return outcomes

    return flush


def _store_batch(
    store_many: Callable[[Sequence[tuple[SecretRef, Secret]]], Sequence[Any]],
    items: Sequence[tuple[SecretRef, Secret]],
) -> list[SinkOutcome]:
    """`store_many`'s outcomes (each with `where` or `error`) as where each secret went, or its error."""
    try:
        results = list(store_many(items))
    except Exception as exc:  # the contract says it does not raise; if it does, nothing is known stored
        return [_sink_error(exc)] * len(items)
    if len(results) != len(items):
        lost = SinkError(f"the secret sink answered {len(results)} outcome(s) for {len(items)} secret(s)")
        return [lost] * len(items)
    outcomes: list[SinkOutcome] = []
    for result in results:
        error = getattr(result, "error", None)
        where = getattr(result, "where", None)
        if error is not None or not isinstance(where, str):
            outcomes.append(_sink_error(error) if error is not None else SinkError("the secret sink failed"))
        else:
            outcomes.append(where)
    return outcomes


def _sink_error(exc: BaseException) -> SinkError:
    """`exc` as a `SinkError` with no secret in it (a sink's own `SinkError` passes through)."""
    if isinstance(exc, SinkError):
        return exc
    where = f" ({exc.strerror}: {exc.filename})" if isinstance(exc, OSError) else ""
    return SinkError(f"the secret sink failed: {type(exc).__name__}{where}")
