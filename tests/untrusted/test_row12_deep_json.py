"""Issue 20, row 12: deeply nested JSON in the `http` backend's answers and in a journal line is
one clear refusal, never `internal error (RecursionError)`.

The state server is a real HTTP server (tests/http_state/server.py) whose stored body and lock
record the test writes; the journal is the local backend's file beside the state.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunCtconfig
from tests.http_state.conftest import ENV
from tests.http_state.server import StateServer
from tests.untrusted.scripted_http_server import scripted_server
from tests.untrusted.workspaces import http_workspace, local_workspace, refusal, served_state_server

DEEP = b"[" * 100_000 + b"]" * 100_000
SHALLOW_BUT_DEEPER = b'{"format_version":2,"lineage":"x","resources":{"a/settings":{"k":[[[[0]]]]}}}'


state_server = pytest.fixture(served_state_server)


@pytest.mark.parametrize(
    ("body", "where"),
    [(DEEP, ""), (SHALLOW_BUT_DEEPER, "at resources.a/settings.k.0.0 ")],
    ids=["100,000 levels", "two levels too many"],
)
def test_a_state_answer_nested_too_deep_is_refused_in_one_line(
    tmp_path: Path, run_ctconfig: RunCtconfig, state_server: StateServer, body: bytes, where: str
) -> None:
    http_workspace(tmp_path, state_server)
    state_server.stored().body = body
    assert refusal(run_ctconfig("state", "list", env=ENV)) == (
        f"Error: {state_server.address()}: the state document nests {where}deeper than the 5 levels "
        "ctconfig writes\n"
    )


def test_a_deeply_nested_lock_answer_is_an_unknown_holder(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    """The holder's lock info only informs: a deep one names no holder, and the message says so."""
    with scripted_server() as server:
        (tmp_path / "ctconfig.yaml").write_text(
            f"version: 1\nstate: {server.state_block()}\naccounts: {{}}\n", encoding="utf-8"
        )
        server.answers["LOCK"] = server.answers["UNLOCK"] = (423, b'{"ID":"held","Who":' + DEEP + b"}")
        result = run_ctconfig("force-unlock", "--yes", "someone-else")
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {server.address()} refused to remove lock someone-else: it holds another lock\n"
    )


def test_a_deeply_nested_journal_line_is_refused_in_one_line(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    local_workspace(tmp_path)
    journal = tmp_path / "ctconfig.state.json.journal"
    deep_line = b"[" * 3000 + b"]" * 3000  # 6 KB, under the line bound: the depth is the point
    journal.write_bytes(b'{"entry":"begin","format":2,"lineage":"x","serial":0}\n' + deep_line + b"\n")
    assert refusal(run_ctconfig("plan")) == (
        "Error: journal ctconfig.state.json.journal line 2: the journal entry nests deeper than the "
        "4 levels ctconfig writes\n"
    )
