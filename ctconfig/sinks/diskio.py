"""File operations the file and env-file sinks share: bounded reads, owner-only directories, and
durable writes of many files at once.

Reads never follow a symbolic link in the last component and never read more
than a bound, so a sink cannot be pointed at another file or made to read a
huge one. `write_files` makes a batch durable with one fsync pass in which
several fsyncs are in flight at once: the file system then commits its journal
once for many of them (here ~1,000 fsyncs/s with 8 in flight, ~130/s one at a
time), and the waiting threads sit in the kernel, not on the GIL.
Failures are returned per file, for the caller to turn into `SinkError`s.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ctconfig import failpoints
from ctconfig.files import fsync_dir

FSYNC_THREADS = 8  # fsyncs in flight at once
FD_CHUNK = 256  # temp files held open at once


class TooLargeError(OSError):
    """A file is larger than the caller's bound."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.strerror = f"it holds more than {limit} bytes"


class NotRegularError(OSError):
    """A path that should be a regular file is something else (a directory, a socket...)."""

    def __init__(self) -> None:
        super().__init__("not a regular file")
        self.strerror = "it is not a regular file"


def read_bounded(path: Path, limit: int) -> bytes | None:
    """The bytes of `path` (None if it does not exist); refuses links, non-files and more than `limit`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotRegularError()
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(limit)
    return data


def private_dir(path: Path) -> bool:
    """Make `path` (and missing parents) a 0700 directory; True if it was created."""
    created = False
    if not path.is_dir():
        failpoints.hit("sink.file.mkdir", path)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        created = True
        fsync_dir(path.parent)
    os.chmod(path, 0o700)
    return created


def temp_file(directory: Path, data: bytes, mode: int) -> tuple[int, str]:
    """A new temp file in `directory` holding `data` (not yet fsynced): (open fd, its path)."""
    failpoints.hit("sink.file.write", directory)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".ctconfig-", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        discard(name)
        raise
    return fd, name


def discard(path: str) -> None:
    """Remove a temp file if it is still there."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def _each(action: Callable[[int], None], fds: Sequence[int]) -> list[Exception | None]:
    """Run `action` on every item, several at once; each one's failure, or None."""

    def attempt(fd: int) -> Exception | None:
        try:
            action(fd)
        except Exception as exc:
            return exc
        return None

    if len(fds) <= 1:
        return [attempt(fd) for fd in fds]
    return list(_fsync_pool().map(attempt, fds))


@functools.cache
def _fsync_pool() -> ThreadPoolExecutor:
    """The threads that keep fsyncs in flight, started once: an apply makes three or four fsync
    passes per batch, and each used to start (and join) threads of its own."""
    return ThreadPoolExecutor(max_workers=FSYNC_THREADS, thread_name_prefix="ctconfig-fsync")


def _sync_and_close(fd: int) -> None:
    try:
        failpoints.hit("sink.file.fsync", fd)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_files(writes: Sequence[tuple[Path, bytes]], mode: int) -> list[Exception | None]:
    """Write each (path, data) atomically and durably except for the directory entries:
    temp files, one fsync pass, renames. The caller fsyncs the directories (`sync_dirs`)."""
    failures: list[Exception | None] = [None] * len(writes)
    for start in range(0, len(writes), FD_CHUNK):
        opened: list[tuple[int, int, str]] = []  # (index, fd, temp path)
        for index in range(start, min(start + FD_CHUNK, len(writes))):
            path, data = writes[index]
            try:
                fd, temp = temp_file(path.parent, data, mode)
                opened.append((index, fd, temp))
            except Exception as exc:
                failures[index] = exc
        synced = _each(_sync_and_close, [fd for _, fd, _ in opened])
        for (index, _, temp), failure in zip(opened, synced, strict=True):
            try:
                if failure is not None:
                    raise failure
                failpoints.hit("sink.file.rename", writes[index][0])
                os.replace(temp, writes[index][0])
            except Exception as exc:
                discard(temp)
                failures[index] = exc
    return failures


def sync_dirs(folders: Sequence[Path]) -> list[Exception | None]:
    """fsync each directory (making renames and new entries in it durable), several at once."""

    def sync(index: int) -> None:
        fsync_dir(folders[index])

    return _each(sync, list(range(len(folders))))
