"""The config's three pluggable sections: where state lives, how accounts are reached, where secrets go.

Each section is a tagged union (`backend`, `kind`, `sink`); `spec.py` holds the
rest of the config (defaults, safety, accounts) and the `Config` that ties them
together. Validators raise `ValueError("expected ...")`; the loader adds the place.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
)

from ctconfig.config.types import (
    Command,
    Days,
    EnvName,
    FilePath,
    ObjectKey,
    SqlName,
    Text,
    Url,
)


class _Strict(BaseModel):
    # No NaN or infinity anywhere: every number goes on to arithmetic or a timeout.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class LocalStateConfig(_Strict):
    """State in a JSON file, relative to the working directory (the default)."""

    backend: Literal["local"] = "local"
    path: FilePath = "ctconfig.state.json"


class PostgresStateConfig(_Strict):
    """State in PostgreSQL: one table of versions, advisory locks."""

    backend: Literal["postgres"]
    dsn_env: EnvName = Field(description="Environment variable holding the libpq connection string.")
    name: Text = Field("default", description="State name: several states can share a database.")
    schema_name: SqlName = Field("ctconfig", alias="schema")


class S3StateConfig(_Strict):
    """State in S3-compatible object storage with conditional writes."""

    backend: Literal["s3"]
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="An S3 bucket name.")
    key: ObjectKey = "ctconfig/state.json"
    region: str | None = Field(None, pattern=r"^[a-z0-9-]{1,32}$", description="e.g. eu-west-1")
    endpoint_url: Url | None = None
    lock_ttl: Days = 1


def _together(first: str, second: str) -> dict[str, Any]:
    """JSON Schema: when `first` is given (not null), `second` must be too."""
    return {
        "if": {"required": [first], "properties": {first: {"type": "string"}}},
        "then": {"required": [second], "properties": {second: {"type": "string"}}},
    }


class HttpStateConfig(_Strict):
    """State behind the Terraform HTTP backend protocol (as GitLab serves it)."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [_together("username_env", "password_env"), _together("password_env", "username_env")]
        }
    )

    backend: Literal["http"]
    address: Url
    lock_address: Url | None = None
    unlock_address: Url | None = None
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    lock_method: str = Field(
        "LOCK", pattern=r"^[A-Z]+$", description="HTTP method that takes the lock (GitLab: POST)."
    )
    unlock_method: str = Field(
        "UNLOCK", pattern=r"^[A-Z]+$", description="HTTP method that releases the lock (GitLab: DELETE)."
    )
    timeout: float = Field(10.0, gt=0, le=600, description="Seconds to wait for the state server to answer.")


StateConfig = Annotated[
    LocalStateConfig | PostgresStateConfig | S3StateConfig | HttpStateConfig, Field(discriminator="backend")
]


class SandboxProviderConfig(_Strict):
    """The embedded sandbox: a CleverTap account store in SQLite."""

    kind: Literal["sandbox"] = "sandbox"
    path: FilePath = ".ctconfig/sandbox.db"


class ClevertapProviderConfig(_Strict):
    """The management API over HTTP, at the region's host or an explicit base URL."""

    kind: Literal["clevertap"]
    base_url: Url | None = None
    timeout: float = Field(10.0, gt=0, le=600, description="Seconds to wait for a response.")
    connect_timeout: float = Field(5.0, gt=0, le=600)
    max_inflight: int = Field(3, ge=1, le=3, description="Requests in flight per account.")
    max_retries: int = Field(
        25,
        ge=0,
        le=100,
        description="Retries of one operation at most; high enough that retry_budget ends an outage.",
    )
    retry_budget: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds one operation keeps retrying (full jitter, at most 10 s apart, Retry-After "
        "honoured); the last attempt lands at the end of it.",
    )


class DashboardProviderConfig(_Strict):
    """A person performs each change in the CleverTap dashboard, guided by `ctconfig apply` at a terminal.

    CleverTap's credential check (`GET /v1/connect`) is the only call made: it proves each
    pasted API Key and finds passcodes gone outside ctconfig. `base_url` replaces the
    region's API host for that check only (e.g. `ctconfig sandbox serve` in tests).
    """

    kind: Literal["dashboard"]
    base_url: Url | None = None
    timeout: float = Field(10.0, gt=0, le=600, description="Seconds to wait for a credential check.")
    connect_timeout: float = Field(5.0, gt=0, le=600)
    max_retries: int = Field(10, ge=0, le=100, description="Retries of one credential check at most.")
    retry_budget: float = Field(
        30.0, gt=0, le=3600, description="Seconds one credential check keeps retrying (429, 5xx)."
    )


