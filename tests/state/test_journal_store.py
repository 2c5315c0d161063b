"""The JournalStore contract, on every store that keeps the journal where the state lives.

Issue 10.2: local keeps a file beside the state, postgres a table in the same
database, s3 objects beside the state object, so that a second runner — another
working directory, another machine — finds the journal. Entries are opaque
JSON objects here; what they mean is `state.journal`'s business.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ctconfig.state.journal_store import FileJournalStore, JournalStore, JournalWriteError
from ctconfig.state.local import LocalBackend


@dataclass
class Stores:
    """New instances of one fresh journal, and how a separate process opens the same state."""

    new: Callable[[], JournalStore]
    state_config: dict[str, Any]
    env: dict[str, str]


@pytest.fixture
def local_stores(tmp_path: Path) -> Stores:
    path = tmp_path / "state" / "ctconfig.state.json"
    return Stores(
        new=lambda: LocalBackend(path).journal(),
        state_config={"backend": "local", "path": str(path)},
        env=dict(os.environ),
    )


@pytest.fixture
def postgres_stores(pg_dsn: str) -> Iterator[Stores]:
    from ctconfig.config.spec import PostgresStateConfig
    from ctconfig.state.postgres import PostgresBackend

    state_config = {"backend": "postgres", "dsn_env": "JOURNAL_PG_DSN", "name": f"j-{uuid.uuid4().hex[:10]}"}
    config = PostgresStateConfig.model_validate(state_config)
    env = {"JOURNAL_PG_DSN": pg_dsn}
    opened: list[PostgresBackend] = []

    def new() -> JournalStore:
        backend = PostgresBackend(config, env)
        opened.append(backend)
        return backend.journal()

    yield Stores(new, state_config, {**os.environ, **env})
    for backend in opened:
        with contextlib.suppress(Exception):
            backend.close()


@pytest.fixture
def s3_stores(s3_config: dict[str, Any], subprocess_env: dict[str, str]) -> Stores:
    from ctconfig.config.spec import S3StateConfig
    from ctconfig.state.s3 import S3Backend

    config = S3StateConfig.model_validate(s3_config)
    return Stores(lambda: S3Backend(config).journal(), dict(s3_config), subprocess_env)


@pytest.fixture(params=["local", pytest.param("postgres", marks=pytest.mark.postgres), "s3"])
def stores(request: pytest.FixtureRequest) -> Stores:
    found: Stores = request.getfixturevalue(f"{request.param}_stores")
    return found


def entry(n: int, **extra: Any) -> dict[str, Any]:
    return {"n": n, "address": f"prod/account_passcode/p{n}", **extra}


# -- the contract --------------------------------------------------------------------------


def test_a_fresh_journal_is_empty(stores: Stores) -> None:
    store = stores.new()
    assert store.entries() == []
    store.append([])  # nothing to store is not an error
    store.clear()  # nor is clearing an empty journal
    assert store.entries() == []
    assert store.describe() and "\n" not in store.describe()


def test_batches_come_back_whole_and_in_order(stores: Stores) -> None:
    store = stores.new()
    batches = [
        [entry(1)],
        [entry(2), entry(3, nested={"list": [1, 2.5, None, True], "text": "ünïcode ✓ \"quoted\"\n"})],
        [entry(n) for n in range(4, 40)],
    ]
    for batch in batches:
        store.append(batch)
    assert store.entries() == [item for batch in batches for item in batch]


def test_order_holds_past_nine_and_ninety_nine_batches(stores: Stores) -> None:
    """Sequence numbers sort as numbers, not as text (object keys and rows alike)."""
    store = stores.new()
    for n in range(1, 103):
        store.append([entry(n)])
    assert [item["n"] for item in store.entries()] == list(range(1, 103))


def test_another_instance_in_another_directory_sees_the_same_entries(
    stores: Stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = stores.new()
    first.append([entry(1), entry(2)])
    close = getattr(first, "close", None)
    if close is not None:
        close()
    elsewhere = tmp_path / "another-checkout"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    second = stores.new()
    assert second.entries() == [entry(1), entry(2)]
    second.append([entry(3)])
    assert stores.new().entries() == [entry(1), entry(2), entry(3)]
    assert not (elsewhere / ".ctconfig").exists()  # nothing was kept in the working directory


RUNNER = textwrap.dedent(
    """
    import json, os, sys
    from pydantic import TypeAdapter
    from ctconfig.config.spec import StateConfig
    from ctconfig.state.backends import open_backend
    config = TypeAdapter(StateConfig).validate_python(json.loads(sys.argv[1]))
    journal = open_backend(config).journal()
    print(json.dumps(journal.entries()))
    journal.append([{"from": "second runner", "cwd": os.getcwd()}])
    """
)


def test_a_second_runner_process_in_another_directory_finds_and_extends_it(
    stores: Stores, tmp_path: Path
) -> None:
    stores.new().append([entry(1), entry(2)])
    checkout = tmp_path / "runner-2"
    checkout.mkdir()
    ran = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(stores.state_config)],
        cwd=checkout,
        env=stores.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [entry(1), entry(2)]
    assert stores.new().entries()[-1] == {"from": "second runner", "cwd": str(checkout)}


def test_clear_removes_every_entry_and_appending_starts_afresh(stores: Stores) -> None:
    store = stores.new()
    for n in range(1, 13):
        store.append([entry(n)])
    store.clear()
    assert store.entries() == [] and stores.new().entries() == []
    store.append([entry(100)])
    stores.new().append([entry(101)])
    assert store.entries() == [entry(100), entry(101)]


def test_replace_swaps_every_entry_and_later_appends_follow_the_new_ones(stores: Stores) -> None:
    store = stores.new()
    for n in range(1, 6):
        store.append([entry(n)])
    store.replace([entry(10), entry(11)])
    assert store.entries() == [entry(10), entry(11)] == stores.new().entries()
    store.append([entry(12)])
    stores.new().append([entry(13)])
    assert stores.new().entries() == [entry(10), entry(11), entry(12), entry(13)]
    store.replace([])
    assert store.entries() == [] == stores.new().entries()
    store.replace([entry(20)])  # on an empty journal too
    assert stores.new().entries() == [entry(20)]


# -- failures name where and why -----------------------------------------------------------

FILL_THE_DISK = textwrap.dedent(
    """
    import json, resource, signal, sys
    from pathlib import Path
    from ctconfig.state.journal_store import FileJournalStore, JournalWriteError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    path = Path(sys.argv[1])
    store = FileJournalStore(path)
    store.append([{"n": 0}])
    limit = path.stat().st_size + 100
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        store.append([{"n": n, "pad": "x" * 40} for n in range(1, 10)])
    except JournalWriteError as exc:
        print(json.dumps({"where": exc.where, "reason": exc.reason, "message": str(exc)}))
    """
)


def test_local_a_full_disk_is_a_journal_write_error_and_leaves_no_torn_batch(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the write stop short, as ENOSPC does; the batch is taken back whole."""
    path = tmp_path / "ctconfig.state.json.journal"
    ran = subprocess.run(
        [sys.executable, "-c", FILL_THE_DISK, str(path)], capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    failure = json.loads(ran.stdout)
    assert failure["where"] == str(path) and failure["reason"] == "File too large"
    assert failure["message"] == f"cannot write the journal {path}: File too large"
    assert FileJournalStore(path).entries() == [{"n": 0}]
    assert path.read_bytes().endswith(b"\n")


READ_ONLY_JOURNAL = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from ctconfig.state.journal_store import FileJournalStore, JournalWriteError
    directory = Path(sys.argv[1])
    os.chmod(directory, 0o555)
    try:
        FileJournalStore(directory / "ctconfig.state.json.journal").append([{"n": 1}])
    except JournalWriteError as exc:
        print(exc)
    finally:
        os.chmod(directory, 0o755)
    """
)


def test_local_a_read_only_directory_is_a_journal_write_error() -> None:
    from tests.state.unprivileged import owned_directory, run_snippet

    with owned_directory() as directory:
        ran = run_snippet(READ_ONLY_JOURNAL, str(directory))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == (
        f"cannot write the journal {directory}/ctconfig.state.json.journal: Permission denied"
    )


def test_local_torn_last_line_is_dropped(local_stores: Stores) -> None:
    store = local_stores.new()
    store.append([entry(1), entry(2)])
    assert isinstance(store, FileJournalStore)
    store.close()
    with store.path.open("ab") as handle:
        handle.write(b'{"n": 3, "addr')  # a crash in the middle of a line
    assert local_stores.new().entries() == [entry(1), entry(2)]


@pytest.mark.postgres
def test_postgres_a_lost_connection_is_a_journal_write_error(
    postgres_stores: Stores, pg_dsn: str
) -> None:
    import psycopg

    store = postgres_stores.new()
    store.append([entry(1)])
    # Only this store's own session: tests in other workers share the server, and ending every
    # ctconfig session that last touched a journal ended their applies too.
    session = store._conn.info.backend_pid  # type: ignore[attr-defined]
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (session,))
    with pytest.raises(JournalWriteError) as caught:
        store.append([entry(2)])
    name = postgres_stores.state_config["name"]
    assert caught.value.where == f"postgres:{name} (table ctconfig.state_journal)"
    assert caught.value.reason.startswith("the connection to the server was lost")
    assert "\n" not in str(caught.value) and pg_dsn not in str(caught.value)
    store.append([entry(3)])  # the next append reconnects
    assert store.entries() == [entry(1), entry(3)]


@pytest.mark.postgres
def test_postgres_a_refused_insert_is_a_journal_write_error(postgres_stores: Stores, pg_dsn: str) -> None:
    """A role that may read but not insert: the server's own words come back."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    role = f"reader_{uuid.uuid4().hex[:8]}"
    postgres_stores.new().append([entry(1)])  # tables exist
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-pw'")
        admin.execute(f"GRANT USAGE ON SCHEMA ctconfig TO {role}")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA ctconfig TO {role}")
    try:
        from ctconfig.config.spec import PostgresStateConfig
        from ctconfig.state.postgres import PostgresBackend

        params = conninfo_to_dict(pg_dsn) | {"user": role, "password": "reader-pw"}
        config = PostgresStateConfig.model_validate(postgres_stores.state_config)
        backend = PostgresBackend(config, {"JOURNAL_PG_DSN": make_conninfo(**params)})
        try:
            with pytest.raises(JournalWriteError, match=r"permission denied for table state_journal$"):
                backend.journal().append([entry(2)])
            assert backend.journal().entries() == [entry(1)]
        finally:
            backend.close()
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


# -- the hot path: one round trip per appended batch ---------------------------------------


def test_s3_an_append_is_one_put_holding_the_whole_batch(
    moto_endpoint: str, s3_config: dict[str, Any], s3_client: Any
) -> None:
    from ctconfig.config.spec import S3StateConfig
    from ctconfig.state.s3 import S3Backend
    from tests.s3.proxy import S3Proxy, running

    with running(S3Proxy(moto_endpoint)) as proxy:
        config = S3StateConfig.model_validate({**s3_config, "endpoint_url": proxy.url})
        store = S3Backend(config).journal()
        store.append([entry(1)])  # the first append lists the prefix once for the next number
        assert [item.method for item in proxy.seen] == ["GET", "PUT"]
        proxy.seen.clear()
        for n in range(2, 7):
            store.append([entry(n), entry(n + 100)])
        assert [item.method for item in proxy.seen] == ["PUT"] * 5
    prefix = f"{s3_config['key']}.journal/"
    keys = [item["Key"] for item in s3_client.list_objects_v2(Bucket=s3_config["bucket"])["Contents"]]
    journal_keys = sorted(key for key in keys if key.startswith(prefix))
    assert len(journal_keys) == 6
    assert [key[len(prefix) :][:11] for key in journal_keys] == [f"{n:010d}-" for n in range(1, 7)]
    body = s3_client.get_object(Bucket=s3_config["bucket"], Key=journal_keys[1])["Body"].read()
    assert [json.loads(line) for line in body.splitlines()] == [entry(2), entry(102)]


@pytest.mark.postgres
def test_postgres_an_append_is_one_statement(
    postgres_stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    store = postgres_stores.new()
    store.append([entry(0)])  # connects (and checks the tables) once
    statements: list[str] = []
    execute = psycopg.Connection.execute

    def counting(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", counting)
    for n in range(1, 6):
        store.append([entry(n), entry(n + 100)])
    assert len(statements) == 5
    monkeypatch.undo()
    assert [item["n"] for item in store.entries()] == [0, 1, 101, 2, 102, 3, 103, 4, 104, 5, 105]


@pytest.mark.slow
def test_appending_five_hundred_batches(stores: Stores, request: pytest.FixtureRequest) -> None:
    """Prints the cost of an append on each store (the figure for the report; no bound is asserted)."""
    import time

    store = stores.new()
    started = time.perf_counter()
    for n in range(500):
        store.append([entry(n * 10 + i) for i in range(10)])
    elapsed = time.perf_counter() - started
    reading = time.perf_counter()
    count = len(stores.new().entries())
    read_time = time.perf_counter() - reading
    print(
        f"\n{request.node.callspec.id}: 500 appends of 10 entries: {elapsed:.2f}s "
        f"({elapsed / 500 * 1000:.1f} ms each); reading 5,000 entries back: {read_time:.2f}s"
    )
    assert count == 5000
