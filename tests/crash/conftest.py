"""What the crash tests share: the harness of bench/crash_points.py, its sandbox server and zygote,
PostgreSQL, and a way to run `ctconfig` in this process."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.inprocess import run_in_process

BENCH = Path(__file__).parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # the harness is the benchmark's own: bench/crash_harness.py


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """The harness's sandbox server (with the create whose outcome is unknown), stopped at the end."""
    from crash_serving import SandboxServer

    server = SandboxServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def zygote() -> Iterator[Any]:
    """Forks the applies under test from an interpreter that has imported ctconfig already."""
    from crash_serving import Zygote

    forks = Zygote()
    try:
        yield forks
    finally:
        forks.stop()


def in_process(args: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`ctconfig ARGS` in this process: recovery, plans and checks (the crashing apply is a child)."""
    return run_in_process(list(args), cwd, env, None)


def in_process_collected(
    args: list[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """`in_process`, then a collection: a command leaves its PostgreSQL connections to the end of its
    process, and a few hundred commands here would exhaust the server's."""
    try:
        return in_process(args, cwd, env)
    finally:
        gc.collect()
