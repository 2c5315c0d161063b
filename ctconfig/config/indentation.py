"""A YAML syntax error that wrong indentation explains, said in words about indentation.

The parser says "expected <block end>, but found '<block mapping start>'" or "mapping values
are not allowed here"; what the user did is indent a line by the wrong number of spaces. Given
the text and where the parser stopped, `indentation_message` looks at that line and the lines
above it and, when their indentation explains the error, says which key is out of line, by how
much, and where the keys it could belong with are. Anything else keeps the parser's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KEY = re.compile(r"^(?P<indent> *)(?:- +)?(?P<key>[^\s:#][^:#]*?)\s*:(?:\s+(?P<value>\S.*))?\s*$")
_KEY_SHOWN = 40


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based
    indent: int
    key: str | None
    has_value: bool  # `key: value` on the line itself (not a block start)
    text: str = ""

    def named(self) -> str:
        """The key, or (a list item, a value) the line's text, quoted and cut short."""
        shown = self.key if self.key is not None else self.text
        return repr(shown if len(shown) <= _KEY_SHOWN else shown[: _KEY_SHOWN - 3] + "...")


def _read(text: str, number: int) -> _Line | None:
    lines = text.split("\n")
    if not 1 <= number <= len(lines):
        return None
    raw = lines[number - 1].rstrip("\r")
    stripped = raw.lstrip(" ")
    if not stripped or stripped.startswith("#") or "\t" in raw[: len(raw) - len(stripped)]:
        return None
    match = _KEY.match(raw)
    if match is None:
        return _Line(number, len(raw) - len(stripped), None, False, stripped.rstrip())
    value = match.group("value")
    has_value = value is not None and not value.startswith(("#", "&", "!", "|", ">"))
    return _Line(number, match.start("key"), match.group("key").strip("'\""), has_value)


def _above(text: str, number: int) -> list[_Line]:
    """The meaningful lines above `number`, nearest first."""
    found = []
    for above in range(number - 1, 0, -1):
        line = _read(text, above)
        if line is not None:
            found.append(line)
    return found


def _enclosing(lines: list[_Line]) -> list[_Line]:
    """From the nearest line up, each line less indented than all those nearer: the open levels."""
    levels: list[_Line] = []
    for line in lines:
        if not levels or line.indent < levels[-1].indent:
            levels.append(line)
    return levels


def indentation_message(text: str, line: int, problem: str) -> tuple[int, int, str] | None:
    """(line, column, message) when indentation explains the parser's `problem` at `line`, else None."""
    if "mapping values are not allowed" in problem:
        return _over_indented(text, line)
    if "expected <block end>" in problem:
        return _between_levels(text, line)
    return None


def _over_indented(text: str, number: int) -> tuple[int, int, str] | None:
    """`key: value` followed by a line indented deeper: YAML reads it as more of that value."""
    line = _read(text, number)
    above = _above(text, number)
    if line is None or line.key is None or not above:
        return None
    previous = above[0]
    if previous.key is None or not previous.has_value or line.indent <= previous.indent:
        return None
    message = (
        f"wrong indentation: {line.named()} is indented {_spaces(line.indent)}, more than "
        f"{previous.named()} on line {previous.number} ({previous.indent}), which already has a value, "
        f"so YAML reads this line as part of that value; indent it {_spaces(previous.indent)} to put it "
        f"beside {previous.named()}"
    )
    return number, line.indent + 1, message


def _between_levels(text: str, number: int) -> tuple[int, int, str] | None:
    """A key indented to no level that is open above it: neither a sibling nor a child."""
    line = _read(text, number)
    if line is None:
        return None
    levels = _enclosing(_above(text, number))
    if not levels or any(level.indent == line.indent for level in levels):
        return None
    places = [f"{level.indent} ({level.named()}, line {level.number})" for level in levels[:3]]
    message = (
        f"wrong indentation: {line.named()} is indented {_spaces(line.indent)}, but the keys above it are at "
        + " or ".join(places)
        + "; YAML nests by indentation, so line it up with the key it belongs beside"
    )
    return number, line.indent + 1, message


def _spaces(count: int) -> str:
    return f"{count} space{'' if count == 1 else 's'}"
