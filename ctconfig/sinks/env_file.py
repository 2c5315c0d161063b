"""The `env-file` sink: `CT_<ACCOUNT>_<NAME>=secret` lines in one 0600 file."""

from __future__ import annotations

import threading
from pathlib import Path

from ctconfig.files import write_atomically
from ctconfig.secrets import Secret
from ctconfig.sinks.base import SecretRef, SinkError


class EnvFileSink:
    """`CT_<ACCOUNT>_<NAME>=secret` lines in one 0600 file, rewritten atomically.

    The applier may store secrets from worker threads; the lock keeps one
    store's read-modify-write from overwriting another's line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def store(self, ref: SecretRef, secret: Secret) -> str:
        key = ref.env_name
        with self._lock:
            lines = [line for line in self._lines() if not line.startswith(key + "=")]
            lines.append(f"{key}={secret.reveal()}")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                write_atomically(self.path, ("\n".join(lines) + "\n").encode(), mode=0o600)
            except OSError as exc:
                raise SinkError(f"could not write the env file {self.path}: {exc.strerror or exc}") from None
        return f"env-file {self.path} ({key})"

    def read(self, ref: SecretRef) -> Secret | None:
        prefix = ref.env_name + "="
        for line in self._lines():
            if line.startswith(prefix):
                return Secret(line[len(prefix) :])
        return None
