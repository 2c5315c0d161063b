"""The state document: lineage, serial and one typed record per managed resource.

Records are frozen dataclasses, one class per resource kind, keyed by
`Address`; days stay `int` (`None` = forever / infinite) and times `datetime`
until `jsontypes` writes them. Pydantic validates every document read (from a
file, a database, an object store, a hand edit) against the same types and
writes it with sorted keys and stable indentation, so a `git diff` of state
reads as an audit record. State never holds a secret: only its fingerprint.

Format 2 (this module) replaced format 1's `attributes` dictionaries; format 1
documents are upgraded on read (`state/upgrade.py`), never written.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from operator import itemgetter
from typing import Annotated, Any, Literal

import orjson
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config

from ctconfig import __version__
from ctconfig.domain import Address, ObservedGrant, ObservedPasscode, PasscodeMode
from ctconfig.errors import CtconfigError
from ctconfig.jsonshape import Shape, ShapeError, parse_json
from ctconfig.jsontypes import ExpiryDays, Text, Timestamp, ValidityDays, describe_validation
from ctconfig.secrets import FINGERPRINT_PATTERN

FORMAT_VERSION: Literal[2] = 2
MAX_RESOURCES = 100_000
MAX_RECORD_MEMBERS = 32
"""More members than any record (or format 1's `attributes`) has: a record has at most 13."""
STATE_SHAPE = Shape(
    "state document",
    widths=(16, MAX_RESOURCES, MAX_RECORD_MEMBERS, MAX_RECORD_MEMBERS),
    max_values=40 * MAX_RESOURCES,
    max_containers=4 * MAX_RESOURCES,
)
"""A state document, before validation: its keys, `resources` by address, each record's members
(and format 1's `attributes`). A record is at most ~30 keys and values and two objects (format
1's `attributes`); 4,000,000 and 400,000 in all are 100,000 records, with room for the brackets
and commas a record's text may hold (both counts include punctuation inside strings)."""
_LINEAGE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_STRICT = ConfigDict(extra="forbid", strict=False)

Fingerprint = Annotated[str, Field(pattern=FINGERPRINT_PATTERN)]
RemoteId = Annotated[str, Field(min_length=1, max_length=128)]
AccountIdText = Annotated[str, Field(min_length=1, max_length=64)]
Serial = Annotated[int, Field(strict=True, ge=0, le=2**53)]
Token = Annotated[str, Field(min_length=1, max_length=64)]
TrustKey = Annotated[str, Field(max_length=300)]
TrustSurface = Annotated[dict[TrustKey, Annotated[str, Field(max_length=4096)]], Field(max_length=10_000)]


class StateError(CtconfigError):
    """A state document is malformed, stale, or refused by its backend."""


class Origin(StrEnum):
    """How a resource came under management: it decides whether ctconfig should hold its secret."""

    CREATED = "created"  # ctconfig made it; its secret went to the sink
    ADOPTED = "adopted"  # found in the account by name (made by hand in the dashboard)
    IMPORTED = "imported"  # adopted with `ctconfig import`


@with_config(_STRICT)
@dataclass(frozen=True)
class AccountPasscodeRecord:
    """An account passcode ctconfig manages, as last seen, and the fingerprint of its secret.

    `secret_fingerprint` is None when ctconfig never held the secret (adopted,
    imported, or its answer was lost). `tainted` says why it must be replaced
    (its secret did not reach the sink). `retire_after` marks a rotated-out
    passcode, deleted by a later apply once the overlap has passed. `rotate_token`
    is the config's `rotate:` token when it was made or adopted: another token rotates it.
    """

    account_id: AccountIdText
    id: RemoteId
    name: Annotated[str, Field(min_length=1, max_length=128)]
    expires_in: ExpiryDays
    created_at: Timestamp
    expires_at: Timestamp | None
    origin: Origin = Origin.CREATED
    secret_fingerprint: Fingerprint | None = None
    tainted: Text | None = None
    retire_after: Timestamp | None = None
    prevent_destroy: bool = False
    rotate_token: Token | None = None
    kind: Literal["account_passcode"] = "account_passcode"

    @classmethod
    def observed(
        cls,
        account_id: str,
        passcode: ObservedPasscode,
        *,
        origin: Origin,
        fingerprint: str | None = None,
        prevent_destroy: bool = False,
        rotate_token: str | None = None,
    ) -> AccountPasscodeRecord:
        """The record of a passcode as the account reported it."""
        return cls(
            account_id=account_id,
            id=passcode.id,
            name=passcode.name,
            expires_in=passcode.expires_in_days,
            created_at=passcode.created_at,
            expires_at=passcode.expires_at,
            origin=origin,
            secret_fingerprint=fingerprint,
            prevent_destroy=prevent_destroy,
            rotate_token=rotate_token,
        )

    def seen_as(self, passcode: ObservedPasscode) -> AccountPasscodeRecord:
        """This record refreshed with what the account reports now (name, expiry, times)."""
        return replace(
            self,
            name=passcode.name,
            expires_in=passcode.expires_in_days,
            created_at=passcode.created_at,
            expires_at=passcode.expires_at,
        )

    @property
    def secret_known(self) -> bool:
        """True when ctconfig delivered this passcode's secret and remembers its fingerprint."""
        return self.secret_fingerprint is not None and self.tainted is None


@with_config(_STRICT)
@dataclass(frozen=True)
class UserPasscodeRecord:
    """A user passcode grant ctconfig manages. Its secret is the user's, never ctconfig's.

    `reset_token` is the config's `reset:` token when it was granted or reset.
    """

    account_id: AccountIdText
    email: Annotated[str, Field(min_length=3, max_length=254)]
    validity: ValidityDays
    granted_at: Timestamp
    expires_at: Timestamp
    origin: Origin = Origin.CREATED
    prevent_destroy: bool = False
    reset_token: Token | None = None
    kind: Literal["user_passcode"] = "user_passcode"

    @classmethod
    def observed(
        cls,
        account_id: str,
        grant: ObservedGrant,
        *,
        origin: Origin,
        prevent_destroy: bool = False,
        reset_token: str | None = None,
    ) -> UserPasscodeRecord:
        """The record of a grant as the account reported it."""
        return cls(
            account_id=account_id,
            email=grant.email.lower(),
            validity=grant.validity_days,
            granted_at=grant.granted_at,
            expires_at=grant.expires_at,
            origin=origin,
            prevent_destroy=prevent_destroy,
            reset_token=reset_token,
        )

    def seen_as(self, grant: ObservedGrant) -> UserPasscodeRecord:
        """This record refreshed with what the account reports now."""
        return replace(
            self, validity=grant.validity_days, granted_at=grant.granted_at, expires_at=grant.expires_at
        )


@with_config(_STRICT)
@dataclass(frozen=True)
class SettingsRecord:
    """An account's passcode mode, managed when the config sets `passcode_mode`."""

    account_id: AccountIdText
    passcode_mode: PasscodeMode
    kind: Literal["settings"] = "settings"


Record = Annotated[AccountPasscodeRecord | UserPasscodeRecord | SettingsRecord, Field(discriminator="kind")]
RecordType = AccountPasscodeRecord | UserPasscodeRecord | SettingsRecord


@with_config(_STRICT)
@dataclass(frozen=True)
class State:
    """An immutable state version. `serial` grows by one on every write."""

    lineage: Annotated[str, Field(pattern=_LINEAGE)]
    serial: Serial = 0
    resources: Annotated[dict[Address, Record], Field(max_length=MAX_RESOURCES)] = field(default_factory=dict)
    ctconfig_version: Annotated[str, Field(max_length=64)] = __version__
    format_version: Literal[2] = FORMAT_VERSION
    trust: TrustSurface | None = None
    """Where credentials, secrets and state went when this version was written (`config/trust.py`):
    a plan shows a reviewer when a config changes it. None in versions written before it existed."""

    @classmethod
    def new(cls) -> State:
        """A fresh lineage at serial 0 (written as serial 1 by the first write)."""
        return cls(lineage=str(uuid.uuid4()), serial=0)

    def with_resources(self, resources: Mapping[Address, RecordType]) -> State:
        """The same version with other records, in address order."""
        return replace(self, resources=dict(sorted(resources.items(), key=itemgetter(0))))

    def next_version(self) -> State:
        """The version to write next: serial + 1, stamped with this ctconfig."""
        return replace(self, serial=self.serial + 1, ctconfig_version=__version__)

    def in_account(self, alias: str) -> dict[Address, RecordType]:
        """The records of one account (by config alias)."""
        return {a: r for a, r in self.resources.items() if a.account == alias}

    def to_json(self) -> dict[str, Any]:
        """The document as JSON data (what backends store)."""
        data: dict[str, Any] = _state_adapter().dump_python(self, mode="json")
        for record in data["resources"].values():
            _drop_unset_token(record)
        return data

    def dumps(self) -> str:
        """Canonical text: sorted keys, two-space indent, trailing newline."""
        return dumps_json(self.to_json())

    @classmethod
    def from_json(cls, data: Any, source: str = "state") -> State:
        """Validate JSON data as a state document; format 1 is upgraded first."""
        from ctconfig.state.upgrade import upgrade

        if not isinstance(data, dict):
            raise StateError(f"{source}: not a JSON object")
        data = upgrade(data, source)
        missing = [key for key in ("lineage", "serial", "resources") if key not in data]
        if missing:
            raise StateError(f"{source}: {missing[0]}: Field required")
        try:
            state = _state_adapter().validate_python(data)
        except ValidationError as exc:
            raise StateError(f"{source}: {describe_validation(exc)}") from None
        _check_kinds(state, source)
        return state

    @classmethod
    def loads(cls, text: str | bytes, source: str = "state") -> State:
        """Parse and validate a state document; `source` (a path, `postgres:prod`) prefixes errors.

        The document's shape is checked before pydantic sees it (`STATE_SHAPE`): a
        hostile document is refused for what it costs to read, never for gigabytes
        of validation errors.
        """
        return cls.from_json(parse_state_json(text, source, STATE_SHAPE), source)


def parse_state_json(text: str | bytes, source: str, shape: Shape) -> Any:
    """The JSON data of a state document (or a server's answer holding one), shape-checked."""
    try:
        return parse_json(text, shape)
    except ShapeError as exc:
        raise StateError(f"{source}: {exc}") from None


def _check_kinds(state: State, source: str) -> None:
    """Each record sits under an address of its own kind, and no two point at one passcode."""
    for address, record in state.resources.items():
        if address.kind.value != record.kind:
            raise StateError(f"{source}: resources.{address}: a {record.kind} record under this address")
    check_remote_ids(state.resources, source)


def check_remote_ids(resources: Mapping[Address, RecordType], source: str) -> None:
    """Refuse two records that point at one remote passcode: deleting one address would delete the
    other's passcode (and its `prevent_destroy` would not hold)."""
    seen: dict[tuple[str, str], Address] = {}
    for address, record in resources.items():
        if not isinstance(record, AccountPasscodeRecord):
            continue
        first = seen.setdefault((record.account_id, record.id), address)
        if first != address:
            raise StateError(
                f"{source}: resources.{first} and resources.{address} both point at passcode {record.id} "
                f"of account {record.account_id}; one remote passcode is managed under one address"
            )


@functools.cache
def _state_adapter() -> TypeAdapter[State]:
    """Built on first use: a TypeAdapter costs milliseconds to build, paid by every command at import."""
    return TypeAdapter(State)


@functools.cache
def _record_adapter() -> TypeAdapter[RecordType]:
    """Built on first use (only views and diffs of single records need it)."""
    return TypeAdapter(Record)


def record_json(record: RecordType) -> dict[str, Any]:
    """One record as JSON data, as the state document holds it (for views and diffs)."""
    data: dict[str, Any] = _record_adapter().dump_python(record, mode="json")
    return _drop_unset_token(data)


_TOKEN_KEYS = ("rotate_token", "reset_token")


def _drop_unset_token(record: dict[str, Any]) -> dict[str, Any]:
    """A record without a `rotate:`/`reset:` token is written as before tokens existed."""
    for key in _TOKEN_KEYS:
        if key in record and record[key] is None:
            del record[key]
    return record


def state_json_schema() -> dict[str, Any]:
    """The JSON Schema of a state document, generated from the records (schemas/state.schema.json)."""
    schema: dict[str, Any] = _state_adapter().json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ctconfig state"
    return schema


def dumps_json(data: Any) -> str:
    """Readable, diffable JSON: sorted keys, two-space indent, UTF-8, trailing newline."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
