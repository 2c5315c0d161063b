"""`ctconfig verify`: prove that each issued account passcode still works, as its users would.

For every managed account passcode in state, the secret is read back from the
configured sink and handed to the configured provider's `check_credential`:
the `clevertap` provider asks CleverTap's documented credential check
(`GET /v1/connect?partner=ctconfig`) with the provider's one HTTP client, its
3-in-flight-per-account limit and its retries (429 and 5xx included); the
embedded sandbox provider asks its store in-process. Nothing is changed.

The credential check says whether a secret authenticates, not which passcode
it belongs to. So a secret that works but belongs to another credential (the
sink's slot overwritten with a sibling's secret) is caught before any call:
its fingerprint differs from the one state recorded when the passcode was
issued, and it is reported as `mismatch`. Statuses: valid, expired (rejected,
and past the expiry state recorded or the server says so), rejected,
unreachable, missing (the sink holds nothing), mismatch, skipped.

No secret leaves this module: each is registered with the redactor the
moment it is read, and results carry only addresses, statuses and places.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ctconfig.config.spec import Config
from ctconfig.domain import RETIRING_MARK, AccountTarget, isoformat, parse_isoformat
from ctconfig.errors import ProviderError, UnavailableError
from ctconfig.providers.base import CredentialCheck, CredentialStatus, Provider
from ctconfig.redaction import redact, remember_secret
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SecretSink
from ctconfig.sinks.command import CommandSink
from ctconfig.state.document import AccountPasscodeRecord, State

VALID = "valid"
EXPIRED = "expired"
REJECTED = "rejected"
UNREACHABLE = "unreachable"
MISSING = "missing"
MISMATCH = "mismatch"
SKIPPED = "skipped"
STATUS_ORDER = (VALID, EXPIRED, REJECTED, UNREACHABLE, MISSING, MISMATCH, SKIPPED)

_DETAIL_LIMIT = 200

WhereFn = Callable[[AccountTarget], str]


@dataclass(frozen=True)
class Check:
    """The verdict on one passcode: its address, a status, where it was checked and why."""

    address: str
    status: str
    where: str = ""
    detail: str = ""

    @property
    def failed(self) -> bool:
        """Skipped passcodes are not failures: the sink simply cannot give their secret back."""
        return self.status not in (VALID, SKIPPED)

    def to_json(self) -> dict[str, str]:
        return {"address": self.address, "status": self.status, "where": self.where, "detail": self.detail}


@dataclass(frozen=True)
class Candidate:
    """A passcode to check, the account to check it with, and the secret its sink gave back."""

    address: str
    target: AccountTarget
    secret: Secret
    expires_at: str | None = None  # from state: tells "expired" from "rejected" when a 401 does not

    def past_expiry(self, now: datetime) -> bool:
        try:
            moment = parse_isoformat(self.expires_at)
        except ValueError:
            return False
        return moment is not None and moment <= now


def _short(text: str) -> str:
    """One redacted line, never longer than `_DETAIL_LIMIT`."""
    line = " ".join(redact(text).split())
    return line if len(line) <= _DETAIL_LIMIT else line[: _DETAIL_LIMIT - 1] + "…"


def _selected(address: str, patterns: Sequence[str], excludes: Sequence[str] = ()) -> bool:
    def matches(globs: Sequence[str]) -> bool:
        return any(fnmatch.fnmatchcase(address, p) or address.startswith(p.rstrip("/") + "/") for p in globs)

    return (not patterns or matches(patterns)) and not matches(excludes)


def _target(config: Config, alias: str, account_id: str) -> AccountTarget:
    """How to reach the account; one no longer in the config is reached in the default region."""
    region = config.region_of(alias) if alias in config.accounts else config.defaults.region
    return AccountTarget(alias=alias, account_id=account_id, region=region)


def collect(
    config: Config,
    state: State,
    sink: SecretSink,
    patterns: Sequence[str] = (),
    excludes: Sequence[str] = (),
) -> tuple[list[Candidate], list[Check]]:
    """Split the managed account passcodes into those to check and those decided already.

    The one place verify reads state records. Decided already: the sink cannot
    read back (command sink), a rotated-out passcode (its successor's secret
    took its place), a secret the sink does not hold, or one whose fingerprint
    differs from the one issued.
    """
    candidates: list[Candidate] = []
    decided: list[Check] = []
    command_sink = isinstance(sink, CommandSink)
    for typed_address, resource in sorted(state.resources.items()):
        address = str(typed_address)
        if not isinstance(resource, AccountPasscodeRecord) or not _selected(address, patterns, excludes):
            continue
        if command_sink:
            decided.append(Check(address, SKIPPED, detail="the command sink cannot read secrets back"))
            continue
        if resource.retire_after is not None or RETIRING_MARK in resource.name:
            decided.append(Check(address, SKIPPED, detail="rotated out; the sink holds its successor"))
            continue
        ref = SecretRef(typed_address, resource.account_id)
        secret = sink.read(ref)
        if secret is None:
            if resource.secret_known:
                decided.append(Check(address, MISSING, detail="the sink holds no secret for it"))
            else:
                decided.append(Check(address, SKIPPED, detail="ctconfig never held its secret"))
            continue
        remember_secret(secret.reveal())
        issued = resource.secret_fingerprint
        if issued and not secret.matches(issued):
            held = f"the sink holds a different secret ({secret.fingerprint_as(issued)}, issued {issued})"
            decided.append(Check(address, MISMATCH, detail=held))
            continue
        target = _target(config, typed_address.account, resource.account_id)
        candidates.append(Candidate(address, target, secret, isoformat(resource.expires_at)))
    return candidates, decided


def verify(
    config: Config,
    state: State,
    sink: SecretSink,
    *,
    patterns: Sequence[str] = (),
    excludes: Sequence[str] = (),
    timeout: float | None = None,
    now: datetime | None = None,
) -> list[Check]:
    """Check every selected account passcode once with the configured provider; results in address order.

    `timeout` overrides the `clevertap` provider's; `now` (this machine's clock by
    default) decides which rejected passcodes are past their recorded expiry.
    """
    candidates, decided = collect(config, state, sink, patterns, excludes)
    moment = now or datetime.now(UTC)
    if not candidates:
        checked: list[Check] = []
    elif config.provider.kind == "sandbox" and not Path(config.provider.path).exists():
        where = f"sandbox {config.provider.path}"
        checked = [Check(c.address, UNREACHABLE, where, "no sandbox database there") for c in candidates]
    else:
        checked = asyncio.run(_check_with_provider(config, candidates, timeout, moment))
    return sorted([*decided, *checked], key=lambda c: c.address)


async def _check_with_provider(
    config: Config, candidates: Sequence[Candidate], timeout: float | None, now: datetime
) -> list[Check]:
    """Open the configured provider in this event loop, check everything, close it."""
    from ctconfig.providers.factory import open_provider

    if timeout is not None and config.provider.kind == "clevertap":
        provider_config = config.provider.model_copy(update={"timeout": timeout})
        config = config.model_copy(update={"provider": provider_config})
    provider = open_provider(config, read_only=True)
    try:
        return await check_all(provider, candidates, now, _describer(config, provider))
    finally:
        await provider.aclose()


def _describer(config: Config, provider: Provider) -> WhereFn:
    """Where checks are made: the credential check's URL, or the sandbox database."""
    if config.provider.kind == "sandbox":
        where = f"sandbox {config.provider.path}"
        return lambda target: where
    # The clevertap and dashboard providers both ask CleverTap's credential check over HTTP.
    check_url: Callable[[AccountTarget], str] = provider.credential_check_url  # type: ignore[attr-defined]

    def url(target: AccountTarget) -> str:
        try:
            return check_url(target)
        except ProviderError:  # an unknown region: the check itself says so
            return ""

    return url


