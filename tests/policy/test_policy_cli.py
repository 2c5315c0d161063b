"""End to end: the installed `ctconfig` saves a plan the policies judge, and prints its summary as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.conftest import RunCtconfig
from tests.e2e.workspace import Workspace, demo
from tests.policy.rego import denials, evaluate

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "plan.schema.json").read_text())


def test_a_saved_plan_is_judged_by_the_policies_and_holds_no_secret(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    ws = Workspace(tmp_path, run_ctconfig)
    ws.write_config(demo({"segment-export": {"expires_in": "90d"}, "braze-sync": {"expires_in": "30d"}}))
    ws.ct("apply", "--auto-approve")
    ws.write_config(demo({"braze-sync": {"expires_in": "30d"}, "looker": {"expires_in": "forever"}}))
    ws.ct("plan", "-o", "plan.json")
    saved = (tmp_path / "plan.json").read_text()
    document = json.loads(saved)
    jsonschema.validate(document, SCHEMA)
    assert denials(evaluate(document)) == {
        "protected_deletes": [
            "demo/account_passcode/segment-export: [\"delete\"] would delete 'segment-export', "
            "a protected name (segment-export)"
        ],
        "require_expiry": [
            "demo/account_passcode/looker: account passcodes must expire (expires_in is forever)"
        ],
    }
    braze = next(rc for rc in document["resource_changes"] if rc["name"] == "braze-sync")
    assert braze["change"]["actions"] == ["no-op"] and braze["change"]["before"]["id"]
    assert ws.ct("show", "plan.json", "--format", "json").stdout == saved
    secrets = set(ws.secret_files().values())
    assert secrets and not any(secret in saved for secret in secrets)


def test_plan_format_json_summary_prints_json(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    ws = Workspace(tmp_path, run_ctconfig)
    ws.write_config(demo({"a": {"expires_in": "30d"}, "b": {"expires_in": "30d"}}))
    ws.ct("apply", "--auto-approve")
    ws.write_config(demo({"a": {"expires_in": "60d"}, "c": {"expires_in": "30d"}}))
    summary = json.loads(ws.ct("plan", "--format", "json", "--summary").stdout)
    full = json.loads(ws.ct("plan", "--format", "json").stdout)
    assert summary["digest"] == full["digest"] and summary["summary"] == full["summary"]
    assert (summary["applyable"], summary["complete"], summary["errored"]) == (True, True, False)
    assert summary["accounts"] == {
        "demo": {"changes": {"create": 1, "delete": 1, "update": 1}, "drift": 0, "warnings": 0}
    }
    assert summary["destructive"] == [
        {"address": "demo/account_passcode/b", "action": "delete", "actions": ["delete"]}
    ]
    assert (
        summary["summary_line"]
        == "Plan: 1 to create, 1 to update, 1 to delete, 0 to grant, 0 to reset, 0 to revoke."
    )
