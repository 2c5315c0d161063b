"""`state diff` views: text for the terminal, markdown for a pull request, JSON for tools.

State holds fingerprints, never secrets, so every value can be shown; but a state may come
from anywhere (a file, `git:REV:PATH`, a server), so every line of the text view is made
visible and the markdown view puts names and values in code spans no backtick can close.
"""

from __future__ import annotations

import json
from typing import Any

from ctconfig.render.escape import markdown_code, markdown_text, terminal_safe
from ctconfig.state.base import HistoryEntry
from ctconfig.state.diff import AttributeChange, DiffSide, ResourceChange, StateDiff

FORMATS = ("text", "markdown", "json")
_MARKS = {"added": "+", "changed": "~", "renamed": "~", "rotated": "+/-", "removed": "-"}


def _what(change: ResourceChange) -> str:
    """`changed`, `renamed from prod/account_passcode/old`, `rotated; the old one set aside as …`."""
    if change.change == "renamed":
        return f"renamed from {change.previous_address}"
    if change.change == "rotated":
        aside = f"; the old passcode set aside as {change.set_aside}" if change.set_aside else ""
        return f"rotated: a new passcode{aside}"
    return change.change


def render_state_diff(diff: StateDiff, fmt: str) -> str:
    """The diff in `text`, `markdown` or `json`, ending with a newline."""
    if fmt == "json":
        return json.dumps(diff.to_json(), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return render_markdown(diff)
    return render_text(diff)


def _value(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _before_after(change: AttributeChange) -> tuple[str, str]:
    before = _value(change.before) if change.before_present else "(absent)"
    after = _value(change.after) if change.after_present else "(absent)"
    return before, after


def _side_title(side: DiffSide) -> str:
    return side.label if side.label.startswith("serial") else f"{side.label} (serial {side.state.serial})"


def _written_by(entry: HistoryEntry) -> str:
    """`alice on 2026-01-01T00:00:00Z (apply, plan sha256:…): summary`."""
    audit = entry.audit
    if audit is None:
        when = entry.created or "at an unknown time"
        return f"serial {entry.serial} written {when} (no audit record)"
    details = audit.operation
    if audit.plan_digest:
        details += f", plan {audit.plan_digest}"
    text = f"serial {entry.serial} written by {audit.who} on {audit.when or entry.created} ({details})"
    return f"{text}: {audit.summary}" if audit.summary else text


def _flat_attributes(resource: dict[str, Any] | None) -> list[tuple[str, Any]]:
    if not resource:
        return []
    rows: list[tuple[str, Any]] = []
    for key, value in sorted(resource.items()):
        if isinstance(value, dict):
            rows.extend((f"{key}.{inner}", item) for inner, item in sorted(value.items()))
        else:
            rows.append((key, value))
    return rows


def _header_lines(diff: StateDiff) -> list[str]:
    lines = [f"State diff: {_side_title(diff.before)} → {_side_title(diff.after)}"]
    if diff.lineage_changed:
        lines.append(
            f"Warning: different lineages ({diff.before.state.lineage} → "
            f"{diff.after.state.lineage}): these are not versions of the same state."
        )
    if diff.after.entry:
        lines.append(f"B is {_written_by(diff.after.entry)}.")
    return lines


def render_text(diff: StateDiff) -> str:
    """A terminal view: `+` added, `~` changed (before → after), `-` removed."""
    lines = _header_lines(diff)
    if len(diff.between) > 1:
        lines.append("Earlier writes since A:")
        lines.extend(f"  {_written_by(entry)}" for entry in diff.between[:-1])
    lines.append("")
    if not diff.changes:
        lines.append("No resource changed.")
    for change in diff.changes:
        lines.extend(_text_change(change))
    lines.append("")
    lines.append(f"{diff.summary()}.")
    return "".join(terminal_safe(line) + "\n" for line in lines)


def _text_change(change: ResourceChange) -> list[str]:
    lines = [f"{_MARKS[change.change]} {change.address} ({_what(change)})"]
    if change.change in ("changed", "renamed", "rotated"):
        for attribute in change.attributes:
            before, after = _before_after(attribute)
            lines.append(f"    {attribute.path}: {before} → {after}")
    else:
        shown = change.after if change.change == "added" else change.before
        lines.extend(f"    {key}: {_value(value)}" for key, value in _flat_attributes(shown))
    return lines


def _cell(text: str) -> str:
    """`text` as a code span inside a table cell (GFM reads `\\|` there as a pipe)."""
    return markdown_code(text).replace("|", "\\|")


def render_markdown(diff: StateDiff) -> str:
    """A pull-request comment: a heading, who wrote B, and one table of changes."""
    header = [markdown_text(line) for line in _header_lines(diff)]
    lines = [f"### {header[0]}", ""]
    lines.extend(f"{line}  " for line in header[1:])
    if len(diff.between) > 1:
        lines.append("")
        lines.append("Earlier writes since A:")
        lines.extend(f"- {markdown_text(_written_by(entry))}" for entry in diff.between[:-1])
    lines.extend(["", f"**{diff.summary()}**", ""])
    if not diff.changes:
        lines.append("No resource changed.")
        return "\n".join(lines) + "\n"
    lines.append("| | Address | Attribute | Before | After |")
    lines.append("|---|---|---|---|---|")
    for change in diff.changes:
        mark = _MARKS[change.change]
        address = _cell(change.address)
        if change.change in ("changed", "renamed", "rotated"):
            if change.change != "changed":
                lines.append(f"| {mark} | {address} | *{markdown_text(_what(change))}* | | |")
            for attribute in change.attributes:
                before, after = _before_after(attribute)
                lines.append(
                    f"| {mark} | {address} | {_cell(attribute.path)} | {_cell(before)} | {_cell(after)} |"
                )
        elif change.change == "added":
            lines.append(f"| {mark} | {address} | *added* | | {_cell(_summary(change.after))} |")
        else:
            lines.append(f"| {mark} | {address} | *removed* | {_cell(_summary(change.before))} | |")
    return "\n".join(lines) + "\n"


def _summary(resource: dict[str, Any] | None) -> str:
    """`kind=account_passcode, remote_id=pc-1, name=x, …` on one line for a table cell."""
    return ", ".join(f"{key}={_value(value)}" for key, value in _flat_attributes(resource))