async def check_all(
    provider: Provider,
    candidates: Sequence[Candidate],
    now: datetime,
    where: WhereFn = lambda target: "",
) -> list[Check]:
    """Ask `provider` about every candidate at once; the provider keeps each account's limit."""
    return list(await asyncio.gather(*(_check_one(provider, c, now, where(c.target)) for c in candidates)))


async def _check_one(provider: Provider, candidate: Candidate, now: datetime, where: str) -> Check:
    try:
        verdict = await provider.check_credential(candidate.target, candidate.secret)
    except UnavailableError as exc:
        return Check(candidate.address, UNREACHABLE, where, _short(str(exc)))
    except ProviderError as exc:
        return Check(candidate.address, REJECTED, where, _short(str(exc)))
    return _status_of(candidate, verdict, now, where)


def _status_of(candidate: Candidate, verdict: CredentialCheck, now: datetime, where: str) -> Check:
    """valid / expired / rejected from the provider's verdict and the expiry recorded in state."""
    detail = _short(verdict.detail)
    if verdict.status == CredentialStatus.VALID:
        return Check(candidate.address, VALID, where)
    if verdict.status == CredentialStatus.FORBIDDEN:
        return Check(candidate.address, REJECTED, where, detail or "forbidden")
    expired = candidate.past_expiry(now) or "expired" in detail.lower()
    return Check(candidate.address, EXPIRED if expired else REJECTED, where, detail)


def summarize(checks: Sequence[Check]) -> str:
    """`3 passcode(s): 2 valid, 1 expired`, statuses in a fixed order."""
    counts = Counter(c.status for c in checks)
    parts = [f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s]]
    return f"{len(checks)} passcode(s): " + ", ".join(parts)
