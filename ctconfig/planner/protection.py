"""`prevent_destroy` by remote id: no plan deletes a protected passcode, whatever address names it.

The planner refuses to delete a record that carries `prevent_destroy`. But a
passcode is a remote object, and a record under another address could point at
it: a hand-edited state, or a journal whose intent named one passcode under
another's address. So the protection follows the remote id too: the id of every
protected record, and of every passcode in an account that a protected
declaration names. A delete of such an id is an error naming the address that
protects it, never an action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ctconfig.actions import Action, ActionKind, PasscodeAction
from ctconfig.config.spec import Config
from ctconfig.domain import AccountSnapshot, Address
from ctconfig.plan import Note
from ctconfig.state.document import AccountPasscodeRecord, RecordType


def protected_ids(
    config: Config, resources: Mapping[Address, RecordType], observed: Mapping[str, AccountSnapshot | None]
) -> dict[tuple[str, str], Address]:
    """`(account alias, remote id)` → the address whose `prevent_destroy` protects that passcode."""
    found: dict[tuple[str, str], Address] = {}
    for address, record in resources.items():
        if isinstance(record, AccountPasscodeRecord) and record.prevent_destroy:
            found[(address.account, record.id)] = address
    for alias, account in config.accounts.items():
        snapshot = observed.get(alias)
        if snapshot is None:
            continue
        for name, spec in account.account_passcodes.items():
            passcode = snapshot.passcode_named(name) if spec.prevent_destroy else None
            if passcode is not None:
                found.setdefault((alias, passcode.id), Address.account_passcode(alias, name))
    return found


def keep_protected(
    actions: Iterable[Action], protected: Mapping[tuple[str, str], Address]
) -> tuple[list[Action], list[Note]]:
    """The actions without any delete of a protected remote id, and an error for each one dropped."""
    kept: list[Action] = []
    errors: list[Note] = []
    for action in actions:
        remote = action.remote_id if isinstance(action, PasscodeAction) else None
        guard = protected.get((action.address.account, remote)) if remote else None
        if action.kind is ActionKind.DELETE and guard is not None and guard != action.address:
            errors.append(
                Note(
                    str(action.address),
                    f"would delete passcode {remote}, which {guard} protects with prevent_destroy; "
                    "nothing protected is deleted under another address",
                )
            )
            continue
        kept.append(action)
    return kept, errors
