"""Issue 22: `--target` reads only the accounts it can touch (40 accounts were all read for one)."""

from __future__ import annotations

import pytest

from tests.e2e.workspace import Workspace


@pytest.mark.parametrize("provider_kind", ["clevertap"], indirect=True)
def test_a_targeted_plan_reads_only_the_targeted_accounts(ws: Workspace) -> None:
    accounts = {
        f"team_{n:02d}": {"id": f"TEST-R78-ZZK-95{n}Z", "account_passcodes": {"export": {"expires_in": 30}}}
        for n in range(3)
    }
    ws.write_config(accounts)
    ws.ct("apply", "--auto-approve")
    ws.env["CT_TEAM_01_PASSCODE"] = "WRONG-KEY"  # reading team_01 now fails: a plan of team_00 must not
    planned = ws.ct("plan", "--target", "team_00", "--detailed-exitcode")
    assert "Refreshing 1 account(s)..." in planned.stderr
    assert ws.ct("plan", "--target", "team_0[02]/*", expect=0).stderr.count("Refreshing 2 account(s)...") == 1
    everything = ws.ct("plan", expect=1)
    assert "team_01" in everything.stderr
