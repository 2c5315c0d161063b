"""Where an apply's operations go: the provider, and the journal and sink behind group commit.

Both the applier and recovery (which settles an interrupted apply's intents)
open the same channels, so a secret takes the same road either way: to the
sink in a batch, then its record to the journal in a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ctconfig.batching import GroupCommit
from ctconfig.providers.base import Provider
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SecretSink, SinkError
from ctconfig.state.journal import Entry, Journal

SinkOutcome = str | SinkError
"""Where a secret went, in words; or why the sink refused it."""


@dataclass(frozen=True)
class Channels:
    """The provider, and the journal and the sink, each written a batch at a time."""

    provider: Provider
    journal: GroupCommit[Entry, None]
    sink: GroupCommit[tuple[SecretRef, Secret], SinkOutcome]

    async def close(self) -> None:
        """Flush the sink, then the journal (a record follows its secret)."""
        await self.sink.close()
        await self.journal.close()


def open_channels(provider: Provider, journal: Journal | None, sink: SecretSink) -> Channels:
    """Channels writing to `journal` (None: keep no journal, e.g. in tests of the planner's output)."""
    return Channels(provider, GroupCommit(journal_flush(journal)), GroupCommit(sink_flush(sink)))


def journal_flush(journal: Journal | None) -> Callable[[Sequence[Entry]], list[None]]:
    """Append a batch of entries durably."""

    def flush(entries: Sequence[Entry]) -> list[None]:
        if journal is not None:
            journal.append(entries)
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
