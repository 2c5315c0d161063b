"""The value types of the config: durations, names, emails, ids, URLs, and the limits they obey.

Each is an `Annotated` type with its parser and its JSON Schema, so the models in
`spec.py` read as the config's shape and this module holds the rules of a single
value. The parser and the schema are written from the same pattern or bound, so that
`ctconfig validate` and a JSON Schema validator agree (see `schema.py`). Durations
become days (`int`) or `None` for CleverTap's unbounded words (`forever`, `infinite`);
their grammar is `ctconfig.durations`, CleverTap's limits are `ctconfig.domain`'s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from ctconfig.config.errors import quoted
from ctconfig.domain import (
    MAX_NAME_LENGTH,
    MAX_VALIDITY_DAYS,
    MIN_VALIDITY_DAYS,
    REGIONS,
    RETIRING_MARK,
)
from ctconfig.durations import FOREVER, INFINITE, MAX_DAYS, days_pattern, parse_days

Unmanaged = Literal["ignore", "warn", "delete"]
PasscodeMode = Literal["account", "user"]

MAX_ALIAS_LENGTH = 64  # ctconfig's own bound: an alias is part of every address
MAX_EMAIL_LENGTH = 254  # RFC 5321
ALIAS_PATTERN = r"^[A-Za-z0-9_.-]+$"
ACCOUNT_ID_PATTERN = r"^(?:TEST-)?[A-Z0-9]{3,4}(?:-[A-Z0-9]{3,4})+$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
# Characters a name may not hold: '/', control characters (C0, DEL, C1), line and paragraph
# separators, and the invisible ones that make two different names look the same.
UNPRINTABLE = r"\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff"
NAME_PATTERN = rf"^[^/{UNPRINTABLE}]+$"
# http(s), a host name or [IPv6] address, an optional port; no user:password@ (name those by *_env).
URL_PATTERN = r"^https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?:[/?#][^\s]*)?$"
PATH_PATTERN = rf"^[^{UNPRINTABLE}]+$"
COMMAND_PATTERN = rf"^[^{UNPRINTABLE}]*[^\s{UNPRINTABLE}][^{UNPRINTABLE}]*$"  # not blank
MAX_PATH_LENGTH = 4096
_NAME = re.compile(NAME_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)
_ALIAS = re.compile(ALIAS_PATTERN)
_URL = re.compile(URL_PATTERN)
_PATH = re.compile(PATH_PATTERN)
DURATION_KEYS = frozenset(
    {"expires_in", "rotate_before", "validity", "reset_before", "rotation_overlap", "lock_ttl"}
)


def one_of(words: tuple[str, ...] | list[str]) -> str:
    """`'a', 'b' or 'c'`: the choices in a message."""
    quoted = [repr(word) for word in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


T = TypeVar("T")


def _remembering_text(parse: Callable[[Any], T]) -> Callable[[Any], T]:
    """`parse`, remembering its answers for text: a large config spells the same few durations
    thousands of times. Other values (numbers, mistakes of type) are parsed each time."""
    remembered = functools.lru_cache(maxsize=512)(parse)

    @functools.wraps(parse)
    def parse_value(value: Any) -> T:
        return remembered(value) if isinstance(value, str) else parse(value)

    return parse_value


@_remembering_text
def _expiry(value: Any) -> int | None:
    return parse_days(value, FOREVER, minimum=1)


@_remembering_text
def _validity(value: Any) -> int | None:
    return parse_days(value, INFINITE, minimum=MIN_VALIDITY_DAYS, maximum=MAX_VALIDITY_DAYS)


@_remembering_text
def _days(value: Any) -> int:
    days = parse_days(value)
    assert days is not None  # no unbounded word allowed here
    return days


def check_passcode_name(name: str) -> str:
    """An account passcode name as CleverTap and ctconfig's rotation accept it."""
    if RETIRING_MARK in name:
        raise ValueError(f"'{RETIRING_MARK}' is reserved for rotation; expected a name without it")
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not _NAME.match(name):
        raise ValueError(f"expected 1 to {MAX_NAME_LENGTH} printable characters without '/'")
    return name


def _passcode_name_key(name: str) -> str:
    try:
        return check_passcode_name(name)
    except ValueError as exc:
        raise ValueError(f"account passcode name {quoted(name)}: {exc}") from None


def is_email(text: str) -> bool:
    """Whether a config may name a user by `text` (as `user_passcodes` keys)."""
    return len(text) <= MAX_EMAIL_LENGTH and _EMAIL.match(text) is not None


def _email_key(email: str) -> str:
    if not is_email(email):
        raise ValueError(f"user {quoted(email)}: expected an email address such as alice@example.com")
    return email.lower()


def _alias_key(alias: str) -> str:
    if len(alias) > MAX_ALIAS_LENGTH or not _ALIAS.match(alias):
        expected = f"expected 1 to {MAX_ALIAS_LENGTH} letters, digits, '_', '.' or '-'"
        raise ValueError(f"account alias {quoted(alias)}: {expected}")
    return alias


