"""Routine operations as reviewed config (issue 22): `removed:`, an account alias renamed with
`previously:`, a passcode rename's secret slot, `rotate:`/`reset:` tokens, mass-delete approvals."""

from __future__ import annotations

from dataclasses import replace

from ctconfig.actions import ActionKind, GrantAction, PasscodeAction, StateAction
from ctconfig.domain import Address
from ctconfig.plan import PlanScope
from ctconfig.planfile import dumps_plan, terraform_view
from ctconfig.planner import PlanOptions, make_plan
from ctconfig.state.document import AccountPasscodeRecord, State, UserPasscodeRecord
from tests.planner.helpers import ACCOUNT_ID, NOW, account, config, grant, passcode, snapshot, state_of

OPTIONS = PlanOptions(now=NOW)
SEG = Address.account_passcode("prod", "seg")


def kinds(plan: object) -> list[tuple[str, str]]:
    return [(str(a.address), a.kind.value) for a in plan.actions]  # type: ignore[attr-defined]


def with_records(state: State, **changes: object) -> State:
    """`state` with every record changed as given (fields absent from a record are skipped)."""
    resources = {}
    for address, record in state.resources.items():
        fields = {k: v for k, v in changes.items() if hasattr(record, k)}
        resources[address] = replace(record, **fields)  # type: ignore[arg-type]
    return state.with_resources(resources)


# ---- removed: ---------------------------------------------------------------------------------


def test_removed_forgets_without_deleting_and_counts_in_the_plan_line_and_digest() -> None:
    snap = snapshot([passcode("p1", "seg", 90), passcode("p2", "keep", 90)])
    state = state_of(snap)
    dropped = config({"prod": account({"keep": {"expires_in": "90d"}})})
    deleting = make_plan(dropped, state, {"prod": snap}, OPTIONS).plan
    assert kinds(deleting) == [("prod/account_passcode/seg", "delete")]
    forgetting = make_plan(
        config({"prod": account({"keep": {"expires_in": "90d"}})}, removed=[str(SEG)]),
        state,
        {"prod": snap},
        OPTIONS,
    ).plan
    (action,) = forgetting.actions
    assert isinstance(action, StateAction) and (action.address, action.kind) == (SEG, ActionKind.FORGET)
    assert action.before is not None and action.after is None
    assert forgetting.summary_line() == (
        "Plan: 0 to create, 0 to update, 0 to delete, 0 to grant, 0 to reset, 0 to revoke, 1 to forget."
    )
    assert forgetting.digest != deleting.digest and forgetting.mass_deletes == ()
    changes = {c["address"]: c["change"] for c in terraform_view(forgetting)["resource_changes"]}
    assert changes[str(SEG)]["actions"] == ["forget"] and changes[str(SEG)]["after"] is None


def test_removed_but_not_in_state_is_a_warning_and_unmanaged_delete_leaves_it_alone() -> None:
    snap = snapshot([passcode("p1", "seg", 90)])
    cfg = config(
        {"prod": account(unmanaged="delete")}, removed=[str(SEG), "prod/user_passcode/X@example.com"]
    )
    plan = make_plan(cfg, State.new(), {"prod": snap}, OPTIONS).plan
    assert plan.actions == ()  # seg is in the account, unmanaged, but removed: keeps it from deletion
    warned = {(n.subject, n.message.split(":")[0]) for n in plan.warnings}
    assert warned == {(str(SEG), "in removed"), ("prod/user_passcode/X@example.com", "in removed")}


def test_an_account_forgotten_whole_is_no_error_and_each_of_its_records_is_forgotten() -> None:
    state = state_of(snapshot([passcode("p1", "a", 90), passcode("p2", "b", 90)]), alias="legacy")
    without = make_plan(config({}), state, {}, OPTIONS).plan
    assert [n.subject for n in without.errors] == ["legacy/*"]
    assert "add 'legacy/*' to removed:" in without.errors[0].message
    plan = make_plan(config({}, removed=["legacy/*"]), state, {}, OPTIONS).plan
    assert plan.errors == ()
    assert kinds(plan) == [("legacy/account_passcode/a", "forget"), ("legacy/account_passcode/b", "forget")]


# ---- an account alias renamed -------------------------------------------------------------------


