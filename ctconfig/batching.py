"""Group commit: many tasks hand in items, one writer makes them durable a batch at a time.

An apply runs hundreds of operations at once and each wants its journal entry
(and its secret) on disk before it goes on. Writing them one by one would wait
on the disk per operation; instead, every item submitted while a write is in
progress joins the next batch, so the cost is one durable write per batch,
however many operations are in flight. The write runs in a worker thread and
the event loop keeps going.

A failed write fails every item of its batch and every later submission, at
once: after a durability failure nothing new may depend on the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Batches items for `flush(items) -> results` (one result per item, in order)."""

    def __init__(self, flush: Callable[[Sequence[T]], Sequence[R]], *, in_thread: bool = True) -> None:
        self._flush = flush
        self._in_thread = in_thread
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._runner: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None
        """The first error a flush raised; once set, every submission fails with it."""

    def submit_nowait(self, item: T) -> asyncio.Future[R]:
        """Queue `item` for the next batch; the future resolves when it is durable."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        if self.failure is not None:
            future.set_exception(self.failure)
            future.exception()  # retrieved: a caller that does not await it is not warned about
            return future
        if self._closing:
            raise RuntimeError("submit after close")
        self._pending.append((item, future))
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run())
        self._wakeup.set()
        return future

    async def submit(self, item: T) -> R:
        """Queue `item` and wait until its batch is durable; raises the batch's write error."""
        return await self.submit_nowait(item)

    async def close(self) -> None:
        """Flush what is queued, then stop (errors are kept in `failure`, not raised)."""
        self._closing = True
        self._wakeup.set()
        if self._runner is not None:
            await self._runner

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._write(batch)
            elif self._closing:
                return

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        items = [item for item, _ in batch]
        try:
            if self.failure is not None:
                raise self.failure
            if self._in_thread:
                results = await asyncio.to_thread(self._flush, items)
            else:
                results = self._flush(items)
        except BaseException as exc:  # a failed write fails its batch and everything after it
            self.failure = self.failure or exc
            for _, future in batch:
                if not future.done():
                    future.set_exception(self.failure)
                    future.exception()
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
        self._wakeup.set()  # items that arrived during the write form the next batch
