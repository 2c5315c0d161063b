"""Where each sink keeps a passcode's secret, as a comparable key: the slot.

Two addresses must never share a slot: the second secret would overwrite the
first and consumers of one account would hold another's credential. The
mapping from an address to its slot lives here, once, so that `validate` can
refuse a config whose passcodes collide and each sink names its slots the
same way it writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ctconfig.domain import Address

if TYPE_CHECKING:
    from ctconfig.config.spec import SecretsConfig


def env_name(address: Address) -> str:
    """`CT_PROD_SEGMENT_EXPORT`: the shell-safe variable name the env-file and command sinks use."""
    raw = f"CT_{address.account}_{address.name}".upper()
    return re.sub(r"[^A-Z0-9_]", "_", raw)


def safe_component(text: str) -> str:
    """A path component that cannot climb out of its directory."""
    cleaned = re.sub(r"[\x00-\x1f/\\]", "_", text)
    return "_" + cleaned if cleaned in ("", ".", "..") else cleaned


def slot_of(config: SecretsConfig, address: Address) -> str:
    """The key of the place `config`'s sink keeps `address`'s secret (case-folded where it may clash)."""
    if config.sink == "file":
        return f"{safe_component(address.account)}/{safe_component(address.name)}".casefold()
    return env_name(address)


def collisions(config: SecretsConfig, addresses: Iterable[Address]) -> list[tuple[Address, Address, str]]:
    """Every later address whose slot an earlier one already holds: (first, second, slot)."""
    holder: dict[str, Address] = {}
    found: list[tuple[Address, Address, str]] = []
    for address in addresses:
        slot = slot_of(config, address)
        first = holder.setdefault(slot, address)
        if first != address:
            found.append((first, address, slot))
    return found
