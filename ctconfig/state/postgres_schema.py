"""The postgres backend's tables, created once on first use.

All three live in `state.schema` (default `ctconfig`) and are keyed by the state name:

  state_versions (state_name, serial)  every version: document, digest, who, summary, audit
  state_locks    (state_name)          the owner record of the advisory lock's holder
  state_journal  (state_name, seq)     an apply's write-ahead journal, one row per entry
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg import sql

SCHEMA_CLASS = 0x43545343  # "CTSC": advisory lock held while creating the tables
TABLES = ("state_versions", "state_locks", "state_journal")

_DDL = (
    """CREATE TABLE IF NOT EXISTS {schema}.state_versions (
        state_name text NOT NULL,
        serial bigint NOT NULL,
        lineage text NOT NULL,
        digest text NOT NULL,
        document jsonb NOT NULL,
        created timestamptz NOT NULL DEFAULT now(),
        who text NOT NULL,
        summary text NOT NULL DEFAULT '',
        audit jsonb,
        PRIMARY KEY (state_name, serial))""",
    """CREATE TABLE IF NOT EXISTS {schema}.state_locks (
        state_name text PRIMARY KEY,
        lock_id text NOT NULL,
        info jsonb NOT NULL,
        backend_pid integer NOT NULL,
        created timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS {schema}.state_journal (
        state_name text NOT NULL,
        seq bigint NOT NULL,
        entry jsonb NOT NULL,
        created timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (state_name, seq))""",
)


def advisory_key(*parts: str) -> int:
    """A stable positive int4 from names, so every client agrees on the lock key."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def qualified(schema: str, table: str) -> str:
    """`"schema"."table"`, quoted, for to_regclass."""
    return sql.Identifier(schema, table).as_string(None)


def ensure_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """Create the schema and tables once; concurrent first users wait for each other.

    One query when everything exists. A database made by an older ctconfig
    (without `state_journal`) gains the missing table here.
    """
    present = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL "
        "AND to_regclass(%s) IS NOT NULL",
        tuple(qualified(schema, table) for table in TABLES),
    ).fetchone()
    if present and present[0]:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (SCHEMA_CLASS, advisory_key(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        for statement in _DDL:
            conn.execute(sql.SQL(statement).format(schema=sql.Identifier(schema)))