def test_previously_on_an_account_moves_every_address_with_no_delete_or_create() -> None:
    snap = snapshot(
        [passcode("p1", "seg", 90), passcode("p2", "braze", None)], {"a@example.com": grant("a@example.com")}
    )
    state = state_of(snap, alias="prod", with_settings=True)
    cfg = config(
        {
            "prod-eu": account(
                {"seg": {"expires_in": "90d"}, "braze": {"expires_in": "forever"}},
                {"a@example.com": {"validity": "30d"}},
                passcode_mode="account",
                previously="prod",
            )
        }
    )
    result = make_plan(cfg, state, {"prod-eu": snap}, OPTIONS)
    plan = result.plan
    assert plan.errors == () and plan.drift == ()
    assert kinds(plan) == [
        ("prod-eu/account_passcode/braze", "move"),
        ("prod-eu/account_passcode/seg", "move"),
        ("prod-eu/settings", "move"),
        ("prod-eu/user_passcode/a@example.com", "move"),
    ]
    moves = {str(a.address): a for a in plan.actions if isinstance(a, StateAction)}
    assert moves["prod-eu/account_passcode/seg"].moved_from == SEG
    assert moves["prod-eu/account_passcode/seg"].reason == (
        "account 'prod-eu' was 'prod' (previously); nothing changes in it; its secret moves in the "
        "file sink: prod/seg -> prod-eu/seg"
    )
    assert "secret" not in moves["prod-eu/user_passcode/a@example.com"].reason  # ctconfig holds no user's
    assert plan.summary_line().endswith("0 to revoke, 4 to move.")
    assert set(result.refreshed.resources) == set(state.resources)  # apply moves them, journalled
    changes = {c["address"]: c for c in terraform_view(plan)["resource_changes"]}
    assert changes["prod-eu/account_passcode/seg"]["previous_address"] == "prod/account_passcode/seg"
    assert changes["prod-eu/account_passcode/seg"]["change"]["actions"] == ["no-op"]


def test_a_moved_account_plans_its_other_changes_at_the_new_addresses() -> None:
    snap = snapshot([passcode("p1", "seg", 90), passcode("p2", "old-name", 90)])
    cfg = config(
        {
            "prod-eu": account(
                {"seg": {"expires_in": "30d"}, "new-name": {"expires_in": "90d", "previously": "old-name"}},
                previously=["prod"],
            )
        }
    )
    plan = make_plan(cfg, state_of(snap), {"prod-eu": snap}, OPTIONS).plan
    assert kinds(plan) == [
        ("prod-eu/account_passcode/old-name", "move"),
        ("prod-eu/account_passcode/seg", "move"),
        ("prod-eu/account_passcode/new-name", "update"),
        ("prod-eu/account_passcode/seg", "update"),
    ]
    rename = plan.actions[2]
    assert isinstance(rename, PasscodeAction)
    assert rename.moved_from == Address.account_passcode("prod-eu", "old-name")
    assert rename.reason.endswith("moves in the file sink: prod-eu/old-name -> prod-eu/new-name")


def test_a_move_that_cannot_be_made_is_an_error_naming_why() -> None:
    snap = snapshot([passcode("p1", "seg", 90)])
    old = state_of(snap)
    taken = old.with_resources({**old.resources, **state_of(snap, alias="prod-eu").resources})
    cfg = config({"prod-eu": account({"seg": {"expires_in": "90d"}}, previously="prod")})
    plan = make_plan(cfg, taken, {"prod-eu": snap}, OPTIONS).plan
    assert [n.subject for n in plan.errors] == [str(SEG)]
    assert "cannot move to prod-eu/account_passcode/seg: it is in state already" in plan.errors[0].message
    other_id = config(
        {"prod-eu": {**account({"seg": {"expires_in": "90d"}}), "id": "W9R-486-4W5A", "previously": "prod"}}
    )
    plan = make_plan(other_id, old, {"prod-eu": replace(snap, account_id="W9R-486-4W5A")}, OPTIONS).plan
    assert "previously: renames an alias, not an account" in plan.errors[0].message


# ---- a passcode rename's secret -----------------------------------------------------------------


