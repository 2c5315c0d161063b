"""Issue 21, item 4: SIGTERM, SIGINT and SIGHUP at any phase release the lock and exit with one line.

Before: SIGTERM during refresh, recovery or planning (a cancelled CI job) killed the process
(exit -15) and left the lock file for the next run to force. Each case here stops a real
`ctconfig apply` while it waits on a slow account (the refresh), and while the state is saved.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.conftest import ctconfig_executable
from tests.operator_env import clean_env
from tests.quiet_http import QuietHTTPServer

CONFIG = """\
version: 1
provider: {{kind: clevertap, base_url: '{url}', timeout: 60, retry_budget: 60}}
accounts:
  prod:
    id: W9R-486-4W5Z
    credentials: {{passcode_env: CT_PROD_PASSCODE}}
    account_passcodes:
      export: {{expires_in: 90d}}
"""


@contextmanager
def slow_account() -> Iterator[tuple[str, threading.Event]]:
    """An account host that answers nothing until the test ends; the event is set on the first request."""
    asked = threading.Event()
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.set()
            done.wait(60)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = QuietHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        done.set()
        server.shutdown()
        server.server_close()


def start_apply(tmp_path: Path, url: str) -> subprocess.Popen[str]:
    """`ctconfig apply --auto-approve` in `tmp_path` against the slow account at `url`."""
    (tmp_path / "ctconfig.yaml").write_text(CONFIG.format(url=url))
    env = {**clean_env(), "NO_COLOR": "1", "CT_PROD_PASSCODE": "AMA-AUE-YWUL"}
    return subprocess.Popen(
        [*ctconfig_executable(), "apply", "--auto-approve"],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.process
@pytest.mark.parametrize(
    ("sig", "code", "said"),
    [
        (signal.SIGTERM, 143, "Stopped by SIGTERM; nothing more was started and any lock was released."),
        (signal.SIGHUP, 129, "Stopped by SIGHUP; nothing more was started and any lock was released."),
        (signal.SIGINT, 130, "Interrupted."),
    ],
)
def test_a_signal_during_the_refresh_releases_the_lock(
    tmp_path: Path, sig: signal.Signals, code: int, said: str
) -> None:
    with slow_account() as (url, asked):
        proc = start_apply(tmp_path, url)
        try:
            assert asked.wait(60), "the apply never asked the account"
            assert (tmp_path / "ctconfig.state.json.lock").exists()  # it holds the lock while it waits
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == code, out + err
    assert err.strip().splitlines()[-1] == said
    assert "Traceback" not in err
    assert not (tmp_path / "ctconfig.state.json.lock").exists()


@pytest.mark.process
def test_a_second_signal_while_stopping_still_releases_the_lock(tmp_path: Path) -> None:
    with slow_account() as (url, asked):
        proc = start_apply(tmp_path, url)
        try:
            assert asked.wait(60)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 143, out + err
    assert not (tmp_path / "ctconfig.state.json.lock").exists()


@pytest.mark.process
def test_a_run_woken_after_its_lock_was_forced_does_not_claim_a_journal_that_is_gone(tmp_path: Path) -> None:
    accounts = "".join(f"      p{n}: {{expires_in: 30d}}\n" for n in range(4))
    config = (
        "version: 1\nsecrets: {sink: command, command: 'sleep 0.3; cat > /dev/null'}\n"
        f"accounts:\n  demo:\n    id: TEST-R78-ZZK-955Z\n    account_passcodes:\n{accounts}"
    )
    (tmp_path / "ctconfig.yaml").write_text(config)
    env = {**clean_env(), "NO_COLOR": "1"}
    first = subprocess.Popen(
        [*ctconfig_executable(), "apply", "--auto-approve", "--parallelism", "1"],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert first.stdout is not None
        for line in first.stdout:
            if "created; secret sent" in line:
                first.send_signal(signal.SIGSTOP)  # frozen mid-apply: its journal holds a record
                break
        lock_id = json.loads((tmp_path / "ctconfig.state.json.lock").read_text())["id"]
        forced = subprocess.run(
            [*ctconfig_executable(), "force-unlock", "--yes", lock_id],
            cwd=tmp_path, env=env, text=True, capture_output=True, timeout=60,
        )  # fmt: skip
        assert forced.returncode == 0, forced.stderr
        second = subprocess.run(
            [*ctconfig_executable(), "apply", "--auto-approve"],
            cwd=tmp_path, env=env, text=True, capture_output=True, timeout=120,
        )  # fmt: skip
        assert second.returncode == 0, second.stdout + second.stderr
        assert not (tmp_path / "ctconfig.state.json.journal").exists()
        first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
            first.kill()
    assert first.returncode == 1, out + err
    assert "waits in the journal" not in err
    assert "that recorded them is gone: a run that forced the lock has already folded it into state" in err
