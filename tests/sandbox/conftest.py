"""A fresh sandbox store per test, with one account seeded with two dashboard users."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctconfig.sandbox import SandboxStore
from tests.conftest import ctconfig_executable
from tests.http.conftest import _URL as SERVING
from tests.http.conftest import SandboxServer, threaded_server
from tests.http.conftest import _first_line as first_line

SEEDED_ACCOUNT = "W9R-486-4W5Z"
SEEDED_USERS = ("alice@example.com", "bob@example.com")
# Anything in the shape of an issued secret (domain.LETTER_GROUPS), anywhere in a text.
SECRET_SHAPED = re.compile(r"(?<![A-Za-z0-9])[A-Z]{3}-[A-Z]{3}-[A-Z]{3,4}(?![A-Za-z0-9])")


def shows_a_secret(text: str) -> bool:
    """Whether text holds something shaped like a sandbox secret (the sandbox issues no other)."""
    return SECRET_SHAPED.search(text) is not None


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database path whose parent directory does not exist yet."""
    return tmp_path / "nested" / "sandbox.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SandboxStore]:
    """A store holding account W9R-486-4W5Z with alice@ and bob@example.com as members."""
    sandbox = SandboxStore(db_path)
    sandbox.ensure_account(SEEDED_ACCOUNT, SEEDED_USERS)
    yield sandbox
    sandbox.close()


# -- a real `ctconfig sandbox serve`, with its log kept for "no traceback" checks --------------


@dataclass
class LoggedServer(SandboxServer):
    """A running server whose stderr (uvicorn's log) goes to `log`."""

    log: Path = Path()

    def log_text(self) -> str:
        if self.threaded is not None:
            return "\n".join(self.threaded.log)
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def headers(self, secret: str, account_id: str = SEEDED_ACCOUNT) -> dict[str, str]:
        return {"X-CleverTap-Account-Id": account_id, "X-CleverTap-Passcode": secret}

    def rss_kib(self) -> int:
        """The server process's resident memory (Linux), to prove a body never reached it."""
        assert self.threaded is None, "a threaded server has no process of its own: use `serve()`"
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


LoggedServerFactory = Callable[..., LoggedServer]


def launch(tmp: Path, name: str, *args: str, db: Path | None = None) -> LoggedServer:
    """Start `ctconfig sandbox serve --port 0 ARGS...` with stderr to a log file."""
    db = db or tmp / f"{name}.db"
    log = tmp / f"{name}.log"
    command = [*ctconfig_executable(), "sandbox", "--db", str(db), "serve", "--port", "0", *args]
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log_file, text=True, cwd=tmp
        )
    line = first_line(process).strip()
    match = SERVING.match(line)
    if not match:
        process.kill()
        process.wait()
        pytest.fail(f"sandbox server did not start; first line: {line!r}; log: {log.read_text()}")
    return LoggedServer(match.group(1), db, process, [line], log=log)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[LoggedServerFactory]:
    """Start servers (`serve("--latency", "0.5")`); every one is stopped at the end."""
    started: list[LoggedServer] = []

    def start(*args: str, db: Path | None = None) -> LoggedServer:
        server = launch(tmp_path, f"server-{len(started)}", *args, db=db)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LoggedServer]:
    """One fault-free server: the sandbox app on a real socket, served from a thread
    (tests/threaded_sandbox.py); `serve()` starts the command itself."""
    for server in threaded_server(tmp_path / "served-threaded.db"):
        yield LoggedServer(
            server.url, server.db, server.process, server.output, threaded=server.threaded, log=Path()
        )
