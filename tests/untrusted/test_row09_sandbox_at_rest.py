"""Issue 20, row 9: the sandbox's database is 0600 in a 0700 directory and keeps no create answer's
secret where a reader of the file finds it; replaying an answer by its idempotency key still works.

The kept answer's secret is sealed with the idempotency key, which only the caller holds; the
table keeps a digest of the key, never the key.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ctconfig.sandbox import SandboxStore
from tests.conftest import RunCtconfig
from tests.untrusted.workspaces import mode, usual_umask

ACCOUNT = "TEST-R78-ZZK-955Z"
KEY = "c0ffee4d2b8e4a55b1f0e6b0a7d9c3e1"


umask_022 = pytest.fixture(autouse=True)(usual_umask)


def database_bytes(db: Path) -> bytes:
    """The database and its WAL as a reader of the directory would find them."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_an_apply_leaves_the_database_private_and_holding_no_secret(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    (tmp_path / "ctconfig.yaml").write_text(
        f"version: 1\naccounts:\n  demo:\n    id: {ACCOUNT}\n"
        "    account_passcodes:\n      etl: {expires_in: 30d}\n      sync: {expires_in: forever}\n",
        encoding="utf-8",
    )
    assert run_ctconfig("apply", "--auto-approve").returncode == 0
    db = tmp_path / ".ctconfig" / "sandbox.db"
    assert mode(db.parent) == 0o700
    assert {p.name: mode(p) for p in db.parent.glob("sandbox.db*")} == {
        p.name: 0o600 for p in db.parent.glob("sandbox.db*")
    }
    secrets = [p.read_text().strip() for p in (tmp_path / ".ctconfig" / "secrets" / "demo").iterdir()]
    assert len(secrets) == 2
    stored = database_bytes(db)
    for secret in secrets:
        assert secret.encode() not in stored


def test_a_kept_answer_is_replayed_with_its_key_and_unreadable_without_it(tmp_path: Path) -> None:
    db = tmp_path / "sandbox" / "sandbox.db"
    with SandboxStore(db) as store:
        store.ensure_account(ACCOUNT)
        first = store.create_passcode_once(ACCOUNT, "seg", 30, KEY)
        again = store.create_passcode_once(ACCOUNT, "seg", 30, KEY)
    assert again.replayed and (again.passcode, again.secret) == (first.passcode, first.secret)
    assert mode(db) == 0o600 and mode(db.parent) == 0o700
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key, answer FROM kept_creates").fetchall()
    assert len(rows) == 1
    kept_key, answer = rows[0]
    assert KEY not in kept_key and KEY not in answer
    assert first.secret not in answer and first.secret.encode() not in database_bytes(db)


def test_a_database_an_earlier_ctconfig_wrote_is_made_private_and_its_clear_answers_erased(
    tmp_path: Path,
) -> None:
    db = tmp_path / "sandbox.db"
    with SandboxStore(db) as store:
        store.ensure_account(ACCOUNT)
        store.create_passcode_once(ACCOUNT, "seg", 30, KEY)
    with sqlite3.connect(db) as conn:  # as schema 2 kept it: the key and the secret in clear
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        conn.execute("UPDATE kept_creates SET key = ?, answer = '{\"secret\": \"AMA-AUE-YWUL\"}'", (KEY,))
    db.chmod(0o644)
    with SandboxStore(db):
        pass
    assert mode(db) == 0o600
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM kept_creates").fetchone() == (0,)
