"""Run the example policies (examples/policy/*.rego) with regopy, as a CI policy step would run OPA."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from regopy import Interpreter

POLICIES = Path(__file__).parents[2] / "examples" / "policy"

Verdicts = dict[str, dict[str, list[str]]]
"""Per policy package: its `deny` and `warn` messages, sorted."""


def evaluate(document: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> Verdicts:
    """Every policy's `deny` and `warn` for one plan JSON document (params: data.ctconfig.params)."""
    rego = Interpreter()
    modules = sorted(POLICIES.glob("*.rego"))
    assert modules, f"no policies in {POLICIES}"
    for path in modules:
        rego.add_module(path.name, path.read_text())
    if params is not None:
        rego.add_data({"ctconfig": {"params": dict(params)}})
    rego.set_input(dict(document))
    output = rego.query("result := data.ctconfig.policy")
    assert output.ok(), str(output)
    packages = output.results[0].bindings["result"]
    assert set(packages) == {p.stem for p in modules}, packages
    return {
        name: {"deny": sorted(rules.get("deny", [])), "warn": sorted(rules.get("warn", []))}
        for name, rules in packages.items()
    }


def denials(verdicts: Verdicts) -> dict[str, list[str]]:
    """Only the policies that deny, with their messages."""
    return {name: v["deny"] for name, v in verdicts.items() if v["deny"]}
