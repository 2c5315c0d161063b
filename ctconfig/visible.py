"""Text from outside (a file, a server, a user) shown safely in one line.

Control characters — C0 and C1 (ESC, BEL, line breaks), DEL — and every
invisible format character — bidirectional controls (LRM, RLM, ALM, the
embeddings, overrides and isolates), zero-width spaces and joiners, the byte
order mark, line and paragraph separators, tag characters, variation
selectors and the fillers that render as nothing — are written as `\\x1b`,
`\\u200e` or `\\U000e0041` escapes instead of being interpreted, and long text
is cut. A name or a key can neither rewrite a terminal, forge a line of output,
flood a message, nor look like another name. Renderers, error messages and the
command line's notes all use it.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"  # C0, DEL, C1 (ESC, BEL, CR, LF, NEL, CSI, OSC, ...)
    "\u00ad\u034f"  # soft hyphen, combining grapheme joiner
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"  # Arabic and Syriac format marks, ALM
    "\u115f\u1160\u180b-\u180f\u3164\uffa0"  # Hangul fillers, Mongolian selectors and separator
    "\u200b-\u200f"  # zero-width space, non-joiner, joiner; LRM, RLM
    "\u2028-\u202e"  # line and paragraph separators; bidi embeddings and overrides
    "\u2060-\u206f"  # word joiner, invisible operators, bidi isolates, deprecated format marks
    "\ud800-\udfff"  # lone surrogates (from JSON `\\ud800`): no terminal or UTF-8 file can hold one
    "\ufe00-\ufe0f\ufeff\ufff9-\ufffb"  # variation selectors, BOM, interlinear annotation
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef"  # tag characters, variation selectors supplement
    "]"
)
"""Every character of Unicode's categories Cc, Cf, Zl, Zp and Cs, and the invisible ones beside them."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str, limit: int | None = None) -> str:
    """`text` with control characters made visible; cut to `limit` characters (with `…`) if given."""
    shown = _CONTROL.sub(_escape, text)
    if limit is not None and len(shown) > limit:
        return shown[: limit - 1] + "…"
    return shown
