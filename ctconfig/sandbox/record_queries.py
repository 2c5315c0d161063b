"""Queries over uploaded records: the Get Events and Get User Profiles cursors, and the counts.

A query is CleverTap's JSON: `event_name`, `from` and `to` (days as
`YYYYMMDD` numbers), and optionally property filters (`props` as CleverTap's
Node client and older documentation write them, `event_properties` as the
count endpoints document them), each `{"name", "operator", "value"}`; the
sandbox knows the operators `equals` and `contains` (CleverTap's examples
use `contains`; others are refused rather than ignored). Cursors are kept by
token, a bounded number, each one a position (not a copy of the records), so
a client that repeats a page request after a lost answer gets the same page.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from ctconfig.sandbox.records import Event, UploadedRecords

MAX_CURSORS = 1000
MAX_FILTERS = 16
MAX_VALUE_BYTES = 512
FIRST_DAY, LAST_DAY = 10000101, 99991231
OPERATORS = ("equals", "contains")

CursorKind = Literal["profiles", "events"]


class QueryError(ValueError):
    """A query the sandbox cannot answer, in words for a 400."""


@dataclass(frozen=True)
class PropertyFilter:
    """One `{"name", "operator", "value"}` filter on event properties."""

    name: str
    operator: str
    value: str | int | float | bool

    def matches(self, props: dict[str, Any]) -> bool:
        found = props.get(self.name)
        if self.operator == "equals":
            return found == self.value
        return isinstance(found, str) and str(self.value).casefold() in found.casefold()


@dataclass(frozen=True)
class Query:
    """Events of one name in a day range, filtered, in one account."""

    account_id: str
    event_name: str
    first_day: int
    last_day: int
    filters: tuple[PropertyFilter, ...] = ()

    def matches(self, event: Event) -> bool:
        return (
            event.account_id == self.account_id
            and event.name == self.event_name
            and self.first_day <= event.day() <= self.last_day
            and all(f.matches(event.props) for f in self.filters)
        )


def parse_query(account_id: str, body: Any) -> Query:
    """CleverTap's query JSON as a `Query`; `QueryError` naming what is wrong."""
    if not isinstance(body, dict):
        raise QueryError('the query must be {"event_name": ..., "from": YYYYMMDD, "to": YYYYMMDD}')
    name = body.get("event_name")
    if not isinstance(name, str) or not 1 <= len(name.encode()) <= MAX_VALUE_BYTES:
        raise QueryError(f"event_name must be a name of 1-{MAX_VALUE_BYTES} bytes")
    first, last = parse_day(body.get("from")), parse_day(body.get("to"))
    if first is None or last is None:
        raise QueryError("from and to must be days as YYYYMMDD numbers")
    filters = [*_filters(body, "props"), *_filters(body, "event_properties")]
    return Query(account_id, name, first, last, tuple(filters))  # from after to: an empty range


def _filters(body: dict[str, Any], key: str) -> list[PropertyFilter]:
    if key not in body:
        return []
    value = body[key]
    if not isinstance(value, list) or len(value) > MAX_FILTERS:
        raise QueryError(f"{key} must be a list of at most {MAX_FILTERS} filters")
    filters = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise QueryError(f'each of {key} must be {{"name": ..., "operator": ..., "value": ...}}')
        operator, wanted = item.get("operator", "equals"), item.get("value")
        if operator not in OPERATORS:
            raise QueryError(
                f"the sandbox filters {key} with {' and '.join(OPERATORS)} only, not {operator!r}"
            )
        if not isinstance(wanted, str | int | float | bool) or len(str(wanted).encode()) > MAX_VALUE_BYTES:
            raise QueryError(
                f"each of {key} needs a value: a string of at most {MAX_VALUE_BYTES} bytes or a number"
            )
        filters.append(PropertyFilter(item["name"], operator, wanted))
    return filters


def parse_day(value: object) -> int | None:
    """A `YYYYMMDD` number (compared as a number: 20240230 simply matches no event), else None.

    JSON has one number type, so 20240101.0 is the same day."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not FIRST_DAY <= value <= LAST_DAY:
        return None
    return value


def count_events(records: UploadedRecords, query: Query) -> int:
    """How many events match (the Get Event Count API)."""
    return sum(1 for event in records.events if query.matches(event))


def count_profiles(records: UploadedRecords, query: Query) -> int:
    """How many users did a matching event (the Get Profile Count API)."""
    return len({event.object_id for event in records.events if query.matches(event)})


@dataclass
class Cursor:
    """A position in a query; the token of the page after it, once asked for."""

    query: Query
    kind: CursorKind
    batch_size: int
    after: int  # the seq of the last record already handed out
    next_token: str | None = None


@dataclass
class Cursors:
    """The open cursors over one `UploadedRecords`, at most `MAX_CURSORS` (the least used go first)."""

    records: UploadedRecords
    open: OrderedDict[str, Cursor] = field(default_factory=OrderedDict)

    def start(self, query: Query, kind: CursorKind, batch_size: int) -> str:
        """A token for the first page of `query`."""
        return self._token(Cursor(query, kind, batch_size, 0))

    def page(self, account_id: str, token: str, kind: CursorKind) -> tuple[list[dict[str, Any]], str | None]:
        """The records at this cursor and the cursor of the next page (None at the end).

        KeyError when the token is unknown, forgotten, another account's or of the other kind.
        """
        cursor = self.open[token]
        if cursor.query.account_id != account_id or cursor.kind != kind:
            raise KeyError(token)
        self.open.move_to_end(token)
        found = self._events(cursor) if kind == "events" else self._profiles(cursor)
        more = len(found) > cursor.batch_size
        found = found[: cursor.batch_size]
        if more and (cursor.next_token is None or cursor.next_token not in self.open):
            cursor.next_token = self._token(Cursor(cursor.query, kind, cursor.batch_size, found[-1][0]))
        return [record for _, record in found], cursor.next_token if more else None

    def _token(self, cursor: Cursor) -> str:
        token = secrets.token_urlsafe(18)
        self.open[token] = cursor
        while len(self.open) > MAX_CURSORS:
            self.open.popitem(last=False)
        return token

    def _events(self, cursor: Cursor) -> list[tuple[int, dict[str, Any]]]:
        page = []
        for event in self.records.events:
            if event.seq > cursor.after and cursor.query.matches(event):
                page.append((event.seq, self.records.event_record(event)))
                if len(page) > cursor.batch_size:
                    break
        return page

    def _profiles(self, cursor: Cursor) -> list[tuple[int, dict[str, Any]]]:
        users = {e.object_id for e in self.records.events if cursor.query.matches(e)}
        account = cursor.query.account_id
        found = sorted(
            (
                p
                for (a, object_id), p in self.records.profiles.items()
                if a == account and object_id in users and p.seq > cursor.after
            ),
            key=lambda p: p.seq,
        )
        return [(p.seq, p.as_record()) for p in found[: cursor.batch_size + 1]]
