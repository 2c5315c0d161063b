"""The Server API as CleverTap's own clients call it, over a real socket: one test per mismatch
that CleverTap's Node client (`clevertap@1.3.0`) found against `ctconfig sandbox serve`
(tests/clients/ drives the client itself), and CleverTap's documented per-record codes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import SEEDED_ACCOUNT as ACCOUNT
from tests.sandbox.conftest import LoggedServer

DAY = 1704103200  # 2024-01-01 10:00 UTC
JANUARY = {"from": 20240101, "to": 20240131}
CHARGED = {  # the "Charged" event of CleverTap's Node client README
    "type": "event",
    "identity": "jack@gmail.com",
    "evtName": "Charged",
    "evtData": {
        "Amount": 300,
        "Currency": "USD",
        "Payment mode": "Credit Card",
        "Items": [
            {"Category": "books", "Book name": "The millionaire next door", "Quantity": 1},
            {"Category": "books", "Book name": "Achieving inner zen", "Quantity": 4},
        ],
    },
    "ts": DAY,
}


def account_passcode(server: LoggedServer) -> str:
    with server.store() as store:
        store.ensure_account(ACCOUNT)
        return store.create_passcode(ACCOUNT, "integration", 30, dashboard=True)[1]


class Api:
    """An integration's calls, with its passcode."""

    def __init__(self, server: LoggedServer) -> None:
        self.server = server
        self.secret = account_passcode(server)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.server.url, timeout=10) as client:
            return client.request(method, path, headers=self.server.headers(self.secret), **kwargs)

    def upload(self, *records: dict[str, Any]) -> dict[str, Any]:
        answer = self.call("POST", "/1/upload", json={"d": list(records)})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def profile(self, **query: str) -> httpx.Response:
        return self.call("GET", "/1/profile.json", params=query)

    def walk_by_get(self, path: str, query: dict[str, Any], batch_size: int) -> list[list[dict[str, Any]]]:
        """What the Node client does: `GET path?batch_size=N&query=<json>`, then `?cursor=` pages."""
        opened = self.call("GET", path, params={"batch_size": batch_size, "query": json.dumps(query)})
        assert opened.status_code == 200 and set(opened.json()) == {"status", "cursor"}, opened.text
        cursor, pages = opened.json()["cursor"], []
        while cursor:
            page = self.call("GET", f"{path}?cursor={cursor}")  # the client does not encode it
            assert page.status_code == 200, page.text
            pages.append(page.json()["records"])
            cursor = page.json().get("next_cursor")
        return pages


@pytest.fixture
def api(served: LoggedServer) -> Api:
    return Api(served)


def launched(identity: str, n: int = 0, **props: Any) -> dict[str, Any]:
    return {"type": "event", "identity": identity, "evtName": "Launched", "evtData": props, "ts": DAY + n}


def test_a_cursor_opened_by_get_with_the_query_pages_like_one_opened_by_post(api: Api) -> None:
    assert api.upload(*(launched(f"u{n}", n) for n in range(27)))["processed"] == 27
    query = {"event_name": "Launched", **JANUARY}
    pages = api.walk_by_get("/1/events.json", query, batch_size=5)
    assert [len(page) for page in pages] == [5, 5, 5, 5, 5, 2]
    assert [r["profile"]["identity"] for page in pages for r in page] == [f"u{n}" for n in range(27)]
    posted = api.call("POST", "/1/events.json", params={"batch_size": 5}, json=query).json()["cursor"]
    first = api.call("GET", "/1/events.json", params={"cursor": posted}).json()["records"]
    assert first == pages[0]
    neither = api.call("GET", "/1/events.json")
    assert (neither.status_code, neither.json()["error"]) == (
        404,
        "no cursor given; ask with ?cursor= (a page) or ?query= (a new cursor)",
    )
    bad = api.call("GET", "/1/profiles.json", params={"query": "{not json"})
    assert (bad.status_code, bad.json()["error"]) == (400, "the body must be JSON (UTF-8)")


def test_events_create_the_profiles_of_users_not_seen_before(api: Api) -> None:
    """CleverTap: "If this identity is not found, a new user profile will be created"."""
    api.upload(*(launched(f"u{n}", n) for n in range(27)), launched("u0", 99))
    profiles = api.walk_by_get("/1/profiles.json", {"event_name": "Launched", **JANUARY}, batch_size=10)
    identities = [r["identity"] for page in profiles for r in page]
    assert sorted(identities) == sorted(f"u{n}" for n in range(27)) and [len(p) for p in profiles] == [
        10,
        10,
        7,
    ]
    assert api.profile(identity="u26").json()["record"]["profileData"] == {}
    api.upload({"type": "profile", "identity": "u26", "profileData": {"Name": "Ann"}})
    assert api.profile(identity="u26").json()["record"]["name"] == "Ann"  # the same user, updated


def test_a_profile_uploaded_with_an_object_id_is_found_by_it(api: Api) -> None:
    object_id = "-2ce3cca260664f70b82b1c6bb505f462"  # the client README's own example
    body = api.upload(
        {"type": "profile", "objectId": object_id, "profileData": {"favoriteFood": "hot dogs"}},
        {"type": "event", "objectId": object_id, "evtName": "choseNewFavoriteFood", "evtData": {}},
    )
    assert body == {"status": "success", "processed": 2, "unprocessed": []}
    found = api.profile(objectId=object_id)
    assert found.status_code == 200
    assert found.json()["record"]["objectId"] == object_id
    assert found.json()["record"]["profileData"] == {"favoriteFood": "hot dogs"}
    assert api.profile(objectId="-" + "0" * 32).status_code == 404


