"""Resource addresses and the records every layer shares.

These are plain, frozen dataclasses: the provider produces them, the planner
compares them, the state stores them. Nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

from ctconfig import durations

EXPIRING_SOON = timedelta(days=30)
# CleverTap's API hosts by region; eu1 is the default region.
REGION_HOSTS = {
    "eu1": "api.clevertap.com",
    "in1": "in1.api.clevertap.com",
    "sg1": "sg1.api.clevertap.com",
    "us1": "us1.api.clevertap.com",
    "aps3": "aps3.api.clevertap.com",
    "mec1": "mec1.api.clevertap.com",
}
INFINITE_VALIDITY_DAYS = 3650  # CleverTap: an "infinite" user passcode is valid up to 10 years
# CleverTap's limits, defined once: config validation, the sandbox and the planner use these.
REGIONS = tuple(REGION_HOSTS)
MAX_ACCOUNT_PASSCODES = 100  # account passcodes per account
MAX_NAME_LENGTH = 64  # characters in an account passcode name
MIN_VALIDITY_DAYS = 1  # a finite user passcode: 1-365 days
MAX_VALIDITY_DAYS = 365
FOREVER = "forever"  # an account passcode that never expires
INFINITE = "infinite"  # a user passcode with no set validity


PasscodeMode = Literal["account", "user"]
"""Which credentials authenticate API calls: account passcodes, or users' own passcodes."""


def passcode_mode(text: str) -> PasscodeMode:
    """An account's passcode mode from a provider's answer (anything but `user` is `account`)."""
    return "user" if text == "user" else "account"


class ResourceKind(StrEnum):
    """The three things ctconfig manages inside an account."""

    ACCOUNT_PASSCODE = "account_passcode"
    USER_PASSCODE = "user_passcode"
    SETTINGS = "settings"


class PasscodeStatus(StrEnum):
    """A passcode's status as the dashboard shows it."""

    ACTIVE = "active"
    EXPIRING_SOON = "expiring soon"
    EXPIRED = "expired"
    RETIRING = "retiring"


RETIRING_MARK = "~retiring-"
MAX_ADDRESS_LENGTH = 400
_ADDRESS_JSON = r"^[A-Za-z0-9_.-]+/(?:(?:account_passcode|user_passcode)/.+|settings)$"
_ALIAS = r"[A-Za-z0-9_.-]+"
_ADDRESS = re.compile(
    rf"^(?P<account>{_ALIAS})/(?:(?P<kind>account_passcode|user_passcode)/(?P<name>.+)|settings)$"
)


_KINDS = {kind.value: kind for kind in ResourceKind}


@dataclass(frozen=True, order=True)
class Address:
    """Where a resource lives: `prod/account_passcode/segment-export`, `prod/settings`."""

    account: str
    kind: ResourceKind
    name: str = ""

    def __str__(self) -> str:
        if self.kind is ResourceKind.SETTINGS:
            return f"{self.account}/settings"
        return f"{self.account}/{self.kind.value}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse an address; raises ValueError with the accepted forms."""
        match = _ADDRESS.match(text)
        if not match:
            raise ValueError(
                f"{text!r} is not a resource address; expected ACCOUNT/account_passcode/NAME, "
                "ACCOUNT/user_passcode/EMAIL or ACCOUNT/settings"
            )
        account, kind, name = match.group("account", "kind", "name")
        return cls(account, _KINDS[kind] if kind else ResourceKind.SETTINGS, name or "")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """In documents an address is its text; reading it back checks the form."""
        from pydantic_core import core_schema

        def parse(value: Any) -> Address:
            if isinstance(value, Address):
                return value
            if not isinstance(value, str) or len(value) > MAX_ADDRESS_LENGTH:
                raise ValueError("expected a resource address such as prod/account_passcode/NAME")
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            parse, serialization=core_schema.to_string_ser_schema()
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": _ADDRESS_JSON, "maxLength": MAX_ADDRESS_LENGTH}

    @classmethod
    def account_passcode(cls, account: str, name: str) -> Address:
        return cls(account, ResourceKind.ACCOUNT_PASSCODE, name)

    @classmethod
    def user_passcode(cls, account: str, email: str) -> Address:
        return cls(account, ResourceKind.USER_PASSCODE, email.lower())

    @classmethod
    def settings(cls, account: str) -> Address:
        return cls(account, ResourceKind.SETTINGS)


@dataclass(frozen=True)
class AccountTarget:
    """What a provider needs to reach one account. Holds no secret, only the env var's name."""

    alias: str
    account_id: str
    region: str
    passcode_env: str | None = None
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObservedPasscode:
    """An account passcode as the account reports it. `expires_in_days=None` means forever."""

    id: str
    name: str
    expires_in_days: int | None
    created_at: datetime
    expires_at: datetime | None

    def status(self, now: datetime) -> PasscodeStatus:
        if RETIRING_MARK in self.name:
            return PasscodeStatus.RETIRING
        return expiry_status(self.expires_at, now)


@dataclass(frozen=True)
class ObservedGrant:
    """A user passcode as the account reports it. `validity_days=None` means infinite."""

    email: str
    validity_days: int | None
    granted_at: datetime
    expires_at: datetime

    def status(self, now: datetime) -> PasscodeStatus:
        return expiry_status(self.expires_at, now)


@dataclass(frozen=True)
class ObservedUser:
    """A dashboard user and, if granted, their user passcode."""

    email: str
    role: str  # "admin" | "member"
    grant: ObservedGrant | None = None


