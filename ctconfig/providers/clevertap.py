"""The `clevertap` provider: the management API over HTTP (see schemas/management-api.openapi.yaml).

All requests go through one `HttpTransport` (one pooled client, at most
`max_inflight` requests in flight per account, retries with full jitter on
429/5xx and transport errors, honouring `Retry-After`). A create or grant whose
answer may have been lost is checked by listing before it is retried, so a
retry never makes a duplicate; when retries give up on a change that may have
been made, the error is an `OutcomeUnknownError`. Credential checks use
CleverTap's documented `GET /v1/connect?partner=ctconfig`. Every secret bound
for a header is checked first (printable ASCII, bounded length) and refused by
the name of its source, never its value; secrets (the admin passcode, created
secrets) are registered with the redactor the moment they are read.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from ctconfig.config.spec import ClevertapProviderConfig
from ctconfig.domain import AccountSnapshot, AccountTarget, ObservedGrant, ObservedPasscode
from ctconfig.errors import AuthError, OutcomeUnknownError, ProviderError, SecretLostError
from ctconfig.providers.base import CredentialCheck, CredentialStatus, IssuedPasscode
from ctconfig.providers.clevertap_wire import (
    WireError,
    answer_error,
    error_text,
    grant_from,
    passcode_from,
    snapshot_from,
    success_payload,
)
from ctconfig.providers.http_framing import Answer
from ctconfig.providers.http_headers import header_value_problem
from ctconfig.providers.http_retry import DEFAULT_BASE_DELAY, RequestStats, RetryPolicy, RetryState, Sleep
from ctconfig.providers.http_transport import AnswerLost, HttpTransport, outcome_unknown
from ctconfig.redaction import guard_http_logging, remember_secret
from ctconfig.secrets import Secret

T = TypeVar("T")

CONNECT_PATH = "/v1/connect?partner=ctconfig"
"""CleverTap's documented partner credential check: 200 valid, 401 invalid."""
PASSCODES_PATH = "/1/passcodes.json"


