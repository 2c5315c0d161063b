"""Living with real accounts (issue 5): drift, refresh-only, unmanaged, import, export,
rotation, renames, targeting and safety — through the installed command on the sandbox."""

from __future__ import annotations

import json

from tests.e2e.workspace import ACCOUNT_ID, ALICE, BOB, Workspace, demo


def test_dashboard_changes_show_as_drift_and_the_plan_restores_the_config(ws: Workspace) -> None:
    ws.write_config(
        demo(
            {"a": {"expires_in": 30}, "b": {"expires_in": 30}, "c": {"expires_in": 30}},
            {ALICE: {"validity": 30}, BOB: {"validity": 30}},
            passcode_mode="account",
        )
    )
    ws.ct("apply", "--auto-approve")
    # A reset is seen by its new grant time, which has whole seconds: let the dashboard act later.
    ws.ct("sandbox", "clock", "advance", "1h")
    ws.ct("sandbox", "passcode", "delete", "demo", "a")
    ws.ct("sandbox", "passcode", "rename", "demo", "b", "b-by-hand")
    ws.ct("sandbox", "passcode", "expiry", "demo", "c", "10d")
    ws.ct("sandbox", "user", "revoke", "demo", ALICE)
    ws.ct("sandbox", "user", "reset", "demo", BOB)
    ws.ct("sandbox", "mode", "demo", "user")
    plan = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    drift = plan.split("Changed outside ctconfig:")[1].split("ctconfig will perform")[0]
    assert "demo/account_passcode/a: deleted outside ctconfig" in drift
    assert "demo/account_passcode/b: renamed outside ctconfig: 'b' -> 'b-by-hand'" in drift
    assert "demo/account_passcode/c: expiry edited outside ctconfig: 30d -> 10d" in drift
    assert f"demo/user_passcode/{ALICE}: revoked outside ctconfig" in drift
    assert f"demo/user_passcode/{BOB}: reset outside ctconfig" in drift
    assert "demo/settings: passcode mode switched outside ctconfig: account -> user" in drift
    as_json = json.loads(ws.ct("plan", "--format", "json").stdout)
    assert len(as_json["drift"]) == 6
    assert "#### Changed outside ctconfig" in ws.ct("plan", "--format", "markdown").stdout
    ws.ct("apply", "--auto-approve")
    ws.ct("plan", "--detailed-exitcode")
    observed = ws.store().read(ACCOUNT_ID)
    assert sorted(p.name for p in observed.passcodes) == ["a", "b", "c"]
    assert observed.passcode_mode == "account"


def test_refresh_only_updates_state_without_touching_the_account(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 30}}))
    ws.ct("apply", "--auto-approve")
    ws.ct("sandbox", "passcode", "expiry", "demo", "a", "60d")
    assert "No changes." in ws.ct("plan", "--refresh=false").stdout
    preview = ws.ct("plan", "--refresh-only", "--detailed-exitcode", expect=2).stdout
    assert "expiry edited outside ctconfig: 30d -> 60d" in preview and "1 state record(s)" in preview
    mutations = ws.mutations()
    ws.ct("apply", "--refresh-only", "--auto-approve")
    assert ws.mutations() == mutations
    assert ws.state()["resources"]["demo/account_passcode/a"]["expires_in"] == "60d"
    assert 'expires_in: "60d" -> "30d"' in ws.ct("plan", expect=0).stdout


def test_unmanaged_warn_and_delete(ws: Workspace) -> None:
    ws.ct("sandbox", "user", "add", ACCOUNT_ID, ALICE)
    ws.ct("sandbox", "passcode", "add", ACCOUNT_ID, "legacy", "--expires-in", "forever")
    ws.ct("sandbox", "user", "grant", ACCOUNT_ID, ALICE, "--validity", "30d")
    ws.write_config(demo({"a": {"expires_in": 30}}, unmanaged="warn"))
    warned = ws.ct("plan").stdout
    assert (
        "demo/account_passcode/legacy: unmanaged" in warned
        and f"demo/user_passcode/{ALICE}: unmanaged" in warned
    )
    ws.write_config(demo({"a": {"expires_in": 30}}, unmanaged="delete"))
    plan = ws.ct("plan").stdout
    assert "- demo/account_passcode/legacy will be deleted" in plan and "unmanaged: delete" in plan
    ws.ct("apply", "--auto-approve")
    observed = ws.store().read(ACCOUNT_ID)
    assert [p.name for p in observed.passcodes] == ["a"] and observed.user(ALICE).grant is None  # type: ignore[union-attr]


