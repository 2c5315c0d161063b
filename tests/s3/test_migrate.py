"""Moving a state with its history between backends: local ⇄ s3 (on the moto server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ctconfig.config.spec import S3StateConfig
from ctconfig.domain import Address
from ctconfig.state.base import AuditRecord, StateBackend
from ctconfig.state.document import State
from ctconfig.state.local import LocalBackend
from ctconfig.state.migrate import MigrationRefusedError, migrate_state
from ctconfig.state.s3 import S3Backend
from tests.records import passcode


def fill(backend: StateBackend, versions: int, lineage: str | None = None) -> State:
    """Write `versions` versions, each adding one passcode and saying so in its audit."""
    state = State(lineage=lineage) if lineage else State.new()
    token = None
    for index in range(1, versions + 1):
        resource = passcode(f"p{index}")
        state = state.with_resources(
            {**state.resources, Address.account_passcode("prod", f"p{index}"): resource}
        ).next_version()
        audit = AuditRecord(
            who=f"user{index}",
            when=f"2026-01-0{index}T00:00:00Z",
            operation="apply",
            plan_digest=f"sha256:{index:012d}",
            summary=f"created p{index}",
        )
        token = backend.write(state, token, audit)
    return state


def s3(config: dict[str, Any]) -> S3Backend:
    return S3Backend(S3StateConfig.model_validate(config))


def assert_same_history(source: StateBackend, destination: StateBackend) -> None:
    source_history, destination_history = source.history(), destination.history()
    assert [e.serial for e in destination_history] == [e.serial for e in source_history]
    assert [e.audit for e in destination_history] == [e.audit for e in source_history]
    for entry in source_history:
        assert destination.read_serial(entry.serial) == source.read_serial(entry.serial)
    source_now, destination_now = source.read(), destination.read()
    assert source_now is not None and destination_now is not None
    assert destination_now.state == source_now.state


def test_local_to_s3_keeps_lineage_serials_and_audit(tmp_path: Path, s3_config: dict[str, Any]) -> None:
    local = LocalBackend(tmp_path / "ctconfig.state.json")
    last = fill(local, 4)
    remote = s3(s3_config)
    report = migrate_state(local, remote)
    assert report.copied == (1, 2, 3, 4)
    assert str(report) == (
        f"migrated 4 version(s) (serials 1-4) from {local.describe()} to {remote.describe()} "
        f"(lineage {last.lineage})"
    )
    assert_same_history(local, remote)
    # Both locks were released.
    local.unlock(local.lock("check"))
    remote.unlock(remote.lock("check"))


def test_s3_to_local(tmp_path: Path, s3_config: dict[str, Any]) -> None:
    remote = s3(s3_config)
    fill(remote, 3)
    local = LocalBackend(tmp_path / "moved" / "ctconfig.state.json")
    report = migrate_state(remote, local)
    assert report.copied == (1, 2, 3)
    assert_same_history(remote, local)


def test_rerun_resumes_and_copies_only_newer_versions(tmp_path: Path, s3_config: dict[str, Any]) -> None:
    local = LocalBackend(tmp_path / "ctconfig.state.json")
    state = fill(local, 2)
    remote = s3(s3_config)
    migrate_state(local, remote)
    current = local.read()
    assert current is not None
    local.write(state.next_version(), current.token)
    report = migrate_state(local, remote)
    assert report.copied == (3,) and report.skipped == (1, 2)
    assert "1 version(s) (serial 3, 2 already there)" in str(report)


def test_refuses_a_destination_with_another_lineage(tmp_path: Path, s3_config: dict[str, Any]) -> None:
    local = LocalBackend(tmp_path / "ctconfig.state.json")
    fill(local, 2)
    remote = s3(s3_config)
    theirs = fill(remote, 1)
    with pytest.raises(MigrationRefusedError, match=f"lineage {theirs.lineage}"):
        migrate_state(local, remote)
    latest = remote.read()
    assert latest is not None and latest.state == theirs
    remote.unlock(remote.lock("check"))


def test_empty_source_migrates_nothing(tmp_path: Path, s3_config: dict[str, Any]) -> None:
    report = migrate_state(LocalBackend(tmp_path / "none.json"), s3(s3_config))
    assert report.copied == () and str(report).startswith("nothing to migrate")
