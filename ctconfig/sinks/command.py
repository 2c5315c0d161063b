"""The `command` sink: the secret piped on stdin to a user command (a secret manager's CLI).

The command runs once per secret, with `CTCONFIG_ADDRESS`, `CTCONFIG_ACCOUNT`,
`CTCONFIG_ACCOUNT_ID`, `CTCONFIG_NAME` and `CTCONFIG_SECRET_NAME` (the slot,
e.g. `CT_PROD_SEGMENT_EXPORT`) in its environment. A non-zero exit is a
failure; the last line the command wrote to stderr (secret removed) is the
reason. The command owns its store, so it is the command that must refuse to
overwrite a slot holding another address's secret: the recipes in
`examples/secret-recipes/` record `CTCONFIG_ADDRESS` beside each secret and
check it. This sink cannot give secrets back.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from typing import IO

from ctconfig import failpoints
from ctconfig.secrets import REDACTED, Secret
from ctconfig.sinks.base import SecretRef, SinkError, StoreOutcome, as_sink_error, secret_bytes, store_one

COMMAND_TIMEOUT = 60.0
SHELLS = frozenset({"sh", "bash", "dash", "ksh", "zsh"})
SHELL_WORDS = frozenset(
    {
        *("!", ".", ":", "{", "alias", "break", "case", "cd", "command", "continue", "echo", "eval"),
        *("exec", "exit", "export", "false", "for", "getopts", "if", "printf", "pwd", "read"),
        *("readonly", "return", "set", "shift", "test", "trap", "true", "type", "ulimit", "umask"),
        *("unset", "until", "wait", "while"),
    }
)
"""What a shell string may start with that is not a program on PATH (built-ins and keywords)."""
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_UNRESOLVED = frozenset("$`*?[~();<>|&")  # a word only the shell can resolve (or not a word)
STDERR_TAIL = 4096  # bytes of the command's stderr kept to explain a failure
REASON_MAX = 200


class CommandSink:
    """Pipe each secret on stdin to a user command (e.g. a secret manager's CLI), one process each."""

    can_read_back = False

    def __init__(self, command: str | list[str], timeout: float = COMMAND_TIMEOUT) -> None:
        self.command = command
        self.timeout = timeout

    def describe(self) -> str:
        return f"command sink ({self._program()})"

    def location(self, ref: SecretRef) -> str:
        return f"command sink ({ref.env_name})"

    def preflight(self, refs: Sequence[SecretRef]) -> None:
        """The program exists and is executable (and a shell's script file exists); never runs it."""
        words = self._words()
        if not words:
            return
        program = words[0]
        if not shutil.which(program) and not (isinstance(self.command, str) and program in SHELL_WORDS):
            raise SinkError(f"the secret command {program!r} was not found or is not executable")
        script = words[1] if len(words) > 1 and os.path.basename(program) in SHELLS else ""
        readable = os.path.isfile(script) and os.access(script, os.R_OK)
        if script and not script.startswith("-") and not readable:
            raise SinkError(f"the secret command's script {script!r} was not found or is not readable")

    def _words(self) -> list[str]:
        """The program and its arguments as far as they can be told without running anything: a
        list as it is; a shell string's first words after any `NAME=value` (none if unparsable)."""
        if isinstance(self.command, list):
            return self.command
        lexer = shlex.shlex(self.command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            words = list(lexer)
        except ValueError:
            return []  # the shell will say what is wrong with it
        while words and _ASSIGNMENT.match(words[0]):
            words = words[1:]
        checkable = [w for w in words[:2] if not set(w) & _UNRESOLVED]
        return checkable if checkable[:1] == words[:1] else []

    def store(self, ref: SecretRef, secret: Secret) -> str:
        return store_one(self, ref, secret)

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        outcomes = []
        for ref, secret in items:
            try:
                self._run(ref, secret)
                outcomes.append(StoreOutcome(ref, where=self.location(ref)))
            except Exception as exc:
                error = as_sink_error(exc, f"secret command {self._program()} for {ref.env_name}", secret)
                outcomes.append(StoreOutcome(ref, error=error))
        return outcomes

    def read(self, ref: SecretRef) -> Secret | None:
        return None

    def _program(self) -> str:
        return self.command[0] if isinstance(self.command, list) else self.command.split(None, 1)[0]

    def _run(self, ref: SecretRef, secret: Secret) -> None:
        data = secret_bytes(secret, self.location(ref))
        env = {
            **os.environ,
            "CTCONFIG_ADDRESS": str(ref.address),
            "CTCONFIG_ACCOUNT": ref.account,
            "CTCONFIG_ACCOUNT_ID": ref.account_id,
            "CTCONFIG_NAME": ref.name,
            "CTCONFIG_SECRET_NAME": ref.env_name,
        }
        with tempfile.TemporaryFile() as errors:
            try:
                failpoints.hit("sink.command.run", ref.address)
                done = subprocess.run(
                    self.command,
                    shell=isinstance(self.command, str),
                    input=data,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    timeout=self.timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise SinkError(
                    f"secret command {self._program()} for {ref.env_name} did not finish in {self.timeout:g}s"
                ) from None
            if done.returncode != 0:
                reason = _last_line(errors, secret)
                raise SinkError(
                    f"secret command {self._program()} for {ref.env_name} exited with status "
                    f"{done.returncode}" + (f": {reason}" if reason else "")
                )


def _last_line(handle: IO[bytes], secret: Secret) -> str:
    """The command's last stderr line, secret removed and shortened."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - STDERR_TAIL))
    tail = handle.read().decode("utf-8", "replace")
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1].replace(secret.reveal(), REDACTED)[:REASON_MAX]
