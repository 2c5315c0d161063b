"""YAML text → plain data plus where every key and value was written.

`parse_yaml` reads one file in a single pass over the parser's events (libyaml's C
parser when installed; see `builder.py`): plain dicts, lists and scalars, a position
for every key and value, every duplicate key reported (naming both places), merge
keys (`<<: *base`) and `${VAR}` interpolation — and the limits of `limits.py`
enforced as the events arrive, before any deep or exponential work can start.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ctconfig.config.errors import Problem
from ctconfig.config.interpolate import Refusal

KeyPath = tuple[str | int, ...]
_MAX_LINK_HOPS = 1000


class Position(NamedTuple):
    """A 1-based place in a file, as the user named the file."""

    file: str
    line: int
    column: int

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line, self.column, message)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class SourceMap:
    """Where each key and value of the data was written; lookups fall back to the parent.

    Values reached through an alias or a merge key are shared with their anchor, so
    their places are not copied: `links` sends such a path to the path it came from.
    """

    root: Position
    keys: dict[KeyPath, Position] = field(default_factory=dict)
    values: dict[KeyPath, Position] = field(default_factory=dict)
    from_environment: dict[KeyPath, str] = field(default_factory=dict)
    links: dict[KeyPath, KeyPath] = field(default_factory=dict)

    def origin(self, path: KeyPath) -> KeyPath:
        """The path where the value at `path` was written (itself unless aliased or merged)."""
        for _ in range(_MAX_LINK_HOPS):
            for end in range(len(path), 0, -1):
                target = self.links.get(path[:end])
                if target is not None:
                    path = target + path[end:]
                    break
            else:
                return path
        return path

    def _find(self, table: dict[KeyPath, Position], path: KeyPath) -> Position | None:
        found = table.get(path)
        if found is None and self.links:
            found = table.get(self.origin(path))
        return found

    def key_at(self, path: KeyPath) -> Position:
        """The key naming `path`, or the nearest ancestor's key, or the document start."""
        for end in range(len(path), 0, -1):
            found = self._find(self.keys, path[:end])
            if found is not None:
                return found
        return self.values.get((), self.root)

    def value_at(self, path: KeyPath) -> Position:
        """Where the value at `path` starts; the key if the value has no place of its own."""
        return self._find(self.values, path) or self.key_at(path)

    def written_at(self, path: KeyPath) -> str | None:
        """The text written in the file for a value that interpolation changed, else None."""
        found = self.from_environment.get(path)
        if found is None and self.links:
            found = self.from_environment.get(self.origin(path))
        return found

    def include(self, other: SourceMap) -> None:
        """Add `other`'s places without replacing any (merging a directory: first file wins)."""
        for mine, theirs in ((self.keys, other.keys), (self.values, other.values)):
            for path, position in theirs.items():
                if path and path not in mine:
                    mine[path] = position
        for path, text in other.from_environment.items():
            self.from_environment.setdefault(path, text)
        for path, target in other.links.items():
            self.links.setdefault(path, target)


@dataclass
class ParsedFile:
    """One file's data (None when unreadable), its source map and the problems found.

    `refused` is set when a limit stopped the reading (the problem is in `problems` too).
    """

    data: Any
    sources: SourceMap
    problems: list[Problem] = field(default_factory=list)
    reported: set[KeyPath] = field(default_factory=set)
    refused: Problem | None = None


def c_events_available() -> bool:
    """Whether libyaml's C parser (ruamel.yaml.clib) is installed: 10x faster events."""
    return _c_parser() is not None


def _c_parser() -> Any:
    try:
        from ruamel.yaml.main import CParser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - ruamel.yaml.clib is a dependency
        return None
    return CParser


def _c_events(text: str) -> Iterator[Any]:
    parser = _c_parser()(text)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def events(text: str, pure: bool = False) -> Iterator[Any]:
    """The parser's events, lazily: the C parser unless `pure` (or it is missing)."""
    if not pure and c_events_available():
        return _c_events(text)
    pure_events: Iterator[Any] = YAML(typ="safe", pure=True).parse(text)
    return pure_events


def parse_yaml(
    text: str,
    file: str,
    environ: Mapping[str, str],
    *,
    interpolating: bool = True,
    refuse: Refusal = lambda name: None,
) -> ParsedFile:
    """Parse one YAML document; never raises for bad input, returns problems instead.

    A syntax error found by the C parser is read again by ruamel.yaml's pure-Python
    parser, whose messages say more ("found character '\\t' that cannot start any token").
    """
    from ctconfig.config.builder import EventBuilder
    from ctconfig.config.indentation import indentation_message

    for pure in (False, True):
        builder = EventBuilder(file, environ, interpolating=interpolating, refuse=refuse)
        try:
            builder.feed(events(text, pure=pure))
        except MarkedYAMLError as exc:
            if not pure and c_events_available():
                continue
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            said = str(exc.problem or exc.context)
            hint = indentation_message(text, line, said)
            if hint is not None:
                builder.fail(Problem(file, *hint))
            else:
                builder.fail(Problem(file, line, column, f"invalid YAML: {said}"))
        except YAMLError as exc:
            if not pure and c_events_available():
                continue
            builder.fail(Problem(file, 1, 1, f"invalid YAML: {exc}"))
        return builder.parsed
    raise AssertionError("unreachable: the pure parser always answers")  # pragma: no cover
