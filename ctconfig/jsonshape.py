"""JSON from outside, parsed only once its shape is known to be one ctconfig could have written.

State, plans, journal lines, lock records and a state server's answers arrive
from places a pull request or a server controls. Their byte size is bounded
where they are read; this module bounds what those bytes may become, so that
refusing a hostile document costs about what reading a real one of that size
does, never gigabytes (pydantic building one error per bogus member, a parser
making millions of empty lists):

1. Before parsing: the number of keys and values, and of objects and arrays
   (upper bounds counted in one pass over the bytes), are at most
   `Shape.max_values` and `Shape.max_containers`.
2. Parsing: orjson, with the cycle collector paused (it would otherwise walk
   every container made so far, again and again). orjson refuses nesting
   deeper than 1,024 levels itself; it never raises RecursionError.
3. After parsing, before any validation: every object or array at depth `d`
   has at most `Shape.widths[d]` members, and nothing is nested deeper than
   `len(Shape.widths)` containers.

Each refusal is one line, `ShapeError`, which callers prefix with where the
document came from.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

import orjson

from ctconfig.errors import CtconfigError
from ctconfig.visible import visible

_STRUCTURE = b"[{,:"
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in _STRUCTURE)
_CONTAINERS = (dict, list)
_SLICE = 4 * 1024 * 1024
_CONTAINER_TYPES = frozenset(_CONTAINERS)


class ShapeError(CtconfigError):
    """A JSON document is larger, wider or deeper than any ctconfig writes (or not JSON at all)."""


@dataclass(frozen=True)
class Shape:
    """How large a kind of document may be, measured before it is validated."""

    what: str
    """What the document is, for messages: `state document`, `plan file`, `journal line`."""
    widths: tuple[int, ...]
    """The most members an object or array may have at each depth (0: the document itself);
    a container deeper than the last is refused."""
    max_values: int
    """The most keys and values, counted together, in the whole document."""
    max_containers: int | None = None
    """The most objects and arrays in the whole document (None: as many as values)."""


def count_values(raw: bytes | str) -> tuple[int, int]:
    """Upper bounds on the keys and values in a JSON text (every one after the first follows
    `[`, `{`, `,` or `:`), and on its objects and arrays (`{`, `[`); punctuation inside
    strings is counted too.

    Bytes are counted a slice at a time, so counting costs no more memory than a slice.
    """
    if isinstance(raw, str):
        containers = raw.count("{") + raw.count("[")
        return 1 + containers + raw.count(",") + raw.count(":"), containers
    values, containers = 1, 0
    view = memoryview(raw)
    for start in range(0, len(raw), _SLICE):
        marks = bytes(view[start : start + _SLICE]).translate(None, _NOT_STRUCTURE)
        values += len(marks)
        containers += marks.count(b"{") + marks.count(b"[")
    return values, containers


def parse_json(raw: bytes | str, shape: Shape) -> Any:
    """The JSON value in `raw`, refused with ShapeError unless it fits `shape`."""
    if len(raw) > min(shape.max_values, shape.max_containers or shape.max_values):
        _check_counts(raw, shape)  # a text shorter than both bounds cannot hold more
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "ecursion" in str(exc):  # orjson's own limit: 1,024 levels
            raise ShapeError(
                f"the {shape.what} nests deeper than the {len(shape.widths)} levels ctconfig writes"
            ) from None
        raise ShapeError(f"not valid JSON: {exc}") from None
    finally:
        if was_enabled:
            gc.enable()
    check_shape(data, shape)
    return data


def _check_counts(raw: bytes | str, shape: Shape) -> None:
    values, containers = count_values(raw)
    if values > shape.max_values:
        raise ShapeError(
            f"the {shape.what} holds up to {values:,} keys and values, more than the "
            f"{shape.max_values:,} of any ctconfig writes; refusing it before parsing"
        )
    if shape.max_containers is not None and containers > shape.max_containers:
        raise ShapeError(
            f"the {shape.what} holds up to {containers:,} objects and arrays, more than the "
            f"{shape.max_containers:,} of any ctconfig writes; refusing it before parsing"
        )


def check_shape(data: Any, shape: Shape) -> None:
    """Refuse parsed JSON whose containers are wider or deeper than `shape` allows.

    Walks one depth at a time, looking only at containers; the path to a refused one is
    found again only when there is one to name.
    """
    level = [data] if type(data) in _CONTAINERS else []
    for depth, width in enumerate(shape.widths):
        deeper: list[Any] = []
        for container in level:
            if len(container) > width:
                raise _too_wide(data, container, depth, width, shape.what)
            members = container.values() if type(container) is dict else container
            if not _CONTAINER_TYPES.isdisjoint(map(type, members)):  # most hold only scalars
                deeper.extend(m for m in members if type(m) in _CONTAINERS)
        if not deeper:
            return
        level = deeper
    raise ShapeError(
        f"the {shape.what} nests {_where(_path_to(data, level[0]))} deeper than the "
        f"{len(shape.widths)} levels ctconfig writes"
    )


def _too_wide(data: Any, container: Any, depth: int, width: int, what: str) -> ShapeError:
    kind = "object" if type(container) is dict else "array"
    return ShapeError(
        f"the {what} has an {kind} of {len(container):,} members {_where(_path_to(data, container))}, "
        f"more than the {width:,} ctconfig writes there"
    )


def _path_to(data: Any, target: Any) -> tuple[str, ...]:
    """The keys leading from `data` to the container `target` (by identity)."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while pending:
        value, path = pending.pop()
        if value is target:
            return path
        items = value.items() if type(value) is dict else enumerate(value)
        pending.extend((m, (*path, str(k))) for k, m in items if type(m) in _CONTAINERS)
    return ()


def _where(path: tuple[str, ...]) -> str:
    return "at the top" if not path else "at " + visible(".".join(path), 80)
