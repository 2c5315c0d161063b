"""The JSON Schema of the config, generated from the models (for editors and CI).

It says what `ctconfig validate` says wherever JSON Schema can express it: the value
types carry their own schema (`types.py`), and this module adds what pydantic cannot
see — any value except a `*_env` name may be a `${VAR}` reference (validate checks
what it becomes; a schema cannot know the environment), a section's variant may be
interpolated too, and the rules that tie sections together (`consistency.py`).
What no JSON Schema can express (duplicate names regardless of case, ids across
accounts, `rotate_before` shorter than `expires_in`, sink slots, the templates `use:` names,
earlier aliases, and `removed:` addresses the config still declares) only `validate` checks;
`tests/config/test_schema_agreement.py` lists each such case.
"""

from __future__ import annotations

import json
from typing import Any

from ctconfig.config.spec import Config

SCHEMA_ID = "https://github.com/ctconfig/ctconfig/schemas/ctconfig.schema.json"
INTERPOLATED: dict[str, Any] = {
    "type": "string",
    "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}",
    "description": "A ${VAR} or ${VAR:-default} reference, checked by `ctconfig validate` once substituted.",
}
_CLEVERTAP_NEEDS_CREDENTIALS: dict[str, Any] = {
    "if": {
        "required": ["provider"],
        "properties": {"provider": {"required": ["kind"], "properties": {"kind": {"const": "clevertap"}}}},
    },
    "then": {
        "properties": {
            "accounts": {
                "additionalProperties": {
                    "required": ["credentials"],
                    "properties": {"credentials": {"type": "object"}},
                }
            }
        }
    },
}


def _is_leaf(schema: dict[str, Any]) -> bool:
    """A schema for one scalar (or a list of them): not a model, not a mapping of models."""
    if "$ref" in schema or schema.get("type") == "object":
        return False
    return all(_is_leaf(member) for member in schema.get("anyOf", []))


def _interpolable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or a `${VAR}` reference; list items likewise."""
    if "items" in schema:
        schema = {**schema, "items": _interpolable(schema["items"])}
    if "anyOf" in schema:
        schema = {**schema, "anyOf": [_interpolable(member) for member in schema["anyOf"]]}
    if schema.get("type") == "array":
        return schema
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"$ref": "#/$defs/Interpolated"}]}
    outer: dict[str, Any] = {key: schema[key] for key in ("title", "description", "default") if key in schema}
    inner = {key: value for key, value in schema.items() if key not in outer}
    return {**outer, "anyOf": [inner, {"$ref": "#/$defs/Interpolated"}]}


def _open_variants(schema: dict[str, Any]) -> dict[str, Any]:
    """A tagged section: `anyOf` (a `${VAR}` tag may fit several variants), no OpenAPI keyword."""
    if "oneOf" not in schema:
        return schema
    return {
        key: value for key, value in schema.items() if key not in ("oneOf", "discriminator")
    } | {"anyOf": schema["oneOf"]}


def _adjust_model(model: dict[str, Any]) -> None:
    for name, prop in model.get("properties", {}).items():
        prop = _open_variants(prop)
        if _is_leaf(prop) and not name.endswith("_env"):
            prop = _interpolable(prop)
        model["properties"][name] = prop


def config_json_schema() -> dict[str, Any]:
    """The schema editors use (yaml-language-server) to complete and check ctconfig.yaml."""
    schema = Config.model_json_schema(by_alias=True, mode="validation")
    for model in [schema, *schema.get("$defs", {}).values()]:
        _adjust_model(model)
    schema["$defs"]["Interpolated"] = INTERPOLATED
    schema["allOf"] = [_CLEVERTAP_NEEDS_CREDENTIALS]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "ctconfig configuration (version 1)",
        "description": "CleverTap API passcodes as code: accounts, account passcodes, user grants.",
        **schema,
    }


def schema_text() -> str:
    """The schema as written to schemas/ctconfig.schema.json: stable order, trailing newline."""
    return json.dumps(config_json_schema(), indent=2, sort_keys=True) + "\n"
