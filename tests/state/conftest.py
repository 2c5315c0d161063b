"""Backends under the shared contract, and a real PostgreSQL for the postgres backend.

`backend_factory` is parametrised over fixture names: to put another backend
under the contract tests, write a `<name>_backend_factory` fixture returning a
`BackendFactory` (each call opens a new client on the same fresh store; `clock=`
gives the client a fake clock for its lock waits) and add its name to
`CONTRACT_BACKENDS`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from ctconfig.state.base import StateBackend
from ctconfig.state.local import LocalBackend
from ctconfig.state.lockfile import SYSTEM_CLOCK, WaitClock


class BackendFactory(Protocol):
    def __call__(self, clock: WaitClock = SYSTEM_CLOCK) -> StateBackend: ...


CONTRACT_BACKENDS = [
    "local",
    pytest.param("postgres", marks=pytest.mark.postgres),
    "s3",
    "http",
]

# Contract tests a backend cannot pass by design, with the reason shown as the skip.
BY_DESIGN = {
    ("http", "test_history_and_read_serial_across_five_writes"): (
        "the http protocol keeps only the current version (tests/http_state covers what it keeps)"
    ),
    ("http", "test_round_trip_through_each_backend"): (
        "the http protocol keeps only the current version, so a round trip keeps the latest one "
        "(tests/http_state/test_http_backend.py covers migration into and out of it)"
    ),
}

PG_DSN_ENV = "CTCONFIG_TEST_PG_DSN"


@pytest.fixture(params=CONTRACT_BACKENDS)
def backend_factory(request: pytest.FixtureRequest) -> BackendFactory:
    """New clients of one fresh, empty store of the backend under test."""
    reason = BY_DESIGN.get((request.param, request.function.__name__))
    if reason:
        pytest.skip(reason)
    factory: BackendFactory = request.getfixturevalue(f"{request.param}_backend_factory")
    return factory


@pytest.fixture
def local_backend_factory(tmp_path: Path) -> BackendFactory:
    path = tmp_path / "ctconfig.state.json"

    def factory(clock: WaitClock = SYSTEM_CLOCK) -> StateBackend:
        return LocalBackend(path, clock)

    return factory


def _closing_factory(make: BackendFactory) -> Iterator[BackendFactory]:
    """Hand out clients from `make` and close every one at teardown."""
    made: list[StateBackend] = []

    def factory(clock: WaitClock = SYSTEM_CLOCK) -> StateBackend:
        backend = make(clock)
        made.append(backend)
        return backend

    yield factory
    for backend in made:
        close = getattr(backend, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()


@pytest.fixture
def postgres_backend_factory(pg_dsn: str) -> Iterator[BackendFactory]:
    from ctconfig.config.spec import PostgresStateConfig
    from ctconfig.state.postgres import PostgresBackend

    config = PostgresStateConfig(backend="postgres", dsn_env="TEST_PG_DSN", name=f"t-{uuid.uuid4().hex[:12]}")
    environ = {"TEST_PG_DSN": pg_dsn}
    yield from _closing_factory(lambda clock=SYSTEM_CLOCK: PostgresBackend(config, environ, clock))


@pytest.fixture
def s3_backend_factory(s3_config: dict[str, object]) -> BackendFactory:
    """Clients of one fresh bucket on the moto server (fixtures in tests/conftest.py)."""
    from ctconfig.config.spec import S3StateConfig
    from ctconfig.state.s3 import S3Backend

    config = S3StateConfig.model_validate(s3_config)

    def factory(clock: WaitClock = SYSTEM_CLOCK) -> StateBackend:
        return S3Backend(config, None, clock)

    return factory


@pytest.fixture
def http_backend_factory() -> Iterator[BackendFactory]:
    """Clients of a GitLab-like Terraform HTTP state server (tests/http_state/server.py)."""
    from ctconfig.config.spec import HttpStateConfig
    from ctconfig.state.http import HttpBackend
    from tests.http_state.conftest import ENV, state_config
    from tests.http_state.server import StateServer, serving

    with serving(StateServer()) as server:
        config = HttpStateConfig.model_validate(state_config(server))
        yield from _closing_factory(lambda clock=SYSTEM_CLOCK: HttpBackend(config, ENV, clock))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def _run_as_postgres(args: list[str], check: bool = True) -> None:
    """initdb and pg_ctl refuse to run as root: run them as the `postgres` user."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    subprocess.run(args, check=check, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """$CTCONFIG_TEST_PG_DSN, else a throwaway cluster on 127.0.0.1 that is always stopped."""
    if os.environ.get(PG_DSN_ENV):
        yield os.environ[PG_DSN_ENV]
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip(f"no PostgreSQL: set {PG_DSN_ENV} or install initdb/pg_ctl (.ci/start-postgres)")
    base = Path(tempfile.mkdtemp(prefix="ctconfig-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    log = base / "server.log"
    _run_as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run_as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"])
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        _run_as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(base, ignore_errors=True)
