"""`ctconfig sandbox ...`: inspect and poke the embedded sandbox like a dashboard."""

from __future__ import annotations

import click

from ctconfig.cli.base import cli


@cli.group()
def sandbox() -> None:
    """Inspect and change the sandbox account store, as the dashboard would."""
