"""Backends under the shared contract, and a real PostgreSQL for the postgres backend.

`backend_factory` is parametrised over fixture names: to put another backend
under the contract tests, write a `<name>_backend_factory` fixture returning a
`BackendFactory` (each call opens a new client on the same fresh store; `clock=`
gives the client a fake clock for its lock waits) and add its name to
`CONTRACT_BACKENDS`.
"""

from __future__ import annotations

import contextlib
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
