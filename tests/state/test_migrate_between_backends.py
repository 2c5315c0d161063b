"""`migrate_state` across every contract backend: local → X → a second local, history intact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ctconfig.domain import Address
from ctconfig.state.base import AuditRecord, StateBackend
from ctconfig.state.document import State
from ctconfig.state.local import LocalBackend
from ctconfig.state.migrate import MigrationRefusedError, migrate_state
from tests.records import passcode

BackendFactory = Callable[[], StateBackend]


def audited_versions(backend: StateBackend, count: int) -> None:
    state, token = State.new(), None
    for n in range(1, count + 1):
        resource = passcode(f"p{n}")
        state = state.with_resources(
            {**state.resources, Address.account_passcode("prod", f"p{n}"): resource}
        ).next_version()
        audit = AuditRecord(
            who=f"user{n}",
            when=f"2026-11-2{n}T10:00:00Z",
            operation="apply",
            plan_digest=f"sha256:{n:012d}",
            summary=f"1 created (write {n})",
        )
        token = backend.write(state, token, audit)


def snapshot(backend: StateBackend) -> list[tuple[int, AuditRecord | None, State]]:
    return [(e.serial, e.audit, backend.read_serial(e.serial)) for e in backend.history()]


def test_round_trip_through_each_backend(backend_factory: BackendFactory, tmp_path: Path) -> None:
    origin = LocalBackend(tmp_path / "origin" / "ctconfig.state.json")
    audited_versions(origin, 3)
    middle = backend_factory()
    assert migrate_state(origin, middle).copied == (1, 2, 3)
    back = LocalBackend(tmp_path / "back" / "ctconfig.state.json")
    assert migrate_state(middle, back).copied == (1, 2, 3)
    expected = snapshot(origin)
    assert snapshot(middle) == expected
    assert snapshot(back) == expected


def test_refuses_a_destination_holding_another_state(backend_factory: BackendFactory, tmp_path: Path) -> None:
    origin = LocalBackend(tmp_path / "origin" / "ctconfig.state.json")
    audited_versions(origin, 2)
    occupied = backend_factory()
    audited_versions(occupied, 1)
    with pytest.raises(MigrationRefusedError, match="already holds a different state"):
        migrate_state(origin, occupied)
    assert [entry.serial for entry in occupied.history()] == [1]
