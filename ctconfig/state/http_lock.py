"""ctconfig's lock owner record in Terraform's lock-info JSON, and back.

Terraform's lock info has `ID`, `Operation`, `Info`, `Who`, `Version`,
`Created` and `Path`. ctconfig sends `Who` as `who@host` and keeps the
fields Terraform has no place for (who, host, pid) as JSON in `Info`, so the
"state is locked by alice@ci-7 (pid 4242) running apply" message survives a
round trip through the server. Lock info written by Terraform itself, or the
sparser record GitLab answers with, maps as well as it can: `Who` split at
its last `@`, `OperationTypeApply` read as `apply`, a pid of 0 when unknown
(the holder is then described without one: Terraform's locks name no process).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from ctconfig.domain import moment_text
from ctconfig.jsonshape import ShapeError, parse_json
from ctconfig.state.base import LockInfo
from ctconfig.state.limits import LOCK_SHAPE

_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def to_terraform_lock(info: LockInfo, version: str) -> dict[str, Any]:
    """The body of a LOCK/UNLOCK request for this owner record."""
    return {
        "ID": info.id,
        "Operation": info.operation,
        "Info": json.dumps({"who": info.who, "host": info.host, "pid": info.pid}, sort_keys=True),
        "Who": f"{info.who}@{info.host}",
        "Version": version,
        "Created": info.created,
        "Path": "",
    }


def from_terraform_lock(data: Any) -> LockInfo | None:
    """The owner record in a server's lock info; None when the body names no lock ID."""
    if not isinstance(data, dict) or not isinstance(data.get("ID"), str) or not data["ID"]:
        return None
    extra = _info_fields(data.get("Info"))
    who_field = str(data.get("Who") or "")
    name, at, machine = who_field.rpartition("@")
    try:
        pid = int(extra.get("pid") or 0)
    except (TypeError, ValueError):
        pid = 0
    return LockInfo(
        id=data["ID"],
        who=str(extra.get("who") or (name if at else who_field) or "?"),
        host=str(extra.get("host") or (machine if at else "?")),
        pid=pid,
        operation=_operation(str(data.get("Operation") or "?")),
        created=_utc_timestamp(str(data.get("Created") or "")),
    )


def _info_fields(info: Any) -> dict[str, Any]:
    """The who/host/pid ctconfig keeps in `Info`; empty for anyone else's free text."""
    if not isinstance(info, str) or not info.startswith("{"):
        return {}
    try:
        fields = parse_json(info, LOCK_SHAPE)
    except ShapeError:
        return {}
    return fields if isinstance(fields, dict) else {}


def _operation(value: str) -> str:
    """`OperationTypeApply` (Terraform) reads as `apply`; ctconfig's own names pass through."""
    if value.startswith("OperationType") and len(value) > len("OperationType"):
        return value.removeprefix("OperationType").lower()
    return value


def _utc_timestamp(value: str) -> str:
    """Terraform's nanosecond RFC 3339 (or GitLab's offset form) as ctconfig's `...Z` seconds."""
    match = _TIMESTAMP.match(value.strip())
    if not match:
        return value
    base, _, zone = match.groups()
    offset = "+00:00" if zone in (None, "Z") else zone
    if len(offset) == 5:
        offset = f"{offset[:3]}:{offset[3:]}"
    moment = datetime.fromisoformat(f"{base.replace(' ', 'T')}{offset}").astimezone(UTC)
    return moment_text(moment)