def test_import_finds_what_the_next_apply_adopts_and_state_says_the_secret_is_unknown(
    ws: Workspace,
) -> None:
    ws.ct("sandbox", "user", "add", ACCOUNT_ID, ALICE)
    for name in ("x", "y"):
        ws.ct("sandbox", "passcode", "add", ACCOUNT_ID, name, "--expires-in", "90d")
    ws.ct("sandbox", "user", "grant", ACCOUNT_ID, ALICE, "--validity", "30d")
    ws.write_config(
        demo({"x": {"expires_in": "90d"}, "y": {"expires_in": "60d"}}, {ALICE: {"validity": "30d"}})
    )
    found = ws.ct("import", "demo/account_passcode/x").stdout
    assert "Found demo/account_passcode/x" in found and "secret is unknown" in found
    assert not (ws.root / "ctconfig.state.json").exists()  # import writes no state
    every = ws.ct("import", "--all").stdout
    assert every.count("the next apply adopts it") == 3
    plan = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert plan.count("will be") == 1 and 'expires_in: "90d" -> "60d"' in plan
    ws.ct("apply", "--auto-approve")
    assert set(ws.state()["resources"]) == {
        "demo/account_passcode/x",
        "demo/account_passcode/y",
        f"demo/user_passcode/{ALICE}",
    }
    shown = ws.ct("state", "show", "demo/account_passcode/x").stdout
    assert "secret unknown" in shown
    missing = ws.ct("import", "demo/account_passcode/zzz", expect=1).stderr
    assert "not declared in the config" in missing


def test_hand_made_account_exports_then_plans_with_no_changes(ws: Workspace) -> None:
    for email in (ALICE, BOB):
        ws.ct("sandbox", "user", "add", ACCOUNT_ID, email)
    ws.ct("sandbox", "passcode", "add", ACCOUNT_ID, "segment", "--expires-in", "90d")
    ws.ct("sandbox", "passcode", "add", ACCOUNT_ID, "braze", "--expires-in", "forever")
    ws.ct("sandbox", "user", "grant", ACCOUNT_ID, ALICE, "--validity", "infinite")
    ws.ct("sandbox", "mode", ACCOUNT_ID, "account")
    ws.write_config(demo({}))
    (ws.root / "exported").mkdir()
    refused = ws.ct("export", "-o", "exported", expect=1)  # -o is a file, as for `plan -o`
    assert "-o names the file to write, as for `plan -o`: -o exported/ctconfig.yaml" in refused.stderr
    ws.ct("export", "-o", "exported/ctconfig.yaml")
    assert (ws.root / "exported" / "ctconfig.schema.json").is_file()
    text = (ws.root / "exported" / "ctconfig.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=ctconfig.schema.json")
    assert "passcode_env: CT_DEMO_PASSCODE" in text
    ws.ct("-c", "exported/ctconfig.yaml", "validate")
    adopting = ws.ct("-c", "exported/ctconfig.yaml", "plan", "--detailed-exitcode", expect=2).stdout
    adoptions = 4 if ws.provider == "clevertap" else 3  # over HTTP, the admin's grant is in the account too
    assert f"0 to grant, 0 to reset, 0 to revoke, {adoptions} to adopt." in adopting  # nothing in the account
    assert "the next apply adopts it" in ws.ct("-c", "exported/ctconfig.yaml", "import", "--all").stdout
    ws.ct("-c", "exported/ctconfig.yaml", "apply", "--auto-approve")  # adopts what the config declares
    ws.ct("-c", "exported/ctconfig.yaml", "plan", "--detailed-exitcode")
    managed = set(ws.state()["resources"]) - {"demo/settings"}  # the exported passcode_mode
    admin = {"demo/user_passcode/admin@sandbox.local"} if ws.provider == "clevertap" else set()
    assert (
        managed
        == {"demo/account_passcode/braze", "demo/account_passcode/segment", f"demo/user_passcode/{ALICE}"}
        | admin
    )


def test_rotation_keeps_a_live_credential_at_every_moment(ws: Workspace) -> None:
    ws.write_config(demo({"seg": {"expires_in": "30d", "rotate_before": "14d"}}))
    ws.ct("apply", "--auto-approve")
    first = ws.secret_files()["demo/seg"]
    assert_live(ws, first)
    ws.ct("sandbox", "clock", "advance", "20d")
    plan = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert "+/- demo/account_passcode/seg will be rotated" in plan
    assert "reason: expires in 10 days; rotate_before is 14d" in plan
    ws.ct("apply", "--auto-approve")
    second = ws.secret_files()["demo/seg"]
    assert second != first
    assert_live(ws, first)  # the old one still works during the overlap
    assert_live(ws, second)
    names = sorted(p.name for p in ws.store().read(ACCOUNT_ID).passcodes)
    assert names[0] == "seg" and names[1].startswith("seg~retiring-")
    status = ws.ct("state", "list").stdout
    assert "retiring" in status
    waiting = ws.ct("plan", "--detailed-exitcode").stdout
    assert "retiring: rotated out, deleted after" in waiting
    ws.ct("sandbox", "clock", "advance", "8d")
    retire = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert f"- demo/account_passcode/{names[1]} will be deleted" in retire
    ws.ct("apply", "--auto-approve")
    assert [p.name for p in ws.store().read(ACCOUNT_ID).passcodes] == ["seg"]
    assert_live(ws, second)
    ws.ct("plan", "--detailed-exitcode")
    ws.assert_no_secret_leaked({first, second})


def assert_live(ws: Workspace, secret: str) -> None:
    store = ws.store()
    try:
        credential = store.authenticate(ACCOUNT_ID, secret)
    finally:
        store.close()
    assert credential is not None and credential.status == "active"


