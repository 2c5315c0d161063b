"""The `file` sink: one 0600 file per passcode at `DIR/<account>/<name>`, in 0700 directories.

A file holds exactly the secret (no newline), so `read` gives back exactly
what `store` was given. Which address owns each file is recorded beside the
account's directory in `DIR/.<account>~owners.json` (a name no account
directory can have), so a file that holds one address's secret is never
overwritten with another's. Files written before owners were recorded are
taken over by the first address whose slot they are.

`store_many` group-commits a batch: directories prepared once, owner records
written once per account, every temp file written, one fsync pass (several
in flight, so the file system commits its journal once for many), the
renames, and one fsync per directory.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ctconfig.files import fsync_dir, write_atomically
from ctconfig.redaction import remember_secret
from ctconfig.secrets import Secret
from ctconfig.sinks.base import (
    MAX_SECRET_BYTES,
    SecretRef,
    SinkError,
    StoreOutcome,
    as_sink_error,
    secret_bytes,
    store_one,
)
from ctconfig.sinks.diskio import discard, private_dir, read_bounded, temp_file
from ctconfig.sinks.slots import file_slot, owners_file, slot_key

MAX_OWNERS_BYTES = 1 << 20
FD_CHUNK = 256  # temp files held open at once while a batch is written
# fsyncs in flight at once: the file system commits its journal once for all of them (the
# threads wait in the kernel, not for the GIL); 8 gave ~1,000 fsyncs/s where one at a time gave ~130
FSYNC_THREADS = 8


@dataclass
class _Item:
    """One secret of a batch on its way to its file."""

    index: int
    ref: SecretRef
    file_name: str
    data: bytes
    temp: str = ""


class FileSink:
    """One file per passcode at `DIR/<account>/<name>`, 0600 inside 0700 directories."""

    can_read_back = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()  # guards the owner records

    def describe(self) -> str:
        return f"file sink {self.directory}"

    def path_for(self, ref: SecretRef) -> Path:
        """The file that holds `ref`'s secret."""
        account_dir, file_name = file_slot(ref.address)
        return self.directory / account_dir / file_name

    def location(self, ref: SecretRef) -> str:
        return f"file {self.path_for(ref)}"

    def preflight(self) -> None:
        try:
            private_dir(self.directory)
            if not os.access(self.directory, os.W_OK | os.X_OK):
                raise PermissionError(13, "Permission denied")
        except Exception as exc:
            raise as_sink_error(exc, f"cannot write secret files in {self.directory}") from None

    def store(self, ref: SecretRef, secret: Secret) -> str:
        return store_one(self, ref, secret)

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        outcomes: dict[int, StoreOutcome] = {}
        groups: dict[str, list[_Item]] = {}
        for index, (ref, secret) in enumerate(items):
            account_dir, file_name = file_slot(ref.address)
            try:
                data = secret_bytes(secret, self.location(ref))
            except SinkError as exc:
                outcomes[index] = StoreOutcome(ref, error=exc)
                continue
            groups.setdefault(account_dir, []).append(_Item(index, ref, file_name, data))
        try:
            private_dir(self.directory)
        except Exception as exc:
            error = as_sink_error(exc, f"could not prepare the secrets directory {self.directory}")
            for group in groups.values():
                outcomes.update({item.index: StoreOutcome(item.ref, error=error) for item in group})
            groups = {}
        for account_dir, group in groups.items():
            outcomes.update(self._store_group(account_dir, group))
        return [outcomes[index] for index in range(len(items))]

    def read(self, ref: SecretRef) -> Secret | None:
        account_dir, file_name = file_slot(ref.address)
        path = self.directory / account_dir / file_name
        try:
            owner = self._owners(account_dir).get(slot_key(file_name))
            if owner is not None and owner != str(ref.address):
                return None
            data = read_bounded(path, MAX_SECRET_BYTES + 1)
            if data is None:
                return None
            if owner is None and data.endswith(b"\n"):
                data = data[:-1]  # written before owners were recorded, with a newline after the secret
            if not data:
                return None
            value = data.decode("utf-8")
        except Exception as exc:
            raise as_sink_error(exc, f"could not read the secret file {path}") from None
        remember_secret(value)
        return Secret(value)

    # -- one account directory of a batch ----------------------------------------------------

    def _store_group(self, account_dir: str, group: list[_Item]) -> dict[int, StoreOutcome]:
        folder = self.directory / account_dir
        try:
            created = private_dir(folder)
            with self._lock:
                claimed, refused = self._claim(account_dir, group)
            if created:
                fsync_dir(self.directory)
        except Exception as exc:
            error = as_sink_error(exc, f"could not prepare {folder} for secrets")
            return {item.index: StoreOutcome(item.ref, error=error) for item in group}
        done = self._write(folder, claimed)
        return {**refused, **done}

    def _claim(self, account_dir: str, group: list[_Item]) -> tuple[list[_Item], dict[int, StoreOutcome]]:
        """Record each item's address as its file's owner; refuse files another address owns."""
        owners = self._owners(account_dir)
        before = dict(owners)
        claimed: list[_Item] = []
        refused: dict[int, StoreOutcome] = {}
        for item in group:
            address = str(item.ref.address)
            owner = owners.setdefault(slot_key(item.file_name), address)
            if owner == address:
                claimed.append(item)
                continue
            error = SinkError(
                f"{self.location(item.ref)} holds the secret of {owner}; refusing to overwrite it with "
                f"{address}'s (if {owner} is gone, remove the file and its entry in "
                f"{self.directory / owners_file(account_dir)})"
            )
            refused[item.index] = StoreOutcome(item.ref, error=error)
        if owners != before:
            document = {"format": 1, "owners": dict(sorted(owners.items()))}
            data = (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode()
            write_atomically(self.directory / owners_file(account_dir), data, mode=0o600, sync_dir=True)
        return claimed, refused

    def _owners(self, account_dir: str) -> dict[str, str]:
        """{slot key: address} recorded for `account_dir` (empty when nothing was recorded)."""
        path = self.directory / owners_file(account_dir)
        data = read_bounded(path, MAX_OWNERS_BYTES)
        if data is None:
            return {}
        try:
            owners = json.loads(data.decode("utf-8"))["owners"]
        except (ValueError, KeyError, TypeError):
            raise SinkError(f"the owner record {path} is malformed; restore or remove it") from None
        if not isinstance(owners, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in owners.items()
        ):
            raise SinkError(f"the owner record {path} is malformed; restore or remove it")
        return owners

    def _write(self, folder: Path, items: list[_Item]) -> dict[int, StoreOutcome]:
        """Temp files, one fsync pass and renames (in chunks of open files), then one directory fsync."""
        outcomes: dict[int, StoreOutcome] = {}
        renamed: list[_Item] = []
        for start in range(0, len(items), FD_CHUNK):
            chunk = items[start : start + FD_CHUNK]
            opened: list[tuple[_Item, int]] = []
            for item in chunk:
                try:
                    fd, item.temp = temp_file(folder, item.data, 0o600)
                    opened.append((item, fd))
                except Exception as exc:
                    outcomes[item.index] = self._failed(item, folder, exc)
            synced = _fsync_and_close([fd for _, fd in opened])
            for (item, _), failure in zip(opened, synced, strict=True):
                try:
                    if failure is not None:
                        raise failure
                    os.replace(item.temp, folder / item.file_name)
                    renamed.append(item)
                except Exception as exc:
                    discard(item.temp)
                    outcomes[item.index] = self._failed(item, folder, exc)
        try:
            fsync_dir(folder)
        except Exception as exc:
            return {**outcomes, **{i.index: self._failed(i, folder, exc) for i in renamed}}
        for item in renamed:
            outcomes[item.index] = StoreOutcome(item.ref, where=f"file {folder / item.file_name}")
        return outcomes

    @staticmethod
    def _failed(item: _Item, folder: Path, exc: BaseException) -> StoreOutcome:
        error = as_sink_error(exc, f"could not write the secret file {folder / item.file_name}")
        return StoreOutcome(item.ref, error=error)


def _fsync_one(fd: int) -> OSError | None:
    try:
        os.fsync(fd)
    except OSError as exc:
        return exc
    finally:
        os.close(fd)
    return None


def _fsync_and_close(fds: list[int]) -> list[OSError | None]:
    """fsync and close each descriptor, several at once; each one's failure, or None."""
    if len(fds) <= 1:
        return [_fsync_one(fd) for fd in fds]
    with ThreadPoolExecutor(max_workers=min(FSYNC_THREADS, len(fds))) as pool:
        return list(pool.map(_fsync_one, fds))
