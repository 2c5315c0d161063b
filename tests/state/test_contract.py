"""The contract every state backend keeps: CAS writes, serials, locks, history, bounds.

Lock waits run on a fake clock (tests/state/clock.py): no test here measures wall-clock time.
"""

from __future__ import annotations

import threading

import pytest

from ctconfig.domain import Address
from ctconfig.state import limits
from ctconfig.state.base import AuditRecord, LockHeldError, StaleStateError
from ctconfig.state.document import State, StateError
from ctconfig.state.lockfile import holding
from tests.records import passcode
from tests.state.clock import FakeClock
from tests.state.conftest import BackendFactory


def with_passcode(state: State, name: str) -> State:
    return state.with_resources(
        {**state.resources, Address.account_passcode("prod", name): passcode(name)}
    ).next_version()


def audit(n: int) -> AuditRecord:
    return AuditRecord(
        who="alice",
        when=f"2026-11-27T10:0{n}:00Z",
        operation="apply",
        plan_digest=f"sha256:{n:012d}",
        actions=[{"address": f"prod/account_passcode/p{n}", "action": "create", "outcome": "ok"}],
        summary=f"1 created (write {n})",
    )


def test_read_empty(backend_factory: BackendFactory) -> None:
    assert backend_factory().read() is None
    assert backend_factory().history() == []


