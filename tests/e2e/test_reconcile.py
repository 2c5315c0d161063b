"""The reconcile loop through the installed `ctconfig` command on the embedded sandbox."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace

import pytest

from ctconfig.domain import Address
from ctconfig.state.document import AccountPasscodeRecord, State
from ctconfig.state.journal import Journal, Recorded
from ctconfig.state.journal_store import FileJournalStore
from tests.e2e.workspace import ACCOUNT_ID, ALICE, BOB, Workspace, demo
from tests.operator_env import clean_env


@pytest.mark.process  # the installed command end to end
def test_walkthrough_apply_change_plan_apply_inspect(ws: Workspace) -> None:
    ws.write_config(
        demo(
            {"seg": {"expires_in": "90d"}, "braze": {"expires_in": "forever"}},
            {ALICE: {"validity": "30d"}, BOB: {"validity": "infinite"}},
        )
    )
    first = ws.ct("apply", "--auto-approve")
    assert "Plan: 2 to create, 0 to update, 0 to delete, 2 to grant, 0 to reset, 0 to revoke." in first.stdout
    assert "secret sent to file .ctconfig/secrets/demo/seg" in first.stdout
    assert ws.ct("plan", "--detailed-exitcode").stdout.count("No changes.") == 1

    ws.write_config(
        demo({"seg": {"expires_in": "180d"}, "new": {"expires_in": 7}}, {ALICE: {"validity": "30d"}})
    )
    plan = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert "~ demo/account_passcode/seg will be updated in place" in plan
    assert 'expires_in: "90d" -> "180d"' in plan
    assert "- demo/account_passcode/braze will be deleted" in plan
    assert "- demo/user_passcode/bob@example.com will be revoked" in plan
    assert "Plan: 1 to create, 1 to update, 1 to delete, 0 to grant, 0 to reset, 1 to revoke." in plan
    ws.ct("apply", "--auto-approve")
    ws.ct("plan", "--detailed-exitcode")

    listing = ws.ct("state", "list").stdout
    assert "demo/account_passcode/new" in listing and "braze" not in listing
    state = ws.state()
    assert state["serial"] == 2 and set(state["resources"]) == {
        "demo/account_passcode/new",
        "demo/account_passcode/seg",
        f"demo/user_passcode/{ALICE}",
    }
    assert state["resources"]["demo/account_passcode/seg"]["expires_in"] == "180d"
    raw = (ws.root / "ctconfig.state.json").read_text()
    assert raw.endswith("\n") and raw == json.dumps(state, sort_keys=True, indent=2) + "\n"
    secrets_dir = ws.root / ".ctconfig" / "secrets" / "demo"
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((secrets_dir / "new").stat().st_mode) == 0o600
    fingerprint = state["resources"]["demo/account_passcode/new"]["secret_fingerprint"]
    assert fingerprint.startswith("lossy20:") and len(fingerprint) == 13
    ws.assert_no_secret_leaked(set(ws.secret_files().values()))


def test_second_apply_calls_no_mutating_operation(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 10}}, {ALICE: {"validity": 5}}, passcode_mode="account"))
    ws.ct("apply", "--auto-approve")
    before = ws.mutations()
    again = ws.ct("apply", "--auto-approve")
    assert "No changes." in again.stdout
    assert ws.mutations() == before


def test_dry_run_prints_operations_and_touches_nothing(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 10}}, {ALICE: {"validity": 5}}, passcode_mode="user"))
    done = ws.ct("apply", "--dry-run")
    assert "1. demo/account_passcode/a: create account passcode 'a'" in done.stdout
    assert "3. demo/settings: set passcode mode to 'user'" in done.stdout
    assert not (ws.root / "ctconfig.state.json").exists()
    assert ws.mutations() == 0


def test_apply_without_a_terminal_refuses_to_prompt(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 10}}))
    done = ws.ct("apply", expect=1, input="")
    assert "pass --auto-approve" in done.stderr
    assert ws.mutations() == 0


def test_saved_plan_applies_and_a_stale_one_is_refused(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 10}}))
    ws.ct("plan", "-o", "first.plan")
    ws.ct("plan", "-o", "second.plan")
    shown = ws.ct("show", "first.plan").stdout
    assert "+ demo/account_passcode/a will be created" in shown
    ws.ct("apply", "first.plan")
    stale = ws.ct("apply", "second.plan", expect=1)
    assert "saved plan is stale: state moved from serial 0 to 1" in stale.stderr
    assert "Re-run `ctconfig plan`" in stale.stderr

    ws.ct("plan", "-o", "third.plan")
    ws.write_config(demo({"a": {"expires_in": 11}}))
    changed = ws.ct("apply", "third.plan", expect=1)
    assert "config changed" in changed.stderr


def test_held_lock_fails_fast_naming_the_holder_and_force_unlock_frees_it(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 10}}))
    ws.ct("apply", "--auto-approve")
    holder = {
        "id": "4b3c9d0e-1111-2222-3333-444455556666",
        "who": "mallory",
        "host": "ci-7",
        "pid": 999999,
        "operation": "apply",
        "created": "2026-11-27T10:00:00Z",
    }
    (ws.root / "ctconfig.state.json.lock").write_text(json.dumps(holder))
    refused = ws.ct("apply", "--auto-approve", expect=1)
    assert "mallory@ci-7" in refused.stderr and holder["id"] in refused.stderr
    ws.ct("force-unlock", "--yes", holder["id"])
    ws.ct("apply", "--auto-approve")


def test_prevent_destroy_refuses_the_plan(ws: Workspace) -> None:
    ws.write_config(demo({"keep": {"expires_in": 10, "prevent_destroy": True}}))
    ws.ct("apply", "--auto-approve")
    ws.write_config(demo({}))
    refused = ws.ct("plan", expect=1)
    assert "prevent_destroy" in refused.stdout
    assert "1 error" in refused.stderr
    ws.ct("apply", "--auto-approve", expect=1)
    assert "keep" in ws.ct("sandbox", "show").stdout


def test_sink_failure_taints_the_passcode_and_the_next_plan_replaces_it(ws: Workspace) -> None:
    flaky = ws.root / "sink.sh"
    flaky.write_text(
        '#!/bin/sh\n[ -e "$SINK_OK" ] || { echo "vault is down" >&2; exit 3; }\n'
        'cat > "$SINK_DIR/$CTCONFIG_SECRET_NAME"\n'
    )
    flaky.chmod(0o755)
    (ws.root / "vault").mkdir()
    ws.env.update({"SINK_OK": str(ws.root / "ok"), "SINK_DIR": str(ws.root / "vault")})
    ws.write_config(demo({"api": {"expires_in": 30}}), secrets={"sink": "command", "command": str(flaky)})
    failed = ws.ct("apply", "--auto-approve", expect=1)
    assert "vault is down" in failed.stdout + failed.stderr
    assert "TAINTED: demo/account_passcode/api" in failed.stderr
    assert ws.state()["resources"]["demo/account_passcode/api"]["tainted"].startswith("secret sink failed")

    (ws.root / "ok").touch()
    plan = ws.ct("plan", "--detailed-exitcode", expect=2).stdout
    assert "-/+ demo/account_passcode/api will be replaced (delete first: nobody holds its secret)" in plan
    assert "tainted: secret sink failed" in plan
    ws.ct("apply", "--auto-approve")
    assert (ws.root / "vault" / "CT_DEMO_API").read_text()
    names = [p.name for p in ws.store().read(ACCOUNT_ID).passcodes]
    assert names == ["api"]
    ws.ct("plan", "--detailed-exitcode")
    ws.assert_no_secret_leaked({(ws.root / "vault" / "CT_DEMO_API").read_text()}, sinks=("vault",))


def test_failure_mid_apply_saves_state_and_the_next_apply_converges(ws: Workspace) -> None:
    store = ws.store()
    store.ensure_account(ACCOUNT_ID, [])
    fillers = [store.create_passcode(ACCOUNT_ID, f"filler-{i:02d}", None)[0] for i in range(98)]
    store.close()
    ws.write_config(demo({f"p{i}": {"expires_in": 30} for i in range(4)}))
    failed = ws.ct("apply", "--auto-approve", "--parallelism", "1", expect=1)
    # Keep going like Terraform: p2 hitting the 100-passcode limit does not stop p3 from trying.
    assert "Apply incomplete: 2 done, 2 failed, 0 not started." in failed.stderr
    assert "failed: demo/account_passcode/p2 (create)" in failed.stderr
    assert "failed: demo/account_passcode/p3 (create)" in failed.stderr
    assert "100" in failed.stderr
    state = ws.state()
    assert sorted(state["resources"]) == ["demo/account_passcode/p0", "demo/account_passcode/p1"]

    store = ws.store()
    for filler in fillers[:10]:
        store.delete_passcode(ACCOUNT_ID, filler.id)
    store.close()
    ws.ct("apply", "--auto-approve")
    ws.ct("plan", "--detailed-exitcode")
    assert len(ws.state()["resources"]) == 4


def test_journal_left_by_a_crash_is_replayed(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 10}}))
    ws.ct("apply", "--auto-approve")
    state = State.loads((ws.root / "ctconfig.state.json").read_text())
    journal_path = ws.root / "ctconfig.state.json.journal"
    journal = Journal(FileJournalStore(journal_path))
    journal.begin(state.lineage, state.serial)
    address = Address.account_passcode("demo", "a")
    record = state.resources[address]
    assert isinstance(record, AccountPasscodeRecord)
    journal.append([Recorded(address, replace(record, secret_fingerprint="sha256:aaaaaaaaaaaa"))])
    with journal_path.open("a") as handle:
        handle.write('{"entry": "record", "address": "torn')  # the crash cut the last line short
    before = journal_path.read_bytes()
    ws.ct("plan")  # reads the journal, writes nothing: replaying is apply's job
    assert journal_path.read_bytes() == before and ws.state()["serial"] == state.serial
    ws.ct("apply", "--auto-approve")
    assert not journal_path.exists() or journal_path.read_text() == ""
    replayed = ws.state()
    assert replayed["serial"] == state.serial + 1
    assert replayed["resources"]["demo/account_passcode/a"]["secret_fingerprint"] == "sha256:aaaaaaaaaaaa"


@pytest.mark.process  # the installed command end to end
def test_errors_are_one_line_without_traceback(ws: Workspace) -> None:
    (ws.root / "ctconfig.yaml").write_text("version: 1\naccounts: [\n")
    broken = ws.ct("plan", expect=1)
    assert broken.stderr.count("ctconfig.yaml:") >= 1
    ws.write_config(demo({"a": {"expires_in": 10}}))
    missing = ws.ct("apply", "nope.plan", expect=1)
    assert "plan file nope.plan does not exist" in missing.stderr
    assert os.linesep.join(missing.stderr.strip().splitlines()).count("\n") == 0


def test_ctrl_c_finishes_work_in_flight_saves_state_and_exits_130(ws: Workspace) -> None:
    import signal
    import subprocess

    from tests.conftest import ctconfig_executable

    passcodes = demo({f"p{i}": {"expires_in": 30} for i in range(6)})
    ws.write_config(passcodes, secrets={"sink": "command", "command": "sleep 0.4; cat > /dev/null"})
    env = {
        **clean_env(),
        "NO_COLOR": "1",
        **ws.env,
    }
    proc = subprocess.Popen(
        [*ctconfig_executable(), "apply", "--auto-approve", "--parallelism", "1"],
        cwd=ws.root,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "created; secret sent" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, rest + err
    assert "Apply incomplete" in err and "not started" in err and "Traceback" not in err
    done = len(ws.state()["resources"])
    assert 1 <= done < 6
    # The slow sink was there to have work in flight at Ctrl-C; the rest need not wait on it.
    ws.write_config(passcodes, secrets={"sink": "command", "command": "cat > /dev/null"})
    ws.ct("apply", "--auto-approve")
    ws.ct("plan", "--detailed-exitcode")
    assert len(ws.state()["resources"]) == 6


@pytest.mark.process  # the installed command end to end
def test_debug_logs_and_plain_output_hold_no_secret_and_no_colour(ws: Workspace) -> None:
    ws.write_config(demo({"a": {"expires_in": 10}, "b": {"expires_in": "forever"}}, {ALICE: {"validity": 5}}))
    done = ws.ct("--debug", "apply", "--auto-approve")
    assert "DEBUG" in done.stderr  # debug logging really was on
    assert "\x1b[" not in done.stdout  # no colour without a terminal
    ws.ct("--debug", "plan", "-o", "after.plan")
    ws.ct("--debug", "plan", "--format", "json")
    ws.ct("--debug", "state", "pull")
    ws.assert_no_secret_leaked(set(ws.secret_files().values()))
