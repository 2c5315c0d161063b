"""The version-1 configuration as pydantic models.

Durations are parsed here into days (`int`) or `None` for CleverTap's
unbounded words (`forever` for account passcodes, `infinite` for user
passcodes), so the rest of ctconfig never sees a string duration. Every
single-value rule of the domain lives here; rules that compare several
entries (duplicates, limits, ids across accounts) live in `rules.py`.
Validators raise `ValueError("expected ...")`; the loader adds the place
and what was found.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ctconfig.model import INFINITE_VALIDITY_DAYS, RETIRING_MARK

REGIONS = ("in1", "sg1", "us1", "aps3", "mec1", "eu1")
Region = Literal["in1", "sg1", "us1", "aps3", "mec1", "eu1"]
Unmanaged = Literal["ignore", "warn", "delete"]
PasscodeMode = Literal["account", "user"]

MAX_ACCOUNT_PASSCODES = 100
MAX_VALIDITY_DAYS = 365
MAX_NAME_LENGTH = 64
ALIAS_PATTERN = r"^[A-Za-z0-9_.-]+$"
ACCOUNT_ID_PATTERN = r"^(?:TEST-)?[A-Z0-9]{3,4}(?:-[A-Z0-9]{3,4})+$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
DURATION_KEYS = frozenset(
    {"expires_in", "rotate_before", "validity", "reset_before", "rotation_overlap", "lock_ttl"}
)

_DAYS = re.compile(r"^\s*(\d+)\s*d?\s*$", re.IGNORECASE)


def parse_days(value: Any, unbounded: str | None = None) -> int | None:
    """`90d`, `90` or 90 → 90; the unbounded word (if allowed) → None.

    Raises ValueError("expected ..., got ...") naming the accepted forms.
    """
    try:
        return _days_or_unbounded(value, unbounded)
    except ValueError as exc:
        raise ValueError(f"{exc}, got {value!r}") from None


def _days_or_unbounded(value: Any, unbounded: str | None) -> int | None:
    """parse_days without the echo: the loader adds what was found (or hides it)."""
    if isinstance(value, int) and not isinstance(value, bool):
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
    raise ValueError(f"expected {expected}")


def _expiry(value: Any) -> int | None:
    days = _days_or_unbounded(value, "forever")
    if days is not None and days < 1:
        raise ValueError("expected at least 1 day, or 'forever'")
    return days


def _validity(value: Any) -> int | None:
    days = _days_or_unbounded(value, "infinite")
    if days is not None and not 1 <= days <= MAX_VALIDITY_DAYS:
        raise ValueError(f"expected 1 to {MAX_VALIDITY_DAYS} days, or 'infinite'")
    return days


def _days(value: Any) -> int:
    days = _days_or_unbounded(value, None)
    if days is None or days < 0:
        raise ValueError("expected a number of days such as 14d")
    return days


def check_passcode_name(name: str) -> str:
    """An account passcode name as CleverTap and ctconfig's rotation accept it."""
    if RETIRING_MARK in name:
        raise ValueError(f"'{RETIRING_MARK}' is reserved for rotation; expected a name without it")
    if not 1 <= len(name) <= MAX_NAME_LENGTH or "/" in name or not name.isprintable():
        raise ValueError(f"expected 1 to {MAX_NAME_LENGTH} printable characters without '/'")
    return name


def _passcode_name_key(name: str) -> str:
    try:
        return check_passcode_name(name)
    except ValueError as exc:
        raise ValueError(f"account passcode name {name!r}: {exc}") from None


def _email_key(email: str) -> str:
    if not re.match(EMAIL_PATTERN, email):
        raise ValueError(f"user {email!r}: expected an email address such as alice@example.com")
    return email.lower()


def _alias_key(alias: str) -> str:
    if not re.match(ALIAS_PATTERN, alias):
        raise ValueError(f"account alias {alias!r}: expected letters, digits, '_', '.' or '-'")
    return alias


def _account_id(value: str) -> str:
    if not re.match(ACCOUNT_ID_PATTERN, value):
        raise ValueError("expected a CleverTap account id such as W9R-486-4W5Z or TEST-R78-ZZK-955Z")
    return value


def _env_name(value: str) -> str:
    if not re.match(ENV_NAME_PATTERN, value):
        raise ValueError("expected an environment variable name such as CT_PROD_PASSCODE")
    return value


