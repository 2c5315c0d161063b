"""One `ctconfig sandbox serve` for the dashboard tests (each test has accounts of its own)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.support import DashboardWorkspace, Server, serve

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(tmp_path_factory.mktemp("dashboard-sandbox") / "sandbox.db")


@pytest.fixture
def account_ids() -> tuple[str, str]:
    """Two account ids no other test uses: the configured one and a stranger's."""
    number = next(_numbers)
    return f"TEST-D{number:02d}-ZZK-955Z", f"TEST-X{number:02d}-AAA-BBBB"


@pytest.fixture
def dash(tmp_path: Path, server: Server, account_ids: tuple[str, str]) -> DashboardWorkspace:
    root = tmp_path / "work"
    root.mkdir()
    return DashboardWorkspace(root, server, account_ids[0])
