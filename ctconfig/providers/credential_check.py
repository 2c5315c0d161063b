"""CleverTap's credential check for the dashboard provider, over the one HTTP transport.

`GET {region host}/v1/connect?partner=ctconfig` with `X-CleverTap-Account-Id`
and `X-CleverTap-Passcode`: 200 valid, 401 "Invalid credentials or URL", 403
not allowed. The requests go through `HttpTransport`: at most 3 in flight per
account, 429 and 5xx retried with backoff honouring `Retry-After`, every
failure one line without the secret.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

from ctconfig.config.spec import ClevertapProviderConfig, DashboardProviderConfig
from ctconfig.config.types import url_problem
from ctconfig.domain import AccountTarget
from ctconfig.errors import ProviderError
from ctconfig.providers.base import CredentialCheck, CredentialStatus
from ctconfig.providers.clevertap_wire import answer_error, error_text
from ctconfig.providers.http_headers import header_value_problem
from ctconfig.providers.http_retry import DEFAULT_BASE_DELAY, RequestStats, RetryPolicy, Sleep
from ctconfig.providers.http_transport import HttpTransport
from ctconfig.redaction import guard_http_logging, remember_secret
from ctconfig.secrets import Secret

CONNECT_PATH = "/v1/connect?partner=ctconfig"
MAX_CHECKS_IN_FLIGHT = 3
"""CleverTap's documented limit of concurrent requests per account."""


class CredentialChecker:
    """Asks CleverTap whether a secret authenticates API calls for one account."""

    def __init__(
        self,
        config: DashboardProviderConfig,
        *,
        backoff_base: float = DEFAULT_BASE_DELAY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`clock` and `sleep` time the retries; tests pass fake ones."""
        if config.base_url is not None and url_problem(config.base_url) is not None:
            raise ProviderError(f"provider.base_url: {url_problem(config.base_url)}")
        transport_config = ClevertapProviderConfig(
            kind="clevertap",
            base_url=config.base_url,
            timeout=config.timeout,
            connect_timeout=config.connect_timeout,
            max_inflight=MAX_CHECKS_IN_FLIGHT,
            max_retries=config.max_retries,
            retry_budget=config.retry_budget,
        )
        policy = RetryPolicy(config.max_retries, config.retry_budget, backoff_base, clock=clock, sleep=sleep)
        self.stats = RequestStats()
        self._http = HttpTransport(transport_config, policy, random.Random(), self.stats)
        guard_http_logging()

    def url(self, target: AccountTarget) -> str:
        """Where the check is asked, for messages (never with a secret)."""
        return self._http.base_url(target) + CONNECT_PATH

    async def check(self, target: AccountTarget, secret: Secret) -> CredentialCheck:
        """200 VALID, 401 REJECTED, 403 FORBIDDEN; anything else after retries raises a `ProviderError`."""
        value = secret.reveal()
        remember_secret(value)
        problem = header_value_problem(value)
        if problem is not None:
            return CredentialCheck(CredentialStatus.REJECTED, f"not a usable passcode: {problem}")
        if header_value_problem(target.account_id) is not None:
            raise ProviderError(f"account `{target.alias}`: the account id is not a valid account id")
        headers = {"X-CleverTap-Account-Id": target.account_id, "X-CleverTap-Passcode": value}
        response = await self._http.send(target, "GET", CONNECT_PATH, self._http.start(), headers)
        said = error_text(response)
        if response.status_code == 401:
            return CredentialCheck(CredentialStatus.REJECTED, f"401: {said}" if said else "401")
        if response.status_code == 403:
            return CredentialCheck(CredentialStatus.FORBIDDEN, f"403: {said}" if said else "403")
        if not 200 <= response.status_code < 300:
            raise answer_error(target, response, "the credential check")
        return CredentialCheck(CredentialStatus.VALID)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()
