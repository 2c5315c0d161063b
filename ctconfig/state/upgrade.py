"""Older state formats, upgraded on read so that state written by an earlier release still loads.

Format 1 kept each resource's managed attributes in an `attributes`
dictionary and a `secret_known` flag beside the fingerprint; format 2 has one
flat, typed record per resource kind and says where a resource came from
(`origin`). Upgrading is pure and total: a format 1 document that was valid
becomes a valid format 2 document; anything else is refused by validation.
"""

from __future__ import annotations

from typing import Any

from ctconfig.state.document import StateError

_PASSCODE_ATTRIBUTES = ("name", "expires_in", "created_at", "expires_at", "retire_after", "prevent_destroy")
_GRANT_ATTRIBUTES = ("email", "validity", "granted_at", "expires_at", "prevent_destroy")


def upgrade(data: dict[str, Any], source: str) -> dict[str, Any]:
    """`data` in the current format: format 2 as is, format 1 converted."""
    version = data.get("format_version")
    if version == 2:
        return data
    if version is None and _is_terraforms(data):
        raise StateError(
            f"{source} holds a Terraform state (state version {data.get('version')!r}, written by "
            f"Terraform {data.get('terraform_version')!r}), not a ctconfig state; give ctconfig a state "
            "of its own (with GitLab-managed state: another state name in the address)"
        )
    if version != 1:
        raise StateError(
            f"{source}: format_version {version!r} is not one this ctconfig reads (1 or 2); "
            "a newer ctconfig may have written it"
        )
    resources = data.get("resources")
    if not isinstance(resources, dict):
        raise StateError(f"{source}: resources: expected an object of records by address")
    return {
        **{k: v for k, v in data.items() if k in ("lineage", "serial", "ctconfig_version")},
        "format_version": 2,
        "resources": {address: _record(record) for address, record in resources.items()},
    }


def _is_terraforms(data: dict[str, Any]) -> bool:
    """A Terraform state: `version` and `terraform_version`, `resources` a list (ctconfig's: an object)."""
    return "terraform_version" in data or ("version" in data and isinstance(data.get("resources"), list))


def _record(old: Any) -> Any:
    """One format 1 resource as a format 2 record (left alone if it is not even an object)."""
    if not isinstance(old, dict) or not isinstance(old.get("attributes"), dict):
        return old
    attributes: dict[str, Any] = old["attributes"]
    kind = old.get("kind")
    common = {"kind": kind, "account_id": old.get("account_id")}
    if kind == "settings":
        return {**common, "passcode_mode": attributes.get("passcode_mode")}
    if kind == "user_passcode":
        return {**common, **_pick(attributes, _GRANT_ATTRIBUTES), "origin": "created"}
    known = bool(old.get("secret_known", True))
    tainted = old.get("tainted")
    record = {
        **common,
        "id": old.get("remote_id"),
        **_pick(attributes, _PASSCODE_ATTRIBUTES),
        "secret_fingerprint": old.get("secret_fingerprint"),
        "origin": "created" if known or tainted else "adopted",
    }
    if tainted:
        record["tainted"] = tainted
    return record


def _pick(attributes: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: attributes[k] for k in keys if k in attributes}
