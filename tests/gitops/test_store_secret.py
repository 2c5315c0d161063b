"""store-secret.sh, the GitOps command sink, with stand-in `gh` and `curl` (GitLab's API) on PATH."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.sinks.standins import install

STORE_SECRET = Path(__file__).resolve().parents[2] / "examples" / "gitops" / "store-secret.sh"
GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/cfg"}
GITLAB = {
    "GITLAB_CI": "true",
    "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
    "CI_PROJECT_ID": "42",
    "GITLAB_TOKEN": "glpat-x",
}


class Script:
    """Runs store-secret.sh as ctconfig's command sink would, with stand-in tools."""

    def __init__(self, root: Path, ci: dict[str, str]) -> None:
        self.state = root / "state"
        install(root / "bin")
        self.env = {
            "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "STANDIN_STATE": str(self.state),
            **ci,
        }

    def store(self, address: str, slot: str, secret: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "CTCONFIG_ADDRESS": address, "CTCONFIG_SECRET_NAME": slot}
        done = subprocess.run(
            ["sh", str(STORE_SECRET)], input=secret, env=env, capture_output=True, text=True, timeout=30
        )
        assert secret not in done.stdout + done.stderr
        return done

    def data(self, tool: str) -> dict[str, object]:
        path = self.state / f"{tool}.json"
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def command_lines(self) -> str:
        return (self.state / "calls.log").read_text()


@pytest.fixture(params=["github", "gitlab"])
def script(request: pytest.FixtureRequest, tmp_path: Path) -> Script:
    return Script(tmp_path, GITHUB if request.param == "github" else GITLAB)


def held(script: Script, slot: str) -> tuple[object, object]:
    """(secret, owner record) of `slot` in the CI's store."""
    if "GITHUB_ACTIONS" in script.env:
        data = script.data("gh")
        return data.get(f"acme/cfg/secret/{slot}"), data.get(f"acme/cfg/variable/{slot}_CTCONFIG_ADDRESS")
    variable = script.data("gitlab").get(slot)
    if not isinstance(variable, dict):
        return None, None
    return variable["value"], variable["description"]


def test_a_new_secret_is_stored_with_its_owner_then_rotated(script: Script) -> None:
    address = "prod-eu/account_passcode/braze-sync"
    assert script.store(address, "CT_PROD_EU_BRAZE_SYNC", "s3cr3t-value").returncode == 0
    secret, owner = held(script, "CT_PROD_EU_BRAZE_SYNC")
    assert secret == "s3cr3t-value" and isinstance(owner, str) and address in owner
    assert "s3cr3t-value" not in script.command_lines()  # only ever on stdin
    assert script.store(address, "CT_PROD_EU_BRAZE_SYNC", "rotated-value").returncode == 0
    assert held(script, "CT_PROD_EU_BRAZE_SYNC")[0] == "rotated-value"


@pytest.mark.parametrize(
    "other", ["prod_eu/account_passcode/braze_sync", "prod-eu/account_passcode/braze.sync"]
)
def test_another_address_with_the_same_name_is_refused(script: Script, other: str) -> None:
    first = "prod-eu/account_passcode/braze-sync"
    assert script.store(first, "CT_PROD_EU_BRAZE_SYNC", "first-secret").returncode == 0
    done = script.store(other, "CT_PROD_EU_BRAZE_SYNC", "second-secret")
    assert done.returncode == 1
    assert "CT_PROD_EU_BRAZE_SYNC holds the secret of" in done.stderr and f"with {other}'s" in done.stderr
    assert held(script, "CT_PROD_EU_BRAZE_SYNC")[0] == "first-secret"


def test_a_secret_from_before_owners_is_taken_over(script: Script) -> None:
    script.state.mkdir()
    if "GITHUB_ACTIONS" in script.env:
        (script.state / "gh.json").write_text(json.dumps({"acme/cfg/secret/CT_PROD_A": "old"}))
    else:
        (script.state / "gitlab.json").write_text(json.dumps({"CT_PROD_A": {"value": "old"}}))
    assert script.store("prod/account_passcode/a", "CT_PROD_A", "new-secret").returncode == 0
    secret, owner = held(script, "CT_PROD_A")
    assert secret == "new-secret" and "prod/account_passcode/a" in str(owner)


def test_an_unreachable_store_fails(script: Script) -> None:
    script.env["STANDIN_DOWN"] = "1"
    done = script.store("prod/account_passcode/a", "CT_PROD_A", "s3cr3t-value")
    assert done.returncode != 0 and done.stderr


def test_store_secret_elsewhere_fails_loudly(tmp_path: Path) -> None:
    done = Script(tmp_path, {}).store("prod/account_passcode/a", "CT_PROD_A", "s3cr3t-value")
    assert done.returncode == 1
    assert "no CI secret store" in done.stderr and not (tmp_path / "state").exists()
