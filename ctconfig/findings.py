"""What `ctconfig check` finds: one `Finding` per thing that is not well, in a `CheckReport`.

Plain data between the service that looks (`service/check.py`) and the views
that show it (`render/check.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

KINDS = ("error", "expired", "drift", "missing", "unmanaged", "expiring", "due", "journal")
"""Every kind of finding, most urgent first."""


@dataclass(frozen=True)
class Finding:
    """One thing that is not well: its kind, what it is about, and why in words."""

    kind: str
    subject: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message}


@dataclass(frozen=True)
class CheckReport:
    """What `check` found, and what it looked at."""

    findings: tuple[Finding, ...]
    accounts: int
    managed: int
    serial: int
    checked_at: datetime

    @property
    def ok(self) -> bool:
        """True when there is nothing to report."""
        return not self.findings

    def counts(self) -> dict[str, int]:
        """Findings per kind, in `KINDS` order, kinds with none left out."""
        return {k: n for k in KINDS if (n := sum(1 for f in self.findings if f.kind == k))}
