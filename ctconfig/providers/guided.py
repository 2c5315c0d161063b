"""Optional capabilities of a provider whose operations a person performs (the `dashboard` provider).

Most providers read an account and change it themselves. A provider with a
person as its transport cannot list passcodes, cannot run two changes at
once, and may be told "skip this" or "stop here". The service layer and the
applier look for these small protocols and use them when a provider offers
them; every other provider is untouched:

* `ReadsFromState`: the provider builds its snapshot from what ctconfig's
  state knows (`KnownAccount`, handed over before the accounts are read)
  plus what it can check, and reports what it found (`Finding`) for the plan.
* `StepByStep`: the applier runs the plan one action at a time, in plan
  order, announcing each (`begin_action`) before its operations; `apply`
  asks `check_can_apply` first (no terminal: a one-line refusal).
* `SettlesCreates`: an interrupted create cannot be looked up by name; the
  provider settles it itself (asks the person who may have made it).
* `NotPerformedError`: an operation the person did not perform. The applier
  leaves the action for the next plan (and stops when asked to).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ctconfig.domain import AccountTarget, Address, ObservedPasscode, ObservedUser
from ctconfig.errors import ProviderError
from ctconfig.secrets import Secret

if TYPE_CHECKING:
    from ctconfig.actions import Action
    from ctconfig.providers.base import IssuedPasscode


class NotPerformedError(ProviderError):
    """The operator did not perform this operation: the action is left for the next plan.

    `stop`: start nothing new either (the operator typed `q` or pressed Ctrl-C).
    `maybe_made`: the operator stopped without saying whether the change was made:
    a create's intent stays open, and the next run asks again.
    """

    def __init__(self, message: str, *, stop: bool = False, maybe_made: bool = False) -> None:
        super().__init__(message)
        self.stop = stop
        self.maybe_made = maybe_made


@dataclass(frozen=True)
class KnownPasscode:
    """An account passcode as state records it: where it lives and its secret's fingerprint."""

    address: Address
    passcode: ObservedPasscode
    fingerprint: str | None
    """The fingerprint ctconfig recorded when it delivered the secret; None if it never held it."""
    tainted: bool = False


@dataclass(frozen=True)
class KnownAccount:
    """One account as ctconfig's state knows it, and the moment the plan judges it at."""

    account_id: str
    passcode_mode: str
    observed_at: datetime
    passcodes: tuple[KnownPasscode, ...] = ()
    users: tuple[ObservedUser, ...] = ()

    def passcode_by_id(self, passcode_id: str) -> KnownPasscode | None:
        """The known passcode with this (remote or synthetic) id."""
        return next((p for p in self.passcodes if p.passcode.id == passcode_id), None)


SecretReader = Callable[[Address], Secret | None]
"""The secret the sink holds for an address; None when it cannot give one back. May raise
`CtconfigError` (a sink that failed)."""


class FindingKind(StrEnum):
    """What a refresh learnt of a passcode that state alone cannot say."""

    REJECTED = "rejected"  # the credential check answered 401: gone outside ctconfig
    UNCHECKED = "unchecked"  # it could not be checked: not known to be fine


@dataclass(frozen=True)
class Finding:
    """One passcode's verdict from the last refresh, in words (never a secret)."""

    address: Address
    kind: FindingKind
    detail: str


@runtime_checkable
class ReadsFromState(Protocol):
    """A provider that reads accounts from what state knows plus its own checks."""

    def use_known_state(self, accounts: Mapping[str, KnownAccount], read_secret: SecretReader) -> None:
        """What state knows of each account (by alias), and how to read a secret back from the sink."""
        ...

    def findings(self) -> Sequence[Finding]:
        """What the last `read_account` calls found, for the plan's drift and warnings."""
        ...


@runtime_checkable
class StepByStep(Protocol):
    """A provider whose operations a person performs: one action at a time, announced first."""

    def check_can_apply(self) -> None:
        """Raise a one-line `CtconfigError` when no one is there to perform the steps."""
        ...

    async def begin_action(self, action: Action, number: int, total: int) -> None:
        """Show the action's steps and wait; raise `NotPerformedError` to skip it or stop."""
        ...


@runtime_checkable
class SettlesCreates(Protocol):
    """A provider that settles an interrupted create itself (it cannot look passcodes up by name)."""

    async def settle_create(
        self, target: AccountTarget, name: str, expires_in_days: int | None, *, idempotency_key: str
    ) -> IssuedPasscode | None:
        """The passcode and its secret; None when it was not made. Raises `SecretLostError` when it
        was made but its secret is lost, anything else when it cannot be told now (stays open)."""
        ...
