"""`ctconfig recover`: finish what an interrupted apply left, or roll a restored state forward.

`apply` does the same first thing on its own; this command does only that, so
a pipeline (or a person) can settle a journal without applying a plan, and so
that a state restored from an older copy has one explicit, safe way on
(`--roll-forward`, see `restored.py`). It holds the state lock while it works.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ctconfig.service.planning import run_async
from ctconfig.service.recovery import Recovered, pending_words, recover
from ctconfig.service.workspace import Workspace
from ctconfig.state.document import StateError


@dataclass(frozen=True)
class RecoverReport:
    """What recovery did, in words, and what is still unsettled."""

    notes: list[str] = field(default_factory=list)
    pending: str = ""
    serial: int | None = None
    where: str = ""


def recover_now(ws: Workspace, *, roll_forward: bool, lock_timeout: float) -> RecoverReport:
    """Settle the journal (and roll a restored state forward when asked) under the state lock."""
    provider, sink = ws.provider(), ws.sink()

    async def run() -> Recovered:
        try:
            return await recover(ws, provider, sink, may_write=True, roll_forward=roll_forward)
        finally:
            await provider.aclose()

    with ws.locked("recover", lock_timeout):
        before = ws.read_state()[0].serial
        recovered = run_async(run())
    if recovered.restored is not None:
        raise StateError(recovered.restored.message())
    moved = recovered.token is not None and recovered.state.serial != before
    written = recovered.state.serial if moved else None
    pending = pending_words(recovered.pending) if recovered.pending else ""
    return RecoverReport(recovered.notes, pending, written, ws.backend.describe())
