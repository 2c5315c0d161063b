"""The records a rehearsing integration uploads to the sandbox: kept in memory, bounded.

The Server API endpoints (`server_api`) exist so that a team can point its own
integration at `ctconfig sandbox serve` and watch its passcodes work or stop
working; the data it sends only needs to come back in the documented shapes.
So profiles and events live in this process's memory, within a byte budget
(the oldest events make room; when only profiles are left, new ones are
refused), and vanish when the server stops. Cursors over them are kept by
token, a bounded number, each one a position (not a copy of the records), so
a client that repeats a page request after a lost answer gets the same page.
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any, Literal

MAX_BYTES = 16 * 1024 * 1024  # all uploaded records together
MAX_RECORD_BYTES = 64 * 1024
MAX_CURSORS = 1000
FIRST_DAY, LAST_DAY = 10000101, 99991231

CursorKind = Literal["profiles", "events"]


@dataclass
class Profile:
    """A user's profile: identity and the merged `profileData`."""

    seq: int
    account_id: str
    identity: str
    data: dict[str, Any]
    size: int

    def as_record(self) -> dict[str, Any]:
        """The profile as the Server API returns it."""
        email, name = self.data.get("Email"), self.data.get("Name")
        return {
            "identity": self.identity,
            "email": email if isinstance(email, str) else None,
            "name": name if isinstance(name, str) else None,
            "profileData": self.data,
        }


@dataclass
class Event:
    """One uploaded event."""

    seq: int
    account_id: str
    identity: str
    name: str
    props: dict[str, Any]
    ts: int  # epoch seconds
    size: int

    def day(self) -> int:
        """The event's UTC day as CleverTap's `YYYYMMDD` number."""
        return int(datetime.fromtimestamp(self.ts, UTC).strftime("%Y%m%d"))


@dataclass(frozen=True)
class Query:
    """What a cursor walks: one account's profiles or events of one event in a day range."""

    account_id: str
    kind: CursorKind
    event_name: str
    first_day: int
    last_day: int
    batch_size: int


@dataclass
class Cursor:
    """A position in a query; the token of the page after it, once asked for."""

    query: Query
    after: int  # the seq of the last record already handed out
    next_token: str | None = None


