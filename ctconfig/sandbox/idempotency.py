"""Exactly-once creates: the answer to a create, kept by idempotency key in the sandbox database.

A client whose create answer was lost (a dropped connection, a process killed
right after the server committed) asks again with the same key and gets the
same answer, secret included, instead of a second passcode or a 409. The
answer is written in the same transaction as the passcode, so there is no
moment at which the passcode exists and its answer does not; the next run, in
a new process or through the HTTP server, finds it.

Keeping a replayable answer, secret and all, is what a real service does for
the day its keys live; keeping it readable to whoever reads the database is not.
Only the caller holds the idempotency key (ctconfig keeps it in its journal until
the create is settled), so the key is what unlocks the answer: the table holds a
digest of the key (to find the row) and the secret sealed with a keystream drawn
from the key (SHAKE-256 of the account and the key; each key seals one secret,
so no keystream is used twice). Without the key, the database gives no secret
back; every other secret in the sandbox is kept only as a hash. A key a client
can guess protects nothing, so keys must be random (ctconfig's are 122-bit
UUIDs). An answer is kept for 24 hours of the store's clock, and never replayed
once its passcode is gone:
deleting the passcode erases the kept secret in the same transaction, and a
later request with that key is a conflict (never a duplicate, never a dead
secret). The same key with a different request is a conflict too.

These functions run inside a transaction the store opened.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ctconfig.domain import ObservedPasscode, PasscodeStatus, expiry_status
from ctconfig.errors import ConflictError
from ctconfig.sandbox.schema import to_moment, to_optional_moment, to_text

KEEP_FOR = timedelta(hours=24)
KEPT_PER_ACCOUNT = 1000  # the newest answers of an account; older ones are dropped
_LOOKUP = b"ctconfig kept create: lookup\x00"
_SEAL = b"ctconfig kept create: seal\x00"


@dataclass(frozen=True)
class KeptCreate:
    """A create's answer: the passcode as it was made, its secret, and whether it is a replay."""

    passcode: ObservedPasscode
    secret: str
    replayed: bool = False


def replay(
    conn: sqlite3.Connection,
    account_id: str,
    key: str,
    name: str,
    expires_in_days: int | None,
    now: datetime,
) -> KeptCreate | None:
    """The kept answer for this key, if the same request made a passcode that still exists.

    None when the key is unknown (or its answer older than a day: keys are
    forgotten then). ConflictError when the key came with another request, or
    when the passcode it made has since been deleted or has expired.
    """
    row = conn.execute(
        "SELECT * FROM kept_creates WHERE account_id = ? AND key = ?", (account_id, _lookup(account_id, key))
    ).fetchone()
    if row is None:
        return None
    if to_moment(row["kept_at"]) <= now - KEEP_FOR:
        conn.execute("DELETE FROM kept_creates WHERE seq = ?", (row["seq"],))
        return None
    if (row["name"], row["expires_in_days"]) != (name, expires_in_days):
        raise ConflictError(
            f"this idempotency key was used in account {account_id} for a different request "
            f"(passcode {row['name']!r}); use a new key for a new create"
        )
    kept = _answer(row["answer"], account_id, key)
    if kept is None or not _still_live(conn, account_id, kept.passcode, now):
        raise ConflictError(
            f"passcode {row['name']!r} created with this idempotency key no longer exists in "
            f"account {account_id}; its answer is not replayed"
        )
    return KeptCreate(kept.passcode, kept.secret, replayed=True)


def keep(
    conn: sqlite3.Connection,
    account_id: str,
    key: str,
    created: KeptCreate,
    expires_in_days: int | None,
    now: datetime,
) -> None:
    """Remember a create's answer under its key, and drop answers too old or too many."""
    passcode = created.passcode
    answer = {
        "id": passcode.id,
        "name": passcode.name,
        "expires_in_days": passcode.expires_in_days,
        "created_at": to_text(passcode.created_at),
        "expires_at": to_text(passcode.expires_at),
        "sealed_secret": _sealed(created.secret.encode(), account_id, key).hex(),
    }
    conn.execute(
        "INSERT INTO kept_creates (account_id, key, name, expires_in_days, passcode_id, kept_at, "
        "answer) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            account_id,
            _lookup(account_id, key),
            passcode.name,
            expires_in_days,
            passcode.id,
            to_text(now),
            json.dumps(answer),
        ),
    )
    conn.execute("DELETE FROM kept_creates WHERE kept_at <= ?", (to_text(now - KEEP_FOR),))
    oldest_kept = conn.execute(
        "SELECT seq FROM kept_creates WHERE account_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
        (account_id, KEPT_PER_ACCOUNT - 1),
    ).fetchone()
    if oldest_kept is not None:
        conn.execute(
            "DELETE FROM kept_creates WHERE account_id = ? AND seq < ?", (account_id, oldest_kept["seq"])
        )


def forget_secret(conn: sqlite3.Connection, account_id: str, passcode_id: str) -> None:
    """The passcode is gone: erase its kept secret, but remember the key was used."""
    conn.execute(
        "UPDATE kept_creates SET answer = NULL WHERE account_id = ? AND passcode_id = ?",
        (account_id, passcode_id),
    )


def _lookup(account_id: str, key: str) -> str:
    """What the table keeps of an idempotency key: a digest that finds the row, never the key."""
    return hashlib.sha256(_LOOKUP + f"{account_id}\x00{key}".encode()).hexdigest()


def _sealed(data: bytes, account_id: str, key: str) -> bytes:
    """`data` XORed with a keystream only the key's holder can draw (sealing and unsealing alike)."""
    stream = hashlib.shake_256(_SEAL + f"{account_id}\x00{key}".encode()).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def _answer(text: str | None, account_id: str, key: str) -> KeptCreate | None:
    if text is None:
        return None
    data: dict[str, Any] = json.loads(text)
    passcode = ObservedPasscode(
        id=data["id"],
        name=data["name"],
        expires_in_days=data["expires_in_days"],
        created_at=to_moment(data["created_at"]),
        expires_at=to_optional_moment(data["expires_at"]),
    )
    secret = _sealed(bytes.fromhex(data["sealed_secret"]), account_id, key).decode()
    return KeptCreate(passcode, secret)


def _still_live(
    conn: sqlite3.Connection, account_id: str, passcode: ObservedPasscode, now: datetime
) -> bool:
    """The passcode still exists under its id and has not expired: its secret still works."""
    row = conn.execute(
        "SELECT expires_at FROM passcodes WHERE account_id = ? AND id = ?", (account_id, passcode.id)
    ).fetchone()
    if row is None:
        return False
    return expiry_status(to_optional_moment(row["expires_at"]), now) is not PasscodeStatus.EXPIRED
