"""Hostile input, one test module per issue-12 item; the servers and workspaces come from their areas."""

from tests.http.conftest import server, start_server
from tests.sandbox.conftest import serve, served
from tests.state_cli.conftest import workspace

__all__ = ["serve", "served", "server", "start_server", "workspace"]
