"""The JSON Schema of plan documents (`schemas/plan.schema.json`): ctconfig's keys and Terraform's."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from ctconfig.plan import Plan
from ctconfig.planfile.terraform_types import TerraformView


class PlanDocumentKeys(TerraformView):
    """The computed keys of a plan document: ctconfig's and Terraform's representation."""

    ctconfig_format: Literal[3]
    ctconfig_version: Annotated[str, Field(max_length=64)]
    digest: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
    summary: dict[str, Annotated[int, Field(ge=0)]]


def plan_json_schema() -> dict[str, Any]:
    """The schema generated from the plan's types and the Terraform representation's types."""
    schema: dict[str, Any] = TypeAdapter(Plan).json_schema(mode="serialization")
    computed: dict[str, Any] = TypeAdapter(PlanDocumentKeys).json_schema(mode="serialization")
    defs = schema.setdefault("$defs", {})
    clash = set(defs) & set(computed.get("$defs", {}))
    if clash:
        raise AssertionError(f"schema definitions defined twice: {sorted(clash)}")
    defs.update(computed.get("$defs", {}))
    schema["properties"].update(computed["properties"])
    schema["required"] = sorted({*schema.get("required", []), *computed["required"]})
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ctconfig plan"
    schema["description"] = (
        "A ctconfig plan (`ctconfig plan --format json`, `plan -o FILE`): ctconfig's typed plan, "
        "and Terraform's JSON plan representation (format 1.2) beside it for policy tools."
    )
    return schema
