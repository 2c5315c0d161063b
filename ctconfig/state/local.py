"""The local backend: the state as one JSON file, written atomically, every version kept.

Layout beside `ctconfig.state.json`:
  `.backup`            the previous version
  `.history/00000007.json` and `00000007.audit.json`   every version and who wrote it
  `.lock`              the owner record of a running command (O_CREAT|O_EXCL)
  `.journal`           per-operation checkpoints of an apply in progress
A write holds a short flock on the history directory so that the
compare-and-swap is atomic even between processes. Every one of these files
is 0600 and every directory ctconfig creates for them 0700 (`files`): state
names every managed passcode, and its history is kept for good. None of these paths is
ever reached through a symbolic link: a link in their place is refused with
one line naming it (a planted link could otherwise make ctconfig write outside
the state's directory). A state file larger than `limits.MAX_STATE_BYTES` is
refused before it is read.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ctconfig import failpoints
from ctconfig.domain import moment_text
from ctconfig.files import PRIVATE_FILE, fsync_dir, make_private_dirs, write_atomically
from ctconfig.jsonshape import ShapeError, parse_json
from ctconfig.state import limits
from ctconfig.state.base import AuditRecord, HistoryEntry, LockInfo, StaleStateError, StateVersion
from ctconfig.state.document import State, StateError, dumps_json
from ctconfig.state.journal_store import FileJournalStore
from ctconfig.state.limits import read_regular_file, refuse_symlink, symlink_refused
from ctconfig.state.lockfile import (
    SYSTEM_CLOCK,
    LockFile,
    WaitClock,
    acquire_with_backoff,
    process_is_dead,
)


def content_token(serial: int, text: bytes) -> str:
    """The version token: serial plus a content hash, so hand edits are noticed too."""
    return f"{serial}:{hashlib.sha256(text).hexdigest()[:16]}"


def token_serial(token: str) -> str:
    """The serial part of a token, for messages."""
    return token.split(":", 1)[0]


class LocalBackend:
    """State in a JSON file; see the module docstring for the files kept beside it."""

    def __init__(self, path: Path, clock: WaitClock = SYSTEM_CLOCK) -> None:
        self.path = path
        self.clock = clock
        self.backup_path = Path(f"{path}.backup")
        self.history_dir = Path(f"{path}.history")
        self.lock_file = LockFile(Path(f"{path}.lock"))

    def journal(self) -> FileJournalStore:
        """`ctconfig.state.json.journal`, beside the state file."""
        return FileJournalStore(Path(f"{self.path}.journal"))

    def describe(self) -> str:
        return str(self.path)

    def _read_bytes(self) -> bytes | None:
        """The state file's bytes (None if absent); refuses a link or an oversized file."""
        return read_regular_file(self.path, limits.MAX_STATE_BYTES, "state")

    def _parse(self, text: bytes, where: Path) -> State:
        return State.loads(text, str(where))

    def read(self) -> StateVersion | None:
        """The state file and its token; None when no state was written yet."""
        text = self._read_bytes()
        if text is None:
            return None
        state = self._parse(text, self.path)
        return StateVersion(state, content_token(state.serial, text))

    @contextlib.contextmanager
    def _write_guard(self) -> Iterator[None]:
        """An exclusive flock on the history directory for the compare-and-swap."""
        refuse_symlink(self.history_dir, "state history directory")
        make_private_dirs(self.history_dir)
        try:
            fd = os.open(self.history_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise symlink_refused(self.history_dir, "state history directory") from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def write(
        self, state: State, expected_token: str | None, audit: AuditRecord | None = None
    ) -> str:
        """Compare-and-swap: refuse unless the file is still what the caller read."""
        failpoints.hit("state.local.write", self.path)
        data = state.dumps().encode("utf-8")
        limits.check_state_to_write(len(data), str(self.path))
        refuse_symlink(self.path, "state file")
        refuse_symlink(self.backup_path, "state backup")
        try:
            make_private_dirs(self.path.parent)
            with self._write_guard():
                current_bytes = self._read_bytes()
                self._check_current(state, expected_token, current_bytes)
                self._keep_in_history(state.serial, data, audit)
                if current_bytes is not None:
                    self._keep_backup()
                write_atomically(self.path, data)
                fsync_dir(self.path.parent)
        except OSError as exc:
            raise StateError(f"cannot write state {self.path}: {exc.strerror or exc}") from exc
        return content_token(state.serial, data)

    def _check_current(
        self, state: State, expected_token: str | None, current_bytes: bytes | None
    ) -> None:
        if current_bytes is None:
            if expected_token is not None:
                raise StaleStateError(
                    f"state changed since it was read (serial {token_serial(expected_token)} -> "
                    f"{self.path} is gone); re-run the command"
                )
            return
        current = self._parse(current_bytes, self.path)
        current_token = content_token(current.serial, current_bytes)
        if expected_token != current_token:
            before = "none" if expected_token is None else token_serial(expected_token)
            raise StaleStateError(
                f"state changed since it was read (serial {before} -> {current.serial}); "
                "re-run the command"
            )
        if state.serial <= current.serial:
            raise StaleStateError(
                f"refusing to write serial {state.serial}: the state is already at serial "
                f"{current.serial} and every write must increase it"
            )

    def _keep_backup(self) -> None:
        """Hard-link the current version as `.backup`; it survives the rename that follows."""
        tmp = Path(f"{self.backup_path}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            failpoints.hit("state.local.backup.link", tmp)
            os.link(self.path, tmp)
            with contextlib.suppress(PermissionError):  # a state written 0644 by an older ctconfig
                os.chmod(tmp, PRIVATE_FILE)
            failpoints.hit("state.local.backup.rename", self.backup_path)
            os.replace(tmp, self.backup_path)
        finally:
            tmp.unlink(missing_ok=True)

    def _keep_in_history(self, serial: int, data: bytes, audit: AuditRecord | None) -> None:
        """Write this version (and its audit record) before it becomes current.

        A crash between this and the rename leaves a history entry above the
        current serial; `history()` hides it and the next write replaces it.
        """
        write_atomically(self._history_file(serial), data)
        audit_file = self._audit_file(serial)
        if audit is not None:
            # the state's own form (orjson): the standard library's indenting encoder is pure Python,
            # ~0.15 s for the audit of a 10,000-action apply
            write_atomically(audit_file, dumps_json(audit.to_json()).encode("utf-8"))
        else:
            failpoints.hit("state.local.audit.unlink", audit_file)
            audit_file.unlink(missing_ok=True)
        fsync_dir(self.history_dir)

    def _history_file(self, serial: int) -> Path:
        return self.history_dir / f"{serial:08d}.json"

    def _audit_file(self, serial: int) -> Path:
        return self.history_dir / f"{serial:08d}.audit.json"

    def _kept_serials(self) -> list[int]:
        current = self.read()
        top = current.state.serial if current else -1
        return sorted(s for s in self._history_serials() if s <= top)

    def _history_serials(self) -> list[int]:
        refuse_symlink(self.history_dir, "state history directory")
        if not self.history_dir.is_dir():
            return []
        serials = []
        for entry in self.history_dir.iterdir():
            stem = entry.name.removesuffix(".json")
            if entry.name.endswith(".json") and stem.isdigit():
                serials.append(int(stem))
        return serials

    def newest_kept(self) -> int | None:
        """The newest serial in the history directory, even one newer than the state file's."""
        return max(self._history_serials(), default=None)

    def history(self) -> list[HistoryEntry]:
        """Every kept version, oldest first, with its audit record when one was written."""
        entries = []
        for serial in self._kept_serials():
            audit = self._read_audit(serial)
            if audit is not None and audit.when:
                created = audit.when
            else:
                mtime = os.lstat(self._history_file(serial)).st_mtime
                created = moment_text(datetime.fromtimestamp(mtime, UTC))
            entries.append(HistoryEntry(serial=serial, created=created, audit=audit))
        return entries

    def _read_audit(self, serial: int) -> AuditRecord | None:
        where = self._audit_file(serial)
        raw = read_regular_file(where, limits.MAX_STATE_BYTES, "audit record")
        if raw is None:
            return None
        try:
            data = parse_json(raw, limits.AUDIT_SHAPE)
        except ShapeError as exc:
            raise StateError(f"{where}: unreadable audit record: {exc}") from None
        if not isinstance(data, dict):
            raise StateError(f"{where}: the audit record is not a JSON object")
        return AuditRecord.from_json(data)

    def read_serial(self, serial: int) -> State:
        """A kept version by serial (one newer than the state file's too: a restored state's)."""
        kept = sorted(self._history_serials())
        if serial not in kept:
            span = f"{kept[0]}-{kept[-1]}" if kept else "none"
            raise StateError(f"serial {serial} is not kept in {self.history_dir} (kept: {span})")
        where = self._history_file(serial)
        raw = read_regular_file(where, limits.MAX_STATE_BYTES, "state")
        if raw is None:
            raise StateError(f"serial {serial} is not kept in {self.history_dir} (its file is gone)")
        return self._parse(raw, where)

    def lock(self, operation: str, timeout: float = 0.0) -> LockInfo:
        """Create the lock file, waiting with backoff up to `timeout` seconds."""
        return acquire_with_backoff(
            lambda: self.lock_file.try_acquire(operation), timeout, self.clock
        )

    def unlock(self, lock: LockInfo) -> None:
        self.lock_file.release(lock)

    def force_unlock(self, lock_id: str) -> LockInfo:
        return self.lock_file.force_release(lock_id)

    def lock_holder(self) -> LockInfo | None:
        """The lock file's owner, unless that process is gone from this machine."""
        holder = self.lock_file.holder()
        return None if holder is None or process_is_dead(holder) else holder
