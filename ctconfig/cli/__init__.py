"""The `ctconfig` command line: parse, call, render, exit. No logic lives here.

Each sub-module registers one family of commands on `cli`:
`core` (validate, schema, init, plan, apply, show, ...), `state`, `sandbox`.
"""

from __future__ import annotations

import sys

# Importing the command modules registers their commands on `cli`.
from ctconfig.cli import adopt as _adopt  # noqa: F401  (registers commands)
from ctconfig.cli import config_cmds as _config_cmds  # noqa: F401
from ctconfig.cli import core as _core  # noqa: F401
from ctconfig.cli import sandbox as _sandbox  # noqa: F401
from ctconfig.cli import sandbox_server as _sandbox_server  # noqa: F401
from ctconfig.cli import state as _state  # noqa: F401
from ctconfig.cli import verify as _verify  # noqa: F401
from ctconfig.cli.base import cli, run_cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_cli(sys.argv[1:]))
