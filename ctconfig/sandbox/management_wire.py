"""The management API's records and request fields as they look on the wire (the contract).

Bodies are read within the management limit (`http_common`); each field is
checked for its JSON type here, and for the domain's rules by the store.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from ctconfig.domain import ObservedGrant, ObservedPasscode, expiry_status, isoformat
from ctconfig.errors import LimitError
from ctconfig.sandbox import rules
from ctconfig.sandbox.http_common import MANAGEMENT_BODY_LIMIT, ApiError, read_json


def passcode_json(passcode: ObservedPasscode, now: Any) -> dict[str, Any]:
    """A passcode as the contract's `Passcode`, its status judged at `now`."""
    return {
        "id": passcode.id,
        "name": passcode.name,
        "expires_in_days": passcode.expires_in_days,
        "created_at": isoformat(passcode.created_at),
        "expires_at": isoformat(passcode.expires_at),
        "status": expiry_status(passcode.expires_at, now).value,
    }


def grant_json(grant: ObservedGrant | None, now: Any) -> dict[str, Any] | None:
    """A user passcode grant as the contract's `Grant` (None: not granted)."""
    if grant is None:
        return None
    return {
        "validity_days": grant.validity_days,
        "granted_at": isoformat(grant.granted_at),
        "expires_at": isoformat(grant.expires_at),
        "status": expiry_status(grant.expires_at, now).value,
    }


# ---- request bodies ---------------------------------------------------------------------


async def json_object(request: Request, allowed: set[str]) -> dict[str, Any]:
    """The body as a JSON object with only `allowed` keys, else 400 (413 when too large)."""
    body = await read_json(request, MANAGEMENT_BODY_LIMIT)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}; expected {', '.join(sorted(allowed))}")
    return body


def idempotency_key(request: Request) -> str | None:
    """The `Idempotency-Key` header, held to the contract's pattern (400 otherwise)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    try:
        return rules.check_idempotency_key(key)
    except LimitError:
        raise ApiError(
            400,
            f"Idempotency-Key must be 1-{rules.IDEMPOTENCY_KEY_MAX} letters, digits, '-' or '_'",
        ) from None


def days_field(body: dict[str, Any], key: str) -> int | None:
    """An integer number of days or null."""
    value = body[key]
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():  # JSON has one number type: 10.0 is 10
        return int(value)
    raise ApiError(400, f"{key} must be an integer number of days or null")


def name_field(body: dict[str, Any]) -> str:
    """The passcode name, a string."""
    value = body["name"]
    if not isinstance(value, str):
        raise ApiError(400, "name must be a string")
    return value  # length and characters are the store's rules (rules.check_passcode_name)


def require(body: dict[str, Any], *keys: str) -> None:
    """400 naming the first missing field."""
    for key in keys:
        if key not in body:
            raise ApiError(400, f"missing field {key!r}")
