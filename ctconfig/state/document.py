"""The state document: lineage, serial and the managed resources by address.

State is serialised with sorted keys and stable indentation so that a
`git diff` of it reads as an audit record. It never holds a secret: only
`secret_fingerprint`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from ctconfig import __version__
from ctconfig.errors import CtconfigError

FORMAT_VERSION = 1


class StateError(CtconfigError):
    """A state document is malformed, stale, or refused by its backend."""


@dataclass(frozen=True)
class ResourceState:
    """One managed resource as last seen by ctconfig.

    `attributes` holds the managed attributes with stable JSON types:
    account passcodes: name, expires_in ("90d" | "forever"), created_at, expires_at,
    and for a rotated-out passcode retire_after;
    user passcodes: email, validity ("30d" | "infinite"), granted_at, expires_at;
    settings: passcode_mode.
    """

    kind: str
    account_id: str
    remote_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    secret_fingerprint: str | None = None
    secret_known: bool = True
    tainted: str | None = None  # why it must be replaced, e.g. "secret sink failed"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "account_id": self.account_id,
            "remote_id": self.remote_id,
            "attributes": dict(self.attributes),
            "secret_fingerprint": self.secret_fingerprint,
            "secret_known": self.secret_known,
        }
        if self.tainted:
            data["tainted"] = self.tainted
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResourceState:
        return cls(
            kind=str(data["kind"]),
            account_id=str(data["account_id"]),
            remote_id=data.get("remote_id"),
            attributes=dict(data.get("attributes") or {}),
            secret_fingerprint=data.get("secret_fingerprint"),
            secret_known=bool(data.get("secret_known", True)),
            tainted=data.get("tainted"),
        )

    def with_attributes(self, **changes: Any) -> ResourceState:
        return replace(self, attributes={**self.attributes, **changes})


@dataclass(frozen=True)
class State:
    """An immutable state version. `serial` grows by one on every write."""

    lineage: str
    serial: int = 0
    resources: dict[str, ResourceState] = field(default_factory=dict)
    ctconfig_version: str = __version__

    @classmethod
    def new(cls) -> State:
        return cls(lineage=str(uuid.uuid4()), serial=0)

    def with_resources(self, resources: dict[str, ResourceState]) -> State:
        return replace(self, resources=dict(resources))

    def next_version(self) -> State:
        """The version to write next: serial + 1, stamped with this ctconfig."""
        return replace(self, serial=self.serial + 1, ctconfig_version=__version__)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "lineage": self.lineage,
            "serial": self.serial,
            "ctconfig_version": self.ctconfig_version,
            "resources": {addr: res.to_json() for addr, res in self.resources.items()},
        }

    def dumps(self) -> str:
        """Canonical text: sorted keys, two-space indent, trailing newline."""
        return json.dumps(self.to_json(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise StateError(
                f"unsupported state format_version {data.get('format_version')!r}"
                if isinstance(data, dict)
                else "state is not a JSON object"
            )
        try:
            return cls(
                lineage=str(data["lineage"]),
                serial=int(data["serial"]),
                ctconfig_version=str(data.get("ctconfig_version", "")),
                resources={
                    str(addr): ResourceState.from_json(res)
                    for addr, res in (data.get("resources") or {}).items()
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"malformed state document: {exc}") from exc

    @classmethod
    def loads(cls, text: str | bytes, source: str = "state") -> State:
        """Parse and validate a state document; `source` (a path, `postgres:prod`) prefixes errors."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StateError(f"{source}: not valid JSON: {exc}") from exc
        try:
            return cls.from_json(data)
        except StateError as exc:
            raise StateError(f"{source}: {exc}") from exc
