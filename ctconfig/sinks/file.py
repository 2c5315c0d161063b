"""The `file` sink: one 0600 file per passcode at `DIR/<account>/<name>`, in 0700 directories.

A file holds exactly the secret (no newline), so `read` gives back exactly
what `store` was given. Which address owns each file is recorded beside the
account's directory in `DIR/.<account>~owners.json` (a name no account
directory can have), so a file that holds one address's secret is never
overwritten with another's. Files written before owners were recorded are
taken over by the first address whose slot they are.

`store_many` group-commits a batch in phases, each durable before the next:
directories prepared once; the owner records that changed (one fsync pass,
then `DIR`); every secret's temp file (one fsync pass, several fsyncs in
flight), the renames, and each account directory's fsync. `store` calls from
several threads join one batch (`GroupCommit`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ctconfig import failpoints
from ctconfig.redaction import remember_secret
from ctconfig.secret_slots import file_slot, owners_file, slot_key
from ctconfig.secrets import Secret
from ctconfig.sinks.base import (
    MAX_SECRET_BYTES,
    SecretRef,
    SinkError,
    StoreOutcome,
    as_sink_error,
    secret_bytes,
)
from ctconfig.sinks.diskio import private_dir, read_bounded, sync_dirs, write_files
from ctconfig.sinks.groupcommit import GroupCommit

MAX_OWNERS_BYTES = 1 << 20
Outcomes = dict[int, StoreOutcome]


@dataclass(frozen=True)
class _Item:
    """One secret of a batch on its way to its file."""

    index: int
    ref: SecretRef
    account_dir: str
    file_name: str
    data: bytes


def _fail(items: Sequence[_Item], outcomes: Outcomes, error: SinkError) -> None:
    for item in items:
        outcomes[item.index] = StoreOutcome(item.ref, error=error)


def _by_dir(items: Sequence[_Item]) -> dict[str, list[_Item]]:
    groups: dict[str, list[_Item]] = {}
    for item in items:
        groups.setdefault(item.account_dir, []).append(item)
    return groups


class FileSink:
    """One file per passcode at `DIR/<account>/<name>`, 0600 inside 0700 directories."""

    can_read_back = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()  # guards the owner records
        self._commits = GroupCommit(self.store_many)

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
        return self._commits.submit(ref, secret).result()

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        outcomes: Outcomes = {}
        accepted: list[_Item] = []
        for index, (ref, secret) in enumerate(items):
            try:
                accepted.append(
                    _Item(index, ref, *file_slot(ref.address), secret_bytes(secret, self.location(ref)))
                )
            except SinkError as exc:
                outcomes[index] = StoreOutcome(ref, error=exc)
        if accepted:
            self._commit(accepted, outcomes)
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

    def move(self, old: SecretRef, new: SecretRef) -> str:
        """`old`'s secret stored as `new`'s (owned by `new`), then `old`'s file and owner entry removed;
        when both addresses have one file, only its owner changes."""
        secret = self.read(old)
        if secret is None:
            raise SinkError(f"{self.location(old)} holds no secret of {old.address} to move")
        account_dir, file_name = file_slot(old.address)
        same = slot_key(str(self.path_for(old))) == slot_key(str(self.path_for(new)))
        where = self.location(new) if same else self.store(new, secret)
        try:
            with self._lock:
                if not same:
                    failpoints.hit("sink.file.unlink", self.path_for(old))
                    self.path_for(old).unlink(missing_ok=True)
                owners = self._owners(account_dir)
                if owners.pop(slot_key(file_name), None) is not None or same:
                    if same:
                        owners[slot_key(file_name)] = str(new.address)
                    self._write_owners(account_dir, owners)
                for failure in sync_dirs([self.directory, self.directory / account_dir]):
                    if failure is not None:
                        raise failure
        except Exception as exc:
            raise as_sink_error(exc, f"moved to {where}, but could not remove {self.path_for(old)}") from None
        return where

    def _write_owners(self, account_dir: str, owners: dict[str, str]) -> None:
        document = {"format": 1, "owners": dict(sorted(owners.items()))}
        text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
        [failure] = write_files([(self.directory / owners_file(account_dir), text.encode())], 0o600)
        if failure is not None:
            raise failure

    # -- the phases of a batch ------------------------------------------------------------------

    def _commit(self, items: list[_Item], outcomes: Outcomes) -> None:
        try:
            created = private_dir(self.directory)
        except Exception as exc:
            _fail(
                items,
                outcomes,
                as_sink_error(exc, f"could not prepare the secrets directory {self.directory}"),
            )
            return
        ready, new_dirs = self._prepare_dirs(items, outcomes)
        with self._lock:
            claimed = self._claim(ready, outcomes, sync_top=created or new_dirs)
        for item in self._write_secrets(claimed, outcomes):
            path = self.directory / item.account_dir / item.file_name
            outcomes[item.index] = StoreOutcome(item.ref, where=f"file {path}")

    def _prepare_dirs(self, items: list[_Item], outcomes: Outcomes) -> tuple[list[_Item], bool]:
        """Make each account directory 0700; the items whose directory is ready, and whether any is new."""
        ready: list[_Item] = []
        created = False
        for account_dir, group in _by_dir(items).items():
            folder = self.directory / account_dir
            try:
                created = private_dir(folder) or created
            except Exception as exc:
                _fail(group, outcomes, as_sink_error(exc, f"could not prepare {folder} for secrets"))
                continue
            ready += group
        return ready, created

    def _claim(self, items: list[_Item], outcomes: Outcomes, sync_top: bool) -> list[_Item]:
        """Record each item's address as its file's owner (durably); refuse files another owns."""
        claimed: dict[str, list[_Item]] = {}
        changed: dict[str, bytes] = {}  # account directory -> its new owner record
        for account_dir, group in _by_dir(items).items():
            try:
                owners = self._owners(account_dir)
            except Exception as exc:
                _fail(group, outcomes, as_sink_error(exc, f"could not read the owners of {account_dir}"))
                continue
            before = dict(owners)
            claimed[account_dir] = [item for item in group if self._owns(item, owners, outcomes)]
            if owners != before:
                document = {"format": 1, "owners": dict(sorted(owners.items()))}
                changed[account_dir] = (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode()
        records = {account_dir: self.directory / owners_file(account_dir) for account_dir in changed}
        failures = write_files([(records[d], data) for d, data in changed.items()], 0o600)
        for account_dir, failure in zip(changed, failures, strict=True):
            if failure is not None:
                error = as_sink_error(failure, f"could not record owners in {records[account_dir]}")
                _fail(claimed.pop(account_dir), outcomes, error)
        survivors = [item for group in claimed.values() for item in group]
        if changed or sync_top:
            [failure] = sync_dirs([self.directory])
            if failure is not None:
                _fail(survivors, outcomes, as_sink_error(failure, f"could not sync {self.directory}"))
                return []
        return survivors

    def _owns(self, item: _Item, owners: dict[str, str], outcomes: Outcomes) -> bool:
        """Claim `item`'s file in `owners`, or record why it belongs to another address."""
        address = str(item.ref.address)
        owner = owners.setdefault(slot_key(item.file_name), address)
        if owner == address:
            return True
        record = self.directory / owners_file(item.account_dir)
        error = SinkError(
            f"{self.location(item.ref)} holds the secret of {owner}; refusing to overwrite it with "
            f"{address}'s (if {owner} is gone, remove the file and its entry in {record})"
        )
        outcomes[item.index] = StoreOutcome(item.ref, error=error)
        return False

    def _write_secrets(self, items: list[_Item], outcomes: Outcomes) -> list[_Item]:
        """Every secret durably in its file, then each directory synced; the items that made it."""
        paths = [self.directory / item.account_dir / item.file_name for item in items]
        failures = write_files([(path, item.data) for path, item in zip(paths, items, strict=True)], 0o600)
        written: list[_Item] = []
        for item, path, failure in zip(items, paths, failures, strict=True):
            if failure is None:
                written.append(item)
            else:
                error = as_sink_error(failure, f"could not write the secret file {path}")
                outcomes[item.index] = StoreOutcome(item.ref, error=error)
        by_dir = _by_dir(written)
        folders = list(by_dir)
        for account_dir, failure in zip(
            folders, sync_dirs([self.directory / f for f in folders]), strict=True
        ):
            if failure is not None:
                error = as_sink_error(failure, f"could not sync {self.directory / account_dir}")
                _fail(by_dir.pop(account_dir), outcomes, error)
        return [item for group in by_dir.values() for item in group]

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
