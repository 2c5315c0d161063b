"""Compacting an apply's journal is one atomic step on every store (issue 21, item 1).

After an apply saves its state, the journal is cut down to the intents no record closed (creates
whose outcome is unknown), against the version just written. Done as "clear, then append" it was
two steps — two autocommit statements on PostgreSQL — and a crash or a dropped connection between
them forgot those intents: the next run found the passcodes in their accounts, adopted them without
their secrets, and `plan` said "No changes". Here the compaction is stopped at each of its own
boundaries (failpoints, ctconfig/failpoints.py), as a crash would stop it, and the open intent must
still be there for the next run, whichever journal (the old or the new) the stop left.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ctconfig import failpoints
from ctconfig.domain import Address
from ctconfig.service.applying import _clear_journal
from ctconfig.state.document import State
from ctconfig.state.journal import Intent, Journal, Recorded
from ctconfig.state.journal_store import JournalStore, JournalWriteError
from tests.records import passcode

ACCOUNT = "W9R-486-4W5Z"
Stores = Callable[[str], JournalStore]
"""A store of the journal of the state named by the argument (a new client each call)."""


class Crash(BaseException):
    """The process died at a failpoint: nothing after it runs (but this process's `finally` blocks)."""


def stop_here(name: str, where: str) -> None:
    raise Crash(f"{name} {where}")


@pytest.fixture
def local_stores(tmp_path: Path) -> Stores:
    from ctconfig.state.local import LocalBackend

    return lambda name: LocalBackend(tmp_path / name / "ctconfig.state.json").journal()


@pytest.fixture
def postgres_stores(pg_dsn: str) -> Iterator[Stores]:
    from ctconfig.config.spec import PostgresStateConfig
    from ctconfig.state.postgres import PostgresBackend

    run = uuid.uuid4().hex[:8]
    opened: list[PostgresBackend] = []

    def new(name: str) -> JournalStore:
        config = PostgresStateConfig(backend="postgres", dsn_env="PG", name=f"compact-{run}-{name}")
        opened.append(PostgresBackend(config, {"PG": pg_dsn}))
        return opened[-1].journal()

    yield new
    for backend in opened:
        with contextlib.suppress(Exception):
            backend.close()


@pytest.fixture
def s3_stores(s3_config: dict[str, Any]) -> Stores:
    from ctconfig.config.spec import S3StateConfig
    from ctconfig.state.s3 import S3Backend

    def new(name: str) -> JournalStore:
        return S3Backend(S3StateConfig.model_validate({**s3_config, "key": f"{name}/state.json"})).journal()

    return new


@pytest.fixture(params=["local", pytest.param("postgres", marks=pytest.mark.postgres), "s3"])
def stores(request: pytest.FixtureRequest) -> Stores:
    found: Stores = request.getfixturevalue(f"{request.param}_stores")
    return found


def intent(name: str) -> Intent:
    return Intent.new(Address.account_passcode("prod", name), ACCOUNT, name, 90)


def interrupted_apply(store: JournalStore) -> tuple[Journal, State, Intent]:
    """An apply's journal at its end: one create done (its record closes its intent), one whose
    outcome is unknown (its intent open, as the applier knows); and the state version it has just written."""
    journal = Journal(store)
    before = State.new()
    journal.begin(before.lineage, before.serial)
    done, unknown = intent("done"), intent("unknown")
    journal.append([done, unknown])
    journal.append([Recorded(done.address, passcode("done"), closes=done.id)])
    written = State(lineage=before.lineage, serial=before.serial + 1).with_resources(
        {done.address: passcode("done")}
    )
    return journal, written, unknown


def boundaries_of_compaction(stores: Stores) -> list[str]:
    """Every failpoint `_clear_journal` passes, as `NAME#N` targets."""
    journal, written, unknown = interrupted_apply(stores("reference"))
    with failpoints.armed(failpoints.Failpoints()) as seen:
        _clear_journal(journal, written, [unknown])
    counts: dict[str, int] = {}
    targets = []
    for name, _ in seen.reached:
        counts[name] = counts.get(name, 0) + 1
        targets.append(f"{name}#{counts[name]}")
    return targets


def test_a_compaction_stopped_at_any_of_its_boundaries_keeps_the_open_intent(stores: Stores) -> None:
    targets = boundaries_of_compaction(stores)
    assert len(targets) >= 2, targets
    for number, target in enumerate(targets):
        journal, written, unknown = interrupted_apply(stores(f"crash{number}"))
        armed = failpoints.Failpoints([failpoints.Target.parse(target, stop_here)])
        with failpoints.armed(armed), pytest.raises(Crash):
            _clear_journal(journal, written, [unknown])
        after = Journal(stores(f"crash{number}")).read()  # the next run, another client
        assert [i.id for i in after.open_intents()] == [unknown.id], f"stopped at {target}"
        assert after.begin is not None and after.begin.serial in (written.serial - 1, written.serial)


def test_a_compaction_that_runs_to_the_end_leaves_only_the_open_intent(stores: Stores) -> None:
    journal, written, unknown = interrupted_apply(stores("whole"))
    _clear_journal(journal, written, [unknown])
    after = Journal(stores("whole")).read()
    assert [i.id for i in after.open_intents()] == [unknown.id] and after.records == []
    assert after.begin is not None and after.begin.serial == written.serial


@pytest.mark.postgres
def test_postgres_a_connection_dropped_mid_compaction_loses_nothing(
    postgres_stores: Stores, pg_dsn: str
) -> None:
    """The server ends the journal's session at each statement of the compaction (as a restart or a
    network cut would): the compaction fails in one line, and the rows it was replacing are all there."""
    import psycopg

    targets = [t for t in boundaries_of_compaction(postgres_stores) if t.startswith("journal.pg.")]
    assert targets, "the compaction runs no statement on the journal"
    for number, target in enumerate(targets):
        store = postgres_stores(f"drop{number}")
        journal, written, unknown = interrupted_apply(store)
        before = store.entries()
        session = store._conn.info.backend_pid  # type: ignore[attr-defined]  # the journal's own

        def drop_the_connection(name: str, where: str, session: int = session) -> None:
            with psycopg.connect(pg_dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (session,))

        armed = failpoints.Failpoints([failpoints.Target.parse(target, drop_the_connection)])
        with failpoints.armed(armed), pytest.raises(JournalWriteError) as caught:
            _clear_journal(journal, written, [unknown])
        assert "the connection to the server was lost" in str(caught.value) and "\n" not in str(caught.value)
        assert postgres_stores(f"drop{number}").entries() == before, f"dropped at {target}"
        assert [i.id for i in Journal(store).read().open_intents()] == [unknown.id]
