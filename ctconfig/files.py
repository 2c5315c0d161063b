"""Durable file writes, in one place: atomic replace, directory fsync.

State files, journals and secret files all need the same two guarantees: a
reader sees the old content or the new, never half; and once the call returns,
a power loss cannot undo it. Both come from a temp file in the same directory,
fsync, rename, and an fsync of the directory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ctconfig import failpoints


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable."""
    failpoints.hit("files.fsync_dir", path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644, sync_dir: bool = False) -> None:
    """Temp file in the same directory, fsync, rename over `path`; no temp file survives.

    The temp file is created with `mode` before any byte is written, so a
    0600 secret file is never readable by others, even for a moment.
    """
    failpoints.hit("files.write", path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            failpoints.hit("files.fsync", path)
            os.fsync(handle.fileno())
        failpoints.hit("files.rename", path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync_dir:
        fsync_dir(path.parent)
