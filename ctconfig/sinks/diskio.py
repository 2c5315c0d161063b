"""Small file operations the file and env-file sinks share: bounded reads, owner-only directories.

Reads never follow a symbolic link in the last component and never read more
than a bound, so a sink cannot be pointed at another file or made to read a
huge one; each failure is an `OSError` the caller turns into a `SinkError`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from ctconfig.files import fsync_dir


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
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        created = True
        fsync_dir(path.parent)
    os.chmod(path, 0o700)
    return created


def temp_file(directory: Path, data: bytes, mode: int) -> tuple[int, str]:
    """A new temp file in `directory` holding `data` (not yet fsynced): (open fd, its path)."""
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
