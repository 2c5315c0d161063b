"""The guided session in-process: an operator who reads ctconfig's steps and performs them in the
sandbox's dashboard, while every key goes over a real socket to `ctconfig sandbox serve`'s
credential check. (The pseudo-terminal test drives the same session through the real terminal.)"""

from __future__ import annotations

from typing import Any

import pytest

from ctconfig.applier import Status
from ctconfig.domain import Address
from ctconfig.errors import CtconfigError
from ctconfig.plan import PlanScope
from ctconfig.providers.dashboard import NO_TERMINAL, synthetic_id
from ctconfig.providers.operator import OperatorInterrupt
from ctconfig.sandbox.store import SandboxStore
from ctconfig.secrets import fingerprint
from ctconfig.service.planning import PlanRequest, make_plan
from tests.dashboard.support import DashboardWorkspace, Robot, ScriptedOperator, StoreHands

ALICE, BOB, CAROL, DAVE = "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"


def demo(
    dash: DashboardWorkspace, passcodes: dict[str, Any], users: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "demo": {
            "id": dash.account_id,
            "account_passcodes": passcodes,
            "user_passcodes": users or {},
            **extra,
        }
    }


def operator_for(dash: DashboardWorkspace, robot: Robot | None = None, **options: Any) -> ScriptedOperator:
    return ScriptedOperator(robot or Robot(StoreHands(dash.server.db)), **options)


def plan_actions(dash: DashboardWorkspace) -> list[str]:
    plan = make_plan(dash.workspace(), PlanRequest()).plan
    return [f"{a.kind.value} {a.address}" for a in plan.actions]


def test_every_kind_of_change_is_performed_step_by_step_and_checked(dash: DashboardWorkspace) -> None:
    users = {
        ALICE: {"validity": "30d"},
        BOB: {"validity": "infinite"},
        CAROL: {"validity": "30d"},
        DAVE: {"validity": "30d"},
    }
    passcodes = {
        n: {"expires_in": d} for n, d in [("a", "30d"), ("b", "forever"), ("c", "90d"), ("gone", "90d")]
    }
    dash.write_config(demo(dash, passcodes, users))
    operator = operator_for(dash)
    report, _ = dash.apply(operator)
    assert report.result is not None and report.result.ok, report.result
    headings = [s.splitlines()[1] for s in operator.shown if s.startswith("\nStep ")]
    assert [h.split(" - ")[0] for h in headings] == [f"Step {n} of 8" for n in range(1, 9)]
    keys = operator.robot.keys
    for name in passcodes:
        record = dash.state()["resources"][f"demo/account_passcode/{name}"]
        assert record["secret_fingerprint"] == fingerprint(keys[name]) and record["id"].startswith("dash-")
        assert (dash.secrets_dir / "demo" / name).read_text().strip() == keys[name]
    seen = dash.dashboard()
    assert {u.email for u in seen.users if u.grant} == {ALICE, BOB, CAROL, DAVE}
    carol_granted = seen.user(CAROL).grant.granted_at

    # Rename (previously), expiry edit, delete, rotation, revoke-and-grant, reset, revoke.
    passcodes = {
        "a2": {"expires_in": "30d", "previously": "a"},
        "b": {"expires_in": "60d"},
        "c": {"expires_in": "90d"},
    }
    dash.write_config(
        demo(
            dash,
            passcodes,
            {ALICE: {"validity": "60d"}, BOB: {"validity": "infinite"}, CAROL: {"validity": "30d"}},
        )
    )
    scope = PlanScope(replace=("demo/account_passcode/c", f"demo/user_passcode/{CAROL}"))
    old_c = keys["c"]
    report, _ = dash.apply(operator, scope=scope)
    assert report.result is not None and report.result.ok, report.result
    seen = dash.dashboard()
    names = sorted(p.name for p in seen.passcodes)
    assert names[:3] == ["a2", "b", "c"] and names[3].startswith("c~retiring-") and len(names) == 4
    assert seen.passcode_named("b").expires_in_days == 60
    ids = {
        k: r["id"] for k, r in dash.state()["resources"].items() if k.startswith("demo/account_passcode/c")
    }
    assert len(set(ids.values())) == 2  # the new c and the retiring one: one synthetic id each
    assert keys["c"] != old_c and dash.state()["resources"]["demo/account_passcode/c"][
        "secret_fingerprint"
    ] == fingerprint(keys["c"])
    assert seen.user(ALICE).grant.validity_days == 60 and seen.user(DAVE).grant is None
    assert seen.user(CAROL).grant.granted_at >= carol_granted
    assert "Deleted gone - Enter when done, s = skip, q = stop: " in operator.asked

    # The passcode mode, confirmed by an account passcode's key being refused afterwards.
    dash.write_config(
        demo(
            dash,
            passcodes,
            {ALICE: {"validity": "60d"}, BOB: {"validity": "infinite"}, CAROL: {"validity": "30d"}},
            passcode_mode="user",
        )
    )
    report, _ = dash.apply(operator)
    assert report.result is not None and report.result.ok
    assert dash.dashboard().passcode_mode == "user"
    assert plan_actions(dash) == []
    dash.assert_no_secret_leaked({*keys.values(), old_c})


