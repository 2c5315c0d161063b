"""The sandbox served from a thread (tests/threaded_sandbox.py) stands in for `ctconfig sandbox serve`
in many tests: it must answer like the command, keep uvicorn's log where `log_text()` reads it,
print the command's summary when stopped, and really stop."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.sandbox.conftest import LoggedServer, LoggedServerFactory
from tests.threaded_sandbox import ThreadedSandbox


def test_it_answers_as_the_command_does(served: LoggedServer, serve: LoggedServerFactory) -> None:
    command = serve()
    for server in (served, command):
        admin = server.admin()
        with httpx.Client(base_url=server.url, headers=server.headers(admin)) as client:
            created = client.post("/1/passcodes.json", json={"name": "seg", "expires_in_days": 30})
            listed = client.get("/1/passcodes.json").json()["passcodes"]
            refused = client.get("/1/passcodes.json", headers={"X-CleverTap-Passcode": "nope"})
        assert created.status_code == 201 and [p["name"] for p in listed] == ["seg"]
        assert (refused.status_code, refused.json()["error"]) == (401, "unknown account or passcode")
        assert server.stats()["requests"] == 3
    assert served.output[0].startswith("Serving sandbox on http://127.0.0.1:")


def test_its_log_holds_uvicorns_errors_with_their_traceback(served: LoggedServer) -> None:
    try:
        raise RuntimeError("boom in the app")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    assert "Exception in ASGI application" in served.log_text()
    assert "Traceback (most recent call last)" in served.log_text() and "boom in the app" in served.log_text()


def test_its_log_never_reaches_the_root_logger_where_an_in_process_debug_run_would_print_it(
    served: LoggedServer,
) -> None:
    seen: list[str] = []
    root_handler = logging.Handler()
    root_handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger().addHandler(root_handler)
    try:
        logging.getLogger("uvicorn.error").error("only the server's log")
    finally:
        logging.getLogger().removeHandler(root_handler)
    assert "only the server's log" in served.log_text()
    assert seen == []


def test_stopping_prints_the_commands_summary_and_closes_the_port(tmp_path: Path) -> None:
    sandbox = ThreadedSandbox(tmp_path / "sandbox.db")
    assert httpx.get(sandbox.url + "/1/account.json").status_code == 401
    printed = sandbox.stop()
    assert printed.splitlines()[-1].startswith("sandbox served 1 requests; injected 0 errors")
    with pytest.raises(httpx.ConnectError):
        httpx.get(sandbox.url + "/1/account.json")
