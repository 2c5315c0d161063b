"""`state diff A B` across five audited versions, files and git revisions."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ctconfig.domain import Address
from ctconfig.jsontypes import timestamp_text
from ctconfig.state.base import AuditRecord
from ctconfig.state.diff import DiffSide, diff_states
from ctconfig.state.document import RecordType, State

Workspace = Any  # the `workspace` fixture from conftest.py
P1, P2, P3 = (f"prod/account_passcode/p{index}" for index in (1, 2, 3))
ALICE = "prod/user_passcode/alice@example.com"
SETTINGS = "prod/settings"


def audit(who: str, day: int, operation: str, summary: str) -> AuditRecord:
    return AuditRecord(
        who=who,
        when=f"2026-04-0{day}T09:00:00Z",
        operation=operation,
        plan_digest=f"sha256:{day:012d}" if operation == "apply" else None,
        summary=summary,
    )


def five_versions(ws: Workspace) -> list[State]:
    """alice creates, bob rotates and grants, carol forgets, dave adds, erin's sink fails."""
    p1, p2 = ws.passcode("p1"), ws.passcode("p2")
    account_mode = ws.settings("account")
    steps: list[tuple[dict[str, RecordType], AuditRecord]] = []
    steps.append(({P1: p1, P2: p2, SETTINGS: account_mode}, audit("alice", 1, "apply", "3 created")))
    rotated = replace(p1, expires_at=datetime(2027, 1, 1, tzinfo=UTC))
    grant = ws.grant("alice@example.com", 30)
    steps.append(
        (
            {P1: rotated, P2: p2, SETTINGS: account_mode, ALICE: grant},
            audit("bob", 2, "apply", "1 updated, 1 granted"),
        )
    )
    steps.append(
        (
            {P1: rotated, SETTINGS: account_mode, ALICE: grant},
            audit("carol", 3, "state rm", "forgot p2"),
        )
    )
    user_mode = ws.settings("user")
    steps.append(
        (
            {P1: rotated, SETTINGS: user_mode, ALICE: grant, P3: ws.passcode("p3")},
            audit("dave", 4, "apply", "1 created, 1 configured"),
        )
    )
    tainted = replace(rotated, tainted="secret sink failed", secret_fingerprint="sha256:ffffffffffff")
    steps.append(
        (
            {P1: tainted, SETTINGS: user_mode, ALICE: grant, P3: ws.passcode("p3")},
            audit("erin", 5, "apply", "1 replaced (sink failed)"),
        )
    )
    return [ws.write(resources, record) for resources, record in steps]


def test_text_diff_between_serials_names_who_wrote_what(workspace: Workspace) -> None:
    versions = five_versions(workspace)
    result = workspace.run("state", "diff", "1", "5")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("State diff: serial 1 → serial 5\n")
    assert (
        "B is serial 5 written by erin on 2026-04-05T09:00:00Z "
        "(apply, plan sha256:000000000005): 1 replaced (sink failed)." in out
    )
    assert "Earlier writes since A:\n  serial 2 written by bob" in out
    for who in ("bob", "carol", "dave", "erin"):
        assert out.count(f"written by {who}") == 1
    assert "alice" not in out.split("\n\n")[0]  # serial 1's own write is not "in between"
    assert f"+ {P3} (added)" in out and f"+ {ALICE} (added)" in out
    assert f"- {P2} (removed)" in out
    assert f"~ {P1} (changed)" in out
    old_record = versions[0].resources[Address.parse(P1)]
    assert old_record.kind == "account_passcode" and old_record.expires_at is not None
    old_expiry = timestamp_text(old_record.expires_at)
    assert f'    expires_at: "{old_expiry}" → "2027-01-01T00:00:00Z"' in out
    assert '    secret_fingerprint: "sha256:0123456789ab" → "sha256:ffffffffffff"' in out
    assert '    tainted: null → "secret sink failed"' in out
    assert f"~ {SETTINGS} (changed)" in out
    assert '    passcode_mode: "account" → "user"' in out
    assert out.rstrip().endswith("2 added, 2 changed, 1 removed.")


def test_markdown_and_json_views(workspace: Workspace) -> None:
    five_versions(workspace)
    markdown = workspace.run("state", "diff", "--format", "markdown", "3", "4").stdout
    assert markdown.startswith("### State diff: serial 3 → serial 4\n")
    assert "**1 added, 1 changed, 0 removed**" in markdown
    assert '| ~ | `prod/settings` | `passcode_mode` | `"account"` | `"user"` |' in markdown
    assert f"| + | `{P3}` | *added* |" in markdown
    assert "written by dave" in markdown and "sha256:000000000004" in markdown

    data = json.loads(workspace.run("state", "diff", "--format", "json", "2", "3").stdout)
    assert data["summary"] == {"added": 0, "changed": 0, "renamed": 0, "rotated": 0, "removed": 1}
    assert data["after"]["written"]["audit"]["who"] == "carol"
    assert [change["address"] for change in data["changes"]] == [P2]
    assert [entry["serial"] for entry in data["between"]] == [3]


def test_diff_of_files_and_git_revisions(workspace: Workspace, tmp_path: Path) -> None:
    versions = five_versions(workspace)
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    for version in (versions[1], versions[3]):
        (repo / "ctconfig.state.json").write_text(version.dumps(), encoding="utf-8")
        git("add", "ctconfig.state.json")
        git("commit", "-q", "-m", f"serial {version.serial}")
    result = workspace.run(
        "state",
        "diff",
        "git:HEAD~1:ctconfig.state.json",
        str(repo / "ctconfig.state.json"),
        cwd=repo,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"State diff: git:HEAD~1:ctconfig.state.json (serial 2) → {repo}/ctconfig.state.json (serial 4)"
    )
    assert f"- {P2} (removed)" in result.stdout and f"+ {P3} (added)" in result.stdout
    assert "written by" not in result.stdout

    bad_rev = workspace.run("state", "diff", "git:nope:ctconfig.state.json", "1", cwd=repo)
    assert bad_rev.returncode == 1
    assert bad_rev.stderr.startswith("Error: git:nope:ctconfig.state.json: ")
    assert len(bad_rev.stderr.strip().splitlines()) == 1


def test_unknown_sides_are_one_line_errors(workspace: Workspace) -> None:
    five_versions(workspace)
    missing_serial = workspace.run("state", "diff", "1", "99")
    assert missing_serial.returncode == 1
    assert "serial 99" in missing_serial.stderr and "not kept" in missing_serial.stderr
    missing_file = workspace.run("state", "diff", "nowhere.json", "1")
    assert missing_file.stderr.strip() == (
        "Error: nowhere.json: no such file (a diff side is a serial, a state file or git:REV:PATH)"
    )


@pytest.mark.parametrize("lineage_differs", [True, False])
def test_different_lineages_are_called_out(workspace: Workspace, lineage_differs: bool) -> None:
    one = State.new()
    two = State.new() if lineage_differs else one
    from ctconfig.render.state_diff import render_text

    text = render_text(diff_states(DiffSide("x.json", one), DiffSide("y.json", two)))
    assert ("different lineages" in text) is lineage_differs
    assert "No resource changed." in text


