"""How a command treats Python's cycle collector: a command is a short process that makes many
objects and few garbage cycles, and the collector walking them again and again was a large
share of start-up, of loading a big config and of planning (`bench/` measures each).

Frozen objects are still freed when nothing refers to them; only the collector leaves them
alone. A process that goes on after a command (the test suite) calls `gc.unfreeze()`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNGEST_GENERATION_THRESHOLD = 50_000
"""Allocations between collections of the youngest generation (Python's default: 700)."""


def collect_less_often() -> None:
    """Collect the youngest generation every 50,000 allocations instead of every 700.

    With Python's defaults, importing pydantic, the config models and a command ran about
    a hundred collections that found nothing: ~8 % of a small plan.
    """
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_GENERATION_THRESHOLD, middle, oldest)


@contextlib.contextmanager
def paused_then_frozen() -> Iterator[None]:
    """Pause the collector while a config is built or a plan made, then freeze what exists.

    Both make tens of thousands of objects and no cycles: the collector, walking them again
    and again, took half of loading a large config and a fifth of a plan of 10,000. What
    exists afterwards lives until the command ends, so it is frozen before the collector runs
    again; otherwise its first run walks all of it once more (a fifth of validating a 1 MB
    config, ~9 % of a no-op plan of 10,000).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def settled_objects_frozen() -> Iterator[None]:
    """Keep the collector off what exists before an apply starts (config, state, plan).

    They live until the end, yet every full collection during the apply walked all of them
    again: half a second of an apply of 10,000. Garbage made during the apply is still
    collected, and everything is the collector's again afterwards.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
