"""Hostile input, one test module per issue-12 item; the servers and workspaces come from their areas."""

import pytest

from tests.http.conftest import server, start_server
from tests.sandbox.conftest import LoggedServer, LoggedServerFactory, serve
from tests.state_cli.conftest import workspace

__all__ = ["serve", "served", "server", "start_server", "workspace"]


@pytest.fixture
def served(serve: LoggedServerFactory) -> LoggedServer:
    """One fault-free `ctconfig sandbox serve` process: hostile input is measured against the
    command itself (its memory, its log on stderr)."""
    return serve()
