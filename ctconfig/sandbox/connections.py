"""How `sandbox serve` treats connections: bounded in number and time, quiet under abuse.

uvicorn bounds a request's body but not how long a client may take to send its
headers, nor how many connections it holds open: 1,100 connections sending a
header byte now and then used to take every file descriptor, and each refused
accept logged a traceback. `GuardedH11Protocol` (uvicorn's h11 protocol with
two rules added) and `QuietLog` close that:

* **a header deadline**: a request's headers must be complete within
  `HEADER_TIMEOUT` seconds of their first byte (or of the connection's start);
  a connection still sending them then is closed, without a word in the log.
* **a connection bound**: at most `max_connections` at once (well below the
  process's file-descriptor limit, which is raised to its hard limit). A new
  connection over the bound closes the oldest one that is not in the middle of
  a request (still sending headers, or idle between requests), so a client
  that sends a whole request is always served; if every connection is busy
  with a request, the new one is closed.
* **a quiet log**: at most `QuietLog.burst` warnings per `QuietLog.window`
  seconds reach the log, then one line says how many were left out.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's headers (a real client sends them in one packet)."""
DEFAULT_MAX_CONNECTIONS = 512
SPARE_DESCRIPTORS = 64
"""File descriptors kept for the store, the log and the listening socket."""


def connection_bound(wanted: int = DEFAULT_MAX_CONNECTIONS) -> int:
    """Raise this process's file-descriptor limit to its hard limit; the connections it can hold."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(1, min(wanted, soft - SPARE_DESCRIPTORS))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a header deadline and a bound on connections."""

    max_connections = DEFAULT_MAX_CONNECTIONS
    header_timeout = HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self.opened_at = time.monotonic()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.waiting_for_head():
            if self._head_timer is None:  # the first byte of the next request: its clock starts
                self._await_head()
        else:
            self._stop_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._stop_head_timer()  # idle now: uvicorn's keep-alive timeout applies until a byte comes

    def waiting_for_head(self) -> bool:
        """True while no request is in progress: headers not yet complete, or idle between requests."""
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _await_head(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.waiting_for_head() and not self.transport.is_closing():
            self.transport.abort()

    def _make_room(self) -> None:
        """Close the oldest connection not in a request; this one if every other is busy."""
        waiting = [c for c in self.connections if isinstance(c, GuardedH11Protocol) and c is not self]
        idle = [c for c in waiting if c.waiting_for_head() and not c.transport.is_closing()]
        victim = min(idle, key=lambda c: c.opened_at) if idle else self
        victim.transport.abort()


class QuietLog(logging.Filter):
    """Lets `burst` records through per `window` seconds, then says how many it held back."""

    def __init__(self, burst: int = 20, window: float = 10.0) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._started = time.monotonic()
        self._passed = 0
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self._started >= self.window:
            if self._dropped:
                record.msg = f"({self._dropped} similar log line(s) left out) {record.getMessage()}"
                record.args = ()
            self._started, self._passed, self._dropped = now, 0, 0
        if self._passed < self.burst:
            self._passed += 1
            return True
        self._dropped += 1
        return False
