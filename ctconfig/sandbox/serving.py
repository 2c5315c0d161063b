"""`ctconfig sandbox serve`'s process model: one process, or workers forked on one socket.

The app (`server.create_app`) is served by uvicorn with the guarded HTTP
protocol (`connections`): a header deadline, a bound on connections, a quiet
log. `--workers N` forks N processes after the socket is bound; each accepts
on it with its own connection to the store, so the simulator can use every
core and a benchmark measures ctconfig rather than its simulator.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import uvicorn

from ctconfig.sandbox.connections import (
    DEFAULT_MAX_CONNECTIONS,
    GuardedH11Protocol,
    QuietLog,
    connection_bound,
)
from ctconfig.sandbox.faults import FaultSettings, ServerStats
from ctconfig.sandbox.server import LISTEN_BACKLOG, create_app, listening_socket
from ctconfig.sandbox.store import SandboxStore

KEEP_ALIVE_SECONDS = 5
"""Idle seconds before the server closes a kept-alive connection (ctconfig's client keeps them 4 s)."""


def serve(
    path: Path,
    host: str,
    port: int,
    settings: FaultSettings,
    announce: Callable[[str], None],
    *,
    workers: int = 1,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> None:
    """Serve the store until SIGINT/SIGTERM; port 0 picks a free port.

    The socket is bound and listening before `announce` tells the caller the
    URL, so a client that reads it can connect at once. On a signal uvicorn
    finishes the requests in flight, the summary line is announced, and then
    (uvicorn re-raises the signal) the process ends as the signal asks.

    `workers` > 1 forks that many processes after the socket is bound; each
    accepts connections on it with its own connection to the store (SQLite in
    WAL mode serialises their writes), so requests use every core. The
    in-flight limit, the fault draws and the counters are then per worker.
    """
    sock = listening_socket(host, port)
    bound = connection_bound(max_connections)
    # The database is made (schema, WAL) before anyone is told where to connect: a client that
    # opens it at once must not race the server's set-up (SQLite refuses a second WAL switch).
    store: SandboxStore | None = SandboxStore(path)
    if workers > 1:
        assert store is not None
        store.close()  # each worker opens its own connection after the fork
        store = None
    shown = f"[{host}]" if sock.family == socket.AF_INET6 else host
    announce(f"Serving sandbox on http://{shown}:{sock.getsockname()[1]}")
    with sock:
        if store is not None:
            _serve_one(sock, store, settings, announce, bound)
            return
        children = [_fork_worker(sock, path, settings, announce, bound, n, workers) for n in range(workers)]
    _wait_for_workers(children)


def _serve_one(
    sock: socket.socket,
    store: SandboxStore,
    settings: FaultSettings,
    announce: Callable[[str], None],
    bound: int,
) -> None:
    """One process serving the store on `sock` until a signal."""
    stats = ServerStats()

    def shutdown() -> None:
        store.close()
        announce(stats.summary())

    protocol = type("SandboxProtocol", (GuardedH11Protocol,), {"max_connections": bound})
    config = uvicorn.Config(
        create_app(store, settings, stats, on_shutdown=shutdown),
        http=protocol,
        loop="asyncio",
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        backlog=LISTEN_BACKLOG,
    )
    server = uvicorn.Server(config)
    for name in ("uvicorn.error", "asyncio"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietLog) for f in logger.filters):
            logger.addFilter(QuietLog())
    server.run(sockets=[sock])


def _fork_worker(
    sock: socket.socket,
    path: Path,
    settings: FaultSettings,
    announce: Callable[[str], None],
    bound: int,
    number: int,
    workers: int,
) -> int:
    """A child process serving `sock`; its pid. Each worker draws faults from its own seed."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        seed = None if settings.seed is None else settings.seed + number
        mine = replace(settings, seed=seed)

        def say(line: str) -> None:
            announce(f"worker {number + 1}/{workers}: {line}")

        _serve_one(sock, SandboxStore(path), mine, say, bound)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # never return into the parent's code


def _wait_for_workers(children: list[int]) -> None:
    """Pass SIGINT/SIGTERM on to every worker and wait until all have ended."""

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    for child in children:
        while True:
            try:
                os.waitpid(child, 0)
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue
