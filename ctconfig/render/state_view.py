"""Views of the state for `state list`, `state show` and `state history`.

Status is judged from what state recorded (`expires_at`, the retiring name
marker), so these views need no call to the account.
"""

from __future__ import annotations

import json
from datetime import datetime

from ctconfig.domain import RETIRING_MARK, ResourceKind, expiry_status, parse_isoformat
from ctconfig.state.base import HistoryEntry
from ctconfig.state.document import ResourceState, State

UNKNOWN_SECRET = (
    "secret unknown: this passcode was adopted (imported); rotate it to get a secret into the sink"
)


def resource_status(address: str, resource: ResourceState, now: datetime) -> str:
    """`active`, `expiring soon`, `expired` or `retiring` for passcodes; the mode for settings."""
    attributes = resource.attributes
    if resource.kind == ResourceKind.SETTINGS:
        return f"passcode_mode {attributes.get('passcode_mode', '?')}"
    name = str(attributes.get("name") or address.rsplit("/", 1)[-1])
    if resource.kind == ResourceKind.ACCOUNT_PASSCODE and RETIRING_MARK in name:
        return "retiring"
    try:
        expires_at = parse_isoformat(attributes.get("expires_at"))
    except (TypeError, ValueError):
        return "unknown expiry"
    return expiry_status(expires_at, now).value


def resource_flags(resource: ResourceState) -> list[str]:
    """What needs attention: tainted (and why), a secret ctconfig never saw."""
    flags = []
    if resource.tainted:
        flags.append(f"tainted: {resource.tainted}")
    if resource.kind == ResourceKind.ACCOUNT_PASSCODE and not resource.secret_known:
        flags.append("secret unknown")
    return flags


def resource_table(state: State, now: datetime) -> list[str]:
    """One aligned row per resource: address, kind, status and flags."""
    rows = [("ADDRESS", "KIND", "STATUS", "NOTES")]
    for address in sorted(state.resources):
        resource = state.resources[address]
        status = resource_status(address, resource, now)
        rows.append((address, resource.kind, status, "; ".join(resource_flags(resource))))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return [
        (
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            + f"  {row[3]}"
        ).rstrip()
        for row in rows
    ]


def resource_lines(address: str, resource: ResourceState, now: datetime) -> list[str]:
    """`state show`: identity, status, fingerprint, attributes, then plain-words warnings."""
    lines = [
        address,
        f"  kind:               {resource.kind}",
        f"  account_id:         {resource.account_id}",
        f"  remote_id:          {resource.remote_id or '-'}",
        f"  status:             {resource_status(address, resource, now)}",
    ]
    if resource.kind == ResourceKind.ACCOUNT_PASSCODE:
        lines.append(f"  secret_fingerprint: {resource.secret_fingerprint or '-'}")
    lines.append("  attributes:")
    for key in sorted(resource.attributes):
        lines.append(f"    {key}: {json.dumps(resource.attributes[key], ensure_ascii=False)}")
    if resource.kind == ResourceKind.ACCOUNT_PASSCODE and not resource.secret_known:
        lines.append(UNKNOWN_SECRET)
    if resource.tainted:
        lines.append(f"tainted: {resource.tainted}; the next plan replaces it")
    return lines


def history_lines(entries: list[HistoryEntry]) -> list[str]:
    """`state history`: serial, time, who, and a one-line summary per version."""
    rows = [("SERIAL", "WRITTEN", "WHO", "SUMMARY")]
    for entry in entries:
        audit = entry.audit
        if audit is None:
            rows.append((str(entry.serial), entry.created or "-", "-", "(no audit record)"))
            continue
        summary = audit.operation + (f": {audit.summary}" if audit.summary else "")
        if audit.plan_digest:
            summary += f" [plan {audit.plan_digest}]"
        rows.append((str(entry.serial), audit.when or entry.created, audit.who, summary))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + f"  {row[3]}"
        for row in rows
    ]