def test_a_step_the_operator_did_not_do_is_not_confirmed(dash: DashboardWorkspace) -> None:
    dash.write_config(demo(dash, {"x": {"expires_in": "30d"}, "y": {"expires_in": "30d"}}))
    operator = operator_for(dash)
    dash.apply(operator)
    hands = StoreHands(dash.server.db)

    def delete_now() -> str:
        hands.delete(dash.account_id, "y")
        return ""

    dash.write_config(demo(dash, {"x": {"expires_in": "30d"}}))
    operator.robot.lazy.add("demo/account_passcode/y")
    operator.script.append(("Fix it in the dashboard", delete_now))
    report, _ = dash.apply(operator)
    assert report.result is not None and report.result.ok
    shown = "\n".join(operator.shown)
    assert "Not confirmed: the API Key of y still authenticates: it is not deleted yet." in shown
    assert [p.name for p in dash.dashboard().passcodes] == ["x"]


def test_a_key_that_is_not_this_passcodes_is_refused_and_asked_again(
    dash: DashboardWorkspace, account_ids: tuple[str, str]
) -> None:
    dash.write_config(demo(dash, {"a": {"expires_in": "30d"}, "b": {"expires_in": "30d"}}))
    stranger = account_ids[1]
    with SandboxStore(dash.server.db) as store:
        store.ensure_account(stranger, [])
        foreign = store.create_passcode(stranger, "theirs", 30, dashboard=True)[1]
    operator = operator_for(dash)
    mistyped: list[str] = []

    def one_letter_off() -> str:
        key = operator.robot.keys["a"]
        mistyped.append(key[:-1] + ("A" if key[-1] != "A" else "B"))
        return mistyped[0]

    operator.script += [
        ("Paste the API Key of a", "lower-case nonsense"),
        ("Paste the API Key of a again", "0123456789abcdef0123456789ABCDEF"),
        ("Paste the API Key of a again", one_letter_off),
        ("Paste the API Key of a again", foreign),
        ("Paste the API Key of b", "key:a"),
    ]
    report, _ = dash.apply(operator)
    assert report.result is not None and report.result.ok
    refusals = [line for line in operator.shown if line.startswith("Refused:")]
    assert refusals[0] == (
        "Refused: a CleverTap passcode is upper-case letter groups such as AMA-AUE-YWUL or 32 hex "
        "characters; got 19 characters including lower-case letters and spaces or line breaks."
    )
    credential = (
        f"Refused: CleverTap's credential check does not accept it for account {dash.account_id} "
        "(401: Invalid credentials or URL)"
    )
    assert [r.startswith(credential) for r in refusals[1:4]] == [True, True, True]
    assert refusals[4] == "Refused: that is the API Key of a, not of the new passcode."
    assert len(refusals) == 5
    assert dash.state()["resources"]["demo/account_passcode/b"]["secret_fingerprint"] == fingerprint(
        operator.robot.keys["b"]
    )
    dash.assert_no_secret_leaked({*operator.robot.keys.values(), foreign, *mistyped})