def test_the_charged_event_takes_a_list_of_items(api: Api) -> None:
    elsewhere = {**CHARGED, "evtName": "Viewed"}  # only Charged carries Items
    body = api.upload(CHARGED, elsewhere)
    assert body["processed"] == 1 and [u["code"] for u in body["unprocessed"]] == [512]
    [record] = api.walk_by_get("/1/events.json", {"event_name": "Charged", **JANUARY}, batch_size=10)[0]
    assert record["event_props"]["Items"][1]["Quantity"] == 4


def test_device_tokens_are_uploaded_to_a_known_object_id(api: Api) -> None:
    api.upload({"type": "profile", "identity": "6264372124", "profileData": {"Name": "Peter"}})
    object_id = api.profile(identity="6264372124").json()["record"]["objectId"]
    token = {
        "type": "token",
        "objectId": object_id,
        "tokenData": {"id": "frfsgvrwe:APfdsafsg", "type": "fcm"},
    }
    body = api.upload(
        token,
        {**token, "objectId": "-" + "f" * 32},
        {**token, "tokenData": {"type": "fcm"}},
        {**token, "tokenData": {"id": "x"}},
        {**token, "tokenData": {"id": "x", "type": "pager"}},
        {"type": "token", "identity": "6264372124", "tokenData": {"id": "x", "type": "fcm"}},
    )
    assert body["processed"] == 1
    assert [u["code"] for u in body["unprocessed"]] == [530, 532, 533, 535, 530]
    assert api.profile(objectId=object_id).json()["record"]["tokens"] == [{"type": "fcm"}]


def test_the_count_endpoints_count_events_and_their_users(api: Api) -> None:
    api.upload(*(launched(f"u{n % 4}", n, value="pizza" if n % 2 else "sushi") for n in range(10)))
    query = {"event_name": "Launched", **JANUARY}

    def count(path: str, body: dict[str, Any]) -> Any:
        answer = api.call("POST", path, json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert count("/1/counts/events.json", query) == {"status": "success", "count": 10}
    assert count("/1/counts/profiles.json", query) == {"status": "success", "count": 4}
    pizza = [{"name": "value", "operator": "contains", "value": "piz"}]
    assert count("/1/counts/events.json", {**query, "event_properties": pizza})["count"] == 5
    assert count("/1/counts/profiles.json", {**query, "event_properties": pizza})["count"] == 2
    assert count("/1/counts/events.json", {**query, "from": 20240201, "to": 20240228})["count"] == 0
    odd = [{"name": "value", "operator": "regex", "value": "p"}]
    refused = api.call("POST", "/1/counts/events.json", json={**query, "event_properties": odd})
    assert (refused.status_code, refused.json()["error"]) == (
        400,
        "the sandbox filters event_properties with equals and contains only, not 'regex'",
    )


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"type": "event", "identity": "u", "evtData": {}}, 509),
        ({"type": "event", "identity": "u", "evtName": "e", "evtData": "x"}, 512),
        (
            {"type": "event", "identity": "u", "evtName": "e", "evtData": {f"k{n}": n for n in range(257)}},
            522,
        ),
        ({"type": "event", "evtName": "e"}, 523),
        ({"type": "purchase", "identity": "u"}, 524),
        ("not a record", 524),
        ({"type": "event", "identity": "u", "evtName": "e", "ts": "yesterday"}, 525),
        ({"type": "event", "objectId": 42, "evtName": "e"}, 526),
        ({"type": "profile", "identity": "u", "profileData": {"Gender": "Male"}}, 514),
        ({"type": "profile", "identity": "u", "profileData": {"Email": "not-an-address"}}, 515),
        ({"type": "profile", "identity": "u", "profileData": {"Phone": "4155551234"}}, 516),
        ({"type": "profile", "identity": "u", "profileData": {"Employed": "yes"}}, 517),
        ({"type": "profile", "identity": "u", "profileData": {"Education": "PhD"}}, 518),
        ({"type": "profile", "identity": "u", "profileData": {"Married": "maybe"}}, 519),
        ({"type": "profile", "identity": "u", "profileData": {"Age": "thirty"}}, 520),
    ],
)
def test_each_refused_record_carries_clevertaps_documented_code(api: Api, record: Any, code: int) -> None:
    body = api.upload(record)
    assert body["processed"] == 0
    [refused] = body["unprocessed"]
    assert (refused["status"], refused["code"], refused["record"]) == ("fail", code, record)


def test_documented_standard_fields_are_accepted(api: Api) -> None:
    profile = {
        "Name": "Jack Montana",
        "Email": "jack@gmail.com",
        "Phone": "+14155551234",
        "Gender": "M",
        "Employed": "Y",
        "Education": "Graduate",
        "Married": "Y",
        "Age": 30,
        "MSG-sms": False,
        "Customer Type": "Platinum",
    }
    assert api.upload({"type": "profile", "identity": "jack", "profileData": profile})["processed"] == 1
