"""Secret sinks: where a newly issued secret goes, and where `verify` reads it back.

`open_sink` turns the config's `secrets:` section into a sink; each sink lives
in its own module and is imported only when the config names it. The
protocol (`SecretSink`) is in `base.py`; the slot each sink gives an address
is in `slots.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ctconfig.sinks.base import MovesSecrets, SecretRef, SecretSink, SinkError, StoreOutcome

if TYPE_CHECKING:
    from ctconfig.config.spec import SecretsConfig

__all__ = ["MovesSecrets", "SecretRef", "SecretSink", "SinkError", "StoreOutcome", "open_sink"]


def open_sink(config: SecretsConfig) -> SecretSink:
    """The sink the config names (paths relative to the working directory); `SinkError` if it
    cannot be set up (e.g. boto3 missing for an AWS sink)."""
    if config.sink == "file":
        from ctconfig.sinks.file import FileSink

        return FileSink(Path(config.path))
    if config.sink == "env-file":
        from ctconfig.sinks.env_file import EnvFileSink

        return EnvFileSink(Path(config.path))
    if config.sink == "aws-secrets-manager":
        from ctconfig.sinks.aws_secrets_manager import AwsSecretsManagerSink

        return AwsSecretsManagerSink.from_config(config)
    if config.sink == "aws-ssm":
        from ctconfig.sinks.aws_ssm import AwsSsmSink

        return AwsSsmSink.from_config(config)
    from ctconfig.sinks.command import CommandSink

    return CommandSink(config.command)
