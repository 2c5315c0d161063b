"""What the crash tests share: bench/crash_points.py as a module, its sandbox server, PostgreSQL."""

from __future__ import annotations

import gc
import importlib.util
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.inprocess import run_in_process
from tests.state.conftest import pg_dsn  # noqa: F401  (the postgres fixture, for the postgres cases)

BENCH = Path(__file__).parents[2] / "bench" / "crash_points.py"


@pytest.fixture(scope="session")
def crash_points() -> ModuleType:
    """bench/crash_points.py, imported: the harness the benchmark runs, in its quick form here."""
    spec = importlib.util.spec_from_file_location("crash_points", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sandbox_server(crash_points: ModuleType) -> Iterator[Any]:
    """The harness's sandbox server (with the create whose outcome is unknown), stopped at the end."""
    server = crash_points.SandboxServer()
    try:
        yield server
    finally:
        server.stop()


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


@pytest.fixture(scope="session")
def zygote(crash_points: ModuleType) -> Iterator[Any]:
    """Forks the applies under test from an interpreter that has imported ctconfig already."""
    forks = crash_points.Zygote()
    try:
        yield forks
    finally:
        forks.stop()
