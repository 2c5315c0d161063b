"""The http backend against a real GitLab-like server: read, CAS write, locks, history, errors."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctconfig.config.spec import HttpStateConfig
from ctconfig.domain import Address
from ctconfig.errors import CtconfigError
from ctconfig.state import http as http_state
from ctconfig.state.base import AuditRecord, LockHeldError, LockInfo, StaleStateError
from ctconfig.state.document import State, StateError
from ctconfig.state.http import AUDIT_KEY, HttpBackend, HttpStateError
from ctconfig.state.http_lock import to_terraform_lock
from ctconfig.state.local import LocalBackend
from ctconfig.state.migrate import migrate_state
from tests.http_state.conftest import ENV, PASSWORD_ENV, USER_ENV, Open, state_config
from tests.http_state.server import PASSWORD, READ_ONLY_PASSWORD, USERNAME, StateServer, serving
from tests.records import passcode
from tests.state.clock import FakeClock

AUDIT = AuditRecord(who="alice", when="2026-11-27T10:00:00Z", operation="apply", summary="1 created")


def grown(state: State, name: str) -> State:
    resource = passcode(name)
    return state.with_resources(
        {**state.resources, Address.account_passcode("prod", name): resource}
    ).next_version()


@pytest.mark.parametrize("empty_status", [404, 204])
def test_read_empty(empty_status: int, open_backend: Open) -> None:
    with serving(StateServer(empty_status=empty_status)) as server:
        backend = open_backend(server)
        assert backend.read() is None
        assert backend.history() == []


def test_write_read_round_trip_keeps_the_audit_of_the_current_version(
    open_backend: Open, state_server: StateServer
) -> None:
    state = grown(State.new(), "segment-export")
    token = open_backend().write(state, None, AUDIT)
    version = open_backend().read()
    assert version is not None and version.state == state and version.token == token
    stored = state_server.document()
    assert stored["serial"] == 1 and stored["lineage"] == state.lineage  # GitLab versions by `serial`
    assert stored[AUDIT_KEY]["audit"] == AUDIT.to_json()
    [entry] = open_backend().history()
    assert entry.serial == 1 and entry.audit == AUDIT and entry.created.endswith("Z")
    assert open_backend().read_serial(1) == state


def test_older_serials_are_refused_with_the_way_out(open_backend: Open) -> None:
    backend = open_backend()
    first = grown(State.new(), "a")
    token = backend.write(first, None)
    backend.write(grown(first, "b"), token)
    assert [entry.serial for entry in backend.history()] == [2]
    with pytest.raises(StateError) as caught:
        backend.read_serial(1)
    assert str(caught.value) == (
        "serial 1 is not kept: the http backend keeps only the current version (serial 2); "
        "use `ctconfig state diff` with files or git:REV:PATH for older ones"
    )


def test_token_survives_a_server_that_reformats_json(open_backend: Open) -> None:
    with serving(StateServer(reformat=True)) as server:
        backend = open_backend(server)
        token = backend.write(grown(State.new(), "a"), None)
        version = backend.read()
        assert version is not None and version.token == token
        backend.write(grown(version.state, "b"), token)


def test_cas_refuses_a_stale_write(open_backend: Open, state_server: StateServer) -> None:
    open_backend().write(grown(State.new(), "base"), None)
    alice, bob = open_backend(), open_backend()
    read_a, read_b = alice.read(), bob.read()
    assert read_a is not None and read_b is not None
    alice.write(grown(read_a.state, "alice"), read_a.token)
    with pytest.raises(StaleStateError, match=r"state changed since it was read \(serial 1 -> 2\)"):
        bob.write(grown(read_b.state, "bob"), read_b.token)
    with pytest.raises(StaleStateError, match="already at serial 2"):
        again = bob.read()
        assert again is not None
        bob.write(again.state, again.token)
    assert state_server.document()["serial"] == 2
    assert state_server.stored().lock is None  # the refused writes released their short locks


def test_a_write_posts_the_id_of_the_lock_it_holds(open_backend: Open, state_server: StateServer) -> None:
    backend = open_backend()
    lock = backend.lock("apply")
    backend.write(grown(State.new(), "a"), None)
    backend.unlock(lock)
    [post] = [r for r in state_server.requests if r.method == "POST"]
    assert post.query == {"ID": [lock.id]}


def test_a_write_without_lock_takes_one_for_its_duration(
    open_backend: Open, state_server: StateServer
) -> None:
    open_backend().write(grown(State.new(), "a"), None)
    assert [r.method for r in state_server.requests] == ["LOCK", "GET", "POST", "UNLOCK"]
    taken = json.loads(state_server.requests[0].body)
    assert taken["Operation"] == "write" and state_server.requests[2].query == {"ID": [taken["ID"]]}
    assert state_server.stored().lock is None


def test_a_write_without_lock_waits_then_names_the_holder(open_backend: Open) -> None:
    lock = open_backend().lock("apply")
    clock = FakeClock()
    with pytest.raises(LockHeldError, match=f"still locked after waiting 10s .*lock ID {lock.id}"):
        open_backend(clock=clock).write(grown(State.new(), "a"), None)
    assert clock.waited == pytest.approx(http_state.UNLOCKED_WRITE_WAIT)


def test_lock_sends_terraform_lock_info_and_unlock_clears_it(
    open_backend: Open, state_server: StateServer
) -> None:
    backend = open_backend()
    lock = backend.lock("apply")
    held = state_server.stored().lock
    assert held is not None
    assert held["ID"] == lock.id and held["Operation"] == "apply"
    assert held["Who"] == f"{lock.who}@{lock.host}" and held["Created"] == lock.created
    assert set(held) == {"ID", "Operation", "Info", "Who", "Version", "Created", "Path"}
    backend.unlock(lock)
    assert state_server.stored().lock is None
    again = open_backend().lock("plan")
    assert again.id != lock.id


def test_second_locker_fails_fast_naming_the_holder(open_backend: Open) -> None:
    lock = open_backend().lock("apply")
    clock = FakeClock()
    with pytest.raises(LockHeldError) as caught:
        open_backend(clock=clock).lock("plan")
    assert clock.sleeps == []
    message = str(caught.value)
    assert f"state is locked by {lock.who}@{lock.host} (pid {lock.pid}) running apply since" in message
    assert f"lock ID {lock.id}" in message and f"ctconfig force-unlock {lock.id}" in message
    assert caught.value.holder == lock


def test_a_dead_local_holder_is_reported_at_once(open_backend: Open, state_server: StateServer) -> None:
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead = dataclasses.replace(LockInfo.new("apply"), pid=int(exited.stdout))
    state_server.stored().lock = to_terraform_lock(dead, "ctconfig")
    with pytest.raises(LockHeldError, match=f"no longer running: ctconfig force-unlock {dead.id}"):
        open_backend().lock("apply", timeout=30)


def test_waiting_locker_gets_the_lock_when_released(open_backend: Open) -> None:
    holder = open_backend()
    lock = holder.lock("apply")
    clock = FakeClock()
    clock.at(0.4, lambda: holder.unlock(lock))
    got = open_backend(clock=clock).lock("apply", timeout=10)
    assert clock.sleeps == pytest.approx([0.05, 0.1, 0.2, 0.4]) and got.id != lock.id


def test_waiting_locker_times_out(open_backend: Open) -> None:
    open_backend().lock("apply")
    clock = FakeClock()
    with pytest.raises(LockHeldError, match=r"still locked after waiting 0\.5s"):
        open_backend(clock=clock).lock("plan", timeout=0.5)
    assert clock.waited == pytest.approx(0.5)


def test_force_unlock_by_id(open_backend: Open, state_server: StateServer) -> None:
    holder = open_backend()
    lock = holder.lock("apply")
    admin = open_backend()
    with pytest.raises(StateError, match=f"does not match the lock on .*running apply.*lock ID {lock.id}"):
        admin.force_unlock("not-the-id")
    removed = admin.force_unlock(lock.id)
    assert removed == lock
    assert state_server.stored().lock is None
    with pytest.raises(StateError, match="is not locked; nothing to force-unlock"):
        admin.force_unlock(lock.id)
    assert state_server.stored().lock is None  # the probe was released
    newcomer = open_backend().lock("apply")
    with pytest.raises(HttpStateError, match=f"refused the write: lock {lock.id} is no longer held"):
        holder.write(grown(State.new(), "late"), None)
    with pytest.raises(HttpStateError, match=f"now locked by .*lock ID {newcomer.id}"):
        holder.unlock(lock)


def test_gitlab_flavour_post_and_delete_on_lock_with_409(
    open_backend: Open, gitlab_server: StateServer
) -> None:
    backend = open_backend(gitlab_server, gitlab=True)
    assert backend.read() is None
    lock = backend.lock("apply")
    with pytest.raises(LockHeldError, match=f"running apply .*lock ID {lock.id}"):
        open_backend(gitlab_server, gitlab=True).lock("plan")
    token = backend.write(grown(State.new(), "a"), None)
    backend.unlock(lock)
    assert gitlab_server.stored().lock is None
    assert [(r.method, r.path) for r in gitlab_server.requests[:2]] == [
        ("GET", "/state/ctconfig"),
        ("POST", "/state/ctconfig/lock"),
    ]
    version = backend.read()
    assert version is not None and version.token == token


def test_bad_credentials_name_the_variables_and_never_the_password(open_backend: Open) -> None:
    backend = open_backend(env={USER_ENV: USERNAME, PASSWORD_ENV: "wrong-password-123"})
    with pytest.raises(HttpStateError) as caught:
        backend.read()
    message = str(caught.value)
    assert f"refused the credentials in ${USER_ENV} / ${PASSWORD_ENV} (401 Unauthorized)" in message
    assert "wrong-password-123" not in message and "\n" not in message


def test_forbidden_writes_say_what_access_is_missing(open_backend: Open) -> None:
    backend = open_backend(env={USER_ENV: USERNAME, PASSWORD_ENV: READ_ONLY_PASSWORD})
    assert backend.read() is None
    expected = rf"denied the user in \${USER_ENV} permission to lock the state"
    with pytest.raises(HttpStateError, match=expected):
        backend.lock("apply")


def test_no_credentials_configured_but_required(state_server: StateServer) -> None:
    config = {k: v for k, v in state_config(state_server).items() if not k.endswith("_env")}
    backend = HttpBackend(HttpStateConfig.model_validate(config), {})
    with pytest.raises(HttpStateError, match=r"requires credentials .* set state.username_env"):
        backend.read()


@pytest.mark.parametrize(
    ("change", "env", "expected"),
    [
        ({}, {USER_ENV: USERNAME}, f"state.password_env names ${PASSWORD_ENV}, which is not set"),
        ({"password_env": None}, ENV, "username_env and state.password_env go together"),
        ({"address": "http://u:p@127.0.0.1:9/state"}, ENV, "must not carry credentials"),
        ({"address": "file:///tmp/state"}, ENV, "must be an http:// or https:// URL"),
    ],
)
def test_configuration_mistakes_are_one_line(
    state_server: StateServer, change: dict[str, object], env: dict[str, str], expected: str
) -> None:
    config = state_config(state_server) | change
    with pytest.raises(CtconfigError, match=expected.replace("$", r"\$")):
        HttpBackend(HttpStateConfig.model_validate(config), env)


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_one_clear_line() -> None:
    address = f"http://127.0.0.1:{_unused_port()}/state/ctconfig"
    clock = FakeClock()
    backend = HttpBackend(HttpStateConfig(backend="http", address=address), {}, clock)
    with pytest.raises(HttpStateError) as caught:
        backend.lock("apply", timeout=60)
    assert clock.sleeps == []  # an unreachable server is not a held lock: no waiting for it
    message = str(caught.value)
    assert message.startswith(f"cannot reach the state server at {address}: ") and "\n" not in message


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_a_server_that_never_answers_times_out(silent_port: int) -> None:
    config = HttpStateConfig(backend="http", address=f"http://127.0.0.1:{silent_port}/s", timeout=0.3)
    with pytest.raises(HttpStateError, match=r"did not answer within 0.3s \(read the state\)"):
        HttpBackend(config, {}).read()


def test_unexpected_status_is_one_line(open_backend: Open) -> None:
    with serving(StateServer(fail_with=502)) as server, pytest.raises(HttpStateError) as caught:
        open_backend(server).read()
    assert str(caught.value) == (
        f"{server.address()} answered 502 Bad Gateway to the request to read the state: upstream trouble"
    )


def test_describe_and_journal(
    state_server: StateServer, open_backend: Open, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = open_backend(address=f"{state_server.address()}?token=x")
    assert backend.describe() == state_server.address()
    assert PASSWORD not in backend.describe()
    other = open_backend(address=state_server.address("other"))
    assert backend.journal().path.name.startswith("http-") and backend.journal().path.suffix == ".journal"
    assert backend.journal().path != other.journal().path
    # Never in the working directory, which a pull request can write into (issue 20, row 3).
    monkeypatch.chdir(tmp_path)
    chosen = open_backend(env={**ENV, "CTCONFIG_JOURNAL_DIR": str(tmp_path / "journals")})
    assert chosen.journal().path.parent == tmp_path / "journals"
    xdg = open_backend(env={**ENV, "XDG_STATE_HOME": str(tmp_path / "xdg")})
    assert xdg.journal().path.parent == tmp_path / "xdg" / "ctconfig"
    home = open_backend(env=dict(ENV))
    assert home.journal().path.parent == Path.home() / ".local" / "state" / "ctconfig"
    for made in (chosen, xdg, home):
        assert not made.journal().path.resolve().is_relative_to(tmp_path.resolve() / ".ctconfig")


def test_migrate_from_local_keeps_serials_and_the_latest_audit(open_backend: Open, tmp_path: Path) -> None:
    local = LocalBackend(tmp_path / "ctconfig.state.json")
    state, token = State.new(), None
    for n in range(1, 4):
        state = grown(state, f"p{n}")
        token = local.write(state, token, AUDIT)
    backend = open_backend()
    report = migrate_state(local, backend)
    assert report.copied == (1, 2, 3)
    version = backend.read()
    assert version is not None and version.state == state
    assert [(e.serial, e.audit) for e in backend.history()] == [(3, AUDIT)]
    back = LocalBackend(tmp_path / "back.json")
    assert migrate_state(backend, back).copied == (3,)
    copied = back.read()
    assert copied is not None and copied.state == state


def test_an_unlock_the_server_fails_is_one_clear_state_error(
    open_backend: Open, state_server: StateServer
) -> None:
    """Issue 10.5: a failed release is an HttpStateError (a StateError), never a raw HTTP error."""
    backend = open_backend()
    lock = backend.lock("apply")
    state_server.fail_with = 503
    with pytest.raises(HttpStateError) as caught:
        backend.unlock(lock)
    message = str(caught.value)
    expected = f"{state_server.address()} answered 503 Service Unavailable to the request to unlock"
    assert message.startswith(expected)
    assert "\n" not in message
