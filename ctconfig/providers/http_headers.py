"""Values that go into HTTP headers: checked before any request, described without being quoted.

A secret with a line break, a control or non-ASCII character, or an absurd
length cannot be a CleverTap passcode, and sending it would only make the
HTTP library fail (and quote the value in its error). So every secret bound
for a header is checked first; the refusal names where the value came from
and what is wrong with it, never the value or where in it the problem is.
"""

from __future__ import annotations

MAX_HEADER_SECRET_LENGTH = 256
"""Far above any real passcode (12 letters or 32 hex digits), far below a header a server refuses."""

_PRINTABLE = frozenset(chr(code) for code in range(0x20, 0x7F))


def header_value_problem(value: str) -> str | None:
    """Why `value` cannot be sent as a header value, in words that never quote it; None if it can."""
    if not value:
        return "it is empty"
    if len(value) > MAX_HEADER_SECRET_LENGTH:
        return f"it is {len(value)} characters long (at most {MAX_HEADER_SECRET_LENGTH})"
    if _PRINTABLE.issuperset(value):
        if value != value.strip():
            return "it starts or ends with a space"
        return None
    if "\n" in value or "\r" in value:
        return "it contains a line break"
    if any(not char.isascii() for char in value):
        return "it contains a non-ASCII character"
    return "it contains a control character (tab, NUL, ...)"
