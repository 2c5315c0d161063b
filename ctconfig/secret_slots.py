"""Where each sink keeps a passcode's secret: the slot, named once for every sink.

Two addresses must never share a slot: the second secret would overwrite the
first and consumers of one account would hold another's credential. The
mapping from an address to its slot lives here, once, so that `validate` can
refuse a config whose passcodes collide (`collisions`) or that a sink cannot
hold (`problems`), and each sink writes exactly the slot named here.

| sink | slot of `prod/account_passcode/braze-sync` |
|---|---|
| `file` | `DIR/prod/braze-sync` (`/`, `\\` and control characters become `_`) |
| `env-file`, `command` | `CT_PROD_BRAZE_SYNC` (upper case; anything but `A-Z0-9_` becomes `_`) |
| `aws-secrets-manager` | `<prefix>prod/braze-sync` (anything but `A-Za-z0-9_+=.@-` becomes `_`) |
| `aws-ssm` | `<prefix>prod/braze-sync` (anything but `A-Za-z0-9_.-` becomes `_`) |

Slots are compared case-folded (and NFC-normalised) where the store may
ignore case: a case-insensitive file system, or simply to be safe.
"""

from __future__ import annotations

import base64
import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ctconfig.domain import Address

if TYPE_CHECKING:
    from ctconfig.config.spec import SecretsConfig

NAME_MAX = 255  # bytes in one path component on common file systems
SM_NAME_MAX = 512
SSM_NAME_MAX = 900  # AWS counts 1011 characters with the parameter's ARN around the name
SSM_MAX_LEVELS = 15
TAG_VALUE_MAX = 256
OWNERS_SUFFIX = "~owners.log"  # `~` is not allowed in an alias, so no account directory has it
LEGACY_OWNERS_SUFFIX = "~owners.json"  # the record ctconfig 0.1 rewrote per batch; still read

_ENV_UNSAFE = re.compile(r"[^A-Z0-9_]")
_PATH_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_SM_UNSAFE = re.compile(r"[^A-Za-z0-9_+=.@-]")
_SSM_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_TAG_SAFE = re.compile(r"[A-Za-z0-9 _.:/=+@-]*")
_SSM_RESERVED = re.compile(r"^/?(aws|ssm)", re.IGNORECASE)


def env_name(address: Address) -> str:
    """`CT_PROD_SEGMENT_EXPORT`: the shell-safe variable name of the env-file and command sinks."""
    raw = f"CT_{address.account}_{address.name}".upper()
    return _ENV_UNSAFE.sub("_", raw)


@functools.lru_cache(maxsize=1024)  # an account's directory is asked for once per passcode
def safe_component(text: str) -> str:
    """A path component that cannot climb out of its directory."""
    cleaned = _PATH_UNSAFE.sub("_", text)
    return "_" + cleaned if cleaned in ("", ".", "..") else cleaned


def file_slot(address: Address) -> tuple[str, str]:
    """(account directory, file name) of the file sink, relative to its directory."""
    return safe_component(address.account), safe_component(address.name)


def owners_file(account_dir: str) -> str:
    """The file sink's record of which address owns each file of `account_dir`, beside it: one JSON
    line appended per claim, so a batch adds lines and never rewrites the record."""
    return f".{account_dir}{OWNERS_SUFFIX}"


def legacy_owners_file(account_dir: str) -> str:
    """The owner record earlier versions rewrote per batch (a JSON document); read, never written."""
    return f".{account_dir}{LEGACY_OWNERS_SUFFIX}"


def aws_secret_name(prefix: str, address: Address) -> str:
    """`ctconfig/prod/braze-sync`: the Secrets Manager name of `address`."""
    return f"{prefix}{_SM_UNSAFE.sub('_', address.account)}/{_SM_UNSAFE.sub('_', address.name)}"


def ssm_parameter_name(prefix: str, address: Address) -> str:
    """`/ctconfig/prod/braze-sync`: the SSM parameter name of `address`."""
    return f"{prefix}{_SSM_UNSAFE.sub('_', address.account)}/{_SSM_UNSAFE.sub('_', address.name)}"