@dataclass
class UploadedRecords:
    """Profiles and events of every account, within `MAX_BYTES`."""

    max_bytes: int = MAX_BYTES
    profiles: dict[tuple[str, str], Profile] = field(default_factory=dict)
    events: deque[Event] = field(default_factory=deque)
    used: int = 0
    cursors: OrderedDict[str, Cursor] = field(default_factory=OrderedDict)
    _seq: count[int] = field(default_factory=lambda: count(1))

    def add_profile(self, account_id: str, identity: str, data: dict[str, Any]) -> str | None:
        """Create or update (merge) a profile; the reason when it cannot be kept."""
        current = self.profiles.get((account_id, identity))
        merged = {**current.data, **data} if current else dict(data)
        merged_size = size_of(identity, merged)
        if merged_size > MAX_RECORD_BYTES:
            return f"the profile would grow past {MAX_RECORD_BYTES} bytes, more than the sandbox keeps"
        freed = current.size if current else 0
        if not self._make_room(merged_size - freed):
            return full_message(self.max_bytes)
        self.used += merged_size - freed
        self.profiles[(account_id, identity)] = Profile(
            next(self._seq), account_id, identity, merged, merged_size
        )
        return None

    def add_event(
        self, account_id: str, identity: str, name: str, props: dict[str, Any], ts: int
    ) -> str | None:
        """Keep an event; the reason when it cannot be kept."""
        size = size_of(identity, name, props)
        if size > MAX_RECORD_BYTES:
            return f"the event is larger than the {MAX_RECORD_BYTES} bytes the sandbox keeps"
        if not self._make_room(size):
            return full_message(self.max_bytes)
        self.used += size
        self.events.append(Event(next(self._seq), account_id, identity, name, props, ts, size))
        return None

    def _make_room(self, size: int) -> bool:
        """Drop the oldest events until `size` more bytes fit; False if they cannot."""
        while self.used + size > self.max_bytes and self.events:
            self.used -= self.events.popleft().size
        return self.used + size <= self.max_bytes

    def find_profile(self, account_id: str, identity: str | None, email: str | None) -> Profile | None:
        """The profile with this identity and/or whose `Email` is this address (any case)."""
        if identity is not None:
            candidates = [p for p in [self.profiles.get((account_id, identity))] if p is not None]
        else:
            candidates = [p for p in self.profiles.values() if p.account_id == account_id]
        wanted = None if email is None else email.casefold()
        return next(
            (p for p in candidates if wanted is None or str(p.data.get("Email", "")).casefold() == wanted),
            None,
        )

    # -- cursors ---------------------------------------------------------------------------

    def open_cursor(self, query: Query) -> str:
        """A token for the first page of `query`."""
        return self._token(query, 0)

    def page(self, account_id: str, token: str, kind: CursorKind) -> tuple[list[dict[str, Any]], str | None]:
        """The records at this cursor and the cursor of the next page (None at the end).

        KeyError when the token is unknown, forgotten, another account's or of the other kind.
        """
        cursor = self.cursors[token]
        query = cursor.query
        if query.account_id != account_id or query.kind != kind:
            raise KeyError(token)
        self.cursors.move_to_end(token)
        after = cursor.after
        found = self._events_page(query, after) if kind == "events" else self._profiles_page(query, after)
        more = len(found) > query.batch_size
        found = found[: query.batch_size]
        if more and (cursor.next_token is None or cursor.next_token not in self.cursors):
            cursor.next_token = self._token(query, found[-1][0])
        return [record for _, record in found], cursor.next_token if more else None

    def _token(self, query: Query, after: int) -> str:
        token = secrets.token_urlsafe(18)
        self.cursors[token] = Cursor(query, after)
        while len(self.cursors) > MAX_CURSORS:
            self.cursors.popitem(last=False)
        return token

    def _matching_events(self, query: Query) -> list[Event]:
        return [
            e
            for e in self.events
            if e.account_id == query.account_id
            and e.name == query.event_name
            and query.first_day <= e.day() <= query.last_day
        ]

    def _events_page(self, query: Query, after: int) -> list[tuple[int, dict[str, Any]]]:
        page = []
        for event in self._matching_events(query):
            if event.seq > after:
                page.append((event.seq, self._event_record(event)))
                if len(page) > query.batch_size:
                    break
        return page

    def _profiles_page(self, query: Query, after: int) -> list[tuple[int, dict[str, Any]]]:
        identities = {e.identity for e in self._matching_events(query)}
        found = sorted(
            (p for (account, identity), p in self.profiles.items()
             if account == query.account_id and identity in identities and p.seq > after),
            key=lambda p: p.seq,
        )
        return [(p.seq, p.as_record()) for p in found[: query.batch_size + 1]]

    def _event_record(self, event: Event) -> dict[str, Any]:
        profile = self.profiles.get((event.account_id, event.identity))
        who = profile.as_record() if profile else {"identity": event.identity}
        who.pop("profileData", None)
        moment = datetime.fromtimestamp(event.ts, UTC)
        return {"profile": who, "ts": int(moment.strftime("%Y%m%d%H%M%S")), "event_props": event.props}


def size_of(*parts: object) -> int:
    """What a record costs the budget: the length of its JSON."""
    return sum(len(json.dumps(part, separators=(",", ":"))) for part in parts)


def full_message(max_bytes: int) -> str:
    return (
        f"the sandbox keeps at most {max_bytes // (1024 * 1024)} MiB of uploaded records and "
        "they are all profiles; restart `ctconfig sandbox serve` to empty it"
    )


def parse_day(value: object) -> int | None:
    """A `YYYYMMDD` number (compared as a number: 20240230 simply matches no event), else None.

    JSON has one number type, so 20240101.0 is the same day."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not FIRST_DAY <= value <= LAST_DAY:
        return None
    return value
