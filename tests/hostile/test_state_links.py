"""Issue 12.8: files beside local state are never reached through a symbolic link.

A link planted where the journal, the lock, the state, its backup or its history
belongs could make ctconfig read or write a file outside the state's directory.
Each is refused with one line naming the path, and nothing outside is touched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ctconfig.domain import Address
from ctconfig.state.document import State, StateError
from ctconfig.state.journal_store import FileJournalStore, JournalWriteError
from ctconfig.state.limits import StateTooLargeError, SymlinkRefusedError
from ctconfig.state.local import LocalBackend
from tests.records import passcode


def grown(state: State, name: str) -> State:
    address = Address.account_passcode("prod", name)
    return state.with_resources({**state.resources, address: passcode(name)}).next_version()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside the state's, where nothing may appear."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def assert_one_line_naming(exc: BaseException, path: Path) -> None:
    message = str(exc)
    assert "\n" not in message and str(path) in message and "symbolic link" in message


def test_apply_refuses_a_dangling_journal_link_and_writes_nothing_outside(
    state_dir: Path, outside: Path, run_ctconfig: Any
) -> None:
    """The issue's reproduction, through the installed command."""
    config = {
        "version": 1,
        "state": {"backend": "local", "path": "ctconfig.state.json"},
        "provider": {"kind": "sandbox", "path": str(state_dir / "sandbox.db")},
        "secrets": {"sink": "file", "path": str(state_dir / "secrets")},
        "accounts": {"demo": {"id": "TEST-R78-ZZK-955Z", "account_passcodes": {"p1": {"expires_in": 30}}}},
    }
    with (state_dir / "ctconfig.yaml").open("w") as handle:
        YAML().dump(config, handle)
    planted = outside / "planted"
    (state_dir / "ctconfig.state.json.journal").symlink_to(planted)
    result = run_ctconfig("apply", "--auto-approve", cwd=state_dir)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "ctconfig.state.json.journal" in line and "symbolic link" in line
    assert not planted.exists() and list(outside.iterdir()) == []


def test_journal_append_and_read_refuse_a_link(state_dir: Path, outside: Path) -> None:
    journal_path = state_dir / "ctconfig.state.json.journal"
    journal_path.symlink_to(outside / "planted")
    store = LocalBackend(state_dir / "ctconfig.state.json").journal()
    with pytest.raises(JournalWriteError) as caught:
        store.append([{"n": 1}])
    assert_one_line_naming(caught.value, journal_path)
    with pytest.raises(SymlinkRefusedError) as read:
        store.entries()
    assert_one_line_naming(read.value, journal_path)
    assert list(outside.iterdir()) == []


def test_a_fifo_in_place_of_the_journal_fails_at_once(state_dir: Path) -> None:
    path = state_dir / "ctconfig.state.json.journal"
    os.mkfifo(path)
    with pytest.raises(JournalWriteError, match=r"No such device or address|not a regular file"):
        FileJournalStore(path).append([{"n": 1}])
    with pytest.raises(StateError, match="not a regular file"):
        FileJournalStore(path).entries()


@pytest.mark.parametrize("dangling", [True, False], ids=["dangling", "to-a-file"])
def test_lock_refuses_a_link_in_place_of_the_lock_file(
    state_dir: Path, outside: Path, dangling: bool
) -> None:
    target = outside / "lock-target"
    if not dangling:
        target.write_text('{"id": "planted", "who": "mallory"}')
    lock_path = state_dir / "ctconfig.state.json.lock"
    lock_path.symlink_to(target)
    with pytest.raises(SymlinkRefusedError) as caught:
        LocalBackend(state_dir / "ctconfig.state.json").lock("apply", timeout=30)
    assert_one_line_naming(caught.value, lock_path)
    assert target.exists() != dangling
    assert not dangling or list(outside.iterdir()) == []
    with pytest.raises(SymlinkRefusedError):
        LocalBackend(state_dir / "ctconfig.state.json").force_unlock("planted")
    assert lock_path.is_symlink()  # left for a person to look at


def test_the_state_file_itself_as_a_link_is_refused_not_replaced(state_dir: Path, outside: Path) -> None:
    real = outside / "real.state.json"
    LocalBackend(real).write(grown(State.new(), "a"), None)
    before = real.read_bytes()
    link = state_dir / "ctconfig.state.json"
    link.symlink_to(real)
    backend = LocalBackend(link)
    with pytest.raises(SymlinkRefusedError) as caught:
        backend.read()
    assert_one_line_naming(caught.value, link)
    with pytest.raises(SymlinkRefusedError):
        backend.write(grown(State.new(), "b"), None)
    assert link.is_symlink() and real.read_bytes() == before


def test_a_linked_backup_is_refused_before_anything_changes(state_dir: Path, outside: Path) -> None:
    path = state_dir / "ctconfig.state.json"
    backend = LocalBackend(path)
    token = backend.write(grown(State.new(), "a"), None)
    state_before = path.read_bytes()
    (state_dir / "ctconfig.state.json.backup").symlink_to(outside / "backup")
    current = backend.read()
    assert current is not None
    with pytest.raises(SymlinkRefusedError) as caught:
        backend.write(grown(current.state, "b"), token)
    assert_one_line_naming(caught.value, state_dir / "ctconfig.state.json.backup")
    assert path.read_bytes() == state_before and list(outside.iterdir()) == []


def test_a_linked_history_directory_is_refused(state_dir: Path, outside: Path) -> None:
    path = state_dir / "ctconfig.state.json"
    history = state_dir / "ctconfig.state.json.history"
    history.symlink_to(outside, target_is_directory=True)
    backend = LocalBackend(path)
    with pytest.raises(SymlinkRefusedError) as caught:
        backend.write(grown(State.new(), "a"), None)
    assert_one_line_naming(caught.value, history)
    assert list(outside.iterdir()) == [] and not path.exists()
    with pytest.raises(SymlinkRefusedError):
        backend.history()


def test_a_linked_history_version_is_not_read(state_dir: Path, outside: Path) -> None:
    path = state_dir / "ctconfig.state.json"
    backend = LocalBackend(path)
    token = backend.write(grown(State.new(), "a"), None)
    current = backend.read()
    assert current is not None
    backend.write(grown(current.state, "b"), token)
    secret = outside / "elsewhere.json"
    secret.write_text(json.dumps(grown(State.new(), "planted").to_json()))
    version = state_dir / "ctconfig.state.json.history" / "00000001.json"
    version.unlink()
    version.symlink_to(secret)
    with pytest.raises(SymlinkRefusedError) as caught:
        backend.read_serial(1)
    assert_one_line_naming(caught.value, version)


def test_a_fifo_in_place_of_the_state_is_refused_not_waited_on(state_dir: Path) -> None:
    path = state_dir / "ctconfig.state.json"
    os.mkfifo(path)
    with pytest.raises(StateError, match=f"^state {path} is not a regular file"):
        LocalBackend(path).read()


def test_a_huge_state_file_is_refused_before_it_is_read(state_dir: Path) -> None:
    """A sparse 65 MiB file: refused from its size alone (reading it would hold it all in memory)."""
    path = state_dir / "ctconfig.state.json"
    with path.open("wb") as handle:
        handle.truncate(65 * 1024 * 1024)
    with pytest.raises(StateTooLargeError) as caught:
        LocalBackend(path).read()
    message = str(caught.value)
    assert message.startswith(f"{path}: the state is 68157440 bytes, more than the 64 MiB ctconfig reads")
