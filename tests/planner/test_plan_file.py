"""Saved plans: JSON that matches the schema, round-trips, and refuses staleness and edits."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ctconfig.plan import Plan, PlanError, PlanStamp, StalePlanError, check_fresh
from ctconfig.planfile import dumps_plan, load_plan, plan_json_schema, save_plan
from ctconfig.planner import PlanOptions, make_plan
from ctconfig.render.plan_markdown import render_markdown
from ctconfig.render.plan_text import render_summary, render_text
from tests.planner.helpers import NOW, account, config, grant, passcode, snapshot, state_of

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
    assert len(small) <= 3_000 and "more than a comment can hold" in small


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
