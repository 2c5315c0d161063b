"""Where an apply's write-ahead journal lives: beside the state, in the state's own store.

The journal holds intents (written before anything that makes a secret is sent)
and the outcome of every operation, so that a run killed at any moment can be
finished by the next run — on another machine too. It must therefore live where
the state lives: a file beside local state, a table in PostgreSQL, objects next to
the state in S3. A `JournalStore` only stores entries; `state.journal.Journal`
decides what they mean.

Entries are JSON objects. `append` makes a batch durable before it returns (a
crash keeps a prefix of the batch, never a torn entry); `entries` returns every
complete entry in append order.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ctconfig.files import fsync_dir
from ctconfig.state.document import StateError

MAX_JOURNAL_BYTES = 256 * 1024 * 1024
"""A journal larger than this is refused rather than read into memory."""


class JournalWriteError(StateError):
    """The journal could not be made durable: the apply must start nothing new.

    `where` names the store (a path, a table, a bucket key); `reason` the
    operating system's or server's words.
    """

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"cannot write the journal {where}: {reason}")
        self.where = where
        self.reason = reason


class JournalStore(Protocol):
    """Durable, append-only storage for journal entries."""

    def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Make `entries` durable, in order, before returning; JournalWriteError otherwise."""
        ...

    def entries(self) -> list[dict[str, Any]]:
        """Every complete entry, oldest first (a torn last entry is dropped); [] when empty."""
        ...

    def clear(self) -> None:
        """Remove every entry, once they are folded into a written state version."""
        ...

    def describe(self) -> str:
        """Where the journal lives, for messages: a path, `postgres:prod`, `s3://bucket/key`."""
        ...


def encode_entry(entry: Mapping[str, Any]) -> bytes:
    """One entry as one compact JSON line."""
    return (json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def decode_lines(raw: bytes, where: str) -> list[dict[str, Any]]:
    """Complete JSON lines of `raw`; a torn last line (no newline) is ignored."""
    lines = raw.split(b"\n")[:-1]  # every complete line ends with a newline
    out: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise StateError(f"journal {where} line {number} is corrupt: {exc}") from None
        if not isinstance(entry, dict):
            raise StateError(f"journal {where} line {number} is not a JSON object")
        out.append(entry)
    return out


class FileJournalStore:
    """JSON lines in one file, appended with O_APPEND and fdatasync; never through a symlink."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def describe(self) -> str:
        return str(self.path)

    def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        payload = b"".join(encode_entry(e) for e in entries)
        if not payload:
            return
        try:
            if self._fd is None:
                self._fd = self._open()
            os.write(self._fd, payload)
            os.fdatasync(self._fd)
        except OSError as exc:
            raise JournalWriteError(str(self.path), exc.strerror or str(exc)) from None

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists() or self.path.is_symlink()
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if self.path.is_symlink():
                raise JournalWriteError(
                    str(self.path), "it is a symbolic link; refusing to follow it"
                ) from None
            raise exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise JournalWriteError(str(self.path), "it is not a regular file")
        if not existed:
            fsync_dir(self.path.parent)
        return fd

    def entries(self) -> list[dict[str, Any]]:
        if self.path.is_symlink():
            raise StateError(f"journal {self.path} is a symbolic link; refusing to follow it")
        try:
            size = self.path.stat().st_size
            if size > MAX_JOURNAL_BYTES:
                raise StateError(
                    f"journal {self.path} is {size} bytes, more than the {MAX_JOURNAL_BYTES} a journal "
                    "can hold; it is not ctconfig's"
                )
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return decode_lines(raw, str(self.path))

    def clear(self) -> None:
        self.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(self.path.parent)

    def close(self) -> None:
        """Release the file descriptor (the entries stay)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
