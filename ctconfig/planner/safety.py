"""The mass-delete threshold: no single apply may delete too large a share of an account."""

from __future__ import annotations

from ctconfig.config.spec import Config
from ctconfig.domain import (
    ResourceKind,
)
from ctconfig.plan import Action, ActionKind, MassDelete
from ctconfig.state.document import ResourceState


def mass_deletes(
    config: Config, resources: dict[str, ResourceState], actions: list[Action]
) -> list[MassDelete]:
    limit = config.safety.max_delete_fraction
    managed: dict[str, int] = {}
    for address, resource in resources.items():
        if resource.kind != ResourceKind.SETTINGS:
            account = address.split("/", 1)[0]
            managed[account] = managed.get(account, 0) + 1
    destroying: dict[str, int] = {}
    for action in actions:
        retiring = "retire_after" in getattr(resources.get(action.address), "attributes", {})
        if action.kind in (ActionKind.DELETE, ActionKind.REVOKE) and not retiring:
            destroying[action.account] = destroying.get(action.account, 0) + 1
    found = []
    for alias in sorted(config.accounts):
        count, total = destroying.get(alias, 0), managed.get(alias, 0)
        if total >= config.safety.min_resources and total and count / total > limit:
            found.append(MassDelete(alias, count, total, limit))
    return found
