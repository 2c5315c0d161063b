"""How many requests may be in flight at once, per account and per API family.

CleverTap limits concurrent requests "per user account for each API": the
upload APIs (events, profiles, device tokens: `POST /1/upload`) take 15 at
once, the Get APIs (profiles, events, counts) 3, and a request over the
limit gets 429 "Too many concurrent requests". The sandbox counts each
family separately; ctconfig's own management API (and the partner credential
check) keeps the server's `--max-inflight`, 3 by default, CleverTap's general
limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["management", "uploads", "reads"]
UPLOAD_LIMIT = 15  # "Concurrent requests to the Upload Events API are limited to 15 per account."
READ_LIMIT = 3  # "Three concurrent requests are the max." (API Errors, 429)
DOCUMENTED_429 = "Too many concurrent requests"
MANAGEMENT_429 = "too many concurrent requests for this account"
READ_PATHS = frozenset(
    {
        "/1/profile.json",
        "/1/profiles.json",
        "/1/events.json",
        "/1/counts/events.json",
        "/1/counts/profiles.json",
    }
)


@dataclass(frozen=True)
class Limits:
    """The in-flight limit of each family."""

    management: int = 3
    uploads: int = UPLOAD_LIMIT
    reads: int = READ_LIMIT

    def of(self, family: Family) -> int:
        return {"management": self.management, "uploads": self.uploads, "reads": self.reads}[family]


def family_of(path: str) -> Family:
    """Which API family a request path belongs to."""
    if path == "/1/upload":
        return "uploads"
    return "reads" if path in READ_PATHS else "management"


def refusal(family: Family) -> str:
    """The 429 message: CleverTap's words for its own APIs."""
    return MANAGEMENT_429 if family == "management" else DOCUMENTED_429
