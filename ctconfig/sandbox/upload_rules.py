"""One record of a Server API upload (`POST /1/upload`), checked as CleverTap documents it.

A record is an event, a profile or a device token, tied to a user by one of
`identity`, `objectId`, `FBID` or `GPID` (a token: by `objectId` only). A
record CleverTap would refuse comes back in the upload's `unprocessed` list
with the code CleverTap's "API Errors" page gives for it (509 event name
mandatory, 512 invalid event structure, 514-520 invalid standard profile
fields, 522 event properties limit exceeded, 523 missing identity, 524 data
neither event nor profile, 525 timestamp not in UNIX epoch format, 526
objectId invalid, 530-535 device token problems). Where the documentation
gives a rule, it is this one ("Event keys are limited to 120 characters and
property values are limited to 512 bytes", at most 256 properties, `Phone` as
`+[country code][phone number]`, `Gender` M or F, ...); where it gives a code
but no rule (what makes an email or an age invalid), the rule here is the
sandbox's guess, and the README's sandbox table says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

MAX_KEY_BYTES = 120  # "Event keys are limited to 120 characters"
MAX_VALUE_BYTES = 512  # "property values are limited to 512 bytes"
MAX_PROPERTIES = 256  # "the maximum number of properties is 256"
MAX_MULTI_VALUES = 100  # "Multi-value property values must be Strings and are limited to 100 items"
MAX_ITEMS = 100  # the sandbox's bound on a Charged event's Items (CleverTap documents none)
MAX_ID_CHARS = 512
MAX_TS = 32503680000  # year 3000, in epoch seconds
USER_KEYS = ("identity", "objectId", "FBID", "GPID")
TOKEN_TYPES = frozenset({"apns", "gcm", "fcm", "wns", "mpns", "chrome"})
CHARGED = "Charged"

# CleverTap's per-record error codes ("API Errors"), with the documentation's words.
EVENT_NAME_MANDATORY = (509, "Event name mandatory")
INVALID_STRUCTURE = (512, "Invalid event structure")
GENDER_INVALID = (514, "Gender invalid")
EMAIL_INVALID = (515, "Email invalid")
PHONE_INVALID = (516, "Phone number invalid")
EMPLOYMENT_INVALID = (517, "Employment status invalid")
EDUCATION_INVALID = (518, "Education status invalid")
MARITAL_INVALID = (519, "Marital status invalid")
AGE_INVALID = (520, "Age invalid")
PROPERTIES_LIMIT = (522, "Event properties limit exceeded")
MISSING_IDENTITY = (523, "Missing identity")
NEITHER = (524, "Data neither event nor profile")
TIMESTAMP_INVALID = (525, "Timestamp not in UNIX epoch format")
OBJECT_ID_INVALID = (526, "objectId invalid")
TOKEN_OBJECT_ID_INVALID = (530, "Invalid objectId")
TOKEN_DATA_INVALID = (531, "Invalid token data")
TOKEN_ID_MISSING = (532, "Token id is not present")
TOKEN_TYPE_MISSING = (533, "Token type is not present")
TOKEN_TYPE_UNKNOWN = (535, "Invalid token data")

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # +[country code][phone number], E.164 lengths
_STANDARD_CHOICES: dict[str, tuple[frozenset[str], tuple[int, str]]] = {
    "Gender": (frozenset({"M", "F"}), GENDER_INVALID),  # "Can be either M or F"
    "Employed": (frozenset({"Y", "N"}), EMPLOYMENT_INVALID),  # "Can be either Y or N"
    "Education": (frozenset({"Graduate", "College", "School"}), EDUCATION_INVALID),
    "Married": (frozenset({"Y", "N"}), MARITAL_INVALID),  # "Can be either Y or N"
}

Kind = Literal["event", "profile", "token"]
UserKey = Literal["identity", "objectId", "FBID", "GPID"]


class Refused(Exception):
    """A record CleverTap would not process: its documented code, and why in words."""

    def __init__(self, code: tuple[int, str], detail: str) -> None:
        super().__init__(f"{code[1]}: {detail}")
        self.code = code[0]
        self.error = f"{code[1]}: {detail}"


@dataclass(frozen=True)
class UploadRecord:
    """A record that passed every check: whose it is and what it says."""

    kind: Kind
    key: UserKey
    user: str  # the value of `key`
    ts: int | None
    name: str = ""  # an event's evtName
    data: dict[str, Any] | None = None  # evtData, profileData, or a token's tokenData


def check_record(record: Any) -> UploadRecord:
    """The record, checked; `Refused` with CleverTap's code for the first problem."""
    if not isinstance(record, dict):
        raise Refused(NEITHER, "a record must be a JSON object")
    kind = record.get("type")
    if kind not in ("event", "profile", "token"):
        raise Refused(NEITHER, "type must be event, profile or token")
    ts = _timestamp(record)
    if kind == "token":
        return _token(record, ts)
    key, user = _user(record)
    if kind == "profile":
        data = _properties(record.get("profileData"), "profileData", required=True, items=False)
        _standard_fields(data)
        return UploadRecord("profile", key, user, ts, data=data)
    name = record.get("evtName")
    if not isinstance(name, str) or not 1 <= len(name.encode()) <= MAX_VALUE_BYTES:
        raise Refused(EVENT_NAME_MANDATORY, f"evtName must be a name of 1-{MAX_VALUE_BYTES} bytes")
    data = _properties(record.get("evtData"), "evtData", required=False, items=name == CHARGED)
    return UploadRecord("event", key, user, ts, name=name, data=data)


