"""The checkpoint journal and `load_state`, which replays a journal left by a crash."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ctconfig.config.spec import HttpStateConfig, LocalStateConfig
from ctconfig.state import load_state, open_backend
from ctconfig.state.document import ResourceState, State, StateError
from ctconfig.state.journal import Journal
from ctconfig.state.journal_store import FileJournalStore
from ctconfig.state.local import LocalBackend


def res(name: str) -> ResourceState:
    return ResourceState(
        kind="account_passcode",
        account_id="W9R-486-4W5Z",
        remote_id=f"ap-{name}",
        attributes={"name": name, "expires_in": "forever"},
        secret_fingerprint="sha256:abcdefabcdef",
    )


def base_state() -> State:
    return State.new().with_resources(
        {"prod/account_passcode/old": res("old"), "prod/account_passcode/gone": res("gone")}
    )


def test_replay_applies_records_in_order(tmp_path: Path) -> None:
    state = base_state()
    journal = Journal(FileJournalStore(tmp_path / "j"))
    journal.open(state.lineage, state.serial)
    journal.record("prod/account_passcode/new", res("new"))
    journal.record("prod/account_passcode/gone", None)
    journal.record("prod/account_passcode/new", res("new").with_attributes(expires_in="90d"))
    journal.close()
    replayed, count = Journal(FileJournalStore(tmp_path / "j")).replay(state)
    assert count == 3
    assert set(replayed.resources) == {"prod/account_passcode/old", "prod/account_passcode/new"}
    assert replayed.resources["prod/account_passcode/new"].attributes["expires_in"] == "90d"
    assert replayed.serial == state.serial and replayed.lineage == state.lineage


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    state = base_state()
    journal = Journal(FileJournalStore(tmp_path / "j"))
    journal.open(state.lineage, state.serial)
    journal.record("prod/account_passcode/a", res("a"))
    journal.record("prod/account_passcode/b", res("b"))
    journal.close()
    data = (tmp_path / "j").read_bytes()
    (tmp_path / "j").write_bytes(data[: len(data) - 20])  # crash mid-line
    replayed, count = Journal(FileJournalStore(tmp_path / "j")).replay(state)
    assert count == 1
    assert "prod/account_passcode/a" in replayed.resources
    assert "prod/account_passcode/b" not in replayed.resources


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    state = base_state()
    path = tmp_path / "j"
    journal = Journal(FileJournalStore(path))
    journal.open(state.lineage, state.serial)
    journal.close()
    path.write_bytes(path.read_bytes() + b"garbage\n{}\n")
    with pytest.raises(StateError, match="line 2 is corrupt"):
        Journal(FileJournalStore(path)).replay(state)


def test_other_lineage_is_refused(tmp_path: Path) -> None:
    journal = Journal(FileJournalStore(tmp_path / "j"))
    journal.open("11111111-other", 0)
    journal.record("prod/account_passcode/a", res("a"))
    journal.close()
    with pytest.raises(StateError, match="belongs to state lineage 11111111-other"):
        journal.replay(base_state())


def test_journal_already_in_a_later_state_applies_nothing(tmp_path: Path) -> None:
    state = base_state()
    journal = Journal(FileJournalStore(tmp_path / "j"))
    journal.open(state.lineage, state.serial)
    journal.record("prod/account_passcode/a", res("a"))
    journal.close()
    later = state.with_resources({**state.resources, "prod/account_passcode/a": res("a")})
    later = later.next_version()
    assert journal.replay(later) == (later, 0)
    with pytest.raises(StateError, match="without them"):
        journal.replay(state.next_version().next_version())


def test_open_refuses_to_overwrite_records(tmp_path: Path) -> None:
    journal = Journal(FileJournalStore(tmp_path / "j"))
    journal.open("l", 0)
    journal.record("prod/account_passcode/a", res("a"))
    journal.close()
    with pytest.raises(StateError, match="interrupted run"):
        Journal(FileJournalStore(tmp_path / "j")).open("l", 0)


def test_each_record_is_one_appended_line(tmp_path: Path) -> None:
    """Checkpoints cost one line each, never a rewrite: 10,000 batched records stay cheap."""
    journal = Journal(FileJournalStore(tmp_path / "j"))
    journal.open("l", 0)
    started = time.perf_counter()
    for batch in range(100):
        journal.record_many((f"prod/account_passcode/p{batch}-{i}", res(f"p{i}")) for i in range(100))
    elapsed = time.perf_counter() - started
    journal.close()
    print(f"\n10,000 journal records in batches of 100: {elapsed:.3f}s")
    assert (tmp_path / "j").read_bytes().count(b"\n") == 10_001
    assert journal.replay(State(lineage="l"))[1] == 10_000


@pytest.mark.slow
def test_ten_thousand_fsynced_records(tmp_path: Path) -> None:
    """One fdatasync per record: the disk's sync latency is the whole cost (printed for the report).

    The bound only catches a per-record rewrite of the whole journal or state,
    which would take minutes; the figure itself depends on the disk and its load.
    """
    journal = Journal(FileJournalStore(tmp_path / "j"))
    journal.open("l", 0)
    started = time.perf_counter()
    for i in range(10_000):
        journal.record(f"prod/account_passcode/p{i}", res(f"p{i}"))
    elapsed = time.perf_counter() - started
    journal.close()
    print(f"\n10,000 journal records, fdatasync each: {elapsed:.3f}s")
    replayed, count = journal.replay(State(lineage="l"))
    assert count == 10_000 and len(replayed.resources) == 10_000


def test_load_state_empty(tmp_path: Path) -> None:
    state, token = load_state(LocalBackend(tmp_path / "s.json"))
    assert token is None and state.serial == 0 and state.resources == {}
    assert not (tmp_path / "s.json").exists()


def test_load_state_replays_leftover_journal(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "s.json")
    state = base_state().next_version()
    backend.write(state, None)
    journal = Journal(backend.journal())
    journal.open(state.lineage, state.serial)
    journal.record("prod/account_passcode/new", res("new"))
    journal.record("prod/account_passcode/gone", None)
    journal.close()
    data = backend.journal().path.read_bytes()
    backend.journal().path.write_bytes(data + b'{"address": "torn')
    loaded, token = load_state(backend)
    assert loaded.serial == 2
    assert set(loaded.resources) == {"prod/account_passcode/old", "prod/account_passcode/new"}
    assert not backend.journal().path.exists()
    current = backend.read()
    assert current is not None and current.state == loaded and current.token == token
    [*_, last] = backend.history()
    assert last.audit is not None and last.audit.operation == "recover"


def test_load_state_replays_journal_of_first_apply(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "s.json")
    fresh = State.new()
    journal = Journal(backend.journal())
    journal.open(fresh.lineage, 0)
    journal.record("prod/account_passcode/a", res("a"))
    journal.close()
    loaded, token = load_state(backend)
    assert loaded.lineage == fresh.lineage and loaded.serial == 1 and token is not None
    assert list(loaded.resources) == ["prod/account_passcode/a"]


def test_load_state_clears_journal_without_records(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "s.json")
    Journal(backend.journal()).open("whatever", 0)
    state, token = load_state(backend)
    assert token is None and state.serial == 0
    assert not backend.journal().path.exists()


def test_open_backend_local_and_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    backend = open_backend(LocalStateConfig(path="sub/s.json"))
    assert backend.describe() == "sub/s.json"
    http = open_backend(HttpStateConfig(backend="http", address="https://example.invalid/state?x=1"), {})
    assert http.describe() == "https://example.invalid/state"
