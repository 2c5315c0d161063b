"""YAML text → plain data plus where every key and value was written.

ruamel.yaml composes the node graph; we build plain dicts, lists and scalars
from it ourselves so that every key keeps its line and column, duplicate keys
are reported (all of them, naming both places) instead of aborting, merge keys
(`<<: *base`) work, and `${VAR}` interpolation happens where the value is known.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from ctconfig.config.errors import Problem
from ctconfig.config.interpolate import has_reference, interpolate

KeyPath = tuple[str | int, ...]
MAX_VALUES = 100_000
_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}


@dataclass(frozen=True)
class Position:
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
    """Where each key and value of the data was written; lookups fall back to the parent."""

    root: Position
    keys: dict[KeyPath, Position] = field(default_factory=dict)
    values: dict[KeyPath, Position] = field(default_factory=dict)
    from_environment: dict[KeyPath, str] = field(default_factory=dict)

    def key_at(self, path: KeyPath) -> Position:
        """The key naming `path`, or the nearest ancestor's key, or the document start."""
        for end in range(len(path), 0, -1):
            found = self.keys.get(path[:end])
            if found is not None:
                return found
        return self.values.get((), self.root)

    def value_at(self, path: KeyPath) -> Position:
        """Where the value at `path` starts; the key if the value has no place of its own."""
        return self.values.get(path) or self.key_at(path)

    def absorb(self, other: SourceMap, prefix: KeyPath = ()) -> None:
        """Take over `other`'s entries under `prefix` (used when merging a directory)."""
        for mine, theirs in ((self.keys, other.keys), (self.values, other.values)):
            mine.update({k: v for k, v in theirs.items() if k[: len(prefix)] == prefix})
        self.from_environment.update(
            {k: v for k, v in other.from_environment.items() if k[: len(prefix)] == prefix}
        )


@dataclass
class ParsedFile:
    """One file's data (None when unreadable), its source map and the problems found."""

    data: Any
    sources: SourceMap
    problems: list[Problem] = field(default_factory=list)
    reported: set[KeyPath] = field(default_factory=set)


class _TooLarge(Exception):
    """Raised out of the builder when alias expansion or sheer size passes MAX_VALUES."""


def _position(file: str, node: Node) -> Position:
    mark = node.start_mark
    return Position(file, mark.line + 1, mark.column + 1)


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return repr(node.value)


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.value == "" and getattr(node, "style", None) is None


class _Builder:
    """Turns one composed document into data, recording positions and problems."""

    def __init__(self, file: str, environ: Mapping[str, str]) -> None:
        self.file = file
        self.environ = environ
        self.parsed = ParsedFile(None, SourceMap(Position(file, 1, 1)))
        self.yaml = YAML(typ="safe", pure=True)
        self.constructor: SafeConstructor = self.yaml.constructor
        self.resolver: VersionedResolver = self.yaml.resolver
        self.count = 0
        self.active: set[int] = set()
        self.recursive: set[int] = set()

    def report(self, node: Node, message: str, path: KeyPath) -> None:
        self.parsed.problems.append(_position(self.file, node).problem(message))
        self.parsed.reported.add(path)

    def build(self, node: Node, path: KeyPath) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooLarge(_position(self.file, node))
        if not _is_empty(node):  # an empty value has no place of its own: point at its key
            self.parsed.sources.values[path] = _position(self.file, node)
        if id(node) in self.active:
            if id(node) not in self.recursive:
                self.recursive.add(id(node))
                self.report(node, "recursive alias: a value may not contain itself", path)
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self.active.discard(id(node))

    def _pairs(self, node: MappingNode, path: KeyPath) -> Iterator[tuple[Node, Node, bool]]:
        """Explicit pairs first, then pairs from `<<` merges (which never override)."""
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if str(key_node.tag) == f"{_TAG}merge":
                merges.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
            else:
                yield key_node, value_node, False
        for source in merges:
            if not isinstance(source, MappingNode):
                self.report(source, f"'<<' expected a mapping to merge, got {_describe(source)}", path)
                continue
            for key_node, value_node, _ in self._pairs(source, path):
                yield key_node, value_node, True

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node, merged in self._pairs(node, path):
            if not isinstance(key_node, ScalarNode):
                self.report(key_node, f"expected a name as key, got {_describe(key_node)}", path)
                continue
            key = str(key_node.value)
            if key in result:
                if not merged:
                    first = self.parsed.sources.keys[(*path, key)]
                    self.report(key_node, f"duplicate key {key!r}; first defined at {first}", path)
                continue
            self.parsed.sources.keys[(*path, key)] = _position(self.file, key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        tag = str(node.tag)
        if tag not in _PLAIN_TAGS:
            shown = tag.replace(_TAG, "!!")
            self.report(node, f"unsupported YAML tag {shown!r}: expected a plain value", path)
            return None
        value = self._construct(node, path)
        if not (isinstance(value, str) and has_reference(value)):
            return value
        result = interpolate(value, self.environ)
        for message in result.problems:
            self.report(node, message, path)
        if result.problems:
            return result.text
        if result.used_environment:
            self.parsed.sources.from_environment[path] = value
        if getattr(node, "style", None) is None:  # plain scalars: `${DAYS:-90}` is a number, as `90` would be
            retagged = self.resolver.resolve(ScalarNode, result.text, (True, False))
            return self._construct(ScalarNode(retagged, result.text), path)
        return result.text

    def _construct(self, node: Node, path: KeyPath) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except (YAMLError, ValueError, OverflowError):
            self.report(node, f"cannot read {node.value!r} as {str(node.tag).removeprefix(_TAG)}", path)
            return None


def parse_yaml(text: str, file: str, environ: Mapping[str, str]) -> ParsedFile:
    """Parse one YAML document; never raises for bad input, returns problems instead."""
    builder = _Builder(file, environ)
    try:
        documents = builder.yaml.compose_all(text)
        root = next(documents, None)
        if root is not None:
            builder.parsed.data = builder.build(root, ())
        extra = next(documents, None)
        if extra is not None:
            builder.report(extra, "expected one YAML document per file, found a second one", ())
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        detail = exc.problem or exc.context or "invalid YAML"
        builder.parsed.problems.append(Problem(file, line, column, f"invalid YAML: {detail}"))
        builder.parsed.data = None
    except YAMLError as exc:
        builder.parsed.problems.append(Problem(file, 1, 1, f"invalid YAML: {exc}"))
        builder.parsed.data = None
    except _TooLarge as exc:
        builder.parsed.problems.append(
            exc.args[0].problem(f"document too large: more than {MAX_VALUES} values (alias expansion?)")
        )
        builder.parsed.data = None
    return builder.parsed
