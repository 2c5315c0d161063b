"""A workspace for the `state` commands: a config with a local backend and versions written directly.

States are built with `State`/`ResourceState` and written through the real
`LocalBackend`, so these tests do not depend on `apply`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ctconfig.domain import isoformat
from ctconfig.state.base import AuditRecord
from ctconfig.state.document import ResourceState, State
from ctconfig.state.local import LocalBackend

ACCOUNT_ID = "W9R-486-4W5Z"


def passcode(name: str, expires_in_days: int | None = 90, **extra: Any) -> ResourceState:
    """An account passcode whose `expires_at` is `expires_in_days` from now (None: forever)."""
    now = datetime.now(UTC)
    expires_at = (
        None if expires_in_days is None else isoformat(now + timedelta(days=expires_in_days))
    )
    attributes = {
        "name": name,
        "expires_in": "forever" if expires_in_days is None else f"{expires_in_days}d",
        "created_at": isoformat(now - timedelta(days=1)),
        "expires_at": expires_at,
    }
    return ResourceState(
        kind="account_passcode",
        account_id=ACCOUNT_ID,
        remote_id=f"pc-{name}",
        attributes=attributes,
        secret_fingerprint="sha256:0123456789ab",
        **extra,
    )


def grant(email: str, days: int) -> ResourceState:
    return ResourceState(
        kind="user_passcode",
        account_id=ACCOUNT_ID,
        remote_id=email,
        attributes={
            "email": email,
            "validity": f"{days}d",
            "expires_at": isoformat(datetime.now(UTC) + timedelta(days=days)),
        },
        secret_known=False,
    )


def settings(mode: str = "user") -> ResourceState:
    return ResourceState(kind="settings", account_id=ACCOUNT_ID, attributes={"passcode_mode": mode})


@dataclass
class Workspace:
    """A directory with `ctconfig.yaml` (local backend) and a way to run ctconfig in it."""

    root: Path
    run_ctconfig: Any
    passcode = staticmethod(passcode)
    grant = staticmethod(grant)
    settings = staticmethod(settings)

    @property
    def state_path(self) -> Path:
        return self.root / "ctconfig.state.json"

    @property
    def backend(self) -> LocalBackend:
        return LocalBackend(self.state_path)

    def run(
        self, *args: str, cwd: Path | None = None, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        config = str(self.root / "ctconfig.yaml")
        return self.run_ctconfig("-c", config, *args, cwd=cwd or self.root, **kwargs)

    def write(self, resources: dict[str, ResourceState], audit: AuditRecord | None = None) -> State:
        """Write the next version holding exactly `resources`."""
        current = self.backend.read()
        base = current.state if current else State.new()
        state = base.with_resources(resources).next_version()
        self.backend.write(state, current.token if current else None, audit)
        return state

    def current(self) -> State:
        version = self.backend.read()
        assert version is not None
        return version.state


@pytest.fixture
def workspace(tmp_path: Path, run_ctconfig: Any) -> Workspace:
    (tmp_path / "ctconfig.yaml").write_text(
        f"version: 1\nstate: {{backend: local, path: {tmp_path / 'ctconfig.state.json'}}}\n",
        encoding="utf-8",
    )
    return Workspace(tmp_path, run_ctconfig)
