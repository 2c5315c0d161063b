"""The version-1 configuration as pydantic models.

Durations are parsed here into days (`int`) or `None` for CleverTap's
unbounded words (`forever` for account passcodes, `infinite` for user
passcodes), so the rest of ctconfig never sees a string duration.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

REGIONS = ("in1", "sg1", "us1", "aps3", "mec1", "eu1")
Region = Literal["in1", "sg1", "us1", "aps3", "mec1", "eu1"]
Unmanaged = Literal["ignore", "warn", "delete"]
PasscodeMode = Literal["account", "user"]

_DAYS = re.compile(r"^\s*(\d+)\s*d?\s*$")


def parse_days(value: Any, unbounded: str | None = None) -> int | None:
    """`90d`, `90` or 90 → 90; the unbounded word (if allowed) → None."""
    if isinstance(value, bool):
        raise ValueError("expected a number of days such as 90d")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if unbounded is not None and value.strip().lower() == unbounded:
            return None
        match = _DAYS.match(value)
        if match:
            return int(match.group(1))
    expected = "a number of days such as 90d"
    if unbounded:
        expected += f" or {unbounded!r}"
    raise ValueError(f"expected {expected}, got {value!r}")


def _expiry(value: Any) -> int | None:
    return parse_days(value, "forever")


def _validity(value: Any) -> int | None:
    return parse_days(value, "infinite")


def _days(value: Any) -> int:
    days = parse_days(value)
    assert days is not None
    return days


_DAYS_PATTERN = r"^[0-9]+d?$"
ExpiresIn = Annotated[
    int | None,
    BeforeValidator(_expiry),
    WithJsonSchema(
        {
            "description": "Days until the passcode expires (90d or 90), or 'forever'.",
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": _DAYS_PATTERN},
                {"const": "forever"},
            ],
        }
    ),
]
Validity = Annotated[
    int | None,
    BeforeValidator(_validity),
    WithJsonSchema(
        {
            "description": "Validity of the user passcode: 1-365 days (30d or 30), or 'infinite'.",
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 365},
                {"type": "string", "pattern": _DAYS_PATTERN},
                {"const": "infinite"},
            ],
        }
    ),
]
Days = Annotated[
    int,
    BeforeValidator(_days),
    WithJsonSchema(
        {
            "description": "A number of days (14d or 14).",
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": _DAYS_PATTERN}],
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalState(_Strict):
    """State in a JSON file beside the config (the default)."""

    backend: Literal["local"] = "local"
    path: str = "ctconfig.state.json"


class PostgresState(_Strict):
    """State in PostgreSQL: one table of versions, advisory locks."""

    backend: Literal["postgres"]
    dsn_env: str = Field(description="Environment variable holding the libpq connection string.")
    name: str = Field("default", description="State name: several states can share a database.")
    schema_name: str = Field("ctconfig", alias="schema")


class S3State(_Strict):
    """State in S3-compatible object storage with conditional writes."""

    backend: Literal["s3"]
    bucket: str
    key: str = "ctconfig/state.json"
    region: str | None = None
    endpoint_url: str | None = None
    lock_ttl: Days = 1


class HttpState(_Strict):
    """State behind the Terraform HTTP backend protocol (as GitLab serves it)."""

    backend: Literal["http"]
    address: str
    lock_address: str | None = None
    unlock_address: str | None = None
    username_env: str | None = None
    password_env: str | None = None


StateConfig = Annotated[
    LocalState | PostgresState | S3State | HttpState, Field(discriminator="backend")
]


class SandboxProvider(_Strict):
    """The embedded sandbox: a CleverTap account store in SQLite."""

    kind: Literal["sandbox"] = "sandbox"
    path: str = ".ctconfig/sandbox.db"


class ClevertapProvider(_Strict):
    """The management API over HTTP, at the region's host or an explicit base URL."""

    kind: Literal["clevertap"]
    base_url: str | None = None
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for a response.")
    connect_timeout: float = Field(5.0, gt=0)
    max_inflight: int = Field(3, ge=1, le=3, description="Requests in flight per account.")
    max_retries: int = Field(6, ge=0, le=20)
    retry_budget: float = Field(60.0, gt=0, description="Seconds of retrying before giving up.")


ProviderConfig = Annotated[SandboxProvider | ClevertapProvider, Field(discriminator="kind")]


class FileSink(_Strict):
    """One file per passcode, mode 0600, in a 0700 directory."""

    sink: Literal["file"] = "file"
    path: str = ".ctconfig/secrets"


class CommandSink(_Strict):
    """A command that receives the secret on stdin (e.g. a secret manager's CLI)."""

    sink: Literal["command"]
    command: str | list[str]


class EnvFileSink(_Strict):
    """`NAME=secret` lines in one file, mode 0600."""

    sink: Literal["env-file"]
    path: str = ".ctconfig/secrets.env"


SecretsConfig = Annotated[FileSink | CommandSink | EnvFileSink, Field(discriminator="sink")]


class Defaults(_Strict):
    region: Region = "eu1"
    unmanaged: Unmanaged = "ignore"
    rotation_overlap: Days = 7


class Safety(_Strict):
    max_delete_fraction: float = Field(0.3, ge=0, le=1)
    min_resources: int = Field(10, ge=0, description="Accounts smaller than this are exempt.")


class Credentials(_Strict):
    passcode_env: str = Field(description="Environment variable holding the admin passcode.")


class AccountPasscodeSpec(_Strict):
    expires_in: ExpiresIn
    rotate_before: Days | None = None
    prevent_destroy: bool = False
    previously: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _previously_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("previously"), str):
            return {**data, "previously": [data["previously"]]}
        return data


class UserPasscodeSpec(_Strict):
    validity: Validity
    reset_before: Days | None = None
    prevent_destroy: bool = False


class Account(_Strict):
    id: str
    region: Region | None = None
    credentials: Credentials | None = None
    passcode_mode: PasscodeMode | None = None
    unmanaged: Unmanaged | None = None
    account_passcodes: dict[str, AccountPasscodeSpec] = Field(default_factory=dict)
    user_passcodes: dict[str, UserPasscodeSpec] = Field(default_factory=dict)


class Config(_Strict):
    version: Literal[1]
    state: StateConfig = Field(default_factory=LocalState)
    provider: ProviderConfig = Field(default_factory=SandboxProvider)
    secrets: SecretsConfig = Field(default_factory=FileSink)
    defaults: Defaults = Field(default_factory=Defaults)
    safety: Safety = Field(default_factory=Safety)
    accounts: dict[str, Account] = Field(default_factory=dict)

    def region_of(self, alias: str) -> str:
        return self.accounts[alias].region or self.defaults.region

    def unmanaged_of(self, alias: str) -> str:
        return self.accounts[alias].unmanaged or self.defaults.unmanaged