def _matching(pattern: str, expected: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(expected)
        return value

    return check


def _region(value: str) -> str:
    if value not in REGIONS:
        raise ValueError(f"expected {one_of(REGIONS)}")
    return value


URL_EXPECTED = "expected an http:// or https:// URL without credentials, such as https://ct.example.com/api"


def url_problem(value: object) -> str | None:
    """Why `value` is not a URL ctconfig can call (None if it is one).

    Checked among the config's rules (`consistency.py`), not by the model: the http state
    backend and the providers check their own URLs too, when built from code.
    """
    if not isinstance(value, str) or not _URL.match(value):
        return URL_EXPECTED
    try:
        urlsplit(value).port  # noqa: B018  (a port over 65535 raises here)
    except ValueError:
        return URL_EXPECTED
    return None


def _text(what: str, limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not 1 <= len(value) <= limit or not _PATH.match(value):
            raise ValueError(f"expected {what} of 1 to {limit} printable characters")
        return value

    return check


def _text_schema(limit: int) -> dict[str, Any]:
    return {"type": "string", "pattern": PATH_PATTERN, "minLength": 1, "maxLength": limit}


def parse_command(value: Any) -> Any:
    """A command line for the command sink: a non-empty string, or a list of strings."""
    if isinstance(value, str) and re.match(COMMAND_PATTERN, value):
        return value
    arguments = value if isinstance(value, list) else []
    if arguments and all(isinstance(part, str) and re.match(PATH_PATTERN, part) for part in arguments):
        return value
    raise ValueError("expected a command line, as a string or a list of strings")


Command = Annotated[
    str | list[str],
    BeforeValidator(parse_command),
    WithJsonSchema(
        {
            "description": "The command line: one string (run by the shell) or a list of arguments.",
            "anyOf": [
                {"type": "string", "pattern": COMMAND_PATTERN},
                {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": PATH_PATTERN}},
            ],
        }
    ),
]


def _days_schema(description: str, minimum: int, maximum: int, word: str | None) -> dict[str, Any]:
    choices: list[dict[str, Any]] = [
        {"type": "integer", "minimum": minimum, "maximum": maximum},
        {"type": "string", "pattern": days_pattern(minimum, maximum, word)},
    ]
    return {"description": description, "anyOf": choices}


ExpiresIn = Annotated[
    int | None,
    BeforeValidator(_expiry),
    WithJsonSchema(
        _days_schema("Days until the passcode expires (90d or 90), or 'forever'.", 1, MAX_DAYS, FOREVER)
    ),
]
Validity = Annotated[
    int | None,
    BeforeValidator(_validity),
    WithJsonSchema(
        _days_schema(
            f"Validity of the user passcode: {MIN_VALIDITY_DAYS}-{MAX_VALIDITY_DAYS} days (30d or 30), "
            "or 'infinite'.",
            MIN_VALIDITY_DAYS,
            MAX_VALIDITY_DAYS,
            INFINITE,
        )
    ),
]
Days = Annotated[
    int,
    BeforeValidator(_days),
    WithJsonSchema(_days_schema("A number of days (14d or 14).", 0, MAX_DAYS, None)),
]
EnvName = Annotated[
    str,
    AfterValidator(
        _matching(ENV_NAME_PATTERN, "expected an environment variable name such as CT_PROD_PASSCODE")
    ),
    WithJsonSchema({"type": "string", "pattern": ENV_NAME_PATTERN}),
]
AccountId = Annotated[
    str,
    AfterValidator(
        _matching(
            ACCOUNT_ID_PATTERN, "expected a CleverTap account id such as W9R-486-4W5Z or TEST-R78-ZZK-955Z"
        )
    ),
    WithJsonSchema({"type": "string", "pattern": ACCOUNT_ID_PATTERN}),
]
Region = Annotated[str, AfterValidator(_region), WithJsonSchema({"type": "string", "enum": list(REGIONS)})]
Url = Annotated[str, WithJsonSchema({"type": "string", "pattern": URL_PATTERN})]  # see url_problem
FilePath = Annotated[
    str, AfterValidator(_text("a file path", MAX_PATH_LENGTH)), WithJsonSchema(_text_schema(MAX_PATH_LENGTH))
]
Text = Annotated[str, AfterValidator(_text("a text", 255)), WithJsonSchema(_text_schema(255))]
# PostgreSQL cuts longer identifiers short, so two long names could meet in one.
SqlName = Annotated[str, AfterValidator(_text("a name", 63)), WithJsonSchema(_text_schema(63))]
ObjectKey = Annotated[str, AfterValidator(_text("an object key", 1024)), WithJsonSchema(_text_schema(1024))]
PASSCODE_NAME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": NAME_PATTERN,
    "minLength": 1,
    "maxLength": MAX_NAME_LENGTH,
    "not": {"pattern": RETIRING_MARK},
}
PasscodeNameValue = Annotated[str, AfterValidator(check_passcode_name), WithJsonSchema(PASSCODE_NAME_SCHEMA)]
Previously = Annotated[
    list[PasscodeNameValue],
    WithJsonSchema(
        {
            "description": "Earlier names of this passcode (a rename): one name or a list.",
            "anyOf": [PASSCODE_NAME_SCHEMA, {"type": "array", "items": PASSCODE_NAME_SCHEMA}],
        }
    ),
]
AccountAlias = Annotated[str, AfterValidator(_alias_key)]
PasscodeName = Annotated[str, AfterValidator(_passcode_name_key)]
Email = Annotated[str, AfterValidator(_email_key)]

