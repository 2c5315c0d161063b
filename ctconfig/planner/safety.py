"""The mass-delete threshold: no single apply may delete too large a share of an account."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from ctconfig.actions import Action, ActionKind
from ctconfig.config.spec import Config
from ctconfig.domain import Address
from ctconfig.plan import MassDelete
from ctconfig.state.document import AccountPasscodeRecord, RecordType, SettingsRecord


def mass_deletes(
    config: Config, resources: Mapping[Address, RecordType], actions: Iterable[Action]
) -> list[MassDelete]:
    """Accounts where this plan deletes or revokes more than `safety.max_delete_fraction` of what is managed.

    Retiring a rotated-out passcode does not count: its successor is already live.
    """
    managed = Counter(a.account for a, r in resources.items() if not isinstance(r, SettingsRecord))
    destroying: Counter[str] = Counter()
    for action in actions:
        record = resources.get(action.address)
        retiring = isinstance(record, AccountPasscodeRecord) and record.retire_after is not None
        if action.kind in (ActionKind.DELETE, ActionKind.REVOKE) and not retiring:
            destroying[action.address.account] += 1
    limit = config.safety.max_delete_fraction
    found = []
    for alias in sorted(config.accounts):
        count, total = destroying[alias], managed[alias]
        if total >= config.safety.min_resources and total and count / total > limit:
            found.append(MassDelete(alias, count, total, limit))
    return found
