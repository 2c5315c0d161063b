"""CleverTap's documented passcode rules, as plain checks the sandbox store applies.

Each check raises the provider error a real account would answer with, so the
sandbox and the HTTP server built on it fail exactly where CleverTap would.
Secrets are generated and hashed here too: the store keeps only the hash.
Secrets have the shape of CleverTap's account passcodes (`domain.LETTER_GROUPS`,
e.g. `QXK-RMB-TWAZ`): 26^10, about 47 bits, so the store checks each new one
against those it holds and draws again on a collision.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from ctconfig.domain import (
    INFINITE_VALIDITY_DAYS,
    LETTER_GROUPS,
    MAX_ACCOUNT_PASSCODES,
    MAX_NAME_LENGTH,
    MAX_VALIDITY_DAYS,
)
from ctconfig.durations import MAX_DAYS as MAX_EXPIRY_DAYS  # no documented ceiling: 100 years
from ctconfig.errors import LimitError

__all__ = ["MAX_ACCOUNT_PASSCODES", "MAX_EXPIRY_DAYS", "MAX_NAME_LENGTH", "MAX_VALIDITY_DAYS"]
PASSCODE_MODES = ("account", "user")
ROLES = ("admin", "member")
IDEMPOTENCY_KEY_MAX = 128
_SECRET_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UNBIASED_BELOW = 256 - 256 % len(_SECRET_LETTERS)  # 234: each letter from exactly 9 byte values
_IDEMPOTENCY_KEY = re.compile(rf"^[A-Za-z0-9_-]{{1,{IDEMPOTENCY_KEY_MAX}}}$")

_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s/]+@[^@\s/]+$")


def utc_now() -> datetime:
    """The real UTC time at second precision, the resolution the dashboard shows."""
    return datetime.now(UTC).replace(microsecond=0)


def check_account_id(account_id: str) -> str:
    """Account ids look like `W9R-486-4W5Z` or `TEST-R78-ZZK-955Z`: letters, digits, dashes."""
    if not _ACCOUNT_ID.match(account_id):
        raise LimitError(
            f"{account_id!r} is not a valid account id; expected letters, digits and dashes "
            "such as W9R-486-4W5Z"
        )
    return account_id


def check_passcode_name(account_id: str, name: str) -> str:
    """A passcode name is 1-64 printable characters without '/'."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise LimitError(
            f"passcode name {name[:MAX_NAME_LENGTH]!r} in account {account_id} must be "
            f"1-{MAX_NAME_LENGTH} characters long"
        )
    if not name.isprintable() or "/" in name:
        raise LimitError(
            f"passcode name {name!r} in account {account_id} must be printable characters "
            "without '/'"
        )
    return name


def check_expiry_days(account_id: str, name: str, days: int | None) -> int | None:
    """An account passcode expires after at least one day, or never (None)."""
    if days is not None and not 1 <= days <= MAX_EXPIRY_DAYS:
        raise LimitError(
            f"passcode {name!r} in account {account_id}: expiry must be 1-{MAX_EXPIRY_DAYS} "
            f"days or forever, got {days}"
        )
    return days


def check_validity_days(account_id: str, email: str, days: int | None) -> int | None:
    """A user passcode is valid 1-365 days, or infinite (None)."""
    if days is not None and not 1 <= days <= MAX_VALIDITY_DAYS:
        raise LimitError(
            f"user passcode of {email} in account {account_id}: validity must be "
            f"1-{MAX_VALIDITY_DAYS} days or infinite, got {days}"
        )
    return days


def check_mode(account_id: str, mode: str) -> str:
    """API authentication uses account passcodes or user passcodes."""
    if mode not in PASSCODE_MODES:
        raise LimitError(
            f"passcode mode {mode!r} for account {account_id} must be 'account' or 'user'"
        )
    return mode


def check_role(account_id: str, role: str) -> str:
    """Dashboard users are admins or members."""
    if role not in ROLES:
        raise LimitError(f"role {role!r} in account {account_id} must be 'admin' or 'member'")
    return role


def normalize_email(account_id: str, email: str) -> str:
    """Emails are matched case-insensitively; the store keeps them lower-cased."""
    folded = email.strip().lower()
    if not _EMAIL.match(folded):
        raise LimitError(f"{email!r} is not an email address (account {account_id})")
    return folded


def grant_expiry(granted_at: datetime, validity_days: int | None) -> datetime:
    """When a user passcode lapses: infinite means CleverTap's ten years."""
    days = INFINITE_VALIDITY_DAYS if validity_days is None else validity_days
    return granted_at + timedelta(days=days)


def passcode_expiry(created_at: datetime, expires_in_days: int | None) -> datetime | None:
    """An account passcode's expiry is always counted from its creation."""
    return None if expires_in_days is None else created_at + timedelta(days=expires_in_days)


def new_secret() -> str:
    """A fresh secret shaped like a CleverTap account passcode (`AMA-AUE-YWUL`).

    Letters come from one read of the OS's random source, keeping only bytes below
    234 (9 x 26) so that every letter is equally likely; `secrets.choice` per letter
    cost ten reads, half of a create's time.
    """
    letters: list[str] = []
    while len(letters) < sum(LETTER_GROUPS):
        letters += [_SECRET_LETTERS[b % 26] for b in secrets.token_bytes(16) if b < _UNBIASED_BELOW]
    groups, start = [], 0
    for size in LETTER_GROUPS:
        groups.append("".join(letters[start : start + size]))
        start += size
    return "-".join(groups)


def check_idempotency_key(key: str) -> str:
    """The contract's `Idempotency-Key`: 1-128 letters, digits, '-' or '_'."""
    if not _IDEMPOTENCY_KEY.match(key):
        raise LimitError(
            f"an idempotency key is 1-{IDEMPOTENCY_KEY_MAX} letters, digits, '-' or '_' "
            f"(got {len(key)} characters)"
        )
    return key


def new_passcode_id() -> str:
    """An opaque passcode id, stable across renames."""
    return "pc_" + secrets.token_hex(8)


def hash_secret(secret: str) -> str:
    """The only form in which the store keeps a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()
