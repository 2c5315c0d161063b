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

from ctconfig.config.reference_types import (
    PasscodeAddress,
    PreviousAliases,
    RemovedAddress,
    TemplateName,
    TemplateNames,
    Token,
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
    min_resources: int = Field(
        10,
        ge=0,
        le=1_000_000,
        description="In accounts smaller than this, deleting more than half of what is managed "
        "needs approval.",
    )
    approve_deletes: list[PasscodeAddress] = Field(
        default_factory=list,
        description="Deletes and revokes approved in review: a mass delete goes ahead only when it "
        "deletes exactly what is listed here (or less).",
    )


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
    rotate: Token | None = None

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
    reset: Token | None = None

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


def _passcodes_field() -> Any:
    return Field(
        default_factory=dict,
        json_schema_extra={
            "maxProperties": MAX_ACCOUNT_PASSCODES,
            "propertyNames": PASSCODE_NAME_SCHEMA,
        },
    )


def _grants_field() -> Any:
    return Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"pattern": EMAIL_PATTERN, "maxLength": MAX_EMAIL_LENGTH}},
    )


class Template(_Strict):
    """A named set of account passcodes and user grants that accounts take with `use:`."""

    account_passcodes: dict[PasscodeName, AccountPasscodeSpec] = _passcodes_field()
    user_passcodes: dict[Email, UserPasscodeSpec] = _grants_field()


class Account(_Strict):
    id: AccountId
    region: Region | None = None
    credentials: Credentials | None = None
    passcode_mode: PasscodeMode | None = None
    unmanaged: Unmanaged | None = None
    previously: PreviousAliases = Field(default_factory=list)
    use: TemplateNames = Field(default_factory=list)
    account_passcodes: dict[PasscodeName, AccountPasscodeSpec] = _passcodes_field()
    user_passcodes: dict[Email, UserPasscodeSpec] = _grants_field()

    def with_templates(self, templates: dict[str, Template]) -> Account:
        """This account with the passcodes and grants of the templates it uses; its own entries win.

        A name that two used templates both define, or a template the config lacks, is a
        problem `references.py` reports with both places; here the first template wins.
        """
        if not self.use:
            return self
        passcodes: dict[str, AccountPasscodeSpec] = {}
        grants: dict[str, UserPasscodeSpec] = {}
        for name in self.use:
            template = templates.get(name)
            if template is not None:
                for key, spec in template.account_passcodes.items():
                    passcodes.setdefault(key, spec)
                for email, grant in template.user_passcodes.items():
                    grants.setdefault(email, grant)
        passcodes.update(self.account_passcodes)
        grants.update(self.user_passcodes)
        return self.model_copy(
            update={"account_passcodes": dict(sorted(passcodes.items())), "user_passcodes": grants}
        )


EXTENSION_PREFIX = "x-"
"""Top-level keys that start with this are ignored: a place for YAML anchors (`x-base: &base`)."""


class Config(_Strict):
    model_config = ConfigDict(json_schema_extra={"patternProperties": {"^x-": {}}})

    version: Literal[1]
    state: StateConfig = Field(default_factory=LocalStateConfig)
    provider: ProviderConfig = Field(default_factory=SandboxProviderConfig)
    secrets: SecretsConfig = Field(default_factory=FileSinkConfig)
    defaults: Defaults = Field(default_factory=Defaults)
    safety: Safety = Field(default_factory=Safety)
    templates: dict[TemplateName, Template] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"pattern": ALIAS_PATTERN, "maxLength": MAX_ALIAS_LENGTH}},
    )
    accounts: dict[AccountAlias, Account] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"pattern": ALIAS_PATTERN, "maxLength": MAX_ALIAS_LENGTH}},
    )
    removed: list[RemovedAddress] = Field(
        default_factory=list,
        description="Addresses to forget on apply without deleting them in the account (ACCOUNT/* for "
        "all of an account's).",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_variants(cls, data: Any) -> Any:
        """`state: {path: x}` means the local backend: fill in each section's default variant.

        Top-level `x-` keys (anchors for YAML aliases) are dropped here: they mean nothing.
        """
        if not isinstance(data, dict):
            return data
        filled = {k: v for k, v in data.items() if not str(k).startswith(EXTENSION_PREFIX)}
        for section, (tag, default) in SECTION_TAGS.items():
            value = filled.get(section)
            if isinstance(value, dict) and tag not in value:
                filled[section] = {tag: default, **value}
        return filled

    @model_validator(mode="after")
    def _templates_applied(self) -> Config:
        """Each account with the passcodes and grants of the templates it uses."""
        if not any(account.use for account in self.accounts.values()):
            return self
        accounts = {alias: a.with_templates(self.templates) for alias, a in self.accounts.items()}
        object.__setattr__(self, "accounts", accounts)  # frozen: set once, while validating
        return self

    def region_of(self, alias: str) -> str:
        return self.accounts[alias].region or self.defaults.region

    def unmanaged_of(self, alias: str) -> str:
        return self.accounts[alias].unmanaged or self.defaults.unmanaged
