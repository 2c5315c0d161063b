"""CleverTap's documented Server API, answered by a real `ctconfig sandbox serve` over a socket:
authentication exactly as CleverTap documents it, CleverTap's bodies and status codes, bounds."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import SEEDED_ACCOUNT as ACCOUNT
from tests.sandbox.conftest import LoggedServer, LoggedServerFactory

ALICE = "alice@example.com"
INVALID = {"status": "fail", "error": "Invalid credentials or URL", "code": 401}
PROFILE = {"type": "profile", "identity": "u-1", "profileData": {"Name": "Jack", "Email": "Jack@Example.com"}}


def account_passcode(server: LoggedServer, name: str = "integration", days: int | None = 30) -> str:
    with server.store() as store:
        store.ensure_account(ACCOUNT)
        return store.create_passcode(ACCOUNT, name, days, dashboard=True)[1]


def call(server: LoggedServer, method: str, path: str, secret: str | None, **kwargs: Any) -> httpx.Response:
    headers = {} if secret is None else server.headers(secret)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        return client.request(method, path, headers=headers, **kwargs)


def test_an_account_passcode_uploads_and_reads_back(served: LoggedServer) -> None:
    secret = account_passcode(served)
    event = {
        "type": "event",
        "identity": "u-1",
        "evtName": "Charged",
        "evtData": {"Amount": 3},
        "ts": 1704103200,
    }
    bad = {"type": "event", "identity": "u-1"}
    uploaded = call(served, "POST", "/1/upload", secret, json={"d": [PROFILE, event, bad]})
    assert uploaded.status_code == 200
    assert uploaded.json() == {
        "status": "success",
        "processed": 2,
        "unprocessed": [
            {
                "status": "fail",
                "code": 509,
                "error": "Event name mandatory: evtName must be a name of 1-512 bytes",
                "record": bad,
            }
        ],
    }
    by_identity = call(served, "GET", "/1/profile.json", secret, params={"identity": "u-1"}).json()["record"]
    object_id = by_identity["objectId"]
    assert re.fullmatch(r"-[0-9a-f]{32}", object_id)  # like the objectIds in CleverTap's examples
    expected = {
        "objectId": object_id,
        "identity": "u-1",
        "email": "Jack@Example.com",
        "name": "Jack",
        "profileData": PROFILE["profileData"],
        "tokens": [],
    }
    for query in ({"email": "jack@example.com"}, {"identity": "u-1"}, {"objectId": object_id}):
        found = call(served, "GET", "/1/profile.json", secret, params=query)
        assert found.status_code == 200 and found.json() == {"status": "success", "record": expected}
    missing = call(served, "GET", "/1/profile.json", secret, params={"identity": "nobody"})
    assert (missing.status_code, missing.json()) == (
        404,
        {"status": "fail", "error": "no profile matches", "code": 404},
    )
    assert call(served, "GET", "/v1/connect", secret, params={"partner": "acme"}).json() == {
        "status": "success"
    }


def test_cursors_page_through_events_and_profiles(served: LoggedServer) -> None:
    secret = account_passcode(served)
    day = 1704103200  # 2024-01-01 10:00 UTC
    records = [{"type": "profile", "identity": f"u{n}", "profileData": {"Name": f"n{n}"}} for n in range(5)]
    records += [
        {"type": "event", "identity": f"u{n}", "evtName": "Launched", "ts": day + n} for n in range(5)
    ]
    records.append({"type": "event", "identity": "u0", "evtName": "Launched", "ts": day + 86400 * 40})
    assert call(served, "POST", "/1/upload", secret, json={"d": records}).json()["processed"] == 11
    query = {"event_name": "Launched", "from": 20240101, "to": 20240131}

    def walk(path: str) -> list[list[dict[str, Any]]]:
        opened = call(served, "POST", path, secret, params={"batch_size": 2}, json=query)
        assert opened.status_code == 200 and set(opened.json()) == {"status", "cursor"}
        cursor, pages = opened.json()["cursor"], []
        while cursor:
            page = call(served, "GET", path, secret, params={"cursor": cursor})
            assert page.status_code == 200, page.text
            again = call(served, "GET", path, secret, params={"cursor": cursor})
            assert again.json() == page.json()  # a repeated page request gets the same page
            pages.append(page.json()["records"])
            cursor = page.json().get("next_cursor")
        return pages

    events = walk("/1/events.json")
    assert [len(page) for page in events] == [2, 2, 1]  # the February event is outside the range
    first = events[0][0]
    u0 = call(served, "GET", "/1/profile.json", secret, params={"identity": "u0"}).json()["record"]
    assert first == {
        "profile": {"objectId": u0["objectId"], "identity": "u0", "email": None, "name": "n0"},
        "ts": 20240101100000,
        "event_props": {},
    }
    profiles = walk("/1/profiles.json")
    assert [r["identity"] for page in profiles for r in page] == ["u0", "u1", "u2", "u3", "u4"]
    gone = call(served, "GET", "/1/events.json", secret, params={"cursor": "not-a-cursor"})
    assert gone.status_code == 404 and gone.json()["error"].startswith("this cursor is unknown")


def test_authentication_follows_the_accounts_passcode_mode_and_expiry(served: LoggedServer) -> None:
    secret = account_passcode(served, days=1)
    admin = served.admin(ACCOUNT)
    with served.store() as store:
        member = store.issue_user_passcode(ACCOUNT, ALICE, "member")

    def status(credential: str | None) -> int:
        answer = call(served, "POST", "/1/upload", credential, json={"d": [PROFILE]})
        if answer.status_code == 401:
            assert answer.json() == INVALID
        return answer.status_code

    assert [status(s) for s in (secret, admin, member, None, "QQQ-RRR-SSSS")] == [200, 401, 401, 401, 401]
    with served.store() as store:
        store.set_passcode_mode(ACCOUNT, "user", dashboard=True)
    assert [status(s) for s in (secret, admin, member)] == [401, 200, 200]  # user passcodes enforced
    with served.store() as store:
        store.set_passcode_mode(ACCOUNT, "account", dashboard=True)
        store.advance_clock(86400)
    assert status(secret) == 401  # expired
    for path in ("/1/profile.json?identity=u-1", "/v1/connect?partner=acme"):
        answer = call(served, "GET", path, secret)
        assert (answer.status_code, answer.json()) == (401, INVALID)


def test_a_deleted_passcode_stops_at_once(served: LoggedServer) -> None:
    secret = account_passcode(served)
    assert call(served, "GET", "/v1/connect?partner=acme", secret).status_code == 200
    with served.store() as store:
        passcode = store.read(ACCOUNT).passcode_named("integration")
        assert passcode is not None
        store.delete_passcode(ACCOUNT, passcode.id, dashboard=True)
    assert call(served, "GET", "/v1/connect?partner=acme", secret).status_code == 401


def test_in_flight_limits_are_counted_per_api_family(serve: LoggedServerFactory) -> None:
    """CleverTap: 15 concurrent uploads per account, 3 for the Get APIs; each family on its own."""
    server = serve("--latency", "1.0")
    secret = account_passcode(server)
    upload = {"method": "POST", "url": "/1/upload", "json": {"d": [PROFILE]}}
    read = {"method": "GET", "url": "/1/profile.json", "params": {"identity": "u-1"}}
    count = {
        "method": "POST",
        "url": "/1/counts/events.json",
        "json": {"event_name": "e", "from": 20240101, "to": 20240102},
    }

    async def burst(*requests: dict[str, Any]) -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            answers = await asyncio.gather(
                *(client.request(headers=server.headers(secret), **request) for request in requests)
            )
        for answer in answers:
            if answer.status_code == 429:
                assert answer.json() == {
                    "status": "fail",
                    "error": "Too many concurrent requests",
                    "code": 429,
                }
                assert answer.headers["retry-after"] == "1"
        return [a.status_code for a in answers]

    uploads = asyncio.run(burst(*[upload] * 17))
    assert sorted(uploads) == [200] * 15 + [429] * 2
    mixed = asyncio.run(burst(*[upload] * 15, read, read, count, read, count))
    assert mixed[:15] == [200] * 15  # uploads do not use up the Get APIs' three
    assert sorted(mixed[15:]) == [200, 200, 200, 429, 429]


def test_injected_faults_answer_clevertaps_5xx_bodies(serve: LoggedServerFactory) -> None:
    server = serve("--error-rate", "1.0", "--seed", "3")
    secret = account_passcode(server)
    codes = set()
    for _ in range(6):
        answer = call(server, "GET", "/v1/connect?partner=acme", secret)
        assert answer.json() == {
            "status": "fail",
            "error": "injected server trouble",
            "code": answer.status_code,
        }
        codes.add(answer.status_code)
    assert codes <= {500, 503} and codes


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "error"),
    [
        ("POST", "/1/upload", {"json": {"d": []}}, "d must hold 1-1000 records, got 0"),
        ("POST", "/1/upload", {"json": {"d": [PROFILE] * 1001}}, "d must hold 1-1000 records, got 1001"),
        ("POST", "/1/upload", {"json": [PROFILE]}, 'the body must be {"d": [records]}'),
        (
            "POST",
            "/1/events.json?batch_size=0",
            {"json": {}},
            "batch_size must be a whole number from 1 to 5000",
        ),
        (
            "POST",
            "/1/events.json?batch_size=5001",
            {"json": {}},
            "batch_size must be a whole number from 1 to 5000",
        ),
        (
            "POST",
            "/1/profiles.json",
            {"json": {"event_name": "x", "from": 2024, "to": 20240101}},
            "from and to must be days as YYYYMMDD numbers",
        ),
        (
            "GET",
            "/1/profile.json?email=" + "x" * 513,
            {},
            "email, identity and objectId are at most 512 characters",
        ),
        ("GET", "/v1/connect", {}, "the partner query parameter is required, 1-128 characters"),
    ],
)
def test_inputs_out_of_bounds_are_400(
    served: LoggedServer, method: str, path: str, kwargs: dict[str, Any], error: str
) -> None:
    secret = account_passcode(served)
    answer = call(served, method, path, secret, **kwargs)
    assert (answer.status_code, answer.json()) == (400, {"status": "fail", "error": error, "code": 400})


@pytest.mark.parametrize(
    ("record", "code", "error"),
    [
        (
            {"type": "profile", "profileData": {}},
            523,
            "Missing identity: a record needs one of identity, objectId, FBID, GPID",
        ),
        ({"type": "user", "identity": "u"}, 524, "Data neither event nor profile: type must be"),
        (
            {"type": "profile", "identity": "u", "profileData": {"k" * 121: 1}},
            512,
            "Invalid event structure: profileData property names are 1-120",
        ),
        (
            {"type": "profile", "identity": "u", "profileData": {"Bio": "x" * 513}},
            512,
            "Invalid event structure: profileData['Bio'] must be",
        ),
        (
            {"type": "profile", "identity": "u", "profileData": {f"k{n}": n for n in range(257)}},
            522,
            "Event properties limit exceeded: profileData holds more than 256 properties",
        ),
        (
            {"type": "event", "identity": "u", "evtName": "e", "ts": -1},
            525,
            "Timestamp not in UNIX epoch format: ts must be a time in epoch seconds",
        ),
        (
            {"type": "event", "identity": "u", "evtName": "e", "evtData": {"tags": ["a"] * 101}},
            512,
            "Invalid event structure: evtData['tags'] must",
        ),
    ],
)
def test_records_out_of_bounds_come_back_unprocessed(
    served: LoggedServer, record: dict[str, Any], code: int, error: str
) -> None:
    secret = account_passcode(served)
    answer = call(served, "POST", "/1/upload", secret, json={"d": [record, PROFILE]})
    assert answer.status_code == 200
    body = answer.json()
    assert body["processed"] == 1 and len(body["unprocessed"]) == 1
    [refused] = body["unprocessed"]
    assert refused["code"] == code and refused["error"].startswith(error) and refused["record"] == record


def test_uploads_from_one_account_are_invisible_to_another(served: LoggedServer) -> None:
    secret = account_passcode(served)
    with served.store() as store:
        store.ensure_account("OTHER-1")
        _, other = store.create_passcode("OTHER-1", "x", 30, dashboard=True)
    call(served, "POST", "/1/upload", secret, json={"d": [PROFILE]})
    with httpx.Client(base_url=served.url) as client:
        answer = client.get(
            "/1/profile.json", params={"identity": "u-1"}, headers=served.headers(other, "OTHER-1")
        )
    assert answer.status_code == 404


def test_an_event_without_a_time_is_stamped_with_the_sandbox_clock(served: LoggedServer) -> None:
    secret = account_passcode(served, days=None)
    with served.store() as store:
        store.advance_clock(40 * 86400)  # the sandbox's day is not today's
        day = int(store.now().strftime("%Y%m%d"))
    events = [
        {"type": "event", "identity": "u", "evtName": "Tick", "ts": None},
        {"type": "event", "identity": "u", "evtName": "Tick"},
    ]
    assert call(served, "POST", "/1/upload", secret, json={"d": events}).json()["processed"] == 2
    query = {"event_name": "Tick", "from": day, "to": day + 1}  # a number range: midnight-proof
    cursor = call(served, "POST", "/1/events.json", secret, json=query).json()["cursor"]
    page = call(served, "GET", "/1/events.json", secret, params={"cursor": cursor})
    assert page.status_code == 200 and len(page.json()["records"]) == 2
