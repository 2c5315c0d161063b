"""The reconciler's end-to-end suite runs against both providers: the embedded sandbox, and
`clevertap` over HTTP against a real `ctconfig sandbox serve` process sharing the same store."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunCtconfig, ctconfig_executable
from tests.e2e.workspace import Workspace

_URL = re.compile(r"^Serving sandbox on (http://\S+)$")


@pytest.fixture(params=["sandbox", "clevertap"])
def provider_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ws(tmp_path: Path, run_ctconfig: RunCtconfig, provider_kind: str) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path, run_ctconfig, provider=provider_kind)
    if provider_kind == "sandbox":
        yield workspace
        return
    db = tmp_path / ".ctconfig" / "sandbox.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [*ctconfig_executable(), "sandbox", "--db", str(db), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline().strip()
        match = _URL.match(first)
        assert match, f"sandbox server did not start: {first!r}"
        workspace.server_url = match.group(1)
        yield workspace
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
