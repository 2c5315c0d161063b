"""The write-ahead journal of an apply: intents before secrets are made, outcomes after.

An apply `begin`s the journal against the state version it read. Before any
request that makes a secret is sent, an `Intent` (address, name, expiry and the
request's idempotency key) is durable. Every finished operation appends a
`Recorded` entry with the resource's new record (None: it is gone); the one
that finishes an intent `closes` it, and a create that made nothing appends
`Closed`. The full state is rewritten once at the end and the journal cleared.

A run killed at any moment leaves the journal in its store (beside the state,
where the next runner finds it). The next run folds the records into state and
resolves every intent still open (`service/recovery.py`): the passcode exists →
ask again with the same key and deliver the replayed secret, or taint it; it does
not exist → nothing happened.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from ctconfig.domain import Address
from ctconfig.jsontypes import ExpiryDays, Text, Timestamp, describe_validation
from ctconfig.state.document import Record, RecordType, State, StateError
from ctconfig.state.journal_store import JournalStore

JOURNAL_FORMAT: Literal[2] = 2


@dataclass(frozen=True)
class Begin:
    """The state version (lineage, serial) an apply started from."""

    lineage: str
    serial: int
    format: Literal[2] = JOURNAL_FORMAT
    entry: Literal["begin"] = "begin"


@dataclass(frozen=True)
class Intent:
    """A request that makes a secret is about to be sent (a create, or a rotation's create)."""

    id: str
    address: Address
    account_id: str
    name: str
    expires_in: ExpiryDays
    idempotency_key: str
    at: Timestamp
    prevent_destroy: bool = False
    rotate_token: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    entry: Literal["intent"] = "intent"

    @classmethod
    def new(
        cls, address: Address, account_id: str, name: str, expires_in: int | None, **extra: Any
    ) -> Intent:
        """A fresh intent with its own id and idempotency key."""
        return cls(
            id=uuid.uuid4().hex,
            address=address,
            account_id=account_id,
            name=name,
            expires_in=expires_in,
            idempotency_key=uuid.uuid4().hex,
            at=datetime.now(UTC).replace(microsecond=0),
            **extra,
        )


@dataclass(frozen=True)
class Recorded:
    """An operation's outcome: the resource's new record, or None when it is gone."""

    address: Address
    record: Record | None
    closes: str | None = None
    entry: Literal["record"] = "record"


@dataclass(frozen=True)
class Closed:
    """An intent that ended without a record: the passcode was never made."""

    intent: str
    why: Text
    entry: Literal["closed"] = "closed"


Entry = Begin | Intent | Recorded | Closed


@functools.cache
def _entry_adapter() -> TypeAdapter[Entry]:
    """Built on first use: most runs never read or write a journal entry (no apply, nothing pending)."""
    return TypeAdapter(Annotated[Entry, Field(discriminator="entry")])


@dataclass
class JournalContents:
    """What a journal holds, by meaning."""

    begin: Begin | None = None
    records: list[Recorded] = field(default_factory=list)
    intents: dict[str, Intent] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        """True when there is nothing to fold or resolve."""
        return not self.records and not self.intents

    def open_intents(self) -> list[Intent]:
        """Intents no record or `Closed` entry finished: their outcome is unknown."""
        return [i for key, i in self.intents.items() if key not in self.closed]

    def fold(self, state: State, source: str) -> tuple[State, int]:
        """`state` with the recorded outcomes applied, and how many there were.

        `state` must be the version the journal began from. A state that moved on
        and already holds every recorded outcome (a crash after the final write)
        is returned as it is; one that moved on without them is refused.
        """
        if self.begin is None or not self.records:
            return state, 0
        if self.begin.lineage != state.lineage:
            raise StateError(
                f"journal {source} belongs to state lineage {self.begin.lineage}, but the state has "
                f"lineage {state.lineage}; clear the journal if it is from another state"
            )
        final: dict[Address, RecordType | None] = {r.address: r.record for r in self.records}
        if self.begin.serial == state.serial:
            resources = dict(state.resources)
            for address, record in final.items():
                if record is None:
                    resources.pop(address, None)
                else:
                    resources[address] = record
            return state.with_resources(resources), len(self.records)
        if self.begin.serial < state.serial and all(state.resources.get(a) == r for a, r in final.items()):
            return state, 0
        raise StateError(
            f"journal {source} holds {len(self.records)} change(s) recorded against serial "
            f"{self.begin.serial}, but the state is at serial {state.serial} without them, and serial "
            f"{self.begin.serial} is not in its history. Put that version back (`ctconfig state push`) "
            "and run `ctconfig recover`; do not delete the journal: it may be the only record of "
            "passcodes whose secrets are still to be delivered"
        )


class Journal:
    """An apply's journal, kept in the backend's `JournalStore`."""

    def __init__(self, store: JournalStore) -> None:
        self.store = store

    def describe(self) -> str:
        """Where the journal lives, for messages."""
        return self.store.describe()

    def begin(self, lineage: str, serial: int) -> None:
        """Start a journal for the state version the run read; refuse to bury an unresolved one."""
        if not self.read().empty:
            raise StateError(
                f"journal {self.describe()} holds changes from an interrupted run; "
                "run `ctconfig plan` or `ctconfig apply`, which resolve it first"
            )
        self.store.clear()  # nothing in it to keep: a crash between the two loses nothing
        self.append([Begin(lineage, serial)])

    def append(self, entries: Sequence[Entry]) -> None:
        """Make `entries` durable (one write for all of them)."""
        self.store.append([_entry_adapter().dump_python(e, mode="json") for e in entries])

    def replace(self, entries: Sequence[Entry]) -> None:
        """Make `entries` the whole journal in one atomic step (compaction)."""
        self.store.replace([_entry_adapter().dump_python(e, mode="json") for e in entries])

    def read(self) -> JournalContents:
        """Every entry, by meaning; a corrupt entry is refused with its number."""
        contents = JournalContents()
        for number, raw in enumerate(self.store.entries(), start=1):
            try:
                entry = _entry_adapter().validate_python(raw)
            except ValidationError as exc:
                raise StateError(
                    f"journal {self.describe()} entry {number} is not a ctconfig journal entry: "
                    f"{describe_validation(exc)}"
                ) from None
            _collect(contents, entry)
        return contents

    def clear(self) -> None:
        """Remove the journal once its outcomes are in a written state version."""
        self.store.clear()


def _collect(contents: JournalContents, entry: Entry) -> None:
    if isinstance(entry, Begin):
        contents.begin = contents.begin or entry
    elif isinstance(entry, Intent):
        contents.intents[entry.id] = entry
    elif isinstance(entry, Recorded):
        contents.records.append(entry)
        if entry.closes:
            contents.closed.add(entry.closes)
    else:
        contents.closed.add(entry.intent)
