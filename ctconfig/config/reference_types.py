"""The value types that refer to other things: account aliases and templates, resource addresses
(in `removed:` and `safety.approve_deletes`) and the tokens that ask for a rotation or a reset.

Like `types.py`, each type carries its parser and its JSON Schema, written from the same pattern.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from ctconfig.config.errors import quoted
from ctconfig.config.types import ALIAS_PATTERN, MAX_ALIAS_LENGTH, PATH_PATTERN, UNPRINTABLE
from ctconfig.domain import MAX_ADDRESS_LENGTH

TEMPLATE_PATTERN = ALIAS_PATTERN
MAX_TOKEN_LENGTH = 64
TOKEN_PATTERN = PATH_PATTERN
_KIND_WORDS = "account_passcode|user_passcode"
ADDRESS_PATTERN = rf"^[A-Za-z0-9_.-]+/(?:(?:{_KIND_WORDS})/[^{UNPRINTABLE}]+|settings)$"
PASSCODE_ADDRESS_PATTERN = rf"^[A-Za-z0-9_.-]+/(?:{_KIND_WORDS})/[^{UNPRINTABLE}]+$"
ACCOUNT_WILDCARD_PATTERN = r"^[A-Za-z0-9_.-]+/\*$"
_ALIAS = re.compile(ALIAS_PATTERN)
_PATH = re.compile(PATH_PATTERN)
_ADDRESS_TEXT = re.compile(ADDRESS_PATTERN)
_PASSCODE_ADDRESS = re.compile(PASSCODE_ADDRESS_PATTERN)
_ACCOUNT_WILDCARD = re.compile(ACCOUNT_WILDCARD_PATTERN)
TOKEN_EXPECTED = (
    f"expected a token of 1 to {MAX_TOKEN_LENGTH} printable characters, such as a date or a ticket "
    "(2026-12-01, SEC-123)"
)


def _token(value: Any) -> str:
    """A rotation or reset token: text, a whole number or a YAML date, kept as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif isinstance(value, date):  # `rotate: 2026-12-01` is a date to YAML
        value = value.isoformat()
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TOKEN_LENGTH or not _PATH.match(value):
        raise ValueError(TOKEN_EXPECTED)
    return value


def _names_as_list(value: Any) -> Any:
    """`previously: prod` or `use: standard`: one name, or a list of them."""
    return [value] if isinstance(value, str) else value


def _removed_text(value: str) -> str:
    if len(value) <= MAX_ADDRESS_LENGTH and _ACCOUNT_WILDCARD.match(value):
        return value
    if len(value) > MAX_ADDRESS_LENGTH or not _ADDRESS_TEXT.match(value):
        raise ValueError(
            "expected an address such as prod/account_passcode/NAME, prod/user_passcode/EMAIL or "
            "prod/settings, or every address of an account: legacy/*"
        )
    return value


def _passcode_address_text(value: str) -> str:
    if len(value) > MAX_ADDRESS_LENGTH or not _PASSCODE_ADDRESS.match(value):
        raise ValueError("expected an address such as prod/account_passcode/NAME or prod/user_passcode/EMAIL")
    return value


ALIAS_EXPECTED = f"expected 1 to {MAX_ALIAS_LENGTH} letters, digits, '_', '.' or '-'"


def _alias_value(alias: str) -> str:
    if len(alias) > MAX_ALIAS_LENGTH or not _ALIAS.match(alias):
        raise ValueError(ALIAS_EXPECTED)
    return alias


def _template_key(name: str) -> str:
    if len(name) > MAX_ALIAS_LENGTH or not _ALIAS.match(name):
        raise ValueError(f"template name {quoted(name)}: {ALIAS_EXPECTED}")
    return name


_ALIAS_SCHEMA: dict[str, Any] = {"type": "string", "pattern": ALIAS_PATTERN, "maxLength": MAX_ALIAS_LENGTH}
_ADDRESS_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": ADDRESS_PATTERN,
    "maxLength": MAX_ADDRESS_LENGTH,
}

Token = Annotated[
    str,
    BeforeValidator(_token),
    WithJsonSchema(
        {
            "description": "Change it to act now (a date or ticket such as 2026-12-01 or SEC-123).",
            "anyOf": [
                {"type": "string", "pattern": TOKEN_PATTERN, "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
                {"type": "integer"},
            ],
        }
    ),
]
AliasValue = Annotated[str, AfterValidator(_alias_value), WithJsonSchema(_ALIAS_SCHEMA)]


def _one_or_more(description: str) -> Any:
    """A list of aliases (or template names) that may be written as one."""
    return Annotated[
        list[AliasValue],
        BeforeValidator(_names_as_list),
        WithJsonSchema(
            {"description": description, "anyOf": [_ALIAS_SCHEMA, {"type": "array", "items": _ALIAS_SCHEMA}]}
        ),
    ]


PreviousAliases = _one_or_more("Earlier aliases of this account (a rename): one alias or a list.")
TemplateNames = _one_or_more("Templates whose passcodes and grants this account has too: one name or a list.")
TemplateName = Annotated[str, AfterValidator(_template_key)]
RemovedAddress = Annotated[
    str,
    AfterValidator(_removed_text),
    WithJsonSchema(
        {
            "anyOf": [
                _ADDRESS_SCHEMA,
                {"type": "string", "pattern": ACCOUNT_WILDCARD_PATTERN, "maxLength": MAX_ADDRESS_LENGTH},
            ]
        }
    ),
]
PasscodeAddress = Annotated[
    str,
    AfterValidator(_passcode_address_text),
    WithJsonSchema({"type": "string", "pattern": PASSCODE_ADDRESS_PATTERN, "maxLength": MAX_ADDRESS_LENGTH}),
]
