"""The `clevertap` provider: the management API over HTTP (see schemas/management-api.openapi.yaml).

One pooled httpx client; at most `max_inflight` requests in flight per
account; retries with backoff and full jitter on 429/5xx and transport
errors, honouring `Retry-After`. A create or grant whose answer may have been
lost is checked by listing before it is retried, so a retry never makes a
duplicate. Secrets (the admin passcode, created secrets) are registered with
the log redactor the moment they are read and never reach a message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ctconfig import __version__
from ctconfig.config.spec import ClevertapProviderConfig
from ctconfig.domain import REGION_HOSTS, AccountSnapshot, AccountTarget, ObservedGrant, ObservedPasscode
from ctconfig.errors import AuthError, ProviderError, SecretLostError, UnavailableError
from ctconfig.providers.base import CredentialCheck, CredentialStatus, IssuedPasscode
from ctconfig.providers.clevertap_wire import (
    WireError,
    answer_error,
    grant_from,
    passcode_from,
    snapshot_from,
    success_payload,
)
from ctconfig.providers.http_retry import (
    RETRYABLE_STATUS,
    RequestStats,
    RetryPolicy,
    RetryState,
    parse_retry_after,
)
from ctconfig.redaction import guard_http_logging, remember_secret
from ctconfig.secrets import Secret

logger = logging.getLogger(__name__)
T = TypeVar("T")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class _AnswerLost(Exception):
    """Internal: a non-replayable request may have been applied; check before retrying."""


@dataclass
class _Session:
    """The client and per-account slots of one event loop (httpx pools are loop-bound)."""

    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifiedCredential:
    """What `GET /1/account.json` says a live credential is."""

    account_id: str
    kind: str  # "account" | "user"
    name: str  # passcode name or user email


class ClevertapProvider:
    """A `Provider` speaking the management API to CleverTap or any service implementing it."""

    def __init__(
        self,
        config: ClevertapProviderConfig,
        environ: Mapping[str, str],
        *,
        backoff_base: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._environ = environ
        self._policy = RetryPolicy(config.max_retries, config.retry_budget, backoff_base)
        self._rng = rng or random.Random()
        self._session_now: _Session | None = None
        self.stats = RequestStats()
        guard_http_logging()

    # ---- reading -------------------------------------------------------------

    async def read_account(self, target: AccountTarget) -> AccountSnapshot:
        """Passcodes, users and mode in three concurrent GETs; the passcode list's clock is `now`."""
        passcodes, users, mode = await asyncio.gather(
            self._get(target, "/1/passcodes.json"),
            self._get(target, "/1/users.json"),
            self._get(target, "/1/settings/passcode-mode.json"),
        )
        return self._wire(target, snapshot_from, target.account_id, passcodes, users, mode)

    async def verify_credential(
        self, target: AccountTarget, secret: Secret | None = None
    ) -> VerifiedCredential:
        """Prove a credential works as an API call would (default: the admin passcode)."""
        retry = self._policy.start(self._rng)
        response = await self._send(target, "GET", "/1/account.json", retry, secret=secret)
        payload = self._payload(target, response, "the account")
        credential = payload.get("credential") or {}
        return VerifiedCredential(
            str(payload.get("account_id")), str(credential.get("kind")), str(credential.get("name"))
        )

    async def check_credential(self, target: AccountTarget, secret: Secret) -> CredentialCheck:
        """CleverTap's documented credential check: `GET /v1/connect?partner=ctconfig`."""
        retry = self._policy.start(self._rng)
        response = await self._send(target, "GET", "/v1/connect?partner=ctconfig", retry, secret=secret)
        if response.status_code == 401:
            return CredentialCheck(CredentialStatus.REJECTED, "invalid credentials (401)")
        if response.status_code == 403:
            return CredentialCheck(CredentialStatus.FORBIDDEN, "operation not allowed (403)")
        self._payload(target, response, "the credential check")
        return CredentialCheck(CredentialStatus.VALID)

    # ---- account passcodes -----------------------------------------------------

    async def create_passcode(
        self,
        target: AccountTarget,
        name: str,
        expires_in_days: int | None,
        *,
        idempotency_key: str | None = None,
    ) -> IssuedPasscode:
        """Create once: a lost answer is resolved by listing, never by blindly posting again.

        Every attempt carries the same `Idempotency-Key`. If the listing shows the passcode
        was made, the create is asked again with that key: a server that keeps answers by
        key (the contract's sandbox does) replays the original answer, secret included; one
        that does not answers 409 (names are unique, so never a duplicate) and the secret is
        declared lost, so the passcode is recorded tainted and replaced by the next plan.
        """
        retry = self._policy.start(self._rng)
        body = {"name": name, "expires_in_days": expires_in_days}
        key = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        while True:
            try:
                response = await self._send(
                    target,
                    "POST",
                    "/1/passcodes.json",
                    retry,
                    body=body,
                    replay_safe=False,
                    extra_headers=key,
                )
            except _AnswerLost:
                existing = await self._existing(target, name)
                if existing is None:
                    continue
                response = await self._send(
                    target, "POST", "/1/passcodes.json", retry, body=body, extra_headers=key
                )
                if response.status_code != 201:
                    raise self._secret_lost(target, name, existing) from None
            if response.status_code == 409 and retry.maybe_committed:
                existing = await self._existing(target, name)
                if existing is not None:
                    raise self._secret_lost(target, name, existing)
            return self._issued(target, name, response)

    def _issued(self, target: AccountTarget, name: str, response: httpx.Response) -> IssuedPasscode:
        payload = self._payload(target, response, f"passcode {name!r}")
        secret = payload.get("secret")
        if isinstance(secret, str):
            remember_secret(secret)
        passcode = self._wire(target, passcode_from, payload.get("passcode"))
        if not isinstance(secret, str) or not secret:
            raise self._wire_error(target, f"the answer creating {name!r} has no secret")
        return IssuedPasscode(passcode=passcode, secret=Secret(secret))

    async def update_passcode(
        self, target: AccountTarget, passcode_id: str, *, name: str, expires_in_days: int | None
    ) -> ObservedPasscode:
        """PATCH sets values, so repeating it after a lost answer is harmless."""
        retry = self._policy.start(self._rng)
        body = {"name": name, "expires_in_days": expires_in_days}
        path = f"/1/passcodes/{quote(passcode_id, safe='')}.json"
        response = await self._send(target, "PATCH", path, retry, body=body)
        payload = self._payload(target, response, f"passcode {passcode_id}")
        return self._wire(target, passcode_from, payload.get("passcode"))

    async def delete_passcode(self, target: AccountTarget, passcode_id: str) -> None:
        """A 404 after an attempt that may have succeeded means it did."""
        retry = self._policy.start(self._rng)
        path = f"/1/passcodes/{quote(passcode_id, safe='')}.json"
        response = await self._send(target, "DELETE", path, retry)
        if response.status_code == 404 and retry.maybe_committed:
            return
        self._payload(target, response, f"passcode {passcode_id}")

    # ---- user passcodes ----------------------------------------------------------

    async def grant_user_passcode(
        self, target: AccountTarget, email: str, validity_days: int | None
    ) -> ObservedGrant:
        """Grant once; after a lost answer an existing grant is the success we did not see."""
        retry = self._policy.start(self._rng)
        path = self._user_path(email, "passcode.json")
        while True:
            try:
                response = await self._send(
                    target,
                    "POST",
                    path,
                    retry,
                    body={"validity_days": validity_days},
                    replay_safe=False,
                )
            except _AnswerLost:
                found = await self._find_grant(target, email)
                if found is not None:
                    return found
                continue
            if response.status_code == 409 and retry.maybe_committed:
                found = await self._find_grant(target, email)
                if found is not None:
                    return found
            payload = self._payload(target, response, f"user {email}")
            return self._wire(target, grant_from, email, payload.get("user_passcode"))

    async def reset_user_passcode(self, target: AccountTarget, email: str) -> ObservedGrant:
        """Repeating a reset only issues the user another fresh secret: safe to replay."""
        retry = self._policy.start(self._rng)
        response = await self._send(target, "POST", self._user_path(email, "passcode/reset.json"), retry)
        payload = self._payload(target, response, f"user passcode of {email}")
        return self._wire(target, grant_from, email, payload.get("user_passcode"))

    async def revoke_user_passcode(self, target: AccountTarget, email: str) -> None:
        """A 404 after an attempt that may have succeeded means it did."""
        retry = self._policy.start(self._rng)
        response = await self._send(target, "DELETE", self._user_path(email, "passcode.json"), retry)
        if response.status_code == 404 and retry.maybe_committed:
            return
        self._payload(target, response, f"user passcode of {email}")

    async def set_passcode_mode(self, target: AccountTarget, mode: str) -> None:
        """PUT of a value: idempotent."""
        retry = self._policy.start(self._rng)
        response = await self._send(
            target, "PUT", "/1/settings/passcode-mode.json", retry, body={"passcode_mode": mode}
        )
        self._payload(target, response, "the passcode mode setting")

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._session_now is not None:
            session, self._session_now = self._session_now, None
            await session.client.aclose()

    # ---- lost answers --------------------------------------------------------------

    async def _existing(self, target: AccountTarget, name: str) -> ObservedPasscode | None:
        """The passcode named `name`, if an attempt whose answer we lost created it."""
        snapshot_passcodes = await self._get(target, "/1/passcodes.json")
        folded = name.casefold()
        for item in snapshot_passcodes.get("passcodes") or []:
            passcode = self._wire(target, passcode_from, item)
            if passcode.name.casefold() == folded:
                return passcode
        return None

    @staticmethod
    def _secret_lost(target: AccountTarget, name: str, passcode: ObservedPasscode) -> SecretLostError:
        return SecretLostError(
            f"account `{target.alias}`: passcode {name!r} was created but the answer carrying "
            "its secret was lost; it is recorded tainted and the next plan replaces it",
            passcode,
        )

    async def _find_grant(self, target: AccountTarget, email: str) -> ObservedGrant | None:
        users = await self._get(target, "/1/users.json")
        folded = email.casefold()
        for item in users.get("users") or []:
            if isinstance(item, dict) and str(item.get("email", "")).casefold() == folded:
                grant = item.get("user_passcode")
                return None if grant is None else self._wire(target, grant_from, email, grant)
        return None

    # ---- the wire ------------------------------------------------------------------

    async def _get(self, target: AccountTarget, path: str) -> dict[str, Any]:
        response = await self._send(target, "GET", path, self._policy.start(self._rng))
        return self._payload(target, response, path)

    async def _send(
        self,
        target: AccountTarget,
        method: str,
        path: str,
        retry: RetryState,
        *,
        body: dict[str, Any] | None = None,
        replay_safe: bool = True,
        secret: Secret | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send until an answer that is not worth retrying; raise `_AnswerLost` when unsure."""
        session = self._session()
        url = self._base_url(target) + path
        headers = {
            "X-CleverTap-Account-Id": target.account_id,
            "X-CleverTap-Passcode": (secret or self._admin_passcode(target)).reveal(),
            **(extra_headers or {}),
        }
        slot = session.slots.setdefault(target.account_id, asyncio.Semaphore(self._config.max_inflight))
        while True:
            response: httpx.Response | None = None
            failure: httpx.TransportError | None = None
            async with slot:
                try:
                    response = await session.client.request(method, url, headers=headers, json=body)
                except httpx.TransportError as exc:
                    failure = exc
            if response is None:
                outcome, retry_after = type(failure).__name__, None
            elif response.status_code not in RETRYABLE_STATUS:
                self.stats.record(str(response.status_code))
                return response
            else:
                outcome = str(response.status_code)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            self.stats.record(outcome)
            delay = retry.next_delay(retry_after)
            if delay is None:
                raise self._gave_up(target, method, path, retry, response, failure)
            retry.retries += 1
            self.stats.retries += 1
            maybe_committed = (failure is not None and not isinstance(failure, _NOT_SENT)) or (
                response is not None and response.status_code >= 500
            )
            logger.debug(
                "%s %s for account %s: %s; retry %d in %.2fs",
                *(method, path, target.alias, outcome, retry.retries, delay),
            )
            await asyncio.sleep(delay)
            if maybe_committed and method != "GET":
                retry.maybe_committed = True
                self.stats.lost_answers += 1
                if not replay_safe:
                    raise _AnswerLost

    def _session(self) -> _Session:
        loop = asyncio.get_running_loop()
        if self._session_now is None or self._session_now.loop is not loop:
            timeout = httpx.Timeout(self._config.timeout, connect=self._config.connect_timeout)
            client = httpx.AsyncClient(timeout=timeout, headers={"User-Agent": f"ctconfig/{__version__}"})
            self._session_now = _Session(loop, client)
        return self._session_now

    def _base_url(self, target: AccountTarget) -> str:
        if self._config.base_url:
            return self._config.base_url.rstrip("/")
        host = REGION_HOSTS.get(target.region)
        if host is None:
            raise ProviderError(f"account `{target.alias}`: unknown region {target.region!r}")
        return f"https://{host}"

    def _admin_passcode(self, target: AccountTarget) -> Secret:
        """The admin passcode from the environment, registered with the redactor on first read."""
        if not target.passcode_env:
            raise AuthError(
                f"account `{target.alias}` has no credentials.passcode_env; the clevertap provider "
                "needs the name of a variable holding an admin passcode"
            )
        value = self._environ.get(target.passcode_env, "").strip()
        if not value:
            raise AuthError(
                f"environment variable {target.passcode_env} (the admin passcode for account "
                f"`{target.alias}`) is not set or empty"
            )
        remember_secret(value)
        return Secret(value)

    @staticmethod
    def _user_path(email: str, tail: str) -> str:
        return f"/1/users/{quote(email, safe='@')}/{tail}"

    def _payload(self, target: AccountTarget, response: httpx.Response, what: str) -> dict[str, Any]:
        """The JSON of a 2xx answer, or the one-line error the status calls for."""
        if response.status_code >= 400:
            raise answer_error(target, response, what)
        return self._wire(target, success_payload, response)

    def _wire(self, target: AccountTarget, parse: Callable[..., T], *args: Any) -> T:
        """Run a parser; an off-contract answer becomes one line naming the account."""
        try:
            return parse(*args)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._wire_error(target, str(exc)) from None

    def _wire_error(self, target: AccountTarget, detail: str) -> WireError:
        return WireError(f"account `{target.alias}`: malformed answer from the API ({detail})")

    def _gave_up(
        self,
        target: AccountTarget,
        method: str,
        path: str,
        retry: RetryState,
        response: httpx.Response | None,
        failure: httpx.TransportError | None,
    ) -> Exception:
        attempts = retry.retries + 1
        spent = f"after {attempts} attempt{'s' if attempts > 1 else ''} in {retry.elapsed():.1f}s"
        if failure is not None:
            reason = str(failure) or type(failure).__name__
            return UnavailableError(f"cannot reach {self._base_url(target)}: {reason} ({spent})")
        assert response is not None
        return answer_error(target, response, f"{method} {path}", suffix=f" ({spent})")
