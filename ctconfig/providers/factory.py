"""Pick the provider the config names: the embedded sandbox or the management API over HTTP."""

from __future__ import annotations

import os
from pathlib import Path

from ctconfig.config.spec import Config
from ctconfig.providers.base import Provider


def open_provider(config: Config) -> Provider:
    """A ready provider; HTTP credentials are read from the environment when first needed."""
    if config.provider.kind == "sandbox":
        from ctconfig.providers.sandbox import SandboxProvider

        return SandboxProvider(Path(config.provider.path))
    from ctconfig.providers.clevertap import ClevertapProvider

    return ClevertapProvider(config.provider, os.environ)
