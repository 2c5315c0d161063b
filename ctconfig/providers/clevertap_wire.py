"""The management API's JSON, both ways: answers into records, error answers into one line.

Parsers raise KeyError/TypeError/ValueError on anything off-contract; the
provider turns those into a `WireError` naming the account. Error messages
quote the server's `error` field (the contract promises it holds no secret),
cut to 200 characters, redacted and with control characters made visible
(`visible`), and never any other part of a body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from ctconfig.domain import (
    AccountSnapshot,
    AccountTarget,
    ObservedGrant,
    ObservedPasscode,
    ObservedUser,
    parse_isoformat,
)
from ctconfig.errors import (
    AuthError,
    ConflictError,
    LimitError,
    NotFoundError,
    ProviderError,
    UnavailableError,
)
from ctconfig.providers.http_framing import Answer
from ctconfig.redaction import redact
from ctconfig.visible import visible

_MAX_ERROR_TEXT = 200


class WireError(ProviderError):
    """The API answered something that does not follow the contract, or cannot be called."""


def answer_json(response: Answer) -> Any:
    """The answer's JSON; ValueError when it is not JSON or nests deeper than orjson's bound (1,024).

    The transport has already bounded its size; orjson refuses deep nesting
    without recursing in Python, so a hostile answer cannot exhaust the stack.
    """
    return orjson.loads(response.content)


def success_payload(response: Answer) -> dict[str, Any]:
    """The JSON object of a 2xx answer in the `{"status": "success", ...}` envelope."""
    data = answer_json(response)
    if not isinstance(data, dict) or data.get("status") != "success":
        raise ValueError(f"HTTP {response.status_code} without a success envelope")
    return data


def _moment(value: Any) -> datetime:
    moment = parse_isoformat(value) if isinstance(value, str) else None
    if moment is None:
        raise ValueError(f"expected an ISO 8601 timestamp, got {type(value).__name__}")
    return moment


def _days(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a number of days or null, got {type(value).__name__}")
    return value


def passcode_from(item: Any) -> ObservedPasscode:
    """A `Passcode` object of the contract."""
    if not isinstance(item, dict):
        raise TypeError("expected a passcode object")
    expires_at = item["expires_at"]
    return ObservedPasscode(
        id=str(item["id"]),
        name=str(item["name"]),
        expires_in_days=_days(item["expires_in_days"]),
        created_at=_moment(item["created_at"]),
        expires_at=None if expires_at is None else _moment(expires_at),
    )


def grant_from(email: str, item: Any) -> ObservedGrant:
    """A `Grant` object of the contract, for the user it belongs to."""
    if not isinstance(item, dict):
        raise TypeError("expected a user passcode object")
    return ObservedGrant(
        email=email.lower(),
        validity_days=_days(item["validity_days"]),
        granted_at=_moment(item["granted_at"]),
        expires_at=_moment(item["expires_at"]),
    )


def user_from(item: Any) -> ObservedUser:
    """A `User` object of the contract, with its grant if any."""
    if not isinstance(item, dict):
        raise TypeError("expected a user object")
    email = str(item["email"]).lower()
    grant = item["user_passcode"]
    return ObservedUser(
        email=email,
        role=str(item["role"]),
        grant=None if grant is None else grant_from(email, grant),
    )


def snapshot_from(
    account_id: str,
    passcodes: dict[str, Any],
    users: dict[str, Any],
    mode: dict[str, Any],
) -> AccountSnapshot:
    """One refresh from the three list answers; `server_time` of the passcode list is `now`."""
    return AccountSnapshot(
        account_id=account_id,
        passcode_mode=str(mode["passcode_mode"]),
        observed_at=_moment(passcodes["server_time"]),
        passcodes=tuple(passcode_from(item) for item in passcodes["passcodes"]),
        users=tuple(user_from(item) for item in users["users"]),
    )


def error_text(response: Answer) -> str:
    """The server's one-line `error`, if the body is a contract error; else empty."""
    try:
        data = answer_json(response)
    except ValueError:
        return ""
    if not isinstance(data, dict) or data.get("status") != "fail":
        return ""
    text = data.get("error")
    if not isinstance(text, str):
        return ""
    line = " ".join(text.split())
    return visible(redact(line[:_MAX_ERROR_TEXT]))


def answer_error(target: AccountTarget, response: Answer, what: str, *, suffix: str = "") -> ProviderError:
    """The one-line error a user can act on for a 4xx/5xx answer about `what`."""
    status = response.status_code
    text = error_text(response)
    account = f"account `{target.alias}`"
    env = target.passcode_env or "the admin passcode variable"
    if status == 401:
        return AuthError(
            f"credentials for {account} were rejected; check {env} "
            f"(it may have expired or been revoked){suffix}"
        )
    if status == 403:
        return AuthError(f"the passcode in {env} for {account} is not an admin's passcode{suffix}")
    if status == 404:
        return NotFoundError(f"{account}: {text or what + ' does not exist'}")
    if status == 409:
        return ConflictError(f"{account}: {text or what + ' already exists'}")
    if status in (400, 422):
        return LimitError(f"{account}: {text or 'the API refused the request about ' + what}")
    if status == 429:
        return UnavailableError(f"{account}: still throttled (429) on {what}{suffix}")
    if status >= 500:
        detail = f": {text}" if text else ""
        return UnavailableError(f"{account}: server error {status} on {what}{suffix}{detail}")
    return ProviderError(f"{account}: unexpected answer {status} on {what}")
