"""What an apply did: one outcome per action, the passcodes it tainted, and why it stopped (or stopped
creating)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ctconfig.actions import ActionKind
from ctconfig.domain import Address
from ctconfig.state.document import RecordType
from ctconfig.state.journal import Intent


class Status(StrEnum):
    """The outcome of one action."""

    DONE = "done"
    FAILED = "failed"
    NOT_STARTED = "not started"


@dataclass(frozen=True)
class Outcome:
    """What happened to one action, and why in words (never a secret)."""

    address: Address
    action: ActionKind
    status: Status
    message: str = ""


@dataclass(frozen=True)
class SinkFailure:
    """The secret sink refused before the first create (its preflight) or failed during the apply:
    from then on no create starts, in any account."""

    reason: str
    before_start: bool = False

    def held_back(self) -> str:
        """Why a create did not start: the message of each create it held back."""
        if self.before_start:
            return f"the secret sink cannot take secrets: {self.reason}"
        return f"the secret sink failed earlier in this apply: {self.reason}"


@dataclass
class ApplyResult:
    """The records after the apply, and what happened to each action."""

    resources: dict[Address, RecordType]
    outcomes: list[Outcome] = field(default_factory=list)
    tainted: list[Address] = field(default_factory=list)
    interrupted: bool = False
    durability_error: str | None = None
    """Set when the journal could not be written: the apply stopped starting anything new."""
    open_intents: list[Intent] = field(default_factory=list)
    """Creates whose outcome is unknown: their intents stay in the journal for the next run."""
    sink_failure: SinkFailure | None = None
    """Set when the secret sink refused or failed: the apply started no create after that."""

    @property
    def held_back(self) -> list[Outcome]:
        """The creates the sink's failure kept from starting."""
        if self.sink_failure is None:
            return []
        why = self.sink_failure.held_back()
        return [o for o in self.not_started if o.message == why]

    @property
    def failed(self) -> list[Outcome]:
        """The actions that failed."""
        return [o for o in self.outcomes if o.status is Status.FAILED]

    @property
    def not_started(self) -> list[Outcome]:
        """The actions left for the next apply."""
        return [o for o in self.outcomes if o.status is Status.NOT_STARTED]

    @property
    def done(self) -> list[Outcome]:
        """The actions that reached their goal."""
        return [o for o in self.outcomes if o.status is Status.DONE]

    @property
    def ok(self) -> bool:
        """True when every action is done and nothing was tainted."""
        return not self.failed and not self.not_started and not self.interrupted and not self.tainted
