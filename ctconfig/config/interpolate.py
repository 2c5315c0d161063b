"""`${VAR}` and `${VAR:-default}` in string values, as in a shell or docker compose.

`$${` writes a literal `${`. A default applies when the variable is unset or
empty. Problems are returned, not raised, so the loader can report them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

_START = re.compile(r"\$\$\{|\$\{")
_BODY = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?$", re.DOTALL)


@dataclass
class Interpolated:
    """The text after substitution, whether any environment value went into it, and problems."""

    text: str
    used_environment: bool = False
    problems: list[str] = field(default_factory=list)


def has_reference(text: str) -> bool:
    """Whether interpolation could change this text at all (the common case is no)."""
    return "${" in text


Refusal = Callable[[str], str | None]
"""Why a variable may not be read (the operator's policy, `config/trust.py`), or None."""


def interpolate(text: str, environ: Mapping[str, str], refuse: Refusal = lambda name: None) -> Interpolated:
    """Substitute every reference in `text`; unknown or refused variables are problems."""
    result = Interpolated("")
    pieces: list[str] = []
    position = 0
    for match in _START.finditer(text):
        if match.start() < position:
            continue
        pieces.append(text[position : match.start()])
        if match.group() == "$${":
            pieces.append("${")
            position = match.end()
            continue
        close = text.find("}", match.end())
        if close < 0:
            result.problems.append("unterminated '${': expected ${NAME} or ${NAME:-default}")
            position = len(text)
            break
        body = text[match.end() : close]
        position = close + 1
        parsed = _BODY.match(body)
        if parsed is None:
            result.problems.append(
                f"invalid reference '${{{body}}}': expected ${{NAME}} or ${{NAME:-default}}"
            )
            continue
        name, default = parsed["name"], parsed["default"]
        refusal = refuse(name)
        if refusal is not None:
            result.problems.append(refusal)
            continue
        value = environ.get(name)
        if value is not None and (value != "" or default is None):
            pieces.append(value)
            result.used_environment = True
        elif default is not None:
            pieces.append(default)
        else:
            result.problems.append(
                f"environment variable '{name}' is not set; set it or write ${{{name}:-default}}"
            )
    pieces.append(text[position:])
    result.text = "".join(pieces)
    return result
