"""The narrow protocol every provider implements.

A provider reads one account into an `AccountSnapshot` and performs the
mutating operations the applier asks for. It is async so that the applier can
run many accounts at once over HTTP; the embedded sandbox simply answers
immediately. Providers raise `ProviderError` subclasses with one-line,
user-actionable messages and never put a secret in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ctconfig.domain import AccountSnapshot, AccountTarget, ObservedGrant, ObservedPasscode
from ctconfig.secrets import Secret


@dataclass(frozen=True)
class IssuedPasscode:
    """A freshly created account passcode and its secret, shown this once."""

    passcode: ObservedPasscode
    secret: Secret


class CredentialStatus(StrEnum):
    """What CleverTap's credential check (`GET /v1/connect`) says of a passcode."""

    VALID = "valid"  # 200: it authenticates API calls now
    REJECTED = "rejected"  # 401: unknown, deleted, expired or revoked
    FORBIDDEN = "forbidden"  # 403: known, but not allowed (e.g. user passcodes are enforced)


@dataclass(frozen=True)
class CredentialCheck:
    """The verdict on one credential, with the server's words (never the secret)."""

    status: CredentialStatus
    detail: str = ""


class Provider(Protocol):
    """What the planner reads from and the applier writes to."""

    async def read_account(self, target: AccountTarget) -> AccountSnapshot:
        """Read passcodes, users (with grants) and the passcode mode."""
        ...

    async def create_passcode(
        self,
        target: AccountTarget,
        name: str,
        expires_in_days: int | None,
        *,
        idempotency_key: str | None = None,
    ) -> IssuedPasscode:
        """Create an account passcode; the secret is returned this once.

        Asked again with the same `idempotency_key` after the first call made the
        passcode (its answer lost, the process killed), a provider that keeps
        answers returns the same `IssuedPasscode`, secret included; one that
        cannot raises `SecretLostError`. None: a fresh key, no replay later.
        """
        ...

    async def check_credential(self, target: AccountTarget, secret: Secret) -> CredentialCheck:
        """Ask whether `secret` authenticates API calls for the account, as its users' calls would."""
        ...

    async def update_passcode(
        self, target: AccountTarget, passcode_id: str, *, name: str, expires_in_days: int | None
    ) -> ObservedPasscode:
        """Rename a passcode or change its expiry (counted from its creation)."""
        ...

    async def delete_passcode(self, target: AccountTarget, passcode_id: str) -> None:
        """Delete an account passcode; every integration using it stops working."""
        ...

    async def grant_user_passcode(
        self, target: AccountTarget, email: str, validity_days: int | None
    ) -> ObservedGrant:
        """Grant a user passcode (1-365 days, or None for infinite)."""
        ...

    async def reset_user_passcode(self, target: AccountTarget, email: str) -> ObservedGrant:
        """Issue a fresh secret to the user and restart its validity."""
        ...

    async def revoke_user_passcode(self, target: AccountTarget, email: str) -> None:
        """Revoke a user's passcode."""
        ...

    async def set_passcode_mode(self, target: AccountTarget, mode: str) -> None:
        """Switch API authentication between account and user passcodes."""
        ...

    async def aclose(self) -> None:
        """Release connections and files."""
        ...
