"""File operations the file and env-file sinks share: bounded reads, owner-only directories, and
durable writes of many files at once.

Reads never follow a symbolic link in the last component and never read more
than a bound, so a sink cannot be pointed at another file or made to read a
huge one. `write_files` makes a batch durable with one fsync pass in which
several fsyncs are in flight at once: the file system then commits its journal
once for many of them (here ~1,000 fsyncs/s with 8 in flight, ~130/s one at a
time), and the waiting threads sit in the kernel, not on the GIL.
Failures are returned per file, for the caller to turn into `SinkError`s.
`directory_problem` and `target_problem` are the sinks' preflight: they only look.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import itertools
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
TORN_TAIL_BYTES = 64 * 1024  # far longer than one appended line


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


def read_bounded_from(path: Path, offset: int, limit: int) -> bytes | None:
    """The bytes of `path` from `offset` on (None if it does not exist); refuses links, non-files and
    a file longer than `limit` in all."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        seen = os.fstat(handle.fileno())
        if not stat.S_ISREG(seen.st_mode):
            raise NotRegularError()
        if seen.st_size > limit:
            raise TooLargeError(limit)
        handle.seek(offset)
        data = handle.read(limit + 1 - offset)
    if offset + len(data) > limit:
        raise TooLargeError(limit)
    return data


def append_line(path: Path, data: bytes, *, durable: bool) -> os.stat_result:
    """Append `data` (whole lines) to `path` (made 0600 if new), never through a link; a torn last
    line (a crash mid-append) is cut off first, so every line in the file is one that was written whole.
    `durable`: fdatasync before returning (else the caller's `syncfs` makes it durable). Returns the
    file's status after the append."""
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    fd = os.open(path, flags, 0o600)
    try:
        seen = os.fstat(fd)
        if not stat.S_ISREG(seen.st_mode):
            raise NotRegularError()
        if seen.st_size and os.pread(fd, 1, seen.st_size - 1) != b"\n":
            start = max(0, seen.st_size - TORN_TAIL_BYTES)
            tail = os.pread(fd, seen.st_size - start, start)
            os.ftruncate(fd, start + tail.rfind(b"\n") + 1 if b"\n" in tail else start)
        view = memoryview(data)
        failpoints.hit("sink.file.append", path)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            failpoints.hit("sink.file.fdatasync", path)
            os.fdatasync(fd)
        return os.fstat(fd)
    finally:
        os.close(fd)


def directory_problem(path: Path) -> str | None:
    """Why this process could not write files in directory `path` (making it and its missing
    parents, then setting it to 0700), or None. Looks only: it creates and changes nothing.

    The nearest existing ancestor decides: it must be a directory this process may write in (a
    read-only mount says so too), and an existing `path` must be this process's own (or the
    process is root), since the sink sets its mode.
    """
    probe = path
    while True:
        try:
            found = os.stat(probe)
            break
        except (FileNotFoundError, NotADirectoryError):  # missing, or below a file: look further up
            if probe.parent == probe:
                return f"{probe} does not exist"
            probe = probe.parent
        except OSError as exc:
            return f"{probe}: {exc.strerror or type(exc).__name__}"
        except ValueError:  # a NUL in the path
            return f"{path!r} is not a path the system can use"
    if not stat.S_ISDIR(found.st_mode):
        return f"{probe} is not a directory"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    euid = os.geteuid()
    if probe == path and euid != 0 and found.st_uid != euid:
        return f"{probe} belongs to another user (uid {found.st_uid})"
    return None


def target_problem(path: Path) -> str | None:
    """Why an existing file at `path` could not be replaced with a sink's file, or None (absent
    or fine). A link, a directory or a file this process may not write is not a sink's to replace."""
    try:
        found = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return f"{path}: {exc.strerror or type(exc).__name__}"
    except ValueError:
        return f"{path!r} is not a path the system can use"
    if not stat.S_ISREG(found.st_mode):
        return f"{path} is not a regular file"
    if not os.access(path, os.W_OK):
        return f"{path} is not writable"
    return None


