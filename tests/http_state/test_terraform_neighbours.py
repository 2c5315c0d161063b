"""A state address Terraform uses too: ctconfig says the state is Terraform's, and names
Terraform's lock holder as Terraform records it (no process id)."""

from __future__ import annotations

import json

import pytest

from ctconfig.errors import CtconfigError
from ctconfig.state.document import StateError
from tests.http_state.conftest import Open
from tests.http_state.server import StateServer

TERRAFORM_STATE = {
    "version": 4,
    "terraform_version": "1.11.4",
    "serial": 3,
    "lineage": "8d5c2f3a-1111-2222-3333-444455556666",
    "outputs": {},
    "resources": [],
    "check_results": None,
}
TERRAFORM_LOCK = {
    "ID": "0a9f3c5e-1111-2222-3333-444455556666",
    "Operation": "OperationTypeApply",
    "Info": "",
    "Who": "runner@gitlab-runner-3",
    "Version": "1.11.4",
    "Created": "2026-11-27T10:00:00.123456789Z",
    "Path": "",
}


def test_a_terraform_state_is_named_as_terraforms(state_server: StateServer, open_backend: Open) -> None:
    state_server.stored().body = json.dumps(TERRAFORM_STATE).encode()
    with pytest.raises(StateError) as refused:
        open_backend().read()
    message = str(refused.value)
    assert message == (
        f"{state_server.address()} holds a Terraform state (state version 4, written by Terraform "
        "'1.11.4'), not a ctconfig state; give ctconfig a state of its own (with GitLab-managed "
        "state: another state name in the address)"
    )
    assert "newer ctconfig" not in message and "format_version" not in message


def test_a_lock_terraform_holds_names_its_holder_without_a_pid(
    state_server: StateServer, open_backend: Open
) -> None:
    state_server.stored().lock = TERRAFORM_LOCK
    with pytest.raises(CtconfigError) as held:
        open_backend().lock("apply")
    message = str(held.value)
    assert "runner@gitlab-runner-3 running apply since 2026-11-27T10:00:00Z" in message
    assert "pid" not in message and TERRAFORM_LOCK["ID"] in message