def test_a_rename_says_where_the_secret_moves_and_a_sink_that_cannot_move_it_warns() -> None:
    snap = snapshot([passcode("p1", "old", 90)])
    spec = {"new": {"expires_in": "90d", "previously": "old"}}
    env = make_plan(
        config({"prod": account(spec)}, secrets={"sink": "env-file"}), state_of(snap), {"prod": snap}, OPTIONS
    ).plan
    assert env.actions[0].reason == (
        "renamed from 'old' (previously); the secret is kept and moves in the env-file sink: "
        "CT_PROD_OLD -> CT_PROD_NEW"
    )
    command = make_plan(
        config({"prod": account(spec)}, secrets={"sink": "command", "command": "vault-put"}),
        state_of(snap),
        {"prod": snap},
        OPTIONS,
    ).plan
    assert "the command sink cannot move it" in command.actions[0].reason
    (warning,) = command.warnings
    assert warning.subject == "prod/account_passcode/new"
    assert "move it to CT_PROD_NEW yourself" in warning.message
    unknown = make_plan(
        config({"prod": account(spec)}, secrets={"sink": "command", "command": "vault-put"}),
        with_records(state_of(snap), secret_fingerprint=None),
        {"prod": snap},
        OPTIONS,
    ).plan
    assert unknown.warnings == ()  # ctconfig never held its secret: nothing to move, nothing to warn


# ---- rotate: and reset: tokens ----------------------------------------------------------------


def test_a_new_rotate_token_rotates_with_overlap_and_the_same_token_does_nothing() -> None:
    snap = snapshot([passcode("p1", "seg", 90)])
    cfg = config({"prod": account({"seg": {"expires_in": "90d", "rotate": "SEC-1"}})})
    (action,) = make_plan(cfg, state_of(snap), {"prod": snap}, OPTIONS).plan.actions
    assert isinstance(action, PasscodeAction) and action.kind is ActionKind.REPLACE
    assert action.reason == "rotate token changed: none -> 'SEC-1'"
    assert action.rotate_token == "SEC-1" and action.rotation is not None
    assert action.rotation.retire_after is not None  # overlap: the old one lives on a while
    recorded = with_records(state_of(snap), rotate_token="SEC-1")
    assert make_plan(cfg, recorded, {"prod": snap}, OPTIONS).plan.actions == ()
    next_cfg = config({"prod": account({"seg": {"expires_in": "90d", "rotate": "SEC-2"}})})
    (again,) = make_plan(next_cfg, recorded, {"prod": snap}, OPTIONS).plan.actions
    assert again.reason == "rotate token changed: 'SEC-1' -> 'SEC-2'"
    assert "token" in dumps_plan(make_plan(next_cfg, recorded, {"prod": snap}, OPTIONS).plan)


def test_tokens_are_recorded_by_creates_grants_and_adoption_so_they_rotate_nothing() -> None:
    cfg = config(
        {
            "prod": account(
                {
                    "seg": {"expires_in": "90d", "rotate": "2026-12-01"},
                    "adopt": {"expires_in": "90d", "rotate": "t"},
                },
                {"a@example.com": {"validity": "30d", "reset": "r1"}},
            )
        }
    )
    snap = snapshot([passcode("p9", "adopt", 90)], {"a@example.com": None})
    result = make_plan(cfg, State.new(), {"prod": snap}, OPTIONS)
    created = {str(a.address): a for a in result.plan.actions}
    assert isinstance(created["prod/account_passcode/seg"], PasscodeAction)
    assert created["prod/account_passcode/seg"].rotate_token == "2026-12-01"
    granted = created["prod/user_passcode/a@example.com"]
    assert isinstance(granted, GrantAction) and granted.reset_token == "r1"
    adopted = result.refreshed.resources[Address.account_passcode("prod", "adopt")]
    assert isinstance(adopted, AccountPasscodeRecord) and adopted.rotate_token == "t"


def test_a_new_reset_token_resets_a_user_passcode() -> None:
    snap = snapshot(users={"a@example.com": grant("a@example.com", 30)})
    state = state_of(snap)
    cfg = config({"prod": account(users={"a@example.com": {"validity": "30d", "reset": "leak-1"}})})
    (action,) = make_plan(cfg, state, {"prod": snap}, OPTIONS).plan.actions
    assert isinstance(action, GrantAction) and action.kind is ActionKind.RESET
    assert (action.reason, action.reset_token) == ("reset token changed: none -> 'leak-1'", "leak-1")
    record = state.resources[Address.user_passcode("prod", "a@example.com")]
    assert isinstance(record, UserPasscodeRecord)
    done = state.with_resources(
        {record_address: replace(record, reset_token="leak-1") for record_address in state.resources}
    )
    assert make_plan(cfg, done, {"prod": snap}, OPTIONS).plan.actions == ()


