"""Secrets: a wrapper that will not print itself, fingerprints, and sinks.

A secret leaves the provider as a `Secret`, goes to exactly one sink, and
leaves only its fingerprint behind. `str()` and `repr()` of a `Secret` are
redacted so that an accidental f-string or traceback cannot leak it.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ctconfig.errors import CtconfigError

if TYPE_CHECKING:
    from ctconfig.config.models import SecretsConfig

REDACTED = "<redacted>"


class Secret:
    """A secret value that redacts itself everywhere except `reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain secret: only sinks and the HTTP layer call this."""
        return self._value

    def fingerprint(self) -> str:
        """`sha256:` and 12 hex digits: enough to tell secrets apart, useless to an attacker."""
        return fingerprint(self._value)

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def fingerprint(value: str) -> str:
    """The fingerprint recorded in state for a secret value."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


# --- sinks -----------------------------------------------------------------
# A newly issued account passcode secret goes to exactly one sink. A sink that
# fails raises SinkError; the applier then records the passcode as tainted so
# the next plan replaces it: a secret is never dropped silently.

COMMAND_TIMEOUT = 60.0


class SinkError(CtconfigError):
    """The secret sink refused or failed; the message never contains the secret."""


@dataclass(frozen=True)
class SecretRef:
    """Which passcode a secret belongs to."""

    address: str
    account: str  # alias
    account_id: str
    name: str

    @property
    def env_name(self) -> str:
        """`CT_PROD_SEGMENT_EXPORT`: a shell-safe variable name for this passcode."""
        raw = f"CT_{self.account}_{self.name}".upper()
        return re.sub(r"[^A-Z0-9_]", "_", raw)


class SecretSink(Protocol):
    """Where new secrets go. `read` serves `ctconfig verify` where the sink can give them back."""

    def store(self, ref: SecretRef, secret: Secret) -> str:
        """Deliver the secret; return where it went, in words (no secret)."""
        ...

    def read(self, ref: SecretRef) -> Secret | None:
        """The stored secret, or None if this sink cannot give it back or has none."""
        ...


def _safe_component(text: str) -> str:
    cleaned = re.sub(r"[\x00-\x1f/\\]", "_", text)
    return "_" + cleaned if cleaned in ("", ".", "..") else cleaned


def _write_private(path: Path, content: str) -> None:
    """Atomically write `content` to `path` with mode 0600 (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", text=True)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FileSink:
    """One file per passcode at `DIR/<account>/<name>`, 0600 inside 0700 directories."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, ref: SecretRef) -> Path:
        return self.directory / _safe_component(ref.account) / _safe_component(ref.name)

    def store(self, ref: SecretRef, secret: Secret) -> str:
        path = self.path_for(ref)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.directory, 0o700)
            path.parent.mkdir(exist_ok=True, mode=0o700)
            os.chmod(path.parent, 0o700)
            _write_private(path, secret.reveal() + "\n")
        except OSError as exc:
            raise SinkError(f"could not write the secret file {path}: {exc.strerror or exc}") from None
        return f"file {path}"

    def read(self, ref: SecretRef) -> Secret | None:
        try:
            return Secret(self.path_for(ref).read_text(encoding="utf-8").strip())
        except OSError:
            return None


class EnvFileSink:
    """`CT_<ACCOUNT>_<NAME>=secret` lines in one 0600 file, rewritten atomically.

    The applier stores secrets from worker threads; the lock keeps one store's
    read-modify-write from overwriting another's line.
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
                _write_private(self.path, "\n".join(lines) + "\n")
            except OSError as exc:
                raise SinkError(f"could not write the env file {self.path}: {exc.strerror or exc}") from None
        return f"env-file {self.path} ({key})"

    def read(self, ref: SecretRef) -> Secret | None:
        prefix = ref.env_name + "="
        for line in self._lines():
            if line.startswith(prefix):
                return Secret(line[len(prefix) :])
        return None


class CommandSink:
    """Pipe the secret on stdin to a user command (e.g. a secret manager's CLI).

    The command gets `CTCONFIG_ADDRESS`, `CTCONFIG_ACCOUNT`, `CTCONFIG_ACCOUNT_ID`,
    `CTCONFIG_NAME` and `CTCONFIG_SECRET_NAME` in its environment. A non-zero
    exit is a failure.
    """

    def __init__(self, command: str | list[str]) -> None:
        self.command = command

    def store(self, ref: SecretRef, secret: Secret) -> str:
        env = {
            **os.environ,
            "CTCONFIG_ADDRESS": ref.address,
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


def open_sink(config: SecretsConfig) -> SecretSink:
    """The sink the config names (paths relative to the working directory)."""
    if config.sink == "file":
        return FileSink(Path(config.path))
    if config.sink == "env-file":
        return EnvFileSink(Path(config.path))
    return CommandSink(config.command)
