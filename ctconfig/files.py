"""Durable, private file writes, in one place: atomic replace, directory fsync, owner-only modes.

State files, journals and secret files all need the same two guarantees: a
reader sees the old content or the new, never half; and once the call returns,
a power loss cannot undo it. Both come from a temp file in the same directory,
fsync, rename, and an fsync of the directory.

They also hold what others on the machine must not read (secrets, and state
that names every managed passcode): every file ctconfig writes here is 0600
from its first byte, and every directory it creates for them 0700. A directory
that already exists keeps its mode: it may be shared (the system's temporary
directory, with its sticky bit) and is the operator's to set.
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


PRIVATE_FILE = 0o600
"""The mode of every file ctconfig writes beside its state or secrets."""

PRIVATE_DIRECTORY = 0o700
"""The mode of every directory ctconfig creates for them."""


def make_private_dirs(path: Path) -> None:
    """Create `path` and each missing parent with mode 0700; a directory that exists is left as it is."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIRECTORY)
        except FileExistsError:
            if not directory.is_dir():  # a file (or a dangling link) where a directory belongs
                raise
            # made by another process meanwhile: its mode is its maker's


def write_atomically(
    path: Path, data: bytes, *, mode: int = PRIVATE_FILE, sync_dir: bool = False
) -> None:
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
