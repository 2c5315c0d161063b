"""The JSON Schema of the config, generated from the models (for editors and CI)."""

from __future__ import annotations

import json
from typing import Any

from ctconfig.config.spec import Config

SCHEMA_ID = "https://github.com/ctconfig/ctconfig/schemas/ctconfig.schema.json"


def config_json_schema() -> dict[str, Any]:
    """The schema editors use (yaml-language-server) to complete and check ctconfig.yaml."""
    schema = Config.model_json_schema(by_alias=True, mode="validation")
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
