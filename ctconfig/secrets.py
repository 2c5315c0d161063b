"""Secrets: a wrapper that will not print itself, and fingerprints.

A secret leaves the provider as a `Secret`, goes to exactly one sink
(`ctconfig.sinks`), and leaves only its fingerprint behind. `str()` and `repr()` of a `Secret` are
redacted so that an accidental f-string or traceback cannot leak it.
"""

from __future__ import annotations

import hashlib

REDACTED = "<redacted>"


class Secret:
    """A secret value that redacts itself everywhere except `reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain secret: only sinks and the HTTP layer call this."""
        return self._value

    def fingerprint(self) -> str:
        """`sha256:` and 12 hex digits: enough to tell secrets apart, useless to an attacker."""
        return fingerprint(self._value)

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def fingerprint(value: str) -> str:
    """The fingerprint recorded in state for a secret value."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]
