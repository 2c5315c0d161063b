"""The JSON forms of domain values, for every document ctconfig writes (state, plans, journal).

In memory a number of days is an `int` (`None` for CleverTap's unbounded words),
a moment is an aware `datetime`, an address is an `Address`. Only the
serialisers below turn them into `90d`, `forever`, `2026-11-29T10:00:00Z` and
`prod/account_passcode/x`, and only their validators turn text back, strictly,
so a hand-edited document with `"expires_in": "soon"` is refused with the field
that is wrong.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, ValidationError, WithJsonSchema

from ctconfig.domain import FOREVER, INFINITE, moment_text
from ctconfig.visible import visible

_DAYS_TEXT = re.compile(r"^([1-9][0-9]{0,4})d$")
MAX_TEXT = 512
"""No string in a document ctconfig reads is longer than this (names are 64, reasons a line)."""


def days_text(days: int | None, unbounded: str) -> str:
    """`90d`, or the unbounded word."""
    return unbounded if days is None else f"{days}d"


def _days_parser(unbounded: str) -> Any:
    def parse(value: Any) -> Any:
        if value == unbounded:
            return None
        if isinstance(value, str):
            match = _DAYS_TEXT.match(value)
            if match:
                return int(match.group(1))
        raise ValueError(f"expected a number of days such as 90d, or {unbounded!r}")

    return parse


def _days_type(unbounded: str) -> Any:
    pattern = rf"^([1-9][0-9]{{0,4}}d|{unbounded})$"
    return Annotated[
        int | None,
        BeforeValidator(_days_parser(unbounded)),
        PlainSerializer(lambda days: days_text(days, unbounded), return_type=str),
        WithJsonSchema({"type": "string", "pattern": pattern}),
    ]


ExpiryDays = _days_type(FOREVER)
"""An account passcode's expiry: `90d` or `forever` (None)."""
ValidityDays = _days_type(INFINITE)
"""A user passcode's validity: `30d` or `infinite` (None)."""


def timestamp_text(moment: datetime) -> str:
    """UTC, second precision, `Z` suffix: the one way documents spell a moment."""
    return moment_text(moment)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("expected a time with a time zone, such as 2026-11-29T10:00:00Z")
    return moment.astimezone(UTC)


Timestamp = Annotated[
    datetime,
    AfterValidator(_aware),
    PlainSerializer(timestamp_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A moment, written as `2026-11-29T10:00:00Z`."""

Text = Annotated[str, Field(max_length=MAX_TEXT)]
"""Any free text in a document: bounded."""


def describe_validation(exc: ValidationError, limit: int = 3) -> str:
    """`resources.prod/settings.passcode_mode: expected 'account' or 'user'` — the first problems."""
    parts = []
    for error in exc.errors(include_url=False)[:limit]:
        where = ".".join(visible(str(p), 80) for p in error["loc"] if p not in _UNION_TAGS)
        parts.append(f"{where or 'document'}: {visible(error['msg'], 200)}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more problem(s)" if more > 0 else "")


_UNION_TAGS = frozenset(
    {"account_passcode", "user_passcode", "settings", "begin", "intent", "record", "closed"}
)
