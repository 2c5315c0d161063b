"""State behind Terraform's HTTP backend protocol, as GitLab's managed Terraform state serves it.

Requests (Terraform's `http` backend; GitLab implements the same):

- `GET address`: the state (200), or none yet (404, 204 or an empty body).
- `POST address?ID=<lock id>`: store a new version; the ID names the lock held.
- `LOCK lock_address` / `UNLOCK unlock_address` with Terraform's lock-info JSON
  (methods configurable: GitLab uses POST and DELETE on `<address>/lock`). A
  held lock answers 423 (or 409) with the holder's lock info.

Compare-and-swap: the protocol has no conditional write, so this backend does
the best honest thing. It writes only while holding the lock (a `write` made
without `lock()` takes the lock for the duration of the write), re-reads the
state right before the POST, and refuses with StaleStateError if the serial
or content moved since the caller's read. The token is the serial plus a
content hash, as in the local backend. This protects against every client
that locks before writing (ctconfig, Terraform-style tools); the protocol
cannot stop a client that POSTs without locking.

History: the server keeps only the current version. Its audit record and
write time travel inside the document under the reserved top-level key
`ctconfig_audit` (taken off before the state is validated), so `history()`
lists the current serial and who wrote it; older serials are not kept.

Journal: the protocol has nowhere to keep one, so an apply's journal stays on
this machine, outside the checkout (a file in a checkout can be committed by a
pull request): `$CTCONFIG_JOURNAL_DIR/http-<hash>.journal`, by default under
`$XDG_STATE_HOME/ctconfig` (`~/.local/state/ctconfig`). A run on another
machine does not see it (the README says so); its lineage is checked like any
journal's before it is folded.

Answers are bounded: a state larger than `limits.MAX_STATE_BYTES` is refused
before it is parsed, any other answer is read up to `MAX_ANSWER_BYTES`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ctconfig import __version__
from ctconfig.config.spec import HttpStateConfig
from ctconfig.domain import utc_now_text
from ctconfig.errors import CtconfigError
from ctconfig.state import limits
from ctconfig.state.base import AuditRecord, HistoryEntry, LockInfo, StaleStateError, StateVersion
from ctconfig.state.document import State, StateError, parse_state_json
from ctconfig.state.http_client import Answer, HttpStateError, StateServerClient
from ctconfig.state.http_lock import from_terraform_lock, to_terraform_lock
from ctconfig.state.journal_store import FileJournalStore
from ctconfig.state.local import content_token, token_serial
from ctconfig.state.lockfile import (
    SYSTEM_CLOCK,
    Held,
    WaitClock,
    acquire_with_backoff,
    holding,
    process_is_dead,
)

AUDIT_KEY = "ctconfig_audit"
UNLOCKED_WRITE_WAIT = 10.0  # seconds a write made without lock() waits for its own short lock
_LOCK_HELD = (409, 423)


def _utc_now() -> str:
    return utc_now_text()


JOURNAL_DIR_VAR = "CTCONFIG_JOURNAL_DIR"


def journal_directory(environ: Mapping[str, str]) -> Path:
    """Where journals the state's own store cannot hold are kept: the operator's
    `CTCONFIG_JOURNAL_DIR`, else `$XDG_STATE_HOME/ctconfig`, else `~/.local/state/ctconfig` —
    never the working directory, which a pull request can write into."""
    chosen = environ.get(JOURNAL_DIR_VAR) or ""
    if chosen:
        return Path(chosen)
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ctconfig"


class HttpBackend:
    """A `StateBackend` speaking Terraform's HTTP backend protocol (GitLab-managed state)."""

    def __init__(
        self, config: HttpStateConfig, environ: Mapping[str, str], clock: WaitClock = SYSTEM_CLOCK
    ) -> None:
        url = httpx.URL(config.address)
        if url.scheme not in ("http", "https") or not url.host:
            raise CtconfigError(f"state.address must be an http:// or https:// URL, not {config.address!r}")
        if url.userinfo:
            raise CtconfigError(
                "state.address must not carry credentials; name them with username_env/password_env"
            )
        if (config.username_env is None) != (config.password_env is None):
            raise CtconfigError(
                "state.username_env and state.password_env go together (GitLab CI: a variable holding "
                "gitlab-ci-token, and CI_JOB_TOKEN)"
            )
        self.config = config
        self.address = config.address
        self.lock_address = config.lock_address or config.address
        self.unlock_address = config.unlock_address or self.lock_address
        self._server = StateServerClient(config, environ, self.describe())
        self._held: LockInfo | None = None
        self.clock = clock
        digest = hashlib.sha256(self.describe().encode()).hexdigest()[:12]
        self._journal_path = journal_directory(environ) / f"http-{digest}.journal"

    # -- protocol ---------------------------------------------------------------------------

    def describe(self) -> str:
        """The state URL without credentials or query, for messages."""
        url = httpx.URL(self.address)
        return str(url.copy_with(query=None, fragment=None))

    def journal(self) -> FileJournalStore:
        """This machine's, outside the checkout (the protocol cannot hold one): see `journal_directory`."""
        return FileJournalStore(self._journal_path)

    def close(self) -> None:
        """Close the connection pool."""
        self._server.close()

    def read(self) -> StateVersion | None:
        """The current state and its token, or None before the first write."""
        found = self._fetch()
        if found is None:
            return None
        state, token, _ = found
        return StateVersion(state, token)

    def write(self, state: State, expected_token: str | None, audit: AuditRecord | None = None) -> str:
        """Store `state` under the lock if the server still holds what the caller read."""
        document = _document(state, audit)
        body = (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
        limits.check_state_to_write(len(body), self.describe())
        if self._held is not None:
            self._post(state, expected_token, body, self._held)
        else:
            with holding(self, "write", UNLOCKED_WRITE_WAIT) as own_lock:
                self._post(state, expected_token, body, own_lock)
        return _token(state.serial, document)

    def _post(self, state: State, expected_token: str | None, body: bytes, held: LockInfo) -> None:
        """Re-read, compare, and POST the new version under the lock `held`."""
        self._check_current(state, expected_token)
        response = self._server.request(
            "POST",
            self.address,
            "write the state",
            content=body,
            params={"ID": held.id},
            headers={"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()},
        )
        if response.status_code in _LOCK_HELD:
            holder = _holder_in(response)
            now = f"; it is now locked by {holder.describe()}" if holder else ""
            raise HttpStateError(
                f"{self.describe()} refused the write: lock {held.id} is no longer held "
                f"(it was force-unlocked){now}; re-run the command"
            )
        self._server.expect_success(response, "write the state")

    def lock_holder(self) -> LockInfo | None:
        """Unknown: the protocol reads a lock only by taking it (its journal is this machine's own)."""
        return None

    def lock(self, operation: str, timeout: float = 0.0) -> LockInfo:
        """Send the lock request, retrying with backoff up to `timeout` seconds while it is held."""
        info = LockInfo.new(operation)

        def try_once() -> LockInfo | Held:
            response = self._send_lock(info)
            if response.status_code in _LOCK_HELD:
                holder = _holder_in(response)
                if holder is None:
                    return Held(None, unknown_holder=f"another client of {self.describe()}")
                return Held(holder, holder_dead=process_is_dead(holder))
            self._server.expect_success(response, "lock the state")
            return info

        taken = acquire_with_backoff(try_once, timeout, self.clock)
        self._held = taken
        return taken

    def unlock(self, lock: LockInfo) -> None:
        """Release our lock; StateError if it was force-unlocked (and perhaps taken) since."""
        if self._held is not None and self._held.id == lock.id:
            self._held = None
        response = self._send_unlock(lock)
        if response.status_code in _LOCK_HELD:
            holder = _holder_in(response)
            if holder is None or holder.id == lock.id:
                raise HttpStateError(
                    f"lock {lock.id} was no longer held when releasing it (it was force-unlocked)"
                )
            raise HttpStateError(
                f"lock {lock.id} was force-unlocked; the state is now locked by {holder.describe()}"
            )
        self._server.expect_success(response, "unlock the state")

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Remove the lock with this ID; any other ID is refused so that a newer lock survives.

        The protocol cannot read a lock, so a probe lock request learns the
        holder (and, if it succeeds, the state was not locked: the probe is
        released at once). GitLab accepts an unlock carrying the lock's ID.
        """
        probe = LockInfo.new("force-unlock")
        response = self._send_lock(probe)
        if response.status_code not in _LOCK_HELD:
            self._server.expect_success(response, "lock the state")
            self.unlock(probe)
            raise StateError(f"{self.describe()} is not locked; nothing to force-unlock")
        holder = _holder_in(response)
        if holder is not None and holder.id != lock_id:
            raise StateError(
                f"lock ID {lock_id} does not match the lock on {self.describe()} "
                f"(held by {holder.describe()})"
            )
        removed = holder or LockInfo(id=lock_id, who="?", host="?", pid=0, operation="?", created="")
        response = self._send_unlock(removed)
        if response.status_code in _LOCK_HELD:
            raise StateError(f"{self.describe()} refused to remove lock {lock_id}: it holds another lock")
        self._server.expect_success(response, "unlock the state")
        if self._held is not None and self._held.id == lock_id:
            self._held = None
        return removed

    def newest_kept(self) -> int | None:
        """None: the protocol keeps no version but the current one, so none can be newer."""
        return None

    def history(self) -> list[HistoryEntry]:
        """Only the current version: the protocol keeps no older ones."""
        found = self._fetch()
        if found is None:
            return []
        state, _, meta = found
        audit = meta.get("audit")
        return [
            HistoryEntry(
                serial=state.serial,
                created=str(meta.get("written", "")),
                audit=AuditRecord.from_json(audit) if isinstance(audit, dict) else None,
            )
        ]

    def read_serial(self, serial: int) -> State:
        """The current version if it has this serial; older serials are not kept."""
        current = self.read()
        if current is not None and current.state.serial == serial:
            return current.state
        now = f" (serial {current.state.serial})" if current else ""
        raise StateError(
            f"serial {serial} is not kept: the http backend keeps only the current version{now}; "
            "use `ctconfig state diff` with files or git:REV:PATH for older ones"
        )

    # -- helpers ----------------------------------------------------------------------------

    def _fetch(self) -> tuple[State, str, dict[str, Any]] | None:
        """The current state, its token and the ctconfig metadata stored beside it."""
        response = self._server.request(
            "GET", self.address, "read the state", limit=limits.MAX_STATE_BYTES, what="state"
        )
        if response.status_code in (204, 404) or (response.status_code == 200 and not response.content):
            return None
        self._server.expect_success(response, "read the state")
        data = parse_state_json(response.content, self.describe(), limits.STATE_WITH_AUDIT_SHAPE)
        if not isinstance(data, dict):
            raise StateError(f"{self.describe()}: the stored state is not a JSON object")
        document = {k: v for k, v in data.items() if k != AUDIT_KEY}
        state = State.from_json(document, self.describe())
        meta = data.get(AUDIT_KEY)
        return state, _token(state.serial, data), meta if isinstance(meta, dict) else {}

    def _check_current(self, state: State, expected_token: str | None) -> None:
        found = self._fetch()
        if found is None:
            if expected_token is not None:
                raise StaleStateError(
                    f"state changed since it was read (serial {token_serial(expected_token)} -> "
                    f"{self.describe()} is empty); re-run the command"
                )
            return
        current, token, _ = found
        if expected_token != token:
            before = "none" if expected_token is None else token_serial(expected_token)
            raise StaleStateError(
                f"state changed since it was read (serial {before} -> {current.serial}); re-run the command"
            )
        if state.serial <= current.serial:
            raise StaleStateError(
                f"refusing to write serial {state.serial}: {self.describe()} is already at serial "
                f"{current.serial} and every write must increase it"
            )

    def _send_lock(self, info: LockInfo) -> Answer:
        body = json.dumps(to_terraform_lock(info, f"ctconfig {__version__}"), sort_keys=True).encode()
        return self._server.request(
            self.config.lock_method, self.lock_address, "lock the state", content=body
        )

    def _send_unlock(self, info: LockInfo) -> Answer:
        body = json.dumps(to_terraform_lock(info, f"ctconfig {__version__}"), sort_keys=True).encode()
        return self._server.request(
            self.config.unlock_method, self.unlock_address, "unlock the state", content=body
        )


def _document(state: State, audit: AuditRecord | None) -> dict[str, Any]:
    """The stored document: the state plus, under AUDIT_KEY, when and by whom it was written."""
    data = state.to_json()
    data[AUDIT_KEY] = {"written": _utc_now(), "audit": audit.to_json() if audit else None}
    return data


def _canonical(data: Any) -> bytes:
    """Content for the token, independent of how the server formats what it returns."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _token(serial: int, data: Any) -> str:
    """Serial plus a hash of the parsed document: reformatting by the server changes nothing."""
    return content_token(serial, _canonical(data))


def _holder_in(response: Answer) -> LockInfo | None:
    """The holder named in a 423/409 answer, when the server sent Terraform lock info."""
    return from_terraform_lock(response.holder_info())
