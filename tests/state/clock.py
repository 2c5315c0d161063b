"""A fake `WaitClock` for lock waits: tests drive time instead of asserting wall-clock bounds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ctconfig.state.lockfile import SystemClock


class FakeClock:
    """`sleep` passes no real time: it advances `now`, records the delay, and runs what fell due.

    `at(when, action)` schedules `action` (say, the holder releasing its lock) for
    when the fake time reaches `when`, so a waiter sees it on its next attempt.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._due: list[tuple[float, Callable[[], object]]] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds
        due = [item for item in self._due if item[0] <= self.now]
        self._due = [item for item in self._due if item[0] > self.now]
        for _, action in sorted(due, key=lambda item: item[0]):
            action()

    def at(self, when: float, action: Callable[[], object]) -> None:
        self._due.append((when, action))

    @property
    def waited(self) -> float:
        return sum(self.sleeps)


def replace_the_system_clock(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Lock waits of commands run in this process (`run_ctconfig`) pass `clock`'s time, not real time.

    A command builds its backends with the real `SYSTEM_CLOCK`; this makes that clock read and
    advance `clock` until the test ends, so `--lock-timeout` is exercised without waiting it out.
    """
    monkeypatch.setattr(SystemClock, "monotonic", lambda self: clock.monotonic())
    monkeypatch.setattr(SystemClock, "sleep", lambda self, seconds: clock.sleep(seconds))
    return clock
