"""Creates whose first answers went missing, staged exactly by a scripted server on a real socket."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ctconfig.config.spec import ClevertapProviderConfig
from ctconfig.errors import OutcomeUnknownError, SecretLostError
from ctconfig.providers.clevertap import ClevertapProvider
from tests.http.conftest import PASSCODE_ENV, run, target
from tests.http.scripted import scripted
from tests.http.test_outages import FakeClock

NOW = "2030-01-01T00:00:00Z"
ETL = {
    "id": "pc_1",
    "name": "etl",
    "expires_in_days": 30,
    "created_at": NOW,
    "expires_at": "2030-01-31T00:00:00Z",
}
SERVER_ERROR = (500, {"status": "fail", "error": "boom", "code": 500})
EMPTY_LIST = (200, {"status": "success", "server_time": NOW, "passcodes": []})
LISTED = (200, {"status": "success", "server_time": NOW, "passcodes": [ETL]})
EXISTS = (409, {"status": "fail", "error": "a passcode named 'etl' already exists", "code": 409})
CREATED = (201, {"status": "success", "passcode": ETL, "secret": "AMA-AUE-YWUL"})


def provider_for(url: str, clock: FakeClock) -> ClevertapProvider:
    settings = ClevertapProviderConfig.model_validate({"kind": "clevertap", "base_url": url})
    return ClevertapProvider(
        settings, {PASSCODE_ENV: "ADMIN-PASSCODE"}, rng=random.Random(0), clock=clock, sleep=clock.sleep
    )


def create_through(answers: list[tuple[int, dict[str, Any]]]) -> tuple[Any, list[str], list[str]]:
    """Create `etl` with key `intent-7` against `answers`; the result, the requests and their keys."""
    clock = FakeClock()
    outcome: list[Any] = []
    requests: list[str] = []
    keys: list[str] = []

    async def scenario() -> None:
        async with scripted(answers) as server:
            provider = provider_for(server.url, clock)
            try:
                made = await provider.create_passcode(target(), "etl", 30, idempotency_key="intent-7")
                outcome.append(made)
            except Exception as exc:  # the caller asserts on it
                outcome.append(exc)
            finally:
                await provider.aclose()
            requests.extend(f"{s.method} {s.path}" for s in server.seen)
            keys.extend(s.headers.get("idempotency-key", "") for s in server.seen if s.method == "POST")

    run(scenario)
    return outcome[0], requests, keys


def test_a_409_for_our_own_slow_create_is_replayed_by_key_not_declared_lost() -> None:
    """A 500, an empty list (the first attempt still running), then a 409: it was ours after all."""
    issued, requests, keys = create_through([SERVER_ERROR, EMPTY_LIST, EXISTS, LISTED, CREATED])
    assert requests == [
        "POST /1/passcodes.json",
        "GET /1/passcodes.json",
        "POST /1/passcodes.json",
        "GET /1/passcodes.json",
        "POST /1/passcodes.json",
    ]
    assert keys == ["intent-7"] * 3
    assert issued.secret.reveal() == "AMA-AUE-YWUL" and issued.passcode.id == "pc_1"


def test_a_server_that_keeps_no_answers_loses_the_secret_but_makes_no_duplicate() -> None:
    lost, requests, _ = create_through([SERVER_ERROR, LISTED, EXISTS])
    assert isinstance(lost, SecretLostError) and lost.passcode.id == "pc_1"
    assert requests.count("POST /1/passcodes.json") == 2


@pytest.mark.parametrize(
    ("listing", "says"),
    [
        ((401, {"status": "fail", "error": "unknown account or passcode", "code": 401}), "were rejected"),
        ((200, {"status": "success", "passcodes": "not a list"}), "malformed answer"),
    ],
    ids=["rejected", "malformed"],
)
def test_a_lost_answer_that_cannot_be_settled_is_an_outcome_unknown(
    listing: tuple[int, dict[str, Any]], says: str
) -> None:
    unknown, requests, _ = create_through([SERVER_ERROR, listing])
    assert isinstance(unknown, OutcomeUnknownError), unknown
    assert says in str(unknown) and "the change may have been made" in str(unknown)
    assert requests == ["POST /1/passcodes.json", "GET /1/passcodes.json"]
