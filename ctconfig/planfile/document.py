"""Saved plans: the plan as a JSON document, read back exactly, refused when edited or stale.

`plan -o FILE` writes what `plan --format json` prints: the typed plan
serialised by pydantic (ctconfig's own keys: `actions`, `drift`, `prior`, …),
computed keys beside it (`ctconfig_format`, `ctconfig_version`, `digest`,
`summary`), and Terraform's plan representation (`format_version` "1.2",
`terraform_version`, `resource_changes`, `resource_drift`, `prior_state`,
`configuration`, …) for policy tools. Like `terraform show -json`, it is one
line of compact JSON (some plan scanners read a document line by line);
`--pretty` indents it for people. Loading validates ctconfig's keys against
the same types, ignores the computed ones (they are recomputed from the plan,
so a file saved before the Terraform keys changed still loads) and recomputes
the digest, so an edit to what would be done is refused. Plans saved in
another ctconfig plan format are refused with the command that makes a new
one: a plan is short-lived.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from ctconfig import __version__
from ctconfig.jsonshape import Shape, ShapeError, parse_json
from ctconfig.jsontypes import describe_validation
from ctconfig.plan import Plan, PlanError
from ctconfig.planfile.terraform import terraform_view
from ctconfig.planfile.terraform_types import TerraformView

CTCONFIG_FORMAT = 3
"""ctconfig's own plan format: 1 (ctconfig 0.1) and 2 wrote it as a number in `format_version`,
which now holds Terraform's representation version (a string)."""
MAX_PLAN_BYTES = 64 * 1024 * 1024
MAX_PLAN_MEMBERS = 200_000
"""The most actions, changes or resources one list of a plan holds (twice the most a state has)."""
PLAN_SHAPE = Shape(
    "plan file",
    widths=(64, *(MAX_PLAN_MEMBERS,) * 7),
    max_values=5_000_000,
    max_containers=1_000_000,
)
"""A plan file before validation: its ~25 keys, and Terraform's representation nests 7 deep. A plan
of 10,000 changes holds 1.5 million keys and values and 195,000 objects and arrays in 26 MB;
64 MiB of plan holds fewer than 5 million and 1 million."""
COMPUTED_CTCONFIG_KEYS = ("ctconfig_format", "ctconfig_version", "digest", "summary")
COMPUTED = frozenset(COMPUTED_CTCONFIG_KEYS) | frozenset(TerraformView.__annotations__)
"""Keys derived from the plan: written for readers, ignored on load."""


@functools.cache
def _plan_adapter() -> TypeAdapter[Plan]:
    """Built on first use: a TypeAdapter costs milliseconds to build, paid by every command at import."""
    return TypeAdapter(Plan)


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as JSON data: the typed plan, its digest and counts, and Terraform's representation."""
    data: dict[str, Any] = _plan_adapter().dump_python(plan, mode="json")
    data.update(
        ctconfig_format=CTCONFIG_FORMAT,
        ctconfig_version=__version__,
        digest=plan.digest,
        summary={kind.value: n for kind, n in plan.counts().items()},
    )
    data.update(terraform_view(plan))
    return data


def dumps_json(data: Any, pretty: bool = False) -> str:
    """JSON with sorted keys and a final newline: one line, or indented by two spaces for people."""
    option = orjson.OPT_SORT_KEYS | (orjson.OPT_INDENT_2 if pretty else 0)
    return orjson.dumps(data, option=option).decode() + "\n"


def dumps_plan(plan: Plan, pretty: bool = False) -> str:
    """The plan document as one line of JSON with sorted keys (`pretty`: indented)."""
    return dumps_json(plan_document(plan), pretty)


def save_plan(plan: Plan, path: Path, pretty: bool = False) -> None:
    """Write a plan file (it holds no secret: settings, remote ids and reasons only)."""
    try:
        path.write_text(dumps_plan(plan, pretty), encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"cannot write the plan file {path}: {exc.strerror or exc}") from None


def load_plan(path: Path) -> Plan:
    """Read a plan file written by `plan -o`; refuse an edited, foreign or old one."""
    try:
        if path.stat().st_size > MAX_PLAN_BYTES:
            raise PlanError(f"{path} is larger than any plan file ctconfig writes; refusing it")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PlanError(f"plan file {path} does not exist") from None
    except OSError as exc:
        raise PlanError(f"cannot read the plan file {path}: {exc.strerror or exc}") from None
    try:
        data = parse_json(raw, PLAN_SHAPE)
    except ShapeError as exc:
        raise PlanError(f"{path}: {exc}") from None
    return plan_from_document(data, str(path))


def plan_from_document(data: Any, source: str) -> Plan:
    """Validate a plan document and check its digest."""
    if not isinstance(data, dict):
        raise PlanError(f"{source} is not a ctconfig plan file")
    _check_format(data, source)
    fields = {k: v for k, v in data.items() if k not in COMPUTED}
    try:
        plan = _plan_adapter().validate_python(fields)
    except ValidationError as exc:
        raise PlanError(f"{source} is malformed: {describe_validation(exc)}") from None
    if data.get("digest") != plan.digest:
        raise PlanError(f"{source} was edited after it was saved (digest mismatch)")
    return plan


def _check_format(data: dict[str, Any], source: str) -> None:
    """Refuse a document that is not a plan this ctconfig wrote, saying what to do."""
    found = data.get("ctconfig_format")
    old = data.get("format_version")
    if found is None and isinstance(old, int) and not isinstance(old, bool):
        found = old  # ctconfig 0.1 and format 2 kept their format number there
    elif found is None:
        raise PlanError(
            f"{source} is not a ctconfig plan file (it has no ctconfig_format; "
            "a `terraform show -json` plan cannot be applied by ctconfig)"
        )
    if found != CTCONFIG_FORMAT:
        raise PlanError(
            f"{source}: plan format {found!r} is not {CTCONFIG_FORMAT}; it was saved by another ctconfig "
            "version. Re-run `ctconfig plan -o FILE` with this one and review it again."
        )
