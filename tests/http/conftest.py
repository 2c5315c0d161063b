"""A real `ctconfig sandbox serve` on a free loopback port, and providers pointed at it."""

from __future__ import annotations

import asyncio
import json
import queue
import re
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.request import urlopen

import pytest

from ctconfig.config.spec import ClevertapProviderConfig
from ctconfig.domain import AccountTarget
from ctconfig.providers.clevertap import ClevertapProvider
from ctconfig.sandbox.store import SandboxStore
from tests.conftest import ctconfig_executable
from tests.threaded_sandbox import ThreadedSandbox

ACCOUNT_ID = "W9R-486-4W5Z"
PASSCODE_ENV = "CT_PROD_PASSCODE"
STARTUP_SECONDS = 20.0
_URL = re.compile(r"^Serving sandbox on (http://\S+)$")
T = TypeVar("T")


@dataclass
class SandboxServer:
    """One running `ctconfig sandbox serve` process (or its app served from a thread) and its database."""

    url: str
    db: Path
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    threaded: ThreadedSandbox | None = None

    def stats(self) -> dict[str, Any]:
        with urlopen(self.url + "/_sandbox/stats", timeout=5) as answer:
            data: dict[str, Any] = json.loads(answer.read())
            return data

    def store(self) -> SandboxStore:
        return SandboxStore(self.db)

    def admin(self, account_id: str = ACCOUNT_ID, users: tuple[str, ...] = ()) -> str:
        """Create the account (with member users) and return a fresh admin passcode."""
        with self.store() as store:
            store.ensure_account(account_id, users)
            for email in users:
                if store.read(account_id).user(email) is None:
                    store.add_user(account_id, email)
            return store.issue_admin_passcode(account_id)

    def provider(
        self, secrets: dict[str, str], *, backoff_base: float = 0.02, **config: Any
    ) -> ClevertapProvider:
        settings = ClevertapProviderConfig.model_validate(
            {"kind": "clevertap", "base_url": self.url, "timeout": 5.0, **config}
        )
        return ClevertapProvider(settings, secrets, backoff_base=backoff_base)

    def stop(self) -> str:
        """SIGTERM, wait for the graceful exit, and return what the server printed."""
        if self.threaded is not None:
            return self.threaded.stop()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        assert self.process.stdout is not None
        if not self.process.stdout.closed:
            self.output.append(self.process.stdout.read())
            self.process.stdout.close()
        return "\n".join(self.output)


def target(alias: str = "prod", account_id: str = ACCOUNT_ID, env: str = PASSCODE_ENV) -> AccountTarget:
    return AccountTarget(alias=alias, account_id=account_id, region="eu1", passcode_env=env)


def run(coroutine_factory: Callable[[], Awaitable[T]]) -> T:
    """Run one async scenario to completion in a fresh event loop."""

    async def main() -> T:
        return await coroutine_factory()

    return asyncio.run(main())


def _first_line(process: subprocess.Popen[str]) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=STARTUP_SECONDS)
    except queue.Empty:
        return ""


ServerFactory = Callable[..., SandboxServer]


def serve_sandboxes(tmp_path: Path) -> Iterator[ServerFactory]:
    """Yield a function that starts `ctconfig sandbox serve --port 0 ARGS...`; all are stopped after."""
    started: list[SandboxServer] = []

    def start(*args: str, db: Path | None = None, port: int = 0) -> SandboxServer:
        db = db or tmp_path / f"sandbox-{len(started)}.db"
        command = [
            *ctconfig_executable(), "sandbox", "--db", str(db), "serve", "--port", str(port), *args
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path
        )
        line = _first_line(process).strip()
        match = _URL.match(line)
        if not match:
            process.kill()
            process.wait()
            pytest.fail(f"sandbox server did not start; first line: {line!r}")
        server = SandboxServer(match.group(1), db, process, [line])
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start `ctconfig sandbox serve --port 0 ARGS...`; every server is stopped at the end."""
    yield from serve_sandboxes(tmp_path)


def threaded_server(db: Path) -> Iterator[SandboxServer]:
    """A fault-free sandbox server over `db`, served from a thread (tests/threaded_sandbox.py)."""
    sandbox = ThreadedSandbox(db)
    try:
        yield SandboxServer(sandbox.url, sandbox.db, _NO_PROCESS, sandbox.output, threaded=sandbox)
    finally:
        sandbox.stop_soon()


# A threaded server has no process of its own; tests that need one start the command.
_NO_PROCESS: Any = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    """A server without faults: the sandbox app on a real socket, served from a thread."""
    yield from threaded_server(tmp_path / "sandbox-threaded.db")
