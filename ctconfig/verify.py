"""`ctconfig verify`: prove that each issued account passcode still works, as its users would.

For every managed account passcode in state, the secret is read back from the
configured sink and checked with ONE authenticated call: `GET /1/account.json`
at the provider's base URL or the account's region host, or, with the embedded
sandbox provider, straight against the sandbox store. Nothing is changed and
no secret leaves this module: each one is registered with the log redactor the
moment it is read, and results carry only addresses, statuses and hosts.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctconfig import __version__
from ctconfig.config.spec import Config
from ctconfig.domain import REGION_HOSTS, RETIRING_MARK, isoformat, parse_isoformat
from ctconfig.redaction import guard_http_logging, redact, remember_secret
from ctconfig.sandbox import Credential, SandboxStore
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SecretSink
from ctconfig.sinks.command import CommandSink
from ctconfig.state.document import AccountPasscodeRecord, State

if TYPE_CHECKING:
    import httpx

VALID = "valid"
EXPIRED = "expired"
REJECTED = "rejected"
UNREACHABLE = "unreachable"
MISSING = "missing"
MISMATCH = "mismatch"
SKIPPED = "skipped"
STATUS_ORDER = (VALID, EXPIRED, REJECTED, UNREACHABLE, MISSING, MISMATCH, SKIPPED)

ACCOUNT_PATH = "/1/account.json"
DEFAULT_TIMEOUT = 10.0
MAX_INFLIGHT_PER_ACCOUNT = 3  # CleverTap's documented limit of concurrent requests per account
_DETAIL_LIMIT = 200


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
    """A passcode to check and the secret its sink gave back."""

    ref: SecretRef
    region: str
    secret: Secret
    expires_at: str | None = None  # from state: tells "expired" from "rejected" when a 401 does not

    def past_expiry(self) -> bool:
        try:
            moment = parse_isoformat(self.expires_at)
        except ValueError:
            return False
        return moment is not None and moment <= datetime.now(UTC)


def _short(text: str) -> str:
    """One redacted line, never longer than `_DETAIL_LIMIT`."""
    line = " ".join(redact(text).split())
    return line if len(line) <= _DETAIL_LIMIT else line[: _DETAIL_LIMIT - 1] + "…"


def _selected(address: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(address, p) for p in patterns)


def collect(
    config: Config, state: State, sink: SecretSink, patterns: Sequence[str] = ()
) -> tuple[list[Candidate], list[Check]]:
    """Split the managed account passcodes into those to check and those decided already.

    Decided already: the sink cannot read back (command sink), a rotated-out
    passcode (its successor's secret took its place), a secret the sink does
    not hold, or one whose fingerprint differs from the one issued.
    """
    candidates: list[Candidate] = []
    decided: list[Check] = []
    command_sink = isinstance(sink, CommandSink)
    for typed_address, resource in sorted(state.resources.items()):
        address = str(typed_address)
        if not isinstance(resource, AccountPasscodeRecord) or not _selected(address, patterns):
            continue
        alias = typed_address.account
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
        expected = resource.secret_fingerprint
        if expected and secret.fingerprint() != expected:
            decided.append(
                Check(
                    address,
                    MISMATCH,
                    detail=f"the sink holds a different secret ({secret.fingerprint()}, issued {expected})",
                )
            )
            continue
        region = config.region_of(alias) if alias in config.accounts else config.defaults.region
        expires_at = isoformat(resource.expires_at)
        candidates.append(Candidate(ref, region, secret, expires_at))
    return candidates, decided


def verify(
    config: Config,
    state: State,
    sink: SecretSink,
    *,
    patterns: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Check]:
    """Check every selected account passcode once; results in address order."""
    candidates, decided = collect(config, state, sink, patterns)
    if config.provider.kind == "sandbox":
        checked = check_in_sandbox(Path(config.provider.path), candidates)
    else:
        checked = asyncio.run(check_over_http(config.provider.base_url, candidates, timeout))
    return sorted([*decided, *checked], key=lambda c: c.address)


# -- the embedded sandbox: no HTTP endpoint, ask the store -------------------------------


def check_in_sandbox(path: Path, candidates: Iterable[Candidate]) -> list[Check]:
    """Authenticate each secret against the sandbox store, as its API server would."""
    todo = list(candidates)
    where = f"sandbox {path}"
    if not todo:
        return []
    if not path.exists():
        return [Check(str(c.ref.address), UNREACHABLE, where, "no sandbox database there") for c in todo]
    with SandboxStore(path) as store:
        return [
            _sandbox_verdict(store.authenticate(c.ref.account_id, c.secret.reveal()), c, where) for c in todo
        ]


def _sandbox_verdict(credential: Credential | None, candidate: Candidate, where: str) -> Check:
    address = str(candidate.ref.address)
    if credential is None:
        return Check(address, REJECTED, where, "unknown account or passcode")
    if credential.status != "active":
        return Check(address, EXPIRED, where, "this passcode has expired")
    if not credential.may_call_api():
        return Check(
            address,
            REJECTED,
            where,
            f"this account enforces {credential.passcode_mode} passcodes; an account passcode is refused",
        )
    return _name_verdict(address, where, str(credential.kind), str(credential.name), candidate.ref.name)


def _name_verdict(address: str, where: str, kind: str, name: str, expected: str) -> Check:
    """A live secret must be this passcode's own, not another credential's."""
    if kind != "account" or name != expected:
        return Check(address, MISMATCH, where, f"the secret belongs to {kind} credential {name!r}")
    return Check(address, VALID, where)


# -- the management API over HTTP -----------------------------------------------------------


def account_url(base_url: str | None, region: str) -> str:
    """Where `GET /1/account.json` goes: the explicit base URL, else the region's API host."""
    if base_url:
        return base_url.rstrip("/") + ACCOUNT_PATH
    return f"https://{REGION_HOSTS.get(region, REGION_HOSTS['eu1'])}{ACCOUNT_PATH}"


async def check_over_http(
    base_url: str | None, candidates: Iterable[Candidate], timeout: float
) -> list[Check]:
    """One authenticated GET per secret, at most three in flight per account, no retries."""
    import httpx  # only HTTP checks pay for importing it

    guard_http_logging()
    todo = list(candidates)
    slots: dict[str, asyncio.Semaphore] = {}
    headers = {"User-Agent": f"ctconfig/{__version__} verify", "Accept": "application/json"}
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout), headers=headers) as client:

        async def one(candidate: Candidate) -> Check:
            slot = slots.setdefault(candidate.ref.account_id, asyncio.Semaphore(MAX_INFLIGHT_PER_ACCOUNT))
            async with slot:
                return await _http_check(client, account_url(base_url, candidate.region), candidate)

        return list(await asyncio.gather(*(one(c) for c in todo)))


