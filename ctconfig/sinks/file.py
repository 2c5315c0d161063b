"""The `file` sink: one 0600 file per passcode at `DIR/<account>/<name>`, in 0700 directories."""

from __future__ import annotations

import os
from pathlib import Path

from ctconfig.files import write_atomically
from ctconfig.secrets import Secret
from ctconfig.sinks.base import SecretRef, SinkError
from ctconfig.sinks.slots import safe_component


class FileSink:
    """One file per passcode at `DIR/<account>/<name>`, 0600 inside 0700 directories."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, ref: SecretRef) -> Path:
        """The file that holds `ref`'s secret."""
        return self.directory / safe_component(ref.account) / safe_component(ref.name)

    def store(self, ref: SecretRef, secret: Secret) -> str:
        path = self.path_for(ref)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.directory, 0o700)
            path.parent.mkdir(exist_ok=True, mode=0o700)
            os.chmod(path.parent, 0o700)
            write_atomically(path, (secret.reveal() + "\n").encode(), mode=0o600)
        except OSError as exc:
            raise SinkError(f"could not write the secret file {path}: {exc.strerror or exc}") from None
        return f"file {path}"

    def read(self, ref: SecretRef) -> Secret | None:
        try:
            return Secret(self.path_for(ref).read_text(encoding="utf-8").strip())
        except OSError:
            return None
