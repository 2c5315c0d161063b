"""The protocol every state backend follows: read, compare-and-swap write, lock, history.

Backends are synchronous: they are called a handful of times per command.
Per-operation checkpoints go to the backend's `journal()`, never into the state document.
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ctconfig.domain import utc_now_text
from ctconfig.state.document import State, StateError
from ctconfig.state.journal_store import JournalStore
from ctconfig.visible import visible


class StaleStateError(StateError):
    """A write was refused: someone wrote a newer serial since we read."""


class LockHeldError(StateError):
    """The state is locked by someone else; the message names the holder and the lock's age."""

    def __init__(self, message: str, holder: LockInfo | None = None) -> None:
        super().__init__(message)
        self.holder = holder


def current_actor() -> str:
    """Who is acting: the CI's actor when present, else the OS user."""
    for var in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock, for the "held by" message and `force-unlock ID`."""

    id: str
    who: str
    host: str
    pid: int
    operation: str
    created: str  # ISO 8601 UTC

    @classmethod
    def new(cls, operation: str) -> LockInfo:
        return cls(
            id=str(uuid.uuid4()),
            who=current_actor(),
            host=socket.gethostname(),
            pid=os.getpid(),
            operation=operation,
            created=utc_now_text(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "who": self.who,
            "host": self.host,
            "pid": self.pid,
            "operation": self.operation,
            "created": self.created,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockInfo:
        return cls(
            id=str(data["id"]),
            who=str(data.get("who", "?")),
            host=str(data.get("host", "?")),
            pid=int(data.get("pid", 0)),
            operation=str(data.get("operation", "?")),
            created=str(data.get("created", "")),
        )

    def describe(self, now: datetime | None = None) -> str:
        """`alice@ci-7 (pid 4242) running apply since 2026-11-27T10:00:00Z (3m ago), lock ID …`
        (no pid for a holder that names none, such as Terraform)."""
        age = ""
        try:
            created = datetime.fromisoformat(self.created.replace("Z", "+00:00"))
            seconds = int(((now or datetime.now(UTC)) - created).total_seconds())
            age = f" ({format_age(seconds)} ago)"
        except ValueError:
            pass
        pid = f" (pid {self.pid})" if self.pid > 0 else ""  # Terraform's locks name no process
        return (
            f"{self.who}@{self.host}{pid} running {self.operation} "
            f"since {self.created}{age}, lock ID {self.id}"
        )


def format_age(seconds: int) -> str:
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


AUDIT_TEXT_LIMIT = 1024
"""The longest text an audit record keeps in one field (a commit, a URL, a note, a message)."""
AUDIT_ENTRIES_LIMIT = 100_000
"""The most entries an audit record keeps in one list (10,000 resources fit many times over)."""


def audit_text(value: object, limit: int = AUDIT_TEXT_LIMIT) -> str | None:
    """Outside text as an audit record keeps it: a string, control characters visible, bounded."""
    if value is None:
        return None
    return visible(str(value), limit)


def _entries(value: object) -> list[dict[str, Any]]:
    """A list of JSON objects, each value bounded text (or kept as it is when not text)."""
    if not isinstance(value, list):
        return []
    kept: list[dict[str, Any]] = []
    for item in value[:AUDIT_ENTRIES_LIMIT]:
        if isinstance(item, dict):
            kept.append(
                {
                    str(audit_text(key, 64)): (audit_text(val) if isinstance(val, str) else val)
                    for key, val in list(item.items())[:16]
                    if val is None or isinstance(val, str | int | bool)
                }
            )
    return kept


@dataclass(frozen=True)
class AuditRecord:
    """Who applied what, when, from which change, stored next to the state version it produced.

    `commit`, `change` (the pull or merge request), `run_url` and `note` come from
    the CI's environment and `--audit-note`; `observed` lists changes made outside
    ctconfig that this run saw (`address`, `change`, `first_seen`), and `unmanaged`
    maps what the accounts hold but the config does not manage to when it was
    first seen. Everything read back is bounded and its control characters made
    visible: an audit record is outside text.
    """

    who: str
    when: str
    operation: str  # apply | import | state rm | state mv | state push | migrate | refresh | recover
    plan_digest: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)  # {address, action, outcome, ...}
    summary: str = ""
    commit: str | None = None
    change: str | None = None
    run_url: str | None = None
    note: str | None = None
    observed: list[dict[str, Any]] = field(default_factory=list)
    unmanaged: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "who": self.who,
            "when": self.when,
            "operation": self.operation,
            "plan_digest": self.plan_digest,
            "actions": list(self.actions),
            "summary": self.summary,
        }
        for key in ("commit", "change", "run_url", "note"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.observed:
            data["observed"] = list(self.observed)
        if self.unmanaged is not None:
            data["unmanaged"] = dict(sorted(self.unmanaged.items()))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditRecord:
        unmanaged = data.get("unmanaged")
        return cls(
            who=audit_text(data.get("who", "?")) or "?",
            when=audit_text(data.get("when", ""), 64) or "",
            operation=audit_text(data.get("operation", "?"), 64) or "?",
            plan_digest=audit_text(data.get("plan_digest"), 80),
            actions=_entries(data.get("actions")),
            summary=audit_text(data.get("summary", ""), 4 * AUDIT_TEXT_LIMIT) or "",
            commit=audit_text(data.get("commit"), 80),
            change=audit_text(data.get("change")),
            run_url=audit_text(data.get("run_url")),
            note=audit_text(data.get("note")),
            observed=_entries(data.get("observed")),
            unmanaged=(
                {
                    str(audit_text(k)): str(audit_text(v, 64))
                    for k, v in list(unmanaged.items())[:AUDIT_ENTRIES_LIMIT]
                }
                if isinstance(unmanaged, dict)
                else None
            ),
        )


@dataclass(frozen=True)
class StateVersion:
    """A state as read, with the opaque token a compare-and-swap write must present."""

    state: State
    token: str


@dataclass(frozen=True)
class HistoryEntry:
    """One kept version of the state, newest last in `history()`."""

    serial: int
    created: str
    audit: AuditRecord | None = None


class StateBackend(Protocol):
    """Where state lives. All methods raise `StateError` subclasses with clear messages."""

    def read(self) -> StateVersion | None:
        """The current state and its version token, or None if nothing was written yet."""
        ...

    def write(self, state: State, expected_token: str | None, audit: AuditRecord | None = None) -> str:
        """Write `state` if the current version is still `expected_token`; return the new token.

        Raises StaleStateError when someone else wrote in between, and when
        `state.serial` is not greater than the current serial.
        """
        ...

    def lock(self, operation: str, timeout: float = 0.0) -> LockInfo:
        """Take the lock, waiting up to `timeout` seconds with backoff; LockHeldError otherwise."""
        ...

    def unlock(self, lock: LockInfo) -> None:
        """Release a lock we hold; only StateError (one clear line naming the lock) on failure.

        Callers release in `finally`: `lockfile.holding` keeps an unlock error from
        hiding the error that is already propagating.
        """
        ...

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Remove someone else's lock by its ID; returns what was removed."""
        ...

    def lock_holder(self) -> LockInfo | None:
        """Who holds the lock now, read without taking it; None when free (or when the backend
        cannot tell without taking it). A plan asks, to tell a running apply's journal from an
        interrupted one's."""
        ...

    def history(self) -> list[HistoryEntry]:
        """Every kept version, oldest first."""
        ...

    def read_serial(self, serial: int) -> State:
        """A past version by serial (StateError if it is not kept)."""
        ...

    def newest_kept(self) -> int | None:
        """The newest serial kept in history — newer than the current state's when the state was
        restored from an older copy (None: nothing kept). Cheap: no version is read."""
        ...

    def describe(self) -> str:
        """Where the state lives, for messages: `ctconfig.state.json`, `postgres:prod`."""
        ...

    def journal(self) -> JournalStore:
        """Where an apply's write-ahead journal lives: beside the state, in the same store."""
        ...