def test_forced_replace_and_reset(ws: Workspace) -> None:
    ws.write_config(demo({"seg": {"expires_in": "90d"}}, {ALICE: {"validity": 30}}))
    ws.ct("apply", "--auto-approve")
    plan = ws.ct(
        "plan", "--replace", "demo/account_passcode/seg", "--replace", f"demo/user_passcode/{ALICE}"
    ).stdout
    assert "replacement requested with --replace" in plan and "reset requested with --replace" in plan
    ws.ct("plan", "--replace", "demo/account_passcode/seg", "-o", "rotate.plan")
    before = ws.secret_files()["demo/seg"]
    ws.ct("apply", "rotate.plan")  # the saved plan re-plans with its --replace, so the digest holds
    assert ws.secret_files()["demo/seg"] != before


def test_previously_renames_in_place_and_the_secret_survives(ws: Workspace) -> None:
    ws.write_config(demo({"old-name": {"expires_in": "90d"}}))
    ws.ct("apply", "--auto-approve")
    before = ws.state()["resources"]["demo/account_passcode/old-name"]
    ws.write_config(demo({"new-name": {"expires_in": "90d", "previously": "old-name"}}))
    plan = ws.ct("plan").stdout
    assert "~ demo/account_passcode/new-name will be updated in place" in plan
    assert 'name: "old-name" -> "new-name"' in plan
    assert "the secret is kept and moves in the file sink: demo/old-name -> demo/new-name" in plan
    secret = ws.secret_files()["demo/old-name"]
    applied = ws.ct("apply", "--auto-approve").stdout
    assert "renamed; its secret moved to file .ctconfig/secrets/demo/new-name" in applied
    after = ws.state()["resources"]["demo/account_passcode/new-name"]
    assert after["id"] == before["id"]
    assert after["secret_fingerprint"] == before["secret_fingerprint"]
    assert [p.name for p in ws.store().read(ACCOUNT_ID).passcodes] == ["new-name"]
    moved = {k: v for k, v in ws.secret_files().items() if "~owners" not in k}
    assert moved == {"demo/new-name": secret}  # the slot followed the name
    assert "valid" in ws.ct("verify").stdout  # exit 0: no longer "missing"


def test_targeted_plans_say_they_are_partial(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 1}, "b": {"expires_in": 1}}, {ALICE: {"validity": 30}}))
    plan = ws.ct("plan", "--target", "demo/account_passcode/*", "--exclude", "demo/account_passcode/b").stdout
    assert "partial plan" in plan
    assert "demo/account_passcode/a will be created" in plan and "/b will" not in plan and ALICE not in plan
    ws.ct("apply", "--auto-approve", "--target", "demo/account_passcode/a")
    assert list(ws.state()["resources"]) == ["demo/account_passcode/a"]


def test_mass_delete_is_refused_with_numbers_unless_allowed(ws: Workspace) -> None:
    ws.write_config(demo({f"p{i:02d}": {"expires_in": 30} for i in range(12)}))
    ws.ct("apply", "--auto-approve")
    ws.write_config(demo({f"p{i:02d}": {"expires_in": 30} for i in range(5)}))
    refused = ws.ct("apply", "--auto-approve", expect=1)
    assert "demo: 7 of 12 managed resources would be deleted or revoked (58% > 30%)" in refused.stderr
    assert len(ws.store().read(ACCOUNT_ID).passcodes) == 12
    ws.ct("apply", "--auto-approve", "--allow-mass-delete")
    assert len(ws.store().read(ACCOUNT_ID).passcodes) == 5


def test_switching_to_user_mode_lists_the_passcodes_that_stop_working(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 30}, "b": {"expires_in": 30}}, {ALICE: {"validity": 30}}))
    ws.ct("apply", "--auto-approve")
    ws.write_config(
        demo(
            {"a": {"expires_in": 30}, "b": {"expires_in": 30}},
            {ALICE: {"validity": 30}},
            passcode_mode="user",
        )
    )
    plan = ws.ct("plan").stdout
    assert "account passcodes stop authenticating API calls; these will stop working: a, b" in plan


def test_expiring_and_expired_warnings(ws: Workspace) -> None:
    """A warning comes in the last 30 days, or the last third of a shorter term: a 30-day
    passcode is "expiring soon" in CleverTap's words from the day it is made, not in ctconfig's."""
    ws.write_config(demo({"short": {"expires_in": 40}, "monthly": {"expires_in": 30}}))
    ws.ct("apply", "--auto-approve")
    assert "Warnings" not in ws.ct("plan").stdout
    ws.ct("sandbox", "clock", "advance", "15d")  # short: 25 days left of 40; monthly: 15 of 30
    assert "Warnings" not in ws.ct("plan").stdout
    ws.ct("sandbox", "clock", "advance", "11d")  # 14 of 40 (a third is 14), 4 of 30 (a third is 10)
    plan = ws.ct("plan").stdout
    assert "short: expiring soon: expires in 14 days" in plan
    assert "monthly: expiring soon: expires in 4 days" in plan
    ws.ct("sandbox", "clock", "advance", "30d")
    assert "expired on" in ws.ct("plan").stdout
