"""Views of the state for `state list`, `state show` and `state history`.

Status is judged from what state recorded (`expires_at`, `retire_after`), so
these views need no call to the account.
"""

from __future__ import annotations

import json
from datetime import datetime

from ctconfig.columns import aligned
from ctconfig.domain import RETIRING_MARK, Address, expiry_status
from ctconfig.render.escape import terminal_safe
from ctconfig.state.base import HistoryEntry
from ctconfig.state.document import (
    AccountPasscodeRecord,
    Origin,
    RecordType,
    SettingsRecord,
    State,
    record_json,
)

UNKNOWN_SECRET = (
    "secret unknown: ctconfig did not create this passcode (it was adopted or imported); "
    "rotate it with `ctconfig apply --replace {address}` to get its secret into the sink"
)


def record_status(record: RecordType, now: datetime) -> str:
    """`active`, `expiring soon`, `expired` or `retiring` for passcodes; the mode for settings."""
    if isinstance(record, SettingsRecord):
        return f"passcode_mode {record.passcode_mode}"
    if isinstance(record, AccountPasscodeRecord) and (record.retire_after or RETIRING_MARK in record.name):
        return "retiring"
    return expiry_status(record.expires_at, now).value


def record_flags(record: RecordType) -> list[str]:
    """What needs attention: tainted (and why), a secret ctconfig does not hold."""
    if not isinstance(record, AccountPasscodeRecord):
        return []
    flags = []
    if record.tainted:
        flags.append(f"tainted: {record.tainted}")
    elif record.secret_fingerprint is None and record.retire_after is None:
        flags.append(
            "secret unknown" + (f" ({record.origin.value})" if record.origin is not Origin.CREATED else "")
        )
    return flags


def resource_table(state: State, now: datetime) -> list[str]:
    """One aligned row per resource: address, kind, status and flags."""
    rows = [("ADDRESS", "KIND", "STATUS", "NOTES")]
    for address, record in sorted(state.resources.items()):
        rows.append(
            (
                terminal_safe(str(address)),
                record.kind,
                record_status(record, now),
                "; ".join(record_flags(record)),
            )
        )
    return aligned(rows)


def resource_lines(address: Address, record: RecordType, now: datetime) -> list[str]:
    """`state show`: every recorded field, the status, then plain-words warnings."""
    lines = [terminal_safe(str(address)), f"  status: {record_status(record, now)}"]
    for key, value in sorted(record_json(record).items()):
        lines.append(f"  {key}: {terminal_safe(json.dumps(value, ensure_ascii=False))}")
    if isinstance(record, AccountPasscodeRecord):
        if record.tainted:
            lines.append(f"tainted: {terminal_safe(record.tainted)}; the next plan replaces it")
        elif record.secret_fingerprint is None and record.retire_after is None:
            lines.append(UNKNOWN_SECRET.format(address=address))
    return lines


def history_lines(entries: list[HistoryEntry]) -> list[str]:
    """`state history`: serial, time, who, and a one-line summary per version."""
    rows = [("SERIAL", "WRITTEN", "WHO", "SUMMARY")]
    for entry in entries:
        audit = entry.audit
        if audit is None:
            rows.append((str(entry.serial), terminal_safe(entry.created) or "-", "-", "(no audit record)"))
            continue
        summary = audit.operation + (f": {audit.summary}" if audit.summary else "")
        if audit.plan_digest:
            summary += f" [plan {audit.plan_digest}]"
        written = terminal_safe(audit.when or entry.created)
        rows.append((str(entry.serial), written, terminal_safe(audit.who), terminal_safe(summary)))
    return aligned(rows)
