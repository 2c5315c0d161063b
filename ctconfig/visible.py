"""Text from outside (a file, a server, a user) shown safely in one line.

Control characters — ESC, BEL, line breaks, bidirectional overrides — are
written as `\\x1b`-style escapes instead of being interpreted, and long text
is cut, so a name or a key can neither rewrite a terminal nor forge a line of
output nor flood a message. Renderers and error messages both use it.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, limit: int | None = None) -> str:
    """`text` with control characters made visible; cut to `limit` characters (with `…`) if given."""
    shown = _CONTROL.sub(_escape, text)
    if limit is not None and len(shown) > limit:
        return shown[: limit - 1] + "…"
    return shown
