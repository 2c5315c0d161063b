"""Pick the provider the config names: the embedded sandbox, the management API over HTTP, or a person."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ctconfig.config.spec import Config
from ctconfig.providers.base import Provider

if TYPE_CHECKING:
    from ctconfig.providers.operator import Operator


def open_provider(config: Config, operator: Operator | None = None, *, read_only: bool = False) -> Provider:
    """A ready provider; HTTP credentials are read from the environment when first needed.

    `operator` is the person the `dashboard` provider guides through an apply (None: it
    can read and plan, and refuses to change anything); other providers ignore it.
    `read_only`: the run changes nothing (plan, dry run); the embedded sandbox then opens
    its database only to read and creates no file.
    """
    if config.provider.kind == "sandbox":
        from ctconfig.providers.sandbox import SandboxProvider

        return SandboxProvider(Path(config.provider.path), read_only=read_only)
    if config.provider.kind == "dashboard":
        from ctconfig.providers.dashboard import DashboardProvider

        return DashboardProvider(config.provider, operator)
    from ctconfig.providers.clevertap import ClevertapProvider

    return ClevertapProvider(config.provider, os.environ)
