"""Saved plans: the plan as a JSON document, read back exactly, refused when edited or stale.

`plan -o FILE` writes what `plan --format json` prints: the typed plan
serialised by pydantic, with its digest, counts and Terraform-style
`resource_changes` beside it for policy tools. Loading validates the document
against the same types and recomputes the digest, so an edited plan file is
refused. Format 1 (ctconfig 0.1) files are refused with the command that
makes a new one: a plan is short-lived, re-planning is always possible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from ctconfig import __version__
from ctconfig.jsontypes import describe_validation
from ctconfig.plan import Action, Plan, PlanError, replace_order, settings_json

PLAN_FORMAT_VERSION = 2
MAX_PLAN_BYTES = 64 * 1024 * 1024
_COMPUTED = ("format_version", "ctconfig_version", "digest", "summary", "resource_changes")

_PLAN: TypeAdapter[Plan] = TypeAdapter(Plan)

# Terraform's `change.actions` vocabulary, so existing policy tools can read our JSON.
TERRAFORM_ACTIONS = {
    "create": ["create"],
    "grant": ["create"],
    "update": ["update"],
    "reset": ["update"],
    "configure": ["update"],
    "delete": ["delete"],
    "revoke": ["delete"],
}


def terraform_actions(action: Action) -> list[str]:
    """`["create"]`, `["delete", "create"]`…: Terraform's words for what an action does."""
    order = replace_order(action)
    if order is None:
        return list(TERRAFORM_ACTIONS[action.kind.value])
    return ["delete", "create"] if order.value == "delete_before_create" else ["create", "delete"]


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as JSON data: the typed plan, its digest and counts, and `resource_changes`."""
    data: dict[str, Any] = _PLAN.dump_python(plan, mode="json")
    data.update(
        format_version=PLAN_FORMAT_VERSION,
        ctconfig_version=__version__,
        digest=plan.digest,
        summary={kind.value: n for kind, n in plan.counts().items()},
        resource_changes=[
            {
                "address": str(a.address),
                "type": a.address.kind.value,
                "change": {
                    "actions": terraform_actions(a),
                    "before": settings_json(a.before),
                    "after": settings_json(a.after),
                },
            }
            for a in plan.actions
        ],
    )
    return data


def dumps_plan(plan: Plan) -> str:
    """The plan document as readable JSON (sorted keys, two-space indent)."""
    return (
        orjson.dumps(plan_document(plan), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    )


def save_plan(plan: Plan, path: Path) -> None:
    """Write a plan file (it holds no secret: settings, remote ids and reasons only)."""
    try:
        path.write_text(dumps_plan(plan), encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot write the plan file {path}: {exc.strerror or exc}") from None


def load_plan(path: Path) -> Plan:
    """Read a plan file written by `plan -o`; refuse an edited, foreign or old one."""
    try:
        if path.stat().st_size > MAX_PLAN_BYTES:
            raise PlanError(f"{path} is larger than any plan file ctconfig writes; refusing it")
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise PlanError(f"plan file {path} does not exist") from None
    except OSError as exc:
        raise PlanError(f"cannot read the plan file {path}: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise PlanError(f"{path} is not a ctconfig plan file: {exc}") from None
    return plan_from_document(data, str(path))


def plan_from_document(data: Any, source: str) -> Plan:
    """Validate a plan document and check its digest."""
    if not isinstance(data, dict):
        raise PlanError(f"{source} is not a ctconfig plan file")
    version = data.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise PlanError(
            f"{source}: plan format_version {version!r} is not {PLAN_FORMAT_VERSION}; it was saved by "
            "another ctconfig version. Re-run `ctconfig plan -o FILE` with this one and review it again."
        )
    fields = {k: v for k, v in data.items() if k not in _COMPUTED}
    try:
        plan = _PLAN.validate_python(fields)
    except ValidationError as exc:
        raise PlanError(f"{source} is malformed: {describe_validation(exc)}") from None
    if data.get("digest") != plan.digest:
        raise PlanError(f"{source} was edited after it was saved (digest mismatch)")
    return plan


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of plan documents, generated from the plan's types (schemas/plan.schema.json)."""
    schema: dict[str, Any] = _PLAN.json_schema(mode="serialization")
    props = schema.setdefault("properties", {})
    props["format_version"] = {"const": PLAN_FORMAT_VERSION}
    props["ctconfig_version"] = {"type": "string"}
    props["digest"] = {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}
    props["summary"] = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
    props["resource_changes"] = {"type": "array", "items": {"type": "object"}}
    schema["required"] = sorted({*schema.get("required", []), *_COMPUTED})
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ctconfig plan"
    return schema
