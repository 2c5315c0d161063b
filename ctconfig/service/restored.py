"""A state restored from an older copy: found before anything trusts it, and rolled forward safely.

Someone copies a backup over the state file (or restores an older object
version): the history beside it still holds the newer versions, and the journal
may hold changes recorded against one of them. Planning from the old copy would
forget every record written since — and, worse, the next write would reuse a
serial the history already holds. So the newest kept serial is compared with
the state's on every run; when the history is ahead, `plan` fails saying so and
`apply` refuses, until `ctconfig recover --roll-forward` continues from the
newest kept version (replaying the journal onto it) as one new version.
Forgetting the journal is never offered: its intents may be the only record of
a passcode whose secret is still to be delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctconfig.domain import Address
from ctconfig.state.base import StateBackend
from ctconfig.state.document import State

_SHOWN = 5


@dataclass(frozen=True)
class Restored:
    """The state is at `current`, but history holds `newest` (with records it lacks)."""

    current: int
    newest: int
    missing: tuple[Address, ...]

    def message(self) -> str:
        """What happened and the one safe way on, in one line."""
        shown = ", ".join(str(a) for a in self.missing[:_SHOWN])
        shown += ", …" if len(self.missing) > _SHOWN else ""
        lost = (
            f"; {len(self.missing)} managed record(s) of serial {self.newest} are missing from it ({shown})"
            if self.missing
            else ""
        )
        return (
            f"the state is at serial {self.current}, but its history holds serial {self.newest}: it was "
            f"restored from an older copy (or a write stopped halfway){lost}. Run `ctconfig recover "
            f"--roll-forward` to continue from serial {self.newest} (replaying any journal onto it), or "
            "`ctconfig state push` the version you mean; do not delete the journal"
        )


def find_restored(backend: StateBackend, state: State, journal_began: int | None) -> Restored | None:
    """`Restored` when the backend's history is ahead of `state` in the same lineage, else None.

    One version ahead, with a journal begun at the state's serial, is not a restore: an apply
    from that serial stopped while writing its state (history first, then the state itself),
    and folding its journal writes that version again.
    """
    newest = backend.newest_kept()
    if newest is None or newest <= state.serial:
        return None
    if newest == state.serial + 1 and journal_began == state.serial:
        return None
    newer = backend.read_serial(newest)
    if newer.lineage != state.lineage:
        return None  # another state's history: not a restore of this one
    missing = tuple(sorted(set(newer.resources) - set(state.resources)))
    return Restored(state.serial, newest, missing)
