"""The errors a user can cause, in one place at the bottom of the layers.

The CLI turns any `CtconfigError` into one clear message and exit code 1;
anything else is a bug and shows a traceback only with `--debug`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ctconfig.domain import ObservedPasscode


class CtconfigError(Exception):
    """An error with a message written for the user, never containing a secret."""

    exit_code = 1


class ProviderError(CtconfigError):
    """An operation failed; the message is one line a user can act on."""

    retryable = False


class AuthError(ProviderError):
    """401/403: the credentials were rejected or are not an admin's."""


class NotFoundError(ProviderError):
    """404: the account, passcode or user does not exist."""


class ConflictError(ProviderError):
    """409: a passcode with that name already exists, or the user already has a passcode."""


class LimitError(ProviderError):
    """400: a domain limit was hit (100 passcodes, validity range, unknown user)."""


class UnavailableError(ProviderError):
    """The account could not be reached, or kept failing after retries."""

    retryable = True
    maybe_committed = False


class OutcomeUnknownError(UnavailableError):
    """Retries gave up on a change after an attempt that may have reached the server and been applied.

    The change may or may not exist. For a create the caller resolves it as it
    resolves an open intent: list by name and, if the passcode is there, ask
    again with the same idempotency key (the secret comes back, or it is lost).
    """

    maybe_committed = True


class SecretLostError(ProviderError):
    """A create's answer was lost but the passcode exists: it was made, its secret is unknown.

    The applier records `passcode` as tainted so that the next plan replaces it;
    retrying the create would only hit the unique name (or make a duplicate).
    """

    def __init__(self, message: str, passcode: ObservedPasscode) -> None:
        super().__init__(message)
        self.passcode = passcode


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM, SIGHUP): unwinds like Ctrl-C, so every lock is released.

    A KeyboardInterrupt, so that nothing stops it on its way out: no `except Exception`, and not
    asyncio's event loop, which re-raises KeyboardInterrupt from a callback but only logs any other
    BaseException.
    """

    def __init__(self, signal_name: str, exit_code: int) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = exit_code
