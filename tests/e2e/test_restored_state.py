"""Issue 21, item 3: a state restored from an older copy is found, said, and rolled forward safely.

Before: every command failed with "journal … recorded against serial 2, but the state is at
serial 1 without them" and no way out; deleting the journal lost a secret; restored without
a journal, `plan --detailed-exitcode` exited 0 while managed records were missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ctconfig.domain import Address
from ctconfig.sandbox.store import SandboxStore
from ctconfig.state.document import AccountPasscodeRecord, Origin, State
from ctconfig.state.journal import Journal, Recorded
from ctconfig.state.journal_store import FileJournalStore
from tests.conftest import RunCtconfig
from tests.examples import copy_example

ACCOUNT_ID = "TEST-R78-ZZK-955Z"


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    return copy_example("quickstart", tmp_path / "quickstart")


def add_passcodes(folder: Path, names: list[str]) -> None:
    config = folder / "ctconfig.yaml"
    lines = "".join(f"      {name}: {{expires_in: 60d}}\n" for name in names)
    marker = "    account_passcodes:\n"
    config.write_text(config.read_text().replace(marker, marker + lines))


def state_of(folder: Path) -> State:
    return State.loads((folder / "ctconfig.state.json").read_text())


def test_restored_without_a_journal_fails_the_plan_and_rolls_forward_in_one_command(
    quickstart: Path, run_ctconfig: RunCtconfig
) -> None:
    def ct(*args: str) -> tuple[int, str]:
        done = run_ctconfig(*args, cwd=quickstart)
        assert "Traceback" not in done.stderr
        return done.returncode, done.stdout + done.stderr

    assert ct("apply", "--auto-approve")[0] == 0
    backup = quickstart / "backup.json"
    shutil.copy(quickstart / "ctconfig.state.json", backup)
    added = [f"extra-{n}" for n in range(5)]
    add_passcodes(quickstart, added)
    assert ct("apply", "--auto-approve")[0] == 0
    newest = state_of(quickstart)
    shutil.copy(backup, quickstart / "ctconfig.state.json")  # restored from last week's copy

    code, said = ct("plan", "--detailed-exitcode")
    assert code == 1  # never 0: five managed records are missing
    assert (
        f"the state is at serial 1, but its history holds serial {newest.serial}: it was restored from an "
        "older copy (or a write stopped halfway); 5 managed record(s) of serial 2 are missing from it "
        "(demo/account_passcode/extra-0, "
        "demo/account_passcode/extra-1, demo/account_passcode/extra-2, demo/account_passcode/extra-3, "
        "demo/account_passcode/extra-4). Run `ctconfig recover --roll-forward`"
    ) in " ".join(said.split())
    code, said = ct("apply", "--auto-approve")
    assert code == 1 and "Run `ctconfig recover --roll-forward`" in said
    assert state_of(quickstart).serial == 1  # nothing started from the old copy

    code, said = ct("recover", "--roll-forward")
    assert code == 0, said
    assert "rolled forward from serial 2 (the state was at 1)" in said
    rolled = state_of(quickstart)
    assert rolled.serial == 3 and rolled.resources == newest.resources
    assert ct("plan", "--detailed-exitcode")[0] == 0
    assert ct("verify")[0] == 0  # every secret still where state says


def test_a_journal_ahead_of_a_restored_state_is_rolled_forward_with_its_secrets(
    quickstart: Path, run_ctconfig: RunCtconfig
) -> None:
    assert run_ctconfig("apply", "--auto-approve", cwd=quickstart).returncode == 0
    backup = quickstart / "backup.json"
    shutil.copy(quickstart / "ctconfig.state.json", backup)
    add_passcodes(quickstart, ["second"])
    assert run_ctconfig("apply", "--auto-approve", cwd=quickstart).returncode == 0
    two = state_of(quickstart)
    # An apply from serial 2 recorded a created passcode, then died before writing serial 3.
    add_passcodes(quickstart, ["third"])
    store = SandboxStore(quickstart / ".ctconfig" / "sandbox.db")
    created = store.create_passcode_once(ACCOUNT_ID, "third", 60, "key-third")
    store.close()
    address = Address.account_passcode("demo", "third")
    record = AccountPasscodeRecord.observed(ACCOUNT_ID, created.passcode, origin=Origin.CREATED)
    journal = Journal(FileJournalStore(quickstart / "ctconfig.state.json.journal"))
    journal.begin(two.lineage, two.serial)
    journal.append([Recorded(address, record)])
    shutil.copy(backup, quickstart / "ctconfig.state.json")

    planned = run_ctconfig("plan", cwd=quickstart)
    assert planned.returncode == 1
    assert "it was restored from an older copy" in planned.stdout + planned.stderr
    journal_text = (quickstart / "ctconfig.state.json.journal").read_text()
    rolled = run_ctconfig("recover", "--roll-forward", cwd=quickstart)
    assert rolled.returncode == 0, rolled.stderr
    assert "Recovered 1 change(s) an interrupted apply recorded" in rolled.stdout
    state = state_of(quickstart)
    assert state.serial == 3 and address in state.resources
    assert set(two.resources) < set(state.resources)
    assert not (quickstart / "ctconfig.state.json.journal").exists() and journal_text
    assert run_ctconfig("plan", "--detailed-exitcode", cwd=quickstart).returncode in (0, 2)


def test_a_journal_ahead_of_a_state_whose_history_is_gone_says_how_to_put_it_back(
    quickstart: Path, run_ctconfig: RunCtconfig
) -> None:
    assert run_ctconfig("apply", "--auto-approve", cwd=quickstart).returncode == 0
    state = state_of(quickstart)
    journal = Journal(FileJournalStore(quickstart / "ctconfig.state.json.journal"))
    journal.begin(state.lineage, state.serial + 1)
    address = Address.account_passcode("demo", "braze-sync")
    journal.append([Recorded(address, state.resources[address])])  # type: ignore[arg-type]
    refused = run_ctconfig("plan", cwd=quickstart)
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.endswith(
        "holds 1 change(s) recorded against serial 2, but the state is at serial 1 without them, and serial "
        "2 is not in its history. Put that version back (`ctconfig state push`) and run `ctconfig recover`; "
        "do not delete the journal: it may be the only record of passcodes whose secrets are still to be "
        "delivered"
    )
