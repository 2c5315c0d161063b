"""The sandbox's HTTP server on a real loopback socket, served from a thread of the test process.

`ctconfig sandbox serve` as a child process costs ~0.3 s of CPU and ~0.4 s of waiting to start
(the interpreter, uvicorn, starlette, ctconfig), paid by every test that wanted a fresh server.
This serves the very app the command serves (`ctconfig.sandbox.server.create_app` behind uvicorn,
with the command's own socket and settings) on its own event loop in a thread: a fresh store
and server per test for ~20 ms. Tests about the command itself (its flags, signals, log, memory,
being killed) start the real command (tests/http/conftest.py `start_server`,
tests/sandbox/conftest.py `serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

from ctconfig.sandbox.faults import FaultSettings, ServerStats
from ctconfig.sandbox.server import create_app, listening_socket
from ctconfig.sandbox.store import SandboxStore

STARTUP_SECONDS = 20.0
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class _Server(uvicorn.Server):
    """uvicorn's server, woken to stop at once rather than noticing its flag within 0.1 s."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):  # True once should_exit is set
            counter = (counter + 1) % 864000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def wake(self) -> None:
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._wake.set)


class _Logs(logging.Handler):
    """uvicorn's log ("Exception in ASGI application" and its traceback) for every live server.

    The command writes it to its stderr; here it must not reach the test process's root
    logger, where an in-process `ctconfig --debug` would print it as its own.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        self.live: list[ThreadedSandbox] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        for server in list(self.live):
            server.log.append(text)


_LOGS = _Logs()


def _keep_uvicorns_log() -> None:
    """Route uvicorn's loggers to `_LOGS` only; again for each server, as a test that configures
    logging (`logging.config.dictConfig`, uvicorn's default log config) may have undone it."""
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if _LOGS not in logger.handlers:
            logger.addHandler(_LOGS)
        logger.propagate = False


class ThreadedSandbox:
    """One sandbox server over `db`, listening on 127.0.0.1 at a free port until `stop()`."""

    def __init__(self, db: Path, settings: FaultSettings | None = None) -> None:
        self.db = db
        self.output: list[str] = []
        self.log: list[str] = []
        self.stats = ServerStats()
        sock = listening_socket("127.0.0.1", 0)
        store = SandboxStore(db)

        def shutdown() -> None:
            store.close()
            self.output.append(self.stats.summary())

        config = uvicorn.Config(
            create_app(store, settings or FaultSettings(), self.stats, on_shutdown=shutdown),
            http="h11",
            loop="asyncio",
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.output.append(f"Serving sandbox on {self.url}")
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"sandbox {self.url}", daemon=True
        )
        _keep_uvicorns_log()
        _LOGS.live.append(self)
        self._thread.start()
        self._wait_until_started(sock.close)

    def _wait_until_started(self, give_up: Callable[[], None]) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop_soon()
                give_up()
                raise RuntimeError(f"the threaded sandbox did not start; log: {self.log}")
            time.sleep(0.002)

    def stop_soon(self) -> None:
        """Ask the server to finish its requests in flight and stop (it takes ~0.1 s more)."""
        self._server.should_exit = True
        self._server.wake()
        for stopped in [server for server in _STOPPING if not server._thread.is_alive()]:
            stopped.join()
        if self not in _STOPPING:
            _STOPPING.append(self)

    def stop(self) -> str:
        """Stop, wait until it has, and return what the command would have printed."""
        self.stop_soon()
        self.join()
        return "\n".join(self.output)

    def join(self) -> None:
        self._thread.join(timeout=30)
        for registry in (_LOGS.live, _STOPPING):
            if self in registry:
                registry.remove(self)


_STOPPING: list[ThreadedSandbox] = []


def join_stopping() -> None:
    """Wait for every server asked to stop (a session's end: none may outlive the tests)."""
    while _STOPPING:
        _STOPPING[-1].join()
