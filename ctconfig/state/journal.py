"""Per-operation checkpoints: one entry per finished operation, in the state's journal store.

An apply opens the journal against the state version it read, records each
resource it created, changed or removed, rewrites the whole state once at
the end and clears the journal. A crash leaves the journal behind; the next
run replays it onto the same state version so nothing that happened remotely
is forgotten. The full state is never rewritten per operation.

Entry 1: {"journal": 1, "lineage": ..., "serial": N}
Then:    {"address": ..., "resource": {...}}  (resource null = removed)
"""

from __future__ import annotations

from collections.abc import Iterable

from ctconfig.state.document import ResourceState, State, StateError
from ctconfig.state.journal_store import JournalStore

JOURNAL_FORMAT = 1
Entry = tuple[str, ResourceState | None]


class Journal:
    """The checkpoints of one apply, kept in the backend's `JournalStore`."""

    def __init__(self, store: JournalStore) -> None:
        self.store = store

    def exists(self) -> bool:
        """True when entries are stored (an apply is running or was interrupted)."""
        return bool(self.store.entries())

    def open(self, lineage: str, serial: int) -> None:
        """Start a journal for the state version (`lineage`, `serial`) the run read.

        Refuses to overwrite a journal that holds records: replay it first.
        """
        entries = self.store.entries()
        if len(entries) > 1:
            raise StateError(
                f"journal {self.store.describe()} holds changes from an interrupted run; "
                "load the state (which replays it) before starting another apply"
            )
        self.store.clear()
        self.store.append([{"journal": JOURNAL_FORMAT, "lineage": lineage, "serial": serial}])

    def record(self, address: str, resource: ResourceState | None) -> None:
        """Append one operation's outcome and make it durable (None = the resource is gone)."""
        self.record_many([(address, resource)])

    def record_many(self, entries: Iterable[Entry]) -> None:
        """Append several outcomes with a single durable write (group commit)."""
        self.store.append(
            [
                {"address": address, "resource": None if res is None else res.to_json()}
                for address, res in entries
            ]
        )

    def close(self) -> None:
        """Stop appending, keeping the entries (they are replayed if the run never clears them)."""
        closer = getattr(self.store, "close", None)
        if closer is not None:
            closer()

    def clear(self) -> None:
        """Delete the journal once its records are in a written state version."""
        self.store.clear()

    def recorded_against(self) -> tuple[str, int] | None:
        """The (lineage, serial) the journal was opened for, or None if absent."""
        header, _ = self._load()
        return header

    def replay(self, state: State) -> tuple[State, int]:
        """Apply the recorded changes to `state`; returns the new state and how many were applied.

        `state` must be the version the journal was recorded against. If the
        state has moved on and already holds every recorded change (a crash
        after the final write), nothing is applied.
        """
        header, entries = self._load()
        if header is None:
            return state, 0
        where = self.store.describe()
        lineage, serial = header
        if lineage != state.lineage:
            raise StateError(
                f"journal {where} belongs to state lineage {lineage}, but the state has "
                f"lineage {state.lineage}; move the journal aside if it is from another state"
            )
        if serial == state.serial:
            resources = dict(state.resources)
            for address, resource in entries:
                if resource is None:
                    resources.pop(address, None)
                else:
                    resources[address] = resource
            return state.with_resources(resources), len(entries)
        final = dict(entries)
        if serial < state.serial and all(
            state.resources.get(address) == resource for address, resource in final.items()
        ):
            return state, 0
        raise StateError(
            f"journal {where} holds {len(entries)} change(s) recorded against serial "
            f"{serial}, but the state is at serial {state.serial} without them; "
            f"a refresh re-finds those resources by name: clear {where} to continue"
        )

    def _load(self) -> tuple[tuple[str, int] | None, list[Entry]]:
        raw = self.store.entries()
        if not raw:
            return None, []
        where = self.store.describe()
        head = raw[0]
        try:
            header = (str(head["lineage"]), int(head["serial"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"journal {where}: unreadable first entry: {exc}") from exc
        if head.get("journal") != JOURNAL_FORMAT:
            raise StateError(f"journal {where}: unsupported format {head.get('journal')!r}")
        entries: list[Entry] = []
        for number, data in enumerate(raw[1:], start=2):
            try:
                resource = data["resource"]
                entries.append(
                    (str(data["address"]), None if resource is None else ResourceState.from_json(resource))
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise StateError(f"journal {where} entry {number} is corrupt: {exc}") from exc
        return header, entries
