"""Convergence: whatever the account held before, one apply makes plan report no changes
and a second apply calls no mutating operation."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RunCtconfig
from tests.e2e.workspace import ACCOUNT_ID, Workspace

NAMES = ["alpha", "beta", "gamma", "delta", "epsilon"]
EMAILS = ["ann@example.com", "ben@example.com", "cat@example.com", "dan@example.com"]
expiry = st.one_of(st.integers(1, 400), st.just("forever"))
validity = st.one_of(st.integers(1, 365), st.just("infinite"))

existing = st.fixed_dictionaries(
    {
        "passcodes": st.dictionaries(
            st.sampled_from(NAMES), st.one_of(st.integers(1, 400), st.none()), max_size=4
        ),
        "grants": st.dictionaries(
            st.sampled_from(EMAILS), st.one_of(st.integers(1, 365), st.none()), max_size=3
        ),
        "mode": st.sampled_from(["account", "user"]),
    }
)
desired = st.fixed_dictionaries(
    {
        "account_passcodes": st.dictionaries(
            st.sampled_from(NAMES), st.fixed_dictionaries({"expires_in": expiry}), max_size=4
        ),
        "user_passcodes": st.dictionaries(
            st.sampled_from(EMAILS), st.fixed_dictionaries({"validity": validity}), max_size=3
        ),
        "passcode_mode": st.sampled_from(["account", "user", None]),
        "unmanaged": st.sampled_from(["ignore", "warn", "delete"]),
    }
)


def seed(ws: Workspace, before: dict[str, Any]) -> None:
    store = ws.store()
    try:
        store.ensure_account(ACCOUNT_ID, EMAILS)
        for name, days in before["passcodes"].items():
            store.create_passcode(ACCOUNT_ID, name, days, dashboard=True)
        for email, days in before["grants"].items():
            store.grant_user_passcode(ACCOUNT_ID, email, days, dashboard=True)
        store.set_passcode_mode(ACCOUNT_ID, before["mode"], dashboard=True)
    finally:
        store.close()


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=existing, after=desired)
def test_one_apply_converges_from_any_account(
    run_ctconfig: RunCtconfig, before: dict[str, Any], after: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp), run_ctconfig)
        seed(ws, before)
        account = {"id": ACCOUNT_ID, **{k: v for k, v in after.items() if v is not None}}
        ws.write_config({"demo": account})
        ws.ct("apply", "--auto-approve", "--allow-mass-delete")
        ws.ct("plan", "--detailed-exitcode")
        mutations = ws.mutations()
        ws.ct("apply", "--auto-approve")
        assert ws.mutations() == mutations
        observed = ws.store().read(ACCOUNT_ID)
        names = {p.name for p in observed.passcodes}
        assert set(after["account_passcodes"]) <= names
        if after["unmanaged"] == "delete":
            assert names == set(after["account_passcodes"])
        granted = {u.email for u in observed.users if u.grant}
        assert set(after["user_passcodes"]) <= granted
        if after["passcode_mode"]:
            assert observed.passcode_mode == after["passcode_mode"]
