"""`ctconfig state ...` and `force-unlock`: inspect and edit state, read its history."""

from __future__ import annotations

import click

from ctconfig.cli.base import cli


@cli.group()
def state() -> None:
    """Inspect and edit the state: list, show, rm, mv, pull, push, history, diff."""
