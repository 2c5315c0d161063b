"""Fuzzing the running `ctconfig sandbox serve` with hostile bodies, keys and queries: it never
answers 5xx except the faults it was told to inject, and never logs a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox.conftest import SEEDED_ACCOUNT as ACCOUNT
from tests.sandbox.conftest import LoggedServer, launch

INJECTED = "injected server trouble"
ENDPOINTS = [
    ("POST", "/1/passcodes.json"),
    ("GET", "/1/passcodes.json"),
    ("PATCH", "/1/passcodes/{text}.json"),
    ("DELETE", "/1/passcodes/{text}.json"),
    ("POST", "/1/users/{text}/passcode.json"),
    ("DELETE", "/1/users/{text}/passcode.json"),
    ("POST", "/1/users/{text}/passcode/reset.json"),
    ("PUT", "/1/settings/passcode-mode.json"),
    ("GET", "/1/account.json"),
    ("GET", "/v1/connect?partner={text}"),
    ("POST", "/1/upload"),
    ("GET", "/1/profile.json?email={text}"),
    ("GET", "/1/profile.json?identity={text}&email={text}"),
    ("POST", "/1/profiles.json?batch_size={text}"),
    ("GET", "/1/profiles.json?cursor={text}"),
    ("POST", "/1/events.json?batch_size={text}"),
    ("GET", "/1/events.json?cursor={text}"),
]
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200).map(str.strip)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
RECORDS = st.fixed_dictionaries(
    {"type": st.sampled_from(["profile", "event", "other"])},
    optional={
        "identity": st.text(max_size=20) | st.integers(),
        "profileData": JSON_VALUES,
        "evtName": SCALARS,
        "evtData": JSON_VALUES,
        "ts": st.integers(min_value=-(2**40), max_value=2**40) | st.floats(allow_nan=False),
    },
)
PLAUSIBLE = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=80),
        "expires_in_days": st.integers() | st.floats(allow_nan=False) | st.none(),
        "validity_days": st.integers() | st.none(),
        "passcode_mode": st.sampled_from(["account", "user", "both", ""]),
        "d": st.lists(RECORDS, max_size=4),
        "event_name": st.text(max_size=10),
        "from": st.integers(min_value=0, max_value=10**9),
        "to": st.integers(min_value=0, max_value=10**9),
    },
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Bodies from plausible to hostile: JSON, nesting, non-JSON numbers, raw bytes."""
    kind = draw(st.sampled_from(["plausible", "json", "nested", "constant", "bytes", "empty"]))
    if kind == "plausible":
        return json.dumps(draw(PLAUSIBLE)).encode()
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "nested":
        depth = draw(st.integers(min_value=1, max_value=200_000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return (opener * depth + "1" + closer * depth).encode()
    if kind == "constant":
        return draw(st.sampled_from([b"NaN", b"-Infinity", b"1e999", b'{"d": [1e400]}', b"9" * 5000]))
    if kind == "bytes":
        return draw(st.binary(max_size=3000))
    return b""


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoggedServer, dict[str, str]]]:
    """One server for every example, injecting some 5xx so that they can be told apart."""
    server = launch(tmp_path_factory.mktemp("fuzz"), "fuzz", "--error-rate", "0.05", "--seed", "7")
    try:
        with server.store() as store:
            store.ensure_account(ACCOUNT, ["alice@example.com"])
            _, account_passcode = store.create_passcode(ACCOUNT, "integration", None, dashboard=True)
        yield server, {"admin": server.admin(), "account": account_passcode}
    finally:
        server.stop()


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    text=st.text(max_size=300),
    body=bodies(),
    credential=st.sampled_from(["admin", "account", "none"]),
    key=st.none() | HEADER_TEXT,
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
)
def test_no_request_ends_in_a_server_error(
    fuzzed: tuple[LoggedServer, dict[str, str]],
    endpoint: tuple[str, str],
    text: str,
    body: bytes,
    credential: str,
    key: str | None,
    content_type: str,
) -> None:
    server, secrets = fuzzed
    method, template = endpoint
    headers = {"Content-Type": content_type}
    if credential != "none":
        headers |= server.headers(secrets[credential])
    if key is not None:
        headers["Idempotency-Key"] = key
    path = template.replace("{text}", quote(text, safe=""))
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.request(method, path, headers=headers, content=body if method != "GET" else None)
    envelope: dict[str, Any] = answer.json()
    if answer.status_code >= 500:
        assert envelope == {"status": "fail", "error": INJECTED, "code": answer.status_code}
    else:
        assert envelope["status"] in ("success", "fail"), envelope


def test_the_fuzzed_server_logged_no_traceback(fuzzed: tuple[LoggedServer, dict[str, str]]) -> None:
    """Runs after the fuzzing in this module (same server): nothing crashed a handler."""
    server, _ = fuzzed
    stats = server.stats()
    assert stats["requests"] > 0
    assert "Traceback" not in server.log_text() and "Exception in ASGI" not in server.log_text()