def _timestamp(record: dict[str, Any]) -> int | None:
    ts = record.get("ts")
    if isinstance(ts, float) and ts.is_integer():
        ts = int(ts)  # JSON has one number type
    if ts is not None and (not isinstance(ts, int) or isinstance(ts, bool) or not 0 <= ts <= MAX_TS):
        raise Refused(TIMESTAMP_INVALID, "ts must be a time in epoch seconds")
    return ts


def _user(record: dict[str, Any]) -> tuple[UserKey, str]:
    """Which of identity, objectId, FBID, GPID names the user, and its value."""
    key: UserKey
    for key in ("identity", "objectId", "FBID", "GPID"):
        if key not in record or record[key] is None:
            continue
        value = record[key]
        if isinstance(value, int) and not isinstance(value, bool) and key != "objectId":
            value = str(value)  # "String or number"
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_CHARS:
            if key == "objectId":
                raise Refused(OBJECT_ID_INVALID, f"objectId must be a string of 1-{MAX_ID_CHARS} characters")
            raise Refused(
                MISSING_IDENTITY, f"{key} must be a string or number of 1-{MAX_ID_CHARS} characters"
            )
        return key, value
    raise Refused(MISSING_IDENTITY, f"a record needs one of {', '.join(USER_KEYS)}")


def _token(record: dict[str, Any], ts: int | None) -> UploadRecord:
    """A device token: `objectId` and `tokenData` with string `id` and `type`."""
    object_id = record.get("objectId")
    if not isinstance(object_id, str) or not 1 <= len(object_id) <= MAX_ID_CHARS:
        raise Refused(TOKEN_OBJECT_ID_INVALID, "a token record needs the user's objectId")
    data = record.get("tokenData")
    if not isinstance(data, dict):
        raise Refused(TOKEN_DATA_INVALID, "tokenData must be an object")
    if not data.get("id"):
        raise Refused(TOKEN_ID_MISSING, "tokenData.id is required")
    if not data.get("type"):
        raise Refused(TOKEN_TYPE_MISSING, "tokenData.type is required")
    token_id, token_type = data["id"], data["type"]
    if not isinstance(token_id, str) or len(token_id.encode()) > 4096 or token_type not in TOKEN_TYPES:
        raise Refused(
            TOKEN_TYPE_UNKNOWN, f"tokenData.id must be a string and type one of {sorted(TOKEN_TYPES)}"
        )
    return UploadRecord("token", "objectId", object_id, ts, data={"id": token_id, "type": token_type})


def _properties(data: Any, field: str, *, required: bool, items: bool) -> dict[str, Any]:
    """A property map within CleverTap's bounds (a Charged event's `Items`: a list of such maps)."""
    if data is None and not required:
        return {}
    if not isinstance(data, dict):
        raise Refused(INVALID_STRUCTURE, f"{field} must be an object")
    if len(data) > MAX_PROPERTIES:
        raise Refused(PROPERTIES_LIMIT, f"{field} holds more than {MAX_PROPERTIES} properties")
    for key, value in data.items():
        if not 1 <= len(key.encode()) <= MAX_KEY_BYTES:
            raise Refused(INVALID_STRUCTURE, f"{field} property names are 1-{MAX_KEY_BYTES} bytes")
        if items and key == "Items" and _charged_items(value):
            continue
        if not value_fits(value):
            raise Refused(
                INVALID_STRUCTURE,
                f"{field}[{key!r}] must be a number, true/false, null, a string of at most "
                f"{MAX_VALUE_BYTES} bytes or a list of at most {MAX_MULTI_VALUES} such strings",
            )
    return data


def _charged_items(value: Any) -> bool:
    """A Charged event's Items: up to `MAX_ITEMS` objects of scalar properties."""
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        return False
    return all(
        isinstance(item, dict)
        and len(item) <= MAX_PROPERTIES
        and all(1 <= len(k.encode()) <= MAX_KEY_BYTES and _scalar(v) for k, v in item.items())
        for item in value
    )


def _standard_fields(data: dict[str, Any]) -> None:
    """CleverTap's standard profile fields, each with its documented code when invalid."""
    email = data.get("Email")
    if email is not None and not (isinstance(email, str) and _EMAIL.match(email)):
        raise Refused(EMAIL_INVALID, "Email must be an email address")
    phone = data.get("Phone")
    if phone is not None and not (isinstance(phone, str) and _PHONE.match(phone)):
        raise Refused(PHONE_INVALID, "Phone must be +[country code][phone number], e.g. +14155551234")
    for field, (allowed, code) in _STANDARD_CHOICES.items():
        if field in data and data[field] not in allowed:
            raise Refused(code, f"{field} must be one of {', '.join(sorted(allowed))}")
    age = data.get("Age")
    if age is not None and not (isinstance(age, int) and not isinstance(age, bool) and 0 <= age <= 150):
        raise Refused(AGE_INVALID, "Age must be a whole number from 0 to 150")


def _scalar(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and len(value.encode()) <= MAX_VALUE_BYTES


def value_fits(value: Any) -> bool:
    """A property value CleverTap takes: a scalar, or a list of at most 100 strings."""
    if isinstance(value, list):
        return len(value) <= MAX_MULTI_VALUES and all(
            isinstance(item, str) and len(item.encode()) <= MAX_VALUE_BYTES for item in value
        )
    return _scalar(value)
