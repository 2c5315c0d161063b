"""A GitLab-like Terraform HTTP state server per test, and configs that point at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ctconfig.config.spec import HttpStateConfig
from ctconfig.state.http import HttpBackend
from ctconfig.state.lockfile import SYSTEM_CLOCK, WaitClock
from tests.http_state.server import PASSWORD, USERNAME, StateServer, serving

USER_ENV, PASSWORD_ENV = "CT_STATE_USERNAME", "CT_STATE_PASSWORD"
ENV = {USER_ENV: USERNAME, PASSWORD_ENV: PASSWORD}


def state_config(server: StateServer, gitlab: bool = False, **extra: Any) -> dict[str, Any]:
    """The `state:` block for `server`: Terraform's LOCK/UNLOCK, or GitLab's POST/DELETE on /lock."""
    address = server.address()
    config: dict[str, Any] = {
        "backend": "http",
        "address": address,
        "username_env": USER_ENV,
        "password_env": PASSWORD_ENV,
    }
    if gitlab:
        config |= {
            "lock_address": f"{address}/lock",
            "unlock_address": f"{address}/lock",
            "lock_method": "POST",
            "unlock_method": "DELETE",
        }
    return config | extra


Open = Callable[..., HttpBackend]


@pytest.fixture
def state_server() -> Iterator[StateServer]:
    with serving(StateServer()) as server:
        yield server


@pytest.fixture
def gitlab_server() -> Iterator[StateServer]:
    """GitLab's flavour: 409 for a held lock, 204 for no state yet."""
    with serving(StateServer(locked_status=409, empty_status=204)) as server:
        yield server


@pytest.fixture
def open_backend(state_server: StateServer) -> Iterator[Open]:
    """New clients of `state_server` (or of `server=`, with `clock=` for lock waits), closed at teardown."""
    made: list[HttpBackend] = []

    def make(
        server: StateServer | None = None,
        env: dict[str, str] | None = None,
        clock: WaitClock = SYSTEM_CLOCK,
        **config: Any,
    ) -> HttpBackend:
        settings = HttpStateConfig.model_validate(state_config(server or state_server, **config))
        backend = HttpBackend(settings, ENV if env is None else env, clock)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()
