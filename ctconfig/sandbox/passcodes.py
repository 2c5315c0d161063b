"""Account passcodes in the sandbox database: the rows and the rules on them.

These functions run inside a transaction the store opened; they check the
documented rules (100 per account, unique names ignoring case, expiry counted
from creation) and raise what CleverTap would answer.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from ctconfig.domain import ObservedPasscode
from ctconfig.errors import ConflictError, LimitError, NotFoundError
from ctconfig.sandbox import rules
from ctconfig.sandbox.schema import (
    account_mode,
    fresh_secret,
    to_moment,
    to_optional_moment,
    to_text,
)


def from_row(row: sqlite3.Row) -> ObservedPasscode:
    """A stored passcode as the shared record (without its secret hash)."""
    return ObservedPasscode(
        id=row["id"],
        name=row["name"],
        expires_in_days=row["expires_in_days"],
        created_at=to_moment(row["created_at"]),
        expires_at=to_optional_moment(row["expires_at"]),
    )


def list_passcodes(conn: sqlite3.Connection, account_id: str) -> tuple[ObservedPasscode, ...]:
    """Every account passcode, expired ones included, oldest first as the dashboard lists them."""
    rows = conn.execute(
        "SELECT * FROM passcodes WHERE account_id = ? ORDER BY created_at, name_key", (account_id,)
    )
    return tuple(from_row(row) for row in rows)


def insert(
    conn: sqlite3.Connection,
    account_id: str,
    name: str,
    expires_in_days: int | None,
    now: datetime,
) -> tuple[ObservedPasscode, str]:
    """Create a passcode within the limits; returns it with its secret (stored only hashed)."""
    rules.check_passcode_name(account_id, name)
    rules.check_expiry_days(account_id, name, expires_in_days)
    account_mode(conn, account_id)
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM passcodes WHERE account_id = ?", (account_id,)
    ).fetchone()
    if count >= rules.MAX_ACCOUNT_PASSCODES:
        raise LimitError(
            f"account {account_id} already has {rules.MAX_ACCOUNT_PASSCODES} account passcodes, "
            f"the most CleverTap allows; cannot create {name!r}"
        )
    check_name_free(conn, account_id, name, passcode_id=None)
    passcode = ObservedPasscode(
        id=rules.new_passcode_id(),
        name=name,
        expires_in_days=expires_in_days,
        created_at=now,
        expires_at=rules.passcode_expiry(now, expires_in_days),
    )
    secret, digest = fresh_secret(conn)
    conn.execute(
        "INSERT INTO passcodes (account_id, id, name, name_key, expires_in_days, created_at, "
        "expires_at, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            account_id,
            passcode.id,
            name,
            name.casefold(),
            expires_in_days,
            to_text(now),
            to_text(passcode.expires_at),
            digest,
        ),
    )
    return passcode, secret


def update(
    conn: sqlite3.Connection,
    account_id: str,
    passcode_id: str,
    name: str,
    expires_in_days: int | None,
) -> ObservedPasscode:
    """Rename and/or change the expiry; the new expiry still counts from creation."""
    rules.check_passcode_name(account_id, name)
    rules.check_expiry_days(account_id, name, expires_in_days)
    current = find(conn, account_id, passcode_id)
    check_name_free(conn, account_id, name, passcode_id=passcode_id)
    expires_at = rules.passcode_expiry(current.created_at, expires_in_days)
    conn.execute(
        "UPDATE passcodes SET name = ?, name_key = ?, expires_in_days = ?, expires_at = ? "
        "WHERE account_id = ? AND id = ?",
        (name, name.casefold(), expires_in_days, to_text(expires_at), account_id, passcode_id),
    )
    return ObservedPasscode(passcode_id, name, expires_in_days, current.created_at, expires_at)


def delete(conn: sqlite3.Connection, account_id: str, passcode_id: str) -> None:
    """Delete a passcode that exists."""
    find(conn, account_id, passcode_id)
    conn.execute("DELETE FROM passcodes WHERE account_id = ? AND id = ?", (account_id, passcode_id))


def find(conn: sqlite3.Connection, account_id: str, passcode_id: str) -> ObservedPasscode:
    """The passcode with this id; NotFoundError naming the account otherwise."""
    account_mode(conn, account_id)
    row = conn.execute(
        "SELECT * FROM passcodes WHERE account_id = ? AND id = ?", (account_id, passcode_id)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"passcode {passcode_id} does not exist in account {account_id}")
    return from_row(row)


def check_name_free(
    conn: sqlite3.Connection, account_id: str, name: str, passcode_id: str | None
) -> None:
    """Names are unique per account, ignoring case; a passcode may keep its own name."""
    clash = conn.execute(
        "SELECT id, name FROM passcodes WHERE account_id = ? AND name_key = ?",
        (account_id, name.casefold()),
    ).fetchone()
    if clash is not None and clash["id"] != passcode_id:
        raise ConflictError(
            f"a passcode named {clash['name']!r} already exists in account {account_id}; "
            f"names are unique ignoring case, so {name!r} is taken"
        )


def lookup_secret(
    conn: sqlite3.Connection, account_id: str, secret_hash: str
) -> ObservedPasscode | None:
    """The passcode whose secret has this hash, if any."""
    row = conn.execute(
        "SELECT * FROM passcodes WHERE account_id = ? AND secret_hash = ?",
        (account_id, secret_hash),
    ).fetchone()
    return None if row is None else from_row(row)
