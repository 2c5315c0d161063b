"""A ctconfig workspace driven through the installed command, and a sandbox server on a real socket."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import RunCtconfig
from tests.threaded_sandbox import ThreadedSandbox

ACCOUNT_ID = "TEST-R78-ZZK-955Z"


@dataclass
class Workspace:
    """A directory with ctconfig.yaml, state, sandbox and secrets; each output is checked for secrets."""

    root: Path
    runner: RunCtconfig
    env: dict[str, str] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def write_config(self, accounts: dict[str, Any], **sections: Any) -> None:
        data: dict[str, Any] = {"version": 1, **sections, "accounts": accounts}
        with (self.root / "ctconfig.yaml").open("w") as handle:
            YAML().dump(data, handle)

    def ct(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        done = self.runner(*args, cwd=self.root, env=self.env)
        self.outputs += [done.stdout, done.stderr]
        assert "Traceback" not in done.stderr, done.stderr
        if expect is not None:
            assert done.returncode == expect, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.com", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def secret_files(self, base: str = ".ctconfig/secrets") -> dict[str, str]:
        folder = self.root / base
        return {
            str(p.relative_to(folder)): p.read_text().strip()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }

    def assert_no_secret_printed(self, secrets: list[str]) -> None:
        for secret in secrets:
            assert secret
            for output in self.outputs:
                assert secret not in output


@pytest.fixture
def ws(tmp_path: Path, run_ctconfig: RunCtconfig) -> Workspace:
    root = tmp_path / "repo"
    root.mkdir()
    return Workspace(root, run_ctconfig)


@dataclass(frozen=True)
class SandboxServer:
    url: str
    db: Path


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[SandboxServer]:
    """The sandbox server on a free loopback port, served from a thread (tests/threaded_sandbox.py);
    always stopped, even when the test fails."""
    db = tmp_path / "served" / "sandbox.db"
    db.parent.mkdir()
    sandbox = ThreadedSandbox(db)
    try:
        yield SandboxServer(sandbox.url, db)
    finally:
        sandbox.stop_soon()
