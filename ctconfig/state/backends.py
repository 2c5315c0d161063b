"""Open the state backend the config's `state:` section names; optional ones only when used."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import assert_never

from ctconfig.config.spec import (
    HttpStateConfig,
    LocalStateConfig,
    PostgresStateConfig,
    S3StateConfig,
    StateConfig,
)
from ctconfig.errors import CtconfigError
from ctconfig.state.base import StateBackend


def _missing_extra(exc: ImportError, packages: tuple[str, ...]) -> bool:
    return (exc.name or "").split(".")[0] in packages


def open_backend(config: StateConfig, environ: Mapping[str, str] | None = None) -> StateBackend:
    """The backend the config names; optional backends are imported only when used."""
    env = os.environ if environ is None else environ
    if isinstance(config, LocalStateConfig):
        from ctconfig.state.local import LocalBackend

        return LocalBackend(Path(config.path))
    if isinstance(config, PostgresStateConfig):
        try:
            from ctconfig.state.postgres import PostgresBackend
        except ImportError as exc:
            if _missing_extra(exc, ("psycopg", "psycopg_binary")):
                raise CtconfigError(
                    "the postgres backend needs psycopg: pip install 'ctconfig[postgres]'"
                ) from exc
            raise
        return PostgresBackend(config, env)
    if isinstance(config, S3StateConfig):
        from ctconfig.state.s3 import S3Backend  # it imports boto3 itself, saying which extra is missing

        backend: StateBackend = S3Backend(config, env)
        return backend
    if isinstance(config, HttpStateConfig):
        from ctconfig.state.http import HttpBackend

        return HttpBackend(config, env)
    assert_never(config)
