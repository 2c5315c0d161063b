"""In-process runs of the real entry point (`run_cli`: parsing, errors, exit codes), in a quickstart copy."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctconfig.cli import run_cli
from tests.examples import copy_example


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


Run = Callable[..., Ran]


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/quickstart as git tracks it, made the working directory."""
    folder = copy_example("quickstart", tmp_path / "quickstart")
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture(autouse=True)
def _debug_logging_undone() -> Iterator[None]:
    """`--debug` configures logging for the process; undo it so later tests' output stays theirs."""
    loggers = [logging.getLogger(name) for name in ("", "ctconfig", "httpx", "httpcore")]
    handlers, levels = list(loggers[0].handlers), [logger.level for logger in loggers]
    yield
    loggers[0].handlers[:] = handlers
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """`ctconfig ARGS...` in this process, through `run_cli` as the console script calls it."""
    for name in ("CTCONFIG_CONFIG", "CTCONFIG_SANDBOX_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*args: str) -> Ran:
        capsys.readouterr()
        code = run_cli(list(args))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return invoke
