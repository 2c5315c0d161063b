"""CleverTap's documented Server API, answered by the sandbox so teams can rehearse with it.

These are CleverTap's own endpoints (not ctconfig's management contract): the
partner credential check `GET /v1/connect`, `POST /1/upload`, `GET
/1/profile.json`, and the cursor pairs `POST`/`GET /1/profiles.json` and
`/1/events.json`. They exist for authentication: a team points its own
integration at `ctconfig sandbox serve` and watches a rotation happen (the
old passcode works through the overlap, the new one at once, the retired one
stops). So they authenticate exactly as CleverTap documents: both headers,
the kind of passcode the account's mode enforces (an account passcode is
refused while user passcodes are enforced), expiry, 401 "Invalid credentials
or URL" otherwise; the in-flight limit (429) and injected faults come from
the server's middleware. The data itself is kept minimally (`records`), in
memory, within bounds: every body, batch size and record count is limited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ctconfig.sandbox.http_common import UPLOAD_BODY_LIMIT, ApiError, ok, read_json
from ctconfig.sandbox.records import CursorKind, Query, UploadedRecords, parse_day
from ctconfig.sandbox.store import Credential, SandboxStore

INVALID_CREDENTIALS = "Invalid credentials or URL"
MAX_RECORDS = 1000  # per upload, as CleverTap documents
MAX_BATCH_SIZE = 5000  # per cursor page, as CleverTap documents
DEFAULT_BATCH_SIZE = 10
MAX_KEY_BYTES = 120  # profile and event property names
MAX_VALUE_BYTES = 512  # string property values
MAX_PROPERTIES = 256
MAX_MULTI_VALUES = 100
MAX_IDENTITY_CHARS = 512
MAX_PARTNER_CHARS = 128
IDENTITY_KEYS = ("identity", "objectId", "FBID", "GPID")
MAX_TS = 32503680000  # year 3000, in epoch seconds

Handler = Callable[[Request], Awaitable[Response]]


class ServerApi:
    """The Server API endpoints over the store's credentials and in-memory records."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self.records = UploadedRecords()

    def handlers(self) -> dict[str, dict[str, Handler]]:
        """Path -> method -> handler, for the server's router."""
        return {
            "/v1/connect": {"GET": self.connect},
            "/1/upload": {"POST": self.upload},
            "/1/profile.json": {"GET": self.profile},
            "/1/profiles.json": {"POST": self.profiles_cursor, "GET": self.profiles_page},
            "/1/events.json": {"POST": self.events_cursor, "GET": self.events_page},
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
        """`{"d": [records]}`: profiles and events; bad records come back in `unprocessed`."""
        account = (await self.credential(request)).account_id
        records = upload_records(await read_json(request, UPLOAD_BODY_LIMIT))
        now = int((await run_in_threadpool(self.store.now)).timestamp())
        unprocessed = []
        for record in records:
            problem = self._keep(account, record, now)
            if problem is not None:
                unprocessed.append({"status": "fail", "code": 400, "error": problem, "record": record})
        return ok(processed=len(records) - len(unprocessed), unprocessed=unprocessed)

    def _keep(self, account: str, record: Any, now: int) -> str | None:
        problem, identity = record_problem(record)
        if problem is not None or identity is None:
            return problem
        if record["type"] == "profile":
            return self.records.add_profile(account, identity, record["profileData"])
        ts = now if record.get("ts") is None else record["ts"]
        props = record.get("evtData") or {}
        return self.records.add_event(account, identity, record["evtName"], props, ts)

    async def profile(self, request: Request) -> Response:
        """The profile with `?identity=` and/or `?email=` (both must match when both are given)."""
        account = (await self.credential(request)).account_id
        email, identity = request.query_params.get("email"), request.query_params.get("identity")
        if max(len(email or ""), len(identity or "")) > MAX_IDENTITY_CHARS:
            raise ApiError(400, f"email and identity are at most {MAX_IDENTITY_CHARS} characters")
        if email is None and identity is None:
            raise ApiError(404, "no profile matches; ask with ?email= or ?identity=")
        found = self.records.find_profile(account, identity, email)
        if found is None:
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

    async def _open_cursor(self, request: Request, kind: CursorKind) -> Response:
        """`?batch_size=N` and `{"event_name", "from", "to"}` (days as YYYYMMDD) -> a cursor."""
        account = (await self.credential(request)).account_id
        batch_size = batch_size_param(request.query_params.get("batch_size"))
        body = await read_json(request, UPLOAD_BODY_LIMIT)
        event_name, first_day, last_day = cursor_query(body)
        query = Query(account, kind, event_name, first_day, last_day, batch_size)
        return ok(cursor=self.records.open_cursor(query))

    async def _page(self, request: Request, kind: CursorKind) -> Response:
        """The records at `?cursor=`, with `next_cursor` while more remain."""
        account = (await self.credential(request)).account_id
        token = request.query_params.get("cursor", "")
        if not token or len(token) > 64:
            raise ApiError(400, "the cursor query parameter is required")
        try:
            records, next_token = self.records.page(account, token, kind)
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


def cursor_query(body: Any) -> tuple[str, int, int]:
    """The event name and the day range of a cursor request, else 400."""
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be {"event_name": ..., "from": YYYYMMDD, "to": YYYYMMDD}')
    name = body.get("event_name")
    if not isinstance(name, str) or not 1 <= len(name.encode()) <= MAX_VALUE_BYTES:
        raise ApiError(400, f"event_name must be a name of 1-{MAX_VALUE_BYTES} bytes")
    first, last = parse_day(body.get("from")), parse_day(body.get("to"))
    if first is None or last is None:
        raise ApiError(400, "from and to must be days as YYYYMMDD numbers")
    return name, first, last  # from after to is an empty range, not an error


def record_problem(record: Any) -> tuple[str | None, str | None]:
    """(why the record cannot be processed, its identity): one of the two is None."""
    if not isinstance(record, dict):
        return "a record must be a JSON object", None
    kind = record.get("type")
    if kind not in ("profile", "event"):
        return "type must be profile or event", None
    identity = next((record[key] for key in IDENTITY_KEYS if key in record), None)
    if isinstance(identity, int) and not isinstance(identity, bool):
        identity = str(identity)
    if not isinstance(identity, str) or not 1 <= len(identity) <= MAX_IDENTITY_CHARS:
        return f"a record needs one of {', '.join(IDENTITY_KEYS)}: a string or number", None
    ts = record.get("ts")
    if isinstance(ts, float) and ts.is_integer():
        record["ts"] = ts = int(ts)  # JSON has one number type
    if ts is not None and (not isinstance(ts, int) or isinstance(ts, bool) or not 0 <= ts <= MAX_TS):
        return "ts must be a time in epoch seconds", None
    if kind == "profile":
        problem = properties_problem(record.get("profileData"), "profileData", required=True)
    else:
        problem = event_problem(record)
    return (problem, None) if problem else (None, identity)


def event_problem(record: dict[str, Any]) -> str | None:
    name = record.get("evtName")
    if not isinstance(name, str) or not 1 <= len(name.encode()) <= MAX_VALUE_BYTES:
        return f"evtName must be a name of 1-{MAX_VALUE_BYTES} bytes"
    return properties_problem(record.get("evtData"), "evtData", required=False)


def properties_problem(data: Any, field: str, *, required: bool) -> str | None:
    """Property maps: up to 256 names of 1-120 bytes; values scalars, strings up to 512 bytes,
    or lists of up to 100 such strings."""
    if data is None and not required:
        return None
    if not isinstance(data, dict):
        return f"{field} must be an object"
    if len(data) > MAX_PROPERTIES:
        return f"{field} holds more than {MAX_PROPERTIES} properties"
    for key, value in data.items():
        if not 1 <= len(key.encode()) <= MAX_KEY_BYTES:
            return f"{field} property names are 1-{MAX_KEY_BYTES} bytes"
        if not value_fits(value):
            return (
                f"{field}[{key!r}] must be a number, true/false, null, a string of at most "
                f"{MAX_VALUE_BYTES} bytes or a list of at most {MAX_MULTI_VALUES} such strings"
            )
    return None


def value_fits(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return len(value.encode()) <= MAX_VALUE_BYTES
    if isinstance(value, list):
        return len(value) <= MAX_MULTI_VALUES and all(
            isinstance(item, str) and len(item.encode()) <= MAX_VALUE_BYTES for item in value
        )
    return False
