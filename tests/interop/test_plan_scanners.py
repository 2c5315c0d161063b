"""Terraform plan scanners nobody here wrote, run unchanged on ctconfig's plan JSON: checkov,
terraform-compliance, terraform-unidiff and a Rego policy in Terraform's idioms.

The plans hold every kind of change ctconfig makes (creates, grants, updates, rotations,
revoke-and-grant, deletes, revokes, the passcode mode, resources left alone) and drift
(`tests/planner/test_plan_file.py` builds them). The tools are installed from the package
registries in their own environments (`tests/external_tools.py`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regopy import Interpreter

from ctconfig.planfile import dumps_plan, plan_document
from ctconfig.planfile.terraform_types import PROVIDER_NAME
from tests.external_tools import node_modules_or_skip, tool_or_skip
from tests.planner.test_plan_file import drift_plan, everything_plan
from tests.policy.rego import denials, evaluate

HERE = Path(__file__).parent
pytestmark = pytest.mark.timeout(1200)  # the first test to need a tool waits for its install

PlanFile = Callable[[str], tuple[Path, dict[str, Any]]]


@pytest.fixture
def plan_file(tmp_path: Path) -> PlanFile:
    """`everything` or `drift` written as `ctconfig plan -o` writes it, and the document."""

    def write(which: str) -> tuple[Path, dict[str, Any]]:
        plan = everything_plan() if which == "everything" else drift_plan()
        path = tmp_path / f"{which}.json"
        path.write_text(dumps_plan(plan))
        return path, plan_document(plan)

    return write


def run(command: list[str | Path], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, **env},
    )


def planned(document: dict[str, Any]) -> list[str]:
    return [r["address"] for r in document["planned_values"]["root_module"]["resources"]]


# ---- checkov -------------------------------------------------------------------------------------


def checkov(*plans: Path) -> tuple[int, dict[str, Any]]:
    files = [part for plan in plans for part in ("-f", plan)]
    done = run(
        [
            tool_or_skip("checkov"),
            *files,
            "--framework",
            "terraform_plan",
            "--external-checks-dir",
            HERE / "checkov_checks",
            "--check",
            "CKV_CTCONFIG_1",
            "--skip-download",  # never ask Prisma Cloud for anything
            "-o",
            "json",
        ],
        plans[0].parent,
        BC_SKIP_MAPPING="TRUE",
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    report = json.loads(done.stdout)
    return done.returncode, report


@pytest.mark.slow
def test_checkov_counts_every_planned_resource_and_a_custom_check_fires(plan_file: PlanFile) -> None:
    (everything, document), (drift, drifted) = plan_file("everything"), plan_file("drift")
    code, report = checkov(everything, drift)  # one run: checkov takes seconds to start
    changes = document["resource_changes"]
    kept = [rc["address"] for rc in changes if rc["change"]["after"] is not None]
    assert sorted(planned(document)) == sorted(kept) and len(kept) == len(changes) - 4 == 11
    # checkov scans planned_values, as for Terraform's plans: every change but the deletes and revokes
    assert report["summary"]["resource_count"] == len(kept) + len(planned(drifted)) == 11 + 5
    results = report["results"]
    failed = [(c["check_id"], Path(c["file_path"]).name, c["resource"]) for c in results["failed_checks"]]
    assert failed == [("CKV_CTCONFIG_1", "everything.json", "prod/account_passcode/fresh")] and code == 1
    passed = {(Path(c["file_path"]).name, c["resource"]) for c in results["passed_checks"]}
    passcodes = {a for a in kept if "/account_passcode/" in a} - {"prod/account_passcode/fresh"}
    drift_passcodes = {a for a in planned(drifted) if "/account_passcode/" in a}
    assert passed == {("everything.json", a) for a in passcodes} | {
        ("drift.json", a) for a in drift_passcodes
    }


# ---- terraform-compliance ------------------------------------------------------------------------


def compliance(plan: Path) -> subprocess.CompletedProcess[str]:
    tool = tool_or_skip("terraform-compliance")
    return run([tool, "--no-ansi", "-p", plan, "-f", HERE / "features"], plan.parent)


@pytest.mark.slow
def test_terraform_compliance_passes_and_fails_a_feature_file(plan_file: PlanFile) -> None:
    good, _ = plan_file("drift")
    passing = compliance(good)
    assert passing.returncode == 0, passing.stdout[-3000:]
    assert "2 scenarios (2 passed)" in passing.stdout
    bad, _ = plan_file("everything")
    failing = compliance(bad)
    assert failing.returncode == 1, failing.stdout[-3000:]
    assert (
        "expires_in property in prod/account_passcode/fresh resource matches with ^forever$" in failing.stdout
    )
    assert "2 scenarios (1 passed, 1 failed)" in failing.stdout


# ---- terraform-unidiff ---------------------------------------------------------------------------


def test_terraform_unidiff_accepts_the_plan_and_counts_its_changes(plan_file: PlanFile) -> None:
    path, document = plan_file("everything")
    modules = node_modules_or_skip()
    done = run(["node", modules / "@ahmadnassri" / "terraform-unidiff" / "bin.js", path], path.parent)
    assert done.returncode == 0, done.stderr
    words = [word for rc in document["resource_changes"] for word in rc["change"]["actions"]]
    add, change, destroy = words.count("create"), words.count("update"), words.count("delete")
    assert (add, change, destroy) == (6, 3, 8)
    assert done.stdout.rstrip().endswith(f"Plan: {add} to add, {change} to change, {destroy} to destroy")
    changed = [rc["address"] for rc in document["resource_changes"] if rc["change"]["actions"] != ["no-op"]]
    assert [
        line.removeprefix("Index: ") for line in done.stdout.splitlines() if line.startswith("Index: ")
    ] == (changed)
    assert "-expires_in: 30d\n+expires_in: 60d" in done.stdout  # prod/account_passcode/edit


# ---- Rego in Terraform's idioms ------------------------------------------------------------------


def idioms(document: dict[str, Any]) -> dict[str, Any]:
    rego = Interpreter()
    rego.add_module("terraform_idioms.rego", (HERE / "policies" / "terraform_idioms.rego").read_text())
    rego.set_input(document)
    output = rego.query("result := data.terraform.idioms")
    assert output.ok(), str(output)
    result: dict[str, Any] = output.results[0].bindings["result"]
    return result


def test_a_policy_picking_resources_by_provider_type_sees_ctconfigs(plan_file: PlanFile) -> None:
    _, document = plan_file("everything")
    assert {rc["provider_name"] for rc in document["resource_changes"]} == {PROVIDER_NAME}
    result = idioms(document)
    assert len(result["clevertap_changes"]) == len(document["resource_changes"])
    assert sorted(result["deny"]) == [  # deletes and revokes; rotations (create, then delete) pass
        'prod/account_passcode/broken: ["delete", "create"]',  # tainted: replaced delete-first
        'prod/account_passcode/gone: ["delete"]',
        'prod/account_passcode/legacy: ["delete"]',
        'prod/account_passcode/seg~retiring-20261101: ["delete"]',
        'prod/user_passcode/bob@example.com: ["delete", "create"]',
        'prod/user_passcode/dan@example.com: ["delete"]',
    ]
    assert sorted(result["declared"]) == sorted(planned(document))
    drift = idioms(plan_file("drift")[1])
    assert drift["deny"] == [] and len(drift["clevertap_changes"]) == 5


def test_the_example_policies_judge_the_same_plans(plan_file: PlanFile) -> None:
    """examples/policy/*.rego (tests/policy runs each on its own cases) on the plans above."""
    _, document = plan_file("everything")
    params = {"protected_names": ["gone", "seg", "bob@example.com"]}
    assert denials(evaluate(document, params)) == {
        "protected_deletes": [  # a rotation (create, then delete) keeps seg alive; revoking bob does not
            "prod/account_passcode/gone: [\"delete\"] would delete 'gone', a protected name (gone)",
            'prod/user_passcode/bob@example.com: ["delete", "create"] would delete \'bob@example.com\', '
            "a protected name (bob@example.com)",
        ],
        "require_expiry": [
            "prod/account_passcode/fresh: account passcodes must expire (expires_in is forever)",
            "prod/user_passcode/bob@example.com: user passcodes must have a finite validity (it is infinite)",
        ],
    }
    drift = evaluate(plan_file("drift")[1])
    assert denials(drift) == {} and len(drift["drift"]["warn"]) == 4
