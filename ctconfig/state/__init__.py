"""State: what ctconfig manages, where it lives, and its history.

`open_backend` turns the `state:` section of the config into a backend;
`load_state` reads it, first folding in a journal left by an interrupted apply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
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
from ctconfig.state.base import AuditRecord, StateBackend, current_actor
from ctconfig.state.document import State
from ctconfig.state.journal import Journal
from ctconfig.state.local import LocalBackend

__all__ = ["StateBackend", "load_state", "open_backend"]


def _missing_extra(exc: ImportError, packages: tuple[str, ...]) -> bool:
    return (exc.name or "").split(".")[0] in packages


def open_backend(config: StateConfig, environ: Mapping[str, str] | None = None) -> StateBackend:
    """The backend the config names; optional backends are imported only when used."""
    env = os.environ if environ is None else environ
    if isinstance(config, LocalStateConfig):
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
        try:
            from ctconfig.state.s3 import S3Backend
        except ImportError as exc:
            if _missing_extra(exc, ("boto3", "botocore")):
                raise CtconfigError(
                    "the s3 backend needs boto3: pip install 'ctconfig[s3]'"
                ) from exc
            raise
        backend: StateBackend = S3Backend(config, env)
        return backend
    if isinstance(config, HttpStateConfig):
        from ctconfig.state.http import HttpBackend

        return HttpBackend(config, env)
    assert_never(config)


def load_state(backend: StateBackend) -> tuple[State, str | None]:
    """The current state and its write token; a fresh state and None if nothing was written.

    A journal left by an interrupted apply is replayed first, written through
    the backend as a new version, and cleared. Call this while holding the
    lock when the command will write. Prints nothing: the caller reports.
    """
    journal = Journal(backend.journal())
    version = backend.read()
    if not journal.exists():
        return (version.state, version.token) if version else (State.new(), None)
    if version is not None:
        state, token = version.state, version.token
    else:
        recorded = journal.recorded_against()
        state, token = (State(lineage=recorded[0], serial=0) if recorded else State.new()), None
    replayed, count = journal.replay(state)
    if count:
        audit = AuditRecord(
            who=current_actor(),
            when=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            operation="recover",
            summary=f"replayed {count} change(s) from the journal of an interrupted run",
        )
        replayed = replayed.next_version()
        token = backend.write(replayed, token, audit)
        state = replayed
    journal.clear()
    if version is None and not count:
        return State.new(), None
    return state, token
