"""One action, carried out: the provider calls it needs and the records it leaves.

Each method returns what happened in words (never a secret) and records every
change in the working copy of the state and, without waiting, in the journal.
Creates and rotations go through `creation.create_once`, which makes each
secret exactly once. A tainted passcode is replaced delete-first: its secret
is known to no one, so there is no overlap to protect, and the account never
holds it and its successor at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from ctconfig.actions import (
    Action,
    ActionKind,
    GrantAction,
    PasscodeAction,
    Rotation,
    SettingsAction,
    StateAction,
)
from ctconfig.applier.channels import Channels
from ctconfig.applier.creation import TaintedError, create_once
from ctconfig.applier.secret_moves import SecretNotMovedError, move_secret
from ctconfig.domain import AccountTarget, Address, passcode_mode
from ctconfig.errors import CtconfigError, NotFoundError
from ctconfig.sinks import SecretSink
from ctconfig.state.document import (
    AccountPasscodeRecord,
    Origin,
    RecordType,
    SettingsRecord,
    UserPasscodeRecord,
)
from ctconfig.state.journal import Closed, Intent, Recorded


class Steps:
    """Carries out actions against one provider, keeping `records` (the working state) current."""

    def __init__(
        self,
        channels: Channels,
        targets: Mapping[str, AccountTarget],
        records: dict[Address, RecordType],
        protected: frozenset[Address],
        sink: SecretSink | None = None,
    ) -> None:
        self.ch = channels
        self.targets = targets
        self.records = records
        self.protected = protected
        self.sink = sink  # for moving a secret to a renamed passcode's slot (None: secrets stay)
        self._announced: dict[Address, tuple[Intent, asyncio.Future[None]]] = {}

    def announce(self, actions: Iterable[Action]) -> None:
        """Submit the intents of these actions' creates now, together: one group commit makes all of
        them durable, instead of each create waiting for its own before its request goes out."""
        for action in actions:
            if isinstance(action, PasscodeAction) and action.kind is ActionKind.CREATE:
                intent = self._intent(action.address, self.targets[action.address.account], action)
                self._announced[action.address] = (intent, self.ch.journal.submit_nowait(intent))

    def withdraw(self, action: Action) -> None:
        """An announced create that will not be sent: its intent is closed (nothing was made)."""
        announced = self._announced.pop(action.address, None)
        if announced is not None:
            self.ch.journal.submit_nowait(Closed(announced[0].id, "not started; nothing was sent"))

    async def run(self, action: Action) -> str:
        """Carry out `action`; returns the outcome in words, raises when it fails."""
        if isinstance(action, StateAction):  # no account to reach: it may be one the config dropped
            return await self._state(action)
        target = self.targets[action.address.account]
        if isinstance(action, PasscodeAction):
            return await self._passcode(action, target)
        if isinstance(action, GrantAction):
            return await self._grant(action, target)
        return await self._settings(action, target)

    # ---- bookkeeping -------------------------------------------------------------------------

    def record(self, address: Address, record: RecordType | None) -> None:
        """Update the working state and journal the change (durable with the next batch)."""
        if record is None:
            self.records.pop(address, None)
        else:
            self.records[address] = record
        self.ch.journal.submit_nowait(Recorded(address, record))

    async def record_durably(self, address: Address, record: RecordType | None) -> None:
        """Like `record`, but wait until it is on disk (before a step that depends on it)."""
        await self.record_together_durably([(address, record)])

    async def record_together_durably(self, changes: Sequence[tuple[Address, RecordType | None]]) -> None:
        """Journal several changes in one batch (one write, statement or PUT) and wait for it.

        Submitted with no await between them, they cannot be split across two group commits, so a
        crash leaves all of them or none: a rotation never forgets the old address without also
        recording where the old passcode went.
        """
        futures = []
        for address, record in changes:
            if record is None:
                self.records.pop(address, None)
            else:
                self.records[address] = record
            futures.append(self.ch.journal.submit_nowait(Recorded(address, record)))
        for future in futures:
            await future

    # ---- account passcodes --------------------------------------------------------------------

    async def _passcode(self, action: PasscodeAction, target: AccountTarget) -> str:
        if action.kind is ActionKind.CREATE:
            return await self._create(action.address, target, action, leave_slot=True)
        if action.kind is ActionKind.UPDATE:
            return await self._update(action, target)
        if action.kind is ActionKind.DELETE:
            await _gone_is_fine(self.ch.provider.delete_passcode(target, action.remote_id or ""))
            self.record(action.address, None)
            return "deleted"
        if action.rotation is None:
            return await self._replace_delete_first(action, target)
        return await self._rotate(action, target, action.rotation)

    def _intent(self, address: Address, target: AccountTarget, action: PasscodeAction) -> Intent:
        assert action.after is not None
        return Intent.new(
            address,
            target.account_id,
            action.after.name,
            action.after.expires_in,
            prevent_destroy=address in self.protected,
            rotate_token=action.rotate_token,
        )

    async def _create(
        self, address: Address, target: AccountTarget, action: PasscodeAction, *, leave_slot: bool = False
    ) -> str:
        announced = self._announced.pop(address, None) if action.kind is ActionKind.CREATE else None
        intent = announced[0] if announced is not None else self._intent(address, target, action)
        try:
            created = await create_once(
                self.ch,
                target,
                intent,
                announced=announced[1] if announced is not None else None,
                leave_slot=leave_slot,
            )
        except TaintedError as exc:
            self.records[address] = exc.record  # the passcode exists: state must say it is tainted
            raise
        self.records[address] = created.record
        return f"created; secret sent to {created.where}"

    async def _update(self, action: PasscodeAction, target: AccountTarget) -> str:
        assert action.after is not None
        old = self.records.get(action.moved_from or action.address)
        passcode = await self.ch.provider.update_passcode(
            target, action.remote_id or "", name=action.after.name, expires_in_days=action.after.expires_in
        )
        if isinstance(old, AccountPasscodeRecord):
            fresh = replace(old.seen_as(passcode), prevent_destroy=action.address in self.protected)
        else:
            fresh = AccountPasscodeRecord.observed(
                target.account_id,
                passcode,
                origin=Origin.ADOPTED,
                prevent_destroy=action.address in self.protected,
            )
        if not action.moved_from:
            self.record(action.address, fresh)
            return "updated"
        return "renamed" + await self._follow(action.moved_from, action.address, fresh)

    async def _follow(self, old: Address, new: Address, record: RecordType) -> str:
        """Record `record` at its new address (before letting go of the old one: a crash in between
        leaves both, never neither), and move its secret to the new address's slot."""
        moved = ""
        failure: SecretNotMovedError | None = None
        if isinstance(record, AccountPasscodeRecord) and self.sink is not None:
            try:
                moved = await move_secret(self.sink, record, old, new)
            except SecretNotMovedError as exc:
                failure = exc
        self.record(new, record)
        self.record(old, None)
        if failure is not None:
            raise failure
        return moved

    async def _state(self, action: StateAction) -> str:
        """Move a record to its new address (and its secret with it), or forget it."""
        if action.kind is ActionKind.FORGET:
            self.record(action.address, None)
            return "forgotten; it stays in the account"
        old = action.moved_from
        record = self.records.get(old) if old is not None else None
        if old is None or record is None:
            raise CtconfigError(f"nothing in state at {old} to move")
        return f"moved from {old}" + await self._follow(old, action.address, record)

    async def _rotate(self, action: PasscodeAction, target: AccountTarget, rotation: Rotation) -> str:
        """Rename the old passcode aside (durably), create the new one, retire the old one."""
        assert action.before is not None
        old = self.records.get(action.address)
        renamed = await self.ch.provider.update_passcode(
            target, action.remote_id or "", name=rotation.aside_name, expires_in_days=action.before.expires_in
        )
        aside = Address.account_passcode(action.address.account, renamed.name)
        moved: list[tuple[Address, RecordType | None]] = [(action.address, None)]
        if isinstance(old, AccountPasscodeRecord):
            # Recorded before the create: a run killed now leaves the old one due for deletion, not lost.
            retire_after = rotation.retire_after or datetime.now(UTC).replace(microsecond=0)
            moved.append(
                (aside, replace(old.seen_as(renamed), retire_after=retire_after, prevent_destroy=False))
            )
        await self.record_together_durably(moved)
        message = await self._create(action.address, target, action)
        if rotation.retire_after is None:
            await _gone_is_fine(self.ch.provider.delete_passcode(target, renamed.id))
            self.record(aside, None)
            return message.replace("created", "replaced", 1) + "; the old one is deleted"
        return message.replace("created", "replaced", 1)

    async def _replace_delete_first(self, action: PasscodeAction, target: AccountTarget) -> str:
        """Delete the old passcode, durably forget it, then create the new one under its name.

        Killed after the delete, the next run finds the declared passcode gone and creates it;
        killed during the create, its intent settles it: nothing is lost, and nothing overlaps.
        """
        await _gone_is_fine(self.ch.provider.delete_passcode(target, action.remote_id or ""))
        await self.record_durably(action.address, None)
        message = await self._create(action.address, target, action)
        return message.replace("created", "replaced (the old one deleted first)", 1)

    # ---- user passcodes and settings -------------------------------------------------------------

    async def _grant(self, action: GrantAction, target: AccountTarget) -> str:
        provider = self.ch.provider
        if action.kind is ActionKind.REVOKE or action.kind is ActionKind.REPLACE:
            await _gone_is_fine(provider.revoke_user_passcode(target, action.email))
            self.record(action.address, None)
            if action.kind is ActionKind.REVOKE:
                return "revoked"
        if action.kind is ActionKind.RESET:
            grant = await provider.reset_user_passcode(target, action.email)
        else:
            assert action.after is not None
            grant = await provider.grant_user_passcode(target, action.email, action.after.validity)
        record = UserPasscodeRecord.observed(
            target.account_id,
            grant,
            origin=Origin.CREATED,
            prevent_destroy=action.address in self.protected,
            reset_token=action.reset_token,
        )
        self.record(action.address, record)
        return {ActionKind.RESET: "reset", ActionKind.REPLACE: "revoked and granted again"}.get(
            action.kind, "granted"
        )

    async def _settings(self, action: SettingsAction, target: AccountTarget) -> str:
        mode = action.after.passcode_mode
        await self.ch.provider.set_passcode_mode(target, mode)
        self.record(action.address, SettingsRecord(target.account_id, passcode_mode(mode)))
        return f"passcode mode set to {mode}"


async def _gone_is_fine(call: Awaitable[None]) -> None:
    """Deleting or revoking something already gone is success: the goal is reached."""
    with contextlib.suppress(NotFoundError):
        await call
