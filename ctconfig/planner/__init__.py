"""The planner: desired config + state + observed accounts + now → Plan. Pure: no I/O.

It works per account in two steps. *Refresh* reconciles state with what the
account reports (drift notes; resources deleted outside ctconfig dropped;
declared resources that already exist adopted by name, so a crash never causes
a duplicate). *Diff* compares the config with the refreshed state and emits
actions in a safe order: renames and updates, then creates, grants, rotations
and resets, then the passcode mode, then deletes and revokes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from ctconfig.config.spec import Config
from ctconfig.domain import AccountSnapshot
from ctconfig.plan import Action, ActionKind, Note, Plan
from ctconfig.planner.account import diff_settings, unmanaged
from ctconfig.planner.common import Builder, PlanOptions
from ctconfig.planner.grants import diff_grants
from ctconfig.planner.passcodes import diff_passcodes, retiring_name
from ctconfig.planner.safety import mass_deletes
from ctconfig.refresh import Refreshed, refresh_account
from ctconfig.state.document import ResourceState, State

__all__ = ["PHASES", "PlanOptions", "PlanResult", "make_plan", "retiring_name"]

PHASES = {
    ActionKind.UPDATE: 0,
    ActionKind.CREATE: 1,
    ActionKind.GRANT: 1,
    ActionKind.REPLACE: 1,
    ActionKind.RESET: 1,
    ActionKind.CONFIGURE: 2,
    ActionKind.DELETE: 3,
    ActionKind.REVOKE: 3,
}


@dataclass(frozen=True)
class PlanResult:
    """The plan, and the state as the refresh left it (what `apply` starts from)."""

    plan: Plan
    refreshed: State


def make_plan(
    config: Config,
    state: State,
    observed: Mapping[str, AccountSnapshot | None],
    options: PlanOptions,
) -> PlanResult:
    """Diff the config against state refreshed with `observed` (alias → snapshot; None = not read)."""
    out = Builder()
    resources: dict[str, ResourceState] = {}
    state_updates = 0
    by_account = _group_by_account(state)
    for alias in sorted(set(by_account) - set(config.accounts)):
        out.errors.append(
            Note(
                f"{alias}/*",
                f"account '{alias}' is in state ({len(by_account[alias])} resources) but not in the "
                f"config; keep it with no passcodes to delete them, or `ctconfig state rm '{alias}/*'` "
                "to stop managing it",
            )
        )
        resources.update(by_account[alias])
    for alias in sorted(config.accounts):
        snapshot = observed.get(alias)
        now = snapshot.observed_at if snapshot is not None else options.now
        refreshed = refresh_account(config, alias, by_account.get(alias, {}), snapshot)
        out.drift.extend(refreshed.drift)
        state_updates += refreshed.changes
        resources.update(refreshed.resources)
        if not options.refresh_only:
            _diff_account(config, alias, refreshed, snapshot, now, options, out)
    actions = _select(out.actions, options.targets, options.excludes)
    actions.sort(key=lambda a: (a.account, PHASES[a.kind], a.address))
    out.mass_deletes.extend(mass_deletes(config, resources, actions))
    plan = Plan(
        actions=tuple(actions),
        drift=tuple(out.drift),
        warnings=tuple(out.warnings),
        errors=tuple(out.errors),
        mass_deletes=tuple(out.mass_deletes),
        targets=options.targets,
        excludes=options.excludes,
        replace=options.replace,
        refresh_only=options.refresh_only,
        state_updates=state_updates,
    )
    return PlanResult(plan, state.with_resources(dict(sorted(resources.items()))))


def _group_by_account(state: State) -> dict[str, dict[str, ResourceState]]:
    grouped: dict[str, dict[str, ResourceState]] = {}
    for address, resource in state.resources.items():
        grouped.setdefault(address.split("/", 1)[0], {})[address] = resource
    return grouped


def _select(actions: list[Action], targets: tuple[str, ...], excludes: tuple[str, ...]) -> list[Action]:
    def matches(action: Action, patterns: tuple[str, ...]) -> bool:
        names = [action.address, *([action.moved_from] if action.moved_from else [])]
        return any(
            fnmatchcase(name, p) or name.startswith(p.rstrip("/") + "/") for p in patterns for name in names
        )

    return [
        a for a in actions if (not targets or matches(a, targets)) and not (excludes and matches(a, excludes))
    ]


def _diff_account(
    config: Config,
    alias: str,
    refreshed: Refreshed,
    snapshot: AccountSnapshot | None,
    now: datetime,
    options: PlanOptions,
    out: Builder,
) -> None:
    account = config.accounts[alias]
    managed = refreshed.resources
    diff_passcodes(config, alias, account, managed, snapshot, now, options, out)
    diff_grants(alias, account, managed, snapshot, now, options, out)
    diff_settings(alias, account, managed, snapshot, out)
    unmanaged(config, alias, managed, refreshed.adopted_ids, snapshot, out)
