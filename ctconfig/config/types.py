"""The value types of the config: durations, names, emails, ids, and the limits they obey.

Each is an `Annotated` type with its parser and its JSON Schema, so the models
in `models.py` read as the config's shape and this module holds the rules of
a single value. Durations become days (`int`) or `None` for CleverTap's
unbounded words (`forever`, `infinite`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from ctconfig.domain import RETIRING_MARK

REGIONS = ("in1", "sg1", "us1", "aps3", "mec1", "eu1")
Region = Literal["in1", "sg1", "us1", "aps3", "mec1", "eu1"]
Unmanaged = Literal["ignore", "warn", "delete"]
PasscodeMode = Literal["account", "user"]

MAX_ACCOUNT_PASSCODES = 100
MAX_VALIDITY_DAYS = 365
MAX_NAME_LENGTH = 64
ALIAS_PATTERN = r"^[A-Za-z0-9_.-]+$"
ACCOUNT_ID_PATTERN = r"^(?:TEST-)?[A-Z0-9]{3,4}(?:-[A-Z0-9]{3,4})+$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
DURATION_KEYS = frozenset(
    {"expires_in", "rotate_before", "validity", "reset_before", "rotation_overlap", "lock_ttl"}
)

_DAYS = re.compile(r"^\s*(\d+)\s*d?\s*$", re.IGNORECASE)


def parse_days(value: Any, unbounded: str | None = None) -> int | None:
    """`90d`, `90` or 90 → 90; the unbounded word (if allowed) → None.

    Raises ValueError("expected ..., got ...") naming the accepted forms.
    """
    try:
        return _days_or_unbounded(value, unbounded)
    except ValueError as exc:
        raise ValueError(f"{exc}, got {value!r}") from None


def _days_or_unbounded(value: Any, unbounded: str | None) -> int | None:
    """parse_days without the echo: the loader adds what was found (or hides it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if unbounded is not None and value.strip().lower() == unbounded:
            return None
        match = _DAYS.match(value)
        if match:
            return int(match.group(1))
    expected = "a number of days such as 90d"
    if unbounded:
        expected += f" or {unbounded!r}"
    raise ValueError(f"expected {expected}")


def _expiry(value: Any) -> int | None:
    days = _days_or_unbounded(value, "forever")
    if days is not None and days < 1:
        raise ValueError("expected at least 1 day, or 'forever'")
    return days


def _validity(value: Any) -> int | None:
    days = _days_or_unbounded(value, "infinite")
    if days is not None and not 1 <= days <= MAX_VALIDITY_DAYS:
        raise ValueError(f"expected 1 to {MAX_VALIDITY_DAYS} days, or 'infinite'")
    return days


def _days(value: Any) -> int:
    days = _days_or_unbounded(value, None)
    if days is None or days < 0:
        raise ValueError("expected a number of days such as 14d")
    return days


def check_passcode_name(name: str) -> str:
    """An account passcode name as CleverTap and ctconfig's rotation accept it."""
    if RETIRING_MARK in name:
        raise ValueError(f"'{RETIRING_MARK}' is reserved for rotation; expected a name without it")
    if not 1 <= len(name) <= MAX_NAME_LENGTH or "/" in name or not name.isprintable():
        raise ValueError(f"expected 1 to {MAX_NAME_LENGTH} printable characters without '/'")
    return name


def _passcode_name_key(name: str) -> str:
    try:
        return check_passcode_name(name)
    except ValueError as exc:
        raise ValueError(f"account passcode name {name!r}: {exc}") from None


def _email_key(email: str) -> str:
    if not re.match(EMAIL_PATTERN, email):
        raise ValueError(f"user {email!r}: expected an email address such as alice@example.com")
    return email.lower()


def _alias_key(alias: str) -> str:
    if not re.match(ALIAS_PATTERN, alias):
        raise ValueError(f"account alias {alias!r}: expected letters, digits, '_', '.' or '-'")
    return alias


def _account_id(value: str) -> str:
    if not re.match(ACCOUNT_ID_PATTERN, value):
        raise ValueError("expected a CleverTap account id such as W9R-486-4W5Z or TEST-R78-ZZK-955Z")
    return value


def _env_name(value: str) -> str:
    if not re.match(ENV_NAME_PATTERN, value):
        raise ValueError("expected an environment variable name such as CT_PROD_PASSCODE")
    return value


def parse_command(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(part, str) for part in value):
        return value
    raise ValueError("expected a command line, as a string or a list of strings")


_DAYS_PATTERN = r"^[0-9]+d?$"
ExpiresIn = Annotated[
    int | None,
    BeforeValidator(_expiry),
    WithJsonSchema(
        {
            "description": "Days until the passcode expires (90d or 90), or 'forever'.",
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": _DAYS_PATTERN},
                {"const": "forever"},
            ],
        }
    ),
]
Validity = Annotated[
    int | None,
    BeforeValidator(_validity),
    WithJsonSchema(
        {
            "description": "Validity of the user passcode: 1-365 days (30d or 30), or 'infinite'.",
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_VALIDITY_DAYS},
                {"type": "string", "pattern": _DAYS_PATTERN},
                {"const": "infinite"},
            ],
        }
    ),
]
Days = Annotated[
    int,
    BeforeValidator(_days),
    WithJsonSchema(
        {
            "description": "A number of days (14d or 14).",
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": _DAYS_PATTERN}],
        }
    ),
]
EnvName = Annotated[
    str, AfterValidator(_env_name), WithJsonSchema({"type": "string", "pattern": ENV_NAME_PATTERN})
]
AccountId = Annotated[
    str,
    AfterValidator(_account_id),
    WithJsonSchema({"type": "string", "pattern": ACCOUNT_ID_PATTERN}),
]
AccountAlias = Annotated[str, AfterValidator(_alias_key)]
PasscodeName = Annotated[str, AfterValidator(_passcode_name_key)]
Email = Annotated[str, AfterValidator(_email_key)]
