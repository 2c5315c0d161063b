"""Escaping for every output format: names come from configs and from accounts ctconfig only reads.

A passcode made by hand in the dashboard can be named anything: backticks that
break out of a markdown code span, an escape sequence that rewrites the
terminal, a newline that forges a line of the plan. Every remote- or
config-controlled string goes through one of these before it is shown.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_BACKTICKS = re.compile(r"`+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~!])")
"""Inline syntax: emphasis, code, links and images, tables, strikethrough. (Block syntax cannot
start inside a line, and every message is shown after a list marker.)"""


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """Control characters (ESC, BEL, newlines, bidi overrides) shown as `\\x1b`, never interpreted."""
    return _CONTROL.sub(_visible, text)


def markdown_code(text: str) -> str:
    """`text` as an inline code span that no backtick inside it can close."""
    text = terminal_safe(text)
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_text(text: str) -> str:
    """Plain text in markdown: HTML and markdown syntax escaped, control characters made visible."""
    text = terminal_safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
