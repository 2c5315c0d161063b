"""A passcode's secret follows its address: a rename (`previously:`) or an account alias moved.

The sink gets the secret from the old address's slot and keeps it in the new one (copy first,
then delete: a failure or a crash in between leaves it in the old slot or in both, and the next
run finds it). Only a secret that is this passcode's own moves: the old slot must give back the
secret whose fingerprint state holds. A sink that cannot move secrets (the command sink) leaves
it where it is, as the plan warned.
"""

from __future__ import annotations

import asyncio

from ctconfig.domain import Address
from ctconfig.sinks import MovesSecrets, SecretRef, SecretSink, SinkError
from ctconfig.state.document import AccountPasscodeRecord


class SecretNotMovedError(SinkError):
    """The passcode moved (in the account and in state) but its secret could not follow it."""


async def move_secret(sink: SecretSink, record: AccountPasscodeRecord, old: Address, new: Address) -> str:
    """Move the secret of the passcode `record` describes from `old`'s slot to `new`'s.

    Returns what happened, as words to add to the outcome ("" when there is nothing to say);
    raises `SecretNotMovedError` (one line, no secret) when it stays behind.
    """
    if not record.secret_known:
        return ""  # ctconfig holds no secret of this passcode: nothing of ours to move
    if record.retire_after is not None:
        return ""  # rotated out: its slot was its successor's from the rotation on, and moves with it
    before, after = SecretRef(old, record.account_id), SecretRef(new, record.account_id)
    if not isinstance(sink, MovesSecrets):
        return f"; its secret stays in {sink.location(before)}: this sink cannot move it"
    try:
        return await asyncio.to_thread(_move, sink, before, after, record.secret_fingerprint)
    except SinkError as exc:
        raise SecretNotMovedError(
            f"its secret did not move from {sink.location(before)} to {sink.location(after)}: {exc}; "
            "move it yourself, then `ctconfig verify` checks it"
        ) from None


def _move(sink: SecretSink, before: SecretRef, after: SecretRef, fingerprint: str | None) -> str:
    assert isinstance(sink, MovesSecrets)
    held = sink.read(before)
    if held is None:
        there = sink.read(after)
        if there is not None and there.fingerprint() == fingerprint:
            return f"; its secret is already in {sink.location(after)}"  # moved by a run that died
        raise SinkError(f"{sink.location(before)} holds no secret of {before.address}")
    if held.fingerprint() != fingerprint:
        raise SinkError(f"{sink.location(before)} holds a secret that is not this passcode's")
    return f"; its secret moved to {sink.move(before, after)}"
