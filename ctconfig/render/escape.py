"""Escaping for every output format: names come from configs and from accounts ctconfig only reads.

A passcode made by hand in the dashboard can be named anything: backticks that
break out of a markdown code span, an escape sequence that rewrites the
terminal, a newline that forges a line of the plan. Every remote- or
config-controlled string goes through one of these before it is shown.
"""

from __future__ import annotations

import re

from ctconfig.visible import visible

_BACKTICKS = re.compile(r"`+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~!])")
"""Inline syntax: emphasis, code, links and images, tables, strikethrough. (Block syntax cannot
start inside a line, and every message is shown after a list marker.)"""


def terminal_safe(text: str) -> str:
    """Control characters (ESC, BEL, newlines, bidi overrides) shown as `\\x1b`, never interpreted."""
    return visible(text)


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
