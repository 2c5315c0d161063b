"""What every secret sink offers, and the reference to the passcode a secret belongs to.

A newly issued account passcode secret goes to exactly one sink. A sink that
fails raises `SinkError`; the applier then records the passcode as tainted so
the next plan replaces it: a secret is never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ctconfig.domain import Address
from ctconfig.errors import CtconfigError
from ctconfig.secrets import Secret
from ctconfig.sinks.slots import env_name


class SinkError(CtconfigError):
    """The secret sink refused or failed; the message never contains the secret."""


@dataclass(frozen=True)
class SecretRef:
    """Which passcode a secret belongs to: its address and the account's id."""

    address: Address
    account_id: str

    @property
    def account(self) -> str:
        """The account's alias in the config."""
        return self.address.account

    @property
    def name(self) -> str:
        """The passcode's name."""
        return self.address.name

    @property
    def env_name(self) -> str:
        """`CT_PROD_SEGMENT_EXPORT`: a shell-safe variable name for this passcode."""
        return env_name(self.address)


class SecretSink(Protocol):
    """Where new secrets go. `read` serves `verify` and recovery where the sink can give them back."""

    def store(self, ref: SecretRef, secret: Secret) -> str:
        """Deliver the secret; return where it went, in words (no secret)."""
        ...

    def read(self, ref: SecretRef) -> Secret | None:
        """The stored secret, or None if this sink cannot give it back or has none."""
        ...
