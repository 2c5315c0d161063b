"""The installed command with `state: {backend: http}` against a GitLab-like server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctconfig.config.spec import HttpStateConfig
from ctconfig.state.http import HttpBackend
from tests.conftest import RunCtconfig
from tests.e2e.workspace import ALICE, Workspace, demo
from tests.http_state.conftest import ENV, state_config
from tests.http_state.server import PASSWORD, StateServer
from tests.state.clock import FakeClock, replace_the_system_clock

ACCOUNTS = demo(
    {"segment-export": {"expires_in": "90d"}, "braze": {"expires_in": "forever"}}, {ALICE: {"validity": 30}}
)


@pytest.fixture
def ws(tmp_path: Path, run_ctconfig: RunCtconfig, gitlab_server: StateServer) -> Iterator[Workspace]:
    """A sandbox workspace whose state lives on the server, addressed the GitLab way."""
    workspace = Workspace(tmp_path, run_ctconfig, env=dict(ENV))
    workspace.write_config(ACCOUNTS, state=state_config(gitlab_server, gitlab=True))
    yield workspace
    for text in workspace.outputs:
        assert PASSWORD not in text


def holder_backend(server: StateServer) -> HttpBackend:
    return HttpBackend(HttpStateConfig.model_validate(state_config(server, gitlab=True)), ENV)


def test_apply_then_plan_has_no_changes_and_state_lives_on_the_server(
    ws: Workspace, gitlab_server: StateServer
) -> None:
    applied = ws.ct("apply", "--auto-approve")
    assert "Plan: 2 to create" in applied.stdout
    ws.ct("plan", "--detailed-exitcode")
    listing = ws.ct("state", "list").stdout
    for name in ("account_passcode/segment-export", "account_passcode/braze", f"user_passcode/{ALICE}"):
        assert f"demo/{name}" in listing
    stored = gitlab_server.document()
    assert stored["serial"] == 1 and len(stored["resources"]) == 3
    assert stored["ctconfig_audit"]["audit"]["operation"] == "apply"
    assert not (ws.root / "ctconfig.state.json").exists()
    assert gitlab_server.stored().lock is None
    body = json.dumps(stored)
    for secret in ws.secret_files().values():
        assert secret not in body
    history = json.loads(ws.ct("state", "history", "--format", "json").stdout)
    assert [entry["serial"] for entry in history] == [1]
    assert history[0]["audit"]["operation"] == "apply"


def test_older_serials_point_to_files_and_git(ws: Workspace, gitlab_server: StateServer) -> None:
    ws.ct("apply", "--auto-approve")
    smaller = demo({"segment-export": {"expires_in": "90d"}})
    ws.write_config(smaller, state=state_config(gitlab_server, gitlab=True))
    ws.ct("apply", "--auto-approve", "--allow-mass-delete")  # most of a small account
    failed = ws.ct("state", "diff", "1", "2", expect=1)
    assert "keeps only the current version (serial 2)" in failed.stderr
    assert "git:REV:PATH" in failed.stderr and len(failed.stderr.strip().splitlines()) == 1


def test_a_held_lock_is_named_waited_for_and_force_unlocked(
    ws: Workspace, gitlab_server: StateServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = holder_backend(gitlab_server)
    try:
        lock = holder.lock("apply")
        blocked = ws.ct("apply", "--auto-approve", expect=1)
        message = blocked.stderr.strip()
        assert len(message.splitlines()) == 1
        assert f"{lock.who}@{lock.host} (pid {lock.pid}) running apply" in message
        assert f"ctconfig force-unlock {lock.id}" in message

        clock = replace_the_system_clock(FakeClock(), monkeypatch)
        clock.at(1.0, lambda: holder.unlock(lock))  # the holder finishes a second into the wait
        ws.ct("apply", "--auto-approve", "--lock-timeout", "30s")
        assert 1.0 <= clock.waited < 30

        stuck = holder.lock("apply")
        removed = ws.ct("force-unlock", stuck.id, "--yes").stdout
        assert f"Lock {stuck.id} removed from {gitlab_server.address()}" in removed
        assert gitlab_server.stored().lock is None
        ws.ct("plan", "--detailed-exitcode")
    finally:
        holder.close()


def test_wrong_password_is_one_line_naming_the_variables(ws: Workspace) -> None:
    ws.env["CT_STATE_PASSWORD"] = "not-the-token"
    failed = ws.ct("plan", expect=1)
    [line] = failed.stderr.strip().splitlines()
    assert "refused the credentials in $CT_STATE_USERNAME / $CT_STATE_PASSWORD (401 Unauthorized)" in line
    assert "not-the-token" not in failed.stderr + failed.stdout
