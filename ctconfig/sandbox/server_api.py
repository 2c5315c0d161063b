"""CleverTap's documented Server API, answered by the sandbox so teams can rehearse with it.

These are CleverTap's own endpoints (not ctconfig's management contract): the
partner credential check `GET /v1/connect`, `POST /1/upload` (events,
profiles, device tokens), `GET /1/profile.json` (by email, identity or
objectId), the cursor pairs of `/1/profiles.json` and `/1/events.json` (opened
by `POST` with the query as the body, as documented, or by `GET` with it in
`?query=`, as CleverTap's Node client asks), and the counts
`POST /1/counts/events.json` and `/1/counts/profiles.json`. They exist for
authentication: a team points its own integration at `ctconfig sandbox serve`
and watches a rotation happen (the old passcode works through the overlap, the
new one at once, the retired one stops). So they authenticate exactly as
CleverTap documents: both headers, the kind of passcode the account's mode
enforces (an account passcode is refused while user passcodes are enforced),
expiry, 401 "Invalid credentials or URL" otherwise; the in-flight limits (429)
and injected faults come from the server's middleware. Records are checked as
CleverTap documents (`upload_rules`) and kept minimally (`records`), in
memory, within bounds: every body, query, batch size and record count is
limited. The README's sandbox table says, endpoint by endpoint, what follows
CleverTap's documentation and what is the sandbox's guess.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ctconfig.sandbox.http_common import (
    MANAGEMENT_BODY_LIMIT,
    UPLOAD_BODY_LIMIT,
    ApiError,
    ok,
    parse_json,
    read_json,
)
from ctconfig.sandbox.record_queries import (
    CursorKind,
    Cursors,
    Query,
    QueryError,
    count_events,
    count_profiles,
    parse_query,
)
from ctconfig.sandbox.records import UploadedRecords
from ctconfig.sandbox.store import Credential, SandboxStore
from ctconfig.sandbox.upload_rules import Refused, check_record

INVALID_CREDENTIALS = "Invalid credentials or URL"
MAX_RECORDS = 1000  # per upload, as CleverTap documents
MAX_BATCH_SIZE = 5000  # per cursor page, as CleverTap documents
DEFAULT_BATCH_SIZE = 10
MAX_LOOKUP_CHARS = 512
MAX_PARTNER_CHARS = 128
MAX_CURSOR_CHARS = 64

Handler = Callable[[Request], Awaitable[Response]]


class ServerApi:
    """The Server API endpoints over the store's credentials and in-memory records."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self.records = UploadedRecords()
        self.cursors = Cursors(self.records)

    def handlers(self) -> dict[str, dict[str, Handler]]:
        """Path -> method -> handler, for the server's router."""
        return {
            "/v1/connect": {"GET": self.connect},
            "/1/upload": {"POST": self.upload},
            "/1/profile.json": {"GET": self.profile},
            "/1/profiles.json": {"POST": self.profiles_cursor, "GET": self.profiles_page},
            "/1/events.json": {"POST": self.events_cursor, "GET": self.events_page},
            "/1/counts/events.json": {"POST": self.events_count},
            "/1/counts/profiles.json": {"POST": self.profiles_count},
        }

    async def credential(self, request: Request) -> Credential:
        """A live passcode of the kind the account's mode enforces, else 401."""
        account = request.headers.get("x-clevertap-account-id", "")
        secret = request.headers.get("x-clevertap-passcode", "")
        if not account or not secret:
            raise ApiError(401, INVALID_CREDENTIALS)
        credential = await run_in_threadpool(self.store.authenticate, account, secret)
        if credential is None or not credential.may_call_api():
            raise ApiError(401, INVALID_CREDENTIALS)
        return credential

    async def connect(self, request: Request) -> Response:
        """The partner credential check: 200 valid, 401 invalid."""
        partner = request.query_params.get("partner", "").strip()
        if not 1 <= len(partner) <= MAX_PARTNER_CHARS:
            raise ApiError(400, f"the partner query parameter is required, 1-{MAX_PARTNER_CHARS} characters")
        await self.credential(request)
        return ok()

    async def upload(self, request: Request) -> Response:
        """`{"d": [records]}`: events, profiles and tokens; refused records come back in `unprocessed`."""
        account = (await self.credential(request)).account_id
        records = upload_records(await read_json(request, UPLOAD_BODY_LIMIT))
        now = int((await run_in_threadpool(self.store.now)).timestamp())
        unprocessed = []
        for record in records:
            try:
                self.records.add(account, check_record(record), now)
            except Refused as refused:
                unprocessed.append(
                    {"status": "fail", "code": refused.code, "error": refused.error, "record": record}
                )
        return ok(processed=len(records) - len(unprocessed), unprocessed=unprocessed)

    async def profile(self, request: Request) -> Response:
        """The profile with `?objectId=`, `?identity=` and/or `?email=` (all given must match)."""
        account = (await self.credential(request)).account_id
        params = request.query_params
        email, identity, object_id = params.get("email"), params.get("identity"), params.get("objectId")
        if max(len(email or ""), len(identity or ""), len(object_id or "")) > MAX_LOOKUP_CHARS:
            raise ApiError(400, f"email, identity and objectId are at most {MAX_LOOKUP_CHARS} characters")
        if email is None and identity is None and object_id is None:
            raise ApiError(404, "no profile matches; ask with ?email=, ?identity= or ?objectId=")
        found = self.records.find_profile(account, identity=identity, email=email, object_id=object_id)
        if found is None or (identity is not None and found.ids.get("identity") != identity):
            raise ApiError(404, "no profile matches")
        return ok(record=found.as_record())

    async def profiles_cursor(self, request: Request) -> Response:
        return await self._open_cursor(request, "profiles")

    async def events_cursor(self, request: Request) -> Response:
        return await self._open_cursor(request, "events")

    async def profiles_page(self, request: Request) -> Response:
        return await self._page(request, "profiles")

    async def events_page(self, request: Request) -> Response:
        return await self._page(request, "events")

    async def events_count(self, request: Request) -> Response:
        """How many events match the query: `{"status": "success", "count": N}`."""
        query = await self._query_body(request)
        return ok(count=count_events(self.records, query))

    async def profiles_count(self, request: Request) -> Response:
        """How many users did a matching event."""
        query = await self._query_body(request)
        return ok(count=count_profiles(self.records, query))

    async def _query_body(self, request: Request) -> Query:
        account = (await self.credential(request)).account_id
        return query_of(account, await read_json(request, MANAGEMENT_BODY_LIMIT))

    async def _open_cursor(self, request: Request, kind: CursorKind) -> Response:
        """`?batch_size=N` and the query as the body -> a cursor."""
        batch_size = batch_size_param(request.query_params.get("batch_size"))
        query = await self._query_body(request)
        return ok(cursor=self.cursors.start(query, kind, batch_size))

    async def _page(self, request: Request, kind: CursorKind) -> Response:
        """`?cursor=`: the records there, with `next_cursor` while more remain; `?query=`: a new cursor."""
        account = (await self.credential(request)).account_id
        params = request.query_params
        token = params.get("cursor")
        if token is None and "query" in params:
            text = params["query"]
            if len(text.encode()) > MANAGEMENT_BODY_LIMIT:
                raise ApiError(400, f"the query parameter is larger than {MANAGEMENT_BODY_LIMIT} bytes")
            query = query_of(account, parse_json(text.encode()))
            return ok(cursor=self.cursors.start(query, kind, batch_size_param(params.get("batch_size"))))
        if token is None:  # like a profile asked for by nothing: nothing matches
            raise ApiError(404, "no cursor given; ask with ?cursor= (a page) or ?query= (a new cursor)")
        if not token or len(token) > MAX_CURSOR_CHARS:
            raise ApiError(400, f"cursor must be 1-{MAX_CURSOR_CHARS} characters")
        try:
            records, next_token = self.cursors.page(account, token, kind)
        except KeyError:
            raise ApiError(404, "this cursor is unknown or has expired; ask for a new one") from None
        fields: dict[str, Any] = {"records": records}
        if next_token is not None:
            fields["next_cursor"] = next_token
        return ok(**fields)


# ---- validation ---------------------------------------------------------------------------


def upload_records(body: Any) -> list[Any]:
    """The `d` list of an upload, 1-1000 records, else 400."""
    if not isinstance(body, dict) or not isinstance(body.get("d"), list):
        raise ApiError(400, 'the body must be {"d": [records]}')
    records: list[Any] = body["d"]
    if not 1 <= len(records) <= MAX_RECORDS:
        raise ApiError(400, f"d must hold 1-{MAX_RECORDS} records, got {len(records)}")
    return records


def batch_size_param(text: str | None) -> int:
    """`batch_size`, 1-5000 (default 10)."""
    if text is None:
        return DEFAULT_BATCH_SIZE
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or not 1 <= int(text) <= MAX_BATCH_SIZE:
        raise ApiError(400, f"batch_size must be a whole number from 1 to {MAX_BATCH_SIZE}")
    return int(text)


def query_of(account_id: str, body: Any) -> Query:
    """A query for this account, else 400 naming what is wrong."""
    try:
        return parse_query(account_id, body)
    except QueryError as exc:
        raise ApiError(400, str(exc)) from None
