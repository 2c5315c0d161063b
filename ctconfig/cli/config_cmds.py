"""`validate`, `schema`, `init` and `fmt`: commands about the config itself."""

from __future__ import annotations

from ctconfig.cli.base import cli  # noqa: F401
