"""The machine view of a plan: the saved-plan document, validated by `schemas/plan.schema.json`."""

from __future__ import annotations

from ctconfig.plan import Plan
from ctconfig.planfile import dumps_plan


def render_json(plan: Plan) -> str:
    """The plan as JSON: ctconfig's typed plan plus Terraform-style `resource_changes`."""
    return dumps_plan(plan)
