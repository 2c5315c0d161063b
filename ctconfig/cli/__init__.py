"""The `ctconfig` command line: parse, call, render, exit. No logic lives here.

`base.COMMANDS` names every command and the module that defines it; a module
is imported only when its command runs (or `--help` lists it), and command
modules import their heavy dependencies inside the command functions, so
`import ctconfig.cli` loads neither pydantic, ruamel.yaml, httpx nor asyncio.
"""

from __future__ import annotations

import sys

from ctconfig.cli.base import cli, run_cli
from ctconfig.cli.process import forbid_core_dumps, may_hold_secrets
from ctconfig.cli.signals import unwind_on_stop_signals
from ctconfig.collector import collect_less_often

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point: no core dumps for a command that may hold secrets."""
    collect_less_often()
    if may_hold_secrets(sys.argv[1:]):
        forbid_core_dumps()
    unwind_on_stop_signals()
    sys.exit(run_cli(sys.argv[1:]))
