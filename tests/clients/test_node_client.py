"""CleverTap's official Node client (`clevertap@1.3.0`), unchanged, against the sandbox: a whole
rotation rehearsal against `ctconfig sandbox serve`, and one test for every call the client made
that the sandbox used to answer differently from CleverTap (issue: "Tools nobody here wrote
work unchanged")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import NodeClient
from tests.conftest import RunCtconfig
from tests.e2e.workspace import ACCOUNT_ID, Workspace, demo
from tests.sandbox.conftest import SEEDED_ACCOUNT, LoggedServer, LoggedServerFactory, launch
from tests.sandbox.test_server_api_clients import CHARGED

pytestmark = pytest.mark.timeout(900)  # the first test to run waits for npm to install the client

DAY = 1704103200  # 2024-01-01 10:00 UTC
QUERY = {"event_name": "Rehearsed", "from": 20240101, "to": 20240131}
INVALID = {"status": "fail", "error": "Invalid credentials or URL", "code": 401}


def rehearsed(identity: str, n: int) -> dict[str, Any]:
    return {"type": "event", "identity": identity, "evtName": "Rehearsed", "evtData": {"n": n}, "ts": DAY + n}


def users(count: int, first: int = 0) -> list[dict[str, Any]]:
    return [rehearsed(f"user-{n}", n) for n in range(first, first + count)]


def uploaded(answer: Any, count: int) -> bool:
    return bool(answer == {"status": "success", "processed": count, "unprocessed": []})


# ---- the rehearsal -------------------------------------------------------------------------------


@pytest.fixture
def rehearsal(
    tmp_path: Path, run_ctconfig: RunCtconfig, node_modules: Path
) -> Iterator[tuple[Workspace, NodeClient]]:
    """A workspace whose `clevertap` provider and the Node client both use `ctconfig sandbox serve`."""
    db = tmp_path / ".ctconfig" / "sandbox.db"
    db.parent.mkdir(parents=True)
    server = launch(tmp_path, "serve", db=db)  # the command itself, in its own process
    try:
        ws = Workspace(tmp_path, run_ctconfig, provider="clevertap", server_url=server.url)
        yield ws, NodeClient(node_modules, server.url, ACCOUNT_ID)
    finally:
        server.stop()


@pytest.mark.slow
def test_a_rotation_rehearsed_with_clevertaps_node_client(rehearsal: tuple[Workspace, NodeClient]) -> None:
    ws, client = rehearsal
    ws.write_config(demo({"seg": {"expires_in": "90d"}}))
    ws.ct("apply", "--auto-approve")
    old = ws.secret_files()["demo/seg"]

    # The integration uploads and reads back, paging, with the key from the sink.
    assert uploaded(client.call(old, "upload", users(27), {"batchSize": 100}), 27)
    events = client.call(old, "events", QUERY, {"batchSize": 5})  # 6 pages of at most 5
    assert sorted(e["profile"]["identity"] for e in events) == sorted(f"user-{n}" for n in range(27))
    assert sorted(e["event_props"]["n"] for e in events) == list(range(27))
    profiles = client.call(old, "profiles", QUERY, {"batchSize": 10})  # events made the profiles
    assert len(profiles) == 27

    ws.ct("apply", "--replace", "demo/account_passcode/seg", "--auto-approve")
    new = ws.secret_files()["demo/seg"]
    assert new != old
    assert uploaded(client.call(new, "upload", users(3, first=27)), 3)  # the new key works at once
    assert uploaded(client.call(old, "upload", users(3, first=30)), 3)  # the old one through the overlap
    assert len(client.call(old, "events", QUERY, {"batchSize": 7})) == 33

    ws.ct("sandbox", "clock", "advance", "8d")  # past rotation_overlap (7 days)
    assert "demo/account_passcode/seg~retiring-" in ws.ct("apply", "--auto-approve").stdout
    assert client.call(old, "upload", users(1, first=40)) == INVALID  # the retired key is refused
    assert client.call(old, "events", QUERY) == []  # the client turns a refusal into no records
    assert client.call(old, "profile", {"identity": "user-0"}) == INVALID
    assert len(client.call(new, "events", QUERY, {"batchSize": 50})) == 33
    assert client.call(new, "getEventsCount", QUERY) == {"status": "success", "count": 33}
    ws.assert_no_secret_leaked({old, new})


# ---- one test per call the sandbox used to answer differently ------------------------------------


@pytest.fixture
def client(served: LoggedServer, node_modules: Path) -> NodeClient:
    return NodeClient(node_modules, served.url, SEEDED_ACCOUNT)


@pytest.fixture
def passcode(served: LoggedServer) -> str:
    with served.store() as store:
        store.ensure_account(SEEDED_ACCOUNT)
        return store.create_passcode(SEEDED_ACCOUNT, "integration", 30, dashboard=True)[1]


def test_events_and_profiles_page_through_what_was_uploaded(client: NodeClient, passcode: str) -> None:
    """The client opens its cursor with GET and `?query=`; it used to get 400 and return []."""
    assert uploaded(client.call(passcode, "upload", users(27)), 27)
    events, profiles = client.calls(
        passcode, ["events", QUERY, {"batchSize": 5}], ["profiles", QUERY, {"batchSize": 4}]
    )
    assert [e["profile"]["identity"] for e in events] == [f"user-{n}" for n in range(27)]
    assert sorted(p["identity"] for p in profiles) == sorted(f"user-{n}" for n in range(27))


def test_a_profile_is_found_by_the_object_id_it_was_uploaded_with(client: NodeClient, passcode: str) -> None:
    object_id = "-2ce3cca260664f70b82b1c6bb505f462"
    record = {"type": "profile", "objectId": object_id, "profileData": {"favoriteFood": "hot dogs"}}
    assert uploaded(client.call(passcode, "upload", [record]), 1)
    found = client.call(passcode, "profile", {"objectId": object_id})
    assert found["status"] == "success" and found["record"]["profileData"] == {"favoriteFood": "hot dogs"}


def test_the_charged_event_of_the_clients_readme_is_taken(client: NodeClient, passcode: str) -> None:
    assert uploaded(client.call(passcode, "upload", [CHARGED]), 1)
    [event] = client.call(passcode, "events", {**QUERY, "event_name": "Charged"})
    assert event["event_props"]["Items"][0]["Book name"] == "The millionaire next door"


def test_device_tokens_are_uploaded(client: NodeClient, passcode: str) -> None:
    client.call(
        passcode, "upload", [{"type": "profile", "identity": "6264372124", "profileData": {"Age": 30}}]
    )
    object_id = client.call(passcode, "profile", {"identity": "6264372124"})["record"]["objectId"]
    token = {"type": "token", "objectId": object_id, "tokenData": {"id": "dYfuuBmHLGI:APA91b", "type": "fcm"}}
    assert uploaded(client.call(passcode, "uploadDeviceTokens", [token]), 1)
    assert client.call(passcode, "profile", {"objectId": object_id})["record"]["tokens"] == [{"type": "fcm"}]


def test_the_count_calls_are_answered(client: NodeClient, passcode: str) -> None:
    client.call(passcode, "upload", [*users(5), rehearsed("user-0", 99)])
    events, profiles = client.calls(passcode, ["getEventsCount", QUERY], ["getProfilesCount", QUERY])
    assert (events, profiles) == ({"status": "success", "count": 6}, {"status": "success", "count": 5})


def test_refused_records_carry_clevertaps_codes(client: NodeClient, passcode: str) -> None:
    records = [
        {"type": "profile", "identity": "a", "profileData": {"Email": "not-an-address"}},
        {"type": "profile", "identity": "b", "profileData": {"Phone": "555-1234"}},
        {"type": "profile", "identity": "c", "profileData": {"Gender": "male"}},
        {"type": "event", "identity": "d", "evtName": "e", "evtData": {}, "ts": "now"},
        {
            "type": "profile",
            "identity": "e",
            "profileData": {"Email": "e@example.com", "Phone": "+14155551234"},
        },
    ]
    answer = client.call(passcode, "upload", records)
    assert answer["processed"] == 1
    assert [u["code"] for u in answer["unprocessed"]] == [515, 516, 514, 525]


@pytest.mark.slow
def test_fifteen_uploads_at_once_but_three_reads(serve: LoggedServerFactory, node_modules: Path) -> None:
    server = serve("--latency", "1.0")  # every request stays in flight for a second
    with server.store() as store:
        store.ensure_account(SEEDED_ACCOUNT)
        passcode = store.create_passcode(SEEDED_ACCOUNT, "integration", 30, dashboard=True)[1]
    client = NodeClient(node_modules, server.url, SEEDED_ACCOUNT)
    answers = client.calls(passcode, *(["upload", users(1, first=n)] for n in range(17)))
    busy = {"status": "fail", "error": "Too many concurrent requests", "code": 429}
    assert sum(uploaded(a, 1) for a in answers) == 15 and answers.count(busy) == 2
    counts = client.calls(passcode, *(["getEventsCount", QUERY] for _ in range(5)))
    assert sum(c == {"status": "success", "count": 15} for c in counts) == 3 and counts.count(busy) == 2
