"""Move a state, with its whole history, from one backend to another.

Every kept version is copied in order with its audit record, keeping the
lineage and serials, so `state history` and `state diff` read the same after
the move. Both backends are locked for the duration. A destination that
already holds the same lineage is resumed (versions it has are skipped); one
that holds a different lineage is refused, since that would overwrite another
team's state.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctconfig.state.base import HistoryEntry, StateBackend
from ctconfig.state.document import StateError
from ctconfig.state.lockfile import holding


class MigrationRefusedError(StateError):
    """The destination holds a different state; nothing was copied."""


@dataclass(frozen=True)
class MigrationReport:
    """What `migrate_state` copied, for the one-line message `init --migrate-state` prints."""

    source: str
    destination: str
    lineage: str | None
    copied: tuple[int, ...]
    skipped: tuple[int, ...]

    def __str__(self) -> str:
        if self.lineage is None:
            return f"nothing to migrate: {self.source} holds no state"
        where = f"from {self.source} to {self.destination} (lineage {self.lineage})"
        if not self.copied:
            return f"nothing to migrate {where}: all {len(self.skipped)} version(s) already there"
        serials = f"serial {self.copied[0]}"
        if len(self.copied) > 1:
            serials = f"serials {self.copied[0]}-{self.copied[-1]}"
        skipped = f", {len(self.skipped)} already there" if self.skipped else ""
        return f"migrated {len(self.copied)} version(s) ({serials}{skipped}) {where}"


def migrate_state(
    source: StateBackend, destination: StateBackend, lock_timeout: float = 0.0
) -> MigrationReport:
    """Copy every kept version of `source` into `destination`, oldest first.

    An error releasing a lock never hides an error of the copy (it is added as a note).
    """
    with holding(source, "migrate", lock_timeout), holding(destination, "migrate", lock_timeout):
        return _copy(source, destination)


def _versions(source: StateBackend) -> list[HistoryEntry]:
    """Kept versions, plus the current one if history does not list it."""
    entries = {entry.serial: entry for entry in source.history()}
    current = source.read()
    if current is not None and current.state.serial not in entries:
        entries[current.state.serial] = HistoryEntry(serial=current.state.serial, created="")
    return [entries[serial] for serial in sorted(entries)]


def _copy(source: StateBackend, destination: StateBackend) -> MigrationReport:
    current = source.read()
    if current is None:
        return MigrationReport(source.describe(), destination.describe(), None, (), ())
    lineage = current.state.lineage
    existing = destination.read()
    if existing is not None and existing.state.lineage != lineage:
        raise MigrationRefusedError(
            f"refusing to migrate into {destination.describe()}: it already holds a different "
            f"state (lineage {existing.state.lineage}, not {lineage}); point the new config "
            "somewhere empty"
        )
    token = existing.token if existing else None
    reached = existing.state.serial if existing else -1
    copied: list[int] = []
    skipped: list[int] = []
    for entry in _versions(source):
        version = source.read_serial(entry.serial)
        if version.lineage != lineage:
            raise MigrationRefusedError(
                f"{source.describe()} serial {entry.serial} has lineage {version.lineage}, "
                f"not {lineage}; its history is mixed, migrate with `state pull`/`state push`"
            )
        if entry.serial <= reached:
            skipped.append(entry.serial)
            continue
        token = destination.write(version, token, entry.audit)
        copied.append(entry.serial)
    return MigrationReport(
        source.describe(), destination.describe(), lineage, tuple(copied), tuple(skipped)
    )
