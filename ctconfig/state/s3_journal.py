"""An apply's journal as objects next to the state in S3, so the next runner anywhere finds it.

Layout: `<key>.journal/<seq>-<random>.jsonl`, `seq` zero-padded to 10 digits so
that key order is append order. Each `append` is one PUT holding the whole
batch as JSON lines: S3 stores an object whole or not at all, so a batch is
never torn, and a successful PUT is durable. The store lists the prefix once
to learn the next `seq` (on the first append or read), then numbers batches
itself; the random part keeps two writers from ever overwriting each other.

`replace` (compaction) is one PUT too: a *base* object,
`<seq>-<random>.base.jsonl`, numbered after every object before it, holds the
whole new journal, and readers ignore every object older than the newest base;
the older objects are deleted afterwards, at leisure (a crash in between leaves
them superseded, not alive again). `clear` is a `replace` with nothing: an empty
base, the older objects deleted, then the base itself — never a half-deleted
journal whose intents have lost the records that closed them.

`entries` lists the prefix and reads the objects (in parallel) from the newest
base on, in key order. Reads are bounded: at most `MAX_JOURNAL_OBJECTS` objects
and `MAX_JOURNAL_BYTES` in all.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ctconfig import failpoints
from ctconfig.state.document import StateError
from ctconfig.state.journal_store import (
    MAX_JOURNAL_BYTES,
    JournalWriteError,
    decode_lines,
    encode_entry,
)
from ctconfig.state.s3_objects import S3Objects

MAX_JOURNAL_OBJECTS = 100_000
"""More batches than this under one journal prefix is not a journal ctconfig wrote."""

MAX_BATCH_BYTES = 64 * 1024 * 1024
"""The largest batch one append stores (one PUT)."""

SEQ_DIGITS = 10
READERS = 8  # objects fetched at once by `entries`
_NAME = re.compile(rf"^(\d{{{SEQ_DIGITS}}})-[0-9a-f]{{8}}(\.base)?\.jsonl$")
BASE_SUFFIX = ".base.jsonl"


class S3JournalStore:
    """A `JournalStore` of JSON-lines objects under `<key>.journal/`."""

    def __init__(self, objects: S3Objects, prefix: str) -> None:
        self._objects = objects
        self.prefix = prefix
        self._where = objects.url(prefix)
        self._next_seq: int | None = None
        self._mutex = threading.Lock()

    def describe(self) -> str:
        return self._where

    def append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """One PUT for the whole batch (after one LIST, the first time only)."""
        payload = self._payload(entries)
        if not payload:
            return
        with self._mutex:
            self._put_batch(payload, ".jsonl")
        failpoints.hit("journal.s3.appended", self.prefix)

    def replace(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """One PUT of a base object holding `entries`; then the objects it supersedes are deleted."""
        payload = self._payload(entries)
        with self._mutex:
            try:
                older = [key for key, _ in self._objects.keys(self.prefix)]  # what is not ours goes too
            except StateError as exc:
                raise JournalWriteError(self._where, str(exc)) from None
            if not older and not payload:
                return
            self._next_seq = max(map(self._seq_of, older), default=0) + 1
            base = self._put_batch(payload, BASE_SUFFIX)
            try:
                self._objects.delete_keys(older)  # superseded already: a reader ignores them
                if not payload:
                    self._objects.delete_keys([base])  # nothing to keep: the empty base goes last
            except StateError as exc:
                raise JournalWriteError(self._where, str(exc)) from None

    def _seq_of(self, key: str) -> int:
        """The sequence number of a journal object (0 for an object ctconfig did not write)."""
        match = _NAME.match(key[len(self.prefix) :])
        return int(match.group(1)) if match else 0

    def _payload(self, entries: Sequence[Mapping[str, Any]]) -> bytes:
        payload = b"".join(encode_entry(entry) for entry in entries)
        if len(payload) > MAX_BATCH_BYTES:
            raise JournalWriteError(
                self._where,
                f"a batch of {len(payload)} bytes is more than the {MAX_BATCH_BYTES} one append stores",
            )
        return payload

    def _put_batch(self, payload: bytes, suffix: str) -> str:
        """PUT `payload` as the next object (numbered after the last one listed); its key."""
        try:
            seq = self._next_seq if self._next_seq is not None else self._listed_next_seq()
            key = f"{self.prefix}{seq:0{SEQ_DIGITS}d}-{secrets.token_hex(4)}{suffix}"
            self._objects.put(key, payload, "application/x-ndjson")
        except StateError as exc:
            self._next_seq = None  # relist: the PUT may or may not have been stored
            raise JournalWriteError(self._where, str(exc)) from None
        self._next_seq = seq + 1
        return key

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, batch by batch in key (= append) order."""
        with self._mutex:
            listed = self._live()
            self._next_seq = (listed[-1][0] + 1) if listed else 1
        keys = [key for _, key in listed]
        if not keys:
            return []
        with ThreadPoolExecutor(max_workers=min(READERS, len(keys))) as pool:
            bodies = list(pool.map(self._read, keys))
        out: list[dict[str, Any]] = []
        for key, body in zip(keys, bodies, strict=True):
            out.extend(decode_lines(body, self._objects.url(key)))
        return out

    def clear(self) -> None:
        """Supersede every journal object with an empty base, delete them, then the base."""
        self.replace([])

    def _listed_next_seq(self) -> int:
        listed = self._listing()
        return (listed[-1][0] + 1) if listed else 1

    def _listing(self) -> list[tuple[int, str]]:
        """(seq, key) of every journal object, in order; bounded in count and total size."""
        found: list[tuple[int, str]] = []
        total = 0
        for key, size in self._objects.keys(self.prefix):
            match = _NAME.match(key[len(self.prefix) :])
            if match is None:
                raise StateError(
                    f"{self._objects.url(key)} is not a journal object ctconfig wrote; "
                    f"move it out of {self._where}"
                )
            total += size
            if len(found) >= MAX_JOURNAL_OBJECTS or total > MAX_JOURNAL_BYTES:
                raise StateError(
                    f"journal {self._where} holds more than {MAX_JOURNAL_OBJECTS} objects or "
                    f"{MAX_JOURNAL_BYTES} bytes; it is not ctconfig's"
                )
            found.append((int(match.group(1)), key))
        found.sort()
        return found

    def _live(self) -> list[tuple[int, str]]:
        """The objects a reader folds: from the newest base on (every object when there is none)."""
        listed = self._listing()
        bases = [i for i, (_, key) in enumerate(listed) if key.endswith(BASE_SUFFIX)]
        return listed[bases[-1] :] if bases else listed

    def _read(self, key: str) -> bytes:
        found = self._objects.get(key, MAX_BATCH_BYTES, "journal batch")
        if found is None:
            raise StateError(f"journal object {self._objects.url(key)} vanished while being read")
        body = found[0]
        if body and not body.endswith(b"\n"):
            raise StateError(f"journal object {self._objects.url(key)} is truncated")
        return body
