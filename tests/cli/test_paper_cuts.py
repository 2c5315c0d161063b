"""Paper cuts of issue 22, each as the command shows it: formats, wording, what a refusal says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.conftest import Run

ADDRESS = "demo/account_passcode/{}"
ACCOUNT_ID = "TEST-R78-ZZK-955Z"


def _set(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_validate_speaks_json(quickstart: Path, run: Run) -> None:
    done = run("validate", "--format", "json")
    assert done.code == 0
    assert json.loads(done.out) == {
        "valid": True,
        "configs": [{"config": "ctconfig.yaml", "accounts": 1, "account_passcodes": 3, "user_grants": 2}],
        "problems": [],
    }
    _set(quickstart / "ctconfig.yaml", "expires_in: forever", "expires_in: soon")
    bad = run("validate", "--format", "json")
    assert bad.code == 1 and bad.err == ""
    [problem] = json.loads(bad.out)["problems"]
    assert problem["file"] == "ctconfig.yaml" and problem["line"] == 31
    assert "expected a number of days" in problem["message"]


def test_apply_speaks_json_and_keeps_stdout_for_it(quickstart: Path, run: Run) -> None:
    done = run("apply", "--auto-approve", "--format", "json")
    assert done.code == 0, done.err
    report = json.loads(done.out)  # the whole of stdout is one document
    assert report["result"] == "applied" and report["exit_code"] == 0 and report["serial"] == 1
    assert report["plan"]["summary"].startswith("Plan: 3 to create, 0 to update")
    assert {o["action"] for o in report["outcomes"]} == {"create", "grant"}
    assert "ctconfig will perform the following actions" in done.err


def test_a_refused_digest_says_what_the_plan_would_do_now(quickstart: Path, run: Run) -> None:
    assert run("apply", "--auto-approve").code == 0
    config = quickstart / "ctconfig.yaml"
    _set(config, "expires_in: forever", "expires_in: 180d")
    reviewed = re.search(r"Plan digest: (sha256:[0-9a-f]{64})", run("plan").out)
    assert reviewed is not None
    _set(config, "expires_in: 180d", "expires_in: 120d")  # a later push changed it again
    refused = run("apply", "--auto-approve", "--plan-digest", reviewed.group(1))
    assert refused.code == 1
    line = refused.err.splitlines()[-1]
    assert line.startswith("Error: the plan changed since it was reviewed (reviewed sha256:")
    assert f'now it would ~ {ADDRESS.format("braze-sync")} (update: expires_in: "forever" -> "120d")' in line
    assert "; state is at serial 1, written by " in line and "(apply)" in line
    assert line.endswith("Re-run `ctconfig plan` and review it again.")


def test_the_closing_list_leaves_out_what_this_apply_rotated(quickstart: Path, run: Run) -> None:
    assert run("apply", "--auto-approve").code == 0
    assert run("sandbox", "passcode", "add", ACCOUNT_ID, "looker", "--expires-in", "90d").code == 0
    declared = "      looker: {expires_in: 90d}\n      braze-sync:\n"
    _set(quickstart / "ctconfig.yaml", "      braze-sync:\n", declared)
    adopted = run("apply", "--auto-approve")
    assert "Apply complete: 1 adopted into state (serial 2); no account was changed." in adopted.out
    assert "Passcodes ctconfig did not create" in adopted.out and ADDRESS.format("looker") in adopted.out
    rotated = run("apply", "--auto-approve", "--replace", ADDRESS.format("looker"))
    assert rotated.code == 0, rotated.err
    ending = rotated.out.split("State saved to")[1]
    assert "Apply complete: 1 rotated." in ending
    assert "Passcodes ctconfig did not create" not in ending


def test_no_stutter_and_no_bad_plural(quickstart: Path, run: Run) -> None:
    assert run("apply", "--auto-approve").code == 0
    assert run("sandbox", "passcode", "add", ACCOUNT_ID, "zapier", "--expires-in", "forever").code == 0
    summary = run("plan", "--summary").out
    assert "demo: no changes, 1 warning\n" in summary
    assert run("sandbox", "passcode", "delete", ACCOUNT_ID, "braze-sync").code == 0
    assert run("apply", "--refresh-only", "--auto-approve").code == 0
    history = run("state", "history").out
    assert "refresh: refresh:" not in history and "refresh: 1 record(s) updated" in history
    config = quickstart / "ctconfig.yaml"
    _set(config, "defaults:\n", "safety: {min_resources: 2}\ndefaults:\n")
    _set(config, "      nightly-report:\n        expires_in: 60d", "")
    _set(config, "      alice@example.com:\n        validity: 365d\n", "")
    plan = run("plan").out
    assert "Safety:\n  ! demo: 2 of 4 managed resources would be deleted or revoked (50% > 30%)" in plan
    assert "demo: demo:" not in plan
