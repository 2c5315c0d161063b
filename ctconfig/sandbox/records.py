"""The users, events and device tokens a rehearsing integration uploads to the sandbox: in memory, bounded.

The Server API endpoints (`server_api`) exist so that a team can point its own
integration (or CleverTap's own client) at `ctconfig sandbox serve` and watch
its passcodes work or stop working; the data only needs to come back as
CleverTap documents it. So every user is one profile, found by its `objectId`
(assigned here, `-` and 32 hex digits, like the objectIds in CleverTap's
examples, unless the upload named one) or by the `identity`, `FBID` or `GPID`
an upload gave it; an event or profile for a user not seen before creates the
profile ("If this identity is not found, a new user profile will be created");
a device token is added to a profile found by objectId. Everything lives in
this process's memory within a byte budget (the oldest events make room; when
only profiles are left, new ones are refused) and vanishes when the server
stops. Queries, cursors and counts over them are in `record_queries`.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import count
from typing import Any

from ctconfig.sandbox.upload_rules import TOKEN_OBJECT_ID_INVALID, Refused, UploadRecord

MAX_BYTES = 16 * 1024 * 1024  # all uploaded records together
MAX_RECORD_BYTES = 64 * 1024
MAX_TOKENS = 20  # device tokens kept per profile
MISCELLANEOUS = (555, "Miscellaneous server error")  # what CleverTap's list offers for "the store is full"


@dataclass
class Profile:
    """One user: its objectId, the other ids uploads gave it, the merged `profileData`, its tokens."""

    seq: int
    account_id: str
    object_id: str
    ids: dict[str, str]  # identity, FBID, GPID
    data: dict[str, Any]
    tokens: dict[str, str] = field(default_factory=dict)  # token id -> type
    size: int = 0

    def as_record(self) -> dict[str, Any]:
        """The profile as the Server API returns it (token ids are never given back)."""
        email, name = self.data.get("Email"), self.data.get("Name")
        return {
            "objectId": self.object_id,
            "identity": self.ids.get("identity"),
            "email": email if isinstance(email, str) else None,
            "name": name if isinstance(name, str) else None,
            "profileData": self.data,
            "tokens": [{"type": kind} for kind in sorted(set(self.tokens.values()))],
        }

    def who(self) -> dict[str, Any]:
        """The profile as an event record names it: ids, email and name, no profileData."""
        record = self.as_record()
        return {key: record[key] for key in ("objectId", "identity", "email", "name")}

    def measure(self) -> int:
        return size_of(self.object_id, self.ids, self.data, self.tokens)


@dataclass
class Event:
    """One uploaded event, by the objectId of its user."""

    seq: int
    account_id: str
    object_id: str
    name: str
    props: dict[str, Any]
    ts: int  # epoch seconds
    size: int

    def day(self) -> int:
        """The event's UTC day as CleverTap's `YYYYMMDD` number."""
        return int(datetime.fromtimestamp(self.ts, UTC).strftime("%Y%m%d"))


@dataclass
class UploadedRecords:
    """Profiles and events of every account, within `MAX_BYTES`."""

    max_bytes: int = MAX_BYTES
    profiles: dict[tuple[str, str], Profile] = field(default_factory=dict)  # (account, objectId)
    ids: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (account, key, value) -> objectId
    events: deque[Event] = field(default_factory=deque)
    used: int = 0
    _seq: count[int] = field(default_factory=lambda: count(1))

    def add(self, account_id: str, record: UploadRecord, now: int) -> None:
        """Keep one checked record; `Refused` when the sandbox cannot (full, or an unknown token user)."""
        if record.kind == "token":
            self._add_token(account_id, record)
            return
        profile = self._user(account_id, record.key, record.user)
        if record.kind == "profile":
            self._store(replace(profile, data={**profile.data, **(record.data or {})}))
            return
        ts = now if record.ts is None else record.ts
        size = size_of(profile.object_id, record.name, record.data)
        if size > MAX_RECORD_BYTES:
            raise Refused(
                MISCELLANEOUS, f"the event is larger than the {MAX_RECORD_BYTES} bytes the sandbox keeps"
            )
        self._make_room(size)
        self.used += size
        event = Event(
            next(self._seq), account_id, profile.object_id, record.name, record.data or {}, ts, size
        )
        self.events.append(event)

    def _user(self, account_id: str, key: str, value: str) -> Profile:
        """The profile this id names, created empty when it names nobody yet."""
        object_id = value if key == "objectId" else self.ids.get((account_id, key, value))
        found = self.profiles.get((account_id, object_id)) if object_id else None
        if found is not None:
            return found
        ids = {} if key == "objectId" else {key: value}
        profile = self._store(Profile(0, account_id, object_id or f"-{uuid.uuid4().hex}", ids, {}))
        if key != "objectId":
            self.ids[(account_id, key, value)] = profile.object_id
        return profile

    def _store(self, profile: Profile) -> Profile:
        """Keep `profile` in place of the one with its objectId, within the budget, as the newest."""
        old = self.profiles.get((profile.account_id, profile.object_id))
        stored = replace(profile, seq=next(self._seq))
        stored.size = stored.measure()
        if stored.size > MAX_RECORD_BYTES:
            raise Refused(
                MISCELLANEOUS, f"the profile would grow past the {MAX_RECORD_BYTES} bytes the sandbox keeps"
            )
        growth = stored.size - (old.size if old else 0)
        self._make_room(growth)
        self.used += growth
        self.profiles[(profile.account_id, profile.object_id)] = stored
        return stored

    def _add_token(self, account_id: str, record: UploadRecord) -> None:
        profile = self.profiles.get((account_id, record.user))
        if profile is None:
            raise Refused(TOKEN_OBJECT_ID_INVALID, "no profile has this objectId; upload the user first")
        data = record.data or {}
        tokens = {**profile.tokens, data["id"]: data["type"]}
        if len(tokens) > MAX_TOKENS:
            raise Refused(MISCELLANEOUS, f"the sandbox keeps at most {MAX_TOKENS} device tokens per profile")
        self._store(replace(profile, tokens=tokens))

    def _make_room(self, size: int) -> None:
        """Drop the oldest events until `size` more bytes fit; `Refused` if they cannot."""
        while self.used + size > self.max_bytes and self.events:
            self.used -= self.events.popleft().size
        if self.used + size > self.max_bytes:
            raise Refused(MISCELLANEOUS, full_message(self.max_bytes))

    def find_profile(
        self,
        account_id: str,
        *,
        identity: str | None = None,
        email: str | None = None,
        object_id: str | None = None,
    ) -> Profile | None:
        """The profile with this objectId or identity and/or whose `Email` is this address (any case)."""
        if object_id is not None:
            candidates = [p for p in [self.profiles.get((account_id, object_id))] if p is not None]
        elif identity is not None:
            found = self.ids.get((account_id, "identity", identity))
            candidates = [p for p in [self.profiles.get((account_id, found or ""))] if p is not None]
        else:
            candidates = [p for p in self.profiles.values() if p.account_id == account_id]
        wanted = None if email is None else email.casefold()
        return next(
            (p for p in candidates if wanted is None or str(p.data.get("Email", "")).casefold() == wanted),
            None,
        )

    def event_record(self, event: Event) -> dict[str, Any]:
        """An event as the Get Events API returns it: who, when (`YYYYMMDDhhmmss`), its properties."""
        profile = self.profiles.get((event.account_id, event.object_id))
        who = profile.who() if profile else {"objectId": event.object_id}
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
