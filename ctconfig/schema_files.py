"""The JSON Schemas in `schemas/`, generated from the types that read and write each document.

`python -m ctconfig.schema_files` rewrites them; a test fails when a committed
schema differs from what the code generates, so they cannot drift apart.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _config() -> dict[str, Any]:
    from ctconfig.config.schema import config_json_schema

    return config_json_schema()


def _state() -> dict[str, Any]:
    from ctconfig.state.document import state_json_schema

    return state_json_schema()


def _plan() -> dict[str, Any]:
    from ctconfig.planfile import plan_json_schema

    return plan_json_schema()


GENERATED: dict[str, Callable[[], dict[str, Any]]] = {
    "ctconfig.schema.json": _config,
    "state.schema.json": _state,
    "plan.schema.json": _plan,
}


def render(name: str) -> str:
    """The text of one generated schema file: sorted keys, two-space indent, trailing newline."""
    return json.dumps(GENERATED[name](), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(directory: str = "schemas") -> int:
    """Rewrite every generated schema in `directory`."""
    for name in GENERATED:
        (Path(directory) / name).write_text(render(name), encoding="utf-8")
        print(f"wrote {Path(directory) / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
