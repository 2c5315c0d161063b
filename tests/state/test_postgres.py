"""What only the postgres backend promises, against a real server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from ctconfig.config.spec import PostgresStateConfig
from ctconfig.errors import CtconfigError
from ctconfig.state.backends import open_backend
from ctconfig.state.base import LockHeldError
from ctconfig.state.document import State, StateError
from ctconfig.state.postgres import PostgresBackend

pytestmark = pytest.mark.postgres


def config(name: str | None = None, schema: str = "ctconfig") -> PostgresStateConfig:
    return PostgresStateConfig.model_validate(
        {
            "backend": "postgres",
            "dsn_env": "PG_DSN",
            "name": name or f"t-{uuid.uuid4().hex[:12]}",
            "schema": schema,
        }
    )


@pytest.fixture
def clients(pg_dsn: str) -> Iterator[list[PostgresBackend]]:
    made: list[PostgresBackend] = []
    yield made
    for backend in made:
        backend.close()


def test_factory_opens_postgres_and_describes_without_dsn(
    pg_dsn: str, clients: list[PostgresBackend]
) -> None:
    backend = open_backend(config("prod"), {"PG_DSN": pg_dsn})
    assert isinstance(backend, PostgresBackend)
    clients.append(backend)
    assert backend.describe() == "postgres:prod"
    assert backend.journal().describe() == "postgres:prod (table ctconfig.state_journal)"


def test_tables_created_on_first_use_in_own_schema(pg_dsn: str, clients: list[PostgresBackend]) -> None:
    schema = f"s_{uuid.uuid4().hex[:8]}"
    first = PostgresBackend(config("a", schema), {"PG_DSN": pg_dsn})
    other = PostgresBackend(config("b", schema), {"PG_DSN": pg_dsn})
    clients.extend([first, other])
    first.write(State.new().next_version(), None)
    assert other.read() is None  # states share tables, not rows
    with psycopg.connect(pg_dsn) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        }
        who, audit = conn.execute(
            f'SELECT who, audit FROM "{schema}".state_versions WHERE state_name = %s', ("a",)
        ).fetchone() or ("", "")
    assert tables == {"state_versions", "state_locks", "state_journal"}
    assert who and audit is None


def test_lock_survives_nothing_when_holder_is_killed(pg_dsn: str, clients: list[PostgresBackend]) -> None:
    """kill -9 of the runner: the server frees the advisory lock, the stale record is replaced."""
    cfg = config()
    script = textwrap.dedent(
        f"""
        import sys, time
        from ctconfig.config.spec import PostgresStateConfig
        from ctconfig.state.postgres import PostgresBackend
        cfg = PostgresStateConfig.model_validate({cfg.model_dump(by_alias=True)!r})
        backend = PostgresBackend(cfg, {{"PG_DSN": sys.stdin.readline().strip()}})
        lock = backend.lock("apply")
        print(lock.id, flush=True)
        time.sleep(120)
        """
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdin is not None and runner.stdout is not None
        runner.stdin.write(pg_dsn + "\n")
        runner.stdin.flush()
        dead_id = runner.stdout.readline().strip()
        assert dead_id
        waiting = PostgresBackend(cfg, {"PG_DSN": pg_dsn})
        clients.append(waiting)
        with pytest.raises(LockHeldError) as caught:
            waiting.lock("plan")
        assert f"(pid {runner.pid}) running apply" in str(caught.value)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
        lock = waiting.lock("apply", timeout=10)
        assert lock.id != dead_id
        third = PostgresBackend(cfg, {"PG_DSN": pg_dsn})
        clients.append(third)
        with pytest.raises(LockHeldError, match=f"lock ID {lock.id}"):
            third.lock("plan")
        waiting.unlock(lock)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=10)


def test_force_unlock_ends_a_hung_holder_session(pg_dsn: str, clients: list[PostgresBackend]) -> None:
    cfg = config()
    hung, admin = (PostgresBackend(cfg, {"PG_DSN": pg_dsn}) for _ in range(2))
    clients.extend([hung, admin])
    lock = hung.lock("apply")
    admin.force_unlock(lock.id)
    # The killed session fences the old holder: its next write fails instead of landing.
    with pytest.raises(StateError, match="connection was lost"):
        hung.write(State.new().next_version(), None)
    with pytest.raises(StateError, match="force-unlocked"):
        hung.unlock(lock)


def test_unlock_after_force_unlock_reports_lost_session(pg_dsn: str, clients: list[PostgresBackend]) -> None:
    cfg = config()
    hung, admin = (PostgresBackend(cfg, {"PG_DSN": pg_dsn}) for _ in range(2))
    clients.extend([hung, admin])
    lock = hung.lock("apply")
    admin.force_unlock(lock.id)
    with pytest.raises(StateError, match="lost with its server session"):
        hung.unlock(lock)


def test_one_client_cannot_lock_twice(pg_dsn: str, clients: list[PostgresBackend]) -> None:
    backend = PostgresBackend(config(), {"PG_DSN": pg_dsn})
    clients.append(backend)
    lock = backend.lock("apply")
    with pytest.raises(LockHeldError, match=lock.id):
        backend.lock("apply")
    backend.unlock(lock)


def test_unreachable_server_is_one_line_without_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        dsn = f"postgresql://ci:s3cr3t-pw@127.0.0.1:{port}/db?connect_timeout=2"
        backend = PostgresBackend(config("prod"), {"PG_DSN": dsn})
        with pytest.raises(CtconfigError) as caught:
            backend.read()
    message = str(caught.value)
    assert message.startswith("cannot reach the postgres state backend postgres:prod: ")
    assert "\n" not in message and "s3cr3t-pw" not in message and dsn not in message


def test_missing_and_malformed_dsn() -> None:
    with pytest.raises(StateError, match=r"\$PG_DSN, which is not set"):
        PostgresBackend(config(), {})
    with pytest.raises(StateError, match=r"connection string in \$PG_DSN is malformed") as caught:
        PostgresBackend(config(), {"PG_DSN": "host=x password=s3cr3t-pw bogus"})
    assert "s3cr3t-pw" not in str(caught.value)
