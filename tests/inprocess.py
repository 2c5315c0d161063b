"""Run the `ctconfig` command inside the test process, as the console script would run it.

A subprocess pays the interpreter's start-up and every import (half a second or more on a
loaded 2-core machine) for each command a test runs; most tests prove nothing about the
process boundary. This calls the console script's own `run_cli` with the same arguments,
working directory, environment and stdin, and captures stdout and stderr as text, answering
a `subprocess.CompletedProcess` so a test does not know which way it ran. Tests that are
about the process itself (signals, start-up, resource limits, the installed script) ask for
the real command with `@pytest.mark.process`.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

# Loggers `--debug` configures; their levels are put back after each command.
_DEBUG_LOGGERS = ("", "ctconfig", "httpx", "httpcore")


class _Captured(io.TextIOWrapper):
    """A text stream over bytes (so `.buffer` exists, as on a real pipe) that is not a terminal."""

    def __init__(self, initial: bytes = b"") -> None:
        super().__init__(io.BytesIO(initial), encoding="utf-8", errors="backslashreplace", write_through=True)

    def text(self) -> str:
        self.flush()
        raw = self.buffer
        assert isinstance(raw, io.BytesIO)
        return raw.getvalue().decode("utf-8", errors="backslashreplace")


@contextlib.contextmanager
def _process_like(
    cwd: Path, environ: Mapping[str, str], stdin: str | None
) -> Iterator[tuple[_Captured, _Captured]]:
    """The working directory, environment, standard streams and loggers of a fresh process."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    root = logging.getLogger()
    saved_handlers = list(root.handlers)
    saved_levels = {name: logging.getLogger(name).level for name in _DEBUG_LOGGERS}
    out, err = _Captured(), _Captured()
    try:
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = _Captured((stdin or "").encode()), out, err
        yield out, err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        root.handlers[:] = saved_handlers
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def run_in_process(
    args: list[str], cwd: Path, environ: Mapping[str, str], stdin: str | None
) -> subprocess.CompletedProcess[str]:
    """`ctconfig ARGS` run by the console script's `run_cli` here; its exit code and output."""
    from ctconfig.cli.base import run_cli  # what `ctconfig.cli:main` calls
    from ctconfig.redaction import forget_secrets

    forget_secrets()  # a fresh process knows none (a unit test may have registered some)
    with _process_like(cwd, environ, stdin) as (out, err):
        try:
            code: int | str | None = run_cli(list(args))
        except SystemExit as exc:  # what `sys.exit` in the console script would have ended with
            code = exc.code
        except BaseException:  # a process would print it and die; so does this
            traceback.print_exc(file=err)
            code = 1
        finally:
            forget_secrets()  # one command's secrets are not the next one's
            gc.unfreeze()  # a process would end here; this one gives the collector its objects back
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(["ctconfig", *args], returncode, out.text(), err.text())
