"""Group commit for sinks: one-at-a-time `store` calls from several threads share one batch.

The applier may call `store` from a pool of worker threads. Each call joins
the pending batch; whichever caller finds no batch being written writes all
that is pending with `store_many` (one fsync pass, one rewrite), while the
others wait for their own outcome. So a sink that is fast per batch is fast
however it is called, and threads do not queue on the disk one secret at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ctconfig.secrets import Secret
from ctconfig.sinks.base import SecretRef, StoreOutcome, as_sink_error

WriteBatch = Callable[[Sequence[tuple[SecretRef, Secret]]], list[StoreOutcome]]


@dataclass
class _Waiter:
    ref: SecretRef
    secret: Secret
    outcome: StoreOutcome | None = None


class GroupCommit:
    """Collects concurrent single stores into batches written by `write_batch`."""

    def __init__(self, write_batch: WriteBatch) -> None:
        self._write_batch = write_batch
        self._changed = threading.Condition()
        self._pending: list[_Waiter] = []
        self._writing = False

    def submit(self, ref: SecretRef, secret: Secret) -> StoreOutcome:
        """Store one secret, in whatever batch it joins; its own outcome."""
        waiter = _Waiter(ref, secret)
        with self._changed:
            self._pending.append(waiter)
            while waiter.outcome is None:
                if self._writing:
                    self._changed.wait()
                    continue
                batch, self._pending, self._writing = self._pending, [], True
                outcomes: list[StoreOutcome] | None = None
                self._changed.release()
                try:
                    outcomes = self._write(batch)
                finally:
                    self._changed.acquire()
                    self._writing = False
                    if outcomes is None:  # interrupted: another caller writes the rest
                        self._pending[:0] = [member for member in batch if member is not waiter]
                    self._changed.notify_all()
                for member, outcome in zip(batch, outcomes, strict=True):
                    member.outcome = outcome
        return waiter.outcome

    def _write(self, batch: list[_Waiter]) -> list[StoreOutcome]:
        try:
            return self._write_batch([(w.ref, w.secret) for w in batch])
        except Exception as exc:  # a sink's store_many does not raise; this keeps waiters from hanging
            return [
                StoreOutcome(w.ref, error=as_sink_error(exc, f"could not store {w.ref.address}"))
                for w in batch
            ]
