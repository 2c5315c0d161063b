"""Logs, error messages and tracebacks that can never print a secret.

httpx and httpcore log request lines and, at trace level, headers and bodies;
h11 quotes a header value it refuses in its exception text ("Illegal header
value b'...'"). `--debug` turns logging on for ctconfig only, keeps httpcore
quiet, and runs every record through `RedactingFilter`; tracebacks printed
with `--debug` go through `format_exception`. Both remove passcode headers,
quoted header values, secret JSON fields and every value registered as a
secret during this run, also as Python quotes them (`repr` of str and bytes)
and line by line, so a secret cut at a line break is redacted piece by piece.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Any

from ctconfig.secrets import REDACTED
from ctconfig.visible import visible

_known_secrets: set[str] = set()
_MIN_FRAGMENT = 6  # shorter pieces of a multi-line secret would redact innocent words
_HEADER = re.compile(r"(?i)(x-clevertap-passcode['\"]?\s*[:=,]\s*\(?['\"b]*)([^'\"\s,)]+)")
_SECRET_FIELD = re.compile(r'(?i)("(?:secret|passcode)"\s*:\s*")([^"]+)(")')
_QUOTED_HEADER_VALUE = re.compile(
    r"(?i)(illegal header value\s*:?\s*)(b?'(?:[^'\\\n]|\\.)*'|b?\"(?:[^\"\\\n]|\\.)*\"|\S+)"
)


_PLAIN = re.compile(r"[ !#-&(-\[\]-~]*")
"""Printable ASCII but quotes and backslash: text that Python quotes as it is, on one line."""


def remember_secret(value: str) -> None:
    """Register a secret so that any log line, message or traceback containing it is redacted."""
    if not value:
        return
    _known_secrets.add(value)
    if _PLAIN.fullmatch(value):  # every quoted form and its one line are the value itself
        return
    quoted = repr(value)[1:-1]
    as_bytes = repr(value.encode("utf-8", "backslashreplace"))[2:-1]
    _known_secrets.update(form for form in (quoted, as_bytes) if form)
    for fragment in re.split(r"[\r\n\x00-\x1f\x7f]+", value):
        if len(fragment) >= _MIN_FRAGMENT:
            _known_secrets.add(fragment)


def forget_secrets() -> None:
    """Forget every registered secret: a process that runs one command after another (the
    test suite's in-process runner) starts each, as a fresh process would, with none."""
    _known_secrets.clear()


def redact(text: str) -> str:
    """Remove passcode headers, refused header values, secret JSON fields and remembered secrets."""
    text = _HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _QUOTED_HEADER_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    for secret in sorted(_known_secrets, key=len, reverse=True):  # whole values before fragments
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def format_exception(exc: BaseException) -> str:
    """A traceback (with its causes) as text, redacted like a log line."""
    return redact("".join(traceback.format_exception(exc)))


def print_exception(exc: BaseException) -> None:
    """`--debug`'s traceback on stderr, never with a secret in it."""
    sys.stderr.write(format_exception(exc))
    sys.stderr.flush()


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with `redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info[1]).rstrip("\n")
            record.exc_info = None
        return True


HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "ctconfig.providers.clevertap",
    "ctconfig.providers.http_transport",
)


def guard_http_logging() -> None:
    """Put the redactor on httpx/httpcore loggers so no handler (not even caplog) sees a secret."""
    for name in HTTP_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


def configure_debug_logging() -> None:
    """`--debug`: ctconfig and httpx at DEBUG on stderr, httpcore quiet, everything redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("ctconfig").setLevel(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


NOTICES = "ctconfig.notice"
"""The logger for what a person should hear while a command waits (a server not answering)."""


class _VisibleFilter(logging.Filter):
    """A notice quotes servers (why a request waits): shown with its control characters visible."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = visible(record.getMessage())
        record.args = ()
        return True


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (a test may capture it per command)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def show_notices() -> None:
    """Print `NOTICES` messages on stderr as plain, redacted lines (once, however often called)."""
    notices = logging.getLogger(NOTICES)
    if any(isinstance(h, _CurrentStderr) for h in notices.handlers):
        return
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    handler.addFilter(_VisibleFilter())
    notices.addHandler(handler)
    notices.setLevel(logging.INFO)
    notices.propagate = False
