"""Issue 20 row 4: a provider's answers are bounded in bytes and time, and shown safely.

Against a hostile server on a real loopback socket (`hostile_provider`): an
endless body (plain and chunked) and a 3 GB declared length are refused at the
byte cap without reading on; one byte at a time cannot hold an attempt past its
deadline; deeply nested JSON is a malformed answer, not a RecursionError; escape
sequences in `error` reach the user visible, never raw; a create whose answer
was cut after its secret, replayed with another secret, delivers the one it was
answered, and no secret of any attempt shows in a message. Memory and time of
`plan` against such servers are measured by `bench/scale.py --hostile`, not here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from ctconfig.config.spec import ClevertapProviderConfig
from ctconfig.domain import AccountTarget
from ctconfig.errors import LimitError, ProviderError, UnavailableError
from ctconfig.providers.clevertap import ClevertapProvider
from ctconfig.providers.http_streams import DEFAULT_MAX_ANSWER_BYTES
from ctconfig.redaction import forget_secrets
from tests.untrusted.hostile_provider import (
    Behaviour,
    Exchange,
    deep_json,
    endless_body,
    endless_chunks,
    escapes_in_error,
    hostile_server,
    huge_declared,
    slow_bytes,
)

ACCOUNT = "W9R-486-4W5Z"
ENV = "CT_PROD_PASSCODE"
ADMIN = "ADM-INS-ECRT"


@pytest.fixture(autouse=True)
def no_secrets_from_other_tests() -> None:
    """The redactor is per process: a short secret another test registered must not cut these words."""
    forget_secrets()


def target() -> AccountTarget:
    return AccountTarget("prod", ACCOUNT, "eu1", ENV)


def provider(url: str, **settings: Any) -> ClevertapProvider:
    config = ClevertapProviderConfig.model_validate(
        {"kind": "clevertap", "base_url": url, "max_retries": 0, **settings}
    )
    return ClevertapProvider(config, {ENV: ADMIN})


def refused(behaviour: Behaviour, **settings: Any) -> tuple[ProviderError, int, int]:
    """The error one read of the account ends in, the bytes the server sent, and its hang-ups."""
    with hostile_server(behaviour) as server:
        client = provider(server.url, **settings)

        async def scenario() -> ProviderError:
            try:
                with pytest.raises(ProviderError) as caught:
                    await client._get(target(), "/1/passcodes.json")
                return caught.value
            finally:
                await client.aclose()

        error = asyncio.run(scenario())
        return error, server.sent, server.hung_up


@pytest.mark.parametrize("behaviour", [endless_body, endless_chunks], ids=["unframed", "chunked"])
def test_an_endless_body_is_refused_at_the_byte_cap(behaviour: Behaviour) -> None:
    error, sent, _ = refused(behaviour)
    assert isinstance(error, UnavailableError)
    assert f"the answer is larger than {DEFAULT_MAX_ANSWER_BYTES} bytes" in str(error)
    assert "\n" not in str(error)
    # The client stopped reading at the cap: the server could not push much past it (socket buffers).
    assert sent < DEFAULT_MAX_ANSWER_BYTES + 16 * 1024 * 1024


def test_a_huge_declared_length_is_refused_before_its_body_is_read() -> None:
    error, sent, _ = refused(huge_declared)
    assert f"the answer is larger than {DEFAULT_MAX_ANSWER_BYTES} bytes; refused unread" in str(error)
    assert sent < 16 * 1024 * 1024  # what the socket buffers took before the client hung up


def test_one_byte_at_a_time_cannot_hold_an_attempt_past_its_deadline() -> None:
    # 0.05 s a byte for a ~100-byte answer would take ~5 s; the attempt's deadline is 0.3 s in all.
    error, sent, _ = refused(slow_bytes(0.05), timeout=0.3)
    assert isinstance(error, UnavailableError)
    assert "no complete answer within 0.3s" in str(error)
    assert sent < 60  # the client gave up long before the answer was complete


def test_deeply_nested_json_is_a_malformed_answer_not_a_crash() -> None:
    error, _, _ = refused(deep_json(200_000))
    assert "malformed answer from the API" in str(error)
    assert "Recursion" not in str(error)


def test_escape_sequences_in_an_error_reach_the_user_visible() -> None:
    error, _, _ = refused(escapes_in_error)
    assert isinstance(error, LimitError)
    text = str(error)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b]0;owned\\x07" in text and "\\x1b]8;;https://evil.example/\\x07click" in text
    assert "\\u202eevil" in text


def test_plan_shows_a_hostile_error_in_one_visible_line(run_ctconfig: Any, tmp_path: Path) -> None:
    with hostile_server(escapes_in_error) as server:
        (tmp_path / "ctconfig.yaml").write_text(
            "version: 1\n"
            f"provider: {{kind: clevertap, base_url: '{server.url}', max_retries: 0}}\n"
            "accounts:\n"
            f"  prod:\n    id: {ACCOUNT}\n    credentials: {{passcode_env: {ENV}}}\n"
        )
        env = {ENV: ADMIN, "CTCONFIG_ALLOWED_ENDPOINTS": "http://127.0.0.1:*"}
        result = run_ctconfig("plan", env=env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "\x1b" not in result.stderr + result.stdout and "\x07" not in result.stderr + result.stdout
    assert "\\x1b]0;owned\\x07" in errors[0]
    assert ADMIN not in result.stderr + result.stdout


def test_a_different_secret_per_retry_delivers_the_answered_one_and_shows_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The create's first answer is cut right after its secret; the replay (same key) answers another
    secret. The secret delivered is the replay's, and no attempt's secret is in any message or log."""
    secrets = iter(["FIR-STS-ECRT", "SEC-OND-SECR", "THI-RDS-ECRT"])
    made: dict[str, str] = {}
    keys: list[str] = []

    async def behaviour(exchange: Exchange) -> None:
        if exchange.method == "GET":
            listed = [
                {
                    "id": "p1",
                    "name": name,
                    "expires_in_days": 30,
                    "created_at": "2026-01-01T00:00:00Z",
                    "expires_at": "2026-01-31T00:00:00Z",
                }
                for name in made
            ]
            await exchange.answer(
                200, {"status": "success", "server_time": "2026-01-01T00:00:00Z", "passcodes": listed}
            )
            return
        keys.append(exchange.headers["idempotency-key"])
        name = json.loads(exchange.body)["name"]
        made[name] = secret = next(secrets)
        passcode = {
            "id": "p1",
            "name": name,
            "expires_in_days": 30,
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-31T00:00:00Z",
        }
        body = json.dumps({"status": "success", "passcode": passcode, "secret": secret}).encode()
        head = b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n" % len(body)
        if len(keys) == 1:  # the first answer is cut just after its secret
            cut = body.index(secret.encode()) + len(secret)
            await exchange.send(head + body[:cut])
            exchange.writer.transport.abort()
            return
        await exchange.send(head + body)

    caplog.set_level(logging.DEBUG)
    with hostile_server(behaviour) as server:
        client = provider(server.url, max_retries=3)

        async def scenario() -> str:
            try:
                issued = await client.create_passcode(target(), "segment", 30, idempotency_key="key-1")
                return issued.secret.reveal()
            finally:
                await client.aclose()

        delivered = asyncio.run(scenario())
    assert delivered == "SEC-OND-SECR"  # the answer it was given, never the cut one
    assert keys == ["key-1", "key-1"]  # the replay carried the same key: no second create
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("FIR-STS-ECRT", "SEC-OND-SECR", ADMIN):
        assert secret not in logged
