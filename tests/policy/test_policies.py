"""The example Rego policies, run through regopy on real ctconfig plans and on a Terraform 1.11 plan.

Each policy is written the usual way for `terraform show -json` (mode,
name, change.actions, action_reason, resource_drift, format_version), so the
same files judge both; each has an allow and a deny case here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from ctconfig.config.spec import Config
from ctconfig.domain import AccountSnapshot, Address
from ctconfig.plan import PlanScope
from ctconfig.planfile import dumps_plan
from ctconfig.planner import PlanOptions, make_plan
from ctconfig.state.document import AccountPasscodeRecord, State
from tests.planner.helpers import NOW, account, config, grant, passcode, snapshot, state_of
from tests.policy.rego import denials, evaluate

TERRAFORM_PLAN = json.loads((Path(__file__).parent / "terraform-1.11-plan.json").read_text())


def plan_json(cfg: Config, state: State, snap: AccountSnapshot, scope: PlanScope | None = None) -> Any:
    """A real plan, as `ctconfig plan --format json` prints it."""
    options = PlanOptions(now=NOW, scope=scope or PlanScope())
    return json.loads(dumps_plan(make_plan(cfg, state, {"prod": snap}, options).plan))


def existing(*names: str, days: int | None = 90, age_days: int = 0) -> AccountSnapshot:
    return snapshot([passcode(f"id-{n}", n, days, age_days=age_days) for n in names])


# ---- protected_deletes -----------------------------------------------------------------------------


def test_deleting_a_protected_name_is_denied_and_keeping_it_is_not() -> None:
    snap = existing("segment-export", "braze-sync")
    keep = plan_json(
        config({"prod": account({"segment-export": {"expires_in": "90d"}})}), state_of(snap), snap
    )
    assert keep["summary"]["delete"] == 1  # braze-sync goes, and it is not protected
    assert denials(evaluate(keep)) == {}
    drop = plan_json(config({"prod": account({"braze-sync": {"expires_in": "90d"}})}), state_of(snap), snap)
    assert denials(evaluate(drop)) == {
        "protected_deletes": [
            "prod/account_passcode/segment-export: [\"delete\"] would delete 'segment-export', "
            "a protected name (segment-export)"
        ]
    }


def test_an_unmanaged_delete_of_a_protected_name_is_denied() -> None:
    snap = existing("payments-prod")
    cfg = config({"prod": account({}, unmanaged="delete")})
    document = plan_json(cfg, State(lineage="11111111-1111-1111-1111-111111111111"), snap)
    assert document["resource_changes"][0]["action_reason"] == "delete_because_unmanaged"
    assert list(denials(evaluate(document))) == ["protected_deletes"]


def test_a_rotation_keeps_the_name_alive_and_a_rotated_out_passcode_may_go() -> None:
    snap = existing("segment-export", days=90, age_days=80)
    cfg = config({"prod": account({"segment-export": {"expires_in": "90d", "rotate_before": "14d"}})})
    rotation = plan_json(cfg, state_of(snap), snap)
    assert rotation["resource_changes"][0]["change"]["actions"] == ["create", "delete"]
    assert denials(evaluate(rotation, {"protected_names": ["segment-*"]})) == {}
    aside = "segment-export~retiring-20261101"
    snap = existing("segment-export", aside, "segment-old")
    state = state_of(snap)
    record = state.resources[Address.account_passcode("prod", aside)]
    assert isinstance(record, AccountPasscodeRecord)
    retired = replace(record, retire_after=NOW - timedelta(days=1))
    state = state.with_resources({**state.resources, Address.account_passcode("prod", aside): retired})
    cleanup = plan_json(config({"prod": account({"segment-export": {"expires_in": "90d"}})}), state, snap)
    reasons = {rc["name"]: rc.get("action_reason") for rc in cleanup["resource_changes"]}
    assert reasons[aside] == "delete_because_rotated_out"
    assert denials(evaluate(cleanup, {"protected_names": ["segment-*"]})) == {
        "protected_deletes": [
            "prod/account_passcode/segment-old: [\"delete\"] would delete 'segment-old', "
            "a protected name (segment-*)"
        ]
    }


def test_revoking_and_granting_a_protected_user_passcode_again_is_denied() -> None:
    snap = snapshot(users={"ops@example.com": grant("ops@example.com", 30)})
    cfg = config({"prod": account(users={"ops@example.com": {"validity": "60d"}})})
    document = plan_json(cfg, state_of(snap), snap)
    assert document["resource_changes"][0]["change"]["actions"] == ["delete", "create"]
    assert denials(evaluate(document, {"protected_names": ["*@example.com"]})) == {
        "protected_deletes": [
            'prod/user_passcode/ops@example.com: ["delete", "create"] would delete \'ops@example.com\', '
            "a protected name (*@example.com)"
        ]
    }
    assert denials(evaluate(document, {"protected_names": ["*@other.example"]})) == {}


# ---- require_expiry --------------------------------------------------------------------------------


def test_a_passcode_that_never_expires_is_denied_when_created_not_when_left_alone() -> None:
    snap = existing("legacy", days=None)
    cfg = config(
        {
            "prod": account(
                {
                    "legacy": {"expires_in": "forever"},
                    "new": {"expires_in": "forever"},
                    "ok": {"expires_in": 90},
                }
            )
        }
    )
    document = plan_json(cfg, state_of(snap), snap)
    legacy = next(rc for rc in document["resource_changes"] if rc["name"] == "legacy")
    assert legacy["change"]["actions"] == ["no-op"] and legacy["change"]["after"]["expires_in"] == "forever"
    assert denials(evaluate(document)) == {
        "require_expiry": ["prod/account_passcode/new: account passcodes must expire (expires_in is forever)"]
    }


def test_an_expiry_longer_than_allowed_is_denied_on_update_and_on_grant() -> None:
    snap = snapshot([passcode("p1", "long", 90)], {"amy@example.com": None, "bob@example.com": None})
    cfg = config(
        {
            "prod": account(
                {"long": {"expires_in": "400d"}},
                {"amy@example.com": {"validity": "infinite"}, "bob@example.com": {"validity": "30d"}},
            )
        }
    )
    document = plan_json(cfg, state_of(snap), snap)
    assert denials(evaluate(document)) == {
        "require_expiry": [
            "prod/account_passcode/long: expires_in is 400 days; at most 365 are allowed",
            "prod/user_passcode/amy@example.com: user passcodes must have a finite validity (it is infinite)",
        ]
    }
    strict = evaluate(document, {"max_expiry_days": 7})["require_expiry"]["deny"]
    assert "prod/user_passcode/bob@example.com: validity is 30 days; at most 7 are allowed" in strict


# ---- cap_creates -----------------------------------------------------------------------------------


def test_too_many_creates_in_one_plan_are_denied() -> None:
    snap = snapshot(users={"amy@example.com": None})
    ten = {f"p{i:02d}": {"expires_in": "30d"} for i in range(9)}
    grant_amy = {"amy@example.com": {"validity": "30d"}}
    at_cap = plan_json(config({"prod": account(ten, grant_amy)}), state_of(snap), snap)
    assert at_cap["summary"]["create"] + at_cap["summary"]["grant"] == 10
    assert denials(evaluate(at_cap)) == {}
    eleven = {**ten, "p99": {"expires_in": "30d"}}
    over = plan_json(config({"prod": account(eleven, grant_amy)}), state_of(snap), snap)
    [message] = denials(evaluate(over))["cap_creates"]
    assert message.startswith("the plan creates 11 resources; at most 10 may be created in one change")
    assert denials(evaluate(at_cap, {"max_creates": 9})).keys() == {"cap_creates"}


def test_rotations_are_not_counted_as_creates() -> None:
    snap = existing("a", "b", "c", days=90, age_days=80)
    cfg = config({"prod": account({n: {"expires_in": "90d", "rotate_before": "14d"} for n in "abc"})})
    document = plan_json(cfg, state_of(snap), snap)
    assert document["summary"]["replace"] == 3
    assert denials(evaluate(document, {"max_creates": 0})) == {}


# ---- drift and plan_format -------------------------------------------------------------------------


def test_drift_is_seen_by_a_policy_reading_resource_drift() -> None:
    before = existing("x", "y")
    after = snapshot([passcode("id-y", "y", 30)])
    cfg = config({"prod": account({"x": {"expires_in": "90d"}, "y": {"expires_in": "90d"}})})
    verdicts = evaluate(plan_json(cfg, state_of(before), after))
    assert verdicts["drift"]["warn"] == [
        'prod/account_passcode/x: changed outside the tool (["delete"]); the plan restores the config',
        'prod/account_passcode/y: changed outside the tool (["update"]); the plan restores the config',
    ]
    assert evaluate(plan_json(cfg, state_of(before), before))["drift"]["warn"] == []


def test_the_format_check_accepts_ctconfig_plans_and_refuses_a_numeric_version() -> None:
    snap = existing("x")
    document = plan_json(config({"prod": account({"x": {"expires_in": "90d"}})}), state_of(snap), snap)
    assert denials(evaluate(document)) == {}
    old = {**document, "format_version": 1}  # what ctconfig 0.1 wrote
    assert list(denials(evaluate(old))) == ["plan_format"]


# ---- the same policies on Terraform's own plan -----------------------------------------------------


def test_the_policies_judge_a_terraform_plan_the_same_way() -> None:
    assert denials(evaluate(TERRAFORM_PLAN)) == {}
    params = {"protected_names": ["gone", "keep", "replace", "tainted", "change"], "max_creates": 1}
    verdicts = denials(evaluate(TERRAFORM_PLAN, params))
    assert verdicts["protected_deletes"] == [
        "terraform_data.gone: [\"delete\"] would delete 'gone', a protected name (gone)",
        'terraform_data.replace: ["delete", "create"] would delete \'replace\', a protected name (replace)',
        'terraform_data.tainted: ["delete", "create"] would delete \'tainted\', a protected name (tainted)',
    ]
    assert verdicts["cap_creates"] == [
        "the plan creates 2 resources; at most 1 may be created in one change: "
        '["terraform_data.new1", "terraform_data.new2"]'
    ]
    assert set(verdicts) == {"protected_deletes", "cap_creates"}
