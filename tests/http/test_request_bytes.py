"""The provider's requests as bytes: what goes on the wire, and what is refused before it does."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ctconfig.providers.http_framing import Answer, Route, request_bytes
from ctconfig.providers.http_streams import StreamTransport
from ctconfig.providers.http_transport import _Session


def session() -> _Session:
    loop = asyncio.new_event_loop()
    loop.close()  # only its identity is kept; building a request never runs it
    return _Session(loop, StreamTransport(deadline=1, connect_timeout=1))


def test_a_request_carries_host_length_identity_and_the_compact_json_body() -> None:
    route, payload = session().request(
        "POST", "http://127.0.0.1:8080/1/passcodes.json", {"Idempotency-Key": "k1"}, {"name": "a", "days": 30}
    )
    assert route.origin == ("http", "127.0.0.1", 8080)
    head, body = payload.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /1/passcodes.json HTTP/1.1"
    assert b"Host: 127.0.0.1:8080" in lines and b"Idempotency-Key: k1" in lines
    assert b"Content-Type: application/json" in lines and b"Accept-Encoding: identity" in lines
    assert body == b'{"name":"a","days":30}' and f"Content-Length: {len(body)}".encode() in lines


@pytest.mark.parametrize("value", ["AMA\r\nX-Injected: 1", "AMA\x00", "AMA\tB"])
def test_a_control_character_in_a_header_value_is_refused_before_sending(value: str) -> None:
    with pytest.raises(httpx.LocalProtocolError, match="control character"):
        session().request("GET", "http://127.0.0.1:8080/1/users.json", {"X-CleverTap-Passcode": value}, None)


def test_a_header_value_that_is_not_ascii_is_refused_before_sending() -> None:
    with pytest.raises(httpx.LocalProtocolError, match="not ASCII"):
        session().request("GET", "http://h:80/1/x.json", {"X-CleverTap-Passcode": "caf\u00e9"}, None)


def test_a_path_with_a_line_break_or_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(httpx.LocalProtocolError, match="path"):
        request_bytes("GET", b"/1/x\r\nHost: evil", [(b"Host", b"h")], b"")
    with pytest.raises(httpx.UnsupportedProtocol):
        Route.of(httpx.URL("ftp://127.0.0.1/1/x.json"))


def test_an_answer_header_is_found_in_any_case() -> None:
    answer = Answer(429, [(b"Content-Type", b"application/json"), (b"retry-after", b"3")], b"{}")
    assert answer.header("Retry-After") == "3" and answer.header("x-missing") is None
