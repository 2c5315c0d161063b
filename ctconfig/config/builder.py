"""Parser events → plain data, positions and problems, in one pass with an explicit stack.

Nothing here recurses, so nesting cannot exhaust the stack; the limits are checked as
each event arrives: a collection deeper than MAX_DEPTH, or an alias that would take the
values that aliases add past MAX_ALIAS_VALUES, stops the reading at once with a located
problem. An alias does not copy its anchor: the value is shared and its size counted,
so an alias bomb costs nothing before it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from ctconfig.config.errors import Problem, quoted
from ctconfig.config.interpolate import Refusal
from ctconfig.config.limits import MAX_ALIAS_VALUES, MAX_DEPTH
from ctconfig.config.scalars import STR, TAG, ScalarReader, ScalarValues, shorten
from ctconfig.config.yamltree import KeyPath, ParsedFile, Position, SourceMap


class _Marker:
    """What a mapping waits for next: a key, the value of a bad key, the value of `<<`."""

    def __init__(self, name: str) -> None:
        self.name = name


_KEY = _Marker("key")
_SKIP = _Marker("skip")
_MERGE = _Marker("merge")


class _Stop(Exception):
    """Reading ends here: the problem is recorded, nothing after it is read."""


@dataclass(slots=True)
class _Node:
    """A finished value on its way to its parent."""

    value: Any
    position: Position
    size: int = 1  # values in it, counting what aliases share
    height: int = 0  # levels of collections in it
    raw: str | None = None  # a scalar's text, which is what a key is
    merge: bool = False  # a plain `<<` key
    path: KeyPath | None = None  # where it was written (None: in a key, or skipped)


@dataclass(slots=True)
class _Frame:
    """An open mapping or list."""

    value: Any
    path: KeyPath | None
    position: Position
    anchor: str | None
    size: int = 1
    height: int = 1
    key: Any = _KEY
    key_position: Position | None = None
    merges: list[_Node] = field(default_factory=list)


@dataclass
class _Anchor:
    node: _Node | None = None  # None while its collection is still open


class EventBuilder:
    """Builds one document from events; `parsed` holds the data, places and problems."""

    def __init__(
        self,
        file: str,
        environ: Mapping[str, str],
        *,
        interpolating: bool = True,
        refuse: Refusal = lambda name: None,
    ) -> None:
        self.file = file
        self.parsed = ParsedFile(None, SourceMap(Position(file, 1, 1)))
        self.sources = self.parsed.sources
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor] = {}
        self.recursive: set[str] = set()
        self.alias_values = 0
        self.documents = 0
        self.values = ScalarValues(
            environ, self.sources, self.report, interpolating=interpolating, refuse=refuse
        )
        self._handlers = {
            ScalarEvent: self._scalar,
            MappingStartEvent: self._mapping_start,
            SequenceStartEvent: self._sequence_start,
            MappingEndEvent: self._end,
            SequenceEndEvent: self._end,
            AliasEvent: self._alias,
            DocumentStartEvent: self._document,
        }

    # -- driving --------------------------------------------------------------------------

    def feed(self, events: Iterable[Any]) -> None:
        """Consume the events of one file (YAML errors propagate; limits stop quietly)."""
        try:
            for event in events:
                handler = self._handlers.get(type(event))
                if handler is not None:
                    handler(event)
        except _Stop:
            pass

    def fail(self, problem: Problem) -> None:
        """Record the problem that makes the whole file unreadable (it replaces any other)."""
        self.parsed.problems = [problem]
        self.parsed.data = None

    def _refuse(self, position: Position, message: str) -> None:
        problem = position.problem(message)
        self.parsed.refused = problem
        self.fail(problem)
        raise _Stop

    def report(self, position: Position, message: str, path: KeyPath | None) -> None:
        self.parsed.problems.append(position.problem(message))
        if path is not None:
            self.parsed.reported.add(path)

    def _position(self, event: Any) -> Position:
        mark = event.start_mark
        return Position(self.file, mark.line + 1, mark.column + 1)

    def _document(self, event: Any) -> None:
        self.documents += 1
        if self.documents == 1:
            self.values.reader = ScalarReader(event.version)
        else:
            self._handlers = {kind: self._second_document for kind in self._handlers}

    def _second_document(self, event: Any) -> None:
        if isinstance(event, DocumentStartEvent):
            return
        self.report(self._position(event), "expected one YAML document per file, found a second one", ())
        raise _Stop

    # -- where the next node goes ---------------------------------------------------------

    def _next_path(self) -> tuple[KeyPath | None, bool]:
        """The path of the node about to start (None: not recorded) and whether it is a key."""
        if not self.stack:
            return (), False
        top = self.stack[-1]
        if top.path is None:
            return None, False
        if isinstance(top.value, list):
            return (*top.path, len(top.value)), False
        if top.key is _KEY:
            return None, True
        if top.key is _SKIP:
            return None, False
        if top.key is _MERGE:
            return (*top.path, "<<"), False
        return (*top.path, top.key), False

    def _deliver(self, node: _Node) -> None:
        if not self.stack:
            self.parsed.data = node.value
            return
        top = self.stack[-1]
        top.size += node.size
        if node.height >= top.height:
            top.height = node.height + 1
        if isinstance(top.value, list):
            top.value.append(node.value)
        elif top.key is _KEY:
            self._take_key(top, node)
        else:
            self._take_value(top, node)

    def _take_key(self, top: _Frame, node: _Node) -> None:
        if node.raw is None:
            shown = "a mapping" if isinstance(node.value, dict) else "a list"
            self.report(node.position, f"expected a name as key, got {shown}", top.path)
            top.key = _SKIP
            return
        if node.merge:
            top.key = _MERGE
            return
        key = node.raw
        if top.path is not None and key in top.value:
            first = self.sources.keys[(*top.path, key)]
            self.report(node.position, f"duplicate key {quoted(key)}; first defined at {first}", top.path)
            top.key = _SKIP
            return
        top.key = key
        top.key_position = node.position
        if top.path is not None:
            self.sources.keys[(*top.path, key)] = node.position

    def _take_value(self, top: _Frame, node: _Node) -> None:
        if top.key is _MERGE:
            top.merges.append(node)
        elif top.key is not _SKIP:
            top.value[top.key] = node.value
        top.key = _KEY

    # -- events ---------------------------------------------------------------------------

    def _scalar(self, event: Any) -> None:
        """A scalar: most are a plain key or value in a mapping, which take the short way."""
        top = self.stack[-1] if self.stack else None
        if top is None or event.anchor is not None or top.path is None or type(top.value) is not dict:
            self._any_scalar(event, self._position(event))
            return
        mark = event.start_mark
        position = Position(self.file, mark.line + 1, mark.column + 1)
        key = top.key
        top.size += 1
        if key is _KEY:
            self._key_scalar(event.value, event.style or event.ctag is not None, position, top)
        elif type(key) is not str:  # the value of `<<`, or of a key to skip
            top.size -= 1
            self._any_scalar(event, position)
        else:
            self._value_scalar(event, position, top, key)

    def _value_scalar(self, event: Any, position: Position, top: _Frame, key: str) -> None:
        path = (*top.path, key)  # type: ignore[misc]
        text = event.value
        if event.style or event.ctag is not None:  # quoted, or tagged
            self.sources.values[path] = position
            value = self.values.value(text, event.tag or STR, path, position)
        else:
            if text:  # an empty plain value has no place of its own: point at its key
                self.sources.values[path] = position
            value = self.values.plain(text, path, position)
        top.value[key] = value
        top.key = _KEY

    def _key_scalar(self, text: str, marked: bool, position: Position, top: _Frame) -> None:
        if text == "<<" and not marked:
            top.key = _MERGE
        elif text in top.value:
            first = self.sources.keys[(*top.path, text)]  # type: ignore[misc]
            self.report(position, f"duplicate key {quoted(text)}; first defined at {first}", top.path)
            top.key = _SKIP
        else:
            top.key = text
            self.sources.keys[(*top.path, text)] = position  # type: ignore[misc]

    def _any_scalar(self, event: Any, position: Position) -> None:
        path, is_key = self._next_path()
        style = event.style or None  # libyaml says '' for plain, the pure parser None
        plain = style is None and event.ctag is None and event.implicit[0]
        if is_key:
            node = _Node(event.value, position, raw=event.value, merge=plain and event.value == "<<")
        else:
            if path is not None and not (style is None and event.value == ""):
                self.sources.values[path] = position
            value = None
            if path is not None:
                tag = None if plain else (event.tag or STR)  # `tag` is a property: read it only when needed
                value = self.values.value(event.value, tag, path, position)
            node = _Node(value, position, raw=event.value, path=path)
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchor(node)
        self._deliver(node)

    def _mapping_start(self, event: Any) -> None:
        self._open(event, {})

    def _sequence_start(self, event: Any) -> None:
        self._open(event, [])

    def _open(self, event: Any, value: dict[str, Any] | list[Any]) -> None:
        path, is_key = self._next_path()
        position = self._position(event)
        if len(self.stack) >= MAX_DEPTH:
            self._refuse(position, _too_deep())
        tag = event.tag
        kind = "map" if isinstance(value, dict) else "seq"
        if tag not in (None, "!", f"{TAG}{kind}") and path is not None:
            shown = tag.replace(TAG, "!!")
            message = f"unsupported YAML tag {quoted(shown)}: expected a plain mapping or list"
            self.report(position, message, path)
        if path is not None:
            self.sources.values[path] = position
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchor()
        self.stack.append(_Frame(value, None if is_key else path, position, event.anchor))

    def _end(self, event: Any) -> None:
        frame = self.stack.pop()
        if frame.merges:
            self._merge_into(frame)
        node = _Node(frame.value, frame.position, frame.size, frame.height, path=frame.path)
        if frame.anchor is not None:
            self.anchors[frame.anchor] = _Anchor(node)
        self._deliver(node)

    def _alias(self, event: Any) -> None:
        path, is_key = self._next_path()
        position = self._position(event)
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            self.fail(position.problem(f"invalid YAML: found undefined alias {quoted(event.anchor)}"))
            raise _Stop
        node = anchor.node
        if node is None:  # its collection is still open: it would contain itself
            self._recursive(event.anchor, path)
            self._deliver(_Node(None, position))
            return
        self.alias_values += node.size
        if self.alias_values > MAX_ALIAS_VALUES:
            self._refuse(position, _too_many_values())
        if len(self.stack) + node.height > MAX_DEPTH:
            self._refuse(position, _too_deep())
        if path is not None and not is_key:
            self.sources.values[path] = node.position
            if node.path is not None and node.path != path:
                self.sources.links[path] = node.path
        self._deliver(_Node(node.value, position, node.size, node.height, raw=node.raw, path=path))

    def _recursive(self, name: str, path: KeyPath | None) -> None:
        frame = next(frame for frame in reversed(self.stack) if frame.anchor == name)
        if name not in self.recursive:
            self.recursive.add(name)
            self.report(frame.position, "recursive alias: a value may not contain itself", path)

    # -- merge keys -----------------------------------------------------------------------

    def _merge_into(self, frame: _Frame) -> None:
        """`<<: *base` or `<<: [*a, *b]`: keys not written explicitly, first source first."""
        sources: list[tuple[Any, KeyPath | None, Position]] = []
        for merge in frame.merges:
            if isinstance(merge.value, list):
                origin = merge.path
                for index, item in enumerate(merge.value):
                    at = None if origin is None else (*origin, index)
                    place = merge.position if at is None else self.sources.value_at(at)
                    sources.append((item, at, place))
            else:
                sources.append((merge.value, merge.path, merge.position))
        for value, origin, place in sources:
            if not isinstance(value, dict):
                shown = "a list" if isinstance(value, list) else repr(shorten(str(value)))
                self.report(place, f"'<<' expected a mapping to merge, got {shown}", frame.path)
                continue
            for key, item in value.items():
                if key in frame.value:
                    continue
                frame.value[key] = item
                if frame.path is not None and origin is not None:
                    self.sources.links[(*frame.path, key)] = (*origin, key)


def _too_deep() -> str:
    return (
        f"nesting too deep: more than {MAX_DEPTH} levels of mappings and lists "
        "(a config needs 6; is this file a config?)"
    )


def _too_many_values() -> str:
    return (
        f"aliases expand to more than {MAX_ALIAS_VALUES:,} values; write the values out or use "
        "fewer aliases (an alias bomb?)"
    )