def private_dir(path: Path, *, durable: bool = True) -> bool:
    """Make `path` (and missing parents) a 0700 directory; True if it was created.

    Only a directory made here is set to 0700 (past the umask); an existing
    one keeps its mode, whatever it is: it may be shared on purpose (a sink
    under the system's temporary directory must keep its sticky bit).
    `durable=False` leaves the new entry's fsync to the caller (`syncfs`).
    """
    if path.is_dir():
        return False
    missing = [path, *(parent for parent in path.parents if not parent.exists())]
    failpoints.hit("sink.file.mkdir", path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for made in missing:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(made, 0o700)
    if durable:
        fsync_dir(path.parent)
    return True


@functools.cache
def _syncfs_call() -> Callable[[int], int] | None:
    """libc's syncfs(2), where the system has it (Linux); None elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return call


def can_syncfs() -> bool:
    """True when `syncfs` can make a whole batch durable with one call."""
    return _syncfs_call() is not None


def syncfs(path: Path) -> None:
    """Make every write to the file system holding `path` durable (one journal commit on ext4).

    A batch of secrets written without an fsync each is made durable by one
    call: the file system commits all of it at once, where one fsync per file
    waits for a commit per file. Raises OSError (since Linux 5.8, a write-back
    error since the last call is reported here).
    """
    call = _syncfs_call()
    if call is None:
        raise OSError(errno.ENOSYS, "syncfs is not available on this system")
    failpoints.hit("sink.file.syncfs", path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if call(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    finally:
        os.close(fd)


_TEMP_NAMES = itertools.count()
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def temp_file(directory: str | Path, data: bytes, mode: int) -> tuple[int, str]:
    """A new temp file in `directory` holding `data` (not yet fsynced): (open fd, its path).

    Named by process and counter (`.ctconfig-PID-N.tmp`), created exclusively with `mode`
    from the start; a name someone else took falls back to `mkstemp`'s random names.
    """
    failpoints.hit("sink.file.write", directory)
    name = os.path.join(directory, f".ctconfig-{os.getpid()}-{next(_TEMP_NAMES)}.tmp")
    try:
        fd = os.open(name, _TEMP_FLAGS, mode)
    except FileExistsError:
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


def write_files(
    writes: Sequence[tuple[str | Path, bytes]], mode: int, *, fsync: bool = True
) -> list[Exception | None]:
    """Write each (path, data) atomically and durably except for the directory entries:
    temp files, one fsync pass, renames. The caller fsyncs the directories (`sync_dirs`).
    `fsync=False` skips the fsync pass: the caller makes the batch durable with `syncfs`."""
    failures: list[Exception | None] = [None] * len(writes)
    for start in range(0, len(writes), FD_CHUNK):
        opened: list[tuple[int, int, str]] = []  # (index, fd, temp path)
        for index in range(start, min(start + FD_CHUNK, len(writes))):
            path, data = writes[index]
            try:
                fd, temp = temp_file(os.path.dirname(path), data, mode)
                opened.append((index, fd, temp))
            except Exception as exc:
                failures[index] = exc
        synced = _each(_sync_and_close, [fd for _, fd, _ in opened]) if fsync else _close_all(opened)
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


def _close_all(opened: Sequence[tuple[int, int, str]]) -> list[Exception | None]:
    """Close each temp file (no fsync): each one's failure, or None."""
    failures: list[Exception | None] = []
    for _, fd, _ in opened:
        try:
            os.close(fd)
        except OSError as exc:
            failures.append(exc)
        else:
            failures.append(None)
    return failures


def sync_dirs(folders: Sequence[Path]) -> list[Exception | None]:
    """fsync each directory (making renames and new entries in it durable), several at once."""

    def sync(index: int) -> None:
        fsync_dir(folders[index])

    return _each(sync, list(range(len(folders))))
