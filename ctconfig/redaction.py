"""Debug logging that can never print a secret.

httpx and httpcore log request lines and, at trace level, headers and bodies.
`--debug` turns logging on for ctconfig only, keeps httpcore quiet, and runs
every record through `RedactingFilter`, which removes passcode headers and
any value registered as a secret during this run.
"""

from __future__ import annotations

import logging
import re
import sys

from ctconfig.secrets import REDACTED

_known_secrets: set[str] = set()
_HEADER = re.compile(r"(?i)(x-clevertap-passcode['\"]?\s*[:=,]\s*\(?['\"b]*)([^'\"\s,)]+)")
_SECRET_FIELD = re.compile(r'(?i)("(?:secret|passcode)"\s*:\s*")([^"]+)(")')


def remember_secret(value: str) -> None:
    """Register a secret so that any log line containing it is redacted."""
    if value:
        _known_secrets.add(value)


def redact(text: str) -> str:
    """Remove passcode headers, secret JSON fields and every remembered secret from text."""
    text = _HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with `redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "ctconfig.providers.clevertap",
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