# ---- mass deletes approved in the config ------------------------------------------------------


def _twelve() -> tuple[State, object]:
    snap = snapshot([passcode(f"p{i}", f"n{i}", 90) for i in range(12)])
    return state_of(snap), snap


def test_a_mass_delete_goes_ahead_only_when_every_delete_is_approved_by_address() -> None:
    state, snap = _twelve()
    keep = {f"n{i}": {"expires_in": "90d"} for i in range(5)}
    doomed = [f"prod/account_passcode/n{i}" for i in range(5, 12)]
    refused = make_plan(config({"prod": account(keep)}), state, {"prod": snap}, OPTIONS).plan
    (mass,) = refused.mass_deletes
    assert [str(a) for a in mass.unapproved] == sorted(doomed)
    assert mass.approval()[:3] == ["safety:", "  approve_deletes:", "    - prod/account_passcode/n10"]
    partly = config({"prod": account(keep)}, safety={"approve_deletes": doomed[:6]})
    (still,) = make_plan(partly, state, {"prod": snap}, OPTIONS).plan.mass_deletes
    assert [str(a) for a in still.unapproved] == ["prod/account_passcode/n11"]  # never covers more
    approved = make_plan(
        config({"prod": account(keep)}, safety={"approve_deletes": doomed}), state, {"prod": snap}, OPTIONS
    ).plan
    assert approved.mass_deletes == ()
    assert [n.subject for n in approved.warnings] == ["prod"]
    assert approved.warnings[0].message.startswith(
        "mass delete approved in safety.approve_deletes: prod: 7 of 12"
    )


def test_a_stale_approval_is_named_so_it_is_removed() -> None:
    state, snap = _twelve()
    every = {f"n{i}": {"expires_in": "90d"} for i in range(12)}
    stale = config({"prod": account(every)}, safety={"approve_deletes": ["prod/account_passcode/gone"]})
    plan = make_plan(stale, state, {"prod": snap}, OPTIONS).plan
    assert [(n.subject, n.message[:39]) for n in plan.warnings] == [
        ("prod/account_passcode/gone", "in safety.approve_deletes but this plan")
    ]
    partial = replace(OPTIONS, scope=PlanScope(targets=("prod/account_passcode/n1",)))
    assert make_plan(stale, state, {"prod": snap}, partial).plan.warnings == ()


def test_small_accounts_are_guarded_past_half_of_what_they_manage() -> None:
    one = snapshot([passcode("p1", "only", 90)])
    (mass,) = make_plan(config({"prod": account()}), state_of(one), {"prod": one}, OPTIONS).plan.mass_deletes
    assert mass.small and mass.message() == (
        "prod: 1 of 1 managed resources would be deleted or revoked (100% > 50%, in an account under "
        "safety.min_resources)"
    )
    two = snapshot([passcode("p1", "a", 90), passcode("p2", "b", 90)])
    half = make_plan(
        config({"prod": account({"a": {"expires_in": "90d"}})}), state_of(two), {"prod": two}, OPTIONS
    )
    assert half.plan.mass_deletes == ()  # half is not more than half
    unguarded = config({"prod": account()}, safety={"min_resources": 0})
    assert make_plan(unguarded, state_of(two), {"prod": two}, OPTIONS).plan.mass_deletes != ()
    lenient = config({"prod": account()}, safety={"min_resources": 0, "max_delete_fraction": 1})
    assert make_plan(lenient, state_of(two), {"prod": two}, OPTIONS).plan.mass_deletes == ()
    assert ACCOUNT_ID  # the helpers' account id is the one every record carries


def test_removed_may_name_a_moved_resource_by_either_alias() -> None:
    snap = snapshot([passcode("p1", "seg", 90), passcode("p2", "gone", 90)])
    for entry in ("prod/account_passcode/gone", "prod-eu/account_passcode/gone"):
        cfg = config({"prod-eu": account({"seg": {"expires_in": "90d"}}, previously="prod")}, removed=[entry])
        plan = make_plan(cfg, state_of(snap), {"prod-eu": snap}, OPTIONS).plan
        assert kinds(plan) == [
            ("prod/account_passcode/gone", "forget"),  # where state has it
            ("prod-eu/account_passcode/seg", "move"),
        ]
        assert plan.warnings == ()
