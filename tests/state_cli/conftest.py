"""A workspace for the `state` commands: a config with a local backend and versions written directly.

States are built from typed records (tests/records.py) and written through the real
`LocalBackend`, so these tests do not depend on `apply`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ctconfig.state.base import AuditRecord
from ctconfig.state.document import RecordType, State
from ctconfig.state.local import LocalBackend
from tests.records import ACCOUNT_ID, by_address, grant, passcode, settings

__all__ = ["ACCOUNT_ID", "Workspace"]


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

    def run(self, *args: str, cwd: Path | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        config = str(self.root / "ctconfig.yaml")
        return self.run_ctconfig("-c", config, *args, cwd=cwd or self.root, **kwargs)

    def write(self, resources: dict[str, RecordType], audit: AuditRecord | None = None) -> State:
        """Write the next version holding exactly `resources`."""
        current = self.backend.read()
        base = current.state if current else State.new()
        state = base.with_resources(by_address(resources)).next_version()
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
