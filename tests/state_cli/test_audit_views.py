"""The three audit questions, one command each: an address's life, the state on a date, and what
one change did (renames and rotations named as such) — over versions written with audit records."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ctconfig.state.base import AuditRecord
from ctconfig.state.document import RecordType

Workspace = Any  # the `workspace` fixture from conftest.py
OLD = "prod/account_passcode/seg"
NEW = "prod/account_passcode/segment-export"
ASIDE = "prod/account_passcode/segment-export~retiring-20260404"
ZAPIER = "prod/account_passcode/zapier"
COMMITS = [f"{n}" * 40 for n in range(1, 7)]


def audit(day: int, who: str, operation: str, summary: str, **more: Any) -> AuditRecord:
    return AuditRecord(
        who=who,
        when=f"2026-04-0{day}T09:00:00Z",
        operation=operation,
        summary=summary,
        commit=COMMITS[day - 1],
        change=f"https://github.com/team/passcodes/pull/{day}",
        **more,
    )


def month(ws: Workspace) -> None:
    """seg is created, renamed, extended, rotated (the old one retired), then deleted by hand."""
    seg = ws.passcode("seg", id="pc-1")
    renamed = replace(seg, name="segment-export")
    extended = replace(renamed, expires_in=120, expires_at=datetime(2026, 8, 1, tzinfo=UTC))
    rotated = ws.passcode("segment-export", 120, id="pc-2")
    retire_after = datetime(2026, 4, 11, tzinfo=UTC)
    aside = replace(extended, name="segment-export~retiring-20260404", retire_after=retire_after)
    steps: list[tuple[dict[str, RecordType], AuditRecord]] = [
        ({OLD: seg}, audit(1, "alice", "apply", "1 created", actions=[_done(OLD, "create")])),
        ({NEW: renamed}, audit(2, "bob", "apply", "1 renamed", actions=[_done(NEW, "rename")])),
        (
            {NEW: extended},
            audit(
                3,
                "carol",
                "apply",
                "1 updated",
                actions=[_done(NEW, "update")],
                observed=[_seen(ZAPIER, "created outside ctconfig (not in the config)", 3)],
                unmanaged={ZAPIER: "2026-04-03T09:00:00Z"},
            ),
        ),
        (
            {NEW: rotated, ASIDE: aside},
            audit(4, "dave", "apply", "1 rotated", actions=[_done(NEW, "rotate")]),
        ),
        ({NEW: rotated}, audit(5, "erin", "apply", "1 deleted", actions=[_done(ASIDE, "delete")])),
        (
            {},
            audit(6, "ci", "refresh", "1 updated", observed=[_seen(NEW, "deleted outside ctconfig", 6)]),
        ),
    ]
    for resources, record in steps:
        ws.write(resources, record)


def _done(address: str, action: str) -> dict[str, str]:
    return {"address": address, "action": action, "outcome": "done", "message": ""}


def _seen(address: str, change: str, day: int) -> dict[str, str]:
    return {"address": address, "change": change, "first_seen": f"2026-04-0{day}T09:00:00Z"}


def test_one_address_has_one_life_through_a_rename_and_a_rotation(workspace: Workspace) -> None:
    month(workspace)
    done = workspace.run("state", "history", NEW)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["SERIAL", "WHEN", "WHO", "COMMIT", "EVENT"]
    events = [line.split(None, 4) for line in lines[1:]]
    assert [(e[0], e[2], e[3]) for e in events] == [
        ("1", "alice", "1" * 12),
        ("2", "bob", "2" * 12),
        ("3", "carol", "3" * 12),
        ("4", "dave", "4" * 12),
        ("5", "erin", "5" * 12),
        ("6", "ci", "6" * 12),
    ]
    what = [e[4] for e in events]
    assert what[0].startswith(f'created {OLD}: name "seg", expires_in "90d", id pc-1')
    assert what[1].startswith(f"renamed: from {OLD} (the secret is kept)")
    assert what[2].startswith('updated: expires_in "90d" -> "120d"')
    assert what[3].startswith("rotated: a new passcode id pc-2 under this name; the old one renamed to")
    assert "deleted after 2026-04-11T00:00:00Z" in what[3]
    assert what[4].startswith(f"retired {ASIDE}")
    assert what[5].startswith(
        "changed outside ctconfig: deleted outside ctconfig (first seen 2026-04-06T09:00:00Z)"
    )
    assert all("[change https://github.com/team/passcodes/pull/" in w for w in what)

    data = json.loads(workspace.run("state", "history", NEW, "--format", "json").stdout)
    assert [e["event"] for e in data] == [
        "created", "renamed", "updated", "rotated", "retired", "changed outside ctconfig"
    ]
    assert data[0]["commit"] == COMMITS[0] and data[0]["address"] == OLD


def test_a_passcode_made_by_hand_has_a_history_too(workspace: Workspace) -> None:
    month(workspace)
    out = workspace.run("state", "history", ZAPIER).stdout
    assert "seen in the account: created outside ctconfig (not in the config)" in out
    assert out.splitlines()[1].split()[:3] == ["3", "2026-04-03T09:00:00Z", "carol"]
    nothing = workspace.run("state", "history", "prod/account_passcode/never")
    assert nothing.returncode == 0
    assert nothing.stdout == "No kept version of the state mentions prod/account_passcode/never.\n"


def test_the_state_on_a_date_and_at_a_serial(workspace: Workspace) -> None:
    month(workspace)
    out = workspace.run("state", "list", "--at", "2026-04-03").stdout
    assert out.splitlines()[0] == (
        f"State at serial 3, written 2026-04-03T09:00:00Z by carol (apply, commit {'3' * 12})."
    )
    assert NEW in out and f"{OLD} " not in out and "zapier" in out.split("not managed by ctconfig")[1]
    assert "first seen 2026-04-03T09:00:00Z" in out
    at_serial = workspace.run("state", "list", "--serial", "4", "--format", "json")
    data = json.loads(at_serial.stdout)
    assert data["serial"] == 4 and data["written"]["audit"]["who"] == "dave"
    assert [r["address"] for r in data["resources"]] == [NEW, ASIDE]
    assert [r["status"] for r in data["resources"]] == ["active", "retiring"]
    assert data["unmanaged"] == {ZAPIER: "2026-04-03T09:00:00Z"}
    before = workspace.run("state", "list", "--at", "2026-03-31")
    assert before.returncode == 1
    assert before.stderr.startswith("Error: no state version existed in ")
    assert "the first was written 2026-04-01T09:00:00Z" in before.stderr
    bad = workspace.run("state", "list", "--at", "last tuesday")
    assert bad.returncode == 1 and "expected a date such as 2026-11-30" in bad.stderr
    both = workspace.run("state", "list", "--at", "2026-04-03", "--serial", "2")
    assert both.returncode == 1 and "give --at or --serial, not both" in both.stderr


def test_diff_names_renames_and_rotations(workspace: Workspace) -> None:
    month(workspace)
    renamed = workspace.run("state", "diff", "1", "2").stdout
    assert f"~ {NEW} (renamed from {OLD})" in renamed
    assert '    name: "seg" → "segment-export"' in renamed
    assert "(added)" not in renamed and "(removed)" not in renamed
    assert renamed.rstrip().endswith("0 added, 0 changed, 1 renamed, 0 removed.")
    rotated = workspace.run("state", "diff", "3", "4").stdout
    assert f"+/- {NEW} (rotated: a new passcode; the old passcode set aside as {ASIDE})" in rotated
    assert '    id: "pc-1" → "pc-2"' in rotated
    assert "(added)" not in rotated
    data = json.loads(workspace.run("state", "diff", "3", "4", "--format", "json").stdout)
    assert data["summary"] == {"added": 0, "changed": 0, "renamed": 0, "rotated": 1, "removed": 0}
    assert data["changes"][0]["set_aside"] == ASIDE
    markdown = workspace.run("state", "diff", "1", "2", "--format", "markdown").stdout
    assert f"*renamed from {OLD}*".replace("_", "\\_") in markdown  # names escaped as markdown text


def test_history_shows_the_commit_and_the_change(workspace: Workspace) -> None:
    month(workspace)
    lines = workspace.run("state", "history").stdout.splitlines()
    assert lines[0].split() == ["SERIAL", "WRITTEN", "WHO", "COMMIT", "SUMMARY"]
    assert lines[1].split()[3] == "1" * 12
    assert "[change https://github.com/team/passcodes/pull/1]" in lines[1]


def test_state_show_speaks_json(workspace: Workspace) -> None:
    workspace.write({OLD: workspace.passcode("seg", id="pc-1")})
    data = json.loads(workspace.run("state", "show", OLD, "--format", "json").stdout)
    assert data["address"] == OLD and data["kind"] == "account_passcode" and data["status"] == "active"
    assert data["record"]["id"] == "pc-1" and data["notes"] == []