def _command(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(part, str) for part in value):
        return value
    raise ValueError("expected a command line, as a string or a list of strings")


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
                {"type": "integer", "minimum": 1, "maximum": MAX_VALIDITY_DAYS},
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
EnvName = Annotated[
    str, AfterValidator(_env_name), WithJsonSchema({"type": "string", "pattern": ENV_NAME_PATTERN})
]
AccountId = Annotated[
    str,
    AfterValidator(_account_id),
    WithJsonSchema({"type": "string", "pattern": ACCOUNT_ID_PATTERN}),
]
AccountAlias = Annotated[str, AfterValidator(_alias_key)]
PasscodeName = Annotated[str, AfterValidator(_passcode_name_key)]
Email = Annotated[str, AfterValidator(_email_key)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class LocalState(_Strict):
    """State in a JSON file, relative to the working directory (the default)."""

    backend: Literal["local"] = "local"
    path: str = "ctconfig.state.json"


class PostgresState(_Strict):
    """State in PostgreSQL: one table of versions, advisory locks."""

    backend: Literal["postgres"]
    dsn_env: EnvName = Field(description="Environment variable holding the libpq connection string.")
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
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    lock_method: str = Field(
        "LOCK", pattern=r"^[A-Z]+$", description="HTTP method that takes the lock (GitLab: POST)."
    )
    unlock_method: str = Field(
        "UNLOCK", pattern=r"^[A-Z]+$", description="HTTP method that releases the lock (GitLab: DELETE)."
    )
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for the state server to answer.")


StateConfig = Annotated[LocalState | PostgresState | S3State | HttpState, Field(discriminator="backend")]


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
    command: Annotated[str | list[str], BeforeValidator(_command)]


class EnvFileSink(_Strict):
    """`NAME=secret` lines in one file, mode 0600."""

    sink: Literal["env-file"]
    path: str = ".ctconfig/secrets.env"


SecretsConfig = Annotated[FileSink | CommandSink | EnvFileSink, Field(discriminator="sink")]

# The key that picks each section's variant, and the variant used when it is left out.
SECTION_TAGS = {"state": ("backend", "local"), "provider": ("kind", "sandbox"), "secrets": ("sink", "file")}


class Defaults(_Strict):
    region: Region = "eu1"
    unmanaged: Unmanaged = "ignore"
    rotation_overlap: Days = 7


class Safety(_Strict):
    max_delete_fraction: float = Field(0.3, ge=0, le=1)
    min_resources: int = Field(10, ge=0, description="Accounts smaller than this are exempt.")


class Credentials(_Strict):
    passcode_env: EnvName = Field(description="Environment variable holding the admin passcode.")


class AccountPasscodeSpec(_Strict):
    expires_in: ExpiresIn
    rotate_before: Days | None = None
    prevent_destroy: bool = False
    previously: list[Annotated[str, AfterValidator(check_passcode_name)]] = Field(
        default_factory=list, description="Earlier names of this passcode (a rename)."
    )

    @model_validator(mode="before")
    @classmethod
    def _previously_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("previously"), str):
            return {**data, "previously": [data["previously"]]}
        return data

    @field_validator("rotate_before")
    @classmethod
    def _rotate_before_expiry(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None or "expires_in" not in info.data:
            return value
        expires_in = info.data["expires_in"]
        if expires_in is None:
            raise ValueError("expected no value: a passcode with expires_in 'forever' never expires")
        if value >= expires_in:
            raise ValueError(f"expected fewer days than expires_in ({expires_in}d)")
        return value


class UserPasscodeSpec(_Strict):
    validity: Validity
    reset_before: Days | None = None
    prevent_destroy: bool = False

    @field_validator("reset_before")
    @classmethod
    def _reset_before_validity(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None or "validity" not in info.data:
            return value
        validity = info.data["validity"]
        limit = INFINITE_VALIDITY_DAYS if validity is None else validity
        if value >= limit:
            raise ValueError(f"expected fewer days than validity ({limit}d)")
        return value


class Account(_Strict):
    id: AccountId
    region: Region | None = None
    credentials: Credentials | None = None
    passcode_mode: PasscodeMode | None = None
    unmanaged: Unmanaged | None = None
    account_passcodes: dict[PasscodeName, AccountPasscodeSpec] = Field(
        default_factory=dict,
        json_schema_extra={
            "maxProperties": MAX_ACCOUNT_PASSCODES,
            "propertyNames": {
                "minLength": 1,
                "maxLength": MAX_NAME_LENGTH,
                "pattern": "^[^/]+$",
                "not": {"pattern": RETIRING_MARK},
            },
        },
    )
    user_passcodes: dict[Email, UserPasscodeSpec] = Field(
        default_factory=dict, json_schema_extra={"propertyNames": {"pattern": EMAIL_PATTERN}}
    )


class Config(_Strict):
    version: Literal[1]
    state: StateConfig = Field(default_factory=LocalState)
    provider: ProviderConfig = Field(default_factory=SandboxProvider)
    secrets: SecretsConfig = Field(default_factory=FileSink)
    defaults: Defaults = Field(default_factory=Defaults)
    safety: Safety = Field(default_factory=Safety)
    accounts: dict[AccountAlias, Account] = Field(
        default_factory=dict, json_schema_extra={"propertyNames": {"pattern": ALIAS_PATTERN}}
    )

    @model_validator(mode="before")
    @classmethod
    def _default_variants(cls, data: Any) -> Any:
        """`state: {path: x}` means the local backend: fill in each section's default variant."""
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        for section, (tag, default) in SECTION_TAGS.items():
            value = filled.get(section)
            if isinstance(value, dict) and tag not in value:
                filled[section] = {tag: default, **value}
        return filled

    def region_of(self, alias: str) -> str:
        return self.accounts[alias].region or self.defaults.region

    def unmanaged_of(self, alias: str) -> str:
        return self.accounts[alias].unmanaged or self.defaults.unmanaged
