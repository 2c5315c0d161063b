"""A secret that cannot be a header value is refused before any request, and never printed.

Issue 12.2: `CT_DEMO_PASSCODE=$'SECRETPART1\\nSECRETPART2' ctconfig plan` used to print
`Illegal header value b'SECRETPART1\\nSECRETPART2'` (twice with `--debug`) after 7 retries.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML

from ctconfig.errors import AuthError
from ctconfig.providers.http_headers import MAX_HEADER_SECRET_LENGTH, header_value_problem
from ctconfig.redaction import RedactingFilter, format_exception, redact
from tests.conftest import RunCtconfig
from tests.http.conftest import PASSCODE_ENV, SandboxServer, run, target

PARTS = ("SECRETPART1", "SECRETPART2")


def write_config(folder: Path, url: str) -> None:
    config = {
        "version": 1,
        "provider": {"kind": "clevertap", "base_url": url},
        "accounts": {
            "demo": {
                "id": "TEST-R78-ZZK-955Z",
                "credentials": {"passcode_env": "CT_DEMO_PASSCODE"},
                "account_passcodes": {"segment-export": {"expires_in": "90d"}},
            }
        },
    }
    with (folder / "ctconfig.yaml").open("w") as handle:
        YAML().dump(config, handle)


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("SECRETPART1\nSECRETPART2", "it contains a line break"),
        ("SECRETPART1\tSECRETPART2", "it contains a control character"),
        ("SECRETPART1\u00e9SECRETPART2", "it contains a non-ASCII character"),
    ],
    ids=["newline", "tab", "non-ascii"],
)
def test_plan_refuses_the_value_naming_the_variable_never_the_value(
    run_ctconfig: RunCtconfig, server: SandboxServer, tmp_path: Path, debug: bool, value: str, problem: str
) -> None:
    write_config(tmp_path, server.url)
    args = ["--debug", "plan"] if debug else ["plan"]
    done = run_ctconfig(*args, env={"CT_DEMO_PASSCODE": value})
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "Error: environment variable CT_DEMO_PASSCODE (the admin passcode for account `demo`) "
        f"cannot be a passcode: {problem}" + (" (tab, NUL, ...)" if "control" in problem else "")
    )
    for part in PARTS:
        assert part not in done.stdout and part not in done.stderr
    assert ("Traceback" in done.stderr) is debug
    assert server.stats()["requests"] == 0, "refused before any request"


def test_header_value_problems_are_described_without_quoting() -> None:
    assert header_value_problem("AMA-AUE-YWUL") is None
    assert header_value_problem("0123456789abcdef0123456789abcdef") is None
    assert header_value_problem("") == "it is empty"
    assert header_value_problem(" padded") == "it starts or ends with a space"
    too_long = "A" * (MAX_HEADER_SECRET_LENGTH + 1)
    assert header_value_problem(too_long) == "it is 257 characters long (at most 256)"
    assert header_value_problem("A\x00B") == "it contains a control character (tab, NUL, ...)"
    assert header_value_problem("A\rB") == "it contains a line break"


def test_an_overlong_admin_passcode_is_refused_before_any_request(server: SandboxServer) -> None:
    async def scenario() -> None:
        provider = server.provider({PASSCODE_ENV: "X" * 5000})
        with pytest.raises(AuthError, match=r"cannot be a passcode: it is 5000 characters long"):
            await provider.read_account(target())
        assert provider.stats.requests == 0
        await provider.aclose()

    run(scenario)
    assert server.stats()["requests"] == 0


def test_what_h11_says_of_a_header_value_is_redacted_in_messages_tracebacks_and_logs(
    server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Below the provider's check: httpx itself refusing a header value, on a real socket."""

    async def send() -> BaseException:
        async with httpx.AsyncClient() as client:
            try:
                # built here, so that the traceback's source line does not show it either
                await client.get(server.url + "/v1/connect", headers={"X-Token": "\n".join(PARTS)})
            except httpx.LocalProtocolError as exc:
                return exc
        raise AssertionError("httpx sent an illegal header value")

    error = asyncio.run(send())
    assert "SECRETPART1" in str(error)  # what used to reach the terminal
    logger = logging.getLogger("tests.header_values")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="tests.header_values"):
        logger.error("request failed: %s", error, exc_info=error)
    for text in (redact(str(error)), format_exception(error), caplog.text):
        assert "Illegal header value" in text or "request failed" in text
        for part in PARTS:
            assert part not in text
