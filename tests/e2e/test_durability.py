"""When ctconfig's own files cannot be written, the apply stops starting things and says exactly what
happened, what was done, where the rest waits and how to recover — and the next apply converges
with every secret where it belongs.

The installed `ctconfig apply` runs against `ctconfig sandbox serve` (so the sandbox's database is not
limited with it). A full disk is provoked with a file-size limit on the process (RLIMIT_FSIZE, the
same EFBIG/ENOSPC path); a read-only state directory with a `command` sink that makes it read-only
as the first secret is stored, in a child that cannot bypass file permissions even as root.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ctconfig.domain import Address
from ctconfig.sandbox.store import SandboxStore
from ctconfig.sinks import SecretRef
from ctconfig.sinks.file import FileSink
from tests.conftest import ctconfig_executable
from tests.operator_env import clean_env
from tests.state.unprivileged import _drop_permission_bypass

ACCOUNT_ID = "TEST-R78-ZZK-955Z"
URL = re.compile(r"^Serving sandbox on (http://\S+)$")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "server" / "sandbox.db"
    db.parent.mkdir()
    process = subprocess.Popen(
        [*ctconfig_executable(), "sandbox", "--db", str(db), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = URL.match(process.stdout.readline().strip())
        assert match, "sandbox serve did not start"
        yield match.group(1), db
    finally:
        process.terminate()
        process.wait(timeout=15)


def workspace(root: Path, url: str, db: Path, count: int, secrets: dict[str, Any]) -> dict[str, str]:
    """A config of `count` passcodes over HTTP; returns the environment holding the admin passcode."""
    with SandboxStore(db) as store:
        store.ensure_account(ACCOUNT_ID, [])
        admin = store.issue_admin_passcode(ACCOUNT_ID)
    config = {
        "version": 1,
        "state": {"backend": "local", "path": str(root / "state" / "ctconfig.state.json")},
        "provider": {"kind": "clevertap", "base_url": url},
        "secrets": secrets,
        "accounts": {
            "demo": {
                "id": ACCOUNT_ID,
                "credentials": {"passcode_env": "CT_DEMO_PASSCODE"},
                "account_passcodes": {f"p{i:02d}": {"expires_in": "90d"} for i in range(count)},
            }
        },
    }
    (root / "state").mkdir(exist_ok=True)
    with (root / "ctconfig.yaml").open("w") as handle:
        YAML().dump(config, handle)
    return {
        **clean_env(),
        "CT_DEMO_PASSCODE": admin,
    }


def ct(root: Path, env: dict[str, str], *args: str, preexec: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ctconfig_executable(), "-c", str(root / "ctconfig.yaml"), *args],
        cwd=root,
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec,
    )


def every_secret_delivered(root: Path, db: Path, count: int) -> None:
    """Each declared passcode's secret is in the sink, live, and the one state fingerprints."""
    state = json.loads((root / "state" / "ctconfig.state.json").read_text())
    sink = FileSink(root / "secrets")
    with SandboxStore(db) as store:
        assert len(store.read(ACCOUNT_ID).passcodes) == count  # no duplicate, nothing left over
        for i in range(count):
            address = Address.account_passcode("demo", f"p{i:02d}")
            secret = sink.read(SecretRef(address, ACCOUNT_ID))
            assert secret is not None, address
            assert state["resources"][str(address)]["secret_fingerprint"] == secret.fingerprint()
            credential = store.authenticate(ACCOUNT_ID, secret.reveal())
            assert credential is not None and credential.name == address.name


def small_files(limit: int) -> Any:
    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


def test_a_journal_that_cannot_grow_stops_the_apply_at_once_and_says_how_to_recover(
    tmp_path: Path, server: tuple[str, Path]
) -> None:
    url, db = server
    env = workspace(tmp_path, url, db, 40, {"sink": "file", "path": str(tmp_path / "secrets")})
    # Room for the journal's start and the state, not for the one batch of the 40 intents (~11.6 kB).
    stopped = ct(tmp_path, env, "apply", "--auto-approve", "--parallelism", "1", preexec=small_files(10_000))
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "Traceback" not in stopped.stderr
    journal = tmp_path / "state" / "ctconfig.state.json.journal"
    errors = [line for line in stopped.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stopped.stderr
    [error] = errors
    assert f"cannot write the journal {journal}" in error and "File too large" in error
    assert "started nothing new" in error and "change(s) were made" in error and "ctconfig apply" in error
    assert "(its space, permissions or connection)" in error  # not "free the space" for a dropped session
    summary = re.search(r"Apply incomplete: (\d+) done, (\d+) failed, (\d+) not started\.", stopped.stderr)
    assert summary and int(summary.group(3)) > 0, stopped.stderr
    assert "State saved" in stopped.stdout
    # Nothing the stopped run made is lost: the next run (no limit) finishes and every secret is there.
    assert ct(tmp_path, env, "apply", "--auto-approve").returncode == 0
    assert ct(tmp_path, env, "plan", "--detailed-exitcode").returncode == 0
    every_secret_delivered(tmp_path, db, 40)


def test_a_state_directory_made_read_only_mid_apply_says_so_and_keeps_the_journal(
    tmp_path: Path, server: tuple[str, Path]
) -> None:
    url, db = server
    state_dir = tmp_path / "state"
    store = tmp_path / "secrets"
    store.mkdir()
    # The first secret stored makes the state directory read-only, as an operator or a full mount would.
    command = f'chmod a-w "{state_dir}"; mkdir -p "{store}/demo"; cat > "{store}/demo/$CTCONFIG_NAME"'
    env = workspace(tmp_path, url, db, 6, {"sink": "command", "command": command})
    os.chmod(tmp_path, 0o777)
    failed = ct(tmp_path, env, "apply", "--auto-approve", preexec=_drop_permission_bypass)
    state_dir.chmod(0o755)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr
    assert f"Error: cannot write state {state_dir / 'ctconfig.state.json'}" in failed.stderr
    assert "Permission denied" in failed.stderr
    assert f"waits in the journal {state_dir / 'ctconfig.state.json.journal'}" in failed.stderr
    assert "Apply incomplete: 6 done, 0 failed, 0 not started." in failed.stderr
    lock = state_dir / "ctconfig.state.json.lock"
    unlock_line = [
        line for line in failed.stderr.splitlines() if "lock" in line and line.startswith("Error:")
    ]
    assert unlock_line and str(lock) in unlock_line[-1] and "force-unlock" in unlock_line[-1]
    # Recover as the messages say: the directory is writable again; release the dead run's lock.
    lock_id = re.search(r"force-unlock ([0-9a-f-]{36})", failed.stderr)
    assert lock_id, failed.stderr
    assert ct(tmp_path, env, "force-unlock", "--yes", lock_id.group(1)).returncode == 0
    recovered = ct(tmp_path, env, "plan", "--detailed-exitcode")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "Recovered 6 change(s)" in recovered.stderr
    with SandboxStore(db) as store_db:
        for i in range(6):
            secret = (store / "demo" / f"p{i:02d}").read_text()
            credential = store_db.authenticate(ACCOUNT_ID, secret)
            assert credential is not None and credential.name == f"p{i:02d}"
