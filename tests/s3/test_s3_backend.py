"""The S3 backend against a real S3 API (moto server): CAS writes, locks, history, errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ctconfig.config.spec import S3StateConfig
from ctconfig.domain import Address
from ctconfig.state.base import AuditRecord, LockHeldError, LockInfo, StaleStateError
from ctconfig.state.document import State, StateError
from ctconfig.state.lockfile import SYSTEM_CLOCK, WaitClock
from ctconfig.state.s3 import S3AccessError, S3Backend
from tests.records import passcode
from tests.state.clock import FakeClock


def backend(config: dict[str, Any], clock: WaitClock = SYSTEM_CLOCK, **overrides: Any) -> S3Backend:
    return S3Backend(S3StateConfig.model_validate({**config, **overrides}), None, clock)


def passcode_state(state: State, name: str) -> State:
    resource = passcode(name)
    return state.with_resources({**state.resources, Address.account_passcode("prod", name): resource})


def audit(operation: str = "apply", summary: str = "") -> AuditRecord:
    return AuditRecord(who="alice", when="2026-01-01T00:00:00Z", operation=operation, summary=summary)


def test_first_write_then_compare_and_swap(s3_config: dict[str, Any]) -> None:
    store = backend(s3_config)
    assert store.read() is None
    assert store.describe() == f"s3://{s3_config['bucket']}/team/ctconfig.state.json"

    first = passcode_state(State.new(), "a").next_version()
    token = store.write(first, None, audit())
    current = store.read()
    assert current is not None and current.token == token and current.state == first

    second = passcode_state(first, "b").next_version()
    new_token = store.write(second, token, audit())
    assert new_token != token

    # A writer that read serial 1 loses: its ETag is no longer current.
    with pytest.raises(StaleStateError, match="changed since it was read"):
        store.write(passcode_state(first, "c").next_version(), token)
    # A second "first write" loses too (If-None-Match: *).
    with pytest.raises(StaleStateError):
        store.write(State.new().next_version(), None)
    # Writing a serial that is not newer is refused even with the right token.
    with pytest.raises(StaleStateError, match="already at serial 2"):
        store.write(second, new_token)
    latest = store.read()
    assert latest is not None and latest.state.serial == 2 and latest.token == new_token


def test_two_backends_racing_on_one_version_only_one_wins(s3_config: dict[str, Any]) -> None:
    one, two = backend(s3_config), backend(s3_config)
    token = one.write(State.new().next_version(), None)
    base = one.read()
    assert base is not None
    one.write(passcode_state(base.state, "x").next_version(), token)
    with pytest.raises(StaleStateError):
        two.write(passcode_state(base.state, "y").next_version(), token)
    final = two.read()
    assert final is not None and Address.parse("prod/account_passcode/x") in final.state.resources


def test_precondition_is_enforced_by_the_server(s3_config: dict[str, Any], s3_client: Any) -> None:
    """Even a write that skipped our pre-check is refused by S3's If-Match."""
    store = backend(s3_config)
    token = store.write(State.new().next_version(), None)
    s3_client.put_object(Bucket=store.bucket, Key=store.key, Body=b"{}")
    with pytest.raises(StaleStateError, match=r"serial 1 -> \?"):
        store.write(State.new().next_version().next_version(), token)
    with pytest.raises(Exception, match="PreconditionFailed"):
        s3_client.put_object(Bucket=store.bucket, Key=store.key, Body=b"{}", IfMatch=token)


def test_history_and_read_serial_with_audit_records(s3_config: dict[str, Any]) -> None:
    store = backend(s3_config)
    state, token = State.new(), None
    for index in range(3):
        state = passcode_state(state, f"p{index}").next_version()
        token = store.write(state, token, audit(summary=f"created p{index}"))
    entries = store.history()
    assert [entry.serial for entry in entries] == [1, 2, 3]
    assert [entry.audit.summary for entry in entries if entry.audit] == [
        "created p0",
        "created p1",
        "created p2",
    ]
    assert all(entry.created.endswith("Z") for entry in entries)
    assert {str(a) for a in store.read_serial(2).resources} == {
        "prod/account_passcode/p0",
        "prod/account_passcode/p1",
    }
    with pytest.raises(StateError, match="serial 9 is not kept"):
        store.read_serial(9)


def test_history_survives_a_missing_history_object(s3_config: dict[str, Any], s3_client: Any) -> None:
    """A writer that died between the state write and the history write leaves no gap."""
    store = backend(s3_config)
    token = store.write(State.new().next_version(), None)
    state = store.read_serial(1).next_version()
    store.write(state, token)
    s3_client.delete_object(Bucket=store.bucket, Key=f"{store.key}.history/00000002.json")
    assert [entry.serial for entry in store.history()] == [1, 2]
    assert store.read_serial(2) == state


def test_lock_is_exclusive_and_names_its_holder(s3_config: dict[str, Any]) -> None:
    clock = FakeClock()
    one, two = backend(s3_config), backend(s3_config, clock)
    held = one.lock("apply")
    with pytest.raises(LockHeldError) as caught:
        two.lock("state rm", timeout=0.3)
    assert clock.waited == pytest.approx(0.3)
    message = str(caught.value)
    assert "locked" in message and "running apply" in message and held.id in message
    assert "stale" not in message
    assert caught.value.holder == held
    one.unlock(held)
    again = two.lock("state rm")
    two.unlock(again)


