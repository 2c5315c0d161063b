"""Secret sinks: where a newly issued secret goes, and where `verify` reads it back.

`open_sink` turns the config's `secrets:` section into a sink; each sink lives
in its own module and is imported only when the config names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ctconfig.sinks.base import SecretRef, SecretSink, SinkError

if TYPE_CHECKING:
    from ctconfig.config.spec import SecretsConfig

__all__ = ["SecretRef", "SecretSink", "SinkError", "open_sink"]


def open_sink(config: SecretsConfig) -> SecretSink:
    """The sink the config names (paths relative to the working directory)."""
    if config.sink == "file":
        from ctconfig.sinks.file import FileSink

        return FileSink(Path(config.path))
    if config.sink == "env-file":
        from ctconfig.sinks.env_file import EnvFileSink

        return EnvFileSink(Path(config.path))
    from ctconfig.sinks.command import CommandSink

    return CommandSink(config.command)
