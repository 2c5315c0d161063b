"""One address's life across the kept state versions: `ctconfig state history ADDRESS`.

Every kept version is read once, in order, and reduced to the records of the
address's account. A passcode is followed by its remote id (a grant by its
email, settings by the account id), so a rename (`previously:`, a moved account
alias) and a rotation (a new passcode under the name, the old one renamed
aside and retired later) read as what they were, not as one resource removed
and another added. Each event says which version it is in, when and by whom
that version was written, and from which commit and change (the audit record).
Changes made outside ctconfig come from the audit records' `observed` lists,
so a passcode deleted or edited in the dashboard is dated by the run that saw
it, and a passcode the config never managed still has a history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from ctconfig.domain import RETIRING_MARK, Address
from ctconfig.errors import CtconfigError
from ctconfig.state.base import AuditRecord, HistoryEntry, StateBackend
from ctconfig.state.document import (
    AccountPasscodeRecord,
    RecordType,
    SettingsRecord,
    State,
    UserPasscodeRecord,
    record_json,
)

Key = tuple[str, str, str]
"""What stays the same through renames: (kind, account id, remote id or email)."""
Kept = dict[Key, tuple[Address, RecordType]]
_QUIET_FIELDS = frozenset({"created_at", "expires_at", "granted_at", "kind", "account_id", "id"})
"""Fields whose change follows from another one (a new expiry date follows a new term)."""


@dataclass(frozen=True)
class LifeEvent:
    """One thing that happened to the resource, in the version that recorded it."""

    serial: int
    when: str
    who: str
    operation: str
    commit: str | None
    change: str | None
    address: str
    event: str  # created, adopted, imported, renamed, rotated, updated, changed outside, reset, …
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "when": self.when,
            "who": self.who,
            "operation": self.operation,
            "commit": self.commit,
            "change": self.change,
            "address": self.address,
            "event": self.event,
            "detail": self.detail,
        }


def key_of(record: RecordType) -> Key:
    """The identity a record keeps through renames and moves."""
    if isinstance(record, AccountPasscodeRecord):
        return ("account_passcode", record.account_id, record.id)
    if isinstance(record, UserPasscodeRecord):
        return ("user_passcode", record.account_id, record.email.casefold())
    return ("settings", record.account_id, "")


def kept_versions(backend: StateBackend) -> Iterator[tuple[HistoryEntry, State]]:
    """Every kept version with its history entry, oldest first (each read once)."""
    for entry in backend.history():
        yield entry, backend.read_serial(entry.serial)


def address_life(
    versions: Iterable[tuple[HistoryEntry, State]], address: Address, account_ids: Iterable[str] = ()
) -> list[LifeEvent]:
    """What happened to `address` (and the passcode it is, under any name) in each version.

    `account_ids`: the account's id from the config, so that records kept under an
    earlier account alias are followed too.
    """
    ids = set(account_ids)
    reduced = [(entry, _reduce(state, address, ids)) for entry, state in versions]
    tracked = {key_of(r) for _, records in reduced for a, r in records.values() if a == address}
    events: list[LifeEvent] = []
    previous: Kept = {}
    for entry, records in reduced:
        now = {k: v for k, v in records.items() if k in tracked}
        events += _changes(entry, address, previous, now)
        previous = now
    return events


def _reduce(state: State, address: Address, account_ids: set[str]) -> Kept:
    """The records of the address's account, by identity (the rest of the state is dropped)."""
    kept: Kept = {}
    for where, record in state.resources.items():
        if where.account == address.account or record.account_id in account_ids:
            kept[key_of(record)] = (where, record)
    return kept


def _changes(entry: HistoryEntry, address: Address, before: Kept, after: Kept) -> list[LifeEvent]:
    audit = entry.audit
    found: list[tuple[str, str, str]] = []  # (address, event, detail)
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is None and new is not None:
            found.append(_appeared(new[0], new[1], before, after, audit))
        elif old is not None and new is None:
            found.append(_gone(old[0], old[1], audit))
        elif old is not None and new is not None:
            found += _kept(old, new, audit)
    found = _merge_rotations(found)
    found += _audit_only(audit, address, {where for where, _, _ in found}, before, after)
    return [_event(entry, where, event, detail) for where, event, detail in found]


