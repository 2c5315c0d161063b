"""The bounds on a config, in one place: size, nesting, alias expansion, numbers.

Every one is checked before the work it bounds, so a hostile or broken config is
refused in well under a second with one located line. The README's "Limits"
section lists them; `CTCONFIG_MAX_CONFIG_BYTES` raises the size limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ctconfig.errors import CtconfigError

MAX_CONFIG_BYTES = 4 * 1024 * 1024  # per config: one file, or all the files of a directory
MAX_CONFIG_BYTES_ENV = "CTCONFIG_MAX_CONFIG_BYTES"
MAX_DEPTH = 64  # nested mappings and lists; a valid config needs 6
MAX_ALIAS_VALUES = 100_000  # values that aliases and merge keys add, per file
MAX_NUMBER_DIGITS = 18  # integers: far above any count or duration, far below overflow

_BYTES = re.compile(r"([0-9]{1,15})\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)", re.IGNORECASE)
_FACTORS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class LimitSettingError(CtconfigError):
    """$CTCONFIG_MAX_CONFIG_BYTES is set to something that is not a size."""


def max_config_bytes(environ: Mapping[str, str]) -> int:
    """The size limit: $CTCONFIG_MAX_CONFIG_BYTES (bytes, or with K/M/G, binary) or 4 MiB."""
    raw = environ.get(MAX_CONFIG_BYTES_ENV, "").strip()
    if not raw:
        return MAX_CONFIG_BYTES
    match = _BYTES.fullmatch(raw)
    if match is None or int(match.group(1)) == 0:
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise LimitSettingError(
            f"${MAX_CONFIG_BYTES_ENV} must be a size such as 8388608 or 8MiB, got {shown!r}"
        )
    return int(match.group(1)) * _FACTORS[match.group(2)[:1].lower()]


def describe_bytes(count: int) -> str:
    """`4 MiB`, `512 KiB` or `1,234 bytes`: a limit as people say it."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count:,} bytes"
