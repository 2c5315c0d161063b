"""click parameter types: durations (built on `ctconfig.durations`, one grammar everywhere) and booleans."""

from __future__ import annotations

from typing import Any

import click

from ctconfig.durations import MAX_DAYS, DurationError, parse_days, parse_seconds


class Seconds(click.ParamType[float, Any]):
    """A duration such as `0`, `30s`, `2m`, `1h`, `1d` or `1d12h`, in seconds, up to `maximum`."""

    name = "duration"

    def __init__(self, maximum: float = MAX_DAYS * 86400.0) -> None:
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            return parse_seconds(value, maximum=self.maximum)
        except DurationError as exc:
            self.fail(_not(value, exc), param, ctx)


class Days(click.ParamType[int | None, Any]):
    """`90d` (or `90`) → 90; the unbounded word (`forever` / `infinite`, any case) → None."""

    def __init__(self, unbounded: str) -> None:
        self.unbounded = unbounded
        self.name = f"DAYS|{unbounded}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        try:
            return parse_days(value, self.unbounded)
        except DurationError as exc:
            self.fail(_not(value, exc), param, ctx)


class Boolean(click.ParamType[bool, Any]):
    """`true`/`false` (also yes/no, on/off, 1/0, any case); unlike click's BOOL, no empty value."""

    name = "boolean"
    WORDS = {
        "true": True,
        "yes": True,
        "on": True,
        "1": True,
        "false": False,
        "no": False,
        "off": False,
        "0": False,
    }

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word not in self.WORDS:
            self.fail(f"{value!r} is not true or false (also accepted: yes/no, on/off, 1/0)", param, ctx)
        return self.WORDS[word]


def _not(value: Any, exc: DurationError) -> str:
    """`'soon' is not a duration such as 30s, ...`: click's way of saying what was expected."""
    return f"{value!r} is not {str(exc).removeprefix('expected ')}"
