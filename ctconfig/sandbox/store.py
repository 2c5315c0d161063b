"""The sandbox: CleverTap accounts kept in SQLite, enforcing the documented rules.

`SandboxStore` is what the embedded provider, the `ctconfig sandbox` commands
and the sandbox HTTP server all call. Every method is one transaction (inside
`batch()`, one savepoint of a shared transaction: the embedded provider commits
the calls made at the same moment together), and the store is safe to share
between threads. Secrets are returned once and kept only as sha256 hashes. The
sandbox has its own clock (real time plus an offset kept in the database, so
every process agrees) so that tests can make passcodes expire.

A create may carry an idempotency key: its answer is then kept in the same
transaction (see `idempotency`), so that asking again, even from another
process after a crash, returns the same passcode and secret.

Mutating methods take `dashboard=True` to simulate a change made by hand in
the dashboard: it is applied the same way but not counted by `mutation_count`,
which counts only the API operations a tool such as ctconfig performed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from ctconfig.domain import (
    AccountSnapshot,
    ObservedGrant,
    ObservedPasscode,
    PasscodeStatus,
    expiry_status,
)
from ctconfig.errors import LimitError
from ctconfig.sandbox import idempotency, passcodes, rules, users
from ctconfig.sandbox.idempotency import KeptCreate
from ctconfig.sandbox.schema import account_mode, connect, connect_read_only, to_text

ADMIN_EMAIL = "admin@sandbox.local"


@dataclass(frozen=True)
class Credential:
    """Whose passcode a secret is, for the HTTP server's authentication."""

    account_id: str
    kind: Literal["account", "user"]
    name: str  # the account passcode's name, or the user's email
    role: str | None  # "admin" | "member" for user passcodes, None for account passcodes
    status: Literal["active", "expired"]
    passcode_mode: str  # the account's current mode: which kind ordinary API calls need

    def may_manage(self) -> bool:
        """The management API accepts only a live user passcode of an admin."""
        return self.kind == "user" and self.role == "admin" and self.status == "active"

    def may_call_api(self) -> bool:
        """Ordinary API calls take the kind of passcode the account's mode enforces."""
        return self.status == "active" and self.kind == self.passcode_mode


def _live(expires_at: datetime | None, now: datetime) -> Literal["active", "expired"]:
    """Authentication only asks whether a passcode still works ("expiring soon" does)."""
    expired = expiry_status(expires_at, now) is PasscodeStatus.EXPIRED
    return "expired" if expired else "active"


