"""Per-operation checkpoints: one fsync'd JSON line per finished operation.

An apply opens the journal against the state version it read, records each
resource it created, changed or removed, rewrites the whole state once at
the end and clears the journal. A crash leaves the journal behind; the next
run replays it onto the same state version so nothing that happened remotely
is forgotten. The full state is never rewritten per operation.

Line 1: {"journal": 1, "lineage": ..., "serial": N}
Then:   {"address": ..., "resource": {...}}  (resource null = removed)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ctconfig.files import fsync_dir
from ctconfig.state.document import ResourceState, State, StateError

JOURNAL_FORMAT = 1
Entry = tuple[str, ResourceState | None]


def _line(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


class Journal:
    """An append-only checkpoint file beside the state (single-threaded use, e.g. asyncio)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def exists(self) -> bool:
        """True when a journal is on disk (an apply is running or was interrupted)."""
        return self.path.exists()

    def open(self, lineage: str, serial: int) -> None:
        """Start a journal for the state version (`lineage`, `serial`) the run read.

        Refuses to overwrite a journal that holds records: replay it first.
        """
        if self._has_records():
            raise StateError(
                f"journal {self.path} holds changes from an interrupted run; "
                "load the state (which replays it) before starting another apply"
            )
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        os.write(fd, _line({"journal": JOURNAL_FORMAT, "lineage": lineage, "serial": serial}))
        os.fsync(fd)
        fsync_dir(self.path.parent)
        self._fd = fd

    def record(self, address: str, resource: ResourceState | None) -> None:
        """Append one operation's outcome and make it durable (None = the resource is gone)."""
        self.record_many([(address, resource)])

    def record_many(self, entries: Iterable[Entry]) -> None:
        """Append several outcomes with a single fsync (group commit for a batch of results)."""
        if self._fd is None:
            raise StateError(f"journal {self.path} is not open; call open() first")
        payload = b"".join(
            _line({"address": address, "resource": None if res is None else res.to_json()})
            for address, res in entries
        )
        if not payload:
            return
        os.write(self._fd, payload)
        os.fdatasync(self._fd)

    def close(self) -> None:
        """Stop appending, keeping the file (it is replayed if the run never clears it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def clear(self) -> None:
        """Delete the journal once its records are in a written state version."""
        self.close()
        if self.path.exists():
            self.path.unlink()
            fsync_dir(self.path.parent)

    def recorded_against(self) -> tuple[str, int] | None:
        """The (lineage, serial) the journal was opened for, or None if absent or torn."""
        header, _ = self._load()
        return header

    def replay(self, state: State) -> tuple[State, int]:
        """Apply the recorded changes to `state`; returns the new state and how many were applied.

        `state` must be the version the journal was recorded against. If the
        state has moved on and already holds every recorded change (a crash
        after the final write), nothing is applied. A torn last line is ignored.
        """
        header, entries = self._load()
        if header is None:
            return state, 0
        lineage, serial = header
        if lineage != state.lineage:
            raise StateError(
                f"journal {self.path} belongs to state lineage {lineage}, but the state has "
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
            f"journal {self.path} holds {len(entries)} change(s) recorded against serial "
            f"{serial}, but the state is at serial {state.serial} without them; "
            f"a refresh re-finds those resources by name: delete {self.path} to continue"
        )

    def _has_records(self) -> bool:
        try:
            with self.path.open("rb") as handle:
                handle.readline()
                return bool(handle.readline().strip())
        except FileNotFoundError:
            return False

    def _load(self) -> tuple[tuple[str, int] | None, list[Entry]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None, []
        lines = raw.split(b"\n")
        # Every complete line ends with a newline, so the last element is b"" or a torn line.
        complete = lines[:-1]
        if not complete:
            return None, []
        try:
            head = json.loads(complete[0])
            header = (str(head["lineage"]), int(head["serial"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(f"journal {self.path}: unreadable first line: {exc}") from exc
        if head.get("journal") != JOURNAL_FORMAT:
            raise StateError(f"journal {self.path}: unsupported format {head.get('journal')!r}")
        entries: list[Entry] = []
        for number, line in enumerate(complete[1:], start=2):
            try:
                data = json.loads(line)
                resource = data["resource"]
                entries.append(
                    (str(data["address"]), None if resource is None else ResourceState.from_json(resource))
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise StateError(f"journal {self.path} line {number} is corrupt: {exc}") from exc
        return header, entries
