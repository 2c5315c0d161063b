"""Secrets: a wrapper that will not print itself, and fingerprints.

A secret leaves the provider as a `Secret`, goes to exactly one sink
(`ctconfig.sinks`), and leaves only its fingerprint behind. `str()` and `repr()` of a `Secret` are
redacted so that an accidental f-string or traceback cannot leak it.

The fingerprint is deliberately lossy: `lossy20:` and 20 bits of a SHA-256 of
the secret (5 hex digits). State is read by many (every pipeline, every clone of
a repository that keeps it), and a CleverTap passcode is short: nine upper-case
letters are ~42 bits, so the 48 bits ctconfig used to keep (`sha256:` and 12 hex
digits) named exactly one passcode, found offline in CPU-days. Twenty bits name
about five million of them: no computation on a state file finds the key; each
candidate must be tried against CleverTap. What a fingerprint is for — telling
the secret ctconfig delivered from another one the sink holds — needs only that a
different secret rarely matches: one time in a million.

Keyed fingerprints were the other way; they need a key every runner has and no
reader of the state does, and ctconfig has no such place (one more secret in
every pipeline, and a lost key would make every fingerprint useless).

A fingerprint written by an earlier ctconfig (`sha256:`) is still compared in its
own form (`Secret.matches`); the passcode's next rotation replaces it.
"""

from __future__ import annotations

import hashlib

REDACTED = "<redacted>"
FINGERPRINT_PREFIX = "lossy20:"
LEGACY_PREFIX = "sha256:"
FINGERPRINT_PATTERN = r"^(lossy20:[0-9a-f]{5}|sha256:[0-9a-f]{12})$"
"""What state may record: today's lossy fingerprint, or an earlier ctconfig's."""
_DOMAIN = b"ctconfig secret fingerprint\x00"


class Secret:
    """A secret value that redacts itself everywhere except `reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain secret: only sinks and the HTTP layer call this."""
        return self._value

    def fingerprint(self) -> str:
        """`lossy20:` and 5 hex digits: enough to tell secrets apart, too few to name one."""
        return fingerprint(self._value)

    def fingerprint_as(self, recorded: str) -> str:
        """This secret's fingerprint in the form of `recorded` (an earlier ctconfig's, or today's)."""
        if recorded.startswith(LEGACY_PREFIX):
            return legacy_fingerprint(self._value)
        return fingerprint(self._value)

    def matches(self, recorded: str | None) -> bool:
        """Whether `recorded` (a fingerprint from state) is this secret's."""
        return recorded is not None and self.fingerprint_as(recorded) == recorded

    def fingerprints(self) -> frozenset[str]:
        """Every form this secret's fingerprint may have in state (to find it in a set of them)."""
        return frozenset((fingerprint(self._value), legacy_fingerprint(self._value)))

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def fingerprint(value: str) -> str:
    """The fingerprint recorded in state for a secret value: 20 bits, on purpose (see above)."""
    digest = hashlib.sha256(_DOMAIN + value.encode("utf-8", "surrogatepass")).hexdigest()
    return FINGERPRINT_PREFIX + digest[:5]


def legacy_fingerprint(value: str) -> str:
    """The fingerprint ctconfig recorded before `lossy20:` (48 bits: too many; compared, never made)."""
    return LEGACY_PREFIX + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
