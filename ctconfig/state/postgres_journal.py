"""An apply's journal as rows of `state_journal` in the state's own PostgreSQL database.

Each entry is one row keyed by (state_name, seq). `append` inserts a whole batch
with one statement — one round trip and one transaction: the batch is committed
whole or not at all, numbered after the highest seq already stored. `replace`
deletes the rows and inserts the new ones in one transaction, so a connection
lost half-way leaves the old rows. Another runner, on any machine, reads the
same rows back in seq order.

The store has its own connection (opened on first use), so that a batch appended
from a worker thread can never land inside a transaction of the state backend.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from ctconfig import failpoints
from ctconfig.state.document import StateError
from ctconfig.state.journal_store import (
    MAX_JOURNAL_BYTES,
    MAX_JOURNAL_ENTRIES,
    JournalWriteError,
    decode_entry,
)

_APPEND = """INSERT INTO {table} (state_name, seq, entry)
SELECT %(name)s, base.top + batch.ord, batch.entry
FROM (SELECT coalesce(max(seq), 0) AS top FROM {table} WHERE state_name = %(name)s) AS base,
     jsonb_array_elements(%(batch)s::jsonb) WITH ORDINALITY AS batch(entry, ord)"""

_DELETE = "DELETE FROM {table} WHERE state_name = %(name)s"

_SIZE = """SELECT count(*), coalesce(sum(octet_length(entry::text)), 0)
FROM {table} WHERE state_name = %s"""


class PostgresJournalStore:
    """A `JournalStore` in `SCHEMA.state_journal`, rows keyed by state name and sequence."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        schema: str,
        name: str,
        reason: Callable[[psycopg.Error], str],
    ) -> None:
        self._connect = connect
        self._reason = reason
        self._table = sql.Identifier(schema, "state_journal")
        self.name = name
        self._where = f"postgres:{name} (table {schema}.state_journal)"
        self._conn: psycopg.Connection[Any] | None = None
        self._mutex = threading.Lock()

    def describe(self) -> str:
        return self._where

    def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Insert the batch in one statement (one round trip, one transaction)."""
        if not entries:
            return
        batch = self._batch(entries)
        with self._mutex:
            conn = self._connection(writing=True)
            try:
                failpoints.hit("journal.pg.insert", self.name)
                conn.execute(sql.SQL(_APPEND).format(table=self._table), {"name": self.name, "batch": batch})
            except psycopg.errors.UniqueViolation:
                raise JournalWriteError(
                    self._where, "another run appended to this journal at the same moment"
                ) from None
            except psycopg.Error as exc:
                raise JournalWriteError(self._where, self._failure(exc)) from None
        failpoints.hit("journal.pg.appended", self.name)

    def replace(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Delete every row and insert `entries` in one transaction: all of it, or none."""
        batch = self._batch(entries) if entries else None
        params = {"name": self.name, "batch": batch}
        with self._mutex:
            conn = self._connection(writing=True)
            try:
                with conn.transaction():
                    failpoints.hit("journal.pg.replace.delete", self.name)
                    conn.execute(sql.SQL(_DELETE).format(table=self._table), params)
                    if batch is not None:
                        failpoints.hit("journal.pg.replace.insert", self.name)
                        conn.execute(sql.SQL(_APPEND).format(table=self._table), params)
                    failpoints.hit("journal.pg.replace.commit", self.name)
            except psycopg.Error as exc:
                raise JournalWriteError(self._where, self._failure(exc)) from None

    def _batch(self, entries: Sequence[Mapping[str, Any]]) -> str:
        """The entries as one JSON array (one statement's parameter), refused past a journal's size."""
        batch = json.dumps(list(entries), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        size = len(batch.encode())
        if size > MAX_JOURNAL_BYTES:
            raise JournalWriteError(self._where, f"a batch of {size} bytes is more than a journal holds")
        return batch

    def entries(self) -> list[dict[str, Any]]:
        """Every entry in seq order; refused before fetching when larger than a journal may be."""
        with self._mutex:
            conn = self._connection(writing=False)
            try:
                count, size = conn.execute(
                    sql.SQL(_SIZE).format(table=self._table), (self.name,)
                ).fetchone() or (0, 0)
                _check_bounds(self._where, int(count), int(size))
                rows = conn.execute(
                    sql.SQL("SELECT seq, entry::text FROM {} WHERE state_name = %s ORDER BY seq").format(
                        self._table
                    ),
                    (self.name,),
                ).fetchall()
            except psycopg.Error as exc:
                raise StateError(f"cannot read the journal {self._where}: {self._failure(exc)}") from None
        return [decode_entry(text, self._where, f"entry {seq}") for seq, text in rows]

    def clear(self) -> None:
        """Delete every entry of this state (one statement)."""
        with self._mutex:
            conn = self._connection(writing=True)
            try:
                failpoints.hit("journal.pg.delete", self.name)
                conn.execute(sql.SQL(_DELETE).format(table=self._table), {"name": self.name})
            except psycopg.Error as exc:
                raise JournalWriteError(self._where, self._failure(exc)) from None

    def close(self) -> None:
        """Close the store's connection (the entries stay); the next call reconnects."""
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self, writing: bool) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = self._connect()
            except StateError as exc:
                if writing:
                    raise JournalWriteError(self._where, str(exc)) from None
                raise
        return self._conn

    def _failure(self, exc: psycopg.Error) -> str:
        """The server's words; a lost connection is closed so that the next call reconnects."""
        if isinstance(exc, psycopg.OperationalError):
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            return f"the connection to the server was lost ({self._reason(exc)})"
        return self._reason(exc)


def _check_bounds(where: str, count: int, size: int) -> None:
    if count > MAX_JOURNAL_ENTRIES or size > MAX_JOURNAL_BYTES:
        raise StateError(
            f"journal {where} holds {count} entries ({size} bytes), more than the "
            f"{MAX_JOURNAL_ENTRIES} entries or {MAX_JOURNAL_BYTES} bytes a journal can hold; "
            "it is not ctconfig's"
        )