def _appeared(
    where: Address, record: RecordType, before: Kept, after: Kept, audit: AuditRecord | None
) -> tuple[str, str, str]:
    origin = getattr(record, "origin", None)
    action = _action(audit, where)
    if action == "rotate" or _replaced_at(where, before, after):
        return (str(where), "rotated", f"a new passcode {_identity(record)} under this name")
    if origin is not None and origin.value in ("adopted", "imported"):
        how = "found in the account and adopted" if origin.value == "adopted" else "imported"
        return (str(where), origin.value, f"{how} ({_identity(record)}); ctconfig does not hold its secret")
    if isinstance(record, UserPasscodeRecord):
        return (str(where), "granted", f"validity {_value(record_json(record).get('validity'))}")
    return (str(where), "created", _attributes(record))


def _replaced_at(where: Address, before: Kept, after: Kept) -> bool:
    """A new identity at an address whose old one was set aside (a rotation)."""
    held = [k for k, (a, _) in before.items() if a == where]
    return any(k in after and after[k][0] != where for k in held)


def _gone(where: Address, record: RecordType, audit: AuditRecord | None) -> tuple[str, str, str]:
    operation = audit.operation if audit else ""
    action = _action(audit, where)
    seen = _observed(audit, where)
    if operation == "state rm" or action == "forget":
        return (str(where), "forgotten", "removed from state; the account was not touched")
    if seen:
        return (str(where), "changed outside ctconfig", seen)
    if action in ("delete", "revoke"):
        retired = isinstance(record, AccountPasscodeRecord) and record.retire_after is not None
        verb = "retired" if retired else ("revoked" if action == "revoke" else "deleted")
        return (str(where), verb, _message(audit, where))
    return (str(where), "removed", f"no longer in state ({operation or 'no audit record'})")


def _kept(
    old: tuple[Address, RecordType], new: tuple[Address, RecordType], audit: AuditRecord | None
) -> list[tuple[str, str, str]]:
    (was, old_record), (now, new_record) = old, new
    found: list[tuple[str, str, str]] = []
    if was != now and RETIRING_MARK in now.name:
        retire = getattr(new_record, "retire_after", None)
        when = f", deleted after {record_json(new_record).get('retire_after')}" if retire else ""
        return [(str(was), "set aside", f"renamed to {now.name!r}{when}")]
    if was != now:
        found.append((str(now), "renamed", f"from {was} (the secret is kept)"))
    changed = _changed_fields(old_record, new_record)
    if not changed:
        return found
    seen = _observed(audit, now) or _observed(audit, was)
    if seen:
        found.append((str(now), "changed outside ctconfig", seen))
        return found
    if "tainted" in changed and getattr(new_record, "tainted", None):
        found.append((str(now), "tainted", str(getattr(new_record, "tainted", ""))))
        changed.pop("tainted")
    if "granted_at" in changed and len(changed) == 1 and isinstance(new_record, UserPasscodeRecord):
        found.append((str(now), "reset", "a new user passcode for the same user"))
        return found
    shown = {k: v for k, v in changed.items() if k not in _QUIET_FIELDS and not (was != now and k == "name")}
    if shown:
        words = ", ".join(f"{k} {_value(a)} -> {_value(b)}" for k, (a, b) in sorted(shown.items()))
        found.append((str(now), "updated", words))
    return found


