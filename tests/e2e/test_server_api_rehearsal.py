"""The README's rotation rehearsal, end to end: a team's integration calls CleverTap's Server API
on `ctconfig sandbox serve` with the passcode ctconfig put in its sink, while the installed
`ctconfig` (provider `clevertap`, base_url the sandbox) rotates that passcode. The old key
keeps working through the overlap, the new one works at once, the retired one stops."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.workspace import ACCOUNT_ID, Workspace, demo
from tests.operator_env import clean_env

README = Path(__file__).parents[2] / "README.md"
ADDRESS = "demo/account_passcode/seg"
INVALID = {"status": "fail", "error": "Invalid credentials or URL", "code": 401}


def upload(ws: Workspace, passcode: str, identity: str) -> httpx.Response:
    """What the team's integration does: `POST /1/upload` with the two headers."""
    record = {"type": "event", "identity": identity, "evtName": "Rehearsed", "evtData": {"step": identity}}
    headers = {"X-CleverTap-Account-Id": ACCOUNT_ID, "X-CleverTap-Passcode": passcode}
    with httpx.Client(base_url=ws.server_url, timeout=10) as client:
        return client.post("/1/upload", json={"d": [record]}, headers=headers)


def works(ws: Workspace, passcode: str, identity: str) -> bool:
    answer = upload(ws, passcode, identity)
    if answer.status_code == 401:
        assert answer.json() == INVALID
        return False
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "success", "processed": 1, "unprocessed": []}
    return True


@pytest.mark.parametrize("provider_kind", ["clevertap"])
def test_a_rotation_rehearsed_against_the_server_api(ws: Workspace) -> None:
    ws.write_config(demo({"seg": {"expires_in": "90d"}}))
    ws.ct("apply", "--auto-approve")
    old = ws.secret_files()["demo/seg"]
    assert works(ws, old, "before")

    rotated = ws.ct("apply", "--replace", ADDRESS, "--auto-approve").stdout
    assert "replacement requested with --replace" in rotated
    new = ws.secret_files()["demo/seg"]
    assert new != old
    assert works(ws, new, "new-at-once")  # the new key works the moment it is in the sink
    assert works(ws, old, "old-in-overlap")  # the old one keeps working through the overlap
    assert "retiring: rotated out, deleted after" in ws.ct("plan").stdout

    ws.ct("sandbox", "clock", "advance", "6d")
    ws.ct("apply", "--auto-approve")
    assert works(ws, old, "old-late-in-overlap")  # rotation_overlap is 7 days by default

    ws.ct("sandbox", "clock", "advance", "2d")
    retired = ws.ct("apply", "--auto-approve").stdout
    assert "demo/account_passcode/seg~retiring-" in retired
    assert not works(ws, old, "old-after-overlap")  # the retired key stops
    assert works(ws, new, "new-after-overlap")
    ws.ct("plan", "--detailed-exitcode")

    connect = httpx.get(
        f"{ws.server_url}/v1/connect",
        params={"partner": "rehearsal"},
        headers={"X-CleverTap-Account-Id": ACCOUNT_ID, "X-CleverTap-Passcode": old},
    )
    assert (connect.status_code, connect.json()) == (401, INVALID)
    ws.assert_no_secret_leaked({old, new})


def readme_rehearsal() -> tuple[str, str, str]:
    """The README section's serve command, config and script, as a reader copies them."""
    section = README.read_text().split("### Rehearse a rotation against the sandbox's Server API")[1]
    section = section.split("\n## ")[0]
    serve_block, script = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    (config,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    return serve_block.split("#")[0].strip(), config, script


@pytest.mark.parametrize("provider_kind", ["clevertap"])
def test_the_readme_rehearsal_runs_as_written(ws: Workspace) -> None:
    serve, config, script = readme_rehearsal()
    assert serve == "ctconfig sandbox serve --port 8080"  # the fixture runs it, on a free port
    host = ws.server_url.removeprefix("http://")
    (ws.root / "ctconfig.yaml").write_text(config.replace("127.0.0.1:8080", host))
    env = clean_env("CT_")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-ec", script.replace("127.0.0.1:8080", host)],
        cwd=ws.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [a["status"] for a in answers] == ["success", "success", "success", "fail", "success"]
    assert answers[3] == INVALID
    new = ws.secret_files()["demo/seg"]
    assert new not in done.stdout and new not in done.stderr
