"""Every routine operation as a reviewed change in the config (issue 22), through the command on the
sandbox: forget with `removed:`, rename an account alias, rotate or reset with a token, approve a
mass delete, import only what is declared, and share passcodes through templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunCtconfig
from tests.e2e.workspace import ACCOUNT_ID, ALICE, Workspace, demo


@pytest.fixture
def sandbox(tmp_path: Path, run_ctconfig: RunCtconfig) -> Workspace:
    """The embedded sandbox only: these are config features, the same over any provider."""
    return Workspace(tmp_path, run_ctconfig)


def test_removed_forgets_a_passcode_in_state_and_leaves_it_in_the_account(sandbox: Workspace) -> None:
    ws = sandbox
    ws.write_config(demo({"keep": {"expires_in": 30}, "hand-over": {"expires_in": 30}}))
    ws.ct("apply", "--auto-approve")
    ws.write_config(demo({"keep": {"expires_in": 30}}), removed=["demo/account_passcode/hand-over"])
    plan = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert (
        ". demo/account_passcode/hand-over will be forgotten (removed from state; it stays in the account)"
        in plan
    )
    assert (
        "Plan: 0 to create, 0 to update, 0 to delete, 0 to grant, 0 to reset, 0 to revoke, 1 to forget."
        in plan
    )
    before = ws.mutations()
    done = ws.ct("apply", "--auto-approve").stdout
    assert "demo/account_passcode/hand-over: forgotten; it stays in the account" in done
    assert ws.mutations() == before  # the account was not touched
    assert list(ws.state()["resources"]) == ["demo/account_passcode/keep"]
    assert {p.name for p in ws.store().read(ACCOUNT_ID).passcodes} == {"keep", "hand-over"}
    again = ws.ct("plan", "--detailed-exitcode").stdout
    assert "in removed: but not in state: nothing to forget" in again
    history = ws.ct("state", "history").stdout
    assert "1 forgotten" in history


def test_an_account_alias_renamed_moves_every_address_and_secret_with_no_delete_or_create(
    sandbox: Workspace,
) -> None:
    ws = sandbox
    ws.write_config(
        demo({"seg": {"expires_in": 30}, "braze": {"expires_in": "forever"}}, {ALICE: {"validity": 30}})
    )
    ws.ct("apply", "--auto-approve")
    secrets = ws.secret_files()
    accounts = demo(
        {"seg": {"expires_in": 30}, "braze": {"expires_in": "forever"}}, {ALICE: {"validity": 30}}
    )
    ws.write_config({"demo-eu": {**accounts["demo"], "previously": "demo"}})  # type: ignore[dict-item]
    plan = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert "> demo-eu/account_passcode/seg has moved from demo/account_passcode/seg" in plan
    assert "its secret moves in the file sink: demo/seg -> demo-eu/seg" in plan
    assert (
        "Plan: 0 to create, 0 to update, 0 to delete, 0 to grant, 0 to reset, 0 to revoke, 3 to move." in plan
    )
    before = ws.mutations()
    ws.ct("apply", "--auto-approve")
    assert ws.mutations() == before
    assert sorted(ws.state()["resources"]) == [
        "demo-eu/account_passcode/braze",
        "demo-eu/account_passcode/seg",
        f"demo-eu/user_passcode/{ALICE}",
    ]
    moved = {k: v for k, v in ws.secret_files().items() if "~owners" not in k}
    assert moved == {f"demo-eu/{name}": secrets[f"demo/{name}"] for name in ("braze", "seg")}
    assert ws.ct("verify").returncode == 0
    ws.ct("plan", "--detailed-exitcode")


def test_a_rename_moves_the_secret_in_an_env_file_too(sandbox: Workspace) -> None:
    ws = sandbox
    sink = {"sink": "env-file", "path": "ct.env"}
    ws.write_config(demo({"old": {"expires_in": 30}}), secrets=sink)
    ws.ct("apply", "--auto-approve")
    secret = (ws.root / "ct.env").read_text().split("CT_DEMO_OLD=")[1].strip()
    ws.write_config(demo({"new": {"expires_in": 30, "previously": "old"}}), secrets=sink)
    ws.ct("apply", "--auto-approve")
    text = (ws.root / "ct.env").read_text()
    assert text == f"# ctconfig: demo/account_passcode/new\nCT_DEMO_NEW={secret}\n"
    assert ws.ct("verify").returncode == 0


def test_a_rename_with_the_command_sink_warns_that_the_secret_stays(sandbox: Workspace) -> None:
    ws = sandbox
    sink = {"sink": "command", "command": 'cat > "$CTCONFIG_SECRET_NAME"'}
    ws.write_config(demo({"old": {"expires_in": 30}}), secrets=sink)
    ws.ct("apply", "--auto-approve")
    ws.write_config(demo({"new": {"expires_in": 30, "previously": "old"}}), secrets=sink)
    plan = ws.ct("plan").stdout
    assert "the command sink cannot move secrets" in plan
    assert "move it to CT_DEMO_NEW yourself" in plan


def test_changing_the_rotate_token_rotates_with_overlap_and_records_the_token(sandbox: Workspace) -> None:
    ws = sandbox
    ws.write_config(demo({"seg": {"expires_in": "90d", "rotate": "2026-01"}}))
    ws.ct("apply", "--auto-approve")
    first = ws.secret_files()["demo/seg"]
    assert ws.state()["resources"]["demo/account_passcode/seg"]["rotate_token"] == "2026-01"
    ws.ct("plan", "--detailed-exitcode")
    ws.write_config(demo({"seg": {"expires_in": "90d", "rotate": "SEC-42 leaked"}}))
    plan = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert "+/- demo/account_passcode/seg will be rotated" in plan
    assert "reason: rotate token changed: '2026-01' -> 'SEC-42 leaked'" in plan
    ws.ct("apply", "--auto-approve")
    second = ws.secret_files()["demo/seg"]
    assert second != first
    assert ws.state()["resources"]["demo/account_passcode/seg"]["rotate_token"] == "SEC-42 leaked"
    assert len(ws.store().read(ACCOUNT_ID).passcodes) == 2  # the old one lives on for the overlap
    ws.ct("plan", "--detailed-exitcode")


def test_changing_the_reset_token_resets_a_user_passcode(sandbox: Workspace) -> None:
    ws = sandbox
    ws.ct("sandbox", "user", "add", ACCOUNT_ID, ALICE)
    ws.write_config(demo({}, {ALICE: {"validity": 30}}))
    ws.ct("apply", "--auto-approve")
    ws.write_config(demo({}, {ALICE: {"validity": 30, "reset": "leak-7"}}))
    plan = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert f"~ demo/user_passcode/{ALICE} will be reset" in plan
    assert "reset token changed: none -> 'leak-7'" in plan
    ws.ct("apply", "--auto-approve")
    assert ws.state()["resources"][f"demo/user_passcode/{ALICE}"]["reset_token"] == "leak-7"
    ws.ct("plan", "--detailed-exitcode")


def test_a_mass_delete_fails_the_plan_until_it_is_approved_in_the_config(sandbox: Workspace) -> None:
    ws = sandbox
    ws.write_config(demo({f"p{i:02d}": {"expires_in": 30} for i in range(12)}))
    ws.ct("apply", "--auto-approve")
    keep = demo({f"p{i:02d}": {"expires_in": 30} for i in range(5)})
    ws.write_config(keep)
    refused = ws.ct("plan", "--detailed-exitcode", expect=1)
    [line] = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]  # one line
    assert line.startswith("Error: refusing a mass delete: demo: 7 of 12 managed resources would be deleted")
    assert "    to approve exactly these deletes, add to the config (and review it):" in refused.stdout
    assert "          - demo/account_passcode/p11" in refused.stdout
    doomed = [f"demo/account_passcode/p{i:02d}" for i in range(5, 12)]
    ws.write_config(keep, safety={"approve_deletes": doomed[:-1]})
    assert ws.ct("plan", expect=1).stdout.count("          - demo/account_passcode/") == 1  # p11 only
    ws.write_config(keep, safety={"approve_deletes": doomed})
    approved = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert "mass delete approved in safety.approve_deletes: demo: 7 of 12" in approved
    ws.ct("apply", "--auto-approve")
    assert len(ws.store().read(ACCOUNT_ID).passcodes) == 5
    stale = ws.ct("plan", "--detailed-exitcode").stdout
    assert "in safety.approve_deletes but this plan does not delete it" in stale


def test_a_small_account_is_guarded_too(sandbox: Workspace) -> None:
    ws = sandbox
    ws.write_config(demo({"only": {"expires_in": 30}}))
    ws.ct("apply", "--auto-approve")
    ws.write_config(demo({}))
    refused = ws.ct("plan", expect=1).stderr
    assert (
        "demo: 1 of 1 managed resources would be deleted or revoked (100% > 50%, in an account under"
        in refused
    )
    assert ws.ct("apply", "--auto-approve", expect=1).returncode == 1
    ws.write_config(demo({}), safety={"approve_deletes": ["demo/account_passcode/only"]})
    ws.ct("apply", "--auto-approve")
    assert ws.store().read(ACCOUNT_ID).passcodes == ()


def test_import_refuses_what_is_not_declared_and_writes_no_state(sandbox: Workspace) -> None:
    ws = sandbox
    ws.ct("sandbox", "passcode", "add", ACCOUNT_ID, "legacy", "--expires-in", "90d")
    ws.write_config(demo({"other": {"expires_in": 30}}))
    refused = ws.ct("import", "demo/account_passcode/legacy", expect=1).stderr
    assert "not declared in the config; declare it there first" in refused
    assert not (ws.root / "ctconfig.state.json").exists()
    ws.write_config(demo({"legacy": {"expires_in": "90d"}}))
    found = ws.ct("import", "demo/account_passcode/legacy").stdout
    assert "Found demo/account_passcode/legacy" in found and "the next apply adopts it" in found
    assert "No state written" in found
    assert not (ws.root / "ctconfig.state.json").exists()
    ws.ct("apply", "--auto-approve")
    assert ws.state()["resources"]["demo/account_passcode/legacy"]["origin"] == "adopted"


def test_accounts_share_passcodes_through_a_template(sandbox: Workspace) -> None:
    ws = sandbox
    (ws.root / "ctconfig.yaml").write_text(
        "version: 1\n"
        "x-quarterly: &quarterly {expires_in: 90d, rotate_before: 14d}\n"
        "templates:\n  team:\n    account_passcodes:\n      segment-export: *quarterly\n"
        "      braze-sync: {expires_in: forever}\n"
        "accounts:\n"
        "  team-a: {id: W9R-486-4W5Z, use: team}\n"
        "  team-b:\n    id: W9R-486-4W5A\n    use: team\n    account_passcodes:\n"
        "      braze-sync: {expires_in: 30d}\n"
    )
    assert ws.ct("validate").stdout == "Config valid: 2 accounts, 4 account passcodes, 0 user grants.\n"
    ws.ct("apply", "--auto-approve")
    passcodes = {p.name: p.expires_in_days for p in ws.store().read("W9R-486-4W5A").passcodes}
    assert passcodes == {"segment-export": 90, "braze-sync": 30}
    assert sorted(k for k in ws.secret_files() if "~owners" not in k) == [
        "team-a/braze-sync",
        "team-a/segment-export",
        "team-b/braze-sync",
        "team-b/segment-export",
    ]
    ws.ct("plan", "--detailed-exitcode")


def test_an_account_dropped_from_the_config_is_forgotten_whole(sandbox: Workspace) -> None:
    ws = sandbox
    ws.write_config(demo({"a": {"expires_in": 30}, "b": {"expires_in": 30}}))
    ws.ct("apply", "--auto-approve")
    ws.write_config({})
    refused = ws.ct("plan", expect=1).stdout
    assert "add 'demo/*' to removed: to stop managing it" in refused
    ws.write_config({}, removed=["demo/*"])
    done = ws.ct("apply", "--auto-approve").stdout
    assert "Apply complete: 2 forgotten." in done
    assert ws.state()["resources"] == {}
    assert len(ws.store().read(ACCOUNT_ID).passcodes) == 2
