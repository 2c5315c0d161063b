"""Saved plans: JSON that matches the schema, round-trips, and refuses staleness and edits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ctconfig.domain import Address
from ctconfig.plan import Plan, PlanError, PlanScope, PlanStamp, StalePlanError, check_fresh
from ctconfig.planfile import dumps_plan, load_plan, plan_document, plan_json_schema, save_plan
from ctconfig.planfile.terraform_types import PROVIDER_NAME, TERRAFORM_VERSION
from ctconfig.planner import PlanOptions, make_plan
from ctconfig.render.plan_markdown import render_markdown
from ctconfig.render.plan_text import render_summary, render_text
from ctconfig.state.document import AccountPasscodeRecord, RecordType
from tests.planner.helpers import ACCOUNT_ID, NOW, account, config, grant, passcode, snapshot, state_of

OPTIONS = PlanOptions(now=NOW)

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "plan.schema.json").read_text())


def busy_plan() -> Plan:
    snap = snapshot(
        [passcode("p1", "seg", 90, age_days=80), passcode("p2", "gone", 90), passcode("p3", "edit", 30)],
        {"bob@example.com": grant("bob@example.com", 30), "amy@example.com": None},
        mode="account",
    )
    cfg = config(
        {
            "prod": account(
                {
                    "seg": {"expires_in": "90d", "rotate_before": "14d"},
                    "edit": {"expires_in": "60d"},
                    "new": {"expires_in": "forever"},
                },
                {"bob@example.com": {"validity": "infinite"}, "amy@example.com": {"validity": "7d"}},
                passcode_mode="user",
            )
        }
    )
    plan = make_plan(cfg, state_of(snap, with_settings=True), {"prod": snap}, PlanOptions(now=NOW)).plan
    return plan.stamped(PlanStamp("11111111-1111-1111-1111-111111111111", 3, "sha256:" + "0" * 64, NOW))


def test_plan_json_matches_the_schema_and_has_terraform_actions() -> None:
    plan = busy_plan()
    data = json.loads(dumps_plan(plan))
    jsonschema.validate(data, SCHEMA)
    assert {tuple(rc["change"]["actions"]) for rc in data["resource_changes"]} >= {
        ("create",),
        ("update",),
        ("delete",),
        ("create", "delete"),
        ("delete", "create"),
    }


def test_saved_plan_round_trips(tmp_path: Path) -> None:
    plan = busy_plan()
    save_plan(plan, tmp_path / "p.json")
    loaded = load_plan(tmp_path / "p.json")
    assert loaded == plan and dumps_plan(loaded) == dumps_plan(plan) and loaded.digest == plan.digest


def test_edited_plan_file_is_refused(tmp_path: Path) -> None:
    data = json.loads(dumps_plan(busy_plan()))
    data["actions"][0]["after"]["name"] = "sneaky"
    (tmp_path / "p.json").write_text(json.dumps(data))
    with pytest.raises(PlanError, match="edited after it was saved"):
        load_plan(tmp_path / "p.json")


def test_stale_plan_names_why() -> None:
    plan = busy_plan()
    with pytest.raises(StalePlanError, match=r"state moved from serial 3 to 4; config changed"):
        check_fresh(plan, plan.stamp.lineage, 4, "sha256:other")
    check_fresh(plan, plan.stamp.lineage, 3, plan.stamp.config_digest)


def test_renderings_show_every_action_and_the_summary() -> None:
    plan = busy_plan()
    text = render_text(plan)
    for action in plan.actions:
        assert str(action.address) in text
    assert text.rstrip().endswith(plan.summary_line())
    assert '"30d" -> "60d"' in text
    assert "reason: expires in 10 days; rotate_before is 14d" in text
    md = render_markdown(plan)
    assert "| `prod` |" in md and "<details>" in md and plan.digest in md and "[!CAUTION]" in md
    assert plan.summary_line() in render_summary(plan)


def test_markdown_never_exceeds_the_comment_limit() -> None:
    snap = snapshot()
    cfg = config(
        {"prod": account({f"passcode-{i:03d}-{'x' * 40}": {"expires_in": i + 1} for i in range(100)})}
    )
    plan = make_plan(cfg, state_of(snap), {"prod": snap}, PlanOptions(now=NOW)).plan
    full = render_markdown(plan)
    assert len(full) <= 60_000
    small = render_markdown(plan, limit=3_000)
    assert len(small) <= 3_000 and "more than a comment holds" in small


def test_a_plan_too_big_for_a_comment_folds_per_account_instead_of_dropping_detail() -> None:
    """40 accounts of 100 passcodes: every account keeps its summary row and its own folded section
    (its changes by name); what still does not fit is named, and the full plan is the artifact."""
    accounts = {
        f"team-{n:02d}": account(
            {f"integration-{i:03d}": {"expires_in": f"{30 + i}d"} for i in range(100)}, id=f"W9R-{n:03d}-4W5Z"
        )
        for n in range(40)
    }
    observed = {alias: snapshot() for alias in accounts}
    plan = make_plan(config(accounts), state_of(snapshot()), observed, PlanOptions(now=NOW)).plan
    url = "https://github.com/team/passcodes/actions/runs/42"
    md = render_markdown(plan, full_plan_at=url)
    assert len(md) <= 60_000
    assert "**Plan: 4000 to create," in md and f"Plan digest: `{plan.digest}`" in md
    assert all(f"| `team-{n:02d}` | 100 |" in md for n in range(40))  # every account's summary row
    assert f"artifact of <{url}>" in md
    folded = md.count("<details><summary>`team-")
    assert folded >= 20, folded  # accounts listed by name, not all dropped at once
    assert "- `+ create` account_passcode (100): `integration-000`, `integration-001`," in md
    assert "reason:" not in md
    not_listed = md.split("Not listed here (")[1]
    assert not_listed.startswith(f"{40 - folded} account(s)")
    assert "- `team-39`: 100 change(s)" in not_listed
    small = render_markdown(plan, limit=20_000)
    assert len(small) <= 20_000 and "| `team-39` |" in small


def test_the_committed_plan_schema_is_the_generated_one() -> None:
    assert json.loads(json.dumps(plan_json_schema())) == SCHEMA


def test_a_plan_saved_by_ctconfig_0_1_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old = {"format_version": 1, "actions": [], "lineage": "", "serial": 0, "config_digest": "", "digest": "x"}
    (tmp_path / "old.plan").write_text(json.dumps(old))
    with pytest.raises(PlanError, match=r"plan format 1 is not 3.*Re-run `ctconfig plan -o FILE`"):
        load_plan(tmp_path / "old.plan")


def test_a_plan_saved_in_format_2_is_refused_with_what_to_do(tmp_path: Path) -> None:
    data = json.loads(dumps_plan(busy_plan()))
    del data["ctconfig_format"]
    data["format_version"] = 2
    (tmp_path / "two.plan").write_text(json.dumps(data))
    with pytest.raises(PlanError, match=r"plan format 2 is not 3.*Re-run `ctconfig plan -o FILE`"):
        load_plan(tmp_path / "two.plan")


def test_a_terraform_plan_is_not_taken_for_a_ctconfig_plan(tmp_path: Path) -> None:
    (tmp_path / "tf.json").write_text(json.dumps({"format_version": "1.2", "resource_changes": []}))
    with pytest.raises(PlanError, match=r"not a ctconfig plan file .*terraform show -json"):
        load_plan(tmp_path / "tf.json")


def test_a_plan_file_with_a_wrong_type_names_the_field(tmp_path: Path) -> None:
    data = json.loads(dumps_plan(busy_plan()))
    data["stamp"]["serial"] = "three"
    (tmp_path / "p.json").write_text(json.dumps(data))
    with pytest.raises(PlanError, match=r"stamp\.serial"):
        load_plan(tmp_path / "p.json")


# ---- Terraform's plan representation ---------------------------------------------------------------

TF_FIXTURE = json.loads((Path(__file__).parents[1] / "policy" / "terraform-1.11-plan.json").read_text())
RETIRED = "seg~retiring-20261101"


def everything_plan() -> Plan:
    """One plan with every kind of change ctconfig makes, and resources it leaves alone."""
    snap = snapshot(
        [
            passcode("p0", "keep", 90),
            passcode("p1", "seg", 90, age_days=80),
            passcode("p2", "gone", 90),
            passcode("p3", "edit", 30),
            passcode("p4", "old", 90),
            passcode("p5", "broken", 90),
            passcode("p6", RETIRED, 90, age_days=30),
            passcode("p7", "legacy", None),
            passcode("p8", "req", 90),
        ],
        {
            "bob@example.com": grant("bob@example.com", 30),
            "amy@example.com": None,
            "carl@example.com": grant("carl@example.com", 30),
            "dan@example.com": grant("dan@example.com", 30),
        },
        mode="account",
    )
    state = state_of(snap, with_settings=True)
    resources = {a: r for a, r in state.resources.items() if a.name not in ("legacy", "dan@example.com")}
    broken, retired = passcode_record(resources, "broken"), passcode_record(resources, RETIRED)
    resources[Address.account_passcode("prod", "broken")] = replace(broken, tainted="the sink failed")
    resources[Address.account_passcode("prod", RETIRED)] = replace(
        retired, retire_after=NOW - timedelta(days=1)
    )
    cfg = config(
        {
            "prod": account(
                {
                    "keep": {"expires_in": "90d"},
                    "seg": {"expires_in": "90d", "rotate_before": "14d"},
                    "edit": {"expires_in": "60d"},
                    "new-name": {"expires_in": "90d", "previously": "old"},
                    "broken": {"expires_in": "90d"},
                    "req": {"expires_in": "90d"},
                    "fresh": {"expires_in": "forever"},
                },
                {
                    "bob@example.com": {"validity": "infinite"},
                    "amy@example.com": {"validity": "7d"},
                    "carl@example.com": {"validity": "30d"},
                },
                passcode_mode="user",
                unmanaged="delete",
            )
        }
    )
    options = PlanOptions(now=NOW, scope=PlanScope(replace=("prod/account_passcode/req",)))
    plan = make_plan(cfg, state.with_resources(resources), {"prod": snap}, options).plan
    return plan.stamped(PlanStamp("11111111-1111-1111-1111-111111111111", 3, "sha256:" + "0" * 64, NOW))


def passcode_record(resources: Mapping[Address, RecordType], name: str) -> AccountPasscodeRecord:
    record = resources[Address.account_passcode("prod", name)]
    assert isinstance(record, AccountPasscodeRecord)
    return record


def drift_plan(scope: PlanScope | None = None) -> Plan:
    """State recorded before changes made by hand in the dashboard, and a declared passcode found there."""
    before = snapshot(
        [passcode("p1", "x", 90), passcode("p2", "y", 90)],
        {"bob@example.com": grant("bob@example.com")},
        mode="account",
    )
    after = snapshot(
        [passcode("p2", "renamed", 60), passcode("p9", "found", 30)],
        {"bob@example.com": None},
        mode="user",
    )
    cfg = config(
        {
            "prod": account(
                {"x": {"expires_in": "90d"}, "y": {"expires_in": "90d"}, "found": {"expires_in": "30d"}},
                {"bob@example.com": {"validity": "30d"}},
                passcode_mode="account",
            )
        }
    )
    state = state_of(before, with_settings=True)
    return make_plan(cfg, state, {"prod": after}, PlanOptions(now=NOW, scope=scope or PlanScope())).plan


def by_address(changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rc["address"]: rc for rc in changes}


def test_every_change_is_a_managed_resource_with_terraforms_keys() -> None:
    data = plan_document(everything_plan())
    jsonschema.validate(data, SCHEMA)
    assert data["format_version"] == "1.2" and data["ctconfig_format"] == 3
    for rc in data["resource_changes"]:
        address = Address.parse(rc["address"])
        assert rc["mode"] == "managed" and rc["provider_name"] == PROVIDER_NAME
        assert rc["provider_name"].split("/")[2] == "clevertap"  # HOSTNAME/NAMESPACE/TYPE, as Terraform's
        assert (rc["type"], rc["name"]) == (address.kind.value, address.name or address.account)
        change = rc["change"]
        assert change["before_sensitive"] == ({} if change["before"] is not None else False)
        assert change["after_sensitive"] == ({} if change["after"] is not None else False)
    addresses = [rc["address"] for rc in data["resource_changes"]]
    assert addresses == sorted(addresses, key=Address.parse)


def test_actions_and_reasons_map_to_terraforms_words() -> None:
    changes = by_address(plan_document(everything_plan())["resource_changes"])
    expected = {
        "prod/account_passcode/keep": (["no-op"], None),
        "prod/account_passcode/seg": (["create", "delete"], "replace_because_expiring"),
        "prod/account_passcode/broken": (["delete", "create"], "replace_because_tainted"),
        "prod/account_passcode/req": (["create", "delete"], "replace_by_request"),
        "prod/account_passcode/gone": (["delete"], "delete_because_no_resource_config"),
        f"prod/account_passcode/{RETIRED}": (["delete"], "delete_because_rotated_out"),
        "prod/account_passcode/legacy": (["delete"], "delete_because_unmanaged"),
        "prod/account_passcode/edit": (["update"], None),
        "prod/account_passcode/new-name": (["update"], None),
        "prod/account_passcode/fresh": (["create"], None),
        "prod/user_passcode/bob@example.com": (["delete", "create"], "replace_because_cannot_update"),
        "prod/user_passcode/amy@example.com": (["create"], None),
        "prod/user_passcode/carl@example.com": (["no-op"], None),
        "prod/user_passcode/dan@example.com": (["delete"], "delete_because_unmanaged"),
        "prod/settings": (["update"], None),
    }
    assert {a: (rc["change"]["actions"], rc.get("action_reason")) for a, rc in changes.items()} == expected
    assert changes["prod/user_passcode/bob@example.com"]["change"]["replace_paths"] == [["validity"]]
    assert changes["prod/user_passcode/dan@example.com"]["ctconfig"]["action"] == "revoke"


def test_before_and_after_carry_the_remote_id_and_what_is_unknown_until_apply() -> None:
    changes = by_address(plan_document(everything_plan())["resource_changes"])
    rename = changes["prod/account_passcode/new-name"]
    assert rename["previous_address"] == "prod/account_passcode/old"
    assert rename["change"]["before"]["id"] == rename["change"]["after"]["id"] == "p4"
    assert (rename["change"]["before"]["name"], rename["change"]["after"]["name"]) == ("old", "new-name")
    assert rename["change"]["after_unknown"] == {}  # same expiry: expires_at is kept
    edit = changes["prod/account_passcode/edit"]["change"]
    assert edit["after"]["id"] == "p3" and edit["after_unknown"] == {"expires_at": True}
    rotation = changes["prod/account_passcode/seg"]["change"]
    assert rotation["before"]["id"] == "p1" and "id" not in rotation["after"]
    assert rotation["after_unknown"] == {"id": True, "expires_at": True}
    create = changes["prod/account_passcode/fresh"]["change"]
    assert create["after"] == {"name": "fresh", "expires_in": "forever", "expires_at": None}
    assert create["after_unknown"] == {"id": True}
    settings = changes["prod/settings"]["change"]
    assert settings["before"] == {"id": ACCOUNT_ID, "passcode_mode": "account"}
    assert settings["after"] == {"id": ACCOUNT_ID, "passcode_mode": "user"}
    unmanaged = changes["prod/account_passcode/legacy"]["change"]
    assert unmanaged["before"] == {"id": "p7", "name": "legacy", "expires_in": "forever"}


def test_resources_the_plan_leaves_alone_are_no_op_changes_equal_to_prior_state() -> None:
    data = plan_document(everything_plan())
    prior = {r["address"]: r for r in data["prior_state"]["values"]["root_module"]["resources"]}
    no_ops = [rc for rc in data["resource_changes"] if rc["change"]["actions"] == ["no-op"]]
    assert [rc["address"] for rc in no_ops] == [
        "prod/account_passcode/keep",
        "prod/user_passcode/carl@example.com",
    ]
    for rc in no_ops:
        assert rc["change"]["before"] == rc["change"]["after"] == prior[rc["address"]]["values"]
        assert rc["change"]["after_unknown"] == {}
    planned = {r["address"] for r in data["planned_values"]["root_module"]["resources"]}
    deleted = {rc["address"] for rc in data["resource_changes"] if rc["change"]["actions"] == ["delete"]}
    assert planned == {rc["address"] for rc in data["resource_changes"]} - deleted


def test_prior_state_shows_the_refreshed_records_but_never_a_fingerprint() -> None:
    plan = everything_plan()
    text = dumps_plan(plan)
    assert '"sha256:000000000000"' not in text and "fingerprint" not in text  # state_of's fingerprint
    resources = {
        r["address"]: r for r in json.loads(text)["prior_state"]["values"]["root_module"]["resources"]
    }
    assert set(resources) == {str(p.address) for p in plan.prior}
    assert "prod/account_passcode/legacy" not in resources  # unmanaged: never in state
    broken = resources["prod/account_passcode/broken"]
    assert broken["tainted"] is True and broken["values"]["id"] == "p5"
    assert "tainted" not in resources["prod/account_passcode/keep"]
    assert resources[f"prod/account_passcode/{RETIRED}"]["ctconfig"]["retire_after"] == "2026-11-26T12:00:00Z"
    assert resources["prod/account_passcode/keep"]["ctconfig"] == {
        "account": "prod",
        "account_id": ACCOUNT_ID,
        "origin": "created",
        "prevent_destroy": False,
    }


def test_drift_is_resource_drift_and_an_adoption_is_an_import() -> None:
    data = plan_document(drift_plan())
    jsonschema.validate(data, SCHEMA)
    drift = by_address(data["resource_drift"])
    assert {a: rc["change"]["actions"] for a, rc in drift.items()} == {
        "prod/account_passcode/x": ["delete"],
        "prod/account_passcode/y": ["update"],
        "prod/settings": ["update"],
        "prod/user_passcode/bob@example.com": ["delete"],
    }
    renamed = drift["prod/account_passcode/y"]
    assert renamed["change"]["before"] == {"id": "p2", "name": "y", "expires_in": "90d"}
    assert renamed["change"]["after"] == {"id": "p2", "name": "renamed", "expires_in": "60d"}
    for rc in data["resource_drift"]:  # a consumer diffing before and after sees only what changed
        before, after = rc["change"]["before"], rc["change"]["after"]
        assert after is None or set(before) == set(after), rc["address"]
    assert "renamed outside ctconfig" in renamed["ctconfig"]["reason"]
    assert "expiry edited outside ctconfig" in renamed["ctconfig"]["reason"]
    assert all(rc["mode"] == "managed" for rc in data["resource_drift"])
    found = by_address(data["resource_changes"])["prod/account_passcode/found"]
    assert found["change"]["actions"] == ["no-op"] and found["change"]["importing"] == {"id": "p9"}
    assert "prod/account_passcode/found" not in drift


def test_flags_say_whether_the_plan_can_be_applied_and_covers_everything() -> None:
    full = plan_document(everything_plan())
    assert (full["applyable"], full["complete"], full["errored"]) == (True, True, False)
    assert full["timestamp"] == "2026-11-27T12:00:00Z"
    snap = snapshot([passcode("p1", "keep", 90)])
    state = state_of(snap)
    protected = {
        a: replace(passcode_record(state.resources, a.name), prevent_destroy=True) for a in state.resources
    }
    failed = make_plan(
        config({"prod": account({})}), state.with_resources(protected), {"prod": snap}, OPTIONS
    )
    errored = plan_document(failed.plan)
    jsonschema.validate(errored, SCHEMA)
    assert (errored["applyable"], errored["complete"], errored["errored"]) == (False, False, True)
    assert "timestamp" not in errored  # not stamped: made without a state version


def test_a_refresh_only_plan_proposes_no_changes_and_applies_its_drift() -> None:
    data = plan_document(drift_plan(PlanScope(refresh_only=True)))
    jsonschema.validate(data, SCHEMA)
    assert data["resource_changes"] == [] and data["planned_values"]["root_module"]["resources"] == []
    assert len(data["resource_drift"]) == 4
    assert (data["applyable"], data["complete"]) == (True, True)


def test_a_targeted_plan_is_incomplete_and_lists_only_what_it_targets() -> None:
    snap = snapshot([passcode("p1", "a", 90), passcode("p2", "b", 30), passcode("p3", "c", 90)])
    cfg = config({"prod": account({n: {"expires_in": "60d"} for n in "abc"})})
    scope = PlanScope(targets=("prod/account_passcode/a", "prod/account_passcode/b"))
    plan = make_plan(cfg, state_of(snap), {"prod": snap}, PlanOptions(now=NOW, scope=scope)).plan
    data = plan_document(plan)
    assert [rc["address"] for rc in data["resource_changes"]] == [
        "prod/account_passcode/a",
        "prod/account_passcode/b",
    ]
    assert (data["applyable"], data["complete"]) == (True, False)
    assert len(data["prior_state"]["values"]["root_module"]["resources"]) == 3


def test_a_saved_plan_recomputes_terraforms_view_and_refuses_edited_actions(tmp_path: Path) -> None:
    plan = everything_plan()
    data = json.loads(dumps_plan(plan))
    data["resource_changes"] = []
    data["prior_state"] = {"format_version": "1.0"}
    (tmp_path / "p.json").write_text(json.dumps(data))
    loaded = load_plan(tmp_path / "p.json")
    assert loaded == plan and dumps_plan(loaded) == dumps_plan(plan)
    data["actions"][0]["after"]["expires_in"] = "forever"
    (tmp_path / "p.json").write_text(json.dumps(data))
    with pytest.raises(PlanError, match="edited after it was saved"):
        load_plan(tmp_path / "p.json")


def test_changes_have_every_key_terraform_writes_for_the_same_actions() -> None:
    ours = plan_document(everything_plan())
    assert set(TF_FIXTURE) <= set(ours)
    assert ours["terraform_version"] == ours["prior_state"]["terraform_version"] == TERRAFORM_VERSION
    assert set(TF_FIXTURE["prior_state"]) <= set(ours["prior_state"])
    [(_, tf_provider)] = TF_FIXTURE["configuration"]["provider_config"].items()
    [(key, provider)] = ours["configuration"]["provider_config"].items()
    assert set(tf_provider) == set(provider) and provider == {"name": key, "full_name": PROVIDER_NAME}
    tf_resource = TF_FIXTURE["configuration"]["root_module"]["resources"][0]
    for resource in ours["configuration"]["root_module"]["resources"]:
        assert set(resource) == set(tf_resource) and resource["provider_config_key"] == key
    by_actions = {tuple(rc["change"]["actions"]): rc for rc in ours["resource_changes"]}
    for theirs in TF_FIXTURE["resource_changes"]:
        mine = by_actions[tuple(theirs["change"]["actions"])]
        if "previous_address" in theirs:
            mine = by_address(ours["resource_changes"])["prod/account_passcode/new-name"]
        assert set(theirs) <= set(mine), theirs["address"]
        assert set(theirs["change"]) <= set(mine["change"]), theirs["address"]
        for key in ("before_sensitive", "after_sensitive"):
            assert type(theirs["change"][key]) is type(mine["change"][key])
    theirs_prior = TF_FIXTURE["prior_state"]["values"]["root_module"]["resources"][0]
    assert set(theirs_prior) <= set(ours["prior_state"]["values"]["root_module"]["resources"][0])


def test_configuration_declares_what_the_config_names_as_constants() -> None:
    data = plan_document(everything_plan())
    jsonschema.validate(data, SCHEMA)
    declared = {r["address"]: r for r in data["configuration"]["root_module"]["resources"]}
    assert sorted(declared) == sorted(
        f"prod/{kind}/{name}" if name else "prod/settings"
        for kind, name in [
            *(("account_passcode", n) for n in ("keep", "seg", "edit", "new-name", "broken", "req", "fresh")),
            *(("user_passcode", e) for e in ("amy@example.com", "bob@example.com", "carl@example.com")),
            ("settings", ""),
        ]
    )  # not what the plan deletes, nor a rotation's set-aside predecessor
    assert declared["prod/account_passcode/fresh"]["expressions"] == {
        "name": {"constant_value": "fresh"},
        "expires_in": {"constant_value": "forever"},
    }
    assert declared["prod/user_passcode/bob@example.com"]["expressions"] == {
        "email": {"constant_value": "bob@example.com"},
        "validity": {"constant_value": "infinite"},
    }
    assert declared["prod/settings"]["expressions"] == {"passcode_mode": {"constant_value": "user"}}
    assert set(declared) == {r["address"] for r in data["planned_values"]["root_module"]["resources"]}


def test_a_passcode_waiting_out_its_overlap_is_kept_but_not_declared() -> None:
    snap = snapshot([passcode("p1", "seg", 90), passcode("p0", RETIRED, 90, age_days=30)])
    state = state_of(snap)
    aside = Address.account_passcode("prod", RETIRED)
    waiting = replace(passcode_record(state.resources, RETIRED), retire_after=NOW + timedelta(days=3))
    state = state.with_resources({**state.resources, aside: waiting})
    cfg = config({"prod": account({"seg": {"expires_in": "90d"}})})
    data = plan_document(make_plan(cfg, state, {"prod": snap}, OPTIONS).plan)
    planned = {r["address"] for r in data["planned_values"]["root_module"]["resources"]}
    declared = {r["address"] for r in data["configuration"]["root_module"]["resources"]}
    assert planned == {"prod/account_passcode/seg", str(aside)} and declared == {"prod/account_passcode/seg"}


def test_plan_json_is_one_line_and_pretty_is_the_same_document_indented(tmp_path: Path) -> None:
    plan = everything_plan()
    compact, pretty = dumps_plan(plan), dumps_plan(plan, pretty=True)
    assert compact.count("\n") == 1 and compact.endswith("}\n")  # readers that go line by line see it all
    assert pretty.count("\n") > 100 and pretty.startswith('{\n  "actions"')
    assert json.loads(compact) == json.loads(pretty)
    save_plan(plan, tmp_path / "pretty.json", pretty=True)
    assert load_plan(tmp_path / "pretty.json") == plan


def test_a_plan_saved_before_terraform_version_and_configuration_is_read(tmp_path: Path) -> None:
    """ctconfig_format 3 is unchanged: a file saved by the previous release (indented, with the short
    provider name and no `terraform_version` or `configuration`) is read and its Terraform keys are
    recomputed."""
    plan = everything_plan()
    old = json.loads(dumps_plan(plan))
    del old["terraform_version"], old["configuration"], old["prior_state"]["terraform_version"]
    for rc in [*old["resource_changes"], *old["prior_state"]["values"]["root_module"]["resources"]]:
        rc["provider_name"] = "ctconfig/clevertap"
    (tmp_path / "old.json").write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")
    loaded = load_plan(tmp_path / "old.json")
    assert loaded == plan and dumps_plan(loaded) == dumps_plan(plan)
