"""The Plan: computed once by the planner, rendered many ways, applied once.

A plan is plain, typed data: its actions (`actions.py`), drift, warnings and
errors, the resources it leaves as they are, and the stamp of the state and
config it was made from. Its digest covers only what would be done, never
times or wording, so the same change planned twice has the same digest and a
reviewer's digest can gate an apply (`apply --plan-digest`). Saving and
loading plans is `planfile/`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Annotated, Literal

from pydantic import Field

from ctconfig.actions import (
    SUMMARY_ORDER,
    Action,
    ActionKind,
    Settings,
    TypedAction,
    canonical_json,
    digest_material,
)
from ctconfig.domain import Address
from ctconfig.errors import CtconfigError
from ctconfig.jsontypes import Timestamp


class PlanError(CtconfigError):
    """A plan cannot be made, loaded or applied as asked."""


class StalePlanError(PlanError):
    """A saved plan no longer matches the state or config it was made from."""


# ---- notes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """A change made outside ctconfig: the settings ctconfig recorded and what the account has now."""

    address: Address
    message: str
    before: Settings | None = None
    after: Settings | None = None

    @property
    def adoption(self) -> bool:
        """A declared resource found in the account and taken into state (the refresh records no settings)."""
        return self.before is None and self.after is None


@dataclass(frozen=True)
class Note:
    """A warning or error about one address, or about an account (`prod`, `prod/*`)."""

    subject: str
    message: str


@dataclass(frozen=True)
class MassDelete:
    """An account where one apply would delete or revoke too large a share of what it manages,
    and the deletes and revokes no `safety.approve_deletes` entry approves.

    `small`: the account manages fewer than `safety.min_resources`, where the share is one half.
    """

    account: str
    destroying: int
    managed: int
    limit: float
    unapproved: tuple[Address, ...] = ()
    small: bool = False

    def message(self) -> str:
        """`prod: 7 of 12 managed resources would be deleted or revoked (58% > 30%)`."""
        return f"{self.account}: {self.share()}"

    def share(self) -> str:
        """`7 of 12 managed resources would be deleted or revoked (58% > 30%)`."""
        share = self.destroying / self.managed if self.managed else 1.0
        rule = ", in an account under safety.min_resources" if self.small else ""
        return (
            f"{self.destroying} of {self.managed} managed resources would be "
            f"deleted or revoked ({share:.0%} > {self.limit:.0%}{rule})"
        )

    def approval(self) -> list[str]:
        """The config lines that approve exactly these deletes (for the reviewer to add)."""
        return ["safety:", "  approve_deletes:", *(f"    - {address}" for address in self.unapproved)]


@dataclass(frozen=True)
class PlanScope:
    """How the plan was asked for; a saved plan keeps it so applying it re-plans the same way."""

    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    refresh_only: bool = False

    @property
    def partial(self) -> bool:
        """True when --target or --exclude left something out."""
        return bool(self.targets or self.excludes)

    def selects(self, *addresses: Address) -> bool:
        """Whether --target keeps and --exclude does not drop a resource known by these addresses.

        A glob or a prefix (`prod`, `prod/account_passcode`) matches; a rename matches by either name.
        """
        names = [str(a) for a in addresses]

        def matches(patterns: tuple[str, ...]) -> bool:
            return any(
                fnmatchcase(n, p) or n.startswith(p.rstrip("/") + "/") for p in patterns for n in names
            )

        return (not self.targets or matches(self.targets)) and not (self.excludes and matches(self.excludes))

    def selects_subject(self, subject: str) -> bool:
        """Whether a warning about `subject` (an address, or an account such as `prod/*`) is in scope."""
        if not self.partial:
            return True
        try:
            return self.selects(Address.parse(subject))
        except ValueError:
            account = subject.split("/", 1)[0]
        in_targets = not self.targets or any(
            fnmatchcase(account, p.split("/", 1)[0]) for p in self.targets
        )
        return in_targets and not any(p.rstrip("/") in (account, f"{account}/*") for p in self.excludes)

    def replaces(self, address: Address) -> bool:
        """Whether `--replace` (an exact address or a glob) names this address."""
        text = str(address)
        return any(text == p or fnmatchcase(text, p) for p in self.replace)


ResourceOrigin = Literal["created", "adopted", "imported"]
"""How a resource came under management (`state.document.Origin`, by value)."""


@dataclass(frozen=True)
class PriorResource:
    """A managed resource as the refresh left it: public values only, never a secret or its fingerprint.

    The plan carries these so that its JSON can show Terraform's `prior_state`,
    the full `before` of each change and a `no-op` change for every resource the
    plan leaves alone, from a saved plan file as well as from a fresh plan.
    """

    address: Address
    account_id: Annotated[str, Field(min_length=1, max_length=64)]
    settings: Settings
    remote_id: Annotated[str, Field(max_length=128)] | None = None
    expires_at: Timestamp | None = None
    origin: ResourceOrigin = "created"
    prevent_destroy: bool = False
    tainted: bool = False
    retire_after: Timestamp | None = None


@dataclass(frozen=True)
class TrustChange:
    """A change to where credentials, secrets or state go (`config/trust.py`): the reviewer's business.

    `before` is None when the state never recorded it (its first write, or an older ctconfig's).
    """

    key: Annotated[str, Field(max_length=300)]
    before: Annotated[str, Field(max_length=4096)] | None
    after: Annotated[str, Field(max_length=4096)] | None


@dataclass(frozen=True)
class PlanStamp:
    """The state version and config the plan was made from, so a stale saved plan is refused."""

    lineage: str = ""  # "" before the first state write fixes a lineage
    serial: int = 0
    config_digest: str = ""
    created_at: Timestamp | None = None


@dataclass(frozen=True)
class Plan:
    """Everything one `plan` decided. Immutable; rendered by `ctconfig.render`, applied once."""

    actions: tuple[TypedAction, ...] = ()
    drift: tuple[Drift, ...] = ()
    warnings: tuple[Note, ...] = ()
    errors: tuple[Note, ...] = ()
    mass_deletes: tuple[MassDelete, ...] = ()
    unknown_secrets: tuple[Address, ...] = ()
    """Managed account passcodes ctconfig did not create: their secret is not in the sink."""
    scope: PlanScope = field(default_factory=PlanScope)
    stamp: PlanStamp = field(default_factory=PlanStamp)
    state_updates: int = 0
    """Records the refresh changed (adopted, drifted, gone): what `--refresh-only` would write."""
    prior: tuple[PriorResource, ...] = ()
    """Every managed resource as the refresh left it, in address order (see `PriorResource`)."""
    unmanaged: tuple[Address, ...] = ()
    """What the accounts hold that the config does not manage (where `unmanaged` is warn or delete)."""
    trust_changes: tuple[TrustChange, ...] = ()
    """What this config changes about where credentials, secrets and state go, since the state's
    last write: shown first, as a CAUTION, in the pull-request view."""
    endpoint: Annotated[str, Field(max_length=4096)] = ""
    """Where the provider sends credentials, and on whose say (`config/trust.py`)."""

    @property
    def has_changes(self) -> bool:
        """True when applying would change an account."""
        return bool(self.actions)

    @property
    def adoptions(self) -> tuple[Address, ...]:
        """Declared resources found in the accounts, which the apply takes into state as they are."""
        return tuple(d.address for d in self.drift if d.adoption)

    @property
    def digest(self) -> str:
        """`sha256:` of what would be done (adoptions included); stable across runs and wording."""
        items = [digest_material(a) for a in self.actions]
        items += [{"address": str(a), "action": "adopt"} for a in sorted(self.adoptions)]
        return "sha256:" + hashlib.sha256(canonical_json(items)).hexdigest()

    def counts(self) -> dict[ActionKind, int]:
        """How many actions of each kind."""
        counts = dict.fromkeys(ActionKind, 0)
        for action in self.actions:
            counts[action.kind] += 1
        return counts

    def summary_line(self) -> str:
        """`Plan: 2 to create, 1 to update, ...`, or `No changes.` (never for a plan with errors)."""
        if self.errors:
            return f"Plan failed: {len(self.errors)} error(s); nothing can be applied."
        adoptions = len(self.adoptions)
        if not self.actions and not adoptions:
            return "No changes."
        counts = self.counts()
        parts = [f"{counts[kind]} to {kind.value}" for kind in SUMMARY_ORDER]
        extra = (ActionKind.REPLACE, ActionKind.CONFIGURE, ActionKind.MOVE, ActionKind.FORGET)
        parts += [f"{counts[k]} to {k.value}" for k in extra if counts[k]]
        parts += [f"{adoptions} to adopt"] if adoptions else []
        return "Plan: " + ", ".join(parts) + "."

    def accounts(self) -> list[str]:
        """Every account the plan says something about, sorted."""
        names = {a.address.account for a in self.actions}
        names.update(d.address.account for d in self.drift)
        names.update(n.subject.split("/", 1)[0] for n in self.warnings)
        return sorted(names)

    def in_account(self, alias: str) -> list[Action]:
        """The actions of one account, in plan order."""
        return [a for a in self.actions if a.address.account == alias]

    def stamped(self, stamp: PlanStamp) -> Plan:
        """The same plan, recording what it was made from."""
        return replace(self, stamp=stamp)


def mass_delete_refusal(refused: tuple[MassDelete, ...]) -> str:
    """One line: which accounts, and the two ways to go ahead."""
    return (
        "refusing a mass delete: "
        + "; ".join(m.message() for m in refused)
        + ". Approve exactly these deletes in the config (safety.approve_deletes: the plan lists them), "
        "or apply with --allow-mass-delete"
    )


def check_fresh(plan: Plan, lineage: str, serial: int, config_digest: str) -> None:
    """Refuse a saved plan whose state or config moved since it was made."""
    reasons = []
    if plan.stamp.lineage and plan.stamp.lineage != lineage:
        reasons.append(f"it was made for state lineage {plan.stamp.lineage}, not {lineage}")
    elif plan.stamp.serial != serial:
        reasons.append(f"state moved from serial {plan.stamp.serial} to {serial}")
    if plan.stamp.config_digest != config_digest:
        reasons.append("config changed")
    if reasons:
        raise StalePlanError(
            "saved plan is stale: " + "; ".join(reasons) + ". Re-run `ctconfig plan` and review it again."
        )
