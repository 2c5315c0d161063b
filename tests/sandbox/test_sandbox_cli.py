"""`ctconfig sandbox ...` through the installed command: dashboard views and simulations."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ctconfig.sandbox import SandboxStore
from tests.sandbox.conftest import shows_a_secret

ACCOUNT = "W9R-486-4W5Z"
CONFIG = """\
version: 1
provider: {kind: sandbox, path: data/sandbox.db}
accounts:
  prod:
    id: W9R-486-4W5Z
    user_passcodes:
      alice@example.com: {validity: 365d}
"""


class Sandbox:
    """Runs `ctconfig sandbox --db DB ...` and remembers every output for the secrets check."""

    def __init__(self, run: Any, db: Path) -> None:
        self.run, self.db = run, db
        self.outputs: list[str] = []

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result: subprocess.CompletedProcess[str] = self.run("sandbox", "--db", str(self.db), *args)
        self.outputs += [result.stdout, result.stderr]
        expected = 0 if ok else 1
        assert result.returncode == expected, (args, result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--format", "json").stdout)


@pytest.fixture
def sandbox(run_ctconfig: Any, tmp_path: Path) -> Sandbox:
    return Sandbox(run_ctconfig, tmp_path / "db" / "sandbox.db")


def test_show_before_any_account_exists(sandbox: Sandbox) -> None:
    missing = sandbox("show", ok=False)
    assert missing.stderr.startswith("Error: no sandbox database at")
    sandbox("clock", "show")
    assert "holds no accounts yet" in sandbox("show").stdout
    unknown = sandbox("show", "NOPE-123", ok=False)
    assert unknown.stderr.strip() == (
        "Error: account NOPE-123 does not exist in the sandbox; accounts are created on first use"
    )


def test_dashboard_passcode_changes_print_no_secret_and_count_no_mutation(
    sandbox: Sandbox,
) -> None:
    added = sandbox("passcode", "add", ACCOUNT, "segment-export", "--expires-in", "90d")
    assert "shown once in the dashboard and discarded" in added.stdout
    sandbox("passcode", "add", ACCOUNT, "braze", "--expires-in", "forever")
    sandbox("passcode", "rename", ACCOUNT, "BRAZE", "braze-sync")
    sandbox("passcode", "expiry", ACCOUNT, "segment-export", "forever")
    sandbox("passcode", "expiry", ACCOUNT, "braze-sync", "30d")
    sandbox("passcode", "add", ACCOUNT, "doomed", "--expires-in", "1")
    sandbox("passcode", "delete", ACCOUNT, "doomed")

    shown = sandbox.json("show", ACCOUNT)
    assert shown["mutations"] == 0
    assert sorted(
        (p["name"], p["expires_in"], p["status"]) for p in shown["account_passcodes"]
    ) == [
        ("braze-sync", "30d", "expiring soon"),
        ("segment-export", "forever", "active"),
    ]
    text = sandbox("show", ACCOUNT).stdout
    assert "braze-sync" in text and "never" in text and "expiring soon" in text
    assert not any(shows_a_secret(output) for output in sandbox.outputs)
    with SandboxStore(sandbox.db) as store:
        assert store.mutation_count(ACCOUNT) == 0
        assert len(store.read(ACCOUNT).passcodes) == 2


def test_dashboard_user_changes_and_passcode_mode(sandbox: Sandbox) -> None:
    sandbox("user", "add", ACCOUNT, "Alice@Example.com")
    sandbox("user", "add", ACCOUNT, "root@example.com", "--admin")
    sandbox("user", "add", ACCOUNT, "bob@example.com")
    sandbox("user", "grant", ACCOUNT, "alice@example.com", "--validity", "30d")
    sandbox("user", "grant", ACCOUNT, "bob@example.com", "--validity", "infinite")
    sandbox("user", "reset", ACCOUNT, "bob@example.com")
    sandbox("user", "revoke", ACCOUNT, "bob@example.com")
    sandbox("user", "grant", ACCOUNT, "root@example.com", "--validity", "365d")
    sandbox("user", "remove", ACCOUNT, "root@example.com")
    sandbox("mode", ACCOUNT, "user")

    shown = sandbox.json("show", ACCOUNT)
    assert shown["passcode_mode"] == "user" and shown["mutations"] == 0
    users = {u["email"]: u for u in shown["users"]}
    assert set(users) == {"alice@example.com", "bob@example.com"}
    assert users["alice@example.com"]["user_passcode"]["validity"] == "30d"
    assert users["alice@example.com"]["user_passcode"]["status"] == "expiring soon"
    assert users["bob@example.com"]["user_passcode"] is None
    assert not any(shows_a_secret(output) for output in sandbox.outputs)


def test_the_clock_makes_passcodes_expire(sandbox: Sandbox) -> None:
    sandbox("passcode", "add", ACCOUNT, "short", "--expires-in", "40d")
    assert "1d 12h 0m ahead" in sandbox("clock", "advance", "1d12h").stdout
    assert sandbox.json("show", ACCOUNT)["account_passcodes"][0]["status"] == "active"
    sandbox("clock", "advance", "10d")
    assert sandbox.json("show", ACCOUNT)["account_passcodes"][0]["status"] == "expiring soon"
    sandbox("clock", "advance", "29d")
    assert sandbox.json("show", ACCOUNT)["account_passcodes"][0]["status"] == "expired"
    assert "(real time)" in sandbox("clock", "reset").stdout
    assert "(real time)" in sandbox("clock", "show").stdout
    assert sandbox.json("show", ACCOUNT)["account_passcodes"][0]["status"] == "active"


def test_errors_are_one_line_and_exit_1(sandbox: Sandbox) -> None:
    sandbox("passcode", "add", ACCOUNT, "dup", "--expires-in", "forever")
    duplicate = sandbox("passcode", "add", ACCOUNT, "DUP", "--expires-in", "30d", ok=False)
    assert duplicate.stderr.count("\n") == 1 and "already exists" in duplicate.stderr
    missing = sandbox("passcode", "delete", ACCOUNT, "nope", ok=False)
    assert missing.stderr == f"Error: no account passcode named 'nope' in account {ACCOUNT}\n"
    stranger = sandbox("user", "grant", ACCOUNT, "x@example.com", "--validity", "30d", ok=False)
    assert "x@example.com is not a dashboard user of account" in stranger.stderr
    sandbox("user", "add", ACCOUNT, "x@example.com")
    too_long = sandbox("user", "grant", ACCOUNT, "x@example.com", "--validity", "366d", ok=False)
    assert "validity must be 1-365 days" in too_long.stderr
    bad_duration = sandbox.run("sandbox", "--db", str(sandbox.db), "clock", "advance", "5x")
    assert bad_duration.returncode != 0 and "is not a duration such as 30s" in bad_duration.stderr


def test_show_lists_every_account(sandbox: Sandbox) -> None:
    sandbox("user", "add", "TEST-R78-ZZK-955Z", "a@example.com")
    sandbox("mode", ACCOUNT, "user")
    everything = sandbox.json("show")
    assert [a["account_id"] for a in everything["accounts"]] == ["TEST-R78-ZZK-955Z", ACCOUNT]
    assert everything["sandbox_time"].endswith("Z")
    text = sandbox("show").stdout
    assert f"Account {ACCOUNT}" in text and "Account TEST-R78-ZZK-955Z" in text


def test_the_config_supplies_the_database_and_aliases(run_ctconfig: Any, tmp_path: Path) -> None:
    (tmp_path / "ctconfig.yaml").write_text(CONFIG)
    added = run_ctconfig("sandbox", "user", "add", "prod", "carol@example.com")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"Added carol@example.com to account {ACCOUNT} as member."
    with SandboxStore(tmp_path / "data" / "sandbox.db") as store:
        assert [u.email for u in store.read(ACCOUNT).users] == [
            "alice@example.com",
            "carol@example.com",
        ]
    shown = run_ctconfig("sandbox", "show", "prod")
    assert shown.returncode == 0 and f"Account {ACCOUNT} (prod)" in shown.stdout
    by_id = json.loads(run_ctconfig("sandbox", "show", ACCOUNT, "--format", "json").stdout)
    assert by_id["alias"] == "prod"
    elsewhere = tmp_path / "elsewhere.db"
    run_ctconfig("sandbox", "--db", str(elsewhere), "user", "add", "prod", "dan@example.com")
    with SandboxStore(elsewhere) as store:
        assert store.list_accounts() == [ACCOUNT]


def test_without_a_config_the_default_database_is_used(run_ctconfig: Any, tmp_path: Path) -> None:
    result = run_ctconfig("sandbox", "passcode", "add", ACCOUNT, "p", "--expires-in", "7d")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".ctconfig" / "sandbox.db").exists()
