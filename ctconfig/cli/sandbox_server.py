"""`ctconfig sandbox serve` and `sandbox admin-passcode`: the sandbox over HTTP."""

from __future__ import annotations

from ctconfig.cli.sandbox import sandbox  # noqa: F401
