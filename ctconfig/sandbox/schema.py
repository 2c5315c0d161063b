"""The sandbox database: its tables and how a connection to it is opened.

One SQLite file holds every sandbox account. WAL lets the CLI, the HTTP server
and tests read while another process writes; `busy_timeout` makes writers
queue instead of failing. Timestamps are ISO-8601 UTC text, so they sort.

Durability: `synchronous=NORMAL` in WAL mode means a commit is not fsynced on
its own; a process killed right after a commit loses nothing (the WAL is in the
OS's hands), only a power cut could drop the last transactions. That is the
sandbox's bargain: it is a simulation, and the fsync per operation was the
largest cost of an apply against it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime
from pathlib import Path

from ctconfig.errors import NotFoundError
from ctconfig.files import PRIVATE_FILE, make_private_dirs
from ctconfig.sandbox import rules

SCHEMA_VERSION = 3
"""3: kept create answers hold their secret sealed with the idempotency key (2 kept it in clear)."""
BUSY_TIMEOUT_SECONDS = 30.0
SECRET_DRAWS = 16

DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    id            TEXT PRIMARY KEY,
    passcode_mode TEXT NOT NULL CHECK (passcode_mode IN ('account', 'user')),
    created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mutations (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    count      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS users (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    PRIMARY KEY (account_id, email)
);
CREATE TABLE IF NOT EXISTS passcodes (
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    expires_in_days INTEGER,
    created_at      TEXT NOT NULL,
    expires_at      TEXT,
    secret_hash     TEXT NOT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name_key)
);
DROP INDEX IF EXISTS passcodes_by_secret;
CREATE INDEX IF NOT EXISTS passcode_secrets ON passcodes (secret_hash);
CREATE TABLE IF NOT EXISTS grants (
    account_id    TEXT NOT NULL,
    email         TEXT NOT NULL,
    validity_days INTEGER,
    granted_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    PRIMARY KEY (account_id, email),
    FOREIGN KEY (account_id, email) REFERENCES users (account_id, email) ON DELETE CASCADE
);
DROP INDEX IF EXISTS grants_by_secret;
CREATE INDEX IF NOT EXISTS grant_secrets ON grants (secret_hash);
CREATE TABLE IF NOT EXISTS kept_creates (
    seq             INTEGER PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    name            TEXT NOT NULL,
    expires_in_days INTEGER,
    passcode_id     TEXT NOT NULL,
    kept_at         TEXT NOT NULL,
    answer          TEXT,
    UNIQUE (account_id, key)
);
CREATE INDEX IF NOT EXISTS kept_creates_by_age ON kept_creates (kept_at);
CREATE INDEX IF NOT EXISTS kept_creates_by_account ON kept_creates (account_id, seq);
CREATE INDEX IF NOT EXISTS kept_creates_by_passcode ON kept_creates (account_id, passcode_id);
"""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the sandbox database, ready for one-transaction-per-call use.

    The file is 0600 in a directory ctconfig creates 0700 (SQLite gives its WAL and
    shared-memory files the database's mode); a database made by an earlier
    ctconfig is made 0600 too.
    """
    _private_file(path)
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        _upgrade(conn)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('clock_offset', '0')")
    except BaseException:
        conn.rollback()
        conn.close()
        raise
    conn.commit()
    return conn


def _private_file(path: Path) -> None:
    """Create the database file 0600 (its directory 0700) before SQLite opens it; tighten an old one.

    `:memory:` (a read-only plan's scratch store) is no file: nothing to create.
    """
    if str(path) == ":memory:":
        return
    make_private_dirs(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def _upgrade(conn: sqlite3.Connection) -> None:
    """Before version 3, kept create answers held their secrets in clear: erase them (their keys
    cannot be found again either; a lost answer then settles as a taint, never a duplicate)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row["value"]) < 3:
        conn.execute("DELETE FROM kept_creates")


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Open an existing sandbox database to read, writing nothing beside it.

    SQLite keeps a write-ahead log beside the database while a connection writes;
    without one (the usual case once every writer closed) the database is opened
    immutable, so no `-wal` or `-shm` file is created. With one (a writer is open),
    it is read as SQLite reads any live database.
    """
    live = path.with_name(path.name + "-wal").exists()
    flags = "mode=ro" if live else "mode=ro&immutable=1"
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?{flags}",
        uri=True,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.row_factory = sqlite3.Row
    return conn


def to_text(moment: datetime | None) -> str | None:
    """How a timestamp is stored: ISO-8601 with its UTC offset."""
    return None if moment is None else moment.isoformat()


def to_moment(text: str) -> datetime:
    """A stored timestamp back as an aware datetime."""
    return datetime.fromisoformat(text)


def to_optional_moment(text: str | None) -> datetime | None:
    """A stored timestamp that may be absent (a passcode that never expires)."""
    return None if text is None else to_moment(text)


def fresh_secret(conn: sqlite3.Connection) -> tuple[str, str]:
    """A new secret and its hash, held by no passcode or grant in the store.

    A CleverTap-shaped secret has about 47 bits, so two could meet; the store
    must never hand out one it already holds, so it draws again on a collision.
    """
    for _ in range(SECRET_DRAWS):
        secret = rules.new_secret()
        digest = rules.hash_secret(secret)
        taken = conn.execute(
            "SELECT 1 FROM passcodes WHERE secret_hash = ? "
            "UNION ALL SELECT 1 FROM grants WHERE secret_hash = ? LIMIT 1",
            (digest, digest),
        ).fetchone()
        if taken is None:
            return secret, digest
    raise RuntimeError(f"drew {SECRET_DRAWS} secrets the sandbox already holds; its random source is broken")


def account_mode(conn: sqlite3.Connection, account_id: str) -> str:
    """The account's passcode mode; raises NotFoundError when the account does not exist."""
    row = conn.execute("SELECT passcode_mode FROM accounts WHERE id = ?", (account_id,)).fetchone()
    if row is None:
        raise NotFoundError(
            f"account {account_id} does not exist in the sandbox; accounts are created on first use"
        )
    return str(row["passcode_mode"])
