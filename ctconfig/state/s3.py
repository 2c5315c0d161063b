"""State in S3-compatible object storage, made safe by conditional writes.

Objects, all beside the configured `key`:

- `<key>`: the current state, canonical JSON. Its ETag is the version token:
  a write presents it with `If-Match` (the first write uses `If-None-Match: *`),
  so two writers that read the same version cannot both win.
- `<key>.lock`: the lock, created with `If-None-Match: *` (as Terraform's
  `use_lockfile` does) and holding the owner record. A lock older than
  `lock_ttl` days is reported as stale with its age; it is never taken over
  silently, the user clears it with `ctconfig force-unlock ID`.
- `<key>.history/00000007.json`: every version with its audit record, so that
  history works on buckets without versioning.
- `<key>.journal/0000000001-1f2e3d4c.jsonl`: an apply's journal, one object per
  appended batch (s3_journal.py), so the next runner on any machine finds it.
- `<key>.probe`: where ctconfig checks, once per process, that the store
  honours conditional writes; a store that ignores them is refused (s3_probe.py).

Documents are bounded: a state larger than `limits.MAX_STATE_BYTES` is refused
before it is read, a lock record larger than `limits.MAX_LOCK_BYTES` too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ctconfig import failpoints
from ctconfig.config.spec import S3StateConfig
from ctconfig.domain import utc_now_text
from ctconfig.errors import CtconfigError
from ctconfig.jsonshape import ShapeError, parse_json
from ctconfig.state import limits
from ctconfig.state.base import (
    AuditRecord,
    HistoryEntry,
    LockHeldError,
    LockInfo,
    StaleStateError,
    StateVersion,
    format_age,
)
from ctconfig.state.document import State, StateError
from ctconfig.state.lockfile import (
    SYSTEM_CLOCK,
    Held,
    WaitClock,
    acquire_with_backoff,
    process_is_dead,
)
from ctconfig.state.s3_journal import S3JournalStore
from ctconfig.state.s3_objects import ObjectMissing, PreconditionFailed, S3AccessError, S3Objects
from ctconfig.state.s3_probe import require_conditional_writes

__all__ = ["S3AccessError", "S3Backend"]

_HISTORY_DIGITS = 8
HISTORY_OVERHEAD = 1024 * 1024  # a history object is the state plus its audit record


def _utc_now() -> str:
    return utc_now_text()


def _serial_in(body: bytes, source: str) -> int | str:
    """The serial of a stored state, or "?" if someone stored something unreadable there."""
    try:
        return State.loads(body, source=source).serial
    except StateError:
        return "?"


def _lock_age(lock: LockInfo, now: datetime) -> timedelta | None:
    try:
        created = datetime.fromisoformat(lock.created.replace("Z", "+00:00"))
    except ValueError:
        return None
    return now - created


class S3Backend:
    """A `StateBackend` on S3 (or any S3 API with conditional writes, such as MinIO)."""

    def __init__(
        self,
        config: S3StateConfig,
        environ: Mapping[str, str] | None = None,
        clock: WaitClock = SYSTEM_CLOCK,
    ) -> None:
        try:
            import boto3
            from botocore.config import Config as BotoConfig
        except ImportError as exc:
            raise CtconfigError(
                "the s3 state backend needs boto3: pip install 'ctconfig[s3]'"
            ) from exc
        env = os.environ if environ is None else environ
        self.config = config
        self.bucket = config.bucket
        self.key = config.key
        self.lock_key = f"{config.key}.lock"
        self.history_prefix = f"{config.key}.history/"
        self.probe_key = f"{config.key}.probe"
        self.clock = clock
        self.lock_ttl = timedelta(days=config.lock_ttl)
        self._serial_of_token: dict[str, int] = {}  # for "serial 4 -> 5" in stale messages
        session = boto3.session.Session(
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=env.get("AWS_SESSION_TOKEN"),
            region_name=config.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        )
        endpoint_url = config.endpoint_url or env.get("AWS_ENDPOINT_URL_S3") or None
        client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=BotoConfig(
                connect_timeout=5,
                read_timeout=20,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        self._objects = S3Objects(client, self.bucket, endpoint_url or "S3", self.describe())
        self._journal = S3JournalStore(self._objects, f"{config.key}.journal/")

    # -- protocol ---------------------------------------------------------------------------

    def describe(self) -> str:
        """`s3://bucket/key`, for messages."""
        return f"s3://{self.bucket}/{self.key}"

    def journal(self) -> S3JournalStore:
        """Objects under `<key>.journal/`, beside the state, so any runner finds them."""
        return self._journal

    def read(self) -> StateVersion | None:
        """The current state and its ETag, or None before the first write."""
        found = self._get_state()
        if found is None:
            return None
        body, etag = found
        state = State.loads(body, source=self.describe())
        self._serial_of_token[etag] = state.serial
        return StateVersion(state=state, token=etag)

    def write(
        self, state: State, expected_token: str | None, audit: AuditRecord | None = None
    ) -> str:
        """Compare-and-swap the state object, then keep the version in history."""
        failpoints.hit("state.s3.write", self.key)
        data = state.dumps().encode()
        limits.check_state_to_write(len(data), self.describe())
        require_conditional_writes(self._objects, self.probe_key)
        current = self._get_state()
        current_serial = _serial_in(current[0], self.describe()) if current else None
        if expected_token is None:
            read_serial = "none"
        else:
            read_serial = str(self._serial_of_token.get(expected_token, "?"))

        def stale(now: int | str | None) -> StaleStateError:
            where = "" if now is not None else f" ({self.describe()} is gone)"
            return StaleStateError(
                f"state changed since it was read (serial {read_serial} -> {now}){where}; "
                "re-run the command"
            )

        if (current is None) != (expected_token is None):
            raise stale(current_serial)
        if current is not None and current[1] != expected_token:
            raise stale(current_serial)
        if isinstance(current_serial, int) and state.serial <= current_serial:
            raise StaleStateError(
                f"refusing to write serial {state.serial}: {self.describe()} is already at "
                f"serial {current_serial} and every write must increase it"
            )
        conditions = {"IfNoneMatch": "*"} if expected_token is None else {"IfMatch": expected_token}
        try:
            response = self._objects.put(self.key, data, "application/json", **conditions)
        except (PreconditionFailed, ObjectMissing) as exc:
            raise stale("a newer version") from exc
        created = _utc_now()
        record = {
            "serial": state.serial,
            "created": created,
            "audit": audit.to_json() if audit else None,
            "state": state.to_json(),
        }
        self._objects.put(
            self._history_key(state.serial),
            json.dumps(record, sort_keys=True, indent=2).encode(),
            "application/json",
        )
        token = str(response["ETag"])
        self._serial_of_token[token] = state.serial
        return token

    def lock(self, operation: str, timeout: float = 0.0) -> LockInfo:
        """Create the lock object if absent, retrying with backoff up to `timeout` seconds."""
        require_conditional_writes(self._objects, self.probe_key)
        info = LockInfo.new(operation)
        body = json.dumps(info.to_json(), sort_keys=True).encode()

        def try_once() -> LockInfo | Held:
            for _ in range(3):  # the holder may release between our put and our read
                try:
                    self._objects.put(self.lock_key, body, "application/json", IfNoneMatch="*")
                    return info
                except PreconditionFailed:
                    held = self._read_lock()
                if held is not None:
                    return Held(held[0], holder_dead=process_is_dead(held[0]))
            return Held(None)

        try:
            return acquire_with_backoff(try_once, timeout, self.clock)
        except LockHeldError as exc:
            if exc.holder is not None:
                stale = self._stale_message(exc.holder)
                if stale:
                    raise LockHeldError(stale, exc.holder) from None
            raise

    def unlock(self, lock: LockInfo) -> None:
        """Delete our lock; StateError if it is gone or now belongs to someone else."""
        held = self._read_lock()
        if held is None:
            raise StateError(
                f"lock {lock.id} was no longer held when releasing it (it was force-unlocked)"
            )
        holder, etag = held
        if holder.id != lock.id:
            raise StateError(
                f"not releasing the lock on {self.describe()}: "
                f"it is now held by {holder.describe()}"
            )
        self._delete_lock(etag)

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Delete the lock only if its ID is `lock_id`; returns the removed owner record."""
        held = self._read_lock()
        if held is None:
            raise StateError(f"{self.describe()} is not locked")
        holder, etag = held
        if holder.id != lock_id:
            raise StateError(
                f"lock ID {lock_id} does not match the lock on {self.describe()}: "
                f"it is held by {holder.describe()}"
            )
        self._delete_lock(etag)
        return holder

    def history(self) -> list[HistoryEntry]:
        """Every kept version, oldest first, with the audit record of who wrote it."""
        entries: dict[int, HistoryEntry] = {}
        for key in self._history_keys():
            record = self._history_record(key)
            if record is None:
                continue
            audit = record.get("audit")
            serial = int(record["serial"])
            entries[serial] = HistoryEntry(
                serial=serial,
                created=str(record.get("created", "")),
                audit=AuditRecord.from_json(audit) if isinstance(audit, dict) else None,
            )
        current = self.read()
        if current is not None and current.state.serial not in entries:
            # A writer stopped between the state write and the history write.
            entries[current.state.serial] = HistoryEntry(serial=current.state.serial, created="")
        return [entries[serial] for serial in sorted(entries)]

    def read_serial(self, serial: int) -> State:
        """A kept version by serial; the current object stands in if its history copy is missing."""
        key = self._history_key(serial)
        record = self._history_record(key)
        if record is not None:
            text = json.dumps(record["state"], ensure_ascii=False)
            return State.loads(text, source=self._objects.url(key))
        current = self.read()
        if current is not None and current.state.serial == serial:
            return current.state
        raise StateError(f"serial {serial} is not kept in {self.describe()}")

    # -- helpers ----------------------------------------------------------------------------

    def _history_key(self, serial: int) -> str:
        return f"{self.history_prefix}{serial:0{_HISTORY_DIGITS}d}.json"

    def newest_kept(self) -> int | None:
        """The newest serial among the history objects' names, even one newer than the state's."""
        serials = [
            int(stem)
            for key in self._history_keys()
            if (stem := key.removeprefix(self.history_prefix).removesuffix(".json")).isdigit()
        ]
        return max(serials, default=None)

    def _history_keys(self) -> Iterator[str]:
        for key, _ in self._objects.keys(self.history_prefix):
            yield key

    def _history_record(self, key: str) -> dict[str, Any] | None:
        limit = limits.MAX_STATE_BYTES + HISTORY_OVERHEAD
        found = self._objects.get(key, limit, "state history record")
        if found is None:
            return None
        try:
            record = parse_json(found[0], limits.HISTORY_RECORD_SHAPE)
        except ShapeError as exc:
            raise StateError(f"history object s3://{self.bucket}/{key}: {exc}") from None
        if not isinstance(record, dict) or "serial" not in record or "state" not in record:
            raise StateError(f"history object s3://{self.bucket}/{key} is malformed")
        return record

    def _stale_message(self, holder: LockInfo) -> str | None:
        """The "stale lock" message when the lock is older than `lock_ttl`, else None."""
        now = datetime.now(UTC)
        age = _lock_age(holder, now)
        if age is None or age <= self.lock_ttl:
            return None
        return (
            f"the lock on {self.describe()} is stale: taken {format_age(int(age.total_seconds()))} "
            f"ago (older than lock_ttl {self.config.lock_ttl}d) by {holder.describe(now)}; "
            f"it is not taken over automatically: if that run is gone, "
            f"clear it with `ctconfig force-unlock {holder.id}`"
        )

    def lock_holder(self) -> LockInfo | None:
        """The lock object's owner, unless its process is gone from this machine or the lock is
        older than `lock_ttl` (a runner that died leaves its lock object behind)."""
        held = self._read_lock()
        if held is None or process_is_dead(held[0]) or self._stale_message(held[0]) is not None:
            return None
        return held[0]

    def _read_lock(self) -> tuple[LockInfo, str] | None:
        found = self._objects.get(self.lock_key, limits.MAX_LOCK_BYTES, "lock record")
        if found is None:
            return None
        body, etag = found
        try:
            return LockInfo.from_json(parse_json(body, limits.LOCK_SHAPE)), etag
        except (ShapeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(
                f"lock object s3://{self.bucket}/{self.lock_key} is malformed; "
                "delete it by hand once no run is active"
            ) from exc

    def _delete_lock(self, etag: str) -> None:
        try:
            self._objects.call("delete_object", Bucket=self.bucket, Key=self.lock_key, IfMatch=etag)
        except ObjectMissing:
            return
        except PreconditionFailed as exc:
            raise StateError(
                f"the lock on {self.describe()} changed while it was being removed; look again"
            ) from exc

    def _get_state(self) -> tuple[bytes, str] | None:
        """The state object's bytes and ETag; an oversized one is refused before it is read."""
        return self._objects.get(self.key, limits.MAX_STATE_BYTES, "state")
