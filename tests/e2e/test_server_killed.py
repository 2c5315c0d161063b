"""A server killed mid-apply: one clear error, a saved state, and convergence on the next apply."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ctconfig.sandbox.store import SandboxStore
from tests.conftest import ctconfig_executable
from tests.operator_env import clean_env

ACCOUNT_ID = "W9R-486-4W5Z"
_URL = re.compile(r"^Serving sandbox on (http://\S+)$")


def start_server(db: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [*ctconfig_executable(), "sandbox", "--db", str(db), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    match = _URL.match(server.stdout.readline().strip())
    assert match, "the sandbox server did not start"
    return server, match.group(1)


def write_config(root: Path, url: str) -> None:
    config = {
        "version": 1,
        "provider": {"kind": "clevertap", "base_url": url, "max_retries": 2, "retry_budget": 2, "timeout": 2},
        "accounts": {
            "prod": {
                "id": ACCOUNT_ID,
                "credentials": {"passcode_env": "CT_PROD_PASSCODE"},
                "account_passcodes": {f"p{i}": {"expires_in": 30} for i in range(8)},
            }
        },
    }
    with (root / "ctconfig.yaml").open("w") as handle:
        YAML().dump(config, handle)


@pytest.mark.slow
def test_server_killed_mid_apply(tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    with SandboxStore(db) as store:
        admin = store.issue_admin_passcode(ACCOUNT_ID)
    env = {
        **clean_env(),
        "NO_COLOR": "1",
        "CT_PROD_PASSCODE": admin,
    }
    server, url = start_server(db, "--latency", "0.3")
    try:
        write_config(tmp_path, url)
        apply = subprocess.Popen(
            [*ctconfig_executable(), "apply", "--auto-approve", "--parallelism", "1"],
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert apply.stdout is not None
        for line in apply.stdout:
            if "created; secret sent" in line:
                server.send_signal(signal.SIGKILL)
                break
        out, err = apply.communicate(timeout=120)
    finally:
        server.kill()
        server.wait()
    assert apply.returncode == 1, out + err
    assert "Traceback" not in err
    assert "cannot reach" in err or "gave up" in err or "unreachable" in err.lower(), err
    assert "Apply incomplete" in err and "Run `ctconfig apply` again" in err
    saved = (tmp_path / "ctconfig.state.json").read_text()
    assert '"prod/account_passcode/p0"' in saved

    server, url = start_server(db)
    try:
        write_config(tmp_path, url)
        again = subprocess.run(
            [*ctconfig_executable(), "apply", "--auto-approve"],
            cwd=tmp_path,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        plan = subprocess.run(
            [*ctconfig_executable(), "plan", "--detailed-exitcode"],
            cwd=tmp_path,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )
        assert plan.returncode == 0, plan.stdout + plan.stderr
    finally:
        server.terminate()
        server.wait(timeout=15)
    with SandboxStore(db) as store:
        assert sorted(p.name for p in store.read(ACCOUNT_ID).passcodes) == [f"p{i}" for i in range(8)]
