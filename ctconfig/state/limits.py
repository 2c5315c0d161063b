"""Bounds on what a state backend reads, and reading files beside the state without following links.

Every backend refuses a state document larger than `MAX_STATE_BYTES` before
parsing it (and refuses to write one, since it could not be read back), and a
lock record larger than `MAX_LOCK_BYTES`. 64 MiB is about a hundred times the
state of 100 accounts with 100 passcodes each; anything larger is not ctconfig's.

What those bytes may become is bounded too, before anything is validated
(`jsonshape`): the shapes below, and `document.STATE_SHAPE`, say how wide and
deep each kind of document ctconfig keeps may be.

Files beside local state (the state, `.backup`, `.history/`, `.lock`,
`.journal`) are never reached through a symbolic link: a link planted there
could make ctconfig read or write a file elsewhere.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ctconfig.jsonshape import Shape
from ctconfig.state.document import MAX_RECORD_MEMBERS, MAX_RESOURCES, STATE_SHAPE, StateError

MAX_STATE_BYTES = 64 * 1024 * 1024
"""The largest state document any backend reads or writes."""

MAX_LOCK_BYTES = 64 * 1024
"""The largest lock owner record a backend reads (ctconfig's own are a few hundred bytes)."""


MAX_AUDIT_ACTIONS = 2 * MAX_RESOURCES
"""The most actions one audit record lists (an apply touching every resource, rotations twice)."""

LOCK_SHAPE = Shape("lock record", widths=(16,), max_values=4096)
"""A lock owner record (ctconfig's, or Terraform's lock info): one flat object. The count includes
punctuation inside its strings (Terraform's `Info` is free text), hence room to spare."""

AUDIT_SHAPE = Shape(
    "audit record",
    widths=(16, MAX_AUDIT_ACTIONS, 16),
    max_values=10 * MAX_AUDIT_ACTIONS,
    max_containers=2 * MAX_AUDIT_ACTIONS,
)
"""Who wrote a state version: a few fields and the list of actions, each a small object."""

STATE_WITH_AUDIT_SHAPE = Shape(
    "state document",
    widths=(17, MAX_RESOURCES, MAX_RECORD_MEMBERS, MAX_AUDIT_ACTIONS, 16),
    max_values=STATE_SHAPE.max_values + AUDIT_SHAPE.max_values,
    max_containers=(STATE_SHAPE.max_containers or 0) + MAX_AUDIT_ACTIONS + 4,
)
"""A state document with its audit record under one more key (the `http` backend's)."""

HISTORY_RECORD_SHAPE = Shape(
    "state history record",
    widths=(8, 16, MAX_AUDIT_ACTIONS, MAX_RECORD_MEMBERS, MAX_RECORD_MEMBERS),
    max_values=STATE_WITH_AUDIT_SHAPE.max_values,
    max_containers=STATE_WITH_AUDIT_SHAPE.max_containers,
)
"""A kept version beside its audit record, one level down (the `s3` backend's history objects)."""


class StateTooLargeError(StateError):
    """A state document (or lock record) is larger than ctconfig reads."""


class SymlinkRefusedError(StateError):
    """A file beside the state is a symbolic link; ctconfig refuses to follow it."""


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def check_size(size: int, limit: int, source: str, what: str) -> None:
    """Refuse `what` read from `source` once it is known to hold more than `limit` bytes."""
    if size > limit:
        raise StateTooLargeError(
            f"{source}: the {what} is {size} bytes or more, more than the {_mib(limit)} "
            "ctconfig reads; it is not ctconfig's"
        )


def check_state_size(size: int, source: str) -> None:
    """Refuse a stored state document of `size` bytes before it is read or parsed."""
    if size > MAX_STATE_BYTES:
        raise StateTooLargeError(
            f"{source}: the state document is {size} bytes, more than the {_mib(MAX_STATE_BYTES)} "
            "ctconfig reads; it is not a ctconfig state"
        )


def check_state_to_write(size: int, destination: str) -> None:
    """Refuse to store a document that could not be read back."""
    if size > MAX_STATE_BYTES:
        raise StateTooLargeError(
            f"refusing to write {size} bytes of state to {destination}: more than the "
            f"{_mib(MAX_STATE_BYTES)} ctconfig can read back"
        )


def symlink_refused(path: Path, what: str) -> SymlinkRefusedError:
    """The one-line refusal for a link where a regular file (or directory) belongs."""
    return SymlinkRefusedError(
        f"refusing to use {what} {path}: it is a symbolic link, and ctconfig never follows links "
        "beside its state; replace it with a regular file, or point state.path at the real location"
    )


def refuse_symlink(path: Path, what: str) -> None:
    """Raise SymlinkRefusedError if `path` itself (not its parents) is a symbolic link."""
    if path.is_symlink():
        raise symlink_refused(path, what)


def read_regular_file(path: Path, limit: int, what: str) -> bytes | None:
    """The bytes of a regular file, None if it does not exist.

    Refuses a symbolic link (O_NOFOLLOW), anything but a regular file (a FIFO
    would block), and a file larger than `limit`, before reading it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise symlink_refused(path, what) from None
        raise StateError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StateError(f"{what} {path} is not a regular file; refusing to read it")
        if info.st_size > limit:
            raise StateTooLargeError(
                f"{path}: the {what} is {info.st_size} bytes, more than the {_mib(limit)} "
                "ctconfig reads; it is not ctconfig's"
            )
        return _read_at_most(fd, limit, path, what)
    except OSError as exc:
        raise StateError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _read_at_most(fd: int, limit: int, path: Path, what: str) -> bytes:
    """Read to the end, refusing a file that grew past `limit` while being read."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, 1024 * 1024)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise StateTooLargeError(
                f"{path}: the {what} grew past the {_mib(limit)} ctconfig reads while being read"
            )
        chunks.append(chunk)
