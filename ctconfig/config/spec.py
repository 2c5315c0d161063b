"""The version-1 configuration as pydantic models: the shape of the config.

The value types (durations as days or `None` for `forever`/`infinite`, names,
emails, ids) come from `types.py`; rules that compare several entries
(duplicates, limits, ids across accounts) live in `rules.py`. Validators raise
`ValueError("expected ...")`; the loader adds the place and what was found.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ctconfig.config.sections import (  # re-exported: the config's section types
    SECTION_TAGS,
    AwsRegion,
    AwsSecretsManagerSinkConfig,
    AwsSsmSinkConfig,
    ClevertapProviderConfig,
    CommandSinkConfig,
    DashboardProviderConfig,
    EndpointUrl,
    EnvFileSinkConfig,
    FileSinkConfig,
    HttpStateConfig,
    KmsKeyId,
    LocalStateConfig,
    MaxInflight,
    PostgresStateConfig,
    ProviderConfig,
    S3StateConfig,
    SandboxProviderConfig,
    SecretsConfig,
    SecretsManagerPrefix,
    SsmPrefix,
    StateConfig,
    _Strict,
)
from ctconfig.config.types import (
    ALIAS_PATTERN,
    EMAIL_PATTERN,
    MAX_ALIAS_LENGTH,
    MAX_EMAIL_LENGTH,
    PASSCODE_NAME_SCHEMA,
    AccountAlias,
    AccountId,
    Days,
    Email,
    EnvName,
    ExpiresIn,
    PasscodeMode,
    PasscodeName,
    Previously,
    Region,
    Unmanaged,
    Validity,
)
from ctconfig.domain import INFINITE_VALIDITY_DAYS, MAX_ACCOUNT_PASSCODES
from ctconfig.durations import FOREVER

FOREVER_PATTERN = "^" + "".join(f"[{c.upper()}{c}]" for c in FOREVER) + "$"


__all__ = [
    "SECTION_TAGS",
    "AwsRegion",
    "AwsSecretsManagerSinkConfig",
    "AwsSsmSinkConfig",
    "ClevertapProviderConfig",
    "CommandSinkConfig",
    "DashboardProviderConfig",
    "EndpointUrl",
    "EnvFileSinkConfig",
    "FileSinkConfig",
    "HttpStateConfig",
    "KmsKeyId",
    "LocalStateConfig",
    "MaxInflight",
    "PostgresStateConfig",
    "ProviderConfig",
    "S3StateConfig",
    "SandboxProviderConfig",
    "SecretsConfig",
    "SecretsManagerPrefix",
    "SsmPrefix",
    "StateConfig",
]


class Defaults(_Strict):
    region: Region = "eu1"
    unmanaged: Unmanaged = "ignore"
    rotation_overlap: Days = 7


class Safety(_Strict):
    max_delete_fraction: float = Field(0.3, ge=0, le=1)
    min_resources: int = Field(10, ge=0, le=1_000_000, description="Accounts smaller than this are exempt.")


class Credentials(_Strict):
    passcode_env: EnvName = Field(description="Environment variable holding the admin passcode.")


class AccountPasscodeSpec(_Strict):
    # JSON Schema: a passcode that never expires has nothing to rotate before.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {
                "required": ["expires_in"],
                "properties": {"expires_in": {"type": "string", "pattern": FOREVER_PATTERN}},
            },
            "then": {"properties": {"rotate_before": {"type": "null"}}},
        }
    )

    expires_in: ExpiresIn
    rotate_before: Days | None = None
    prevent_destroy: bool = False
    previously: Previously = Field(default_factory=list)

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
            "propertyNames": PASSCODE_NAME_SCHEMA,
        },
    )
    user_passcodes: dict[Email, UserPasscodeSpec] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"pattern": EMAIL_PATTERN, "maxLength": MAX_EMAIL_LENGTH}},
    )


class Config(_Strict):
    version: Literal[1]
    state: StateConfig = Field(default_factory=LocalStateConfig)
    provider: ProviderConfig = Field(default_factory=SandboxProviderConfig)
    secrets: SecretsConfig = Field(default_factory=FileSinkConfig)
    defaults: Defaults = Field(default_factory=Defaults)
    safety: Safety = Field(default_factory=Safety)
    accounts: dict[AccountAlias, Account] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"pattern": ALIAS_PATTERN, "maxLength": MAX_ALIAS_LENGTH}},
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
