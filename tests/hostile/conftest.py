"""Hostile input, one test module per issue-12 item; the servers and workspaces come from their areas."""

import pytest

from tests.http.conftest import server, start_server
from tests.sandbox.conftest import LoggedServer, LoggedServerFactory, serve, served
from tests.state_cli.conftest import workspace

__all__ = ["serve", "served", "served_process", "server", "start_server", "workspace"]


@pytest.fixture
def served_process(serve: LoggedServerFactory) -> LoggedServer:
    """One fault-free `ctconfig sandbox serve` process, for tests that measure its memory.
    (`served` is the same app served from a thread, with uvicorn's log kept the same way.)"""
    return serve()