def test_skip_taint_and_stop_then_the_next_apply_settles_the_open_intent(dash: DashboardWorkspace) -> None:
    dash.write_config(
        demo(dash, {"a": {"expires_in": "30d"}, "b": {"expires_in": "30d"}, "c": {"expires_in": "30d"}})
    )
    operator = operator_for(dash)
    operator.robot.lazy.add("demo/account_passcode/a")  # skipped before doing anything
    operator.script += [
        ("Paste the API Key of a", "s"),
        ("Did you already create a", "n"),
        ("Paste the API Key of b", "s"),
        ("Did you already create b", "y"),  # made, key not pasted
        ("Paste the API Key of c", "q"),
        ("Did you already create c", "y"),  # stopped after making it
    ]
    report, _ = dash.apply(operator)
    result = report.result
    assert result is not None and result.interrupted
    outcomes = {o.address.name: (o.status, o.message) for o in result.outcomes}
    assert outcomes["a"] == (Status.NOT_STARTED, "skipped by the operator; left for the next plan")
    assert outcomes["b"][0] is Status.FAILED and result.tainted == [Address.account_passcode("demo", "b")]
    assert outcomes["c"] == (Status.NOT_STARTED, "the operator stopped the session; left for the next apply")
    resources = dash.state()["resources"]
    assert "demo/account_passcode/a" not in resources and "demo/account_passcode/c" not in resources
    assert resources["demo/account_passcode/b"]["tainted"]
    (open_intent,) = dash.workspace().journal().read().open_intents()
    assert open_intent.name == "c"

    # No one at a terminal: plan fails on the open intent (it settles none), apply refuses in one line.
    plan = make_plan(dash.workspace(), PlanRequest()).plan
    assert any("interrupted apply was creating (demo/account_passcode/c)" in w.message for w in plan.errors)
    with pytest.raises(CtconfigError, match="guided session at a terminal"):
        dash.apply(None)

    # At a terminal: c's key is asked first (settled), then a is made, b replaced (tainted: deleted first).
    report, _ = dash.apply(operator)
    assert report.result is not None and report.result.ok, report.result
    assert any(p.startswith("If you created c, paste its API Key") for p in operator.asked)
    assert sorted(p.name for p in dash.dashboard().passcodes) == ["a", "b", "c"]
    resources = dash.state()["resources"]
    for name in "abc":
        assert resources[f"demo/account_passcode/{name}"]["secret_fingerprint"] == fingerprint(
            operator.robot.keys[name]
        )
    assert resources["demo/account_passcode/c"]["id"] == synthetic_id(
        dash.account_id, "c", open_intent.idempotency_key
    )
    assert dash.workspace().journal().read().empty and plan_actions(dash) == []
    dash.assert_no_secret_leaked(set(operator.robot.keys.values()))


def test_stopping_before_making_it_closes_the_intent(dash: DashboardWorkspace) -> None:
    dash.write_config(demo(dash, {"a": {"expires_in": "30d"}}))
    operator = operator_for(dash)
    operator.robot.lazy.add("demo/account_passcode/a")
    operator.script += [("Paste the API Key of a", "q"), ("Did you already create a", "n")]
    report, _ = dash.apply(operator)
    assert report.result is not None and report.result.interrupted
    assert dash.workspace().journal().read().open_intents() == []
    assert plan_actions(dash) == ["create demo/account_passcode/a"]


def test_without_a_terminal_apply_refuses_before_touching_anything(dash: DashboardWorkspace) -> None:
    dash.write_config(demo(dash, {"a": {"expires_in": "30d"}}))
    with pytest.raises(CtconfigError) as refused:
        dash.apply(None)
    assert str(refused.value) == NO_TERMINAL and "\n" not in NO_TERMINAL
    assert not dash.state_path.exists() and not list(dash.root.glob("*.lock*"))
    report, _ = dash.apply(None, dry_run=True)  # a dry run changes no account: no one is needed
    assert report.kind.value == "dry run"
    report, _ = dash.apply(None, scope=PlanScope(refresh_only=True))  # nor does --refresh-only
    assert report.kind.value == "state refreshed" and dash.state_path.exists()


def test_with_user_passcodes_enforced_a_key_is_asked_twice(dash: DashboardWorkspace) -> None:
    dash.write_config(demo(dash, {"a": {"expires_in": "30d"}}, passcode_mode="user"))
    operator = operator_for(dash)
    dash.apply(operator)
    assert dash.dashboard().passcode_mode == "user"
    dash.write_config(
        demo(dash, {"a": {"expires_in": "30d"}, "b": {"expires_in": "30d"}}, passcode_mode="user")
    )
    operator.script += [("Paste it once more", "key:a")]  # the second paste differs: refused
    report, _ = dash.apply(operator)
    assert report.result is not None and report.result.ok
    assert "Refused: the two pastes differ." in operator.shown
    assert dash.state()["resources"]["demo/account_passcode/b"]["secret_fingerprint"] == fingerprint(
        operator.robot.keys["b"]
    )
    plan = make_plan(dash.workspace(), PlanRequest()).plan
    assert {
        w.subject for w in plan.warnings if w.message.startswith("unchecked: user passcodes are enforced")
    } == {"demo/account_passcode/a", "demo/account_passcode/b"}


def test_ctrl_c_at_a_key_prompt_stops_and_leaves_the_create_open(dash: DashboardWorkspace) -> None:
    dash.write_config(demo(dash, {"a": {"expires_in": "30d"}, "b": {"expires_in": "30d"}}))
    operator = operator_for(dash)

    def ctrl_c() -> str:
        raise OperatorInterrupt("Ctrl-C")

    operator.script.append(("Paste the API Key of a", ctrl_c))
    report, _ = dash.apply(operator)
    assert report.result is not None and report.result.interrupted
    assert [o.status for o in report.result.outcomes] == [Status.NOT_STARTED, Status.NOT_STARTED]
    assert [i.name for i in dash.workspace().journal().read().open_intents()] == ["a"]  # maybe made