def _merge_rotations(found: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """A rotation is one event: the new passcode under the name, and where the old one went."""
    aside = {where: detail for where, event, detail in found if event == "set aside"}
    merged = []
    for where, event, detail in found:
        if event == "set aside" and any(w == where and e == "rotated" for w, e, _ in found):
            continue
        if event == "rotated" and where in aside:
            detail = f"{detail}; the old one {aside[where]}"
        merged.append((where, event, detail))
    return merged


def _audit_only(
    audit: AuditRecord | None, address: Address, explained: set[str], before: Kept, after: Kept
) -> list[tuple[str, str, str]]:
    """What the audit record says about the address that the state does not show."""
    if audit is None:
        return []
    relevant = {str(address)} | {str(a) for a, _ in before.values()} | {str(a) for a, _ in after.values()}
    found = []
    for item in audit.actions:
        where = str(item.get("address", ""))
        if where in relevant and item.get("outcome") not in (None, "done", "forgotten"):
            action, outcome = item.get("action"), item.get("outcome")
            found.append((where, f"{action} {outcome}", str(item.get("message") or "")))
        elif where == str(address) and where not in explained and item.get("outcome") == "done":
            found.append((where, str(item.get("action")), str(item.get("message") or "")))
    for item in audit.observed:
        where = str(item.get("address", ""))
        if where == str(address) and where not in explained:
            found.append((where, "seen in the account", str(item.get("change") or "")))
    return found


def _changed_fields(old: RecordType, new: RecordType) -> dict[str, tuple[Any, Any]]:
    before, after = record_json(old), record_json(new)
    return {
        k: (before.get(k), after.get(k))
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k) and k not in ("secret_fingerprint", "prevent_destroy")
    }


def _action(audit: AuditRecord | None, where: Address) -> str | None:
    if audit is None:
        return None
    for item in audit.actions:
        if item.get("address") == str(where) and item.get("outcome") in ("done", "forgotten"):
            return str(item.get("action"))
    return None


def _message(audit: AuditRecord | None, where: Address) -> str:
    for item in audit.actions if audit else []:
        if item.get("address") == str(where) and item.get("message"):
            return str(item["message"])
    return ""


def _observed(audit: AuditRecord | None, where: Address) -> str:
    """What the run that wrote this version saw changed outside ctconfig (and when), or ''."""
    for item in audit.observed if audit else []:
        if item.get("address") == str(where):
            return f"{item.get('change')} (first seen {item.get('first_seen')})"
    return ""


def _identity(record: RecordType) -> str:
    if isinstance(record, AccountPasscodeRecord):
        return f"id {record.id}"
    if isinstance(record, SettingsRecord):
        return f"passcode_mode {record.passcode_mode}"
    return record.email


def _attributes(record: RecordType) -> str:
    data = record_json(record)
    shown = [f"{k} {_value(data[k])}" for k in ("name", "expires_in", "passcode_mode") if k in data]
    return ", ".join([*shown, _identity(record)] if isinstance(record, AccountPasscodeRecord) else shown)


def _value(value: Any) -> str:
    return "null" if value is None else str(value) if not isinstance(value, str) else f'"{value}"'


def _event(entry: HistoryEntry, where: str, event: str, detail: str) -> LifeEvent:
    audit = entry.audit
    return LifeEvent(
        serial=entry.serial,
        when=(audit.when if audit and audit.when else entry.created) or "",
        who=audit.who if audit else "",
        operation=audit.operation if audit else "",
        commit=audit.commit if audit else None,
        change=audit.change if audit else None,
        address=where,
        event=event,
        detail=detail,
    )


def moment_of(text: str) -> datetime:
    """`2026-11-30` (the end of that day, UTC) or an ISO 8601 time (`2026-11-30T10:00:00Z`)."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CtconfigError(
            f"--at {text!r}: expected a date such as 2026-11-30 or a time such as 2026-11-30T10:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def written_at(entry: HistoryEntry) -> datetime | None:
    """When a kept version was written (its audit record's time, else the backend's)."""
    text = (entry.audit.when if entry.audit and entry.audit.when else None) or entry.created
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def version_at(history: list[HistoryEntry], moment: datetime) -> HistoryEntry | None:
    """The version that was current at `moment`: the last one written at or before it."""
    current = None
    for entry in history:
        written = written_at(entry)
        if written is not None and written <= moment:
            current = entry
    return current
