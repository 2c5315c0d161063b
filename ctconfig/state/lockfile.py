"""Lock helpers every backend shares: waiting with backoff, the "held by" message, lock files.

A backend supplies a `try_once` that either takes the lock or reports the
holder; `acquire_with_backoff` turns that into "fail fast" or "wait up to
--lock-timeout" with the same wording everywhere. The wait reads a `WaitClock`
so that tests drive it with a fake clock instead of asserting wall-clock bounds.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ctconfig import failpoints
from ctconfig.files import make_private_dirs
from ctconfig.jsonshape import ShapeError, parse_json
from ctconfig.state.base import LockHeldError, LockInfo, StateBackend, format_age
from ctconfig.state.document import StateError
from ctconfig.state.limits import LOCK_SHAPE, MAX_LOCK_BYTES, read_regular_file

FIRST_DELAY = 0.05
MAX_DELAY = 2.0


class WaitClock(Protocol):
    """What a lock wait needs of time: a monotonic reading and a way to pass some."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: `time.monotonic` and `time.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK: WaitClock = SystemClock()


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
    try_once: Callable[[], LockInfo | Held], timeout: float, clock: WaitClock = SYSTEM_CLOCK
) -> LockInfo:
    """Call `try_once` until it returns a LockInfo, backing off (capped) until `timeout` passes."""
    start = clock.monotonic()
    deadline = start + max(timeout, 0.0)
    delay = FIRST_DELAY
    while True:
        outcome = try_once()
        if isinstance(outcome, LockInfo):
            return outcome
        now = clock.monotonic()
        if outcome.holder_dead:  # a dead holder never lets go: say so at once
            raise lock_held_error(outcome, 0.0)
        if now >= deadline:
            raise lock_held_error(outcome, now - start if timeout > 0 else 0.0)
        clock.sleep(min(delay, deadline - now))
        delay = min(delay * 2, MAX_DELAY)


@contextlib.contextmanager
def holding(backend: StateBackend, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
    """Hold the backend's lock for a block; an error releasing it never hides the block's own.

    When the block fails, a failed unlock is added to the block's error as a note;
    when the block succeeds, the unlock error is raised (it is a StateError).
    """
    lock = backend.lock(operation, timeout)
    try:
        yield lock
    except BaseException as exc:
        try:
            backend.unlock(lock)
        except StateError as unlock_error:
            exc.add_note(f"also: {unlock_error}")
        raise
    backend.unlock(lock)


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
    """An exclusive lock file, created complete with its owner record (hard link: atomic).

    The lock file is never reached through a symbolic link: a link in its place
    is refused with a message naming it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def holder(self) -> LockInfo | None:
        """The current owner record, or None when unlocked (or the record is not ctconfig's).

        StateError when the lock file is a symbolic link or cannot be read.
        """
        raw = read_regular_file(self.path, MAX_LOCK_BYTES, "lock file")
        if raw is None:
            return None
        try:
            return LockInfo.from_json(parse_json(raw, LOCK_SHAPE))
        except (ShapeError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def try_acquire(self, operation: str) -> LockInfo | Held:
        """Create the lock file atomically, complete with its owner record, or report who holds it.

        The record is written to a temporary file first and hard-linked into place: the
        link fails if the lock exists (a symbolic link too, dangling or not), and a reader
        never sees a lock file without its owner.
        """
        info = LockInfo.new(operation)
        record = (json.dumps(info.to_json(), sort_keys=True, indent=2) + "\n").encode()
        try:
            make_private_dirs(self.path.parent)
            failpoints.hit("lock.file.write", self.path)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")  # 0600
            try:
                os.write(fd, record)
                failpoints.hit("lock.file.fsync", self.path)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                failpoints.hit("lock.file.link", self.path)
                os.link(tmp, self.path)
            finally:
                failpoints.hit("lock.file.unlink_temp", tmp)
                os.unlink(tmp)
        except FileExistsError:
            holder = self.holder()
            if holder is None:
                return Held(None, unknown_holder=f"another ctconfig run (lock file {self.path})")
            return Held(holder, holder_dead=process_is_dead(holder))
        except OSError as exc:
            raise StateError(
                f"cannot create lock file {self.path}: {exc.strerror or exc}; "
                "the directory of the state must be writable"
            ) from None
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
        self._remove(lock.id)

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
        self._remove(lock_id)
        return current

    def _remove(self, lock_id: str) -> None:
        """Unlink the lock file; a failure says the state stays locked and how to clear it."""
        try:
            failpoints.hit("lock.file.unlink", self.path)
            self.path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
            raise StateError(
                f"cannot remove lock file {self.path} ({reason}), so the state stays locked: "
                f"make {self.path.parent} writable, then run `ctconfig force-unlock {lock_id}`"
            ) from None
