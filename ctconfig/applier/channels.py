"""Where an apply's operations go: the provider, and the journal and sink behind group commit.

Both the applier and recovery (which settles an interrupted apply's intents)
open the same channels, so a secret takes the same road either way: to the
sink in a batch, then its record to the journal in a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    """Store a batch of secrets; each item's outcome is where it went, or why it failed."""

    def flush(items: Sequence[tuple[SecretRef, Secret]]) -> list[SinkOutcome]:
        outcomes: list[SinkOutcome] = []
        for ref, secret in items:
            try:
                outcomes.append(sink.store(ref, secret))
            except SinkError as exc:
                outcomes.append(exc)
            except Exception as exc:  # a sink bug must not escape with the secret in flight
                where = f" ({exc.strerror}: {exc.filename})" if isinstance(exc, OSError) else ""
                outcomes.append(SinkError(f"the secret sink failed: {type(exc).__name__}{where}"))
        return outcomes

    return flush
