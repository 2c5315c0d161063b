"""Issue 20, row 3: `plan` never writes — no lock, no state version, no journal settled, no file.

And a journal that this state did not write, or whose intents contradict themselves, is
refused, never folded; the http backend's journal never lives in the checkout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctconfig.domain import Address
from ctconfig.state.journal import Begin, Intent, Journal
from ctconfig.state.journal_store import FileJournalStore
from ctconfig.state.local import LocalBackend
from tests.conftest import RunCtconfig
from tests.examples import copy_example
from tests.untrusted.tree import changes, snapshot

ACCOUNT_ID = "TEST-R78-ZZK-955Z"


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    return copy_example("quickstart", tmp_path / "quickstart")


def journal_of(folder: Path) -> Journal:
    return Journal(FileJournalStore(folder / "ctconfig.state.json.journal"))


def state_of(folder: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((folder / "ctconfig.state.json").read_text())
    return data


def open_intent(folder: Path, state: dict[str, object], name: str) -> None:
    """Leave the journal as an apply killed while creating `name` would: one open intent."""
    journal = journal_of(folder)
    journal.begin(str(state["lineage"]), int(str(state["serial"])))
    journal.append([Intent.new(Address.account_passcode("demo", name), ACCOUNT_ID, name, 30)])


def declare(folder: Path, name: str) -> None:
    config = folder / "ctconfig.yaml"
    marker = "    account_passcodes:\n"
    config.write_text(config.read_text().replace(marker, f"{marker}      {name}: {{expires_in: 30d}}\n"))


def test_plan_on_a_fresh_checkout_creates_no_file(quickstart: Path, run_ctconfig: RunCtconfig) -> None:
    before = snapshot(quickstart)
    planned = run_ctconfig("plan", "--detailed-exitcode", cwd=quickstart)
    assert planned.returncode == 2, planned.stderr
    assert "+ demo/account_passcode/segment-export" in planned.stdout
    assert changes(before, snapshot(quickstart)) == []  # not even the sandbox's database


def test_plan_takes_no_lock_and_a_running_apply_does_not_hold_it_up(
    quickstart: Path, run_ctconfig: RunCtconfig
) -> None:
    assert run_ctconfig("apply", "--auto-approve", cwd=quickstart).returncode == 0
    backend = LocalBackend(quickstart / "ctconfig.state.json")
    held = backend.lock("apply")  # a live process (this one) holds it, as a running apply would
    try:
        state = state_of(quickstart)
        open_intent(quickstart, state, "fresh")
        before = snapshot(quickstart)
        planned = run_ctconfig("plan", "--detailed-exitcode", cwd=quickstart)
        assert planned.returncode == 0, planned.stderr  # its open intent is the running apply's business
        assert "An apply is running (" in planned.stderr
        assert f"this plan starts from the last saved state (serial {state['serial']})" in planned.stderr
        assert changes(before, snapshot(quickstart)) == []
    finally:
        backend.unlock(held)


def test_plan_on_an_interrupted_apply_settles_nothing_and_exits_1(
    quickstart: Path, run_ctconfig: RunCtconfig
) -> None:
    assert run_ctconfig("apply", "--auto-approve", cwd=quickstart).returncode == 0
    declare(quickstart, "fresh")
    state = state_of(quickstart)
    open_intent(quickstart, state, "fresh")
    before = snapshot(quickstart)
    planned = run_ctconfig("plan", "--detailed-exitcode", cwd=quickstart)
    assert planned.returncode == 1
    assert (
        "1 passcode(s) an interrupted apply was creating (demo/account_passcode/fresh): whether they "
        "exist, and where their secrets are, is settled only by `ctconfig apply` (or `ctconfig recover`)"
    ) in planned.stdout + planned.stderr
    assert changes(before, snapshot(quickstart)) == []
    applied = run_ctconfig("apply", "--auto-approve", cwd=quickstart)  # apply settles it, then creates
    assert applied.returncode == 0, applied.stderr
    assert run_ctconfig("plan", "--detailed-exitcode", cwd=quickstart).returncode == 0


@pytest.mark.parametrize(
    ("entries", "refusal"),
    [
        (
            lambda lineage: [Begin("00000000-0000-4000-8000-000000000000", 1)],
            "belongs to state lineage 00000000-0000-4000-8000-000000000000, not to this state's",
        ),
        (
            lambda lineage: [
                Begin(lineage, 1),
                Intent.new(Address.account_passcode("demo", "junk"), ACCOUNT_ID, "segment-export", 30),
            ],
            "an intent for demo/account_passcode/junk names the passcode 'segment-export', not 'junk'; "
            "refusing to fold it",
        ),
        (
            lambda lineage: [
                Begin(lineage, 1),
                Intent.new(Address.account_passcode("demo", "x"), "W9R-486-4W5Z", "x", 30),
            ],
            "an intent for demo/account_passcode/x names account W9R-486-4W5Z, but 'demo' is "
            f"{ACCOUNT_ID}; refusing to fold it",
        ),
    ],
)
def test_a_journal_this_state_did_not_write_is_refused_never_folded(
    quickstart: Path, run_ctconfig: RunCtconfig, entries: object, refusal: str
) -> None:
    assert run_ctconfig("apply", "--auto-approve", cwd=quickstart).returncode == 0
    lineage = str(state_of(quickstart)["lineage"])
    journal = journal_of(quickstart)
    journal.append(entries(lineage))  # type: ignore[operator]
    before = snapshot(quickstart)
    for command in (("plan",), ("apply", "--auto-approve")):
        refused = run_ctconfig(*command, cwd=quickstart)
        assert refused.returncode == 1
        assert refusal in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert changes(before, snapshot(quickstart)) == []
