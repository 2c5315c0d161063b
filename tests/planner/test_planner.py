"""The planner is pure: every scenario here is data in, Plan out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ctconfig.actions import ActionKind, GrantAction, PasscodeAction
from ctconfig.domain import Address
from ctconfig.plan import PlanScope
from ctconfig.planfile import dumps_plan, terraform_actions
from ctconfig.planner import PlanOptions, make_plan
from ctconfig.state.document import AccountPasscodeRecord, Origin, State
from tests.planner.helpers import NOW, account, config, grant, passcode, snapshot, state_of

OPTIONS = PlanOptions(now=NOW)
EMPTY = State(lineage="11111111-1111-1111-1111-111111111111")


def kinds(plan: object) -> list[tuple[str, str]]:
    return [(str(a.address), a.kind.value) for a in plan.actions]  # type: ignore[attr-defined]


def test_empty_account_gets_creates_grants_then_mode_in_safe_order() -> None:
    cfg = config(
        {
            "prod": account(
                {"b": {"expires_in": "90d"}, "a": {"expires_in": "forever"}},
                {"alice@example.com": {"validity": "30d"}},
                passcode_mode="user",
            )
        }
    )
    snap = snapshot(users={"alice@example.com": None})
    plan = make_plan(cfg, EMPTY, {"prod": snap}, OPTIONS).plan
    assert kinds(plan) == [
        ("prod/account_passcode/a", "create"),
        ("prod/account_passcode/b", "create"),
        ("prod/user_passcode/alice@example.com", "grant"),
        ("prod/settings", "configure"),
    ]
    assert plan.summary_line() == (
        "Plan: 2 to create, 0 to update, 0 to delete, 1 to grant, 0 to reset, 0 to revoke, 1 to configure."
    )
    assert any("these will stop working" in w.message for w in plan.warnings)


def test_same_inputs_give_a_byte_identical_plan() -> None:
    cfg = config({"prod": account({"x": {"expires_in": 10}}, {"bob@example.com": {"validity": "infinite"}})})
    snap = snapshot([passcode("p1", "old", 30)], {"bob@example.com": None})
    first = dumps_plan(make_plan(cfg, state_of(snap), {"prod": snap}, OPTIONS).plan)
    second = dumps_plan(make_plan(cfg, state_of(snap), {"prod": snap}, OPTIONS).plan)
    assert first == second


def test_matching_state_plans_no_changes() -> None:
    snap = snapshot([passcode("p1", "x", 90)], {"bob@example.com": grant("bob@example.com", 30)})
    cfg = config({"prod": account({"x": {"expires_in": "90d"}}, {"bob@example.com": {"validity": "30d"}})})
    plan = make_plan(cfg, state_of(snap), {"prod": snap}, OPTIONS).plan
    assert plan.actions == ()
    assert plan.summary_line() == "No changes."


def test_drift_is_reported_and_the_plan_restores_the_config() -> None:
    before = snapshot(
        [passcode("p1", "x", 90), passcode("p2", "y", 90)], {"bob@example.com": grant("bob@example.com")}
    )
    state = state_of(before)
    after = snapshot([passcode("p2", "renamed", 90)], {"bob@example.com": None}, mode="account")
    cfg = config(
        {
            "prod": account(
                {"x": {"expires_in": "90d"}, "y": {"expires_in": "90d"}},
                {"bob@example.com": {"validity": "30d"}},
            )
        }
    )
    plan = make_plan(cfg, state, {"prod": after}, OPTIONS).plan
    messages = {str(n.address): n.message for n in plan.drift}
    assert messages["prod/account_passcode/x"] == "deleted outside ctconfig"
    assert "renamed outside ctconfig: 'y' -> 'renamed'" in messages["prod/account_passcode/y"]
    assert messages["prod/user_passcode/bob@example.com"] == "revoked outside ctconfig"
    assert kinds(plan) == [
        ("prod/account_passcode/y", "update"),
        ("prod/account_passcode/x", "create"),
        ("prod/user_passcode/bob@example.com", "grant"),
    ]


def test_rotate_before_triggers_rotation_with_the_reason_in_words() -> None:
    snap = snapshot([passcode("p1", "seg", 90, age_days=78)])
    cfg = config({"prod": account({"seg": {"expires_in": "90d", "rotate_before": "14d"}})})
    plan = make_plan(cfg, state_of(snap), {"prod": snap}, OPTIONS).plan
    (action,) = plan.actions
    assert isinstance(action, PasscodeAction) and action.kind is ActionKind.REPLACE
    assert action.reason == "expires in 12 days; rotate_before is 14d"
    assert action.rotation is not None
    assert action.rotation.aside_name == "seg~retiring-20261127"
    assert action.rotation.retire_after == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_retiring_passcode_is_deleted_only_after_the_overlap() -> None:
    snap = snapshot([passcode("p1", "seg", 90), passcode("p0", "seg~retiring-20261120", 90, age_days=80)])
    state = state_of(snap)
    retiring = Address.account_passcode("prod", "seg~retiring-20261120")
    cfg = config({"prod": account({"seg": {"expires_in": "90d"}})})
    for retire_after, expected in (
        (datetime(2026, 11, 30, tzinfo=UTC), []),
        (datetime(2026, 11, 26, tzinfo=UTC), [(str(retiring), "delete")]),
    ):
        resources = dict(state.resources)
        record = resources[retiring]
        assert isinstance(record, AccountPasscodeRecord)
        resources[retiring] = replace(record, retire_after=retire_after)
        plan = make_plan(cfg, state.with_resources(resources), {"prod": snap}, OPTIONS).plan
        assert kinds(plan) == expected


def test_prevent_destroy_makes_a_delete_an_error() -> None:
    snap = snapshot([passcode("p1", "keep", 90)])
    protected = config({"prod": account({"keep": {"expires_in": "90d", "prevent_destroy": True}})})
    state = make_plan(protected, state_of(snap), {"prod": snap}, OPTIONS).refreshed
    plan = make_plan(config({"prod": account()}), state, {"prod": snap}, OPTIONS).plan
    assert plan.actions == ()
    assert "prevent_destroy" in plan.errors[0].message


def test_user_validity_change_is_revoke_then_grant() -> None:
    snap = snapshot(users={"bob@example.com": grant("bob@example.com", 30)})
    cfg = config({"prod": account(users={"bob@example.com": {"validity": "60d"}})})
    (action,) = make_plan(cfg, state_of(snap), {"prod": snap}, OPTIONS).plan.actions
    assert isinstance(action, GrantAction) and action.kind is ActionKind.REPLACE
    assert terraform_actions(action) == ["delete", "create"]


def test_reset_before_resets_the_user_passcode() -> None:
    snap = snapshot(users={"bob@example.com": grant("bob@example.com", 30, age_days=25)})
    cfg = config({"prod": account(users={"bob@example.com": {"validity": "30d", "reset_before": "7d"}})})
    (action,) = make_plan(cfg, state_of(snap), {"prod": snap}, OPTIONS).plan.actions
    assert action.kind is ActionKind.RESET
    assert action.reason == "expires in 5 days; reset_before is 7d"


def test_grant_to_a_stranger_is_a_plan_error() -> None:
    cfg = config({"prod": account(users={"eve@example.com": {"validity": "30d"}})})
    plan = make_plan(cfg, EMPTY, {"prod": snapshot()}, OPTIONS).plan
    assert "not a dashboard user" in plan.errors[0].message


def test_existing_passcode_is_adopted_not_duplicated() -> None:
    snap = snapshot([passcode("p1", "x", 90)])
    cfg = config({"prod": account({"x": {"expires_in": "90d"}})})
    result = make_plan(cfg, EMPTY, {"prod": snap}, OPTIONS)
    assert result.plan.actions == ()
    adopted = result.refreshed.resources[Address.account_passcode("prod", "x")]
    assert isinstance(adopted, AccountPasscodeRecord)
    assert adopted.id == "p1" and adopted.secret_fingerprint is None and adopted.origin is Origin.ADOPTED
    assert result.plan.unknown_secrets == (Address.account_passcode("prod", "x"),)


def test_previously_renames_in_place() -> None:
    snap = snapshot([passcode("p1", "old", 90)])
    cfg = config({"prod": account({"new": {"expires_in": "90d", "previously": "old"}})})
    (action,) = make_plan(cfg, state_of(snap), {"prod": snap}, OPTIONS).plan.actions
    assert isinstance(action, PasscodeAction)
    assert (action.kind, action.moved_from, action.remote_id) == (
        ActionKind.UPDATE,
        Address.account_passcode("prod", "old"),
        "p1",
    )


def test_unmanaged_policies() -> None:
    snap = snapshot([passcode("p9", "hand-made", 90)], {"eve@example.com": grant("eve@example.com")})
    warn = make_plan(config({"prod": account(unmanaged="warn")}), EMPTY, {"prod": snap}, OPTIONS).plan
    assert warn.actions == () and len(warn.warnings) == 2
    delete = make_plan(config({"prod": account(unmanaged="delete")}), EMPTY, {"prod": snap}, OPTIONS).plan
    assert kinds(delete) == [
        ("prod/account_passcode/hand-made", "delete"),
        ("prod/user_passcode/eve@example.com", "revoke"),
    ]
    ignore = make_plan(config({"prod": account()}), EMPTY, {"prod": snap}, OPTIONS).plan
    assert ignore.actions == () and ignore.warnings == ()


def test_mass_delete_threshold_counts_the_share() -> None:
    snap = snapshot([passcode(f"p{i}", f"n{i}", 90) for i in range(12)])
    keep = {f"n{i}": {"expires_in": "90d"} for i in range(5)}
    plan = make_plan(config({"prod": account(keep)}), state_of(snap), {"prod": snap}, OPTIONS).plan
    (mass,) = plan.mass_deletes
    assert mass.message() == "prod: 7 of 12 managed resources would be deleted or revoked (58% > 30%)"


def test_targets_and_excludes_make_a_partial_plan() -> None:
    cfg = config({"prod": account({"a": {"expires_in": 1}, "b": {"expires_in": 1}})})
    targeted = make_plan(
        cfg,
        EMPTY,
        {"prod": snapshot()},
        replace(OPTIONS, scope=PlanScope(targets=("prod/account_passcode/a",))),
    ).plan
    assert kinds(targeted) == [("prod/account_passcode/a", "create")] and targeted.scope.partial
    excluded = make_plan(
        cfg, EMPTY, {"prod": snapshot()}, replace(OPTIONS, scope=PlanScope(excludes=("prod/*/a",)))
    ).plan
    assert kinds(excluded) == [("prod/account_passcode/b", "create")]


def test_digest_ignores_wording_and_time() -> None:
    snap = snapshot([passcode("p1", "seg", 90, age_days=78)])
    cfg = config({"prod": account({"seg": {"expires_in": "90d", "rotate_before": "14d"}})})
    today = make_plan(cfg, state_of(snap), {"prod": snap}, OPTIONS).plan
    later = replace(snap, observed_at=snap.observed_at.replace(hour=20))
    tonight = make_plan(cfg, state_of(snap), {"prod": later}, OPTIONS).plan
    assert today.digest == tonight.digest


def test_a_taken_retiring_name_gets_a_counter() -> None:
    snap = snapshot([passcode("p1", "seg", 90, age_days=80), passcode("p0", "seg~retiring-20261127", 90)])
    cfg = config({"prod": account({"seg": {"expires_in": "90d", "rotate_before": "14d"}})})
    state = state_of(snapshot([passcode("p1", "seg", 90, age_days=80)]))
    (action,) = make_plan(cfg, state, {"prod": snap}, OPTIONS).plan.actions
    assert isinstance(action, PasscodeAction) and action.rotation is not None
    assert action.rotation.aside_name == "seg~retiring-20261127-2"


@pytest.mark.parametrize("policy", ["delete", "warn"])
def test_an_admins_own_user_passcode_is_never_revoked_nor_warned_about(policy: str) -> None:
    """It is the credential ctconfig runs with: a warning about it in every plan is noise."""
    snap = snapshot(users={"eve@example.com": grant("eve@example.com")})
    snap = replace(snap, users=tuple(replace(u, role="admin") for u in snap.users))
    plan = make_plan(config({"prod": account(unmanaged=policy)}), EMPTY, {"prod": snap}, OPTIONS).plan
    assert (plan.actions, plan.warnings, plan.unmanaged) == ((), (), ())
    member = snapshot(users={"bob@example.com": grant("bob@example.com")})
    plan = make_plan(config({"prod": account(unmanaged=policy)}), EMPTY, {"prod": member}, OPTIONS).plan
    assert [str(a) for a in plan.unmanaged] == ["prod/user_passcode/bob@example.com"]


def test_a_change_made_in_the_account_is_restored_and_says_so() -> None:
    """Renamed and edited in the dashboard: the update restores the config, and the reason says where the
    change was made (not "name changed in config": the config did not change)."""
    state = state_of(snapshot([passcode("p1", "seg", 90)]))
    edited = snapshot([passcode("p1", "seg-by-hand", 30)])
    cfg = config({"prod": account({"seg": {"expires_in": "90d"}})})
    (action,) = make_plan(cfg, state, {"prod": edited}, OPTIONS).plan.actions
    assert action.reason == "name and expires_in changed in the account; restoring the config"
    edited_config = config({"prod": account({"seg": {"expires_in": "45d"}})})
    renamed = {"prod": snapshot([passcode("p1", "seg-by-hand", 90)])}
    (action,) = make_plan(edited_config, state, renamed, OPTIONS).plan.actions
    assert action.reason == "expires_in changed in config, name changed in the account; restoring the config"


def test_adoptions_count_in_the_plan_line_and_the_digest() -> None:
    cfg = config({"prod": account({"seg": {"expires_in": "90d"}})})
    found = snapshot([passcode("p1", "seg", 90)])
    plan = make_plan(cfg, EMPTY, {"prod": found}, OPTIONS).plan
    assert plan.actions == () and [str(a) for a in plan.adoptions] == ["prod/account_passcode/seg"]
    assert plan.summary_line().endswith(", 0 to revoke, 1 to adopt.")
    assert plan.digest != make_plan(cfg, state_of(found), {"prod": found}, OPTIONS).plan.digest


def test_a_targeted_plan_warns_only_about_what_it_targets() -> None:
    old = snapshot([passcode("p1", "seg", 90, age_days=85), passcode("p2", "braze", 90, age_days=85)])
    cfg = config({"prod": account({"seg": {"expires_in": "90d"}, "braze": {"expires_in": "90d"}})})
    whole = make_plan(cfg, state_of(old), {"prod": old}, OPTIONS).plan
    assert sorted(n.subject for n in whole.warnings) == [
        "prod/account_passcode/braze",
        "prod/account_passcode/seg",
    ]
    scope = PlanScope(targets=("prod/account_passcode/seg",))
    targeted = make_plan(cfg, state_of(old), {"prod": old}, PlanOptions(NOW, scope)).plan
    assert [n.subject for n in targeted.warnings] == ["prod/account_passcode/seg"]
    other = PlanScope(targets=("staging",))
    assert PlanScope(excludes=("prod",)).selects_subject("prod/*") is False
    assert other.selects_subject("prod/*") is False and other.selects_subject("staging/*") is True
