"""The planner: desired config + state + observed accounts + now → Plan. Pure: no I/O.

It works in two steps, each a function the service layer calls in turn.
`refresh_state` reconciles state with what each account reports (drift;
resources deleted outside ctconfig dropped; declared resources that already
exist adopted by name, so nothing is ever duplicated). `diff` compares the
config with the refreshed state and emits actions in a safe order (`plan.PHASES`):
renames and updates, then creates, grants, rotations and resets, then the
passcode mode, then deletes and revokes. Between the two the service layer may
give an adopted passcode its fingerprint back from the secret sink.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ctconfig.actions import PHASES, Action, PasscodeAction
from ctconfig.config.spec import Config
from ctconfig.domain import AccountSnapshot, Address
from ctconfig.plan import Drift, Note, Plan
from ctconfig.planner.account import diff_settings, unmanaged
from ctconfig.planner.common import Builder, PlanOptions
from ctconfig.planner.grants import diff_grants
from ctconfig.planner.passcodes import AccountView, diff_passcodes, retiring_name
from ctconfig.planner.prior import prior_resources
from ctconfig.planner.protection import keep_protected, protected_ids
from ctconfig.planner.refresh import Records, in_address_order, refresh_account
from ctconfig.planner.safety import mass_deletes
from ctconfig.state.document import AccountPasscodeRecord, Origin, RecordType, State

__all__ = ["PlanOptions", "PlanResult", "Refresh", "diff", "make_plan", "refresh_state", "retiring_name"]

Observed = Mapping[str, AccountSnapshot | None]
"""Each account's snapshot by alias; None when it was not read (`--refresh=false`)."""


@dataclass(frozen=True)
class Refresh:
    """State refreshed against the accounts, and what the refresh found."""

    state: State
    drift: tuple[Drift, ...] = ()
    errors: tuple[Note, ...] = ()
    state_updates: int = 0
    adopted_ids: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanResult:
    """The plan, and the state as the refresh left it (what `apply` starts from)."""

    plan: Plan
    refreshed: State


def refresh_state(config: Config, state: State, observed: Observed) -> Refresh:
    """Every account's records refreshed against its snapshot; accounts no longer in the config are errors."""
    by_account = _by_account(state)
    resources: Records = {}
    errors: list[Note] = []
    for alias in sorted(set(by_account) - set(config.accounts)):
        count = len(by_account[alias])
        errors.append(
            Note(
                f"{alias}/*",
                f"account '{alias}' is in state ({count} resources) but not in the config; keep it with no "
                f"passcodes to delete them, or `ctconfig state rm '{alias}/*'` to stop managing it",
            )
        )
        resources.update(by_account[alias])
    drift: list[Drift] = []
    updates = 0
    adopted: dict[str, frozenset[str]] = {}
    for alias in sorted(config.accounts):
        done = refresh_account(alias, config.accounts[alias], by_account.get(alias, {}), observed.get(alias))
        resources.update(done.resources)
        drift += done.drift
        updates += done.changes
        adopted[alias] = frozenset(done.adopted_ids)
    return Refresh(state.with_resources(resources), tuple(drift), tuple(errors), updates, adopted)


def diff(config: Config, refresh: Refresh, observed: Observed, options: PlanOptions) -> Plan:
    """The actions that make the refreshed state match the config, in a safe, deterministic order."""
    out = Builder(drift=list(refresh.drift), errors=list(refresh.errors))
    by_account = _by_account(refresh.state)
    if not options.scope.refresh_only:
        for alias in sorted(config.accounts):
            snapshot = observed.get(alias)
            now = snapshot.observed_at if snapshot is not None else options.now
            managed = by_account.get(alias, {})
            account = config.accounts[alias]
            diff_passcodes(AccountView(config, alias, managed, snapshot, now, options), account, out)
            diff_grants(alias, account, managed, snapshot, now, options, out)
            diff_settings(alias, account, managed, snapshot, out)
            unmanaged(config, alias, managed, set(refresh.adopted_ids.get(alias, ())), snapshot, out)
    actions, refused = keep_protected(
        _select(out.actions, options), protected_ids(config, refresh.state.resources, observed)
    )
    out.errors += refused
    actions.sort(key=lambda a: (a.address.account, PHASES[a.kind], a.address))
    return Plan(
        actions=tuple(actions),
        drift=tuple(out.drift),
        warnings=tuple(out.warnings),
        errors=tuple(out.errors),
        mass_deletes=tuple(mass_deletes(config, refresh.state.resources, actions)),
        unknown_secrets=unknown_secrets(refresh.state.resources),
        scope=options.scope,
        state_updates=refresh.state_updates,
        prior=prior_resources(refresh.state.resources),
    )


def make_plan(config: Config, state: State, observed: Observed, options: PlanOptions) -> PlanResult:
    """Refresh and diff in one call (for callers that do no I/O in between)."""
    refresh = refresh_state(config, state, observed)
    return PlanResult(diff(config, refresh, observed, options), refresh.state)


def unknown_secrets(resources: Mapping[Address, RecordType]) -> tuple[Address, ...]:
    """Managed passcodes ctconfig did not create and whose secret it does not hold."""
    return tuple(
        address
        for address, record in in_address_order(resources)
        if isinstance(record, AccountPasscodeRecord)
        and record.origin is not Origin.CREATED
        and record.secret_fingerprint is None
        and record.retire_after is None
        and not record.tainted
    )


def _by_account(state: State) -> dict[str, Records]:
    grouped: dict[str, Records] = {}
    for address, record in state.resources.items():
        grouped.setdefault(address.account, {})[address] = record
    return grouped


def _select(actions: list[Action], options: PlanOptions) -> list[Action]:
    """The actions `--target` keeps and `--exclude` does not drop (a rename matches by either name)."""

    def names(action: Action) -> tuple[Address, ...]:
        moved = action.moved_from if isinstance(action, PasscodeAction) else None
        return (action.address, moved) if moved else (action.address,)

    return [a for a in actions if options.scope.selects(*names(a))]
