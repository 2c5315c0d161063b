"""Actions: what a plan does to each resource, one class per resource kind, in a safe order.

Each action carries the managed settings before and after (days as `int`,
`None` = forever / infinite), the reason in words, and what the applier needs
(remote id, the address a rename comes from, how a rotation sets the old
passcode aside). `digest_material` is what a plan's digest covers: what would
be done, never times or wording.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import Field, TypeAdapter

from ctconfig.domain import Address, PasscodeMode
from ctconfig.jsontypes import ExpiryDays, Timestamp, ValidityDays


class ActionKind(StrEnum):
    """What an action does to its resource."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"
    GRANT = "grant"
    RESET = "reset"
    REVOKE = "revoke"
    CONFIGURE = "configure"
    MOVE = "move"  # state and the secret's slot follow a new address; the account is not touched
    FORGET = "forget"  # state lets go of the resource (`removed:`); it stays in the account


class ReplaceOrder(StrEnum):
    """How a replacement keeps (or cannot keep, or need not keep) a live credential."""

    CREATE_BEFORE_DELETE = "create_before_delete"  # passcode rotation: new first, old retired later
    DELETE_BEFORE_CREATE = "delete_before_create"  # a user passcode (revoke, grant); a tainted passcode


DESTRUCTIVE = frozenset({ActionKind.DELETE, ActionKind.REVOKE})
STATE_ONLY = frozenset({ActionKind.MOVE, ActionKind.FORGET})
"""Kinds that change what ctconfig records (and where a secret is kept), never an account."""
SUMMARY_ORDER = (
    ActionKind.CREATE,
    ActionKind.UPDATE,
    ActionKind.DELETE,
    ActionKind.GRANT,
    ActionKind.RESET,
    ActionKind.REVOKE,
)
PHASES = {
    ActionKind.MOVE: 0,
    ActionKind.FORGET: 0,
    ActionKind.UPDATE: 1,
    ActionKind.CREATE: 2,
    ActionKind.GRANT: 2,
    ActionKind.REPLACE: 2,
    ActionKind.RESET: 2,
    ActionKind.CONFIGURE: 3,
    ActionKind.DELETE: 4,
    ActionKind.REVOKE: 4,
}
"""The safe order within an account: moves to new addresses and forgetting (state only) first,
so later actions find their records where the plan expects them; renames and updates; creates,
grants, rotations and resets; the passcode mode (after the grants it depends on); deletes and
revokes last."""


# ---- the managed settings of each resource kind ---------------------------------------------


@dataclass(frozen=True)
class PasscodeSettings:
    """What ctconfig manages of an account passcode: its name and expiry."""

    name: str
    expires_in: ExpiryDays


@dataclass(frozen=True)
class GrantSettings:
    """What ctconfig manages of a user passcode: whose it is and its validity."""

    email: str
    validity: ValidityDays


@dataclass(frozen=True)
class ModeSettings:
    """What ctconfig manages of an account's settings: the passcode mode."""

    passcode_mode: PasscodeMode


Settings = PasscodeSettings | GrantSettings | ModeSettings


# ---- actions, one class per resource kind ---------------------------------------------------


@dataclass(frozen=True)
class Rotation:
    """How a rotation sets the old passcode aside: its new name, and when it may be deleted.

    `retire_after` None: delete it at once, right after the create (a plan saved by an earlier
    ctconfig, which rotated tainted passcodes; they are now replaced delete-first).
    """

    aside_name: str
    retire_after: Timestamp | None


@dataclass(frozen=True)
class PasscodeAction:
    """Create, update (rename, expiry), rotate (replace) or delete an account passcode."""

    address: Address
    kind: ActionKind
    before: PasscodeSettings | None
    after: PasscodeSettings | None
    reason: str
    remote_id: str | None = None
    moved_from: Address | None = None  # a rename (`previously`): the address it had
    rotation: Rotation | None = None  # a replacement without one deletes first (`replace_order`)
    rotate_token: str | None = None  # the config's `rotate:` token a create or rotation records
    type: Literal["account_passcode"] = "account_passcode"


