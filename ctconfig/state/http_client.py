"""Talking to a Terraform HTTP backend server: bounded answers, one-line errors, credentials by name.

`HttpBackend` speaks the protocol (GET/POST the state, LOCK/UNLOCK); this module
is the wire underneath it: basic auth from the variables the config names, every
answer read up to a bound, and each failure turned into one line that names the
server and what ctconfig was trying to do — never a credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ctconfig import __version__
from ctconfig.config.spec import HttpStateConfig
from ctconfig.errors import CtconfigError
from ctconfig.jsonshape import Shape, ShapeError, parse_json
from ctconfig.state import limits
from ctconfig.state.document import StateError

MAX_ANSWER_BYTES = 1024 * 1024  # any answer but the state: lock info, error pages


class HttpStateError(StateError):
    """The state server could not be reached, refused the credentials, or answered oddly."""


@dataclass(frozen=True)
class Answer:
    """A server's answer, its body read whole but bounded."""

    status_code: int
    reason_phrase: str
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self, shape: Shape) -> Any:
        """The body as JSON of `shape`; ShapeError (one line) when it is not."""
        return parse_json(self.content, shape)

    def holder_info(self) -> Any:
        """The body as a lock record, None when it is not one (too large, deep, or not JSON)."""
        try:
            return self.json(limits.LOCK_SHAPE)
        except ShapeError:
            return None


def _env_value(environ: Mapping[str, str], name: str | None, field: str) -> str | None:
    if name is None:
        return None
    value = environ.get(name)
    if value is None:
        raise CtconfigError(f"state.{field} names ${name}, which is not set")
    return value


class StateServerClient:
    """One pooled client for one state server, with its credentials from the environment."""

    def __init__(self, config: HttpStateConfig, environ: Mapping[str, str], where: str) -> None:
        self.where = where
        self.timeout = config.timeout
        self._credential_names = (config.username_env, config.password_env)
        username = _env_value(environ, config.username_env, "username_env")
        password = _env_value(environ, config.password_env, "password_env")
        self._has_password = password is not None
        auth = httpx.BasicAuth(username or "", password) if password is not None else None
        self._client = httpx.Client(
            auth=auth,
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 5.0)),
            follow_redirects=True,
            headers={"User-Agent": f"ctconfig/{__version__}"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        purpose: str,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        limit: int = MAX_ANSWER_BYTES,
        what: str = "answer",
    ) -> Answer:
        """One request, its answer read up to `limit` bytes; failures become one-line errors."""
        target = httpx.URL(url)
        if params:
            target = target.copy_merge_params(params)
        if content is not None:  # GitLab reads the lock ID from a JSON body only with this type
            headers = {"Content-Type": "application/json", **(headers or {})}
        request = self._client.build_request(method, target, content=content, headers=headers)
        try:
            response = self._client.send(request, stream=True)
            try:
                answer = self._read_bounded(response, limit, what)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise HttpStateError(
                f"the state server at {self.where} did not answer within {self.timeout:g}s ({purpose})"
            ) from exc
        except httpx.TransportError as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise HttpStateError(f"cannot reach the state server at {self.where}: {reason}") from exc
        except httpx.HTTPError as exc:  # e.g. a body that does not decode as its Content-Encoding says
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise HttpStateError(f"the state server at {self.where} answered oddly: {reason}") from exc
        if answer.status_code in (401, 403):
            raise HttpStateError(self._refused(answer.status_code, purpose))
        return answer

    def _read_bounded(self, response: httpx.Response, limit: int, what: str) -> Answer:
        """The answer's body, refused as soon as it is known to be larger than `limit`."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit():
            limits.check_size(int(declared), limit, self.where, what)
        chunks: list[bytes] = []
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            limits.check_size(received, limit, self.where, what)
            chunks.append(chunk)
        return Answer(response.status_code, response.reason_phrase, b"".join(chunks))

    def _refused(self, status: int, purpose: str) -> str:
        user_env, password_env = self._credential_names
        if not self._has_password:
            return (
                f"{self.where} requires credentials ({status}) to {purpose}; "
                "set state.username_env and state.password_env"
            )
        if status == 401:
            return (
                f"{self.where} refused the credentials in ${user_env} / ${password_env} "
                f"(401 Unauthorized) to {purpose}"
            )
        return (
            f"{self.where} denied the user in ${user_env} permission to {purpose} (403 Forbidden); "
            "it needs write access to the state (GitLab: the Maintainer role)"
        )

    def expect_success(self, response: Answer, purpose: str) -> None:
        if response.is_success:
            return
        snippet = response.text.strip().splitlines()[0][:120] if response.text.strip() else ""
        detail = f": {snippet}" if snippet else ""
        raise HttpStateError(
            f"{self.where} answered {response.status_code} {response.reason_phrase} "
            f"to the request to {purpose}{detail}"
        )
