"""Lock helpers every backend shares: waiting with backoff, the "held by" message, lock files.

A backend supplies a `try_once` that either takes the lock or reports the
holder; `acquire_with_backoff` turns that into "fail fast" or "wait up to
--lock-timeout" with the same wording everywhere.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ctconfig.state.base import LockHeldError, LockInfo, format_age
from ctconfig.state.document import StateError

FIRST_DELAY = 0.05
MAX_DELAY = 2.0


@dataclass(frozen=True)
class Held:
    """Why a lock attempt failed: the holder if known, and whether it is known to be dead."""

    holder: LockInfo | None
    holder_dead: bool = False
    unknown_holder: str = "another ctconfig run"


def lock_held_error(held: Held, waited: float) -> LockHeldError:
    """The one-line message naming the holder, its age, and the ways out."""
    waited_text = ""
    if waited > 0:
        waited_text = f" after waiting {format_age(round(waited)) if waited >= 10 else f'{waited:.1f}s'}"
    holder = held.holder
    if holder is None:
        return LockHeldError(
            f"state is locked{waited_text} by {held.unknown_holder}; "
            "wait for it or retry with --lock-timeout 60s"
        )
    still = " still" if waited_text else ""
    prefix = f"state is{still} locked{waited_text} by {holder.describe()}"
    if held.holder_dead:
        return LockHeldError(
            f"{prefix}; the process that holds it is no longer running: "
            f"ctconfig force-unlock {holder.id}",
            holder,
        )
    return LockHeldError(
        f"{prefix}; wait for it, retry with --lock-timeout 60s, "
        f"or if that run is dead: ctconfig force-unlock {holder.id}",
        holder,
    )


def acquire_with_backoff(
    try_once: Callable[[], LockInfo | Held], timeout: float
) -> LockInfo:
    """Call `try_once` until it returns a LockInfo, backing off (capped) until `timeout` passes."""
    start = time.monotonic()
    deadline = start + max(timeout, 0.0)
    delay = FIRST_DELAY
    while True:
        outcome = try_once()
        if isinstance(outcome, LockInfo):
            return outcome
        now = time.monotonic()
        if outcome.holder_dead:  # a dead holder never lets go: say so at once
            raise lock_held_error(outcome, 0.0)
        if now >= deadline:
            raise lock_held_error(outcome, now - start if timeout > 0 else 0.0)
        time.sleep(min(delay, deadline - now))
        delay = min(delay * 2, MAX_DELAY)


def process_is_dead(holder: LockInfo) -> bool:
    """True only when the holder ran on this host and its pid no longer exists."""
    if holder.host != socket.gethostname() or holder.pid <= 0:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class LockFile:
    """An exclusive lock file, created complete with its owner record (hard link: atomic)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def holder(self) -> LockInfo | None:
        """The current owner record, or None when unlocked (or the record is unreadable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return LockInfo.from_json(data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def try_acquire(self, operation: str) -> LockInfo | Held:
        """Create the lock file atomically, complete with its owner record, or report who holds it.

        The record is written to a temporary file first and hard-linked into place: the
        link fails if the lock exists, and a reader never sees a lock file without its owner.
        """
        info = LockInfo.new(operation)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = (json.dumps(info.to_json(), sort_keys=True, indent=2) + "\n").encode()
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            try:
                os.write(fd, record)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, self.path)
            finally:
                os.unlink(tmp)
        except FileExistsError:
            holder = self.holder()
            if holder is None:
                return Held(None, unknown_holder=f"another ctconfig run (lock file {self.path})")
            return Held(holder, holder_dead=process_is_dead(holder))
        except OSError as exc:
            raise StateError(f"cannot create lock file {self.path}: {exc.strerror}") from exc
        return info

    def release(self, lock: LockInfo) -> None:
        """Remove the lock file if it is still ours; StateError if someone force-unlocked it."""
        current = self.holder()
        if current is None:
            raise StateError(
                f"lock {lock.id} was no longer held when releasing it (it was force-unlocked)"
            )
        if current.id != lock.id:
            raise StateError(
                f"lock {lock.id} was force-unlocked; the state is now locked by {current.describe()}"
            )
        self.path.unlink(missing_ok=True)

    def force_release(self, lock_id: str) -> LockInfo:
        """Remove the lock with this ID, refusing any other ID so that a newer lock survives."""
        current = self.holder()
        if current is None:
            if self.path.exists():
                raise StateError(
                    f"lock file {self.path} is unreadable; "
                    "if no ctconfig run is active, delete it by hand"
                )
            raise StateError("state is not locked; nothing to force-unlock")
        if current.id != lock_id:
            raise StateError(
                f"lock ID {lock_id} does not match the current lock "
                f"(held by {current.describe()})"
            )
        self.path.unlink(missing_ok=True)
        return current