class ClevertapProvider:
    """A `Provider` speaking the management API to CleverTap or any service implementing it."""

    def __init__(
        self,
        config: ClevertapProviderConfig,
        environ: Mapping[str, str],
        *,
        backoff_base: float = DEFAULT_BASE_DELAY,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`clock` and `sleep` time the retries; tests pass fake ones to ride out outages at once."""
        self._environ = environ
        self._admin_secrets: dict[str, Secret] = {}
        policy = RetryPolicy(config.max_retries, config.retry_budget, backoff_base, clock=clock, sleep=sleep)
        self.stats = RequestStats()
        self._http = HttpTransport(config, policy, rng or random.Random(), self.stats)
        guard_http_logging()

    # ---- reading -------------------------------------------------------------

    async def read_account(self, target: AccountTarget) -> AccountSnapshot:
        """Passcodes, users and mode in three concurrent GETs; the passcode list's clock is `now`."""
        passcodes, users, mode = await asyncio.gather(
            self._get(target, PASSCODES_PATH),
            self._get(target, "/1/users.json"),
            self._get(target, "/1/settings/passcode-mode.json"),
        )
        return self._wire(target, snapshot_from, target.account_id, passcodes, users, mode)

    async def check_credential(self, target: AccountTarget, secret: Secret) -> CredentialCheck:
        """CleverTap's documented credential check, with the same limits and retries as every call.

        A secret that cannot be sent as a header is REJECTED without a request. Other
        answers than 200/401/403 raise the usual `ProviderError` (UnavailableError after
        retries on 429/5xx or no answer).
        """
        problem = header_value_problem(secret.reveal())
        if problem is not None:
            return CredentialCheck(CredentialStatus.REJECTED, f"not a usable passcode: {problem}")
        headers = self._headers(target, secret)
        response = await self._http.send(target, "GET", CONNECT_PATH, self._http.start(), headers)
        said = error_text(response)
        status = response.status_code
        if status == 401:
            return CredentialCheck(CredentialStatus.REJECTED, f"401: {said}" if said else "401")
        if status == 403:
            return CredentialCheck(CredentialStatus.FORBIDDEN, f"403: {said}" if said else "403")
        if not 200 <= status < 300:
            raise answer_error(target, response, "the credential check")
        return CredentialCheck(CredentialStatus.VALID)

    def credential_check_url(self, target: AccountTarget) -> str:
        """Where `check_credential` asks, for reports (never with a secret in it)."""
        return self._http.base_url(target) + CONNECT_PATH

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
        declared lost (`SecretLostError`). When retries give up after an attempt that may
        have made the passcode, the error is an `OutcomeUnknownError`.
        """
        retry = self._http.start()
        body = {"name": name, "expires_in_days": expires_in_days}
        headers = self._headers(target, extra={"Idempotency-Key": self._idempotency_key(idempotency_key)})
        while True:
            try:
                response: Answer | None = await self._http.send(
                    target, "POST", PASSCODES_PATH, retry, headers, body=body, replay_safe=False
                )
            except AnswerLost:
                response = None
            if response is not None and not (response.status_code == 409 and retry.maybe_committed):
                return self._issued(target, name, response)
            # An earlier attempt may have made it (its answer lost, or a 409 for our own create).
            existing = await self._settling(self._find_passcode(target, name, retry))
            if existing is not None:
                replay = await self._http.send(target, "POST", PASSCODES_PATH, retry, headers, body=body)
                if replay.status_code != 201:
                    raise self._secret_lost(target, name, existing)
                return self._issued(target, name, replay)
            if response is not None:
                return self._issued(target, name, response)  # a 409 for someone else's: ConflictError

    @staticmethod
    async def _settling(lookup: Awaitable[T]) -> T:
        """A lookup that settles a change we may have made: any failure leaves its outcome unknown."""
        try:
            return await lookup
        except OutcomeUnknownError:
            raise
        except ProviderError as exc:
            raise outcome_unknown(exc) from None

    def _issued(self, target: AccountTarget, name: str, response: Answer) -> IssuedPasscode:
        payload = self._payload(target, response, f"passcode {name!r}")
        secret = payload.get("secret")
        if isinstance(secret, str):
            remember_secret(secret)
        passcode = self._wire(target, passcode_from, payload.get("passcode"))
        if not isinstance(secret, str) or not secret:
            raise self._wire_error(target, f"the answer creating {name!r} has no secret")
        problem = header_value_problem(secret)
        if problem is not None:
            raise SecretLostError(
                f"account `{target.alias}`: passcode {name!r} was created but the API answered "
                f"a secret that cannot be a passcode ({problem}); it is recorded tainted and the "
                "next plan replaces it",
                passcode,
            )
        return IssuedPasscode(passcode=passcode, secret=Secret(secret))

    async def update_passcode(
        self, target: AccountTarget, passcode_id: str, *, name: str, expires_in_days: int | None
    ) -> ObservedPasscode:
        """PATCH sets values, so repeating it after a lost answer is harmless."""
        body = {"name": name, "expires_in_days": expires_in_days}
        path = f"/1/passcodes/{quote(passcode_id, safe='')}.json"
        response = await self._send(target, "PATCH", path, body=body)
        payload = self._payload(target, response, f"passcode {passcode_id}")
        return self._wire(target, passcode_from, payload.get("passcode"))

    async def delete_passcode(self, target: AccountTarget, passcode_id: str) -> None:
        """A 404 after an attempt that may have succeeded means it did."""
        retry = self._http.start()
        path = f"/1/passcodes/{quote(passcode_id, safe='')}.json"
        response = await self._http.send(target, "DELETE", path, retry, self._headers(target))
        if response.status_code == 404 and retry.maybe_committed:
            return
        self._payload(target, response, f"passcode {passcode_id}")

    # ---- user passcodes ----------------------------------------------------------

    async def grant_user_passcode(
        self, target: AccountTarget, email: str, validity_days: int | None
    ) -> ObservedGrant:
        """Grant once; after a lost answer an existing grant is the success we did not see."""
        retry = self._http.start()
        path = self._user_path(email, "passcode.json")
        headers = self._headers(target)
        while True:
            try:
                response = await self._http.send(
                    target,
                    "POST",
                    path,
                    retry,
                    headers,
                    body={"validity_days": validity_days},
                    replay_safe=False,
                )
            except AnswerLost:
                found = await self._settling(self._find_grant(target, email, retry))
                if found is not None:
                    return found
                continue
            if response.status_code == 409 and retry.maybe_committed:
                found = await self._settling(self._find_grant(target, email, retry))
                if found is not None:
                    return found
            payload = self._payload(target, response, f"user {email}")
            return self._wire(target, grant_from, email, payload.get("user_passcode"))

    async def reset_user_passcode(self, target: AccountTarget, email: str) -> ObservedGrant:
        """Repeating a reset only issues the user another fresh secret: safe to replay."""
        response = await self._send(target, "POST", self._user_path(email, "passcode/reset.json"))
        payload = self._payload(target, response, f"user passcode of {email}")
        return self._wire(target, grant_from, email, payload.get("user_passcode"))

    async def revoke_user_passcode(self, target: AccountTarget, email: str) -> None:
        """A 404 after an attempt that may have succeeded means it did."""
        retry = self._http.start()
        path = self._user_path(email, "passcode.json")
        response = await self._http.send(target, "DELETE", path, retry, self._headers(target))
        if response.status_code == 404 and retry.maybe_committed:
            return
        self._payload(target, response, f"user passcode of {email}")

    async def set_passcode_mode(self, target: AccountTarget, mode: str) -> None:
        """PUT of a value: idempotent."""
        body = {"passcode_mode": mode}
        response = await self._send(target, "PUT", "/1/settings/passcode-mode.json", body=body)
        self._payload(target, response, "the passcode mode setting")

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    # ---- lost answers --------------------------------------------------------------

    async def _find_passcode(
        self, target: AccountTarget, name: str, retry: RetryState
    ) -> ObservedPasscode | None:
        """The passcode named `name`, if an attempt whose answer we lost created it."""
        listed = await self._get(target, PASSCODES_PATH, retry)
        folded = name.casefold()
        for item in listed.get("passcodes") or []:
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

    async def _find_grant(self, target: AccountTarget, email: str, retry: RetryState) -> ObservedGrant | None:
        users = await self._get(target, "/1/users.json", retry)
        folded = email.casefold()
        for item in users.get("users") or []:
            if isinstance(item, dict) and str(item.get("email", "")).casefold() == folded:
                grant = item.get("user_passcode")
                return None if grant is None else self._wire(target, grant_from, email, grant)
        return None

    # ---- the wire ------------------------------------------------------------------

    async def _get(self, target: AccountTarget, path: str, retry: RetryState | None = None) -> dict[str, Any]:
        """A GET's payload; `retry` is the operation's own when the GET resolves a lost answer."""
        response = await self._http.send(
            target, "GET", path, retry or self._http.start(), self._headers(target)
        )
        return self._payload(target, response, path)

    async def _send(
        self, target: AccountTarget, method: str, path: str, *, body: dict[str, Any] | None = None
    ) -> Answer:
        """A request that is safe to replay, with the admin's headers and a fresh retry budget."""
        return await self._http.send(
            target, method, path, self._http.start(), self._headers(target), body=body
        )

    def _headers(
        self, target: AccountTarget, secret: Secret | None = None, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        """Account id and passcode (default: the admin's), each checked before it is sent."""
        if header_value_problem(target.account_id) is not None:
            raise ProviderError(f"account `{target.alias}`: the account id is not a valid account id")
        passcode = secret if secret is not None else self._admin_passcode(target)
        headers = {"X-CleverTap-Account-Id": target.account_id, "X-CleverTap-Passcode": passcode.reveal()}
        if extra:
            headers.update(extra)
        return headers

    @staticmethod
    def _idempotency_key(given: str | None) -> str:
        if given is None:
            return uuid.uuid4().hex
        if header_value_problem(given) is not None:
            raise ProviderError("the idempotency key of a create must be printable ASCII, 1-256 characters")
        return given

    def _admin_passcode(self, target: AccountTarget) -> Secret:
        """The admin passcode from the environment, checked and registered with the redactor once."""
        env = target.passcode_env
        if not env:
            raise AuthError(
                f"account `{target.alias}` has no credentials.passcode_env; the clevertap provider "
                "needs the name of a variable holding an admin passcode"
            )
        known = self._admin_secrets.get(env)
        if known is not None:
            return known
        value = self._environ.get(env, "").strip()
        if not value:
            raise AuthError(
                f"environment variable {env} (the admin passcode for account `{target.alias}`) "
                "is not set or empty"
            )
        remember_secret(value)
        problem = header_value_problem(value)
        if problem is not None:
            raise AuthError(
                f"environment variable {env} (the admin passcode for account `{target.alias}`) "
                f"cannot be a passcode: {problem}"
            )
        self._admin_secrets[env] = Secret(value)
        return self._admin_secrets[env]

    @staticmethod
    def _user_path(email: str, tail: str) -> str:
        return f"/1/users/{quote(email, safe='@')}/{tail}"

    def _payload(self, target: AccountTarget, response: Answer, what: str) -> dict[str, Any]:
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
