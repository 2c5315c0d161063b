"""State-only decisions: resources that move to a new address, and resources state forgets. Pure.

An account alias renamed with `previously:` moves every address of that account (and each
passcode's secret to its new slot in the sink): no delete, no create. An address listed under
`removed:` (or every address of an account, `ALIAS/*`) is forgotten: state lets go of it and the
account keeps it. The refresh (`refresh.py`) reads moved records under their new addresses; this
module turns what it found into `StateAction`s and says what the sink does with the secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from ctconfig.actions import ActionKind, StateAction
from ctconfig.config.spec import Config, SecretsConfig
from ctconfig.domain import Address, ResourceKind
from ctconfig.planner.common import Builder
from ctconfig.planner.refresh import Records, in_address_order, settings_of
from ctconfig.secret_slots import moves_secrets, slot_name
from ctconfig.state.document import AccountPasscodeRecord, RecordType


@dataclass(frozen=True)
class Removed:
    """The config's `removed:` list: exact addresses (each with its entry as written), and accounts
    forgotten whole (`ALIAS/*`)."""

    addresses: Mapping[Address, str]
    accounts: frozenset[str]
    written: tuple[str, ...]

    @classmethod
    def of(cls, config: Config) -> Removed:
        """The `removed:` entries of `config` (already checked by the loader)."""
        addresses: dict[Address, str] = {}
        accounts: set[str] = set()
        for text in config.removed:
            if text.endswith("/*"):
                accounts.add(text[:-2])
                continue
            address = Address.parse(text)
            if address.kind is ResourceKind.USER_PASSCODE:
                address = Address.user_passcode(address.account, address.name)
            addresses.setdefault(address, text)
        return cls(addresses, frozenset(accounts), tuple(config.removed))

    def covers(self, address: Address) -> bool:
        """Whether `removed:` names this address (or its whole account)."""
        return address.account in self.accounts or address in self.addresses

    def entry_of(self, address: Address) -> str:
        """The entry that names `address`, as written."""
        if address.account in self.accounts:
            return f"{address.account}/*"
        return self.addresses[address]


def moved_view(resources: Mapping[Address, RecordType], moves: Mapping[Address, Address]) -> Records:
    """The records at the addresses they move to."""
    return {moves.get(address, address): record for address, record in resources.items()}


def state_actions(
    config: Config,
    records: Mapping[Address, RecordType],
    moves: Mapping[Address, Address],
    out: Builder,
) -> Records:
    """Forget what `removed:` names and move what a renamed alias moves; the records that stay managed
    (at their new addresses). `records` holds each record where state has it now."""
    removed = Removed.of(config)
    matched: set[str] = set()
    kept: Records = {}
    renamed = {old: alias for alias, account in config.accounts.items() for old in account.previously}
    for address, record in in_address_order(records):
        moved_to = replace(address, account=renamed[address.account]) if address.account in renamed else None
        named = address if removed.covers(address) else moved_to
        if named is not None and removed.covers(named):
            matched.add(removed.entry_of(named))
            out.actions.append(
                StateAction(
                    address,
                    ActionKind.FORGET,
                    settings_of(record),
                    None,
                    "in removed: ctconfig stops managing it; it stays in the account as it is",
                )
            )
            continue
        new = moves.get(address)
        if new is not None:
            settings = settings_of(record)
            reason = f"account '{new.account}' was '{address.account}' (previously); nothing changes in it"
            words = _secret_words(config.secrets, address, new, record, out)
            reason += f"; its secret {words}" if words else ""
            move = StateAction(new, ActionKind.MOVE, settings, settings, reason, moved_from=address)
            out.actions.append(move)
        kept[new or address] = record
    for text in removed.written:
        if text not in matched:
            out.warn(
                text,
                "in removed: but not in state: nothing to forget (remove the entry once every state "
                "that needs it has applied it)",
            )
    return kept


def secret_moves(config: SecretsConfig, old: Address, new: Address) -> str | None:
    """`prod/x` -> `prod-eu/x` in the sink's words, or None when both addresses share one slot."""
    before, after = slot_name(config, old), slot_name(config, new)
    return None if before == after else f"{before} -> {after}"


def _secret_words(
    secrets: SecretsConfig, old: Address, new: Address, record: RecordType, out: Builder
) -> str:
    """What happens to a moved passcode's secret, for the reason; a sink that cannot move it warns."""
    if not isinstance(record, AccountPasscodeRecord) or not record.secret_known:
        return ""
    if record.retire_after is not None:  # rotated out: its successor's secret took its slot
        return ""
    return move_secret_words(secrets, old, new, out)


def move_secret_words(secrets: SecretsConfig, old: Address, new: Address, out: Builder) -> str:
    """`moves in the file sink: A -> B` ("" when the slot stays); a sink that cannot move it warns."""
    slots = secret_moves(secrets, old, new)
    if slots is None:
        return ""
    if moves_secrets(secrets):
        return f"moves in the {secrets.sink} sink: {slots}"
    out.warn(
        new,
        f"the {secrets.sink} sink cannot move secrets: its secret stays where your command put it for "
        f"{slot_name(secrets, old)}; move it to {slot_name(secrets, new)} yourself (see the README, "
        "'Renames, moves and forgetting')",
    )
    return f"stays where it is: the {secrets.sink} sink cannot move it (see the warning)"
