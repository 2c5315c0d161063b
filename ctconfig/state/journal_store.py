"""Where an apply's write-ahead journal lives: beside the state, in the state's own store.

The journal holds intents (written before anything that makes a secret is sent)
and the outcome of every operation, so that a run killed at any moment can be
finished by the next run — on another machine too. It must therefore live where
the state lives: a file beside local state, a table in PostgreSQL, objects next to
the state in S3. A `JournalStore` only stores entries; `state.journal.Journal`
decides what they mean.

Entries are JSON objects. `append` makes a batch durable before it returns (a
crash keeps a prefix of the batch, never a torn entry); `entries` returns every
complete entry in append order; `replace` swaps every entry for new ones in one
atomic step (a crash leaves the old entries or the new, never neither), which
is how an apply's journal is compacted once its outcomes are in a written state.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson

from ctconfig import failpoints
from ctconfig.files import PRIVATE_FILE, fsync_dir, make_private_dirs, write_atomically
from ctconfig.jsonshape import Shape, ShapeError, parse_json
from ctconfig.state.document import MAX_RECORD_MEMBERS, StateError
from ctconfig.state.limits import read_regular_file

MAX_JOURNAL_BYTES = 256 * 1024 * 1024
"""A journal larger than this is refused rather than read into memory."""

MAX_JOURNAL_ENTRIES = 1_000_000
"""More entries than this (a hundred per resource of a 10,000-resource estate) is not a journal."""

MAX_ENTRY_BYTES = 64 * 1024
"""The longest journal entry (ctconfig's are a few hundred bytes: a record and its address)."""

ENTRY_SHAPE = Shape("journal entry", widths=(16, *(MAX_RECORD_MEMBERS,) * 3), max_values=4096)
"""An entry is one small object: ctconfig's nest two levels (a `record` entry holds one state
record); a store keeps up to four. Its ~30 keys and values leave room for the commas and brackets
a reason's text may hold (counted too); `MAX_ENTRY_BYTES` bounds a line's cost."""


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

    def replace(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Make `entries` the whole journal in one atomic step; JournalWriteError otherwise
        (and then the journal holds what it held before)."""
        ...

    def clear(self) -> None:
        """Remove every entry, once they are folded into a written state version."""
        ...

    def describe(self) -> str:
        """Where the journal lives, for messages: a path, `postgres:prod (table ctconfig.state_journal)`,
        `s3://bucket/key.journal/`."""
        ...


def encode_entry(entry: Mapping[str, Any]) -> bytes:
    """One entry as one compact JSON line, keys sorted (orjson: the bytes the standard library's
    compact form gives for the strings, integers and nested objects entries hold, ~5x faster)."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n"


def decode_entry(text: bytes | str, where: str, what: str) -> dict[str, Any]:
    """One journal entry (`what`: `line 7`, `entry 7`), refused in one line unless it is a
    JSON object of the shape ctconfig writes."""
    if len(text) > MAX_ENTRY_BYTES:
        raise StateError(
            f"journal {where} {what} is {len(text):,} bytes, more than the {MAX_ENTRY_BYTES:,} of "
            "any entry ctconfig writes"
        )
    try:
        entry = parse_json(text, ENTRY_SHAPE)
    except ShapeError as exc:
        raise StateError(f"journal {where} {what}: {exc}") from None
    if not isinstance(entry, dict):
        raise StateError(f"journal {where} {what} is not a JSON object")
    return entry


def decode_lines(raw: bytes, where: str) -> list[dict[str, Any]]:
    """Complete JSON lines of `raw`; a torn last line (no newline) is ignored."""
    count = raw.count(b"\n")
    if count > MAX_JOURNAL_ENTRIES:
        raise StateError(
            f"journal {where} holds {count:,} lines, more than the {MAX_JOURNAL_ENTRIES:,} entries "
            "a journal can hold; it is not ctconfig's"
        )
    lines = raw.split(b"\n")[:-1]  # every complete line ends with a newline
    return [decode_entry(line, where, f"line {number}") for number, line in enumerate(lines, start=1)]


def _write_all(fd: int, payload: bytes) -> None:
    """`os.write` until every byte is written: a file-size limit or a full disk writes short first."""
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


class FileJournalStore:
    """JSON lines in one 0600 file, appended with O_APPEND and fdatasync; never through a symlink.

    A batch that cannot be written whole (a full disk, a file-size limit) is cut
    back off, so the journal never ends in a torn batch the run goes on after.
    """

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
            fd = self._fd
            start = os.fstat(fd).st_size
        except OSError as exc:
            raise JournalWriteError(str(self.path), exc.strerror or str(exc)) from None
        try:
            failpoints.hit("journal.file.write", self.path)
            _write_all(fd, payload)
            failpoints.hit("journal.file.fdatasync", self.path)
            os.fdatasync(fd)
        except OSError as exc:
            # Leave no torn batch behind: the journal ends where it ended before this append.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise JournalWriteError(str(self.path), exc.strerror or str(exc)) from None
        failpoints.hit("journal.file.appended", self.path)

    def replace(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """A new file with `entries`, fsynced and renamed over the journal (then its directory synced)."""
        payload = b"".join(encode_entry(e) for e in entries)
        if not payload:
            self.clear()
            return
        self.close()  # later appends go to the new file, not the one it replaces
        try:
            make_private_dirs(self.path.parent)
            write_atomically(self.path, payload, sync_dir=True)
        except OSError as exc:
            raise JournalWriteError(str(self.path), exc.strerror or str(exc)) from None

    def _open(self) -> int:
        make_private_dirs(self.path.parent)
        existed = self.path.exists() or self.path.is_symlink()
        # O_NONBLOCK: a FIFO planted here fails at once instead of blocking the apply.
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(self.path, flags, PRIVATE_FILE)
        except OSError as exc:
            if self.path.is_symlink():
                raise JournalWriteError(
                    str(self.path),
                    "it is a symbolic link, and ctconfig never follows links beside its state",
                ) from None
            raise exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise JournalWriteError(str(self.path), "it is not a regular file")
        if not existed:
            fsync_dir(self.path.parent)
        return fd

    def entries(self) -> list[dict[str, Any]]:
        raw = read_regular_file(self.path, MAX_JOURNAL_BYTES, "journal")  # never through a link
        if raw is None:
            return []
        return decode_lines(raw, str(self.path))

    def clear(self) -> None:
        self.close()
        try:
            failpoints.hit("journal.file.unlink", self.path)
            self.path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(self.path.parent)

    def close(self) -> None:
        """Release the file descriptor (the entries stay)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