@dataclass(frozen=True)
class GrantAction:
    """Grant, reset, revoke, or revoke and grant again (replace) a user passcode."""

    address: Address
    kind: ActionKind
    before: GrantSettings | None
    after: GrantSettings | None
    reason: str
    reset_token: str | None = None  # the config's `reset:` token a grant or reset records
    type: Literal["user_passcode"] = "user_passcode"

    @property
    def email(self) -> str:
        """The user whose passcode this is."""
        settings = self.after or self.before
        return settings.email if settings is not None else self.address.name


@dataclass(frozen=True)
class SettingsAction:
    """Set an account's passcode mode."""

    address: Address
    before: ModeSettings | None
    after: ModeSettings
    reason: str
    kind: ActionKind = ActionKind.CONFIGURE
    type: Literal["settings"] = "settings"


@dataclass(frozen=True)
class StateAction:
    """Move a managed resource to a new address (an account alias renamed with `previously`), or
    forget it (`removed:`). State changes, and a moved passcode's secret follows it to its new
    slot in the sink; the account itself is not touched."""

    address: Address
    kind: ActionKind  # MOVE or FORGET
    before: Settings | None
    after: Settings | None
    reason: str
    moved_from: Address | None = None  # a move: the address it had
    type: Literal["state"] = "state"


Action = PasscodeAction | GrantAction | SettingsAction | StateAction
TypedAction = Annotated[Action, Field(discriminator="type")]


def replace_order(action: Action) -> ReplaceOrder | None:
    """Rotation for passcodes, revoke-then-grant for user passcodes, None for other actions.

    A passcode replacement without a `rotation` deletes first: a tainted passcode's secret is
    known to no one, so there is no overlap to protect, and deleting before creating means no
    retry can push an account toward CleverTap's 100-passcode limit.
    """
    if action.kind is not ActionKind.REPLACE:
        return None
    if isinstance(action, GrantAction) or (isinstance(action, PasscodeAction) and action.rotation is None):
        return ReplaceOrder.DELETE_BEFORE_CREATE
    return ReplaceOrder.CREATE_BEFORE_DELETE


def issues_secret(action: Action) -> bool:
    """True for the actions that create an account passcode, whose new secret goes to the sink."""
    return isinstance(action, PasscodeAction) and action.kind in (ActionKind.CREATE, ActionKind.REPLACE)


def moved_from(action: Action) -> Address | None:
    """The address a rename or a move comes from (None for every other action)."""
    return action.moved_from if isinstance(action, PasscodeAction | StateAction) else None


def token_of(action: Action) -> str | None:
    """The `rotate:` or `reset:` token an action records (None when the config gives none)."""
    if isinstance(action, PasscodeAction):
        return action.rotate_token
    if isinstance(action, GrantAction):
        return action.reset_token
    return None


def is_destructive(action: Action) -> bool:
    """Deletes, revokes, and revoke-and-grant: something stops working, at least for a moment."""
    return action.kind in DESTRUCTIVE or replace_order(action) is ReplaceOrder.DELETE_BEFORE_CREATE


@functools.cache
def _settings_adapter() -> TypeAdapter[Settings | None]:
    """Built on first use (a plan with no changes never needs it)."""
    return TypeAdapter(Settings | None)


def settings_json(settings: Settings | None) -> Any:
    """A settings object as JSON (`90d`, `forever`), or None."""
    return _settings_adapter().dump_python(settings, mode="json")


def canonical_json(data: Any) -> bytes:
    """Sorted, compact JSON: the bytes digests are taken of."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def digest_material(action: Action) -> dict[str, object]:
    """What an action's digest covers: never times, wording or the dated aside name."""
    order = replace_order(action)
    moved = moved_from(action)
    material: dict[str, object] = {
        "address": str(action.address),
        "action": action.kind.value,
        "before": settings_json(action.before),
        "after": settings_json(action.after),
        "moved_from": str(moved) if moved else None,
        "replace_order": order.value if order else None,
    }
    token = token_of(action)
    if token is not None:
        material["token"] = token
    return material