def test_write_read_round_trip(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    state = with_passcode(State.new(), "segment-export")
    token = backend.write(state, None)
    version = backend_factory().read()
    assert version is not None
    assert version.state == state
    assert version.token == token


def test_first_write_refused_when_someone_wrote_first(backend_factory: BackendFactory) -> None:
    first, second = backend_factory(), backend_factory()
    first.write(with_passcode(State.new(), "a"), None)
    with pytest.raises(StaleStateError, match="re-run the command"):
        second.write(with_passcode(State.new(), "b"), None)


def test_cas_two_writers_one_wins_no_update_lost(backend_factory: BackendFactory) -> None:
    seed = backend_factory()
    seed.write(with_passcode(State.new(), "base"), None)
    alice, bob = backend_factory(), backend_factory()
    read_a, read_b = alice.read(), bob.read()
    assert read_a is not None and read_b is not None
    alice.write(with_passcode(read_a.state, "alice"), read_a.token)
    with pytest.raises(StaleStateError, match=r"state changed since it was read \(serial 1 -> 2\)"):
        bob.write(with_passcode(read_b.state, "bob"), read_b.token)
    # Bob re-reads and retries: both changes survive.
    again = bob.read()
    assert again is not None
    bob.write(with_passcode(again.state, "bob"), again.token)
    final = backend_factory().read()
    assert final is not None
    assert final.state.serial == 3
    assert set(final.state.resources) == {
        Address.account_passcode("prod", n) for n in ("base", "alice", "bob")
    }


def test_concurrent_writers_exactly_one_wins(backend_factory: BackendFactory) -> None:
    backend_factory().write(with_passcode(State.new(), "base"), None)
    writers = [backend_factory() for _ in range(4)]
    reads = [w.read() for w in writers]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(writers))

    def attempt(i: int) -> None:
        version = reads[i]
        assert version is not None
        barrier.wait()
        try:
            writers[i].write(with_passcode(version.state, f"w{i}"), version.token)
            outcomes.append("won")
        except StaleStateError:
            outcomes.append("stale")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(writers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["stale", "stale", "stale", "won"]
    final = backend_factory().read()
    assert final is not None and final.state.serial == 2


def test_serial_must_grow(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    state = with_passcode(State.new(), "a")
    token = backend.write(state, None)
    same_serial = state.with_resources({})
    with pytest.raises(StaleStateError, match="serial"):
        backend.write(same_serial, token)
    version = backend.read()
    assert version is not None and version.state == state


def test_lock_unlock_relock(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    lock = backend.lock("apply")
    assert lock.operation == "apply"
    backend.unlock(lock)
    other = backend_factory()
    again = other.lock("plan")
    assert again.id != lock.id
    other.unlock(again)


def test_second_locker_fails_fast_naming_holder(backend_factory: BackendFactory) -> None:
    holder = backend_factory()
    lock = holder.lock("apply")
    clock = FakeClock()
    with pytest.raises(LockHeldError) as caught:
        backend_factory(clock=clock).lock("plan")
    assert clock.sleeps == []  # no --lock-timeout: not a moment of waiting
    message = str(caught.value)
    assert f"{lock.who}@{lock.host} (pid {lock.pid}) running apply" in message
    assert f"lock ID {lock.id}" in message
    assert f"ctconfig force-unlock {lock.id}" in message
    assert "--lock-timeout" in message
    assert caught.value.holder is not None and caught.value.holder.id == lock.id
    holder.unlock(lock)


def test_waiting_locker_gets_lock_when_released(backend_factory: BackendFactory) -> None:
    holder = backend_factory()
    lock = holder.lock("apply")
    clock = FakeClock()
    clock.at(0.4, lambda: holder.unlock(lock))  # the holder finishes 0.4s into the wait
    waiter = backend_factory(clock=clock)
    got = waiter.lock("apply", timeout=10)
    # Backoff doubles from 50ms: the attempt after the 0.4s sleep (at 0.75s) takes the lock.
    assert clock.sleeps == pytest.approx([0.05, 0.1, 0.2, 0.4])
    assert got.id != lock.id
    waiter.unlock(got)


def test_waiting_locker_times_out(backend_factory: BackendFactory) -> None:
    holder = backend_factory()
    lock = holder.lock("apply")
    clock = FakeClock()
    with pytest.raises(LockHeldError, match=r"still locked after waiting 0\.5s by .*running apply"):
        backend_factory(clock=clock).lock("plan", timeout=0.5)
    assert clock.sleeps == pytest.approx([0.05, 0.1, 0.2, 0.15])  # the last one stops at the deadline
    holder.unlock(lock)


def test_force_unlock_by_id(backend_factory: BackendFactory) -> None:
    holder = backend_factory()
    lock = holder.lock("apply")
    admin = backend_factory()
    with pytest.raises(StateError, match="does not match"):
        admin.force_unlock("not-the-id")
    removed = admin.force_unlock(lock.id)
    assert removed.id == lock.id and removed.operation == "apply"
    newcomer = backend_factory()
    fresh = newcomer.lock("apply")
    newcomer.unlock(fresh)
    with pytest.raises(StateError):
        admin.force_unlock(lock.id)


def test_history_and_read_serial_across_five_writes(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    state, token = State.new(), None
    written = []
    for n in range(1, 6):
        state = with_passcode(state, f"p{n}")
        token = backend.write(state, token, audit(n))
        written.append(state)
    reader = backend_factory()
    history = reader.history()
    assert [entry.serial for entry in history] == [1, 2, 3, 4, 5]
    for n, entry in enumerate(history, start=1):
        assert entry.audit == audit(n)
        assert entry.created
    for past in written:
        assert reader.read_serial(past.serial) == past
    with pytest.raises(StateError, match="serial 9"):
        reader.read_serial(9)


def test_history_without_audit(backend_factory: BackendFactory) -> None:
    backend = backend_factory()
    backend.write(with_passcode(State.new(), "a"), None)
    [entry] = backend.history()
    assert entry.serial == 1 and entry.audit is None and entry.created


def test_describe_is_short_and_plain(backend_factory: BackendFactory) -> None:
    text = backend_factory().describe()
    assert text and "\n" not in text and "password" not in text


def test_an_unlock_error_never_hides_the_error_of_the_locked_work(
    backend_factory: BackendFactory,
) -> None:
    """The work fails; meanwhile its lock was force-unlocked, so releasing fails too."""
    runner, admin = backend_factory(), backend_factory()
    failing = pytest.raises(RuntimeError, match="the apply itself failed")
    with failing as caught, holding(runner, "apply") as lock:
        admin.force_unlock(lock.id)
        raise RuntimeError("the apply itself failed")
    notes = getattr(caught.value, "__notes__", [])
    assert len(notes) == 1 and notes[0].startswith("also: ") and "\n" not in notes[0]
    assert lock.id in notes[0] or "not held" in notes[0] or "not locked" in notes[0]
    newcomer = backend_factory()
    newcomer.unlock(newcomer.lock("apply"))  # nothing is left locked


def test_unlock_after_force_unlock_is_a_clean_state_error(backend_factory: BackendFactory) -> None:
    runner, admin = backend_factory(), backend_factory()
    lock = runner.lock("apply")
    admin.force_unlock(lock.id)
    newer = admin.lock("apply")
    try:
        runner.unlock(lock)
    except StateError as exc:  # a backend may also accept it silently; it must never be anything else
        assert "\n" not in str(exc)
    assert admin.force_unlock(newer.id).id == newer.id  # the newer lock survived the late unlock


def many_passcodes(count: int) -> State:
    state = State.new()
    return state.with_resources(
        {f"prod/account_passcode/p{i:04d}": passcode(f"p{i:04d}") for i in range(count)}
    ).next_version()


def test_an_oversized_state_is_refused_unread_naming_its_source(
    backend_factory: BackendFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store holding more than MAX_STATE_BYTES is refused before parsing (bound lowered for speed)."""
    backend = backend_factory()
    big = many_passcodes(40)
    backend.write(big, None)
    size = len(big.dumps().encode())
    monkeypatch.setattr(limits, "MAX_STATE_BYTES", size // 2)
    reader = backend_factory()
    with pytest.raises(limits.StateTooLargeError) as caught:
        reader.read()
    message = str(caught.value)
    assert message.startswith(reader.describe()) and "ctconfig reads" in message and "\n" not in message
    with pytest.raises(limits.StateTooLargeError, match="refusing to write"):
        backend.write(big.next_version(), None)


def test_the_bound_is_documented_and_generous() -> None:
    assert limits.MAX_STATE_BYTES == 64 * 1024 * 1024
    assert len(many_passcodes(100).dumps().encode()) * 100 < limits.MAX_STATE_BYTES  # 10,000 passcodes
