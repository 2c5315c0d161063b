"""The shapes of Terraform's JSON plan representation (format 1.2) as ctconfig fills them.

These types are the schema: `schemas/plan.schema.json` is generated from them,
and `terraform.py` builds values of them. Only what ctconfig emits is here
(no `variables`, `output_changes`, `checks`, `deferred_changes` or
`relevant_attributes`; Terraform omits them when empty too). Every object
forbids keys it does not list, so the schema test catches a builder that
drifts from these types. Each resource change and prior-state resource also
carries a `ctconfig` object: ctconfig's own words, which Terraform tools ignore
(the format tells consumers to ignore unknown keys).
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

TERRAFORM_FORMAT: Literal["1.2"] = "1.2"
"""The version of Terraform's plan representation this follows (`terraform show -json`, 1.11)."""
TERRAFORM_VERSION: Literal["1.11.4"] = "1.11.4"
"""`terraform_version`: the Terraform release whose plan representation ctconfig's follows, not a
Terraform that ran (none does). Plan scanners (checkov, terraform-unidiff) take a document for a
Terraform plan only when it names one."""
STATE_FORMAT: Literal["1.0"] = "1.0"
PROVIDER_NAME = "ctconfig.invalid/ctconfig/clevertap"
"""A full provider source address, `HOSTNAME/NAMESPACE/TYPE`, as Terraform writes it: namespace
`ctconfig`, type `clevertap`. No Terraform provider owns these types, so the host is in `.invalid`
(RFC 2606: it never resolves): a tool that expands the address cannot fetch someone else's provider."""
PROVIDER_KEY: Literal["clevertap"] = "clevertap"
"""The key of ctconfig's provider in `configuration.provider_config` (Terraform's local name)."""

_CLOSED = ConfigDict(extra="forbid")

ChangeWord = Literal["no-op", "create", "update", "delete", "forget"]
"""`forget`: Terraform 1.7's word for a `removed` block that keeps the object (ctconfig's `removed:`)."""
ResourceType = Literal["account_passcode", "user_passcode", "settings"]
ActionReason = Literal[
    "replace_because_tainted",
    "replace_by_request",
    "replace_because_cannot_update",
    "replace_because_expiring",
    "delete_because_no_resource_config",
    "delete_because_rotated_out",
    "delete_because_unmanaged",
]
"""Terraform's words where they fit; `replace_because_expiring`, `delete_because_rotated_out` and
`delete_because_unmanaged` are ctconfig's own (Terraform tells consumers to read unknown reasons
as unspecified)."""
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
DaysText = Annotated[str, Field(pattern=r"^([1-9][0-9]{0,4}d|forever|infinite)$")]
Sensitivity = Literal[False] | dict[str, Literal[True]]
"""Terraform's `*_sensitive`: `false` for no object, else the sensitive leaves (ctconfig has none)."""


@with_config(_CLOSED)
class PasscodeValues(TypedDict):
    """An account passcode's attributes: `id` is CleverTap's; `expires_at` null means never."""

    id: NotRequired[str]
    name: str
    expires_in: DaysText
    expires_at: NotRequired[Moment | None]


@with_config(_CLOSED)
class GrantValues(TypedDict):
    """A user passcode's attributes: CleverTap keys it by its user, so `id` is the email."""

    id: str
    email: str
    validity: DaysText
    expires_at: NotRequired[Moment]


@with_config(_CLOSED)
class SettingsValues(TypedDict):
    """An account's settings: `id` is the account id."""

    id: NotRequired[str]
    passcode_mode: Literal["account", "user"]


Values = PasscodeValues | GrantValues | SettingsValues
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "account_passcode": tuple(PasscodeValues.__annotations__),
    "user_passcode": tuple(GrantValues.__annotations__),
    "settings": tuple(SettingsValues.__annotations__),
}
"""Each type's attributes: an attribute missing from `after` is listed in `after_unknown`."""


@with_config(_CLOSED)
class Importing(TypedDict):
    """A declared resource found in the account and adopted into state: Terraform's import."""

    id: str


