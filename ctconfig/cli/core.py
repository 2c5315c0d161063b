"""The main commands: validate, schema, init, plan, apply, show, import, export."""

from __future__ import annotations

from ctconfig.cli.base import cli  # noqa: F401