class SandboxStore:
    """CleverTap accounts in one SQLite file; every method is one transaction."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open (creating if needed) the store at `path`; `read_only`: an existing one, to read."""
        self.path = path
        self.read_only = read_only
        self._conn = connect_read_only(path) if read_only else connect(path)
        self._lock = threading.RLock()
        self._in_batch = False

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SandboxStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction, serialised across threads; writers take SQLite's lock up front.

        Inside `batch()` it is a savepoint instead: a failing call undoes only itself.
        """
        with self._lock:
            if self._in_batch:
                with self._savepoint():
                    yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._conn
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        self._conn.execute("SAVEPOINT call")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK TO call")
            self._conn.execute("RELEASE call")
            raise
        self._conn.execute("RELEASE call")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Run the calls made inside (from this thread) in one write transaction: one commit for all.

        Each call still succeeds or fails whole (a savepoint each), and sees the
        calls before it; nothing is committed, nor visible to other connections,
        until the block ends. An exception escaping the block rolls back every call.
        """
        with self._lock:
            if self._in_batch:
                raise RuntimeError("sandbox batches do not nest")
            self._conn.execute("BEGIN IMMEDIATE")
            self._in_batch = True
            try:
                yield
            except BaseException:
                self._conn.rollback()
                raise
            finally:
                self._in_batch = False
            self._conn.commit()

    # -- the clock --------------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox's time: real UTC time plus the offset every process shares."""
        with self._transaction(write=False) as conn:
            return self._now(conn)

    def clock_offset(self) -> timedelta:
        """How far the sandbox clock runs ahead of real time."""
        with self._transaction(write=False) as conn:
            return self._offset(conn)

    def advance_clock(self, seconds: float) -> datetime:
        """Move the sandbox clock forward (to make passcodes expire); returns the new time."""
        if seconds < 0:
            raise LimitError("the sandbox clock only moves forward; reset it to return to now")
        with self._transaction() as conn:
            self._set_offset(conn, self._offset(conn) + timedelta(seconds=round(seconds)))
            return self._now(conn)

    def reset_clock(self) -> datetime:
        """Put the sandbox clock back to real time."""
        with self._transaction() as conn:
            self._set_offset(conn, timedelta(0))
            return self._now(conn)

    @staticmethod
    def _offset(conn: sqlite3.Connection) -> timedelta:
        row = conn.execute("SELECT value FROM meta WHERE key = 'clock_offset'").fetchone()
        return timedelta(seconds=int(row["value"]))

    @staticmethod
    def _set_offset(conn: sqlite3.Connection, offset: timedelta) -> None:
        seconds = str(int(offset.total_seconds()))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'clock_offset'", (seconds,))

    def _now(self, conn: sqlite3.Connection) -> datetime:
        return rules.utc_now() + self._offset(conn)

    # -- accounts ---------------------------------------------------------------------------

    def has_account(self, account_id: str) -> bool:
        """Whether the account exists (without creating it)."""
        with self._transaction(write=False) as conn:
            return conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is not None

    def ensure_account(self, account_id: str, users: Iterable[str] = ()) -> bool:
        """Create the account on first use (mode "account"), seeded with these dashboard
        users as members; True if it was created. An existing account is left as it is."""
        rules.check_account_id(account_id)
        emails = sorted({rules.normalize_email(account_id, email) for email in users})
        with self._transaction(write=False) as conn:  # the usual case: no write lock needed
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone():
                return False
        with self._transaction() as conn:
            return self._create_account(conn, account_id, emails)

    def _create_account(
        self, conn: sqlite3.Connection, account_id: str, emails: Iterable[str]
    ) -> bool:
        created = conn.execute(
            "INSERT OR IGNORE INTO accounts (id, passcode_mode, created_at) "
            "VALUES (?, 'account', ?)",
            (account_id, to_text(self._now(conn))),
        ).rowcount
        if not created:
            return False
        conn.execute("INSERT INTO mutations (account_id, count) VALUES (?, 0)", (account_id,))
        users.insert_users(conn, account_id, emails, "member")
        return True

    def list_accounts(self) -> list[str]:
        """Every account id in the sandbox, sorted."""
        with self._transaction(write=False) as conn:
            return [row["id"] for row in conn.execute("SELECT id FROM accounts ORDER BY id")]

    def read(self, account_id: str) -> AccountSnapshot:
        """The account as the dashboard shows it, observed at the sandbox's current time."""
        with self._transaction(write=False) as conn:
            return AccountSnapshot(
                account_id=account_id,
                passcode_mode=account_mode(conn, account_id),
                observed_at=self._now(conn),
                passcodes=passcodes.list_passcodes(conn, account_id),
                users=users.list_users(conn, account_id),
            )

    def mutation_count(self, account_id: str) -> int:
        """How many mutating API operations the account has received (0 if it does not exist)."""
        with self._transaction(write=False) as conn:
            row = conn.execute(
                "SELECT count FROM mutations WHERE account_id = ?", (account_id,)
            ).fetchone()
            return 0 if row is None else int(row["count"])

    @contextmanager
    def _mutation(self, account_id: str, dashboard: bool) -> Iterator[sqlite3.Connection]:
        """A write transaction that, if it succeeds, counts one API mutation."""
        with self._transaction() as conn:
            yield conn
            if not dashboard:
                self._count_mutation(conn, account_id)

    @staticmethod
    def _count_mutation(conn: sqlite3.Connection, account_id: str) -> None:
        conn.execute("UPDATE mutations SET count = count + 1 WHERE account_id = ?", (account_id,))

    def set_passcode_mode(self, account_id: str, mode: str, *, dashboard: bool = False) -> None:
        """Enforce account passcodes ("account") or user passcodes ("user") for API calls."""
        rules.check_mode(account_id, mode)
        with self._mutation(account_id, dashboard) as conn:
            account_mode(conn, account_id)
            conn.execute("UPDATE accounts SET passcode_mode = ? WHERE id = ?", (mode, account_id))

    # -- account passcodes ------------------------------------------------------------------

    def create_passcode(
        self,
        account_id: str,
        name: str,
        expires_in_days: int | None,
        *,
        dashboard: bool = False,
        idempotency_key: str | None = None,
    ) -> tuple[ObservedPasscode, str]:
        """Create an account passcode (None = forever); the secret is returned this once,
        or again to a request with the same idempotency key (see `create_passcode_once`)."""
        created = self.create_passcode_once(
            account_id, name, expires_in_days, idempotency_key, dashboard=dashboard
        )
        return created.passcode, created.secret

    def create_passcode_once(
        self,
        account_id: str,
        name: str,
        expires_in_days: int | None,
        idempotency_key: str | None,
        *,
        dashboard: bool = False,
    ) -> KeptCreate:
        """Create a passcode, or replay the kept answer to the same request with the same key.

        With a key, the answer is kept in this same transaction. The same key with
        a different request, or for a passcode deleted since, raises ConflictError.
        A replay changes nothing and is not counted as a mutation.
        """
        if idempotency_key is not None:
            rules.check_idempotency_key(idempotency_key)
        with self._transaction() as conn:
            now = self._now(conn)
            if idempotency_key is not None:
                kept = idempotency.replay(conn, account_id, idempotency_key, name, expires_in_days, now)
                if kept is not None:
                    return kept
            passcode, secret = passcodes.insert(conn, account_id, name, expires_in_days, now)
            created = KeptCreate(passcode, secret)
            if idempotency_key is not None:
                idempotency.keep(conn, account_id, idempotency_key, created, expires_in_days, now)
            if not dashboard:
                self._count_mutation(conn, account_id)
            return created

    def update_passcode(
        self,
        account_id: str,
        passcode_id: str,
        *,
        name: str,
        expires_in_days: int | None,
        dashboard: bool = False,
    ) -> ObservedPasscode:
        """Rename a passcode and/or change its expiry, still counted from its creation."""
        with self._mutation(account_id, dashboard) as conn:
            return passcodes.update(conn, account_id, passcode_id, name, expires_in_days)

    def delete_passcode(
        self, account_id: str, passcode_id: str, *, dashboard: bool = False
    ) -> None:
        """Delete an account passcode: every integration using it stops working, and no
        kept answer will hand its secret out again."""
        with self._mutation(account_id, dashboard) as conn:
            passcodes.delete(conn, account_id, passcode_id)
            idempotency.forget_secret(conn, account_id, passcode_id)

    # -- users and user passcodes -------------------------------------------------------------

    def add_user(self, account_id: str, email: str, role: str = "member") -> None:
        """Dashboard simulation: invite a user ("admin" or "member") to the account."""
        email = rules.normalize_email(account_id, email)
        rules.check_role(account_id, role)
        with self._transaction() as conn:
            users.add(conn, account_id, email, role)

    def remove_user(self, account_id: str, email: str) -> None:
        """Dashboard simulation: remove a user, and with them their user passcode."""
        email = rules.normalize_email(account_id, email)
        with self._transaction() as conn:
            users.remove(conn, account_id, email)

    def grant_user_passcode(
        self, account_id: str, email: str, validity_days: int | None, *, dashboard: bool = False
    ) -> ObservedGrant:
        """Grant a dashboard user a passcode (1-365 days, or None for infinite = 10 years)."""
        email = rules.normalize_email(account_id, email)
        with self._mutation(account_id, dashboard) as conn:
            return users.grant(conn, account_id, email, validity_days, self._now(conn))

    def reset_user_passcode(
        self, account_id: str, email: str, *, dashboard: bool = False
    ) -> ObservedGrant:
        """Issue the user a fresh secret and restart the passcode's validity from now."""
        email = rules.normalize_email(account_id, email)
        with self._mutation(account_id, dashboard) as conn:
            current = users.require_grant(conn, account_id, email)
            granted, _secret = users.write_grant(
                conn, account_id, email, current.validity_days, self._now(conn)
            )
            return granted

    def revoke_user_passcode(self, account_id: str, email: str, *, dashboard: bool = False) -> None:
        """Revoke the user's passcode; the user stays in the account."""
        email = rules.normalize_email(account_id, email)
        with self._mutation(account_id, dashboard) as conn:
            users.revoke(conn, account_id, email)

    # -- credentials, for the HTTP server ---------------------------------------------------

    def issue_user_passcode(self, account_id: str, email: str, role: str) -> str:
        """Sandbox set-up: make sure the user exists with this role and holds an infinite
        user passcode (granted, or reset if they had one), and return its secret.
        Creates the account if needed; not counted as a mutation."""
        rules.check_account_id(account_id)
        email = rules.normalize_email(account_id, email)
        rules.check_role(account_id, role)
        with self._transaction() as conn:
            self._create_account(conn, account_id, ())
            users.set_role(conn, account_id, email, role)
            _granted, secret = users.write_grant(conn, account_id, email, None, self._now(conn))
            return secret

    def issue_admin_passcode(self, account_id: str, email: str = ADMIN_EMAIL) -> str:
        """An admin's infinite user passcode: the credential the management API accepts."""
        return self.issue_user_passcode(account_id, email, "admin")

    def authenticate(self, account_id: str, secret: str) -> Credential | None:
        """Whose passcode this secret is and whether it still works; None if unknown."""
        digest = rules.hash_secret(secret)
        with self._transaction(write=False) as conn:
            row = conn.execute(
                "SELECT passcode_mode FROM accounts WHERE id = ?", (account_id,)
            ).fetchone()
            if row is None:
                return None
            mode, now = str(row["passcode_mode"]), self._now(conn)
            passcode = passcodes.lookup_secret(conn, account_id, digest)
            if passcode is not None:
                status = _live(passcode.expires_at, now)
                return Credential(account_id, "account", passcode.name, None, status, mode)
            found = users.lookup_secret(conn, account_id, digest)
            if found is None:
                return None
            granted, role = found
            status = _live(granted.expires_at, now)
            return Credential(account_id, "user", granted.email, role, status, mode)
