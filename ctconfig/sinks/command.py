"""The `command` sink: the secret piped on stdin to a user command (a secret manager's CLI)."""

from __future__ import annotations

import os
import subprocess

from ctconfig.secrets import REDACTED, Secret
from ctconfig.sinks.base import SecretRef, SinkError

COMMAND_TIMEOUT = 60.0


class CommandSink:
    """Pipe the secret on stdin to a user command (e.g. a secret manager's CLI).

    The command gets `CTCONFIG_ADDRESS`, `CTCONFIG_ACCOUNT`, `CTCONFIG_ACCOUNT_ID`,
    `CTCONFIG_NAME` and `CTCONFIG_SECRET_NAME` in its environment. A non-zero
    exit is a failure. It cannot give secrets back.
    """

    def __init__(self, command: str | list[str]) -> None:
        self.command = command

    def store(self, ref: SecretRef, secret: Secret) -> str:
        env = {
            **os.environ,
            "CTCONFIG_ADDRESS": str(ref.address),
            "CTCONFIG_ACCOUNT": ref.account,
            "CTCONFIG_ACCOUNT_ID": ref.account_id,
            "CTCONFIG_NAME": ref.name,
            "CTCONFIG_SECRET_NAME": ref.env_name,
        }
        shell = isinstance(self.command, str)
        try:
            done = subprocess.run(
                self.command,
                shell=shell,
                input=secret.reveal(),
                env=env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SinkError(f"secret command failed to run: {type(exc).__name__}") from None
        if done.returncode != 0:
            detail = (done.stderr or "").strip().splitlines()[-1:] or [""]
            said = detail[0].replace(secret.reveal(), REDACTED)[:200]
            raise SinkError(
                f"secret command exited with status {done.returncode}" + (f": {said}" if said else "")
            )
        return "command sink"

    def read(self, ref: SecretRef) -> Secret | None:
        return None
