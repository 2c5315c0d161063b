"""Changes asked for at the same moment share one sandbox transaction, and still succeed or fail
one by one: `SandboxStore.batch()` and the embedded provider that uses it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ctconfig.domain import AccountTarget
from ctconfig.errors import ConflictError, NotFoundError
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.sandbox import SandboxStore

ACCOUNT = "W9R-486-4W5Z"
TARGET = AccountTarget("prod", ACCOUNT, "eu1", users=("alice@example.com",))


def names_seen_by_another_connection(db: Path) -> set[str]:
    with sqlite3.connect(db) as other:
        return {row[0] for row in other.execute("SELECT name FROM passcodes")}


def test_a_batch_commits_once_and_a_failing_call_undoes_only_itself(tmp_path: Path) -> None:
    store = SandboxStore(tmp_path / "sandbox.db")
    store.ensure_account(ACCOUNT, ["alice@example.com"])
    with store.batch():
        store.create_passcode(ACCOUNT, "first", 30)
        with pytest.raises(ConflictError):
            store.create_passcode(ACCOUNT, "first", 30)  # a duplicate name: refused, nothing kept of it
        store.grant_user_passcode(ACCOUNT, "alice@example.com", 90)
        assert {p.name for p in store.read(ACCOUNT).passcodes} == {"first"}  # later calls see earlier ones
        assert names_seen_by_another_connection(store.path) == set()  # nothing committed yet
    assert names_seen_by_another_connection(store.path) == {"first"}
    assert store.mutation_count(ACCOUNT) == 2  # the refused create is not counted
    user = store.read(ACCOUNT).users[0]
    assert user.grant is not None and user.grant.validity_days == 90
    store.close()


def test_an_error_escaping_the_batch_rolls_all_of_it_back(tmp_path: Path) -> None:
    store = SandboxStore(tmp_path / "sandbox.db")
    store.ensure_account(ACCOUNT)
    with pytest.raises(RuntimeError, match="stop"), store.batch():
        store.create_passcode(ACCOUNT, "first", 30)
        raise RuntimeError("stop")
    assert store.read(ACCOUNT).passcodes == ()
    store.create_passcode(ACCOUNT, "after", 30)  # the store works on as before
    assert [p.name for p in store.read(ACCOUNT).passcodes] == ["after"]
    store.close()


class CountingStore(SandboxStore):
    """The real store, counting its batches and the calls each one held."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[int] = []

    @contextmanager
    def batch(self) -> Iterator[None]:
        before = self.mutation_count(ACCOUNT)
        with super().batch():
            yield
            self.batches.append(self.mutation_count(ACCOUNT) - before)


def test_the_provider_commits_concurrent_changes_together_and_answers_each(tmp_path: Path) -> None:
    provider = SandboxProvider(tmp_path / "sandbox.db")
    provider.store = CountingStore(tmp_path / "sandbox.db")
    provider._batches._store = provider.store

    async def main() -> list[object]:
        await provider.read_account(TARGET)
        first = await provider.create_passcode(TARGET, "taken", 30)
        names = ["a", "b", "taken", "c"]
        answers = await asyncio.gather(
            *(provider.create_passcode(TARGET, n, 30, idempotency_key=f"key-{n}-0001") for n in names),
            provider.grant_user_passcode(TARGET, "alice@example.com", 30),
            provider.delete_passcode(TARGET, "no-such-id"),
            return_exceptions=True,
        )
        # A replay with the same key, asked in a later batch, gets the same secret back.
        again = await provider.create_passcode(TARGET, "a", 30, idempotency_key="key-a-0001")
        assert again.secret.reveal() == answers[0].secret.reveal()  # type: ignore[union-attr]
        assert first.passcode.name == "taken"
        return answers

    answers = asyncio.run(main())
    asyncio.run(provider.aclose())
    a, b, taken, c, grant, missing = answers
    assert isinstance(taken, ConflictError) and isinstance(missing, NotFoundError)
    assert not isinstance(grant, BaseException)
    assert [x.passcode.name for x in (a, b, c)] == ["a", "b", "c"]  # type: ignore[union-attr]
    # One transaction for the six changes asked at once (four made, two refused), one for each alone.
    assert provider.store.batches == [1, 4, 0]
    with SandboxStore(tmp_path / "sandbox.db") as store:
        assert {p.name for p in store.read(ACCOUNT).passcodes} == {"taken", "a", "b", "c"}
