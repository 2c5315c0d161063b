"""The embedded sandbox provider: the `Provider` protocol over a local `SandboxStore`.

This is ctconfig's default provider. It needs no network and no credentials:
each configured account is created in the SQLite file on first read, seeded
with the dashboard users the config names, and then behaves as CleverTap
documents (limits, unique names, expiry, reset, revoke, passcode mode).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ctconfig.domain import AccountSnapshot, AccountTarget, ObservedGrant, ObservedPasscode
from ctconfig.errors import CtconfigError
from ctconfig.providers.base import CredentialCheck, CredentialStatus, IssuedPasscode
from ctconfig.sandbox.store import SandboxStore
from ctconfig.secrets import Secret

T = TypeVar("T")


class _Batches:
    """Changes asked for at the same moment run together in one sandbox transaction.

    An apply has hundreds of operations in flight; each is a fraction of a
    millisecond of SQLite work, and a transaction of its own costs several times
    that (BEGIN IMMEDIATE, COMMIT). Every change submitted before the event loop
    next turns joins one `SandboxStore.batch()`; each caller gets its own answer
    or error once the batch is committed, so no answer is ever seen before its
    change is. Runs on the event loop's thread: the store answers at once.
    """

    def __init__(self, store: SandboxStore) -> None:
        self._store = store
        self._pending: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []

    async def run(self, call: Callable[[], T]) -> T:
        """`call()` inside the next batch; its answer once the batch is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((call, future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        answers: list[tuple[Any, BaseException | None]] = []
        try:
            with self._store.batch():
                for call, _ in batch:
                    try:
                        answers.append((call(), None))
                    except Exception as exc:  # this call's own error; the others go on
                        answers.append((None, exc))
        except Exception as exc:  # the commit failed: none of the batch happened
            answers = [(None, exc)] * len(batch)
        for (_, future), (answer, error) in zip(batch, answers, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(answer)


class SandboxProvider:
    """Reads and changes sandbox accounts; the store answers at once, and changes made at the
    same moment are committed together.

    `read_only` (what `plan` asks for) writes nothing: an account the store does not hold
    yet — or a store that does not exist yet — is read as it would be created, from a
    scratch store in memory, and every change is refused.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.read_only = read_only
        exists = path.exists()
        self.store = SandboxStore(
            path if exists or not read_only else Path(":memory:"), read_only=exists and read_only
        )
        self._scratch: SandboxStore | None = None
        self._batches = _Batches(self.store)

    async def read_account(self, target: AccountTarget) -> AccountSnapshot:
        """Create the account on first use (with the config's users), then read it."""
        if self.read_only and self.store.read_only and not self.store.has_account(target.account_id):
            scratch = self._scratch_store()
            scratch.ensure_account(target.account_id, target.users)
            return scratch.read(target.account_id)
        self.store.ensure_account(target.account_id, target.users)
        return self.store.read(target.account_id)

    async def _change(self, call: Callable[[], T]) -> T:
        """Run a change in the next batch; refused when the sandbox was opened to read."""
        if self.read_only:
            raise CtconfigError("the sandbox was opened only to read (a plan changes nothing)")
        return await self._batches.run(call)

    def _scratch_store(self) -> SandboxStore:
        """An in-memory store on the same clock, for accounts a read-only store does not hold."""
        if self._scratch is None:
            self._scratch = SandboxStore(Path(":memory:"))
            self._scratch.advance_clock(self.store.clock_offset().total_seconds())
        return self._scratch

    async def create_passcode(
        self,
        target: AccountTarget,
        name: str,
        expires_in_days: int | None,
        *,
        idempotency_key: str | None = None,
    ) -> IssuedPasscode:
        """Create an account passcode; its secret leaves here wrapped.

        The store keeps the answer by `idempotency_key` in the same transaction, so
        asking again with the key (after a crash, from a new process) returns the
        same passcode and secret; a key whose passcode was deleted since, or that
        came with another request, raises ConflictError.
        """
        created = await self._change(
            lambda: self.store.create_passcode_once(target.account_id, name, expires_in_days, idempotency_key)
        )
        return IssuedPasscode(created.passcode, Secret(created.secret))

    async def check_credential(self, target: AccountTarget, secret: Secret) -> CredentialCheck:
        """Authenticate against the store, as the sandbox server's `GET /v1/connect` does."""
        credential = self.store.authenticate(target.account_id, secret.reveal())
        if credential is None:
            return CredentialCheck(CredentialStatus.REJECTED, "unknown account or passcode")
        if credential.status != "active":
            return CredentialCheck(CredentialStatus.REJECTED, "this passcode has expired")
        if not credential.may_call_api():
            return CredentialCheck(
                CredentialStatus.REJECTED,
                f"this account enforces {credential.passcode_mode} passcodes",
            )
        return CredentialCheck(CredentialStatus.VALID, f"{credential.kind} credential {credential.name!r}")

    async def update_passcode(
        self, target: AccountTarget, passcode_id: str, *, name: str, expires_in_days: int | None
    ) -> ObservedPasscode:
        """Rename a passcode or change its expiry (counted from its creation)."""
        return await self._change(
            lambda: self.store.update_passcode(
                target.account_id, passcode_id, name=name, expires_in_days=expires_in_days
            )
        )

    async def delete_passcode(self, target: AccountTarget, passcode_id: str) -> None:
        """Delete an account passcode."""
        await self._change(lambda: self.store.delete_passcode(target.account_id, passcode_id))

    async def grant_user_passcode(
        self, target: AccountTarget, email: str, validity_days: int | None
    ) -> ObservedGrant:
        """Grant a user passcode to an existing dashboard user."""
        return await self._change(
            lambda: self.store.grant_user_passcode(target.account_id, email, validity_days)
        )

    async def reset_user_passcode(self, target: AccountTarget, email: str) -> ObservedGrant:
        """Issue the user a fresh secret and restart its validity."""
        return await self._change(lambda: self.store.reset_user_passcode(target.account_id, email))

    async def revoke_user_passcode(self, target: AccountTarget, email: str) -> None:
        """Revoke a user's passcode."""
        await self._change(lambda: self.store.revoke_user_passcode(target.account_id, email))

    async def set_passcode_mode(self, target: AccountTarget, mode: str) -> None:
        """Switch API authentication between account and user passcodes."""
        await self._change(lambda: self.store.set_passcode_mode(target.account_id, mode))

    async def aclose(self) -> None:
        """Close the sandbox database."""
        self.store.close()
        if self._scratch is not None:
            self._scratch.close()
