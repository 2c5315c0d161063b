"""Saved plans and the machine view of plans: ctconfig's typed plan and Terraform's representation.

`document` saves and loads plan files; `terraform` computes Terraform's JSON
plan representation from a plan; `schema` generates `schemas/plan.schema.json`.
"""

from __future__ import annotations

from ctconfig.planfile.document import (
    CTCONFIG_FORMAT,
    MAX_PLAN_BYTES,
    dumps_json,
    dumps_plan,
    load_plan,
    plan_document,
    plan_from_document,
    save_plan,
)
from ctconfig.planfile.schema import plan_json_schema
from ctconfig.planfile.terraform import terraform_actions, terraform_view

__all__ = [
    "CTCONFIG_FORMAT",
    "MAX_PLAN_BYTES",
    "dumps_json",
    "dumps_plan",
    "load_plan",
    "plan_document",
    "plan_from_document",
    "plan_json_schema",
    "save_plan",
    "terraform_actions",
    "terraform_view",
]
