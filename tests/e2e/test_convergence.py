"""Convergence: whatever the account held before, one apply makes plan report no changes
and a second apply calls no mutating operation."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.workspace import Workspace

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


def seed(ws: Workspace, account_id: str, before: dict[str, Any]) -> None:
    """The account as someone left it by hand, before ctconfig arrives."""
    store = ws.store()
    try:
        store.ensure_account(account_id, EMAILS)
        for name, days in before["passcodes"].items():
            store.create_passcode(account_id, name, days, dashboard=True)
        for email, days in before["grants"].items():
            store.grant_user_passcode(account_id, email, days, dashboard=True)
        store.set_passcode_mode(account_id, before["mode"], dashboard=True)
    finally:
        store.close()


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=existing, after=desired)
def test_one_apply_converges_from_any_account(
    ws: Workspace, before: dict[str, Any], after: dict[str, Any]
) -> None:
    # Each example gets its own account and state in the shared workspace (and server).
    n = next(EXAMPLES)
    account_id, alias, state = f"W{n:02d}-486-4W5Z", f"a{n}", f"state-{n}.json"
    seed(ws, account_id, before)
    account = {"id": account_id, **{k: v for k, v in after.items() if v is not None}}
    ws.write_config({alias: account}, state={"backend": "local", "path": state})
    ws.ct("apply", "--auto-approve", "--allow-mass-delete")
    ws.ct("plan", "--detailed-exitcode")
    mutations = ws.mutations(account_id)
    ws.ct("apply", "--auto-approve")
    assert ws.mutations(account_id) == mutations
    observed = ws.store().read(account_id)
    names = {p.name for p in observed.passcodes}
    assert set(after["account_passcodes"]) <= names
    if after["unmanaged"] == "delete":
        assert names == set(after["account_passcodes"])
    granted = {u.email for u in observed.users if u.grant}
    assert set(after["user_passcodes"]) <= granted
    if after["passcode_mode"]:
        assert observed.passcode_mode == after["passcode_mode"]


EXAMPLES = itertools.count(1)