@dataclass(frozen=True)
class AccountSnapshot:
    """Everything ctconfig reads from one account in one refresh."""

    account_id: str
    passcode_mode: str  # "account" | "user"
    observed_at: datetime  # the account's clock when read: expiry is judged against it
    passcodes: tuple[ObservedPasscode, ...] = ()
    users: tuple[ObservedUser, ...] = field(default_factory=tuple)

    # Indexes, built once per snapshot: refresh looks up every managed resource.
    @cached_property
    def _by_name(self) -> dict[str, ObservedPasscode]:
        return {p.name.casefold(): p for p in self.passcodes}

    @cached_property
    def _by_id(self) -> dict[str, ObservedPasscode]:
        return {p.id: p for p in self.passcodes}

    @cached_property
    def _by_email(self) -> dict[str, ObservedUser]:
        return {u.email.casefold(): u for u in self.users}

    def passcode_named(self, name: str) -> ObservedPasscode | None:
        return self._by_name.get(name.casefold())

    def passcode_by_id(self, passcode_id: str) -> ObservedPasscode | None:
        return self._by_id.get(passcode_id)

    def user(self, email: str) -> ObservedUser | None:
        return self._by_email.get(email.casefold())


def expiry_status(expires_at: datetime | None, now: datetime) -> PasscodeStatus:
    """Active, expiring soon (within 30 days) or expired, as CleverTap defines them."""
    if expires_at is None:
        return PasscodeStatus.ACTIVE
    if expires_at <= now:
        return PasscodeStatus.EXPIRED
    if expires_at - now <= EXPIRING_SOON:
        return PasscodeStatus.EXPIRING_SOON
    return PasscodeStatus.ACTIVE


def warning_days(term_days: int | None) -> int:
    """How many days before expiry a passcode is worth a warning: 30, or a third of a shorter term.

    CleverTap calls every passcode "expiring soon" in its last 30 days, so a 30-day
    passcode is "expiring soon" from the moment it is made; warning about it from
    creation would teach people to ignore the warning.
    """
    if term_days is None:
        return EXPIRING_SOON.days
    return min(EXPIRING_SOON.days, max(1, -(-term_days // 3)))


def format_days(days: int | None, unbounded: str = "forever") -> str:
    """`90d`, or CleverTap's word for no limit (`forever` / `infinite`); see `durations`."""
    return durations.format_days(days, unbounded)


def parse_days_text(text: object) -> int | None:
    """The inverse of `format_days`: `90d` → 90, `forever` / `infinite` → None.

    Reads ctconfig's own records (state, plans): no upper bound, since they hold what an
    account reported. Raises `durations.DurationError` (a ValueError) on anything else.
    """
    return durations.parse_days(str(text), durations.UNBOUNDED_WORDS, maximum=None)


def isoformat(moment: datetime | None) -> str | None:
    """UTC timestamps in state, plans and locks: second precision, `Z` suffix (None stays None)."""
    if moment is None:
        return None
    return moment_text(moment)


def utc_now_text() -> str:
    """This moment as `2026-11-29T10:00:00Z`."""
    return moment_text(datetime.now(UTC))


def moment_text(moment: datetime) -> str:
    """A moment as `2026-11-29T10:00:00Z` (UTC, second precision)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_isoformat(text: str | None) -> datetime | None:
    from datetime import datetime as _dt

    if text is None:
        return None
    return _dt.fromisoformat(text.replace("Z", "+00:00"))


# -- what a CleverTap passcode secret looks like ---------------------------------------------
# The one place that knows. Account passcodes seen in the wild are upper-case letter groups
# joined by dashes (`AMA-AUE-YWUL`: three groups, the last of three or four letters); some
# accounts show 32 hex characters. The sandbox issues the letter shape (`LETTER_GROUPS`);
# the dashboard provider accepts both shapes and refuses anything else.

LETTER_GROUPS = (3, 3, 4)  # the sandbox's issued shape, as in the example AMA-AUE-YWUL
PASSCODE_SHAPES: dict[str, re.Pattern[str]] = {
    "upper-case letter groups such as AMA-AUE-YWUL": re.compile(r"^[A-Z]{3}-[A-Z]{3}-[A-Z]{3,4}$"),
    "32 hex characters": re.compile(r"^[0-9A-Fa-f]{32}$"),
}


def passcode_shape_problem(text: str) -> str | None:
    """None when `text` has a CleverTap passcode's shape, else why not, in words.

    The message describes the text (length, kinds of characters) without ever
    quoting it: what was pasted may be a secret, or half of one.
    """
    if any(pattern.match(text) for pattern in PASSCODE_SHAPES.values()):
        return None
    expected = " or ".join(PASSCODE_SHAPES)
    return f"a CleverTap passcode is {expected}; got {_describe_characters(text)}"


def _describe_characters(text: str) -> str:
    """`12 characters including lower-case letters and spaces`, never the characters."""
    if not text:
        return "nothing"
    checks = (
        ("lower-case letters", str.islower),
        ("spaces or line breaks", str.isspace),
        ("punctuation other than '-'", lambda c: not c.isalnum() and not c.isspace() and c != "-"),
    )
    kinds = [label for label, test in checks if any(test(c) for c in text)]
    size = f"{len(text)} character" + ("" if len(text) == 1 else "s")
    return f"{size} including {' and '.join(kinds)}" if kinds else size
