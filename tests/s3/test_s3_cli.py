"""The installed command against an S3 state: a killed lock holder, force-unlock, history, diff."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from ctconfig.config.spec import S3StateConfig
from ctconfig.domain import Address
from ctconfig.state.base import AuditRecord
from ctconfig.state.document import State
from ctconfig.state.s3 import S3Backend
from tests.records import passcode

HOLDER = textwrap.dedent(
    """
    import sys, time
    from ctconfig.config.spec import S3StateConfig
    from ctconfig.state.s3 import S3Backend
    lock = S3Backend(S3StateConfig.model_validate_json(sys.argv[1])).lock("apply")
    print(lock.id, flush=True)
    time.sleep(120)
    """
)


def write_config(root: Path, state: dict[str, Any]) -> Path:
    fields = ", ".join(f"{key}: {value}" for key, value in state.items())
    path = root / "ctconfig.yaml"
    path.write_text(f"version: 1\nstate: {{{fields}}}\n", encoding="utf-8")
    return path


def seed(backend: S3Backend) -> None:
    state, token = State.new(), None
    for who, names in (("alice", ["a"]), ("bob", ["a", "b"])):
        resources = {Address.account_passcode("prod", name): passcode(name) for name in names}
        state = state.with_resources(resources).next_version()
        audit = AuditRecord(who=who, when="2026-05-01T00:00:00Z", operation="apply", summary="x")
        token = backend.write(state, token, audit)


def kill_nine_lock_holder(config: dict[str, Any], env: dict[str, str]) -> tuple[str, int]:
    """Start a process that takes the lock, SIGKILL it; return its lock ID and pid."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, json.dumps(config)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout is not None
        lock_id = holder.stdout.readline().strip()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    return lock_id, holder.pid


def test_next_run_is_told_the_lock_is_stale_and_how_to_clear_it(
    tmp_path: Path, s3_config: dict[str, Any], subprocess_env: dict[str, str], run_ctconfig: Any
) -> None:
    config = {**s3_config, "lock_ttl": 0}
    seed(S3Backend(S3StateConfig.model_validate(config)))
    write_config(tmp_path, config)
    lock_id, pid = kill_nine_lock_holder(config, subprocess_env)

    blocked = run_ctconfig("state", "rm", "prod/account_passcode/a", env=subprocess_env)
    assert blocked.returncode == 1
    message = blocked.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "is stale" in message and f"(pid {pid})" in message
    assert f"ctconfig force-unlock {lock_id}" in message

    cleared = run_ctconfig("force-unlock", lock_id, "--yes", env=subprocess_env)
    assert cleared.returncode == 0, cleared.stderr
    done = run_ctconfig("state", "rm", "prod/account_passcode/a", env=subprocess_env)
    assert done.returncode == 0, done.stderr
    assert "serial 3" in done.stdout


def test_history_list_and_diff_read_from_s3(
    tmp_path: Path, s3_config: dict[str, Any], subprocess_env: dict[str, str], run_ctconfig: Any
) -> None:
    seed(S3Backend(S3StateConfig.model_validate(s3_config)))
    write_config(tmp_path, s3_config)
    history = run_ctconfig("state", "history", env=subprocess_env)
    assert history.returncode == 0, history.stderr
    assert [line.split()[:3] for line in history.stdout.splitlines()[1:]] == [
        ["1", "2026-05-01T00:00:00Z", "alice"],
        ["2", "2026-05-01T00:00:00Z", "bob"],
    ]
    listed = run_ctconfig("state", "list", env=subprocess_env)
    assert "prod/account_passcode/b" in listed.stdout
    diff = run_ctconfig("state", "diff", "1", "2", env=subprocess_env)
    assert diff.returncode == 0, diff.stderr
    assert "+ prod/account_passcode/b (added)" in diff.stdout
    assert "B is serial 2 written by bob" in diff.stdout


def test_missing_bucket_is_one_line_through_the_command(
    tmp_path: Path, s3_config: dict[str, Any], subprocess_env: dict[str, str], run_ctconfig: Any
) -> None:
    write_config(tmp_path, {**s3_config, "bucket": "not-a-bucket"})
    result = run_ctconfig("state", "list", env=subprocess_env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: S3 bucket 'not-a-bucket' does not exist ({s3_config['endpoint_url']})"
    )