def test_unlock_refuses_someone_elses_lock(s3_config: dict[str, Any]) -> None:
    store = backend(s3_config)
    held = store.lock("apply")
    with pytest.raises(StateError, match="now held by"):
        store.unlock(LockInfo.new("apply"))
    store.unlock(held)


def test_stale_lock_is_reported_with_its_age_not_taken_over(
    s3_config: dict[str, Any], s3_client: Any
) -> None:
    store = backend(s3_config, lock_ttl=1)
    held = store.lock("apply")
    two_days_ago = (datetime.now(UTC) - timedelta(days=2, minutes=1)).isoformat()
    backdated = {**held.to_json(), "created": two_days_ago.replace("+00:00", "Z")}
    s3_client.put_object(Bucket=store.bucket, Key=store.lock_key, Body=json.dumps(backdated))
    with pytest.raises(LockHeldError) as caught:
        store.lock("apply")
    message = str(caught.value)
    assert "is stale: taken 2d ago" in message
    assert "older than lock_ttl 1d" in message
    assert f"ctconfig force-unlock {held.id}" in message
    # Not taken over: the old record is still there.
    body = s3_client.get_object(Bucket=store.bucket, Key=store.lock_key)["Body"].read()
    assert json.loads(body)["id"] == held.id


def test_force_unlock_only_with_the_matching_id(s3_config: dict[str, Any]) -> None:
    store = backend(s3_config)
    held = store.lock("apply")
    with pytest.raises(StateError, match="does not match"):
        store.force_unlock("not-the-id")
    removed = store.force_unlock(held.id)
    assert removed == held
    with pytest.raises(StateError, match="is not locked"):
        store.force_unlock(held.id)
    store.unlock(store.lock("apply"))


def test_lock_timeout_waits_for_release(s3_config: dict[str, Any]) -> None:
    clock = FakeClock()
    one, two = backend(s3_config), backend(s3_config, clock)
    held = one.lock("apply")
    clock.at(0.4, lambda: one.unlock(held))
    taken = two.lock("apply", timeout=10)
    assert clock.sleeps == pytest.approx([0.05, 0.1, 0.2, 0.4])
    assert taken.operation == "apply" and taken.id != held.id
    two.unlock(taken)


HOLDER = textwrap.dedent(
    """
    import sys, time
    from ctconfig.config.spec import S3StateConfig
    from ctconfig.state.s3 import S3Backend
    config = S3StateConfig.model_validate_json(sys.argv[1])
    lock = S3Backend(config).lock("apply")
    print(lock.id, flush=True)
    time.sleep(120)
    """
)


def test_killed_lock_holder_leaves_a_stale_lock_the_next_run_is_told_about(
    s3_config: dict[str, Any], subprocess_env: dict[str, str]
) -> None:
    config = {**s3_config, "lock_ttl": 0}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, json.dumps(config)],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env,
    )
    try:
        assert holder.stdout is not None
        lock_id = holder.stdout.readline().strip()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert lock_id
    store = backend(config)
    with pytest.raises(LockHeldError) as caught:
        store.lock("apply")
    message = str(caught.value)
    assert "is stale" in message and f"ctconfig force-unlock {lock_id}" in message
    assert f"pid {holder.pid}" in message
    store.force_unlock(lock_id)
    store.unlock(store.lock("apply"))


def test_missing_bucket_is_one_clear_line(s3_config: dict[str, Any]) -> None:
    store = backend(s3_config, bucket="no-such-bucket-here")
    with pytest.raises(S3AccessError) as caught:
        store.read()
    assert str(caught.value) == (
        f"S3 bucket 'no-such-bucket-here' does not exist ({s3_config['endpoint_url']})"
    )


def test_unreachable_endpoint_is_one_clear_line(s3_config: dict[str, Any], aws_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = backend(s3_config, endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(S3AccessError) as caught:
        store.read()
    message = str(caught.value)
    assert message.startswith(f"cannot reach http://127.0.0.1:{port}")
    assert "\n" not in message


def test_no_credentials_is_one_clear_line(
    s3_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = backend(s3_config)
    with pytest.raises(S3AccessError, match=r"^no AWS credentials: set AWS_ACCESS_KEY_ID"):
        store.read()


def test_bad_credentials_are_one_clear_line(
    s3_config: dict[str, Any], moto_endpoint_checking_credentials: str
) -> None:
    store = backend(s3_config, endpoint_url=moto_endpoint_checking_credentials)
    with pytest.raises(S3AccessError) as caught:
        store.read()
    assert str(caught.value) == (
        f"{moto_endpoint_checking_credentials} refused the AWS credentials (InvalidAccessKeyId); "
        "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"
    )


def test_unlock_through_a_vanished_endpoint_is_one_clear_state_error(
    moto_endpoint: str, s3_config: dict[str, Any]
) -> None:
    """Issue 10.5: releasing the lock fails cleanly (a StateError the caller can add as a note)."""
    from tests.s3.proxy import S3Proxy, running

    with running(S3Proxy(moto_endpoint)) as proxy:
        store = backend(s3_config, endpoint_url=proxy.url)
        held = store.lock("apply")
        proxy.stop()
        with pytest.raises(S3AccessError) as caught:
            store.unlock(held)
    message = str(caught.value)
    assert message.startswith(f"cannot reach {proxy.url} for s3://") and "\n" not in message
    backend(s3_config).force_unlock(held.id)  # the lock stayed; force-unlock is the way out
