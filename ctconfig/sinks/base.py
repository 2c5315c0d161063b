"""What every secret sink offers, and the reference to the passcode a secret belongs to.

A newly issued account passcode secret goes to exactly one sink. Before an
apply's first create (and in `plan`), `preflight` says whether the sink can
take the secrets about to be issued; a sink that refuses then gets none. A
sink that fails later raises (or reports) `SinkError`; the applier records
the passcode as tainted so the next plan replaces it, and starts no further
create: a secret is never dropped silently.

Every public sink method turns every failure into a one-line `SinkError` that
names the path or target and never contains the secret, so that nothing a
sink meets on disk or on the network (a non-UTF-8 file, a permission, a
refused credential) escapes the applier as an unexpected exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ctconfig.domain import Address
from ctconfig.errors import CtconfigError
from ctconfig.secret_slots import env_name
from ctconfig.secrets import REDACTED, Secret

# CleverTap passcodes are a dozen or 32 characters; 4 KiB is what SSM's standard tier holds.
MAX_SECRET_BYTES = 4096


class SinkError(CtconfigError):
    """The secret sink refused or failed; the message never contains the secret."""


@dataclass(frozen=True)
class SecretRef:
    """Which passcode a secret belongs to: its address and the account's id."""

    address: Address
    account_id: str

    @property
    def account(self) -> str:
        """The account's alias in the config."""
        return self.address.account

    @property
    def name(self) -> str:
        """The passcode's name."""
        return self.address.name

    @property
    def env_name(self) -> str:
        """`CT_PROD_SEGMENT_EXPORT`: a shell-safe variable name for this passcode."""
        return env_name(self.address)


@dataclass(frozen=True)
class StoreOutcome:
    """What became of one secret of a batch: where it went, or why it did not get there."""

    ref: SecretRef
    where: str = ""
    error: SinkError | None = None

    @property
    def stored(self) -> bool:
        """True when the secret is durably in the sink."""
        return self.error is None

    def result(self) -> str:
        """Where the secret went; raises its `SinkError` when it did not get there."""
        if self.error is not None:
            raise self.error
        return self.where


class SecretSink(Protocol):
    """Where new secrets go, and where `verify` and crash recovery read them back.

    Every method raises only `SinkError` (one line, no secret). `store_many`
    never raises for one item: each item gets its own `StoreOutcome`, in
    input order, and one failing item does not fail the others. Methods may
    be called from several threads at once.
    """

    can_read_back: bool

    def describe(self) -> str:
        """The sink in words for messages, e.g. `file sink .ctconfig/secrets`."""
        ...

    def location(self, ref: SecretRef) -> str:
        """Where `ref`'s secret goes, in words (no I/O, no secret)."""
        ...

    def preflight(self, refs: Sequence[SecretRef]) -> None:
        """Raise `SinkError` (one line, no secret) if the sink cannot take the secrets of `refs`
        (the passcodes about to be created) now: before any of them is issued.

        Side-effect free: `plan` calls it, and `plan` writes nothing (no directory made, no temp
        file, no AWS write). It looks (a permission, a program on PATH, a read of each slot);
        it never stores.
        """
        ...

    def store(self, ref: SecretRef, secret: Secret) -> str:
        """Deliver one secret durably; return where it went, in words. Raises `SinkError`."""
        ...

    def store_many(self, items: Sequence[tuple[SecretRef, Secret]]) -> list[StoreOutcome]:
        """Deliver a batch durably (group-committed where the sink can); one outcome per item."""
        ...

    def read(self, ref: SecretRef) -> Secret | None:
        """Exactly the secret stored for `ref`; None if the sink holds none for it (or cannot read
        back); `SinkError` if it could not look."""
        ...


@runtime_checkable
class MovesSecrets(Protocol):
    """A sink that can move a secret to another address's slot (a rename, an account alias moved)."""

    def move(self, old: SecretRef, new: SecretRef) -> str:
        """Put the secret held for `old` in `new`'s slot, owned by `new`, then remove `old`'s slot.

        Returns where it now is, in words. A copy comes first, so a failure or a crash in between
        leaves the secret in `old`'s slot, or in both, never in neither. Raises `SinkError` when
        `old`'s slot holds nothing, or `new`'s slot belongs to another address.
        """
        ...


def store_one(sink: SecretSink, ref: SecretRef, secret: Secret) -> str:
    """`store` for sinks whose real work is `store_many`."""
    [outcome] = sink.store_many([(ref, secret)])
    return outcome.result()


def secret_bytes(secret: Secret, where: str, *, one_line: bool = False) -> bytes:
    """The secret as UTF-8, refused (with a reason, never the value) when no sink should hold it."""
    value = secret.reveal()
    if not value:
        raise SinkError(f"{where}: refusing to store an empty secret")
    if "\0" in value or (one_line and ("\n" in value or "\r" in value)):
        held = "a line" if one_line else "a text value"
        raise SinkError(f"{where}: the secret contains a line break or NUL, which {held} cannot hold")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise SinkError(f"{where}: the secret is not valid Unicode text") from None
    if len(data) > MAX_SECRET_BYTES:
        raise SinkError(f"{where}: the secret is {len(data)} bytes; a sink holds at most {MAX_SECRET_BYTES}")
    return data


def as_sink_error(exc: BaseException, doing: str, secret: Secret | None = None) -> SinkError:
    """`exc` as one line that says what was being done; a `SinkError` passes through.

    An `OSError` contributes its strerror (the path is already in `doing`);
    anything else only its type, since its message might quote data.
    """
    if isinstance(exc, SinkError):
        return exc
    if isinstance(exc, OSError):
        detail = exc.strerror or type(exc).__name__
    elif isinstance(exc, UnicodeError):
        detail = "it is not UTF-8 text"
    else:
        detail = type(exc).__name__
    message = f"{doing}: {detail}"
    if secret is not None and secret.reveal():
        message = message.replace(secret.reveal(), REDACTED)
    return SinkError(" ".join(message.split()))
