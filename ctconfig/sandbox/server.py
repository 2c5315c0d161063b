"""The management API (schemas/management-api.openapi.yaml) over the sandbox store.

Each request is authenticated from its headers: management endpoints need a
live admin user passcode (401 unknown/expired, 403 anything else), and
`GET /1/account.json` takes whatever credential the account's passcode mode
enforces. CleverTap's own Server API, for rehearsing integrations, is served
beside it (`server_api`). Store calls are synchronous SQLite transactions, so
each request's work runs in one worker thread. Store errors map to the
contract's statuses: NotFound 404, Conflict 409, Limit 400. Bodies are bounded
(`http_common`): 413 over the size limit, 400 when nested too deep.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ctconfig.domain import isoformat
from ctconfig.errors import ConflictError, NotFoundError, ProviderError
from ctconfig.sandbox import rules
from ctconfig.sandbox.faults import STATS_PATH, FaultInjector, FaultSettings, ServerStats
from ctconfig.sandbox.http_common import ApiError, BodyLimit, fail, ok
from ctconfig.sandbox.management_wire import (
    days_field,
    grant_json,
    idempotency_key,
    json_object,
    name_field,
    passcode_json,
    require,
)
from ctconfig.sandbox.server_api import ServerApi
from ctconfig.sandbox.store import Credential, SandboxStore

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


# ---- the API ----------------------------------------------------------------------------


class SandboxApi:
    """The contract's endpoints over one store."""

    def __init__(self, store: SandboxStore, stats: ServerStats, keep_answers: bool = True) -> None:
        self.store = store
        self.stats = stats
        self.keep_answers = keep_answers
        self.server_api = ServerApi(store)

    async def authenticate(self, request: Request) -> Credential:
        """Who is calling, if their passcode is known and live (else 401)."""
        account = request.headers.get("x-clevertap-account-id", "")
        secret = request.headers.get("x-clevertap-passcode", "")
        if not account or not secret:
            raise ApiError(401, "X-CleverTap-Account-Id and X-CleverTap-Passcode are required")
        credential = await run_in_threadpool(self.store.authenticate, account, secret)
        if credential is None:
            raise ApiError(401, "unknown account or passcode")
        if credential.status != "active":
            raise ApiError(401, "this passcode has expired")
        return credential

    async def admin(self, request: Request) -> str:
        """The account id, once the caller is proven to hold a live admin user passcode."""
        return (await self.admin_credential(request)).account_id

    async def admin_credential(self, request: Request) -> Credential:
        credential = await self.authenticate(request)
        if not credential.may_manage():
            raise ApiError(403, "managing passcodes needs an admin's user passcode")
        return credential

    async def others_grant(self, request: Request) -> tuple[str, str]:
        """Account and email for reset/revoke; never the passcode this very request uses."""
        credential = await self.admin_credential(request)
        account = credential.account_id
        email = rules.normalize_email(account, request.path_params["email"])
        if credential.name == email:
            raise ApiError(
                409,
                "this request is authenticated with that user passcode; "
                "reset or revoke it with another admin's passcode",
            )
        return account, email

    def routes(self) -> list[Route]:
        """One route per path, so a wrong method gets 405 with the full `Allow` list."""
        by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {
            "/1/passcodes.json": {"GET": self.list_passcodes, "POST": self.create_passcode},
            "/1/passcodes/{passcode_id}.json": {
                "PATCH": self.update_passcode,
                "DELETE": self.delete_passcode,
            },
            "/1/users.json": {"GET": self.list_users},
            "/1/users/{email}/passcode.json": {"POST": self.grant, "DELETE": self.revoke},
            "/1/users/{email}/passcode/reset.json": {"POST": self.reset},
            "/1/settings/passcode-mode.json": {"GET": self.get_mode, "PUT": self.set_mode},
            "/1/account.json": {"GET": self.whoami},
            **self.server_api.handlers(),
        }
        routes = [
            Route(path, self._dispatch(handlers), methods=list(handlers))
            for path, handlers in by_path.items()
        ]
        return [*routes, Route(STATS_PATH, self.stats_endpoint, methods=["GET"])]

    def _dispatch(
        self, handlers: dict[str, Callable[[Request], Awaitable[Response]]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Route by method, answering every error in the contract's envelope."""

        async def handler(request: Request) -> Response:
            try:
                return await handlers[request.method](request)
            except ApiError as exc:
                answer = fail(exc.status, exc.message)
                if exc.status == 413:  # the rest of the body is not worth reading
                    answer.headers["Connection"] = "close"
                return answer
            except NotFoundError as exc:
                return fail(404, str(exc))
            except ConflictError as exc:
                return fail(409, str(exc))
            except ProviderError as exc:
                return fail(400, str(exc))

        return handler

    async def list_passcodes(self, request: Request) -> Response:
        snapshot = await run_in_threadpool(self.store.read, await self.admin(request))
        now = snapshot.observed_at
        return ok(
            server_time=isoformat(now),
            passcodes=[passcode_json(p, now) for p in snapshot.passcodes],
        )

    async def create_passcode(self, request: Request) -> Response:
        account = await self.admin(request)
        body = await json_object(request, {"name", "expires_in_days"})
        require(body, "name", "expires_in_days")
        name, days = name_field(body), days_field(body, "expires_in_days")
        key = idempotency_key(request)
        created = await run_in_threadpool(
            self.store.create_passcode_once, account, name, days, key if self.keep_answers else None
        )
        passcode = created.passcode  # as it was made: a replay answers exactly the same
        answer = ok(201, passcode=passcode_json(passcode, passcode.created_at), secret=created.secret)
        if created.replayed:
            answer.headers["Idempotent-Replayed"] = "true"
        return answer

    async def update_passcode(self, request: Request) -> Response:
        account = await self.admin(request)
        passcode_id = request.path_params["passcode_id"]
        body = await json_object(request, {"name", "expires_in_days"})
        if not body:
            raise ApiError(400, "nothing to change: give name and/or expires_in_days")
        name = name_field(body) if "name" in body else None
        new_days = "expires_in_days" in body
        days = days_field(body, "expires_in_days") if new_days else None

        def update() -> dict[str, Any]:
            snapshot = self.store.read(account)
            current = snapshot.passcode_by_id(passcode_id)
            if current is None:
                raise ApiError(404, f"passcode {passcode_id} does not exist in account {account}")
            updated = self.store.update_passcode(
                account,
                passcode_id,
                name=current.name if name is None else name,
                expires_in_days=days if new_days else current.expires_in_days,
            )
            return passcode_json(updated, snapshot.observed_at)

        return ok(passcode=await run_in_threadpool(update))

    async def delete_passcode(self, request: Request) -> Response:
        account = await self.admin(request)
        await run_in_threadpool(self.store.delete_passcode, account, request.path_params["passcode_id"])
        return ok()

    async def list_users(self, request: Request) -> Response:
        snapshot = await run_in_threadpool(self.store.read, await self.admin(request))
        now = snapshot.observed_at
        users = [
            {"email": u.email, "role": u.role, "user_passcode": grant_json(u.grant, now)}
            for u in snapshot.users
        ]
        return ok(server_time=isoformat(now), users=users)

    async def grant(self, request: Request) -> Response:
        account = await self.admin(request)
        email = rules.normalize_email(account, request.path_params["email"])
        body = await json_object(request, {"validity_days"})
        require(body, "validity_days")
        days = days_field(body, "validity_days")

        def grant() -> dict[str, Any] | None:
            if self.store.read(account).user(email) is None:
                raise ApiError(404, f"{email} is not a dashboard user of account {account}")
            granted = self.store.grant_user_passcode(account, email, days)
            return grant_json(granted, granted.granted_at)  # a grant starts now

        return ok(201, user_passcode=await run_in_threadpool(grant))

    async def reset(self, request: Request) -> Response:
        account, email = await self.others_grant(request)

        def reset() -> dict[str, Any] | None:
            granted = self.store.reset_user_passcode(account, email)
            return grant_json(granted, granted.granted_at)  # a reset restarts validity now

        return ok(user_passcode=await run_in_threadpool(reset))

    async def revoke(self, request: Request) -> Response:
        account, email = await self.others_grant(request)
        await run_in_threadpool(self.store.revoke_user_passcode, account, email)
        return ok()

    async def get_mode(self, request: Request) -> Response:
        snapshot = await run_in_threadpool(self.store.read, await self.admin(request))
        return ok(passcode_mode=snapshot.passcode_mode)

    async def set_mode(self, request: Request) -> Response:
        account = await self.admin(request)
        body = await json_object(request, {"passcode_mode"})
        require(body, "passcode_mode")
        mode = body["passcode_mode"]
        if not isinstance(mode, str):
            raise ApiError(400, "passcode_mode must be 'account' or 'user'")
        await run_in_threadpool(self.store.set_passcode_mode, account, mode)
        return ok(passcode_mode=mode)

    async def whoami(self, request: Request) -> Response:
        credential = await self.authenticate(request)
        if not credential.may_call_api():
            raise ApiError(
                401,
                f"this account enforces {credential.passcode_mode} passcodes; "
                f"a {credential.kind} passcode is not accepted",
            )
        return ok(
            account_id=credential.account_id,
            credential={"kind": credential.kind, "name": credential.name},
        )

    async def stats_endpoint(self, request: Request) -> Response:
        """Counters for tests and benchmarks: no auth, so loopback callers only."""
        if request.client is None or request.client.host not in LOOPBACK:
            return fail(403, "stats are served to loopback callers only")
        return JSONResponse(self.stats.as_dict())


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    answer = fail(exc.status_code, str(exc.detail))
    answer.headers.update(exc.headers or {})  # e.g. `Allow` on 405
    return answer


async def _server_error(request: Request, exc: Exception) -> Response:
    return fail(500, f"internal error ({type(exc).__name__})")


def create_app(
    store: SandboxStore,
    settings: FaultSettings,
    stats: ServerStats | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> ASGIApp:
    """The sandbox API behind the fault injector, ready for any ASGI server (uvicorn)."""
    stats = stats or ServerStats()
    api = SandboxApi(store, stats, keep_answers=not settings.forget_idempotency_keys)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            on_shutdown()

    app = Starlette(
        routes=api.routes(),
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    return FaultInjector(BodyLimit(app), settings, stats)


LISTEN_BACKLOG = 1024


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket for uvicorn.

    Created with `IPPROTO_TCP`, not protocol 0: asyncio switches Nagle's
    algorithm off (TCP_NODELAY) only on sockets whose protocol says TCP, and
    accepted connections inherit the listener's. Without it every answer on a
    kept-alive connection waited ~40 ms for the client's delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock
