"""Group commit: concurrent `store` calls share batches, and each caller gets its own outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SinkError, StoreOutcome
from ctconfig.sinks.file import FileSink
from ctconfig.sinks.groupcommit import GroupCommit
from tests.sinks.conftest import ref, secret_for

WAIT = 10.0  # a bound for a hung test, never an expectation of speed


class Interrupt(BaseException):
    """Like KeyboardInterrupt, without stopping pytest."""


class Writer:
    """A batch writer that holds its first batch until released, so others pile up behind it."""

    def __init__(self, interrupt_batch: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.interrupt_batch = interrupt_batch

    def __call__(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        self.batches.append([r.name for r, _ in items])
        if len(self.batches) == 1:
            self.started.set()
            assert self.release.wait(WAIT)
        if len(self.batches) == self.interrupt_batch:
            raise Interrupt()
        return [
            StoreOutcome(r, error=SinkError(f"refused {r.name}"))
            if s.reveal() == "bad"
            else StoreOutcome(r, where=r.name)
            for r, s in items
        ]


def run_behind_a_held_batch(writer: Writer, names: list[str]) -> dict[str, object]:
    """Store `first` while the writer holds it, queue `names` behind it, then release; each result."""
    commit = GroupCommit(writer)
    results: dict[str, object] = {}

    def submit(name: str) -> None:
        try:
            results[name] = commit.submit(ref("p", name), Secret("bad" if name == "bad" else "ok")).result()
        except (SinkError, Interrupt) as exc:
            results[name] = exc

    threads = [threading.Thread(target=submit, args=("first",))]
    threads[0].start()
    assert writer.started.wait(WAIT)
    threads += [threading.Thread(target=submit, args=(name,)) for name in names]
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + WAIT
    while len(commit._pending) < len(names) and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.release.set()
    for thread in threads:
        thread.join(WAIT)
    return results


def test_callers_behind_a_batch_share_the_next_one_and_get_their_own_outcomes() -> None:
    writer = Writer()
    results = run_behind_a_held_batch(writer, ["a", "b", "bad", "c"])
    assert writer.batches[0] == ["first"]
    assert sorted(writer.batches[1]) == ["a", "b", "bad", "c"] and len(writer.batches) == 2
    assert {name: str(result) for name, result in results.items()} == {
        "first": "first",
        "a": "a",
        "b": "b",
        "c": "c",
        "bad": "refused bad",
    }


def test_an_interrupted_writer_leaves_the_rest_to_another_caller() -> None:
    writer = Writer(interrupt_batch=2)
    results = run_behind_a_held_batch(writer, ["a", "b", "c"])
    interrupted = [name for name, result in results.items() if isinstance(result, Interrupt)]
    assert len(interrupted) == 1
    assert {name: result for name, result in results.items() if name not in interrupted} == {
        name: name for name in ["first", "a", "b", "c"] if name not in interrupted
    }


def test_a_writer_that_raises_gives_every_caller_a_sink_error() -> None:
    def broken(items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        raise RuntimeError("bug")

    with pytest.raises(SinkError, match="could not store p/account_passcode/x: RuntimeError"):
        GroupCommit(broken).submit(ref("p", "x"), secret_for("x")).result()


def test_threads_storing_one_at_a_time_into_the_file_sink_all_land_in_batches(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "secrets")
    batches: list[int] = []
    real = sink.store_many

    def counting(items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        batches.append(len(items))
        return real(items)

    sink._commits = GroupCommit(counting)
    refs = [ref(f"a{i % 3}", f"p{i}") for i in range(60)]
    threads = [threading.Thread(target=sink.store, args=(r, secret_for(r.name))) for r in refs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sum(batches) == 60
    assert all(sink.read(r) == secret_for(r.name) for r in refs)
