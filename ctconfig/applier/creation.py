"""Exactly-once account passcodes: an intent before the request, the secret to the sink, a record last.

Every path that makes a secret ends in one of two ways: the secret is in the
sink and its fingerprint in the record, or the passcode is recorded *tainted*
so that the next plan replaces it. Nothing in between survives a crash either:
the intent is durable before the request is sent, and the next run resolves
an intent that no record closed (`resolve_intent`) — asking again with the
same idempotency key, so a server that kept its answer gives the secret back.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, replace

from ctconfig.applier.channels import Channels, leave_request_slot
from ctconfig.domain import AccountSnapshot, AccountTarget, Address, ObservedPasscode, passcode_shape_problem
from ctconfig.errors import (
    AuthError,
    ConflictError,
    CtconfigError,
    LimitError,
    NotFoundError,
    OutcomeUnknownError,
    SecretLostError,
)
from ctconfig.providers.base import IssuedPasscode
from ctconfig.providers.guided import NotPerformedError, SettlesCreates
from ctconfig.redaction import remember_secret
from ctconfig.sinks import SecretRef, SinkError
from ctconfig.state.document import AccountPasscodeRecord, Origin
from ctconfig.state.journal import Closed, Intent, Recorded

NOTHING_MADE = (AuthError, ConflictError, LimitError, NotFoundError)
"""Answers that prove a create made nothing: no need to look for the passcode."""


@dataclass(frozen=True)
class Created:
    """A passcode whose secret reached the sink: its record, and where the secret went."""

    record: AccountPasscodeRecord
    where: str


class TaintedError(CtconfigError):
    """The passcode exists but its secret did not reach the sink; it is recorded tainted.

    `sink_error` is set when the sink is why (the applier then starts no further create).
    """

    def __init__(
        self,
        message: str,
        address: Address,
        record: AccountPasscodeRecord,
        sink_error: SinkError | None = None,
    ) -> None:
        super().__init__(message)
        self.address = address
        self.record = record
        self.sink_error = sink_error


async def create_once(
    ch: Channels,
    target: AccountTarget,
    intent: Intent,
    *,
    announced: Awaitable[None] | None = None,
    leave_slot: bool = False,
) -> Created:
    """Make the passcode `intent` describes exactly once; raise `TaintedError` if its secret is lost.

    `announced`: the intent was submitted ahead (with the other creates of its phase, one group
    commit for all of them); this waits until it is durable instead of submitting it again.
    `leave_slot`: once the answer is in, the account's next action may start (`leave_request_slot`)
    while this secret goes to the sink.
    """
    await (announced if announced is not None else ch.journal.submit(intent))  # durable before sending
    try:
        issued = await ch.provider.create_passcode(
            target, intent.name, intent.expires_in, idempotency_key=intent.idempotency_key
        )
    except SecretLostError as lost:
        raise taint(ch, target, intent, lost.passcode, "its create answer was lost") from None
    except NOTHING_MADE:
        ch.journal.submit_nowait(Closed(intent.id, "refused; nothing was created"))
        raise
    except NotPerformedError as declined:  # the operator skipped it (or stopped: maybe made, stays open)
        if not declined.maybe_made:
            ch.journal.submit_nowait(Closed(intent.id, "not performed; nothing was created"))
        raise
    except Exception as failure:  # the request may have reached the server: find out now
        try:
            created = await resolve_intent(ch, target, intent)
        except Exception:  # its intent stays open: the next run settles it before planning
            raise OutcomeUnknownError(
                f"{failure}; whether {intent.name!r} was created could not be checked, "
                "so the next run checks it (and delivers or replaces it) before planning"
            ) from None
        if created is None:
            raise
        return created
    if leave_slot:
        await leave_request_slot()
    return await deliver(ch, target, intent, issued)


async def resolve_intent(
    ch: Channels, target: AccountTarget, intent: Intent, snapshot: AccountSnapshot | None = None
) -> Created | None:
    """Settle an intent whose outcome is unknown: None if nothing was made, else deliver or taint.

    `snapshot` is the account as just read (read here when not given). Raises
    when the account cannot be read or asked: the intent then stays open. A
    provider that cannot look passcodes up by name settles the intent itself
    (`SettlesCreates`: the dashboard's asks its operator).
    """
    if isinstance(ch.provider, SettlesCreates):
        return await _settle_by_provider(ch, ch.provider, target, intent)
    if snapshot is None:
        snapshot = await ch.provider.read_account(target)
    found = snapshot.passcode_named(intent.name)
    if found is None:
        ch.journal.submit_nowait(Closed(intent.id, "not created"))
        return None
    try:
        issued = await ch.provider.create_passcode(
            target, intent.name, intent.expires_in, idempotency_key=intent.idempotency_key
        )
    except (SecretLostError, ConflictError):
        raise taint(
            ch, target, intent, found, "it was created, but the answer with its secret was lost"
        ) from None
    return await deliver(ch, target, intent, issued)


async def _settle_by_provider(
    ch: Channels, provider: SettlesCreates, target: AccountTarget, intent: Intent
) -> Created | None:
    try:
        issued = await provider.settle_create(
            target, intent.name, intent.expires_in, idempotency_key=intent.idempotency_key
        )
    except SecretLostError as lost:
        raise taint(ch, target, intent, lost.passcode, "it was created, but its secret is lost") from None
    if issued is None:
        ch.journal.submit_nowait(Closed(intent.id, "not created"))
        return None
    return await deliver(ch, target, intent, issued)


async def deliver(ch: Channels, target: AccountTarget, intent: Intent, issued: IssuedPasscode) -> Created:
    """Send the secret to the sink and record its fingerprint; any failure on the way taints."""
    secret = issued.secret
    remember_secret(secret.reveal())
    record = AccountPasscodeRecord.observed(
        target.account_id,
        issued.passcode,
        origin=Origin.CREATED,
        fingerprint=secret.fingerprint(),
        prevent_destroy=intent.prevent_destroy,
        rotate_token=intent.rotate_token,
    )
    if problem := passcode_shape_problem(secret.reveal()):  # no sink ever gets what is not a passcode
        raise taint(ch, target, intent, issued.passcode, f"the API answered something else: {problem}")
    try:
        outcome = await ch.sink.submit((SecretRef(intent.address, target.account_id), secret))
    except BaseException as exc:  # the secret exists: whatever went wrong, it is a taint, never an escape
        outcome = SinkError(f"the secret sink failed ({type(exc).__name__})")
        if not isinstance(exc, Exception):
            _record_taint(ch, intent, record, str(outcome))
            raise
    if isinstance(outcome, SinkError):
        raise _taint_record(ch, intent, record, f"secret sink failed: {outcome}", outcome) from None
    ch.journal.submit_nowait(Recorded(intent.address, record, closes=intent.id))
    return Created(record, outcome)


def taint(
    ch: Channels, target: AccountTarget, intent: Intent, passcode: ObservedPasscode, why: str
) -> TaintedError:
    """Record a passcode whose secret never arrived as tainted; the error to raise says so."""
    record = AccountPasscodeRecord.observed(
        target.account_id,
        passcode,
        origin=Origin.CREATED,
        prevent_destroy=intent.prevent_destroy,
        rotate_token=intent.rotate_token,
    )
    return _taint_record(ch, intent, record, f"secret lost: {why}")


def _taint_record(
    ch: Channels, intent: Intent, record: AccountPasscodeRecord, why: str, sink_error: SinkError | None = None
) -> TaintedError:
    tainted = _record_taint(ch, intent, record, why)
    message = f"{why}; the passcode is marked tainted and the next plan replaces it"
    return TaintedError(message, intent.address, tainted, sink_error)


def _record_taint(
    ch: Channels, intent: Intent, record: AccountPasscodeRecord, why: str
) -> AccountPasscodeRecord:
    tainted = replace(record, tainted=why[:400])
    ch.journal.submit_nowait(Recorded(intent.address, tainted, closes=intent.id))
    return tainted
