"""The sandbox store enforces each documented CleverTap passcode rule."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctconfig.domain import INFINITE_VALIDITY_DAYS
from ctconfig.errors import ConflictError, LimitError, NotFoundError
from ctconfig.sandbox import SandboxStore

ACCOUNT = "W9R-486-4W5Z"
ALICE = "alice@example.com"
BOB = "bob@example.com"
DAY = 86400


# -- accounts ---------------------------------------------------------------------------------


def test_first_use_creates_the_account_with_its_users_in_account_mode(db_path: Path) -> None:
    with SandboxStore(db_path) as store:
        assert store.ensure_account("TEST-R78-ZZK-955Z", ["Carol@Example.com", "dan@example.com"])
        snapshot = store.read("TEST-R78-ZZK-955Z")
    assert snapshot.passcode_mode == "account"
    assert [(u.email, u.role, u.grant) for u in snapshot.users] == [
        ("carol@example.com", "member", None),
        ("dan@example.com", "member", None),
    ]
    assert snapshot.passcodes == ()


def test_an_existing_account_is_not_reseeded(store: SandboxStore) -> None:
    store.remove_user(ACCOUNT, BOB)
    assert not store.ensure_account(ACCOUNT, [ALICE, BOB, "new@example.com"])
    assert [u.email for u in store.read(ACCOUNT).users] == [ALICE]


def test_the_database_is_wal_in_a_created_directory_and_survives_reopening(db_path: Path) -> None:
    with SandboxStore(db_path) as store:
        store.ensure_account(ACCOUNT, [ALICE])
        store.create_passcode(ACCOUNT, "kept", 30)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with SandboxStore(db_path) as reopened:
        assert [p.name for p in reopened.read(ACCOUNT).passcodes] == ["kept"]


def test_reading_an_unknown_account_names_it(store: SandboxStore) -> None:
    with pytest.raises(NotFoundError, match="account NOPE-000 does not exist"):
        store.read("NOPE-000")


def test_accounts_are_listed_sorted(store: SandboxStore) -> None:
    store.ensure_account("AAA-111")
    assert store.list_accounts() == ["AAA-111", ACCOUNT]


@pytest.mark.parametrize("bad", ["", "has space", "a/b", "-leading"])
def test_account_ids_must_look_like_account_ids(store: SandboxStore, bad: str) -> None:
    with pytest.raises(LimitError, match="not a valid account id"):
        store.ensure_account(bad)


# -- account passcodes ------------------------------------------------------------------------


def test_a_secret_is_returned_once_shaped_like_clevertaps_and_stored_only_as_a_hash(
    store: SandboxStore, db_path: Path
) -> None:
    passcode, secret = store.create_passcode(ACCOUNT, "segment-export", 90)
    store.close()
    assert re.fullmatch(r"[A-Z]{3}-[A-Z]{3}-[A-Z]{4}", secret), "shaped like AMA-AUE-YWUL"
    stored = b"".join(p.read_bytes() for p in db_path.parent.iterdir())
    assert secret.encode() not in stored
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in stored
    assert passcode.name == "segment-export"


def test_expiry_counts_days_from_creation_or_is_forever(store: SandboxStore) -> None:
    dated, _ = store.create_passcode(ACCOUNT, "dated", 90)
    forever, _ = store.create_passcode(ACCOUNT, "forever", None)
    assert dated.expires_at == dated.created_at + timedelta(days=90)
    assert dated.created_at <= store.now()
    assert forever.expires_in_days is None and forever.expires_at is None
    assert store.read(ACCOUNT).passcodes == (dated, forever)


def test_at_most_100_account_passcodes(store: SandboxStore) -> None:
    created = [store.create_passcode(ACCOUNT, f"p{i}", None)[0] for i in range(100)]
    with pytest.raises(LimitError, match=f"account {ACCOUNT} already has 100 .*'one-more'"):
        store.create_passcode(ACCOUNT, "one-more", None)
    store.delete_passcode(ACCOUNT, created[0].id)
    store.create_passcode(ACCOUNT, "one-more", None)
    assert len(store.read(ACCOUNT).passcodes) == 100


def test_names_are_unique_ignoring_case(store: SandboxStore) -> None:
    store.create_passcode(ACCOUNT, "Braze-Sync", None)
    with pytest.raises(ConflictError, match=f"'Braze-Sync' already exists in account {ACCOUNT}"):
        store.create_passcode(ACCOUNT, "braze-sync", 30)
    assert len(store.read(ACCOUNT).passcodes) == 1


@pytest.mark.parametrize("bad", ["", "x" * 65, "a/b", "tab\there", "new\nline"])
def test_names_are_1_to_64_printable_characters_without_slash(
    store: SandboxStore, bad: str
) -> None:
    with pytest.raises(LimitError, match=f"account {ACCOUNT}"):
        store.create_passcode(ACCOUNT, bad, 30)


def test_names_may_be_64_characters_with_spaces_and_punctuation(store: SandboxStore) -> None:
    for name in ("x" * 64, "Segment export (prod)", "old~retiring-1"):
        store.create_passcode(ACCOUNT, name, 30)
    assert len(store.read(ACCOUNT).passcodes) == 3


@given(name=st.text(max_size=70))
def test_any_name_is_either_accepted_verbatim_or_refused_as_bad_input(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    with SandboxStore(tmp_path_factory.mktemp("names") / "s.db") as store:
        store.ensure_account(ACCOUNT)
        valid = 1 <= len(name) <= 64 and name.isprintable() and "/" not in name
        if valid:
            store.create_passcode(ACCOUNT, name, 1)
            assert store.read(ACCOUNT).passcode_named(name.upper()) is not None
        else:
            with pytest.raises(LimitError):
                store.create_passcode(ACCOUNT, name, 1)


@pytest.mark.parametrize("days", [0, -5])
def test_expiry_is_at_least_one_day(store: SandboxStore, days: int) -> None:
    with pytest.raises(LimitError, match="expiry must be 1-"):
        store.create_passcode(ACCOUNT, "short", days)


def test_update_renames_and_recounts_expiry_from_creation(store: SandboxStore) -> None:
    original, _ = store.create_passcode(ACCOUNT, "old-name", 90)
    store.advance_clock(10 * DAY)
    updated = store.update_passcode(ACCOUNT, original.id, name="new-name", expires_in_days=30)
    assert updated.created_at == original.created_at
    assert updated.expires_at == original.created_at + timedelta(days=30)
    assert store.read(ACCOUNT).passcodes == (updated,)
    forever = store.update_passcode(ACCOUNT, original.id, name="NEW-NAME", expires_in_days=None)
    assert forever.expires_at is None and forever.name == "NEW-NAME"


def test_update_keeps_names_unique(store: SandboxStore) -> None:
    store.create_passcode(ACCOUNT, "taken", None)
    other, _ = store.create_passcode(ACCOUNT, "other", None)
    with pytest.raises(ConflictError, match="'taken' already exists"):
        store.update_passcode(ACCOUNT, other.id, name="TAKEN", expires_in_days=None)


def test_update_and_delete_need_an_existing_passcode(store: SandboxStore) -> None:
    with pytest.raises(
        NotFoundError, match=f"passcode pc_missing does not exist in account {ACCOUNT}"
    ):
        store.update_passcode(ACCOUNT, "pc_missing", name="x", expires_in_days=None)
    with pytest.raises(NotFoundError, match="pc_missing"):
        store.delete_passcode(ACCOUNT, "pc_missing")


def test_delete_removes_the_passcode_and_its_secret(store: SandboxStore) -> None:
    passcode, secret = store.create_passcode(ACCOUNT, "gone", None)
    store.delete_passcode(ACCOUNT, passcode.id)
    assert store.read(ACCOUNT).passcodes == ()
    assert store.authenticate(ACCOUNT, secret) is None


def test_operations_on_an_unknown_account_are_not_found(store: SandboxStore) -> None:
    with pytest.raises(NotFoundError, match="account GHOST-1 does not exist"):
        store.create_passcode("GHOST-1", "x", None)
    with pytest.raises(NotFoundError, match="GHOST-1"):
        store.set_passcode_mode("GHOST-1", "user")


# -- the passcode mode ------------------------------------------------------------------------


def test_passcode_mode_switches_between_account_and_user(store: SandboxStore) -> None:
    store.set_passcode_mode(ACCOUNT, "user")
    assert store.read(ACCOUNT).passcode_mode == "user"
    with pytest.raises(LimitError, match="must be 'account' or 'user'"):
        store.set_passcode_mode(ACCOUNT, "both")
    assert store.read(ACCOUNT).passcode_mode == "user"


# -- users and user passcodes -----------------------------------------------------------------


def test_grants_go_only_to_dashboard_users(store: SandboxStore) -> None:
    with pytest.raises(
        LimitError, match=f"carol@example.com is not a dashboard user of account {ACCOUNT}"
    ):
        store.grant_user_passcode(ACCOUNT, "carol@example.com", 30)
    store.add_user(ACCOUNT, "carol@example.com")
    assert store.grant_user_passcode(ACCOUNT, "Carol@Example.com", 30).email == "carol@example.com"


def test_a_user_holds_one_passcode_at_a_time(store: SandboxStore) -> None:
    store.grant_user_passcode(ACCOUNT, ALICE, 30)
    with pytest.raises(ConflictError, match=f"{ALICE} already has a user passcode"):
        store.grant_user_passcode(ACCOUNT, ALICE, 60)


@pytest.mark.parametrize("days", [0, 366, -1])
def test_validity_is_1_to_365_days(store: SandboxStore, days: int) -> None:
    with pytest.raises(LimitError, match="validity must be 1-365 days or infinite"):
        store.grant_user_passcode(ACCOUNT, ALICE, days)


def test_finite_and_infinite_validity(store: SandboxStore) -> None:
    finite = store.grant_user_passcode(ACCOUNT, ALICE, 365)
    infinite = store.grant_user_passcode(ACCOUNT, BOB, None)
    assert finite.expires_at - finite.granted_at == timedelta(days=365)
    assert infinite.validity_days is None
    assert infinite.expires_at - infinite.granted_at == timedelta(days=INFINITE_VALIDITY_DAYS)
    users = store.read(ACCOUNT).users
    assert [u.grant for u in users] == [finite, infinite]


def test_reset_issues_a_fresh_secret_and_restarts_validity(store: SandboxStore) -> None:
    secret = store.issue_user_passcode(ACCOUNT, ALICE, "member")
    store.revoke_user_passcode(ACCOUNT, ALICE)
    first = store.grant_user_passcode(ACCOUNT, ALICE, 90)
    store.advance_clock(40 * DAY)
    reset = store.reset_user_passcode(ACCOUNT, ALICE)
    assert reset.validity_days == 90
    assert reset.granted_at == first.granted_at + timedelta(days=40)
    assert reset.expires_at == reset.granted_at + timedelta(days=90)
    assert store.read(ACCOUNT).user(ALICE).grant == reset  # type: ignore[union-attr]
    assert store.authenticate(ACCOUNT, secret) is None


def test_reset_replaces_the_secret(store: SandboxStore) -> None:
    secret = store.issue_user_passcode(ACCOUNT, ALICE, "member")
    assert store.authenticate(ACCOUNT, secret) is not None
    store.reset_user_passcode(ACCOUNT, ALICE)
    assert store.authenticate(ACCOUNT, secret) is None


def test_revoke_removes_the_passcode_but_keeps_the_user(store: SandboxStore) -> None:
    store.grant_user_passcode(ACCOUNT, ALICE, 30)
    store.revoke_user_passcode(ACCOUNT, ALICE)
    alice = store.read(ACCOUNT).user(ALICE)
    assert alice is not None and alice.grant is None


def test_reset_and_revoke_need_a_granted_passcode(store: SandboxStore) -> None:
    with pytest.raises(NotFoundError, match=f"{ALICE} has no user passcode in account {ACCOUNT}"):
        store.reset_user_passcode(ACCOUNT, ALICE)
    with pytest.raises(NotFoundError, match="has no user passcode"):
        store.revoke_user_passcode(ACCOUNT, ALICE)
    with pytest.raises(NotFoundError, match="is not a dashboard user"):
        store.revoke_user_passcode(ACCOUNT, "nobody@example.com")


def test_dashboard_user_changes(store: SandboxStore) -> None:
    store.grant_user_passcode(ACCOUNT, BOB, 30)
    store.remove_user(ACCOUNT, BOB)
    store.add_user(ACCOUNT, "Root@Example.com", role="admin")
    assert [(u.email, u.role) for u in store.read(ACCOUNT).users] == [
        (ALICE, "member"),
        ("root@example.com", "admin"),
    ]
    store.add_user(ACCOUNT, BOB)
    assert store.read(ACCOUNT).user(BOB).grant is None  # type: ignore[union-attr]
    with pytest.raises(ConflictError, match="already a dashboard user"):
        store.add_user(ACCOUNT, ALICE)
    with pytest.raises(NotFoundError, match="not a dashboard user"):
        store.remove_user(ACCOUNT, "nobody@example.com")
    with pytest.raises(LimitError, match="must be 'admin' or 'member'"):
        store.add_user(ACCOUNT, "x@example.com", role="owner")
    with pytest.raises(LimitError, match="not an email address"):
        store.add_user(ACCOUNT, "not-an-email")


# -- counting mutations -----------------------------------------------------------------------


def test_each_successful_api_mutation_is_counted_once(store: SandboxStore) -> None:
    passcode, _ = store.create_passcode(ACCOUNT, "a", 30)
    store.update_passcode(ACCOUNT, passcode.id, name="b", expires_in_days=30)
    store.delete_passcode(ACCOUNT, passcode.id)
    store.grant_user_passcode(ACCOUNT, ALICE, 30)
    store.reset_user_passcode(ACCOUNT, ALICE)
    store.revoke_user_passcode(ACCOUNT, ALICE)
    store.set_passcode_mode(ACCOUNT, "user")
    assert store.mutation_count(ACCOUNT) == 7


def test_reads_failures_setup_and_dashboard_changes_are_not_counted(store: SandboxStore) -> None:
    store.read(ACCOUNT)
    store.ensure_account(ACCOUNT, [ALICE])
    store.add_user(ACCOUNT, "carol@example.com")
    store.remove_user(ACCOUNT, "carol@example.com")
    store.issue_admin_passcode(ACCOUNT)
    with pytest.raises(ConflictError):
        store.grant_user_passcode(ACCOUNT, "admin@sandbox.local", 30)
    passcode, _ = store.create_passcode(ACCOUNT, "by-hand", 30, dashboard=True)
    store.update_passcode(ACCOUNT, passcode.id, name="x", expires_in_days=None, dashboard=True)
    store.delete_passcode(ACCOUNT, passcode.id, dashboard=True)
    store.grant_user_passcode(ACCOUNT, BOB, 30, dashboard=True)
    store.reset_user_passcode(ACCOUNT, BOB, dashboard=True)
    store.revoke_user_passcode(ACCOUNT, BOB, dashboard=True)
    store.set_passcode_mode(ACCOUNT, "user", dashboard=True)
    assert store.mutation_count(ACCOUNT) == 0
    assert store.mutation_count("NEVER-SEEN") == 0
