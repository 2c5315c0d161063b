"""The planner: desired config + state + observed accounts + now → Plan. Pure: no I/O.

It works in two steps, each a function the service layer calls in turn.
`refresh_state` reconciles state with what each account reports (drift;
resources deleted outside ctconfig dropped; declared resources that already
exist adopted by name, so nothing is ever duplicated; the records of an account
renamed with `previously:` read under its new alias). `diff` compares the
config with the refreshed state and emits actions in a safe order (`actions.PHASES`):
moves and forgets (state only), renames and updates, then creates, grants,
rotations and resets, then the passcode mode, then deletes and revokes. Between
the two the service layer may give an adopted passcode its fingerprint back from
the secret sink.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ctconfig.actions import PHASES, Action, moved_from
from ctconfig.config.spec import Account, Config
from ctconfig.domain import AccountSnapshot, Address
from ctconfig.plan import Drift, Note, Plan
from ctconfig.planner.account import diff_settings, unmanaged
from ctconfig.planner.common import Builder, PlanOptions
from ctconfig.planner.grants import diff_grants
from ctconfig.planner.moves import Removed, moved_view, state_actions
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
    """State refreshed against the accounts, and what the refresh found.

    `state` keeps each record at the address state has it; `moves` sends the records of an
    account renamed with `previously:` to their new addresses (the plan's moves do it on apply).
    """

    state: State
    drift: tuple[Drift, ...] = ()
    errors: tuple[Note, ...] = ()
    state_updates: int = 0
    adopted_ids: Mapping[str, frozenset[str]] = field(default_factory=dict)
    moves: Mapping[Address, Address] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanResult:
    """The plan, and the state as the refresh left it (what `apply` starts from)."""

    plan: Plan
    refreshed: State


def refresh_state(config: Config, state: State, observed: Observed) -> Refresh:
    """Every account's records refreshed against its snapshot (an account renamed with `previously:`
    reads its old alias's records too); accounts no longer in the config are errors, unless `removed:`
    forgets them."""
    by_account = _by_account(state)
    resources: Records = {}
    errors: list[Note] = []
    renamed = {old for account in config.accounts.values() for old in account.previously}
    removed = Removed.of(config)
    for alias in sorted(set(by_account) - set(config.accounts) - renamed):
        resources.update(by_account[alias])
        if alias in removed.accounts:
            continue  # forgotten by the plan, as state has it
        count = len(by_account[alias])
        errors.append(
            Note(
                f"{alias}/*",
                f"account '{alias}' is in state ({count} resources) but not in the config; keep it with no "
                f"passcodes to delete them, give its new alias `previously: {alias}`, or add '{alias}/*' to "
                "removed: to stop managing it",
            )
        )
    drift: list[Drift] = []
    updates = 0
    adopted: dict[str, frozenset[str]] = {}
    moves: dict[Address, Address] = {}
    for alias in sorted(config.accounts):
        account = config.accounts[alias]
        records, moved_in = _with_renamed(alias, account, by_account, removed, resources, errors)
        done = refresh_account(alias, account, records, observed.get(alias))
        for address, record in done.resources.items():
            old = moved_in.get(address)
            if old is not None:
                moves[old] = address
            resources[old or address] = record
        drift += done.drift
        updates += done.changes
        adopted[alias] = frozenset(done.adopted_ids)
    return Refresh(state.with_resources(resources), tuple(drift), tuple(errors), updates, adopted, moves)


def _with_renamed(
    alias: str,
    account: Account,
    by_account: Mapping[str, Records],
    removed: Removed,
    kept: Records,
    errors: list[Note],
) -> tuple[Records, dict[Address, Address]]:
    """An account's records, with those of its earlier aliases under new addresses; and where each
    of those came from. A record that cannot move (its address is taken, it belongs to another
    account id, `removed:` names it) stays where it is, in `kept`."""
    records = dict(by_account.get(alias, {}))
    moved_in: dict[Address, Address] = {}
    for old_alias in account.previously:
        for address, record in in_address_order(by_account.get(old_alias, {})):
            new = replace(address, account=alias)
            if removed.covers(address) or removed.covers(new):
                kept[address] = record  # forgotten where state has it
            elif new in records:
                kept[address] = record
                why = f"cannot move to {new}: it is in state already; `ctconfig state rm` the stale one"
                errors.append(Note(str(address), why))
            elif record.account_id != account.id:
                kept[address] = record
                errors.append(
                    Note(
                        str(address),
                        f"belongs to account id {record.account_id}, but '{alias}' (previously "
                        f"'{old_alias}') is {account.id}: previously: renames an alias, not an account",
                    )
                )
            else:
                records[new] = record
                moved_in[new] = address
    return records, moved_in


def diff(config: Config, refresh: Refresh, observed: Observed, options: PlanOptions) -> Plan:
    """The actions that make the refreshed state match the config, in a safe, deterministic order."""
    out = Builder(drift=list(refresh.drift), errors=list(refresh.errors))
    view = moved_view(refresh.state.resources, refresh.moves)
    ignored = Removed.of(config)
    if options.scope.refresh_only:  # no actions: only what the accounts hold unmanaged
        found, records = Builder(), _by_account_records(view)
        for alias in sorted(config.accounts):
            adopted = set(refresh.adopted_ids.get(alias, ()))
            managed, snapshot = records.get(alias, {}), observed.get(alias)
            unmanaged(config, alias, managed, adopted, snapshot, found, ignored.covers)
        out.unmanaged += found.unmanaged
    else:
        view = state_actions(config, refresh.state.resources, refresh.moves, out)
        by_account = _by_account_records(view)
        for alias in sorted(config.accounts):
            snapshot = observed.get(alias)
            now = snapshot.observed_at if snapshot is not None else options.now
            managed = by_account.get(alias, {})
            account = config.accounts[alias]
            diff_passcodes(AccountView(config, alias, managed, snapshot, now, options), account, out)
            diff_grants(alias, account, managed, snapshot, now, options, out)
            diff_settings(alias, account, managed, snapshot, out)
            adopted = set(refresh.adopted_ids.get(alias, ()))
            unmanaged(config, alias, managed, adopted, snapshot, out, ignored.covers)
    actions, refused = keep_protected(_select(out.actions, options), protected_ids(config, view, observed))
    out.errors += refused
    actions.sort(key=lambda a: (a.address.account, PHASES[a.kind], a.address))
    guarded = mass_deletes(config, view, actions, options.scope)
    scope = options.scope
    return Plan(
        actions=tuple(actions),
        drift=tuple(out.drift),
        warnings=tuple(n for n in (*out.warnings, *guarded.notes) if scope.selects_subject(n.subject)),
        errors=tuple(out.errors),
        mass_deletes=guarded.refused,
        unknown_secrets=unknown_secrets(view),
        scope=options.scope,
        state_updates=refresh.state_updates,
        prior=prior_resources(refresh.state.resources),
        unmanaged=tuple(a for a in out.unmanaged if options.scope.selects(a)),
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
    return _by_account_records(state.resources)


def _by_account_records(resources: Mapping[Address, RecordType]) -> dict[str, Records]:
    grouped: dict[str, Records] = {}
    for address, record in resources.items():
        grouped.setdefault(address.account, {})[address] = record
    return grouped


def _select(actions: list[Action], options: PlanOptions) -> list[Action]:
    """The actions `--target` keeps and `--exclude` does not drop (a rename or a move matches by
    either address)."""

    def names(action: Action) -> tuple[Address, ...]:
        moved = moved_from(action)
        return (action.address, moved) if moved else (action.address,)

    return [a for a in actions if options.scope.selects(*names(a))]
