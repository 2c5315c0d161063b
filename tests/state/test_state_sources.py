"""Issue 12.7: a malformed stored state is refused with an error that names where it came from.

Each backend passes `State.loads` a `source`: the file's path, `postgres:NAME serial N`,
`s3://bucket/key`, the http address. The document is planted behind ctconfig's
back, the way a hand edit or another tool would leave it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ctconfig.state.base import StateBackend
from ctconfig.state.document import StateError
from ctconfig.state.local import LocalBackend

BROKEN = {
    "format_version": 1,
    "lineage": "0f0e0d0c-0000-4000-8000-000000000000",
    "serial": 1,
    "ctconfig_version": "0.1.0",
    "resources": {"prod/account_passcode/x": "not an object"},
}

Planted = tuple[StateBackend, str]  # the backend to read through, and the source it must name


@pytest.fixture
def planted_local(tmp_path: Path) -> Planted:
    path = tmp_path / "ctconfig.state.json"
    path.write_text(json.dumps(BROKEN))
    return LocalBackend(path), str(path)


@pytest.fixture
def planted_postgres(pg_dsn: str) -> Iterator[Planted]:
    import psycopg
    from psycopg.types.json import Jsonb

    from ctconfig.config.spec import PostgresStateConfig
    from ctconfig.state.postgres import PostgresBackend

    name = f"src-{uuid.uuid4().hex[:10]}"
    config = PostgresStateConfig(backend="postgres", dsn_env="SRC_DSN", name=name)
    backend = PostgresBackend(config, {"SRC_DSN": pg_dsn})
    assert backend.read() is None  # creates the tables
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ctconfig.state_versions (state_name, serial, lineage, digest, document, who) "
            "VALUES (%s, 1, %s, 'planted', %s, 'mallory')",
            (name, BROKEN["lineage"], Jsonb(BROKEN)),
        )
    yield backend, f"postgres:{name} serial 1"
    backend.close()


@pytest.fixture
def planted_s3(s3_config: dict[str, Any], s3_client: Any) -> Planted:
    from ctconfig.config.spec import S3StateConfig
    from ctconfig.state.s3 import S3Backend

    s3_client.put_object(Bucket=s3_config["bucket"], Key=s3_config["key"], Body=json.dumps(BROKEN).encode())
    backend = S3Backend(S3StateConfig.model_validate(s3_config))
    return backend, f"s3://{s3_config['bucket']}/{s3_config['key']}"


@pytest.fixture
def planted_http() -> Iterator[Planted]:
    from ctconfig.config.spec import HttpStateConfig
    from ctconfig.state.http import HttpBackend
    from tests.http_state.conftest import ENV, state_config
    from tests.http_state.server import StateServer, serving

    with serving(StateServer()) as server:
        server.stored().body = json.dumps(BROKEN).encode()
        backend = HttpBackend(HttpStateConfig.model_validate(state_config(server)), ENV)
        yield backend, server.address()
        backend.close()


@pytest.fixture(params=["local", pytest.param("postgres", marks=pytest.mark.postgres), "s3", "http"])
def planted(request: pytest.FixtureRequest) -> Planted:
    found: Planted = request.getfixturevalue(f"planted_{request.param}")
    return found


def test_a_malformed_state_names_its_source_once_in_one_line(planted: Planted) -> None:
    backend, source = planted
    with pytest.raises(StateError) as caught:
        backend.read()
    message = str(caught.value)
    assert message.startswith(f"{source}: ")
    assert message.count(source) == 1 and "\n" not in message


@pytest.mark.postgres
def test_a_past_postgres_version_names_its_serial(planted_postgres: Planted) -> None:
    backend, source = planted_postgres
    with pytest.raises(StateError, match=f"^{source}: "):
        backend.read_serial(1)