async def _http_check(client: httpx.AsyncClient, url: str, candidate: Candidate) -> Check:
    import httpx

    address = str(candidate.ref.address)
    request_headers = {
        "X-CleverTap-Account-Id": candidate.ref.account_id,
        "X-CleverTap-Passcode": candidate.secret.reveal(),
    }
    try:
        response = await client.get(url, headers=request_headers)
    except httpx.HTTPError as exc:
        reason = _short(str(exc)) or "no answer"
        return Check(address, UNREACHABLE, url, f"{type(exc).__name__}: {reason}")
    said = _error_text(response)
    status = response.status_code
    if status == 200:
        credential = _json(response).get("credential") or {}
        return _name_verdict(
            address, url, str(credential.get("kind")), str(credential.get("name")), candidate.ref.name
        )
    if status == 401:
        verdict = EXPIRED if "expired" in said.lower() or candidate.past_expiry() else REJECTED
        return Check(address, verdict, url, f"401: {said}" if said else "401")
    if status == 429 or status >= 500:
        return Check(address, UNREACHABLE, url, f"HTTP {status}" + (f": {said}" if said else ""))
    return Check(address, REJECTED, url, f"{status}: {said}" if said else str(status))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _error_text(response: httpx.Response) -> str:
    """The contract's one-line `error`, redacted; never the raw body of an unknown server."""
    return _short(str(_json(response).get("error") or ""))


def summarize(checks: Sequence[Check]) -> str:
    """`3 passcode(s): 2 valid, 1 expired`, statuses in a fixed order."""
    counts = Counter(c.status for c in checks)
    parts = [f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s]]
    return f"{len(checks)} passcode(s): " + ", ".join(parts)
