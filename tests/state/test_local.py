"""What only the local backend promises: the file format, atomic files, backup, lock file."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ctconfig.domain import Address
from ctconfig.state.base import AuditRecord, LockHeldError, LockInfo, StaleStateError
from ctconfig.state.document import State, StateError
from ctconfig.state.local import LocalBackend
from tests.records import passcode


def grown(state: State, name: str) -> State:
    resource = passcode(name)
    return state.with_resources(
        {**state.resources, Address.account_passcode("prod", name): resource}
    ).next_version()


def test_file_is_canonical_json(tmp_path: Path) -> None:
    path = tmp_path / "ctconfig.state.json"
    state = grown(State.new(), "b")
    LocalBackend(path).write(state, None)
    text = path.read_text()
    assert text == state.dumps()
    assert text.endswith("}\n")
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["serial"] == 1 and data["format_version"] == 2


def test_atomic_writes_leave_no_temp_files_and_keep_backup(tmp_path: Path) -> None:
    path = tmp_path / "ctconfig.state.json"
    backend = LocalBackend(path)
    state, token = State.new(), None
    for name in ("a", "b", "c"):
        state = grown(state, name)
        token = backend.write(state, token)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ctconfig.state.json",
        "ctconfig.state.json.backup",
        "ctconfig.state.json.history",
    ]
    assert sorted(p.name for p in (tmp_path / "ctconfig.state.json.history").iterdir()) == [
        "00000001.json",
        "00000002.json",
        "00000003.json",
    ]
    backup = State.loads((tmp_path / "ctconfig.state.json.backup").read_text())
    assert backup.serial == 2
    assert State.loads(path.read_text()).serial == 3


def test_audit_record_kept_beside_version(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    record = AuditRecord(who="alice", when="2026-11-27T10:00:00Z", operation="apply", summary="1 created")
    LocalBackend(path).write(grown(State.new(), "a"), None, record)
    audit_file = tmp_path / "s.json.history" / "00000001.audit.json"
    assert AuditRecord.from_json(json.loads(audit_file.read_text())) == record


def test_hand_edit_since_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    backend = LocalBackend(path)
    state = grown(State.new(), "a")
    token = backend.write(state, None)
    path.write_text(grown(state, "edited").with_resources({}).dumps())  # someone else's serial 2
    with pytest.raises(StaleStateError, match=r"serial 1 -> 2\); re-run the command"):
        backend.write(grown(state, "b"), token)


def test_orphan_history_above_current_serial_is_hidden_but_found(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    backend = LocalBackend(path)
    state = grown(State.new(), "a")
    backend.write(state, None)
    # A crash after writing history 2 but before the rename (or a state restored from serial 1):
    (tmp_path / "s.json.history" / "00000002.json").write_text(grown(state, "lost").dumps())
    assert [e.serial for e in backend.history()] == [1]
    assert backend.newest_kept() == 2  # recovery decides what it is (service/restored.py)
    assert "lost" in str(backend.read_serial(2).resources)
    with pytest.raises(StateError, match="not kept"):
        backend.read_serial(3)


def test_unreadable_state_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with pytest.raises(StateError, match=rf"^{re.escape(str(path))}: .*JSON") as caught:
        LocalBackend(path).read()
    assert "\n" not in str(caught.value) and str(caught.value).count(str(path)) == 1


def test_lock_file_records_owner(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "s.json")
    lock = backend.lock("apply")
    data = json.loads((tmp_path / "s.json.lock").read_text())
    assert LockInfo.from_json(data) == lock
    assert lock.pid == os.getpid() and lock.host == socket.gethostname()
    backend.unlock(lock)
    assert not (tmp_path / "s.json.lock").exists()


def test_lock_held_by_dead_process_says_so(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    holder = LockInfo.new("apply")
    holder = LockInfo(holder.id, holder.who, holder.host, int(dead.stdout), "apply", holder.created)
    (tmp_path / "s.json.lock").write_text(json.dumps(holder.to_json()))
    with pytest.raises(LockHeldError, match="no longer running: ctconfig force-unlock") as caught:
        LocalBackend(tmp_path / "s.json").lock("plan", timeout=30)  # no point waiting for it
    assert holder.id in str(caught.value)


def test_unlock_after_force_unlock_reports_it(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "s.json")
    lock = backend.lock("apply")
    backend.force_unlock(lock.id)
    newer = backend.lock("apply")
    with pytest.raises(StateError, match="force-unlocked"):
        backend.unlock(lock)
    backend.unlock(newer)


def test_force_unlock_when_not_locked(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="not locked"):
        LocalBackend(tmp_path / "s.json").force_unlock("x")


def test_journal_path_is_beside_state(tmp_path: Path) -> None:
    assert LocalBackend(tmp_path / "s.json").journal().path == tmp_path / "s.json.journal"


UNLOCK_IN_READ_ONLY_DIRECTORY = """
import os, sys
from pathlib import Path
from ctconfig.state.document import StateError
from ctconfig.state.local import LocalBackend
directory = Path(sys.argv[1])
backend = LocalBackend(directory / "ctconfig.state.json")
lock = backend.lock("apply")
os.chmod(directory, 0o555)
try:
    backend.unlock(lock)
except StateError as exc:
    print(lock.id)
    print(exc)
finally:
    os.chmod(directory, 0o755)
"""


def test_unlock_in_a_read_only_directory_is_one_clear_state_error() -> None:
    """Issue 10.5: not `Operation not permitted: …lock` but the path, the effect and the way out."""
    from tests.state.unprivileged import owned_directory, run_snippet

    with owned_directory() as directory:
        ran = run_snippet(UNLOCK_IN_READ_ONLY_DIRECTORY, str(directory))
        assert ran.returncode == 0, ran.stderr
        lock_id, message = ran.stdout.strip().splitlines()
        lock_path = directory / "ctconfig.state.json.lock"
        assert message == (
            f"cannot remove lock file {lock_path} (Permission denied), so the state stays locked: "
            f"make {directory} writable, then run `ctconfig force-unlock {lock_id}`"
        )
        assert lock_path.exists()
        LocalBackend(directory / "ctconfig.state.json").force_unlock(lock_id)  # the way out works
        assert not lock_path.exists()


def test_lock_in_a_read_only_directory_is_one_clear_state_error() -> None:
    from tests.state.unprivileged import owned_directory, run_snippet

    script = (
        "import os, sys\nfrom pathlib import Path\nfrom ctconfig.state.document import StateError\n"
        "from ctconfig.state.local import LocalBackend\nd = Path(sys.argv[1])\nos.chmod(d, 0o555)\n"
        "try:\n    LocalBackend(d / 'ctconfig.state.json').lock('apply')\n"
        "except StateError as exc:\n    print(exc)\n"
    )
    with owned_directory() as directory:
        ran = run_snippet(script, str(directory))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == (
        f"cannot create lock file {directory}/ctconfig.state.json.lock: Permission denied; "
        "the directory of the state must be writable"
    )