def address_tag(address: Address) -> str:
    """The address as an AWS tag value can hold it: as is, or `b64:` and URL-safe base64."""
    text = str(address)
    if _TAG_SAFE.fullmatch(text):
        return text
    return "b64:" + base64.urlsafe_b64encode(text.encode()).decode()


def tag_address(tag: str) -> str:
    """The address an `address_tag` value names (the raw tag if it cannot be decoded)."""
    if not tag.startswith("b64:"):
        return tag
    try:
        return base64.b64decode(tag[4:].encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return tag


def slot_name(config: SecretsConfig, address: Address) -> str:
    """The slot of `address` in `config`'s sink, as the sink writes it."""
    if config.sink == "file":
        return "/".join(file_slot(address))
    if config.sink == "aws-secrets-manager":
        return aws_secret_name(config.prefix, address)
    if config.sink == "aws-ssm":
        return ssm_parameter_name(config.prefix, address)
    return env_name(address)


MOVABLE_SINKS = frozenset({"file", "env-file", "aws-secrets-manager", "aws-ssm"})
"""Sinks that can move a secret from one address's slot to another's: the command sink cannot (it
only writes, through a command of yours)."""


def moves_secrets(config: SecretsConfig) -> bool:
    """Whether `config`'s sink moves a secret when its passcode's address changes."""
    return config.sink in MOVABLE_SINKS


def slot_key(name: str) -> str:
    """A slot name as compared: NFC-normalised and case-folded."""
    return unicodedata.normalize("NFC", name).casefold()


def slot_of(config: SecretsConfig, address: Address) -> str:
    """The key of the place `config`'s sink keeps `address`'s secret (case-folded where it may clash)."""
    return slot_key(slot_name(config, address))


def collisions(config: SecretsConfig, addresses: Iterable[Address]) -> list[tuple[Address, Address, str]]:
    """Every later address whose slot an earlier one already holds: (first, second, slot)."""
    holder: dict[str, Address] = {}
    found: list[tuple[Address, Address, str]] = []
    for address in addresses:
        slot = slot_of(config, address)
        first = holder.setdefault(slot, address)
        if first != address:
            found.append((first, address, slot_name(config, address)))
    return found


def problems(config: SecretsConfig, addresses: Iterable[Address]) -> list[tuple[Address, str]]:
    """Addresses `config`'s sink cannot hold, each with the reason (for `validate`)."""
    found: list[tuple[Address, str]] = []
    for address in addresses:
        problem = _problem(config, address)
        if problem:
            found.append((address, problem))
    return found


def _problem(config: SecretsConfig, address: Address) -> str | None:
    if config.sink == "file":
        return _file_problem(address)
    name = slot_name(config, address)
    if config.sink == "aws-secrets-manager":
        if len(name) > SM_NAME_MAX:
            return f"the Secrets Manager name {name!r} is longer than {SM_NAME_MAX} characters"
        return _tag_problem(address)
    if config.sink == "aws-ssm":
        return _ssm_problem(name) or _tag_problem(address)
    return None


def _file_problem(address: Address) -> str | None:
    account_dir, file_name = file_slot(address)
    longest = max(len(legacy_owners_file(account_dir).encode()), len(file_name.encode()))
    if longest > NAME_MAX:
        return f"the file sink cannot name its file: {longest} bytes > {NAME_MAX} in one path component"
    return None


def _ssm_problem(name: str) -> str | None:
    if len(name) > SSM_NAME_MAX or name.count("/") > SSM_MAX_LEVELS:
        return (
            f"the SSM parameter name {name!r} is longer than AWS allows "
            f"({SSM_NAME_MAX} characters, {SSM_MAX_LEVELS} levels)"
        )
    if _SSM_RESERVED.match(name):
        return f"the SSM parameter name {name!r} begins with 'aws' or 'ssm', which AWS reserves"
    return None


def _tag_problem(address: Address) -> str | None:
    if len(address_tag(address)) > TAG_VALUE_MAX:
        return f"the address is too long for an AWS tag value ({TAG_VALUE_MAX} characters)"
    return None
