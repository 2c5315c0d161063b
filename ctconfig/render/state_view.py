"""Views of the state for `state list`, `state show` and `state history`.

Status is judged from what state recorded (`expires_at`, `retire_after`), so
these views need no call to the account.
"""

from __future__ import annotations

import json
from datetime import datetime

from ctconfig.columns import aligned
from ctconfig.domain import RETIRING_MARK, Address, expiry_status, moment_text
from ctconfig.render.escape import terminal_safe
from ctconfig.state.base import AuditRecord, HistoryEntry
from ctconfig.state.diff import entry_json
from ctconfig.state.document import (
    AccountPasscodeRecord,
    Origin,
    RecordType,
    SettingsRecord,
    State,
    record_json,
)
from ctconfig.state.timeline import LifeEvent

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


def resource_json(address: Address, record: RecordType, now: datetime) -> dict[str, object]:
    """One resource for `--format json`: its address, kind, status, notes and recorded fields."""
    return {
        "address": str(address),
        "kind": record.kind,
        "status": record_status(record, now),
        "notes": record_flags(record),
        "record": record_json(record),
    }


def resources_json(
    state: State, now: datetime, entry: HistoryEntry | None, unmanaged: dict[str, str]
) -> dict[str, object]:
    """`state list --format json`: the version shown, every resource, and what was unmanaged then."""
    return {
        "serial": state.serial,
        "lineage": state.lineage,
        "as_of": moment_text(now),
        "written": entry_json(entry) if entry is not None else None,
        "resources": [resource_json(a, r, now) for a, r in sorted(state.resources.items())],
        "unmanaged": dict(sorted(unmanaged.items())),
    }


def past_header(entry: HistoryEntry) -> str:
    """`State at serial 7, written 2026-11-30T10:00:00Z by alice (apply, commit 0123456789ab).`"""
    audit = entry.audit
    if audit is None:
        return f"State at serial {entry.serial}, written {entry.created or 'at an unknown time'}."
    details = audit.operation + (f", commit {_short_commit(audit.commit)}" if audit.commit else "")
    return (
        f"State at serial {entry.serial}, written {audit.when or entry.created} by "
        f"{terminal_safe(audit.who)} ({terminal_safe(details)})."
    )


def unmanaged_lines(unmanaged: dict[str, str], serial: int | None) -> list[str]:
    """What the accounts held that ctconfig did not manage, as the newest run by then saw it."""
    if not unmanaged:
        return []
    lines = ["", f"In the accounts but not managed by ctconfig (as seen at serial {serial}):"]
    rows = [(f"  {terminal_safe(a)}", f"first seen {terminal_safe(t)}") for a, t in sorted(unmanaged.items())]
    return lines + aligned(rows)


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


def _short_commit(commit: str | None) -> str:
    return terminal_safe(commit[:12]) if commit else "-"


def history_lines(entries: list[HistoryEntry]) -> list[str]:
    """`state history`: serial, time, who, the commit (when CI said), and a one-line summary."""
    with_commits = any(e.audit is not None and e.audit.commit for e in entries)
    header = ("SERIAL", "WRITTEN", "WHO", *(("COMMIT",) if with_commits else ()), "SUMMARY")
    rows: list[tuple[str, ...]] = [header]
    for entry in entries:
        audit = entry.audit
        if audit is None:
            commit = ("-",) if with_commits else ()
            written = terminal_safe(entry.created) or "-"
            rows.append((str(entry.serial), written, "-", *commit, "(no audit record)"))
            continue
        summary = audit.operation + (f": {audit.summary}" if audit.summary else "")
        if audit.plan_digest:
            summary += f" [plan {audit.plan_digest}]"
        summary += "".join(f" [{label} {value}]" for label, value in provenance_words(audit))
        commit = (_short_commit(audit.commit),) if with_commits else ()
        written = terminal_safe(audit.when or entry.created)
        rows.append((str(entry.serial), written, terminal_safe(audit.who), *commit, terminal_safe(summary)))
    return aligned(rows)


def provenance_words(audit: AuditRecord) -> list[tuple[str, str]]:
    """The change, run and note an audit record names (the commit has a column of its own)."""
    found = [("change", audit.change), ("run", audit.run_url), ("note", audit.note)]
    return [(label, value) for label, value in found if value]


def life_lines(address: str, events: list[LifeEvent]) -> list[str]:
    """`state history ADDRESS`: one row per event — serial, time, who, commit, what happened."""
    if not events:
        return [f"No kept version of the state mentions {terminal_safe(address)}."]
    rows: list[tuple[str, ...]] = [("SERIAL", "WHEN", "WHO", "COMMIT", "EVENT")]
    for event in events:
        where = "" if event.address == address else f" {event.address}"
        what = f"{event.event}{where}" + (f": {event.detail}" if event.detail else "")
        if event.change:
            what += f" [change {event.change}]"
        rows.append(
            (
                str(event.serial),
                terminal_safe(event.when or "-"),
                terminal_safe(event.who or "-"),
                _short_commit(event.commit),
                terminal_safe(what),
            )
        )
    return aligned(rows)
