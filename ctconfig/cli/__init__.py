"""The `ctconfig` command line: parse, call, render, exit. No logic lives here.

`base.COMMANDS` names every command and the module that defines it; a module
is imported only when its command runs (or `--help` lists it), and command
modules import their heavy dependencies inside the command functions, so
`import ctconfig.cli` loads neither pydantic, ruamel.yaml, httpx nor asyncio.
"""

from __future__ import annotations

import sys

from ctconfig.cli.base import cli, run_cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_cli(sys.argv[1:]))
