"""Canonical layout for config files, keeping every comment (ruamel.yaml round-trip).

Keys in a fixed order (version, state, provider, ... ; inside an account id, region, ...;
inside a passcode its duration first), durations spelled `90d` / `forever` / `infinite`,
2-space indentation. Unknown keys keep their relative order after the known ones; this
formats layout only and never judges validity (that is `ctconfig validate`).

A config directory arrives with a pull request, so `fmt` touches nothing outside it: a
symbolic link whose target lies outside the directory being formatted is refused before
it is read, one inside it is formatted where it points. A file is rewritten atomically
(temp file, fsync, rename), keeping its mode.
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ctconfig.config.errors import ConfigError, Problem
from ctconfig.config.loader import decode_config, read_config_files
from ctconfig.config.types import DURATION_KEYS
from ctconfig.config.yamltree import parse_yaml
from ctconfig.durations import FOREVER, DurationError, format_days, parse_days
from ctconfig.errors import CtconfigError
from ctconfig.files import write_atomically
from ctconfig.visible import visible

TOP_ORDER = (
    "version", "x-", "state", "provider", "secrets", "defaults", "safety", "templates", "accounts", "removed",
)  # fmt: skip
"""`x-` stands for every `x-` key: YAML anchors stay above the aliases that use them."""
SECTION_ORDER = ("backend", "kind", "sink")
ACCOUNT_ORDER = (
    "id", "region", "credentials", "passcode_mode", "unmanaged", "previously", "use",
    "account_passcodes", "user_passcodes",
)  # fmt: skip
PASSCODE_ORDER = (
    "expires_in", "validity", "rotate_before", "reset_before", "prevent_destroy", "previously",
    "rotate", "reset",
)  # fmt: skip
_ENTRY_OWNERS = ("accounts", "templates")
UNBOUNDED = {"expires_in": "forever", "validity": "infinite"}
_COMMENT_LINE = re.compile(r"^[ \t]*#")


class FormatCheckError(CtconfigError):
    """`fmt --check` found files that are not in canonical form (exit code 1)."""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def _reorder(mapping: CommentedMap, order: tuple[str, ...]) -> None:
    keys = list(mapping)
    rank = {key: index for index, key in enumerate(order)}

    def place(key: Any) -> tuple[int, int]:
        found = rank.get("x-") if str(key).startswith("x-") else None
        return (found if found is not None else rank.get(key, len(order)), keys.index(key))

    for key in sorted(keys, key=place):
        mapping.move_to_end(key)


def _duration(key: str, value: Any) -> Any:
    """`90` → `90d`, `090D` → `90d`, `Forever` → `forever`; anything else (`${VAR}`) is left alone."""
    word = UNBOUNDED.get(key)
    try:
        days = parse_days(value, word, maximum=None)
    except DurationError:
        return value
    return format_days(days, word or FOREVER)


def _normalise_durations(mapping: CommentedMap) -> None:
    for key in list(mapping):
        if key in DURATION_KEYS:
            new = _duration(key, mapping[key])
            if new != mapping[key]:
                mapping[key] = new


def _canonical(node: Any, path: tuple[str, ...]) -> None:
    if isinstance(node, CommentedSeq):
        for item in node:
            _canonical(item, path)
        return
    if not isinstance(node, CommentedMap):
        return
    depth = len(path)
    if depth == 0:
        _reorder(node, TOP_ORDER)
    elif depth == 1 and path[0] in ("state", "provider", "secrets"):
        _reorder(node, SECTION_ORDER)
    elif depth == 2 and path[0] == "accounts":
        _reorder(node, ACCOUNT_ORDER)
    elif depth == 4 and path[0] in _ENTRY_OWNERS and path[2] in ("account_passcodes", "user_passcodes"):
        _reorder(node, PASSCODE_ORDER)
    _normalise_durations(node)
    for key, value in node.items():
        _canonical(value, (*path, str(key)))


def _align_comment_lines(text: str) -> str:
    """Indent each full-line comment like the line of YAML that follows it."""
    lines = text.split("\n")
    indent = ""
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if _COMMENT_LINE.match(line):
            lines[index] = indent + line.lstrip(" \t")
        elif line.strip():
            indent = line[: len(line) - len(line.lstrip(" "))]
    return "\n".join(lines)


def format_text(text: str, file: str) -> str:
    """The canonical form of one config file's text; YAML errors are raised located."""
    yaml = _yaml()
    try:
        data = yaml.load(text)
        _canonical(data, ())
        stream = io.StringIO()
        yaml.dump(data, stream)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = f"invalid YAML: {exc.problem or exc.context or 'cannot parse'}"
        raise ConfigError([Problem(file, line, column, message)]) from None
    except YAMLError as exc:
        raise ConfigError([Problem(file, 1, 1, f"invalid YAML: {exc}")]) from None
    if data is None:
        return text
    return _align_comment_lines(stream.getvalue())


def files_to_format(path: Path) -> list[Path]:
    """A file, or the `*.yaml` files of a config directory."""
    if path.is_dir():
        return sorted(child for child in path.glob("*.yaml") if child.is_file())
    return [path]


def _guarded_text(path: Path, environ: Mapping[str, str]) -> str:
    """The file's text, refused as `validate` would refuse it: too large, too deep, an alias bomb."""
    display = str(path)
    text = decode_config(read_config_files([path], environ)[0], display)
    if isinstance(text, Problem):
        raise ConfigError([text])
    refused = parse_yaml(text, display, {}, interpolating=False).refused
    if refused is not None:
        raise ConfigError([refused])
    return text


def format_file(
    path: Path, write: bool, environ: Mapping[str, str] | None = None, tree: Path | None = None
) -> bool:
    """Whether `path` is not in canonical form; rewrite it when `write` is set.

    `tree` is the directory being formatted (default: the file's own); a file that
    resolves outside it (through a symbolic link) is refused before it is read.
    """
    real = _inside(path, (tree or path.parent).resolve())
    text = _guarded_text(path, os.environ if environ is None else environ)
    formatted = format_text(text, str(path))
    if formatted == text:
        return False
    if write:
        try:
            mode = stat.S_IMODE(real.stat().st_mode)
            write_atomically(real, formatted.encode("utf-8"), mode=mode, sync_dir=True)
        except OSError as exc:
            raise CtconfigError(f"cannot rewrite {visible(str(path))}: {exc.strerror or exc}") from None
    return True


def _inside(path: Path, tree: Path) -> Path:
    """Where `path` really is, refused when a symbolic link takes it out of `tree`."""
    real = path.resolve()
    if not real.is_relative_to(tree):
        raise CtconfigError(
            f"refusing to format {visible(str(path))}: it is a symbolic link to {visible(str(real))}, "
            f"outside {visible(str(tree))}; fmt changes nothing outside the config's directory"
        )
    return real
