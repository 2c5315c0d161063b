"""`ctconfig check` for the nightly job: 0 when all is well, 1 with one line per finding, never a write."""

from __future__ import annotations

import json
from pathlib import Path

from ctconfig.state.local import LocalBackend
from tests.e2e.workspace import ACCOUNT_ID, Workspace, demo

PASSCODES = {
    "short": {"expires_in": "30d"},  # nothing renews it
    "seg": {"expires_in": "90d", "rotate_before": "14d"},  # rotates itself when due
    "braze": {"expires_in": "forever"},
}


def snapshot_of_state(ws: Workspace) -> dict[str, bytes]:
    """Every file state, its history and its lock live in: check must leave them as they are."""
    return {
        str(p.relative_to(ws.root)): p.read_bytes()
        for p in ws.root.glob("ctconfig.state.json*")
        if p.is_file()
    } | {str(p.relative_to(ws.root)): p.read_bytes() for p in ws.root.glob("ctconfig.state.json.history/*")}


def check(ws: Workspace, *args: str, expect: int) -> list[str]:
    done = ws.ct("check", *args, expect=expect)
    return done.stdout.splitlines()


def test_all_well_then_each_kind_of_finding_once(ws: Workspace, tmp_path: Path) -> None:
    ws.write_config(demo(PASSCODES, unmanaged="warn"))
    ws.ct("apply", "--auto-approve")
    assert check(ws, expect=0) == ["All is well: 1 account(s), 3 managed resource(s), state serial 1."]

    # 20 days on: short (30d) is in its last third with nothing to renew it; seg (90d) is not due yet.
    ws.ct("sandbox", "clock", "advance", "21d")
    assert check(ws, expect=1) == [
        "expiring  demo/account_passcode/short  expires in 9 days and no rotate_before renews it"
    ]

    # By hand: braze deleted, zapier made, and seg's secret lost from the sink.
    ws.ct("sandbox", "passcode", "delete", ACCOUNT_ID, "braze")
    ws.ct("sandbox", "passcode", "add", ACCOUNT_ID, "zapier", "--expires-in", "forever")
    (ws.root / ".ctconfig" / "secrets" / "demo" / "seg").unlink()
    before = snapshot_of_state(ws)
    lock = LocalBackend(ws.root / "ctconfig.state.json").lock("apply")  # a guided apply left open
    try:
        done = ws.ct("check", expect=1)
    finally:
        LocalBackend(ws.root / "ctconfig.state.json").unlock(lock)
    assert done.stdout.splitlines() == [
        "drift      demo/account_passcode/braze   deleted outside ctconfig",
        "missing    demo/account_passcode/seg     missing: the sink holds no secret for it",
        "unmanaged  demo/account_passcode/zapier  not in the config",
        "expiring   demo/account_passcode/short   expires in 9 days and no rotate_before renews it",
    ]
    assert done.stderr.splitlines()[-1] == (
        "4 finding(s) (1 drift, 1 missing, 1 unmanaged, 1 expiring) in 1 account(s), "
        "2 managed resource(s), state serial 1."  # braze is gone
    )
    assert snapshot_of_state(ws) == before  # no state version, no journal, no lock left behind

    # 60 more days: short has expired; seg's rotation is due (the apply that makes it is a change).
    ws.ct("sandbox", "clock", "advance", "60d")
    data = json.loads(ws.ct("check", "--format", "json", expect=1).stdout)
    assert data["ok"] is False and data["serial"] == 1
    by_subject = {(f["kind"], f["subject"]): f["message"] for f in data["findings"]}
    assert by_subject[("expired", "demo/account_passcode/short")].startswith("expired on ")
    assert by_subject[("due", "demo/account_passcode/seg")] == (
        "an apply would replace it: expires in 9 days; rotate_before is 14d"
    )
    assert ("expiring", "demo/account_passcode/seg") not in by_subject  # rotate_before renews it

    markdown = ws.ct("check", "--format", "markdown", expect=1).stdout
    assert markdown.startswith("<!-- ctconfig-check -->\n### ctconfig check\n")
    assert "| expired | `demo/account_passcode/short` |" in markdown
    assert "- **due**: main" in markdown


def test_an_unmanaged_policy_of_ignore_finds_nothing_unmanaged(ws: Workspace) -> None:
    ws.write_config(demo({"braze": {"expires_in": "forever"}}))
    ws.ct("apply", "--auto-approve")
    ws.ct("sandbox", "passcode", "add", ACCOUNT_ID, "zapier", "--expires-in", "forever")
    check(ws, expect=0)
    ws.write_config(demo({"braze": {"expires_in": "forever"}}, unmanaged="delete"))
    assert check(ws, expect=1) == [
        "unmanaged  demo/account_passcode/zapier  not in the config; the next apply deletes it "
        "(unmanaged: delete)"
    ]
