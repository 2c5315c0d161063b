"""Exactly-once secrets (issue 10): a create's answer is kept by idempotency key in the store,
durable across processes, never replayed for a passcode that is gone, never for another request."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from ctconfig.domain import AccountTarget
from ctconfig.errors import ConflictError, LimitError
from ctconfig.providers.sandbox import SandboxProvider
from ctconfig.sandbox import SandboxStore
from ctconfig.sandbox import idempotency as kept_answers
from tests.sandbox.conftest import LoggedServer, LoggedServerFactory

ACCOUNT = "W9R-486-4W5Z"
TARGET = AccountTarget(alias="prod", account_id=ACCOUNT, region="eu1")
KEY = "intent-7f3a"


def test_a_crashed_caller_asking_again_from_a_new_process_gets_the_same_secret(db_path: Path) -> None:
    with SandboxStore(db_path) as first_run:
        first_run.ensure_account(ACCOUNT)
        lost = first_run.create_passcode_once(ACCOUNT, "seg", 30, KEY)  # the answer never reached us
    with SandboxStore(db_path) as next_run:
        again = next_run.create_passcode_once(ACCOUNT, "seg", 30, KEY)
        assert again.replayed and not lost.replayed
        assert (again.passcode, again.secret) == (lost.passcode, lost.secret)
        assert [p.name for p in next_run.read(ACCOUNT).passcodes] == ["seg"]
        assert next_run.mutation_count(ACCOUNT) == 1  # the replay changed nothing
        assert next_run.authenticate(ACCOUNT, again.secret) is not None


def test_the_answer_is_committed_with_the_passcode_or_not_at_all(db_path: Path) -> None:
    with SandboxStore(db_path) as store:
        store.ensure_account(ACCOUNT)
        for n in range(100):
            store.create_passcode(ACCOUNT, f"p{n}", 30)
        with pytest.raises(LimitError):
            store.create_passcode_once(ACCOUNT, "one-too-many", 30, KEY)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM kept_creates").fetchone() == (0,)


def test_the_same_key_with_another_request_is_a_conflict(store: SandboxStore) -> None:
    store.create_passcode_once(ACCOUNT, "seg", 30, KEY)
    for name, days in (("other", 30), ("seg", 60), ("SEG", 30)):
        with pytest.raises(ConflictError, match="used in account W9R-486-4W5Z for a different request"):
            store.create_passcode_once(ACCOUNT, name, days, KEY)
    assert len(store.read(ACCOUNT).passcodes) == 1


def test_no_replay_once_the_passcode_is_deleted_and_the_secret_is_erased(
    store: SandboxStore, db_path: Path
) -> None:
    created = store.create_passcode_once(ACCOUNT, "seg", 30, KEY)
    store.delete_passcode(ACCOUNT, created.passcode.id)
    with pytest.raises(ConflictError, match=r"no longer exists .* its answer is not replayed") as caught:
        store.create_passcode_once(ACCOUNT, "seg", 30, KEY)
    assert created.secret not in str(caught.value)
    assert store.read(ACCOUNT).passcodes == ()  # and no second passcode either
    store.close()
    stored = b"".join(p.read_bytes() for p in db_path.parent.iterdir())
    assert created.secret.encode() not in stored


def test_no_replay_of_a_secret_that_stopped_working(store: SandboxStore, db_path: Path) -> None:
    store.create_passcode_once(ACCOUNT, "short", 1, KEY)
    store.advance_clock(23 * 3600)
    assert store.create_passcode_once(ACCOUNT, "short", 1, KEY).replayed
    # Keys live a day and passcodes at least a day, so only an edited row expires first:
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE passcodes SET expires_at = '2000-01-01T00:00:00+00:00'")
    with pytest.raises(ConflictError, match="no longer exists"):
        store.create_passcode_once(ACCOUNT, "short", 1, KEY)


def test_keys_are_forgotten_after_a_day_of_the_store_clock(store: SandboxStore) -> None:
    first = store.create_passcode_once(ACCOUNT, "seg", 90, KEY)
    store.advance_clock(24 * 3600)
    with pytest.raises(ConflictError, match="a passcode named 'seg' already exists"):
        store.create_passcode_once(ACCOUNT, "seg", 90, KEY)  # a fresh create: never a duplicate
    store.delete_passcode(ACCOUNT, first.passcode.id)
    second = store.create_passcode_once(ACCOUNT, "seg", 90, KEY)
    assert not second.replayed and second.secret != first.secret


def test_kept_answers_are_bounded_per_account(store: SandboxStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kept_answers, "KEPT_PER_ACCOUNT", 5)
    for n in range(8):
        created = store.create_passcode_once(ACCOUNT, f"p{n}", 30, f"key-{n}")
        store.delete_passcode(ACCOUNT, created.passcode.id)
    with pytest.raises(ConflictError, match="no longer exists"):
        store.create_passcode_once(ACCOUNT, "p7", 30, "key-7")  # among the newest five
    fresh = store.create_passcode_once(ACCOUNT, "p0", 30, "key-0")  # dropped: a new create
    assert not fresh.replayed


@pytest.mark.parametrize("key", ["", "has space", "dot.key", "k" * 129, "ключ"])
def test_keys_outside_the_contracts_pattern_are_refused(store: SandboxStore, key: str) -> None:
    with pytest.raises(LimitError, match="an idempotency key is 1-128 letters, digits"):
        store.create_passcode_once(ACCOUNT, "seg", 30, key)
    assert store.read(ACCOUNT).passcodes == ()


def test_without_a_key_nothing_is_kept_and_nothing_replayed(store: SandboxStore, db_path: Path) -> None:
    store.create_passcode(ACCOUNT, "seg", 30)
    with pytest.raises(ConflictError, match="already exists"):
        store.create_passcode(ACCOUNT, "seg", 30)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM kept_creates").fetchone() == (0,)


def test_the_embedded_provider_passes_the_key_through(db_path: Path) -> None:
    async def create(provider: SandboxProvider, name: str = "seg", days: int = 30) -> tuple[str, str]:
        await provider.read_account(TARGET)
        issued = await provider.create_passcode(TARGET, name, days, idempotency_key=KEY)
        return issued.passcode.id, issued.secret.reveal()

    def in_a_new_process(name: str = "seg", days: int = 30) -> tuple[str, str]:
        provider = SandboxProvider(db_path)
        try:
            return asyncio.run(create(provider, name, days))
        finally:
            asyncio.run(provider.aclose())

    first = in_a_new_process()
    assert in_a_new_process() == first  # the crashed run's secret, delivered by the next run
    with pytest.raises(ConflictError, match="different request"):
        in_a_new_process(days=60)
    with SandboxStore(db_path) as store:
        store.delete_passcode(ACCOUNT, first[0], dashboard=True)
    with pytest.raises(ConflictError, match="no longer exists"):
        in_a_new_process()


# -- the same mechanism over HTTP: `ctconfig sandbox serve` answers from the store ---------------


def post_create(server: LoggedServer, admin: str, key: str, body: dict[str, object]) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers=server.headers(admin)) as client:
        return client.post("/1/passcodes.json", json=body, headers={"Idempotency-Key": key})


def test_a_restarted_server_replays_the_answer_its_predecessor_committed(
    serve: LoggedServerFactory,
) -> None:
    first = serve()
    admin = first.admin()
    created = post_create(first, admin, KEY, {"name": "seg", "expires_in_days": 30})
    assert created.status_code == 201 and "idempotent-replayed" not in created.headers
    first.stop()  # the client never heard the answer; the server went down too
    second = serve(db=first.db)
    again = post_create(second, admin, KEY, {"name": "seg", "expires_in_days": 30.0})  # 30.0 is 30
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == created.json()
    with second.store() as store:
        assert store.authenticate(ACCOUNT, again.json()["secret"]) is not None
    conflict = post_create(second, admin, KEY, {"name": "seg", "expires_in_days": 60})
    assert conflict.status_code == 409 and "different request" in conflict.json()["error"]
    assert created.json()["secret"] not in conflict.text


def test_a_server_told_to_forget_keys_keeps_no_answers(serve: LoggedServerFactory) -> None:
    server = serve("--forget-idempotency-keys")
    admin = server.admin()
    created = post_create(server, admin, KEY, {"name": "seg", "expires_in_days": 30})
    assert created.status_code == 201
    again = post_create(server, admin, KEY, {"name": "seg", "expires_in_days": 30})
    assert again.status_code == 409 and "already exists" in again.json()["error"]
    assert created.json()["secret"] not in again.text
    with sqlite3.connect(server.db) as raw:
        assert raw.execute("SELECT COUNT(*) FROM kept_creates").fetchone() == (0,)
