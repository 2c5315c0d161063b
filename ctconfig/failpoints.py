"""Failpoints: the named boundaries between ctconfig's durable operations, for crash tests.

Every write, fsync, rename, link, unlink, SQL statement and storage request that
makes the journal, the state, a secret sink or a lock durable first calls
`hit(NAME, where)`; a journal append calls it once more when the batch is durable
(the next thing may be a request to an account, which has no failpoint of its own).
Two steps made of several such operations are marked where they start, as anchors:
a state write (`state.local.write`, `state.pg.write`, `state.s3.write`) and the
compaction of an apply's journal (`apply.compact`). Nothing is armed in a normal
run, and `hit` is one global lookup.

The person or test running ctconfig arms them with the environment variable
`CTCONFIG_FAILPOINTS`, read once when this module is first imported (a config can
never arm them) and then removed from the environment, so that commands ctconfig
starts (a `command` sink) do not inherit them. Settings, separated by `;`:

    trace=PATH              append every boundary reached to PATH, one `NAME<TAB>WHERE` line each
    crash=NAME#N            end the process at once, without any cleanup (`os._exit(CRASH_EXIT)`),
                            the N-th time NAME is reached, before its operation runs
    crash=ANCHOR#A/NAME#N   the same at the N-th NAME after the A-th ANCHOR

Counting from an anchor keeps a target still where the order of the boundaries
before it varies from run to run (accounts are applied concurrently, and group
commit batches whatever arrives together): the end of an apply (`state.*.write`,
then `apply.compact`) always comes after the same anchor.

`bench/crash_points.py` runs an apply once with `trace=` to find every boundary,
then once per boundary with `crash=` and checks what the next run recovers; tests
in this process arm failpoints with `armed(...)` instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

ENV = "CTCONFIG_FAILPOINTS"
CRASH_EXIT = 86
"""The exit status of a process that crashed at a failpoint."""

Action = Callable[[str, str], None]
"""What happens at an armed boundary: called with the boundary's name and where it is."""


class FailpointSpecError(ValueError):
    """`CTCONFIG_FAILPOINTS` holds a setting this module does not know."""


def crash(name: str, where: str) -> None:
    """End the process at once: no `finally`, no `atexit`, no flush, no lock released."""
    os._exit(CRASH_EXIT)


@dataclass
class Target:
    """The `count`-th time `name` is reached (after the `after_count`-th `after`, when `after` is set)."""

    name: str
    count: int
    action: Action
    after: str | None = None
    after_count: int = 0
    _counted: int = 0
    _started: bool = False

    @classmethod
    def parse(cls, text: str, action: Action) -> Target:
        """`NAME#N`, or `ANCHOR#A/NAME#N`: the N-th NAME after the A-th ANCHOR."""
        anchor, _, target = text.rpartition("/")
        name, count = _counted(target, text)
        if not anchor:
            return cls(name, count, action)
        after, after_count = _counted(anchor, text)
        return cls(name, count, action, after, after_count)

    def reached(self, name: str, seen: int) -> bool:
        """Count `name` (its `seen`-th occurrence); True when this is the target."""
        if not self._started:
            if self.after is None:
                self._started = True
            elif name == self.after and seen == self.after_count:
                self._started = True
                return False
        if self._started and name == self.name:
            self._counted += 1
            return self._counted == self.count
        return False


def _counted(text: str, whole: str) -> tuple[str, int]:
    name, _, count = text.rpartition("#")
    if not name or not count.isdigit() or int(count) < 1:
        raise FailpointSpecError(f"{ENV}: {whole}: expected NAME#N or ANCHOR#A/NAME#N, counts from 1")
    return name, int(count)


class Failpoints:
    """Counts the boundaries reached, writes the trace, and runs the actions of the targets reached."""

    def __init__(self, targets: Sequence[Target] = (), trace: str | None = None) -> None:
        self.targets = list(targets)
        self.seen: Counter[str] = Counter()
        self.reached: list[tuple[str, str]] = []
        self._mutex = threading.Lock()
        self._trace_fd: int | None = None
        if trace:
            self._trace_fd = os.open(trace, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)

    def reach(self, name: str, where: object) -> None:
        """Record `name` and run the action of every target this occurrence of it is."""
        place = "" if where is None else str(where)
        with self._mutex:
            self.seen[name] += 1
            self.reached.append((name, place))
            actions = [t.action for t in self.targets if t.reached(name, self.seen[name])]
            if self._trace_fd is not None:
                line = f"{name}\t{place}" + ("\tarmed\n" if actions else "\n")
                os.write(self._trace_fd, line.encode("utf-8", "backslashreplace"))
        for action in actions:
            action(name, place)

    def close(self) -> None:
        """Close the trace file."""
        if self._trace_fd is not None:
            os.close(self._trace_fd)
            self._trace_fd = None


def parse(spec: str) -> Failpoints:
    """The failpoints `CTCONFIG_FAILPOINTS` asks for (see the module docstring)."""
    targets: list[Target] = []
    trace: str | None = None
    for setting in filter(None, (part.strip() for part in spec.split(";"))):
        key, sep, value = setting.partition("=")
        if key == "trace" and sep and value:
            trace = value
        elif key == "crash" and sep and value:
            targets.append(Target.parse(value, crash))
        else:
            raise FailpointSpecError(f"{ENV}: unknown setting {setting!r} (trace=PATH, crash=NAME#N)")
    return Failpoints(targets, trace)


_active: Failpoints | None = None


def hit(name: str, where: object = None) -> None:
    """A durable operation named `name` (on `where`) is about to run; nothing happens unless armed."""
    if _active is not None:
        _active.reach(name, where)


@contextlib.contextmanager
def armed(failpoints: Failpoints) -> Iterator[Failpoints]:
    """Arm `failpoints` in this process for a block (tests); the ones armed before come back after."""
    global _active
    before, _active = _active, failpoints
    try:
        yield failpoints
    finally:
        _active = before
        failpoints.close()


def from_environment() -> None:
    """Arm what `CTCONFIG_FAILPOINTS` asks for (done once at import; again in a forked child)."""
    global _active
    spec = os.environ.pop(ENV, "")
    if spec:
        try:
            _active = parse(spec)
        except (FailpointSpecError, OSError) as exc:  # set by whoever runs ctconfig: say so, and stop
            sys.stderr.write(f"Error: {exc}\n")
            raise SystemExit(1) from None


from_environment()
