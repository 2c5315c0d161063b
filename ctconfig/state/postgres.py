"""The postgres backend: a table of state versions and a session advisory lock.

Tables (created on first use in `state.schema`, default `ctconfig`; see postgres_schema.py):
  state_versions (state_name, serial) → lineage, digest, document JSONB, created, who,
                 summary, audit JSONB: every version is kept, so history is a query.
  state_locks    state_name → the owner record, for "held by" and force-unlock.
  state_journal  (state_name, seq) → one journal entry each (postgres_journal.py).
The lock itself is a session advisory lock keyed by the state name: the server
frees it when the runner's connection dies, and the next locker silently
replaces the stale record. The connection string comes only from the
environment variable `state.dsn_env` and is never printed.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from ctconfig import failpoints
from ctconfig.config.spec import PostgresStateConfig
from ctconfig.secrets import Secret
from ctconfig.state import limits
from ctconfig.state.base import (
    AuditRecord,
    HistoryEntry,
    LockInfo,
    StaleStateError,
    StateVersion,
    current_actor,
)
from ctconfig.state.document import State, StateError
from ctconfig.state.lockfile import (
    SYSTEM_CLOCK,
    Held,
    WaitClock,
    acquire_with_backoff,
    lock_held_error,
)
from ctconfig.state.postgres_journal import PostgresJournalStore
from ctconfig.state.postgres_schema import advisory_key, ensure_schema

# Advisory-lock classes (first int4 key); the second key is derived from the state name.
RECORD_GRACE_SECONDS = 2.0
LOCK_CLASS = 0x43544C4B  # "CTLK": held for the length of a command
WRITE_CLASS = 0x43545752  # "CTWR": held for one write transaction
CONNECT_TIMEOUT = 10
TERMINATE_WAIT_MS = 5000
ISO_UTC = """to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class PostgresBackend:
    """State in PostgreSQL. One connection per client; `close()` releases it."""

    def __init__(
        self,
        config: PostgresStateConfig,
        environ: Mapping[str, str],
        clock: WaitClock = SYSTEM_CLOCK,
    ) -> None:
        self.clock = clock
        self.name = config.name
        self.schema = config.schema_name
        dsn = environ.get(config.dsn_env)
        if not dsn:
            raise StateError(
                f"the postgres state backend reads its connection string from "
                f"${config.dsn_env}, which is not set"
            )
        try:
            password = conninfo_to_dict(dsn).get("password")
        except psycopg.Error:
            raise StateError(f"the connection string in ${config.dsn_env} is malformed") from None
        self._dsn = Secret(dsn)
        self._redact = [s for s in (dsn, str(password or "")) if s]
        self._conn: psycopg.Connection[Any] | None = None
        self._held: LockInfo | None = None
        self._lock_key = advisory_key(self.schema, self.name)
        self._versions = sql.Identifier(self.schema, "state_versions")
        self._locks = sql.Identifier(self.schema, "state_locks")
        self._journal: PostgresJournalStore | None = None

    def describe(self) -> str:
        return f"postgres:{self.name}"

    def journal(self) -> PostgresJournalStore:
        """Rows of `state_journal` in the same database, so any runner finds them."""
        if self._journal is None:
            self._journal = PostgresJournalStore(self.connect, self.schema, self.name, self._reason)
        return self._journal

    def close(self) -> None:
        """Close the connections; the server releases any advisory lock it held."""
        self._drop_connection()
        if self._journal is not None:
            self._journal.close()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._held = None

    def _scrub(self, text: str) -> str:
        for secret in self._redact:
            text = text.replace(secret, "<redacted>")
        return text

    def _reason(self, exc: psycopg.Error) -> str:
        primary = getattr(exc.diag, "message_primary", None) or str(exc) or type(exc).__name__
        lines = [line.strip() for line in self._scrub(str(primary)).splitlines() if line.strip()]
        return lines[-1] if lines else type(exc).__name__

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn driver errors into one-line StateErrors that never show the DSN."""
        try:
            yield
        except psycopg.OperationalError as exc:
            self._drop_connection()
            raise StateError(
                f"{self.describe()}: {action} failed, the server is unreachable or the "
                f"connection was lost: {self._reason(exc)}"
            ) from None
        except psycopg.Error as exc:
            raise StateError(f"{self.describe()}: {action} failed: {self._reason(exc)}") from None

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection, with the tables in place; StateError if unreachable."""
        try:
            conn = psycopg.connect(
                self._dsn.reveal(),
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                application_name="ctconfig",
            )
        except psycopg.Error as exc:
            raise StateError(
                f"cannot reach the postgres state backend {self.describe()}: {self._reason(exc)}"
            ) from None
        try:
            ensure_schema(conn, self.schema)
        except psycopg.Error as exc:
            conn.close()
            raise StateError(
                f"{self.describe()}: creating the state tables failed: {self._reason(exc)}"
            ) from None
        return conn

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
        return self._conn

    def read(self) -> StateVersion | None:
        """The newest version and its token (`serial:digest`)."""
        row = self._fetch_document("reading the state", "ORDER BY serial DESC LIMIT 1", ())
        if row is None:
            return None
        serial, digest, text = row
        return StateVersion(self._parse(text, serial), f"{serial}:{digest}")

    def _fetch_document(
        self, action: str, condition: str, params: tuple[Any, ...]
    ) -> tuple[int, str, str] | None:
        """(serial, digest, document text) of one version; an oversized one is refused unread."""
        conn = self._connection()
        query = sql.SQL(
            "SELECT serial, digest, octet_length(text), "
            "CASE WHEN octet_length(text) <= %s THEN text END FROM "
            "(SELECT serial, digest, document::text AS text FROM {} WHERE state_name = %s "
            + condition
            + ") AS version"
        ).format(self._versions)
        with self._errors(action):
            row = conn.execute(query, (limits.MAX_STATE_BYTES, self.name, *params)).fetchone()
        if row is None:
            return None
        serial, digest, size, text = row
        limits.check_state_size(int(size), self._source(serial))
        return int(serial), str(digest), str(text)

    def _source(self, serial: int) -> str:
        return f"{self.describe()} serial {serial}"

    def _parse(self, text: str, serial: int) -> State:
        return State.loads(text, source=self._source(serial))

    def write(
        self, state: State, expected_token: str | None, audit: AuditRecord | None = None
    ) -> str:
        """Insert a new version in one transaction, if the newest is still `expected_token`."""
        failpoints.hit("state.pg.write", self.name)
        text = state.dumps()
        limits.check_state_to_write(len(text.encode()), self.describe())
        digest = _digest(text)
        conn = self._connection()
        with self._errors("writing the state"), conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (WRITE_CLASS, self._lock_key)
            )
            row = conn.execute(
                sql.SQL(
                    "SELECT serial, digest FROM {} WHERE state_name = %s "
                    "ORDER BY serial DESC LIMIT 1"
                ).format(self._versions),
                (self.name,),
            ).fetchone()
            current_token = None if row is None else f"{row[0]}:{row[1]}"
            if current_token != expected_token:
                before = "none" if expected_token is None else expected_token.split(":")[0]
                after = "none" if row is None else row[0]
                raise StaleStateError(
                    f"state changed since it was read (serial {before} -> {after}); "
                    "re-run the command"
                )
            if row is not None and state.serial <= row[0]:
                raise StaleStateError(
                    f"refusing to write serial {state.serial}: the state is already at serial "
                    f"{row[0]} and every write must increase it"
                )
            failpoints.hit("state.pg.insert", self.name)
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (state_name, serial, lineage, digest, document, who, summary, audit) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                ).format(self._versions),
                (
                    self.name,
                    state.serial,
                    state.lineage,
                    digest,
                    Jsonb(state.to_json()),
                    audit.who if audit else current_actor(),
                    audit.summary if audit else "",
                    Jsonb(audit.to_json()) if audit else None,
                ),
            )
            failpoints.hit("state.pg.commit", self.name)
        return f"{state.serial}:{digest}"

    def history(self) -> list[HistoryEntry]:
        """Every version, oldest first, with the audit record stored beside it."""
        conn = self._connection()
        with self._errors("reading the state history"):
            rows = conn.execute(
                sql.SQL(
                    f"SELECT serial, {ISO_UTC}, audit FROM {{}} WHERE state_name = %s ORDER BY serial"
                ).format(self._versions),
                (self.name,),
            ).fetchall()
        return [
            HistoryEntry(
                serial=serial,
                created=created,
                audit=AuditRecord.from_json(audit) if audit is not None else None,
            )
            for serial, created, audit in rows
        ]

    def newest_kept(self) -> int | None:
        """The newest version's serial (the current state is always the newest row)."""
        conn = self._connection()
        with self._errors("reading the state history"):
            query = sql.SQL("SELECT max(serial) FROM {} WHERE state_name = %s").format(self._versions)
            row = conn.execute(query, (self.name,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def read_serial(self, serial: int) -> State:
        row = self._fetch_document("reading a past state version", "AND serial = %s", (serial,))
        if row is None:
            raise StateError(f"serial {serial} is not kept in {self.describe()}")
        return self._parse(row[2], serial)

    def lock(self, operation: str, timeout: float = 0.0) -> LockInfo:
        """Take the session advisory lock and record its owner; wait with backoff up to `timeout`."""
        if self._held is not None:
            raise lock_held_error(Held(self._held), 0.0)
        return acquire_with_backoff(lambda: self._try_lock(operation), timeout, self.clock)

    def _try_lock(self, operation: str) -> LockInfo | Held:
        conn = self._connection()
        with self._errors("taking the state lock"):
            failpoints.hit("lock.pg.advisory", self.name)
            got = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, self._lock_key)
            ).fetchone()
            if got and got[0]:
                info = LockInfo.new(operation)
                failpoints.hit("lock.pg.record", self.name)
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (state_name, lock_id, info, backend_pid) "
                        "VALUES (%s, %s, %s, pg_backend_pid()) ON CONFLICT (state_name) DO UPDATE "
                        "SET lock_id = EXCLUDED.lock_id, info = EXCLUDED.info, "
                        "backend_pid = EXCLUDED.backend_pid, created = now()"
                    ).format(self._locks),
                    (self.name, info.id, Jsonb(info.to_json())),
                )
                self._held = info
                return info
            record = self._lock_record(conn)
            # The holder takes the advisory lock, then records itself: give it a moment, so the
            # refusal can name who holds the lock rather than "someone".
            deadline = self.clock.monotonic() + RECORD_GRACE_SECONDS
            while record is None and self.clock.monotonic() < deadline:
                self.clock.sleep(0.05)
                record = self._lock_record(conn)
        return Held(record, unknown_holder="another session that has not recorded itself yet")

    def _lock_record(self, conn: psycopg.Connection[Any]) -> LockInfo | None:
        row = conn.execute(
            sql.SQL("SELECT info FROM {} WHERE state_name = %s").format(self._locks), (self.name,)
        ).fetchone()
        if row is None:
            return None
        try:
            return LockInfo.from_json(row[0])
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # not ctconfig's record: reported as an unknown holder

    def unlock(self, lock: LockInfo) -> None:
        """Drop our lock record and advisory lock; StateError if it was force-unlocked meanwhile."""
        if self._held is None or self._held.id != lock.id:
            raise StateError(f"lock {lock.id} is not held by this client (it was force-unlocked)")
        conn = self._connection()
        try:
            failpoints.hit("lock.pg.unrecord", self.name)
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE state_name = %s AND lock_id = %s").format(self._locks),
                (self.name, lock.id),
            )
            failpoints.hit("lock.pg.unlock", self.name)
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, self._lock_key))
        except psycopg.OperationalError:
            self._drop_connection()
            raise StateError(
                f"lock {lock.id} was lost with its server session "
                "(force-unlocked, or the connection dropped)"
            ) from None
        except psycopg.Error as exc:
            raise StateError(
                f"{self.describe()}: releasing the state lock failed: {self._reason(exc)}"
            ) from None
        finally:
            self._held = None

    def force_unlock(self, lock_id: str) -> LockInfo:
        """End the session holding the lock with this ID (if alive) and drop its record."""
        conn = self._connection()
        with self._errors("force-unlocking the state"):
            record = self._lock_record(conn)
            holder_pid = self._advisory_holder_pid(conn)
            if record is None or (holder_pid is None and record.id != lock_id):
                raise StateError("state is not locked; nothing to force-unlock")
            if record.id != lock_id:
                raise StateError(
                    f"lock ID {lock_id} does not match the current lock "
                    f"(held by {record.describe()})"
                )
            own_pid = conn.execute("SELECT pg_backend_pid()").fetchone()
            if holder_pid is not None and own_pid and holder_pid == own_pid[0]:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, self._lock_key))
                self._held = None
            elif holder_pid is not None:
                self._terminate(conn, holder_pid)
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE state_name = %s AND lock_id = %s").format(self._locks),
                (self.name, lock_id),
            )
        return record

    def lock_holder(self) -> LockInfo | None:
        """The recorded owner while a session holds the advisory lock (a dead runner's is released)."""
        conn = self._connection()
        with self._errors("reading the state lock"):
            if self._advisory_holder_pid(conn) is None:
                return None
            record = self._lock_record(conn)
        return record or LockInfo("?", "another session", "?", 0, "?", "")

    def _advisory_holder_pid(self, conn: psycopg.Connection[Any]) -> int | None:
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = %s AND objid = %s AND objsubid = 2",
            (LOCK_CLASS, self._lock_key),
        ).fetchone()
        return None if row is None else int(row[0])

    def _terminate(self, conn: psycopg.Connection[Any], pid: int) -> None:
        try:
            conn.execute("SELECT pg_terminate_backend(%s, %s)", (pid, TERMINATE_WAIT_MS))
        except psycopg.errors.InsufficientPrivilege:
            raise StateError(
                f"{self.describe()}: not allowed to end the server session (pid {pid}) that "
                f"holds the lock; ask a database admin to run SELECT pg_terminate_backend({pid})"
            ) from None
