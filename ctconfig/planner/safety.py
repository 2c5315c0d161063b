"""The mass-delete guard: no single apply may delete too large a share of an account, unless the
deletes are approved, one by one, in the config (`safety.approve_deletes`), where they are reviewed.

The share is `safety.max_delete_fraction`; in an account that manages fewer than
`safety.min_resources` it is one half (or the fraction, if larger): deleting most of a small
account, or all of it, needs approval too. An approval names addresses, never a number, so it can
never cover a bigger or another delete than the one reviewed; and once applied, the addresses it
names are gone from state, so a stale approval covers nothing new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ctconfig.actions import Action, ActionKind
from ctconfig.config.spec import Config
from ctconfig.domain import Address, ResourceKind
from ctconfig.plan import MassDelete, Note, PlanScope
from ctconfig.state.document import AccountPasscodeRecord, RecordType, SettingsRecord

SMALL_ACCOUNT_SHARE = 0.5


@dataclass(frozen=True)
class Guarded:
    """The mass deletes this plan may not make, and what the reviewer should know about approvals."""

    refused: tuple[MassDelete, ...] = ()
    notes: tuple[Note, ...] = ()


def approved_addresses(config: Config) -> frozenset[Address]:
    """`safety.approve_deletes` as addresses (emails folded as state folds them)."""
    found = set()
    for text in config.safety.approve_deletes:
        address = Address.parse(text)
        if address.kind is ResourceKind.USER_PASSCODE:
            address = Address.user_passcode(address.account, address.name)
        found.add(address)
    return frozenset(found)


def mass_deletes(
    config: Config, resources: Mapping[Address, RecordType], actions: Iterable[Action], scope: PlanScope
) -> Guarded:
    """Accounts where this plan deletes or revokes more than their share without approval.

    Retiring a rotated-out passcode does not count: its successor is already live.
    """
    managed = Counter(a.account for a, r in resources.items() if not isinstance(r, SettingsRecord))
    destroying: dict[str, list[Address]] = {}
    for action in actions:
        record = resources.get(action.address)
        retiring = isinstance(record, AccountPasscodeRecord) and record.retire_after is not None
        if action.kind in (ActionKind.DELETE, ActionKind.REVOKE) and not retiring:
            destroying.setdefault(action.address.account, []).append(action.address)
    approved = approved_addresses(config)
    refused: list[MassDelete] = []
    notes: list[Note] = []
    fraction = config.safety.max_delete_fraction
    for alias in sorted(config.accounts):
        addresses, total = destroying.get(alias, []), managed[alias]
        small = total < config.safety.min_resources
        limit = max(fraction, SMALL_ACCOUNT_SHARE) if small else fraction
        if not addresses or not total or len(addresses) / total <= limit:
            continue
        unapproved = tuple(a for a in addresses if a not in approved)
        guard = MassDelete(alias, len(addresses), total, limit, unapproved, small)
        if unapproved:
            refused.append(guard)
        else:
            notes.append(Note(alias, f"mass delete approved in safety.approve_deletes: {guard.message()}"))
    if not scope.partial:
        deleted = {a for found in destroying.values() for a in found}
        notes += [
            Note(
                str(address),
                "in safety.approve_deletes but this plan does not delete it: remove the entry "
                "(an approval covers only the deletes it names)",
            )
            for address in sorted(approved - deleted)
        ]
    return Guarded(tuple(refused), tuple(notes))
