"""Audit records: where a change came from (GitHub Actions, GitLab CI), bounded and made visible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctconfig.service.audit import audit_record, provenance
from ctconfig.state.base import AUDIT_TEXT_LIMIT, AuditRecord

SHA = "0123456789abcdef0123456789abcdef01234567"
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": SHA,
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "team/passcodes",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_RUN_ATTEMPT": "1",
}


def test_a_github_pull_request_run_names_its_pull_request() -> None:
    found = provenance({**GITHUB, "GITHUB_REF": "refs/pull/12/merge"})
    assert found.commit == SHA
    assert found.change == "https://github.com/team/passcodes/pull/12"
    assert found.run_url == "https://github.com/team/passcodes/actions/runs/4242"


def test_a_github_push_finds_the_pull_request_in_the_merge_commit(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    for message, number in (
        ("Merge pull request #31 from team/rotate-looker\n\nRotate looker", "31"),
        ("Rotate looker now (#7) (#32)\n\n* leaked in a log", "32"),  # a squash merge: the last one
    ):
        event.write_text(json.dumps({"head_commit": {"message": message}}))
        env = {**GITHUB, "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": str(event)}
        assert provenance(env).change == f"https://github.com/team/passcodes/pull/{number}"
    event.write_text(json.dumps({"head_commit": {"message": "a direct push"}}))
    assert provenance({**GITHUB, "GITHUB_EVENT_PATH": str(event)}).change is None
    retried = provenance({**GITHUB, "GITHUB_RUN_ATTEMPT": "2", "GITHUB_EVENT_PATH": str(tmp_path / "none")})
    assert retried.run_url == "https://github.com/team/passcodes/actions/runs/4242/attempts/2"


def test_gitlab_names_the_merge_request_in_both_kinds_of_pipeline() -> None:
    gitlab = {"GITLAB_CI": "true", "CI_COMMIT_SHA": SHA, "CI_JOB_URL": "https://gitlab.com/t/p/-/jobs/9"}
    merge_request = provenance(
        {**gitlab, "CI_MERGE_REQUEST_IID": "5", "CI_MERGE_REQUEST_PROJECT_URL": "https://gitlab.com/t/p"}
    )
    assert (merge_request.commit, merge_request.change, merge_request.run_url) == (
        SHA,
        "https://gitlab.com/t/p/-/merge_requests/5",
        "https://gitlab.com/t/p/-/jobs/9",
    )
    message = "Merge branch 'rotate' into 'main'\n\nRotate looker\n\nSee merge request t/p!6\n"
    merged = provenance({**gitlab, "CI_COMMIT_MESSAGE": message, "CI_SERVER_URL": "https://gitlab.com"})
    assert merged.change == "https://gitlab.com/t/p/-/merge_requests/6"


def test_outside_a_ci_nothing_is_guessed() -> None:
    assert provenance({"GITHUB_SHA": SHA}) == provenance({})
    assert provenance({}).commit is None


def test_what_an_audit_record_keeps_is_bounded_and_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_COMMIT_SHA", SHA)
    monkeypatch.setenv("CI_JOB_URL", "https://gitlab.example/job\x1b[2J" + "x" * 5000)
    record = audit_record("apply", "1 created", note="ticket OPS-1\nforged line")
    assert record.commit == SHA
    assert record.note == "ticket OPS-1\\x0aforged line"
    assert record.run_url is not None and "\x1b" not in record.run_url
    assert len(record.run_url) == AUDIT_TEXT_LIMIT and record.run_url.endswith("…")
    back = AuditRecord.from_json(record.to_json())
    assert back == record
    hostile = AuditRecord.from_json(
        {"who": "m\x07allory", "operation": "apply", "note": "n" * 10**6, "actions": ["x", {"a": [1]}]}
    )
    assert hostile.who == "m\\x07allory" and len(hostile.note or "") == AUDIT_TEXT_LIMIT
    assert hostile.actions == [{}]


def test_an_old_record_reads_as_before() -> None:
    old = {
        "who": "alice",
        "when": "2026-01-01T00:00:00Z",
        "operation": "apply",
        "plan_digest": None,
        "actions": [],
        "summary": "1 created",
    }
    record = AuditRecord.from_json(old)
    assert record.to_json() == old
