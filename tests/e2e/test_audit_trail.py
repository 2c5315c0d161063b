"""The audit trail end to end: where each version came from, the hand changes a run saw, adoptions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.workspace import ACCOUNT_ID, Workspace, demo

SEG = "demo/account_passcode/seg"
ZAPIER = "demo/account_passcode/zapier"
SHA = "c0ffee" + "0" * 34
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": SHA,
    "GITHUB_REF": "refs/pull/7/merge",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "team/passcodes",
    "GITHUB_RUN_ID": "99",
}


@pytest.fixture
def provider_kind() -> str:
    return "sandbox"  # the audit is the state's business; one provider is enough


def latest_audit(ws: Workspace) -> dict[str, Any]:
    history = json.loads(ws.ct("state", "history", "--format", "json").stdout)
    audit: dict[str, Any] = history[-1]["audit"]
    return audit


def test_every_version_says_where_it_came_from_and_what_was_changed_by_hand(ws: Workspace) -> None:
    passcodes: dict[str, object] = {"seg": {"expires_in": "90d"}, "braze": {"expires_in": "forever"}}
    ws.write_config(demo(passcodes, unmanaged="warn"))
    ws.env.update(GITHUB)
    ws.ct("apply", "--auto-approve", "--audit-note", "OPS-12: quarterly set-up")
    audit = latest_audit(ws)
    assert audit["commit"] == SHA
    assert audit["change"] == "https://github.com/team/passcodes/pull/7"
    assert audit["run_url"] == "https://github.com/team/passcodes/actions/runs/99"
    assert audit["note"] == "OPS-12: quarterly set-up"
    assert audit["summary"] == "2 created" and audit["unmanaged"] == {}
    for key in GITHUB:
        ws.env.pop(key)

    # In the dashboard: seg is deleted, zapier is made. A refresh-only apply records both.
    ws.ct("sandbox", "passcode", "delete", ACCOUNT_ID, "seg")
    ws.ct("sandbox", "passcode", "add", ACCOUNT_ID, "zapier", "--expires-in", "forever")
    refreshed = ws.ct("apply", "--refresh-only", "--auto-approve")
    assert "State updated to match the accounts" in refreshed.stdout
    audit = latest_audit(ws)
    assert audit["operation"] == "refresh"
    seen = {o["address"]: o["change"] for o in audit["observed"]}
    assert seen == {SEG: "deleted outside ctconfig", ZAPIER: "created outside ctconfig (not in the config)"}
    first_seen = audit["unmanaged"][ZAPIER]
    assert {o["first_seen"] for o in audit["observed"]} == {first_seen}
    assert "commit" not in audit

    # Seen again, nothing new: no version is written; the hand-made passcode keeps its first sighting.
    again = ws.ct("apply", "--refresh-only", "--auto-approve")
    assert "Nothing to apply" in again.stdout

    # A declared passcode that already exists is adopted: in the plan line, the digest and the audit.
    ws.ct("sandbox", "passcode", "add", ACCOUNT_ID, "tableau", "--expires-in", "30d")
    ws.write_config(demo({**passcodes, "tableau": {"expires_in": "30d"}}, unmanaged="warn"))
    plan = ws.ct("plan").stdout
    line = "Plan: 1 to create, 0 to update, 0 to delete, 0 to grant, 0 to reset, 0 to revoke, 1 to adopt."
    assert line in plan
    comment = ws.ct("plan", "--format", "markdown").stdout
    assert "| configure | move | forget | adopt | drift | warnings |" in comment
    assert "| `demo` | 1 | · | · | · | · | · | · | · | · | · | 1 | · | 1 |" in comment  # zapier's warning
    digest = plan.split("Plan digest: ")[1].split()[0]
    ws.ct("apply", "--auto-approve", "--plan-digest", digest)
    audit = latest_audit(ws)
    assert audit["summary"] == "1 adopted, 1 created"
    assert {(a["address"], a["action"]) for a in audit["actions"]} == {
        (SEG, "create"),
        ("demo/account_passcode/tableau", "adopt"),
    }
    assert audit["unmanaged"] == {ZAPIER: first_seen} and "observed" not in audit

    # The three audit questions, one command each.
    life = ws.ct("state", "history", SEG, "--format", "json").stdout
    assert [e["event"] for e in json.loads(life)] == ["created", "changed outside ctconfig", "created"]
    hand_made = ws.ct("state", "history", ZAPIER).stdout
    assert "seen in the account: created outside ctconfig (not in the config)" in hand_made
    listing = ws.ct("state", "list", "--serial", "2").stdout
    assert "demo/account_passcode/braze" in listing and f"{SEG} " not in listing and ZAPIER in listing
