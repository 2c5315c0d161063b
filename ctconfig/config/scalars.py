"""Plain YAML scalars → Python values, as ruamel.yaml's safe loader would make them, but bounded.

The builder reads events, not nodes, so it resolves implicit tags itself (with
ruamel.yaml's own patterns for the document's YAML version, 1.2 unless a `%YAML`
directive says otherwise) and constructs with ruamel.yaml's SafeConstructor. A
value that cannot be read, or an integer longer than MAX_NUMBER_DIGITS, is a
message, never an exception: every such value gets a located error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import implicit_resolvers

from ctconfig.config.errors import quoted
from ctconfig.config.interpolate import Refusal, has_reference, interpolate
from ctconfig.config.limits import MAX_NUMBER_DIGITS
from ctconfig.config.yamltree import KeyPath, Position, SourceMap

TAG = "tag:yaml.org,2002:"
STR = f"{TAG}str"
MERGE = f"{TAG}merge"
PLAIN_TAGS = frozenset(f"{TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp"))
_DEFAULT_VERSION = (1, 2)
ENV_REFERENCE = (
    "expected the name of an environment variable (such as CT_PROD_PASSCODE), not a ${...} "
    "reference: ctconfig reads the variable itself, so write its name alone"
)
Report = Callable[[Position, str, KeyPath], None]
_CACHE_SIZE = 4096


def shorten(text: str, limit: int = 60) -> str:
    """A value as a message may show it: at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScalarReader:
    """Resolves and constructs plain scalars for one YAML version; remembers common answers."""

    def __init__(self, version: tuple[int, int] | None = None) -> None:
        wanted = version or _DEFAULT_VERSION
        self._by_first: dict[str, list[tuple[str, Any]]] = {}
        for versions, tag, regexp, first in implicit_resolvers:
            if wanted in versions:
                for char in first:
                    self._by_first.setdefault(char, []).append((tag, regexp))
        loader = YAML(typ="safe", pure=True)
        loader.version = version  # the constructor asks it, e.g. for YAML 1.1's 1:30 (sexagesimal)
        self._constructor = loader.constructor
        self._tags: dict[str, str] = {}

    def resolve(self, value: str) -> str:
        """The tag an untagged plain scalar gets: int, float, bool, null, timestamp, merge or str."""
        tag = self._tags.get(value)
        if tag is not None:
            return tag
        tag = STR
        for candidate, regexp in self._by_first.get(value[:1], ()):
            if regexp.match(value):
                tag = candidate
                break
        if len(self._tags) < _CACHE_SIZE:
            self._tags[value] = tag
        return tag

    def construct(self, tag: str, value: str) -> tuple[Any, str | None]:
        """(value, None), or (None, why it cannot be read) for a tag in PLAIN_TAGS."""
        if tag == STR:
            return value, None
        if tag == f"{TAG}int" and _digits(value) > MAX_NUMBER_DIGITS:
            return None, _too_long(_digits(value))
        try:
            construct = self._constructor.yaml_constructors[tag]  # not construct_object: it memoizes
            result = construct(self._constructor, ScalarNode(tag, value))
        except (YAMLError, ValueError, OverflowError):
            return None, f"cannot read {shorten(value)!r} as {tag.removeprefix(TAG)}"
        if isinstance(result, int) and not isinstance(result, bool) and abs(result) >= 10**MAX_NUMBER_DIGITS:
            return None, _too_long(len(str(abs(result))))
        return result, None


def _digits(value: str) -> int:
    """How many digits an integer's text holds (sign, base prefix and '_' aside)."""
    text = value.lstrip("+-").replace("_", "")
    if text[:2].lower() in ("0x", "0o", "0b"):
        text = text[2:]
    return len(text.lstrip("0")) or 1


def _too_long(digits: int) -> str:
    return f"expected a number of at most {MAX_NUMBER_DIGITS} digits, got one of {digits:,} digits"


class ScalarValues:
    """A scalar value's text → its value: tags, bounds, then `${VAR}` interpolation.

    Problems go to `report` (place, message, path); a value that came from the
    environment is remembered as written, so messages show the file's text, not it.
    """

    def __init__(
        self,
        environ: Mapping[str, str],
        sources: SourceMap,
        report: Report,
        *,
        interpolating: bool = True,
        refuse: Refusal = lambda name: None,
    ) -> None:
        self.reader = ScalarReader()
        self.environ = environ
        self.refuse = refuse
        self.sources = sources
        self.report = report
        self.interpolating = interpolating

    def plain(self, text: str, path: KeyPath, position: Position) -> Any:
        """An untagged plain scalar (the common case: most are strings with nothing to do)."""
        if self.reader.resolve(text) == STR and "${" not in text:
            return text
        return self.value(text, None, path, position)

    def value(self, text: str, tag: str | None, path: KeyPath, position: Position) -> Any:
        """`tag` None: a plain scalar, resolved as YAML would; else its explicit tag ('!' is str)."""
        resolved = self.reader.resolve(text) if tag is None else (STR if tag == "!" else tag)
        if resolved not in PLAIN_TAGS:
            shown = resolved.replace(TAG, "!!")
            self.report(position, f"unsupported YAML tag {quoted(shown)}: expected a plain value", path)
            return None
        value, problem = self.reader.construct(resolved, text)
        if problem is not None:
            self.report(position, _labelled(path, problem), path)
            return None
        if isinstance(value, str) and self.interpolating and has_reference(value):
            return self._interpolated(value, tag is None, path, position)
        return value

    def _interpolated(self, text: str, plain: bool, path: KeyPath, position: Position) -> Any:
        if path and isinstance(path[-1], str) and path[-1].endswith("_env"):
            self.report(position, f"{path[-1]}: {ENV_REFERENCE}", path)
            return text
        result = interpolate(text, self.environ, self.refuse)
        for message in result.problems:
            self.report(position, message, path)
        if result.problems:
            return result.text
        if result.used_environment:
            self.sources.from_environment[path] = text
        tag = self.reader.resolve(result.text) if plain else STR  # `${DAYS:-90}` is a number, as 90
        if tag not in PLAIN_TAGS:
            return result.text
        value, problem = self.reader.construct(tag, result.text)
        if problem is not None:
            self.report(position, _labelled(path, problem), path)
        return value


def _labelled(path: KeyPath, message: str) -> str:
    from ctconfig.config.describe import label

    return f"{label(path)}: {message}"
