"""The write-ahead journal: what it stores, how it folds into state, which intents it leaves open."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from ctconfig.domain import Address
from ctconfig.state.document import State, StateError
from ctconfig.state.journal import Begin, Closed, Intent, Journal, Recorded
from ctconfig.state.journal_store import FileJournalStore, JournalWriteError
from tests.records import passcode

OLD, GONE, NEW = (Address.account_passcode("prod", n) for n in ("old", "gone", "new"))


def base_state() -> State:
    return State.new().with_resources({OLD: passcode("old"), GONE: passcode("gone")})


def journal_at(path: Path) -> Journal:
    return Journal(FileJournalStore(path))


def intent(name: str) -> Intent:
    return Intent.new(Address.account_passcode("prod", name), "W9R-486-4W5Z", name, 90)


def test_fold_applies_records_in_order(tmp_path: Path) -> None:
    state = base_state()
    journal = journal_at(tmp_path / "j")
    journal.begin(state.lineage, state.serial)
    journal.append([Recorded(NEW, passcode("new", 30)), Recorded(GONE, None)])
    journal.append([Recorded(NEW, passcode("new", 90))])
    folded, count = journal_at(tmp_path / "j").read().fold(state, "j")
    assert count == 3
    assert set(folded.resources) == {OLD, NEW}
    assert folded.resources[NEW] == passcode("new", 90)
    assert (folded.serial, folded.lineage) == (state.serial, state.lineage)


def test_a_torn_last_entry_is_ignored(tmp_path: Path) -> None:
    state = base_state()
    journal = journal_at(tmp_path / "j")
    journal.begin(state.lineage, state.serial)
    journal.append([Recorded(NEW, passcode("new"))])
    journal.append([Recorded(GONE, None)])
    data = (tmp_path / "j").read_bytes()
    (tmp_path / "j").write_bytes(data[:-10])  # the crash cut the last line short
    folded, count = journal_at(tmp_path / "j").read().fold(state, "j")
    assert count == 1 and set(folded.resources) == {OLD, GONE, NEW}


def test_a_journal_of_another_lineage_is_refused(tmp_path: Path) -> None:
    journal = journal_at(tmp_path / "j")
    journal.begin("22222222-2222-2222-2222-222222222222", 0)
    journal.append([Recorded(NEW, passcode("new"))])
    with pytest.raises(StateError, match="belongs to state lineage 22222222"):
        journal.read().fold(base_state(), "j")


def test_a_state_that_moved_on_is_fine_only_if_it_holds_every_record(tmp_path: Path) -> None:
    state = base_state()
    journal = journal_at(tmp_path / "j")
    journal.begin(state.lineage, state.serial)
    journal.append([Recorded(NEW, passcode("new"))])
    contents = journal.read()
    later = replace(state.with_resources({**state.resources, NEW: passcode("new")}), serial=state.serial + 1)
    assert contents.fold(later, "j") == (later, 0)  # a crash after the final write
    with pytest.raises(StateError, match="recorded against serial 0, but the state is at serial 1"):
        contents.fold(replace(state, serial=1), "j")


def test_begin_refuses_to_bury_an_unresolved_journal(tmp_path: Path) -> None:
    journal = journal_at(tmp_path / "j")
    journal.begin("11111111-1111-1111-1111-111111111111", 0)
    journal.append([intent("a")])
    with pytest.raises(StateError, match="interrupted run"):
        journal_at(tmp_path / "j").begin("11111111-1111-1111-1111-111111111111", 0)
    journal.clear()
    journal.begin("11111111-1111-1111-1111-111111111111", 0)  # an empty one is simply replaced


def test_intents_stay_open_until_a_record_or_a_closed_entry_ends_them(tmp_path: Path) -> None:
    made, refused, unknown = intent("made"), intent("refused"), intent("unknown")
    journal = journal_at(tmp_path / "j")
    journal.begin("11111111-1111-1111-1111-111111111111", 0)
    journal.append([made, refused, unknown])
    journal.append([Recorded(made.address, passcode("made"), closes=made.id), Closed(refused.id, "409")])
    contents = journal_at(tmp_path / "j").read()
    assert [i.id for i in contents.open_intents()] == [unknown.id]
    assert contents.open_intents()[0] == unknown  # the key and settings survive the round trip


def test_a_corrupt_entry_is_refused_with_its_number(tmp_path: Path) -> None:
    journal = journal_at(tmp_path / "j")
    journal.begin("11111111-1111-1111-1111-111111111111", 0)
    with (tmp_path / "j").open("a") as handle:
        handle.write('{"entry": "record", "address": "not an address", "record": null}\n')
    expected = r"entry 2 is not a ctconfig journal entry: address: .*is not a resource address"
    with pytest.raises(StateError, match=expected):
        journal.read()


def test_a_batch_is_one_append_however_large(tmp_path: Path) -> None:
    journal = journal_at(tmp_path / "j")
    journal.begin("11111111-1111-1111-1111-111111111111", 0)
    journal.append([Recorded(Address.account_passcode("prod", f"p{i}"), None) for i in range(10_000)])
    assert (tmp_path / "j").read_bytes().count(b"\n") == 10_001
    assert len(journal.read().records) == 10_000


def test_the_journal_never_follows_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (tmp_path / "state").mkdir()
    link = tmp_path / "state" / "ctconfig.state.json.journal"
    link.symlink_to(outside)  # dangling: O_CREAT would have made `outside`
    with pytest.raises(JournalWriteError, match="symbolic link"):
        journal_at(link).append([Begin("11111111-1111-1111-1111-111111111111", 0)])
    assert not outside.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_failed_append_names_the_journal_and_the_reason(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        with pytest.raises(JournalWriteError, match=r"cannot write the journal .*ro/j: Permission denied"):
            journal_at(directory / "j").append([Begin("11111111-1111-1111-1111-111111111111", 0)])
    finally:
        directory.chmod(0o700)