ProviderConfig = Annotated[
    SandboxProviderConfig | ClevertapProviderConfig | DashboardProviderConfig, Field(discriminator="kind")
]


class FileSinkConfig(_Strict):
    """One file per passcode, mode 0600, in a 0700 directory."""

    sink: Literal["file"] = "file"
    path: FilePath = ".ctconfig/secrets"


class CommandSinkConfig(_Strict):
    """A command that receives the secret on stdin (e.g. a secret manager's CLI)."""

    sink: Literal["command"]
    command: Command


class EnvFileSinkConfig(_Strict):
    """`NAME=secret` lines in one file, mode 0600."""

    sink: Literal["env-file"]
    path: FilePath = ".ctconfig/secrets.env"


_AWS_REGION = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"
_ENDPOINT_URL = r"^https?://[^\s]+$"
_SM_PREFIX = r"^([A-Za-z0-9_+=.@-]+/)*$"
_SSM_PREFIX = r"^/([A-Za-z0-9_.-]+/){0,12}$"


def _matches(pattern: str, expected: str) -> AfterValidator:
    """A check with a message for people; the pattern also goes into the JSON Schema."""

    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"expected {expected}")
        return value

    return AfterValidator(check)


def _not_reserved_by_ssm(prefix: str) -> str:
    if prefix.lstrip("/")[:3].lower() in ("aws", "ssm"):
        raise ValueError("expected a prefix that does not begin with 'aws' or 'ssm' (AWS reserves them)")
    return prefix


AwsRegion = Annotated[
    str,
    Field(json_schema_extra={"pattern": _AWS_REGION}, description="Default: AWS_REGION or the profile's."),
    _matches(_AWS_REGION, "an AWS region such as eu-west-1"),
]
EndpointUrl = Annotated[
    str,
    Field(max_length=2048, json_schema_extra={"pattern": _ENDPOINT_URL}),
    _matches(_ENDPOINT_URL, "an http:// or https:// URL"),
]
KmsKeyId = Annotated[str, Field(min_length=1, max_length=2048, description="A KMS key id, ARN or alias.")]
SecretsManagerPrefix = Annotated[
    str,
    Field(
        max_length=256,
        json_schema_extra={"pattern": _SM_PREFIX},
        description="Put before `<account>/<name>`: path segments, each ending in '/'.",
    ),
    _matches(_SM_PREFIX, "path segments of A-Z a-z 0-9 _+=.@- each ending in '/', such as ctconfig/"),
]
SsmPrefix = Annotated[
    str,
    Field(
        max_length=256,
        json_schema_extra={"pattern": _SSM_PREFIX},
        description="Put before `<account>/<name>`: '/', then path segments each ending in '/'.",
    ),
    _matches(_SSM_PREFIX, "'/' and up to 12 segments of A-Z a-z 0-9 _.- each ending in '/': /ctconfig/"),
    AfterValidator(_not_reserved_by_ssm),
]
MaxInflight = Annotated[int, Field(ge=1, le=32, description="Secrets sent to AWS at once.")]


class AwsSecretsManagerSinkConfig(_Strict):
    """Each secret in AWS Secrets Manager as `<prefix><account>/<name>`, tagged with its address."""

    sink: Literal["aws-secrets-manager"]
    prefix: SecretsManagerPrefix = "ctconfig/"
    region: AwsRegion | None = None
    endpoint_url: EndpointUrl | None = None
    kms_key_id: KmsKeyId | None = None
    max_inflight: MaxInflight = 8


class AwsSsmSinkConfig(_Strict):
    """Each secret as an AWS SSM Parameter Store SecureString `<prefix><account>/<name>`."""

    sink: Literal["aws-ssm"]
    prefix: SsmPrefix = "/ctconfig/"
    region: AwsRegion | None = None
    endpoint_url: EndpointUrl | None = None
    kms_key_id: KmsKeyId | None = None
    max_inflight: MaxInflight = 8


SecretsConfig = Annotated[
    FileSinkConfig | CommandSinkConfig | EnvFileSinkConfig | AwsSecretsManagerSinkConfig | AwsSsmSinkConfig,
    Field(discriminator="sink"),
]

# The key that picks each section's variant, and the variant used when it is left out.
SECTION_TAGS = {"state": ("backend", "local"), "provider": ("kind", "sandbox"), "secrets": ("sink", "file")}