@with_config(_CLOSED)
class Change(TypedDict):
    """Terraform's `change`: the actions, the object before and after, what is unknown until apply."""

    actions: list[ChangeWord]
    before: Values | None
    after: Values | None
    after_unknown: dict[str, Literal[True]]
    before_sensitive: Sensitivity
    after_sensitive: Sensitivity
    replace_paths: NotRequired[list[list[str]]]
    importing: NotRequired[Importing]


@with_config(_CLOSED)
class ChangeNote(TypedDict):
    """ctconfig's words for a change: the account alias, its own action kind, and why."""

    account: str
    action: NotRequired[str]
    reason: NotRequired[str]


@with_config(_CLOSED)
class ResourceChange(TypedDict):
    """One entry of `resource_changes` or `resource_drift`."""

    address: str
    previous_address: NotRequired[str]
    mode: Literal["managed"]
    type: ResourceType
    name: str
    provider_name: str
    change: Change
    action_reason: NotRequired[ActionReason]
    ctconfig: ChangeNote


@with_config(_CLOSED)
class ResourceNote(TypedDict):
    """ctconfig's record of how a resource is managed (never its secret or fingerprint)."""

    account: str
    account_id: str
    origin: Literal["created", "adopted", "imported"]
    prevent_destroy: bool
    retire_after: NotRequired[Moment]


@with_config(_CLOSED)
class PlannedResource(TypedDict):
    """A resource in `planned_values`: its values after the apply, unknowns left out."""

    address: str
    mode: Literal["managed"]
    type: ResourceType
    name: str
    provider_name: str
    schema_version: Literal[0]
    values: Values
    sensitive_values: dict[str, Literal[True]]


@with_config(_CLOSED)
class StateResource(TypedDict):
    """A resource in `prior_state`: the refreshed record's public values."""

    address: str
    mode: Literal["managed"]
    type: ResourceType
    name: str
    provider_name: str
    schema_version: Literal[0]
    values: Values
    sensitive_values: dict[str, Literal[True]]
    tainted: NotRequired[Literal[True]]
    ctconfig: ResourceNote


@with_config(_CLOSED)
class PlannedModule(TypedDict):
    resources: list[PlannedResource]


@with_config(_CLOSED)
class PlannedValues(TypedDict):
    root_module: PlannedModule


@with_config(_CLOSED)
class StateModule(TypedDict):
    resources: list[StateResource]


@with_config(_CLOSED)
class StateValues(TypedDict):
    root_module: StateModule


@with_config(_CLOSED)
class PriorState(TypedDict):
    """The state the plan starts from: the records as the refresh left them."""

    format_version: Literal["1.0"]
    terraform_version: Literal["1.11.4"]
    values: StateValues


@with_config(_CLOSED)
class ConstantExpression(TypedDict):
    """An attribute as the config sets it: ctconfig's config has no expressions, only values."""

    constant_value: str


@with_config(_CLOSED)
class ConfigResource(TypedDict):
    """A resource the config declares, with its declared attributes as constants."""

    address: str
    mode: Literal["managed"]
    type: ResourceType
    name: str
    provider_config_key: Literal["clevertap"]
    expressions: dict[str, ConstantExpression]
    schema_version: Literal[0]


@with_config(_CLOSED)
class ProviderConfig(TypedDict):
    """The provider the resources belong to: its local name and full source address."""

    name: Literal["clevertap"]
    full_name: str


@with_config(_CLOSED)
class ConfigModule(TypedDict):
    resources: list[ConfigResource]


@with_config(_CLOSED)
class Configuration(TypedDict):
    """`configuration`: the provider, and the resources the config declares (in the plan's scope)."""

    provider_config: dict[str, ProviderConfig]
    root_module: ConfigModule


class TerraformView(TypedDict):
    """The top-level keys Terraform's plan representation defines."""

    format_version: Literal["1.2"]
    terraform_version: Literal["1.11.4"]
    applyable: bool
    complete: bool
    errored: bool
    timestamp: NotRequired[Moment]
    planned_values: PlannedValues
    resource_changes: list[ResourceChange]
    resource_drift: list[ResourceChange]
    prior_state: PriorState
    configuration: Configuration
