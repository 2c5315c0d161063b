"""`state list/show/rm/mv/pull/push/history` and `force-unlock` through the installed command."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ctconfig.domain import Address
from ctconfig.state.base import AuditRecord, LockHeldError
from ctconfig.state.document import Origin, RecordType, State
from tests.records import by_address
from tests.state.clock import FakeClock, replace_the_system_clock

Workspace = Any  # the `workspace` fixture from conftest.py


def estate(ws: Workspace) -> dict[str, RecordType]:
    passcode, grant = ws.passcode, ws.grant
    return {
        "prod/account_passcode/active": passcode("active", 90),
        "prod/account_passcode/soon": passcode("soon", 10),
        "prod/account_passcode/gone": passcode("gone", -3),
        "prod/account_passcode/forever": passcode("forever", None),
        "prod/account_passcode/old~retiring-20260101": passcode("old~retiring-20260101", 60),
        "prod/account_passcode/adopted": passcode(
            "adopted", 90, secret_fingerprint=None, origin=Origin.ADOPTED
        ),
        "prod/account_passcode/broken": passcode("broken", 90, tainted="secret sink failed"),
        "prod/user_passcode/alice@example.com": grant("alice@example.com", 200),
        "prod/settings": ws.settings(),
    }


def row(output: str, address: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(address + " "))


def test_list_shows_status_and_what_needs_attention(workspace: Workspace) -> None:
    workspace.write(estate(workspace))
    result = workspace.run("state", "list")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.splitlines()[0].split() == ["ADDRESS", "KIND", "STATUS", "NOTES"]
    assert row(out, "prod/account_passcode/active").split()[1:] == ["account_passcode", "active"]
    assert "expiring soon" in row(out, "prod/account_passcode/soon")
    assert row(out, "prod/account_passcode/gone").split()[2] == "expired"
    assert row(out, "prod/account_passcode/forever").split()[2] == "active"
    assert row(out, "prod/account_passcode/old~retiring-20260101").split()[2] == "retiring"
    assert row(out, "prod/account_passcode/adopted").endswith("secret unknown (adopted)")
    assert row(out, "prod/account_passcode/broken").endswith("tainted: secret sink failed")
    assert "secret unknown" not in row(out, "prod/user_passcode/alice@example.com")
    assert "passcode_mode user" in row(out, "prod/settings")


def test_list_of_an_empty_state(workspace: Workspace) -> None:
    result = workspace.run("state", "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No resources in state")


def test_show_says_plainly_when_the_secret_is_unknown_or_tainted(workspace: Workspace) -> None:
    workspace.write(estate(workspace))
    adopted = workspace.run("state", "show", "prod/account_passcode/adopted")
    assert adopted.returncode == 0, adopted.stderr
    assert '  id: "pc-adopted"' in adopted.stdout
    assert '  name: "adopted"' in adopted.stdout
    assert '  origin: "adopted"' in adopted.stdout
    assert (
        "secret unknown: ctconfig did not create this passcode (it was adopted or imported); rotate it with "
        "`ctconfig apply --replace prod/account_passcode/adopted` to get its secret into the sink"
    ) in adopted.stdout
    broken = workspace.run("state", "show", "prod/account_passcode/broken")
    assert "tainted: secret sink failed; the next plan replaces it" in broken.stdout
    assert "secret unknown" not in broken.stdout
    missing = workspace.run("state", "show", "prod/account_passcode/nope")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"Error: not in state {workspace.state_path}: prod/account_passcode/nope "
        "(`ctconfig state list` shows what is there)"
    ]


def test_rm_forgets_and_records_who_did_it(workspace: Workspace) -> None:
    workspace.write(estate(workspace))
    result = workspace.run(
        "state", "rm", "prod/account_passcode/gone", "prod/settings", env={"GITHUB_ACTOR": "ci-bot"}
    )
    assert result.returncode == 0, result.stderr
    assert "Removed 2 resource(s) from state (serial 2); the account was not touched." in result.stdout
    current = workspace.current()
    assert current.serial == 2
    assert "prod/account_passcode/gone" not in current.resources
    assert "prod/settings" not in current.resources
    audit = workspace.backend.history()[-1].audit
    assert audit is not None
    assert (audit.who, audit.operation) == ("ci-bot", "state rm")
    assert [a["address"] for a in audit.actions] == ["prod/account_passcode/gone", "prod/settings"]


def test_rm_of_an_unknown_address_writes_nothing(workspace: Workspace) -> None:
    workspace.write(estate(workspace))
    result = workspace.run("state", "rm", "prod/account_passcode/active", "prod/account_passcode/x")
    assert result.returncode == 1
    assert "prod/account_passcode/x" in result.stderr
    assert workspace.current().serial == 1
    workspace.backend.unlock(workspace.backend.lock("check"))  # the lock was released


def test_mv_renames_and_refuses_clashes(workspace: Workspace) -> None:
    workspace.write(estate(workspace))
    moved = workspace.run("state", "mv", "prod/account_passcode/active", "production/account_passcode/active")
    assert moved.returncode == 0, moved.stderr
    resources = workspace.current().resources
    assert Address.parse("production/account_passcode/active") in resources
    assert Address.parse("prod/account_passcode/active") not in resources
    clash = workspace.run("state", "mv", "prod/account_passcode/soon", "prod/account_passcode/gone")
    assert clash.returncode == 1 and "already in state" in clash.stderr
    kinds = workspace.run("state", "mv", "prod/account_passcode/soon", "prod/settings")
    assert kinds.returncode == 1 and "cannot move a account_passcode" in kinds.stderr
    assert workspace.current().serial == 2


def test_pull_prints_the_canonical_document(workspace: Workspace) -> None:
    written = workspace.write(estate(workspace))
    result = workspace.run("state", "pull")
    assert result.returncode == 0, result.stderr
    assert result.stdout == written.dumps()


def test_push_refuses_to_lose_information_unless_forced(workspace: Workspace, tmp_path: Path) -> None:
    first = workspace.write({"prod/settings": workspace.settings()})
    current = workspace.write(estate(workspace))
    candidates = {
        "other-lineage": (
            State.new().with_resources(by_address(estate(workspace))).next_version().next_version(),
            "lineage",
        ),
        "older": (first, "older than the state's 2"),
        "same-serial": (replace(current, resources={}), "both have serial 2 but differ"),
    }
    for name, (document, reason) in candidates.items():
        path = tmp_path / f"{name}.json"
        path.write_text(document.dumps(), encoding="utf-8")
        refused = workspace.run("state", "push", str(path))
        assert refused.returncode == 1, name
        assert reason in refused.stderr and "--force overrides" in refused.stderr
    assert workspace.current() == current

    same = tmp_path / "same.json"
    same.write_text(current.dumps(), encoding="utf-8")
    assert "already matches" in workspace.run("state", "push", str(same)).stdout
    assert workspace.current().serial == 2

    newer = tmp_path / "newer.json"
    newer.write_text(replace(current, serial=7, resources={}).dumps(), encoding="utf-8")
    pushed = workspace.run("state", "push", str(newer))
    assert pushed.returncode == 0, pushed.stderr
    assert workspace.current().serial == 7 and workspace.current().resources == {}

    forced = workspace.run("state", "push", "--force", str(tmp_path / "older.json"))
    assert forced.returncode == 0, forced.stderr
    restored = workspace.current()
    assert restored.serial == 8 and restored.resources == first.resources
    audit = workspace.backend.history()[-1].audit
    assert audit is not None and audit.operation == "state push" and "(forced)" in audit.summary


def test_push_from_stdin_into_an_empty_backend(workspace: Workspace) -> None:
    document = State.new().with_resources(by_address(estate(workspace))).next_version()
    result = workspace.run("state", "push", "-", input=document.dumps())
    assert result.returncode == 0, result.stderr
    assert workspace.current() == document


def test_history_lists_serial_time_who_and_summary(workspace: Workspace) -> None:
    workspace.write(
        {"prod/settings": workspace.settings()},
        AuditRecord(
            who="alice",
            when="2026-03-01T10:00:00Z",
            operation="apply",
            plan_digest="sha256:aaaaaaaaaaaa",
            summary="1 configured",
        ),
    )
    workspace.write(estate(workspace))
    result = workspace.run("state", "history")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SERIAL", "WRITTEN", "WHO", "SUMMARY"]
    assert lines[1].split() == [
        "1",
        "2026-03-01T10:00:00Z",
        "alice",
        "apply:",
        "1",
        "configured",
        "[plan",
        "sha256:aaaaaaaaaaaa]",
    ]
    assert lines[2].startswith("2 ") and lines[2].endswith("(no audit record)")
    as_json = json.loads(workspace.run("state", "history", "--format", "json").stdout)
    assert [entry["serial"] for entry in as_json] == [1, 2]


def test_writing_commands_wait_for_the_lock_and_name_its_holder(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write(estate(workspace))
    held = workspace.backend.lock("apply")
    clock = replace_the_system_clock(FakeClock(), monkeypatch)
    blocked = workspace.run("state", "rm", "--lock-timeout", "1s", "prod/settings")
    assert blocked.returncode == 1
    assert clock.waited == pytest.approx(1.0)  # it waited out --lock-timeout (in fake time)
    assert held.id in blocked.stderr and "apply" in blocked.stderr
    assert len(blocked.stderr.strip().splitlines()) == 1

    no_terminal = workspace.run("force-unlock", held.id, input="n\n")
    assert no_terminal.returncode == 1 and "Interrupted" not in no_terminal.stderr
    assert no_terminal.stderr == (
        "Error: force-unlock asks for confirmation and there is no terminal to ask on; "
        f"pass --yes to remove lock {held.id}\n"
    )
    other = workspace.run("force-unlock", "0fc0-not-it", "--yes")
    assert other.returncode == 1 and "does not match the lock" in other.stderr and held.id in other.stderr
    unlocked = workspace.run("force-unlock", held.id, "--yes")
    assert unlocked.returncode == 0, unlocked.stderr
    assert f"Lock {held.id} removed" in unlocked.stdout
    done = workspace.run("state", "rm", "prod/settings")
    assert done.returncode == 0, done.stderr
    nothing = workspace.run("force-unlock", held.id)  # nothing locked: nothing to ask
    assert nothing.returncode == 1
    assert nothing.stderr.endswith("is not locked; nothing to force-unlock\n")


@pytest.mark.process
def test_force_unlock_asks_at_a_terminal_naming_the_holder(workspace: Workspace) -> None:
    import pexpect

    from tests.conftest import ctconfig_executable

    workspace.write(estate(workspace))
    held = workspace.backend.lock("apply")
    command, *first = ctconfig_executable()
    args = [*first, "-c", str(workspace.root / "ctconfig.yaml"), "force-unlock", held.id]
    child = pexpect.spawn(command, args, cwd=str(workspace.root), encoding="utf-8", timeout=60)
    child.expect_exact("held by ")
    child.expect_exact("running apply")
    child.expect_exact("[y/N]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and "cancelled; the lock is still held" in str(child.before)
    with pytest.raises(LockHeldError):  # still held
        workspace.backend.lock("plan", 0.0)


def test_bad_lock_timeout_is_a_usage_error(workspace: Workspace) -> None:
    workspace.write(estate(workspace))
    result = workspace.run("state", "rm", "--lock-timeout", "soon", "prod/settings")
    assert result.returncode == 1  # usage errors exit 1: 2 is `plan --detailed-exitcode`'s "changes"
    assert "not a duration such as 30s" in result.stderr
