"""ctconfig's lock owner record in Terraform lock info, and lock info written by others."""

from __future__ import annotations

from ctconfig.state.base import LockInfo
from ctconfig.state.http_lock import from_terraform_lock, to_terraform_lock

ALICE = LockInfo(
    id="5a1e…", who="alice", host="ci-7", pid=4242, operation="apply", created="2026-11-27T10:00:00Z"
)


def test_round_trip_keeps_every_field() -> None:
    sent = to_terraform_lock(ALICE, "ctconfig 0.1.0")
    assert sent["Who"] == "alice@ci-7" and sent["Operation"] == "apply" and sent["Path"] == ""
    assert from_terraform_lock(sent) == ALICE


def test_lock_taken_by_terraform_reads_sensibly() -> None:
    terraform = {
        "ID": "0a9f3c5e-1111-2222-3333-444455556666",
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "runner@gitlab-runner-3",
        "Version": "1.9.8",
        "Created": "2026-11-27T10:00:00.123456789Z",
        "Path": "",
    }
    holder = from_terraform_lock(terraform)
    assert holder == LockInfo(
        id="0a9f3c5e-1111-2222-3333-444455556666",
        who="runner",
        host="gitlab-runner-3",
        pid=0,
        operation="apply",
        created="2026-11-27T10:00:00Z",
    )
    assert holder.describe().startswith("runner@gitlab-runner-3 running apply since 2026-11-27T10:00:00Z")
    assert "pid" not in holder.describe()


def test_sparse_gitlab_answer_with_an_offset_time() -> None:
    holder = from_terraform_lock({"ID": "abc", "Who": "alice", "Created": "2026-11-27T12:00:00.000+02:00"})
    assert holder is not None
    assert (holder.who, holder.host, holder.operation, holder.created) == (
        "alice",
        "?",
        "?",
        "2026-11-27T10:00:00Z",
    )


def test_bodies_without_a_lock_id_name_no_holder() -> None:
    bodies: list[object] = [None, [], {"message": "409 Conflict"}, {"ID": ""}, {"ID": 7}]
    for body in bodies:
        assert from_terraform_lock(body) is None
