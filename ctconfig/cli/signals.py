"""SIGTERM and SIGHUP stop a command as Ctrl-C does: unwinding, so the state lock is released.

A CI job that is cancelled gets SIGTERM (a closed terminal, SIGHUP). Python's
default for both is to die at once, which left the state lock behind for the
next run to force. The console entry point installs these handlers; the apply
phase replaces them for its duration with its own graceful stop (in-flight
operations finish, state is saved) and puts them back afterwards.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

from ctconfig.errors import Terminated

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    for sig in STOPPING_SIGNALS:  # a second signal must not cut the unwinding (the lock's release) short
        signal.signal(sig, signal.SIG_IGN)
    # Raised inside a task's step (a socket write, say) rather than in the event loop's select,
    # the stop leaves tasks that asyncio then reports at shutdown ("Task exception was never
    # retrieved", "Task was destroyed but it is pending") with tracebacks: not news, the process
    # is stopping on purpose, and the one line that says so must stay the last.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)
    raise Terminated(signal.Signals(signum).name, 128 + signum)


def unwind_on_stop_signals() -> None:
    """Make SIGTERM and SIGHUP raise `Terminated` in the main thread (called by the console entry)."""
    for sig in STOPPING_SIGNALS:
        signal.signal(sig, _raise_terminated)
