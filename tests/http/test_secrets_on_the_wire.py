"""Secrets on the wire never reach a log line or an error message, even at debug level."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ctconfig.errors import AuthError, SecretLostError
from ctconfig.providers.base import IssuedPasscode
from ctconfig.redaction import configure_debug_logging
from tests.http.conftest import PASSCODE_ENV, ServerFactory, run, target

USERS = ("alice@example.com", "bob@example.com")


def test_no_secret_in_debug_logs_or_errors(
    start_server: ServerFactory, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    server = start_server("--drop-rate", "0.3", "--throttle-rate", "0.2", "--retry-after", "0",
                          "--seed", "5")
    admin = server.admin(users=USERS)
    seen: list[str] = [admin]
    messages: list[str] = []
    root = logging.getLogger()
    before = list(root.handlers)
    configure_debug_logging()  # what --debug does: httpx at DEBUG on stderr
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "ctconfig"):
        caplog.set_level(logging.DEBUG, logger=name)

    async def scenario() -> None:
        provider = server.provider({PASSCODE_ENV: admin}, max_retries=12)
        results = await asyncio.gather(
            *(provider.create_passcode(target(), f"p{n}", 30) for n in range(8)),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, IssuedPasscode):
                seen.append(result.secret.reveal())
            else:
                assert isinstance(result, SecretLostError), result
                messages.append(str(result))
        for email in USERS:
            await provider.grant_user_passcode(target(), email, 30)
            await provider.reset_user_passcode(target(), email)
        await provider.read_account(target())
        # A secret that some library logs by accident is redacted too.
        logging.getLogger("httpx").debug("headers: X-CleverTap-Passcode: %s", admin)
        logging.getLogger("httpcore.http11").debug("echo %s", seen[-1])
        wrong = server.provider({PASSCODE_ENV: admin + "-wrong"})
        with pytest.raises(AuthError) as caught:
            await wrong.read_account(target())
        messages.append(str(caught.value))
        seen.append(admin + "-wrong")
        await provider.aclose()
        await wrong.aclose()

    try:
        run(scenario)
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
    assert len(seen) > 3
    assert any("HTTP Request: POST" in r.getMessage() for r in caplog.records), "debug logging was on"
    captured = capfd.readouterr()
    haystacks = [caplog.text, captured.err, captured.out, *messages]
    haystacks += [r.getMessage() for r in caplog.records]
    for secret in seen:
        for text in haystacks:
            assert secret not in text
    assert "<redacted>" in caplog.text
