"""The `file` sink: one 0600 file per passcode at `DIR/<account>/<name>`, in 0700 directories.

A file holds exactly the secret (no newline), so `read` gives back exactly
what `store` was given. Which address owns each file is recorded beside the
account's directory in `DIR/.<account>~owners.log` (a name no account
directory can have), one JSON line per claim, appended: a batch adds the lines
of its new claims and never rewrites the record; a secret moved to another slot
appends a release of its old one (`"address": null`), and the last line about a
slot says who owns it. The record earlier versions
rewrote per batch, `DIR/.<account>~owners.json`, is still read (its claims
first, then the log's), never written. So a file that holds one address's
secret is never overwritten with another's. Files written before owners were
recorded are taken over by the first address whose slot they are.

`store_many` makes a batch durable with one `syncfs` where the system has it
(Linux): directories made, the new owner lines appended, every secret written
to a temp file and renamed over its slot, then one call commits all of it
(one journal commit on ext4, where an fsync per file waited for a commit per
file). Only then is any item reported stored. Elsewhere it falls back to
phases, each durable before the next: owner lines (fdatasync, then `DIR`),
temp files (one fsync pass), renames, each account directory's fsync. `store`
calls from several threads join one batch (`GroupCommit`).
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
from ctconfig.secret_slots import file_slot, legacy_owners_file, owners_file, slot_key
from ctconfig.secrets import Secret
from ctconfig.sinks.base import (
    MAX_SECRET_BYTES,
    SecretRef,
    SinkError,
    StoreOutcome,
    as_sink_error,
    secret_bytes,
)
from ctconfig.sinks.diskio import (
    append_line,
    can_syncfs,
    directory_problem,
    private_dir,
    read_bounded,
    read_bounded_from,
    sync_dirs,
    syncfs,
    target_problem,
    write_files,
)
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
    path: str
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
        self._known: dict[str, _KnownOwners] = {}
        self._commits = GroupCommit(self.store_many)

    def describe(self) -> str:
        return f"file sink {self.directory}"

    def path_for(self, ref: SecretRef) -> Path:
        """The file that holds `ref`'s secret."""
        account_dir, file_name = file_slot(ref.address)
        return self.directory / account_dir / file_name

    def location(self, ref: SecretRef) -> str:
        return f"file {self.path_for(ref)}"

    def preflight(self, refs: Sequence[SecretRef]) -> None:
        """Each secret's directory can be made or written, its file is free or `ref`'s; only looks."""
        problem = directory_problem(self.directory)
        if problem is not None:
            raise SinkError(f"cannot write secret files in {self.directory}: {problem}")
        seen: dict[str, tuple[dict[str, str], frozenset[str]]] = {}
        for ref in refs:
            account_dir, file_name = file_slot(ref.address)
            if account_dir not in seen:
                seen[account_dir] = self._preflight_dir(account_dir)
            owners, present = seen[account_dir]
            owner = owners.get(slot_key(file_name))
            if owner is not None and owner != str(ref.address):
                raise self._taken(ref, owner, account_dir)
            problem = target_problem(self.path_for(ref)) if file_name in present else None
            if problem is not None:
                raise SinkError(f"cannot write the secret file of {ref.address}: {problem}")

    def _preflight_dir(self, account_dir: str) -> tuple[dict[str, str], frozenset[str]]:
        """The owners recorded for `account_dir` and the names in it, once it is known to be usable."""
        folder = self.directory / account_dir
        problem = directory_problem(folder)
        if problem is not None:
            raise SinkError(f"cannot write secret files in {folder}: {problem}")
        try:
            present = frozenset(os.listdir(folder)) if folder.is_dir() else frozenset()
            with self._lock:
                return dict(self._owners(account_dir)), present
        except Exception as exc:
            raise as_sink_error(exc, f"could not read the owners of {account_dir}") from None

    def store(self, ref: SecretRef, secret: Secret) -> str:
        return self._commits.submit(ref, secret).result()

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        outcomes: Outcomes = {}
        accepted: list[_Item] = []
        root = os.fspath(self.directory)  # joined as text: a Path per file costs more than writing it
        for index, (ref, secret) in enumerate(items):
            account_dir, file_name = file_slot(ref.address)
            path = os.path.join(root, account_dir, file_name)
            try:
                accepted.append(
                    _Item(index, ref, account_dir, file_name, path, secret_bytes(secret, f"file {path}"))
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
            with self._lock:
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
        """`old`'s secret stored as `new`'s (owned by `new`), then `old`'s file removed and its claim
        released (a line appended to the owner record); when both addresses have one file, only its
        owner changes."""
        secret = self.read(old)
        if secret is None:
            raise SinkError(f"{self.location(old)} holds no secret of {old.address} to move")
        account_dir, file_name = file_slot(old.address)
        same = slot_key(str(self.path_for(old))) == slot_key(str(self.path_for(new)))
        where = self.location(new) if same else self.store(new, secret)
        key = slot_key(file_name)
        try:
            with self._lock:
                if not same:
                    failpoints.hit("sink.file.unlink", self.path_for(old))
                    self.path_for(old).unlink(missing_ok=True)
                owned = self._owners(account_dir).get(key) is not None
                if same or owned:
                    line = _claim_line(key, str(new.address) if same else None)
                    append_line(self.directory / owners_file(account_dir), line, durable=True)
                    self._known.pop(account_dir, None)  # read again: the change is on disk
                for failure in sync_dirs([self.directory, self.directory / account_dir]):
                    if failure is not None:
                        raise failure
        except Exception as exc:
            raise as_sink_error(exc, f"moved to {where}, but could not remove {self.path_for(old)}") from None
        return where

    # -- the phases of a batch ------------------------------------------------------------------

    def _commit(self, items: list[_Item], outcomes: Outcomes) -> None:
        batch_sync = can_syncfs()
        try:
            created = private_dir(self.directory, durable=not batch_sync)
        except Exception as exc:
            _fail(
                items,
                outcomes,
                as_sink_error(exc, f"could not prepare the secrets directory {self.directory}"),
            )
            return
        ready, new_dirs = self._prepare_dirs(items, outcomes, durable=not batch_sync)
        with self._lock:
            claimed = self._claim(ready, outcomes, durable=not batch_sync, sync_top=created or new_dirs)
        written = self._write_secrets(claimed, outcomes, durable=not batch_sync)
        if batch_sync and written:
            try:
                syncfs(self.directory)
            except Exception as exc:
                _fail(written, outcomes, as_sink_error(exc, f"could not make {self.directory} durable"))
                return
        for item in written:
            outcomes[item.index] = StoreOutcome(item.ref, where=f"file {item.path}")

    def _prepare_dirs(
        self, items: list[_Item], outcomes: Outcomes, durable: bool
    ) -> tuple[list[_Item], bool]:
        """Make each missing account directory (0700); the items whose directory is ready, and whether
        any is new."""
        ready: list[_Item] = []
        created = False
        for account_dir, group in _by_dir(items).items():
            folder = self.directory / account_dir
            try:
                created = private_dir(folder, durable=durable) or created
            except Exception as exc:
                _fail(group, outcomes, as_sink_error(exc, f"could not prepare {folder} for secrets"))
                continue
            ready += group
        return ready, created

    def _claim(self, items: list[_Item], outcomes: Outcomes, durable: bool, sync_top: bool) -> list[_Item]:
        """Record each item's address as its file's owner; refuse files another owns. `durable`: the new
        claims are on disk before this returns (else the batch's `syncfs` makes them so)."""
        claimed: dict[str, list[_Item]] = {}
        lines: dict[str, bytes] = {}  # account directory -> the claims to append to its record
        for account_dir, group in _by_dir(items).items():
            try:
                owners = self._owners(account_dir)
            except Exception as exc:
                _fail(group, outcomes, as_sink_error(exc, f"could not read the owners of {account_dir}"))
                continue
            new: dict[str, str] = {}
            claimed[account_dir] = [item for item in group if self._owns(item, owners, new, outcomes)]
            if new:
                lines[account_dir] = b"".join(_claim_line(key, address) for key, address in new.items())
        for account_dir, data in lines.items():
            record = self.directory / owners_file(account_dir)
            try:
                self._appended(account_dir, append_line(record, data, durable=durable), len(data))
            except Exception as exc:
                self._known.pop(account_dir, None)
                error = as_sink_error(exc, f"could not record owners in {record}")
                _fail(claimed.pop(account_dir), outcomes, error)
        survivors = [item for group in claimed.values() for item in group]
        if durable and (lines or sync_top):
            [failure] = sync_dirs([self.directory])
            if failure is not None:
                _fail(survivors, outcomes, as_sink_error(failure, f"could not sync {self.directory}"))
                return []
        return survivors

    def _owns(self, item: _Item, owners: dict[str, str], new: dict[str, str], outcomes: Outcomes) -> bool:
        """Claim `item`'s file in `owners` (new claims also in `new`), or record why another address
        owns it."""
        address = str(item.ref.address)
        key = slot_key(item.file_name)
        owner = owners.get(key)
        if owner is None:
            owners[key] = new[key] = address
            return True
        if owner == address:
            return True
        outcomes[item.index] = StoreOutcome(item.ref, error=self._taken(item.ref, owner, item.account_dir))
        return False

    def _taken(self, ref: SecretRef, owner: str, account_dir: str) -> SinkError:
        """`ref`'s file holds `owner`'s secret: refused, saying how to free it."""
        record = self.directory / owners_file(account_dir)
        return SinkError(
            f"{self.location(ref)} holds the secret of {owner}; refusing to overwrite it with "
            f"{ref.address}'s (if {owner} is gone, remove the file and its lines in {record})"
        )

    def _write_secrets(self, items: list[_Item], outcomes: Outcomes, durable: bool) -> list[_Item]:
        """Every secret in its file (durably, and each directory synced, when `durable`); the items that
        made it."""
        failures = write_files([(item.path, item.data) for item in items], 0o600, fsync=durable)
        written: list[_Item] = []
        for item, failure in zip(items, failures, strict=True):
            if failure is None:
                written.append(item)
            else:
                error = as_sink_error(failure, f"could not write the secret file {item.path}")
                outcomes[item.index] = StoreOutcome(item.ref, error=error)
        if not durable:
            return written
        by_dir = _by_dir(written)
        folders = list(by_dir)
        for account_dir, failure in zip(
            folders, sync_dirs([self.directory / f for f in folders]), strict=True
        ):
            if failure is not None:
                error = as_sink_error(failure, f"could not sync {self.directory / account_dir}")
                _fail(by_dir.pop(account_dir), outcomes, error)
        return [item for group in by_dir.values() for item in group]

    def _appended(self, account_dir: str, after: os.stat_result, added: int) -> None:
        """Our own claims are in the cache already: move its mark past them, so they are not read back."""
        known = self._known.get(account_dir)
        if known is not None and after.st_size == known.log[0] + added and known.log[0] >= 0:
            known.log = (after.st_size, after.st_mtime_ns)
            known.read_to += added
        elif known is not None and known.log[0] < 0 and after.st_size == added:  # the record is new
            known.log = (after.st_size, after.st_mtime_ns)
            known.read_to = added
        else:
            self._known.pop(account_dir, None)  # someone else appended too: read it all again

    def _owners(self, account_dir: str) -> dict[str, str]:
        """{slot key: address} recorded for `account_dir` (empty when nothing was recorded).

        Kept in memory between calls and refreshed when either record changed on disk: a log that
        only grew is read from where it was last read, so a sink read per secret stays cheap.
        """
        legacy_path = self.directory / legacy_owners_file(account_dir)
        log_path = self.directory / owners_file(account_dir)
        legacy_seen, log_seen = _signature(legacy_path), _signature(log_path)
        known = self._known.get(account_dir)
        if known is not None and known.legacy == legacy_seen and known.log == log_seen:
            return known.owners
        if known is None or known.legacy != legacy_seen or log_seen[0] < known.log[0]:
            owners = _legacy_owners(legacy_path)
            read_from = 0
        else:
            owners, read_from = dict(known.owners), known.read_to
        tail = read_bounded_from(log_path, read_from, MAX_OWNERS_BYTES) or b""
        complete = tail.rfind(b"\n") + 1  # a torn last line (a crash mid-append) is not a claim yet
        for number, line in enumerate(tail[:complete].splitlines(), start=1):
            if line.strip():  # the last line about a slot says who owns it (claims need a free slot)
                key, address = _parse_claim(line, log_path, number)
                if address is None:
                    owners.pop(key, None)
                else:
                    owners[key] = address
        self._known[account_dir] = _KnownOwners(owners, legacy_seen, log_seen, read_from + complete)
        return owners


@dataclass
class _KnownOwners:
    """An account's owners as last read, and the records' state (size, mtime) when they were read."""

    owners: dict[str, str]
    legacy: tuple[int, int]
    log: tuple[int, int]
    read_to: int


def _signature(path: Path) -> tuple[int, int]:
    """(size, mtime in ns) of a record; (-1, 0) when it does not exist."""
    try:
        seen = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return (-1, 0)
    return (seen.st_size, seen.st_mtime_ns)


def _claim_line(key: str, address: str | None) -> bytes:
    """One line of the owner record: `address` now owns the slot `key` (None: nobody does)."""
    return (json.dumps({"slot": key, "address": address}, ensure_ascii=False) + "\n").encode()


def _parse_claim(line: bytes, path: Path, number: int) -> tuple[str, str | None]:
    malformed = SinkError(f"the owner record {path} is malformed (line {number}); restore or remove it")
    try:
        claim = json.loads(line.decode("utf-8"))
        key, address = claim["slot"], claim["address"]
    except (ValueError, KeyError, TypeError):
        raise malformed from None
    if not isinstance(key, str) or not (address is None or isinstance(address, str)):
        raise malformed
    return key, address


def _legacy_owners(path: Path) -> dict[str, str]:
    """The claims of the record earlier versions rewrote per batch (empty when there is none)."""
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
    return dict(owners)
