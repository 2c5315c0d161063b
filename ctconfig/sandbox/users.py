"""Dashboard users and their user passcodes in the sandbox database.

Like `passcodes`, these functions run inside the store's transaction and
enforce the documented rules: a grant goes only to an existing dashboard user,
once; reset issues a fresh secret and restarts validity; revoke removes it;
removing a user removes their grant.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

from ctconfig.domain import ObservedGrant, ObservedUser
from ctconfig.errors import ConflictError, LimitError, NotFoundError
from ctconfig.sandbox import rules
from ctconfig.sandbox.schema import account_mode, fresh_secret, to_moment, to_text


def grant_from_row(row: sqlite3.Row) -> ObservedGrant:
    """A stored grant as the shared record (without its secret hash)."""
    return ObservedGrant(
        email=row["email"],
        validity_days=row["validity_days"],
        granted_at=to_moment(row["granted_at"]),
        expires_at=to_moment(row["expires_at"]),
    )


def list_users(conn: sqlite3.Connection, account_id: str) -> tuple[ObservedUser, ...]:
    """Every dashboard user, by email, each with their user passcode if granted."""
    grants = {
        row["email"]: grant_from_row(row)
        for row in conn.execute("SELECT * FROM grants WHERE account_id = ?", (account_id,))
    }
    rows = conn.execute(
        "SELECT email, role FROM users WHERE account_id = ? ORDER BY email", (account_id,)
    )
    return tuple(ObservedUser(row["email"], row["role"], grants.get(row["email"])) for row in rows)


def role_of(conn: sqlite3.Connection, account_id: str, email: str) -> str | None:
    """The user's role, or None when they are not a dashboard user."""
    row = conn.execute(
        "SELECT role FROM users WHERE account_id = ? AND email = ?", (account_id, email)
    ).fetchone()
    return None if row is None else str(row["role"])


def insert_users(
    conn: sqlite3.Connection, account_id: str, emails: Iterable[str], role: str
) -> None:
    """Add users that are not members yet (used to seed a new account)."""
    conn.executemany(
        "INSERT OR IGNORE INTO users (account_id, email, role) VALUES (?, ?, ?)",
        [(account_id, email, role) for email in emails],
    )


def add(conn: sqlite3.Connection, account_id: str, email: str, role: str) -> None:
    """Invite a user; ConflictError if they are already one."""
    account_mode(conn, account_id)
    if role_of(conn, account_id, email) is not None:
        raise ConflictError(f"{email} is already a dashboard user of account {account_id}")
    insert_users(conn, account_id, [email], role)


def set_role(conn: sqlite3.Connection, account_id: str, email: str, role: str) -> None:
    """Make sure the user exists with exactly this role."""
    conn.execute(
        "INSERT INTO users (account_id, email, role) VALUES (?, ?, ?) "
        "ON CONFLICT (account_id, email) DO UPDATE SET role = excluded.role",
        (account_id, email, role),
    )


def remove(conn: sqlite3.Connection, account_id: str, email: str) -> None:
    """Remove a user; their user passcode goes with them (foreign-key cascade)."""
    require_user(conn, account_id, email, NotFoundError)
    conn.execute("DELETE FROM users WHERE account_id = ? AND email = ?", (account_id, email))


def require_user(
    conn: sqlite3.Connection,
    account_id: str,
    email: str,
    error: type[LimitError] | type[NotFoundError],
) -> str:
    """The user's role; `error` (naming user and account) when they are not a user."""
    account_mode(conn, account_id)
    role = role_of(conn, account_id, email)
    if role is None:
        raise error(
            f"{email} is not a dashboard user of account {account_id}; "
            "add them in the dashboard first"
        )
    return role


def find_grant(conn: sqlite3.Connection, account_id: str, email: str) -> ObservedGrant | None:
    """The user's current passcode grant, if any."""
    row = conn.execute(
        "SELECT * FROM grants WHERE account_id = ? AND email = ?", (account_id, email)
    ).fetchone()
    return None if row is None else grant_from_row(row)


def require_grant(conn: sqlite3.Connection, account_id: str, email: str) -> ObservedGrant:
    """The user's grant; NotFoundError when the user or their passcode is missing."""
    require_user(conn, account_id, email, NotFoundError)
    grant = find_grant(conn, account_id, email)
    if grant is None:
        raise NotFoundError(f"{email} has no user passcode in account {account_id}")
    return grant


def grant(
    conn: sqlite3.Connection,
    account_id: str,
    email: str,
    validity_days: int | None,
    now: datetime,
) -> ObservedGrant:
    """A first user passcode for an existing user (an unknown user is bad input: LimitError)."""
    rules.check_validity_days(account_id, email, validity_days)
    require_user(conn, account_id, email, LimitError)
    if find_grant(conn, account_id, email) is not None:
        raise ConflictError(
            f"{email} already has a user passcode in account {account_id}; "
            "reset or revoke it instead"
        )
    granted, _secret = write_grant(conn, account_id, email, validity_days, now)
    return granted


def write_grant(
    conn: sqlite3.Connection,
    account_id: str,
    email: str,
    validity_days: int | None,
    now: datetime,
) -> tuple[ObservedGrant, str]:
    """Store a grant with a fresh secret starting now, replacing any previous one."""
    granted = ObservedGrant(email, validity_days, now, rules.grant_expiry(now, validity_days))
    secret, digest = fresh_secret(conn)
    conn.execute(
        "INSERT OR REPLACE INTO grants (account_id, email, validity_days, granted_at, "
        "expires_at, secret_hash) VALUES (?, ?, ?, ?, ?, ?)",
        (
            account_id,
            email,
            validity_days,
            to_text(now),
            to_text(granted.expires_at),
            digest,
        ),
    )
    return granted, secret


def revoke(conn: sqlite3.Connection, account_id: str, email: str) -> None:
    """Delete a user's grant; the user stays."""
    require_grant(conn, account_id, email)
    conn.execute("DELETE FROM grants WHERE account_id = ? AND email = ?", (account_id, email))


def lookup_secret(
    conn: sqlite3.Connection, account_id: str, secret_hash: str
) -> tuple[ObservedGrant, str] | None:
    """The grant whose secret has this hash, with its holder's role; None if unknown."""
    row = conn.execute(
        "SELECT g.*, u.role FROM grants g JOIN users u "
        "ON u.account_id = g.account_id AND u.email = g.email "
        "WHERE g.account_id = ? AND g.secret_hash = ?",
        (account_id, secret_hash),
    ).fetchone()
    return None if row is None else (grant_from_row(row), str(row["role"]))
