"""The sandbox clock drives status and authentication; the store is safe across threads."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from ctconfig.domain import (
    INFINITE_VALIDITY_DAYS,
    PasscodeStatus,
    expiry_status,
    passcode_shape_problem,
)
from ctconfig.errors import LimitError
from ctconfig.sandbox import SandboxStore
from tests.sandbox.conftest import shows_a_secret

ACCOUNT = "W9R-486-4W5Z"
ALICE = "alice@example.com"
DAY = 86400


def test_status_moves_from_active_to_expiring_soon_to_expired(store: SandboxStore) -> None:
    store.create_passcode(ACCOUNT, "ninety", 90)
    store.create_passcode(ACCOUNT, "forever", None)
    store.grant_user_passcode(ACCOUNT, ALICE, 30)

    def statuses() -> tuple[str, str, str]:
        snapshot = store.read(ACCOUNT)
        now = snapshot.observed_at
        ninety, forever = snapshot.passcode_named("ninety"), snapshot.passcode_named("forever")
        grant = snapshot.user(ALICE).grant  # type: ignore[union-attr]
        assert ninety is not None and forever is not None and grant is not None
        return ninety.status(now), forever.status(now), grant.status(now)

    assert statuses() == ("active", "active", "expiring soon")
    store.advance_clock(61 * DAY)
    assert statuses() == ("expiring soon", "active", "expired")
    store.advance_clock(29 * DAY)
    assert statuses() == ("expired", "active", "expired")


def test_expired_passcodes_stay_listed(store: SandboxStore) -> None:
    store.create_passcode(ACCOUNT, "short", 1)
    store.advance_clock(2 * DAY)
    snapshot = store.read(ACCOUNT)
    assert [p.status(snapshot.observed_at) for p in snapshot.passcodes] == [PasscodeStatus.EXPIRED]


def test_the_clock_is_shared_through_the_database_and_resets(db_path: Path) -> None:
    with SandboxStore(db_path) as first, SandboxStore(db_path) as second:
        before = second.now()
        first.advance_clock(40 * DAY)
        assert second.clock_offset() == timedelta(days=40)
        assert second.now() - before >= timedelta(days=40)
        second.reset_clock()
        assert first.clock_offset() == timedelta(0)
        assert first.now() - before < timedelta(days=1)


def test_the_clock_only_moves_forward(store: SandboxStore) -> None:
    with pytest.raises(LimitError, match="only moves forward"):
        store.advance_clock(-1)


def test_timestamps_are_utc_whole_seconds(store: SandboxStore) -> None:
    passcode, _ = store.create_passcode(ACCOUNT, "p", 1)
    assert passcode.created_at.utcoffset() == timedelta(0)
    assert passcode.created_at.microsecond == 0
    assert store.read(ACCOUNT).observed_at.utcoffset() == timedelta(0)


# -- authentication ---------------------------------------------------------------------------


def test_account_passcodes_authenticate_api_calls_in_account_mode(store: SandboxStore) -> None:
    _, secret = store.create_passcode(ACCOUNT, "api", 10)
    credential = store.authenticate(ACCOUNT, secret)
    assert credential is not None
    assert (credential.kind, credential.name, credential.role) == ("account", "api", None)
    assert credential.may_call_api() and not credential.may_manage()
    store.set_passcode_mode(ACCOUNT, "user")
    user_mode = store.authenticate(ACCOUNT, secret)
    assert user_mode is not None and not user_mode.may_call_api()
    store.advance_clock(10 * DAY)
    expired = store.authenticate(ACCOUNT, secret)
    assert expired is not None and expired.status == "expired"


def test_an_admin_user_passcode_manages_the_account(store: SandboxStore) -> None:
    secret = store.issue_admin_passcode(ACCOUNT)
    assert passcode_shape_problem(secret) is None
    credential = store.authenticate(ACCOUNT, secret)
    assert credential is not None
    assert (credential.kind, credential.name, credential.role) == (
        "user",
        "admin@sandbox.local",
        "admin",
    )
    assert credential.may_manage() and not credential.may_call_api()
    store.set_passcode_mode(ACCOUNT, "user")
    assert store.authenticate(ACCOUNT, secret).may_call_api()  # type: ignore[union-attr]
    grant = store.read(ACCOUNT).user("admin@sandbox.local").grant  # type: ignore[union-attr]
    assert grant is not None and grant.validity_days is None
    store.advance_clock(INFINITE_VALIDITY_DAYS * DAY)
    expired = store.authenticate(ACCOUNT, secret)
    assert expired is not None and expired.status == "expired" and not expired.may_manage()


def test_a_member_user_passcode_does_not_manage(store: SandboxStore) -> None:
    secret = store.issue_user_passcode(ACCOUNT, ALICE, "member")
    credential = store.authenticate(ACCOUNT, secret)
    assert credential is not None and credential.role == "member"
    assert not credential.may_manage()


def test_issuing_again_replaces_the_secret_and_promotes_the_user(store: SandboxStore) -> None:
    member_secret = store.issue_user_passcode(ACCOUNT, ALICE, "member")
    admin_secret = store.issue_admin_passcode(ACCOUNT, ALICE)
    assert store.authenticate(ACCOUNT, member_secret) is None
    assert store.authenticate(ACCOUNT, admin_secret).may_manage()  # type: ignore[union-attr]


def test_issuing_an_admin_passcode_creates_a_missing_account(store: SandboxStore) -> None:
    secret = store.issue_admin_passcode("TEST-R78-ZZK-955Z")
    assert "TEST-R78-ZZK-955Z" in store.list_accounts()
    assert store.authenticate("TEST-R78-ZZK-955Z", secret) is not None
    assert store.authenticate(ACCOUNT, secret) is None


def test_unknown_secrets_and_accounts_do_not_authenticate(store: SandboxStore) -> None:
    _, secret = store.create_passcode(ACCOUNT, "api", None)
    assert store.authenticate(ACCOUNT, "AAA-BBB-CCCC") is None
    assert store.authenticate("GHOST-1", secret) is None


def test_removing_a_user_invalidates_their_passcode(store: SandboxStore) -> None:
    secret = store.issue_user_passcode(ACCOUNT, ALICE, "member")
    store.remove_user(ACCOUNT, ALICE)
    assert store.authenticate(ACCOUNT, secret) is None


def test_errors_never_carry_a_secret(store: SandboxStore) -> None:
    _, secret = store.create_passcode(ACCOUNT, "dup", None)
    with pytest.raises(Exception) as caught:
        store.create_passcode(ACCOUNT, "DUP", None)
    assert secret not in str(caught.value) and not shows_a_secret(str(caught.value))


# -- threads and processes --------------------------------------------------------------------


def test_threads_share_one_store_safely(store: SandboxStore) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(10):
                store.create_passcode(ACCOUNT, f"w{worker}-{i}", 30)
                store.read(ACCOUNT)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.read(ACCOUNT).passcodes) == 80
    assert store.mutation_count(ACCOUNT) == 80


def test_the_limit_holds_when_two_connections_race(db_path: Path, store: SandboxStore) -> None:
    other = SandboxStore(db_path)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(sandbox: SandboxStore, worker: int) -> None:
        for i in range(30):
            try:
                sandbox.create_passcode(ACCOUNT, f"r{worker}-{i}", None)
                result = "created"
            except LimitError:
                result = "refused"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=work, args=((store, other)[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()
    assert outcomes.count("created") == 100 and outcomes.count("refused") == 20
    assert len(store.read(ACCOUNT).passcodes) == 100


def test_expiry_status_judged_against_the_snapshot_time(store: SandboxStore) -> None:
    passcode, _ = store.create_passcode(ACCOUNT, "thirty-one", 31)
    snapshot = store.read(ACCOUNT)
    assert expiry_status(passcode.expires_at, snapshot.observed_at) is PasscodeStatus.ACTIVE
    store.advance_clock(DAY + 1)
    later = store.read(ACCOUNT)
    assert expiry_status(passcode.expires_at, later.observed_at) is PasscodeStatus.EXPIRING_SOON
