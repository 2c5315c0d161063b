"""Issue 20, row 16 (the process half): a ctconfig process that may hold secrets never dumps core.

The installed command runs as a child whose core size limit the test first raises as far as it
may go, as a shell with `ulimit -c unlimited` would; the child then sets it to 0 and, on Linux,
marks itself not dumpable, so SIGQUIT (whose default action is a core dump) leaves none.
The other half of the row (hashed constraints, pip-audit) lives in `.ci/` and tests/untrusted's
test_row16_dependencies.py.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ctconfig.cli.process import command_name, may_hold_secrets
from tests.conftest import ctconfig_executable


def raise_core_limit() -> None:
    """In the child, before exec: allow cores as large as the hard limit lets."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def core_limit_of(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return " ".join(line.split()[4:6])
    raise AssertionError("no core limit line")


@pytest.mark.process
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl are Linux's")
def test_a_command_holding_secrets_leaves_no_core(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")}
    child = subprocess.Popen(
        [*ctconfig_executable(), "sandbox", "serve", "--port", "0", "--db", str(tmp_path / "s.db")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=raise_core_limit,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("Serving sandbox on http://127.0.0.1:")
        assert core_limit_of(child.pid) == "0 0"
        child.send_signal(signal.SIGQUIT)
        _, status = os.waitpid(child.pid, 0)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGQUIT
    assert not os.WCOREDUMP(status)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("core")]


@pytest.mark.parametrize(
    ("argv", "command", "hardened"),
    [
        (["apply", "--auto-approve"], "apply", True),
        (["-c", "infra/ctconfig.yaml", "--debug", "plan"], "plan", True),
        (["--config=x.yaml", "verify"], "verify", True),
        (["-c", "fmt", "state", "list"], "state", True),  # a config file named like a command
        (["sandbox", "serve"], "sandbox", True),
        (["fmt", "--check"], "fmt", False),
        (["show", "x.plan"], "show", False),
        (["--version"], None, False),
        ([], None, False),
    ],
)
def test_which_commands_are_hardened(argv: list[str], command: str | None, hardened: bool) -> None:
    assert command_name(argv) == command
    assert may_hold_secrets(argv) is hardened
