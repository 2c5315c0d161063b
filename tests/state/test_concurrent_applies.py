"""Shared state through the installed command, on every backend: two `ctconfig apply` processes
started together never lose an update, and the history answers who changed what."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import ctconfig_executable
from tests.operator_env import clean_env

ACCOUNT_ID = "TEST-R78-ZZK-955Z"


@pytest.fixture(params=["local", "postgres", "s3"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The `state:` block every runner uses, and the environment its processes need."""

    env = clean_env()
    env["NO_COLOR"] = "1"
    if request.param == "local":
        return {"backend": "local", "path": str(tmp_path / "shared.state.json")}, env
    if request.param == "postgres":
        env["CT_STATE_DSN"] = request.getfixturevalue("pg_dsn")
        return {"backend": "postgres", "dsn_env": "CT_STATE_DSN", "name": f"t{uuid.uuid4().hex[:8]}"}, env
    config = dict(request.getfixturevalue("s3_config"))
    config["key"] = f"{uuid.uuid4().hex[:8]}/state.json"
    return config, {**env, **request.getfixturevalue("aws_env")}


def runner(root: Path, state: dict[str, Any], sandbox: Path, passcodes: int, sink: str | None = None) -> Path:
    """One CI runner's checkout: its own directory and secrets, the shared state and account."""
    root.mkdir(parents=True, exist_ok=True)
    secrets: dict[str, Any] = {"sink": "file", "path": str(root / "secrets")}
    if sink:
        secrets = {"sink": "command", "command": sink}
    config = {
        "version": 1,
        "state": state,
        "provider": {"kind": "sandbox", "path": str(sandbox)},
        "secrets": secrets,
        "accounts": {
            "demo": {
                "id": ACCOUNT_ID,
                "account_passcodes": {f"p{i}": {"expires_in": 30 + i} for i in range(passcodes)},
            }
        },
    }
    with (root / "ctconfig.yaml").open("w") as handle:
        YAML().dump(config, handle)
    return root


def ct(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*ctconfig_executable(), *args],
        cwd=root,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    return proc.returncode, out, err


def sandbox_names(sandbox: Path) -> list[str]:
    from ctconfig.sandbox.store import SandboxStore

    with SandboxStore(sandbox) as store:
        return sorted(p.name for p in store.read(ACCOUNT_ID).passcodes)


@pytest.mark.slow
def test_two_applies_started_together_one_wins_the_other_is_told_who_holds_the_lock(
    shared: tuple[dict[str, Any], dict[str, str]], tmp_path: Path
) -> None:
    state, env = shared
    sandbox = tmp_path / "sandbox.db"
    slow_sink = "sleep 0.8; cat > /dev/null"  # keeps the winner busy long enough to overlap
    a = runner(tmp_path / "a", state, sandbox, 5, slow_sink)
    b = runner(tmp_path / "b", state, sandbox, 5, slow_sink)
    first, second = ct(a, env, "apply", "--auto-approve"), ct(b, env, "apply", "--auto-approve")
    results = [finish(first), finish(second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], "\n---\n".join(f"exit {code}\n{err}" for code, _, err in results)
    loser = next(err for code, _, err in results if code == 1)
    assert "locked by" in loser and "running apply" in loser and "lock ID" in loser
    assert sandbox_names(sandbox) == [f"p{i}" for i in range(5)]
    code, out, err = finish(ct(b, env, "plan", "--detailed-exitcode"))
    assert code == 0, out + err


@pytest.mark.slow
def test_a_waiting_apply_replans_on_the_winners_state_and_loses_nothing(
    shared: tuple[dict[str, Any], dict[str, str]], tmp_path: Path
) -> None:
    state, env = shared
    sandbox = tmp_path / "sandbox.db"
    slow_sink = "sleep 0.3; cat > /dev/null"
    a = runner(tmp_path / "a", state, sandbox, 4, slow_sink)
    b = runner(tmp_path / "b", state, sandbox, 6, slow_sink)  # b's config adds two more
    procs = [
        ct(a, env, "apply", "--auto-approve", "--lock-timeout", "90s"),
        ct(b, env, "apply", "--auto-approve", "--lock-timeout", "90s"),
    ]
    results = [finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results
    names = sandbox_names(sandbox)
    # Whichever ran second planned against the first one's state: no duplicates, nothing orphaned.
    assert names in ([f"p{i}" for i in range(4)], [f"p{i}" for i in range(6)])
    code, out, err = finish(ct(a if len(names) == 4 else b, env, "state", "pull"))
    assert code == 0, err
    pulled = json.loads(out)
    assert sorted(pulled["resources"]) == sorted(f"demo/account_passcode/{n}" for n in names)
    assert pulled["serial"] == 2


@pytest.mark.slow
def test_history_and_diff_across_five_applies(
    shared: tuple[dict[str, Any], dict[str, str]], tmp_path: Path
) -> None:
    state, env = shared
    sandbox = tmp_path / "sandbox.db"
    root = tmp_path / "repo"
    for count in (1, 2, 3, 4, 5):
        runner(root, state, sandbox, count)
        code, out, err = finish(ct(root, {**env, "GITHUB_ACTOR": f"dev{count}"}, "apply", "--auto-approve"))
        assert code == 0, out + err
    code, history, err = finish(ct(root, env, "state", "history"))
    assert code == 0, err
    lines = history.strip().splitlines()[1:]
    assert [line.split()[0] for line in lines] == ["1", "2", "3", "4", "5"]
    assert all(f"dev{i}" in lines[i - 1] and "apply: 1 created" in lines[i - 1] for i in range(1, 6))
    code, diff, err = finish(ct(root, env, "state", "diff", "2", "4"))
    assert code == 0, err
    changes = [line for line in diff.splitlines() if line[:2] in ("+ ", "- ", "~ ")]
    assert changes == ["+ demo/account_passcode/p2 (added)", "+ demo/account_passcode/p3 (added)"]
    assert "written by dev4" in diff and "2 added, 0 changed, 0 removed." in diff
