"""Issue 21, item 2, end to end: a secret sink that refuses can no longer wedge an account at
CleverTap's limit of 100 passcodes.

70 declared passcodes, through the `ctconfig` command, on the embedded sandbox and over HTTP
(the sandbox server on a real socket). A sink that refuses from the start gets no create at
all; one that fails after N secrets stops every later create; the tainted passcodes are replaced
delete-first; after every apply the account holds no more passcodes than are declared (that a
delete-first replace never overlaps, even mid-apply, test_sink_failure.py shows at the limit of
100); and one apply converges once the sink works.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.e2e import conftest as e2e
from tests.e2e.workspace import ACCOUNT_ID, Workspace, demo

pytestmark = pytest.mark.slow

DECLARED = 70
ROOM = 10  # what the failing secret store takes before it refuses
PARALLELISM = 3  # the apply's default: creates in flight per account
provider_kind, ws = e2e.provider_kind, e2e.ws  # each test runs on the sandbox and over HTTP

STORE_SECRET = """#!/bin/sh
# A secret store with a quota: refuses once it holds $ROOM secrets.
[ "$(ls "$STORE" | wc -l)" -lt "$ROOM" ] || { echo "the secret store is over its quota" >&2; exit 1; }
cat > "$STORE/$CTCONFIG_SECRET_NAME"
"""


def passcodes() -> dict[str, object]:
    return {f"p{i:02d}": {"expires_in": "30d"} for i in range(DECLARED)}


def live_names(ws: Workspace) -> list[str]:
    """The account's passcodes right now, as the sandbox holds them."""
    with sqlite3.connect(ws.root / ".ctconfig" / "sandbox.db") as db:
        rows = db.execute("SELECT name FROM passcodes WHERE account_id = ?", (ACCOUNT_ID,)).fetchall()
    return sorted(name for (name,) in rows)


def sink_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error: the secret sink")]


def test_a_sink_that_refuses_from_the_start_gets_no_create(ws: Workspace) -> None:
    ws.write_config(demo(passcodes()), secrets={"sink": "file", "path": ".ctconfig/secrets"})
    blocker = ws.root / ".ctconfig" / "secrets"
    blocker.parent.mkdir(exist_ok=True)
    blocker.write_text("a file where the secrets directory should be")  # refuses even root

    plan = ws.ct("plan", expect=1)
    assert (
        "  x secrets: the file sink .ctconfig/secrets cannot take secrets: cannot write secret files in "
        f".ctconfig/secrets: .ctconfig/secrets is not a directory; apply would start none of the {DECLARED} "
        "passcode create(s) until it can"
    ) in plan.stdout
    assert plan.stdout.rstrip().splitlines()[-2] == "Plan failed: 1 error(s); nothing can be applied."
    assert blocker.is_file()  # the plan only looked

    applied = ws.ct("apply", "--auto-approve", expect=1)
    [line] = sink_lines(applied.stderr)
    assert line == (
        "Error: the secret sink cannot take secrets: cannot write secret files in .ctconfig/secrets: "
        f".ctconfig/secrets is not a directory. No passcode was created ({DECLARED} create(s) not started; "
        "other changes went on unless they wait for one). Fix the sink, then run `ctconfig apply` again."
    )
    assert f"Apply incomplete: 0 done, 0 failed, {DECLARED} not started." in applied.stderr
    assert "not started: demo/account_passcode/" not in applied.stderr  # said once, not 70 times
    assert live_names(ws) == [] and not any(r.get("tainted") for r in ws.state()["resources"].values())

    blocker.unlink()  # the sink is fixed: one apply converges
    assert "Apply complete: 70 created." in ws.ct("apply", "--auto-approve").stdout
    ws.ct("plan", "--detailed-exitcode")
    assert live_names(ws) == sorted(passcodes())
    ws.ct("verify")  # every declared passcode's secret is in the sink and authenticates


def test_a_sink_that_fails_mid_apply_stops_creating_and_never_overshoots(ws: Workspace) -> None:
    program = ws.root / "store-secret"
    program.write_text(STORE_SECRET)
    program.chmod(0o755)
    store = ws.root / "vault"
    store.mkdir()
    ws.env.update(STORE=str(store), ROOM=str(ROOM))
    ws.write_config(demo(passcodes()), secrets={"sink": "command", "command": [str(program)]})

    first = ws.ct("apply", "--auto-approve", expect=1)
    [line] = sink_lines(first.stderr)
    assert (
        line.startswith(f"Error: the secret sink failed: secret command {program} for CT_DEMO_P")
        and "exited with status 1: the secret store is over its quota. No create started after that" in line
    )
    tainted = [r for r in ws.state()["resources"].values() if r.get("tainted")]
    assert 1 <= len(tainted) <= PARALLELISM  # only what was in flight when the sink failed
    assert len(live_names(ws)) == ROOM + len(tainted)  # nothing started after that

    for _ in range(2):  # retries while the store is still full never push the account up
        plan = ws.ct("plan", expect=None).stdout
        for record in [r for r in ws.state()["resources"].values() if r.get("tainted")]:
            name = record["name"]
            assert (
                f"  -/+ demo/account_passcode/{name} will be replaced (delete first: nobody holds its secret)"
                in plan
            )
        ws.ct("apply", "--auto-approve", expect=1)
        assert len(live_names(ws)) <= DECLARED
        assert not [n for n in live_names(ws) if "~retiring-" in n]

    ws.env["ROOM"] = "1000"  # the store has room again: one apply converges
    last = ws.ct("apply", "--auto-approve")
    assert "Apply complete:" in last.stdout and "replaced (the old one deleted first)" in last.stdout
    ws.ct("plan", "--detailed-exitcode")
    assert live_names(ws) == sorted(passcodes())
    assert len(list(store.iterdir())) == DECLARED
