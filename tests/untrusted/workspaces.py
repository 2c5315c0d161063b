"""What the row tests of this directory share: workspaces, a state server, file modes, refusals."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.http_state.conftest import state_config
from tests.http_state.server import StateServer, serving


def usual_umask() -> Iterator[None]:
    """Run under umask 022, the usual one (which let every file be written 0644 before)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    """The permission bits of `path` itself (a link is not followed)."""
    return stat.S_IMODE(path.lstat().st_mode)


def served_state_server() -> Iterator[StateServer]:
    """A GitLab-like Terraform HTTP state server whose stored body the test may write; always stopped."""
    with serving(StateServer()) as server:
        yield server


def local_workspace(root: Path, accounts: str = "{}") -> None:
    """`ctconfig.yaml` with local state beside it."""
    (root / "ctconfig.yaml").write_text(
        f"version: 1\nstate: {{backend: local, path: ctconfig.state.json}}\naccounts: {accounts}\n",
        encoding="utf-8",
    )


def http_workspace(root: Path, server: StateServer) -> None:
    """`ctconfig.yaml` with its state on `server` (credentials in tests.http_state.conftest.ENV)."""
    block = str(state_config(server)).replace("'", '"')
    (root / "ctconfig.yaml").write_text(f"version: 1\nstate: {block}\naccounts: {{}}\n", encoding="utf-8")


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """What a command that had to refuse printed on stderr (it must have exited 1)."""
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stderr
