"""The reconciler's end-to-end suite runs against both providers: the embedded sandbox, and
`clevertap` over HTTP against the sandbox server sharing the same store (its app on a real
socket, served from a thread of the test process: tests/threaded_sandbox.py; the command
`ctconfig sandbox serve` itself is tested in tests/sandbox and tests/http)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunCtconfig
from tests.e2e.workspace import Workspace
from tests.threaded_sandbox import ThreadedSandbox


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
    sandbox = ThreadedSandbox(db)  # the sandbox app on a real socket, served from a thread
    try:
        workspace.server_url = sandbox.url
        yield workspace
    finally:
        sandbox.stop_soon()
