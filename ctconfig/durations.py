"""Durations: one grammar for every place ctconfig reads or writes one.

Days (`expires_in`, `validity`, `rotate_before`, `reset_before`, `rotation_overlap`,
`lock_ttl`, the sandbox's `--expires-in` / `--validity`, state and plan files): `90d`,
`90D`, `90` or the number 90; and, where there may be no limit, CleverTap's word for it —
`forever` for an account passcode, `infinite` for a user passcode — in any case.

Seconds (`--lock-timeout`, `sandbox clock advance`): `30s`, `2m`, `1h`, `1d`, sums such as
`1d12h` or `1.5m`, or a bare number of seconds. Units and words are case-insensitive.

Every duration is bounded: a count of days is at most MAX_DAYS (about 100 years, far
from date arithmetic's limits), so no value from a config or a command line can reach a
conversion that overflows. Errors are `DurationError` (a `ValueError`) saying what was
expected; callers add what was found, or hide it. This module sits at the bottom of the
layers: it imports nothing from ctconfig.
"""

from __future__ import annotations

import math
import re

FOREVER = "forever"  # CleverTap's word for an account passcode that never expires
INFINITE = "infinite"  # ... and for a user passcode without a limit (valid 10 years)
UNBOUNDED_WORDS = (FOREVER, INFINITE)
MAX_DAYS = 36_500
SECONDS_PER_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_DAYS = re.compile(r"0*([0-9]+)[dD]?")
_MAX_DIGITS = 9  # longer numbers of days are out of range without converting them
_SECONDS_PART = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,9})?)([smhd])")
_BARE_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


class DurationError(ValueError):
    """A duration that does not parse or is out of bounds; the message starts with "expected"."""


def _words(unbounded: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if unbounded is None:
        return ()
    return (unbounded,) if isinstance(unbounded, str) else unbounded


def _days_expected(words: tuple[str, ...]) -> str:
    alternatives = "".join(f" or {word!r}" for word in words)
    return f"expected a number of days such as 90d{alternatives}"


def _range_expected(minimum: int, maximum: int | None, words: tuple[str, ...]) -> str:
    span = f"at least {minimum} day{'s' if minimum != 1 else ''}" if maximum is None else (
        f"{minimum} to {maximum} days"
    )
    return "expected " + span + "".join(f", or {word!r}" for word in words)


def parse_days(
    value: object,
    unbounded: str | tuple[str, ...] | None = None,
    *,
    minimum: int = 0,
    maximum: int | None = MAX_DAYS,
) -> int | None:
    """`90d`, `90D`, `90` or 90 → 90; an allowed unbounded word (any case) → None.

    `maximum=None` reads back ctconfig's own records (state, plans), which hold what an
    account reported; a config or command line always has a maximum.
    """
    words = _words(unbounded)
    days: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        days = value
    elif isinstance(value, str):
        if value.lower() in words:
            return None
        match = _DAYS.fullmatch(value)
        if match is None:
            raise DurationError(_days_expected(words))
        digits = match.group(1)
        if len(digits) > _MAX_DIGITS:
            raise DurationError(_range_expected(minimum, maximum, words))
        days = int(digits)
    else:
        raise DurationError(_days_expected(words))
    if days < minimum or (maximum is not None and days > maximum):
        raise DurationError(_range_expected(minimum, maximum, words))
    return days


def format_days(days: int | None, unbounded: str = FOREVER) -> str:
    """`90d`, or the word for no limit (`forever` / `infinite`): the canonical spelling."""
    return unbounded if days is None else f"{days}d"


def parse_seconds(value: object, *, maximum: float = MAX_DAYS * 86400.0) -> float:
    """`30s`, `2m`, `1h`, `1d`, `1d12h`, `1.5m` or a bare number → seconds (0 to `maximum`)."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if _BARE_SECONDS.fullmatch(text):
            seconds = float(text)
        elif text and _SECONDS_PART.sub("", text) == "":
            seconds = sum(float(n) * SECONDS_PER_UNIT[unit] for n, unit in _SECONDS_PART.findall(text))
    if seconds is None or not math.isfinite(seconds):
        raise DurationError("expected a duration such as 30s, 2m, 1h or 1d")
    if not 0 <= seconds <= maximum:
        raise DurationError(f"expected a duration from 0 to {format_seconds(maximum)}")
    return seconds


def format_seconds(seconds: float) -> str:
    """The largest whole unit that fits: 86400 → `1d`, 90 → `90s`, 7200 → `2h`."""
    for unit in ("d", "h", "m"):
        size = SECONDS_PER_UNIT[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def days_pattern(minimum: int, maximum: int, unbounded: str | None = None) -> str:
    """A regular expression (for JSON Schema) matching exactly the strings `parse_days` accepts.

    Leading zeros are allowed, as `parse_days` allows them; the unbounded word in any case.
    """
    numbers = "|".join(_range_alternatives(minimum, maximum))
    word = "" if unbounded is None else "|" + "".join(f"[{c.upper()}{c}]" for c in unbounded)
    return f"^(?:0*(?:{numbers})[dD]?{word})$"


def _range_alternatives(low: int, high: int) -> list[str]:
    """Regex alternatives for the decimal numbers low..high, without leading zeros.

    Each number of digits separately; within it, blocks of 10**k aligned numbers, and runs
    of such blocks that differ in one digit, become `prefix[a-b][0-9]...`.
    """
    alternatives: list[str] = []
    for digits in range(1, len(str(high)) + 1):
        start = max(low, 10 ** (digits - 1) if digits > 1 else 0)
        end = min(high, 10**digits - 1)
        while start <= end:
            size = 1
            while size * 10 < 10**digits and start % (size * 10) == 0 and start + size * 10 - 1 <= end:
                size *= 10
            lead = start // size
            count = 1
            while lead % 10 + count <= 9 and start + (count + 1) * size - 1 <= end:
                count += 1
            head, last = divmod(lead, 10)
            digit = str(last) if count == 1 else f"[{last}-{last + count - 1}]"
            alternatives.append((str(head) if head else "") + digit + "[0-9]" * (len(str(size)) - 1))
            start += count * size
    return alternatives
