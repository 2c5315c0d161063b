"""Words for places in the config: what a mapping is called and which keys it accepts."""

from __future__ import annotations

import difflib
from typing import Any, get_args

from pydantic import BaseModel

from ctconfig.config.errors import quoted
from ctconfig.config.spec import (
    SECTION_TAGS,
    Account,
    AccountPasscodeSpec,
    Config,
    Credentials,
    Defaults,
    ProviderConfig,
    Safety,
    SecretsConfig,
    StateConfig,
    Template,
    UserPasscodeSpec,
)
from ctconfig.config.yamltree import KeyPath

_VARIANTS = {"state": StateConfig, "provider": ProviderConfig, "secrets": SecretsConfig}
_PLAIN_SECTIONS: dict[str, type[BaseModel]] = {"defaults": Defaults, "safety": Safety}


def variants_of(section: str) -> dict[str, type[BaseModel]]:
    """The models a section may take, by the value of its tag key (`backend`, `kind`, `sink`)."""
    tag = SECTION_TAGS[section][0]
    union = get_args(_VARIANTS[section])[0]
    return {get_args(model.model_fields[tag].annotation)[0]: model for model in get_args(union)}


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts, as the user writes them (aliases included)."""
    return [info.alias or name for name, info in model.model_fields.items()]


def model_at(path: KeyPath, data: Any) -> type[BaseModel] | None:
    """Which model validates the mapping at `path`, given the raw data (for its variant tag)."""
    match path:
        case ():
            return Config
        case (str(section),) if section in _PLAIN_SECTIONS:
            return _PLAIN_SECTIONS[section]
        case (str(section),) if section in SECTION_TAGS:
            tag, default = SECTION_TAGS[section]
            value = data.get(section) if isinstance(data, dict) else None
            chosen = value.get(tag, default) if isinstance(value, dict) else default
            return variants_of(section).get(chosen)
        case ("accounts", str()):
            return Account
        case ("accounts", str(), "credentials"):
            return Credentials
        case ("templates", str()):
            return Template
        case ("accounts" | "templates", str(), "account_passcodes", str()):
            return AccountPasscodeSpec
        case ("accounts" | "templates", str(), "user_passcodes", str()):
            return UserPasscodeSpec
    return None


def place(path: KeyPath) -> str:
    """A mapping's name in a message: "account 'prod'", "the top level", ..."""
    match path:
        case ():
            return "the top level"
        case ("accounts", str(alias)):
            return f"account {quoted(alias)}"
        case ("accounts", str(alias), "account_passcodes", str(name)):
            return f"account passcode {quoted(name)} of account {quoted(alias)}"
        case ("accounts", str(alias), "user_passcodes", str(email)):
            return f"user passcode {quoted(email)} of account {quoted(alias)}"
        case ("accounts", str(alias), str(key)):
            return f"{key} of account {quoted(alias)}"
        case ("templates", str(name)):
            return f"template {quoted(name)}"
        case ("templates", str(name), "account_passcodes", str(passcode)):
            return f"account passcode {quoted(passcode)} of template {quoted(name)}"
        case ("templates", str(name), "user_passcodes", str(email)):
            return f"user passcode {quoted(email)} of template {quoted(name)}"
    return label(path)


def label(path: KeyPath) -> str:
    """The name a value goes by in a message: its key, or `key[index]` for list items."""
    if not path:
        return "the document"
    last = path[-1]
    if isinstance(last, int):
        return f"{label(path[:-1])}[{last}]"
    plain = last.isprintable() and last.strip() == last and last and len(last) <= 80
    return last if plain else quoted(last)


def suggestion(key: str, known: list[str]) -> str:
    """A "did you mean" hint when a known key is close, else the list of accepted keys."""
    folded = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key[:100].lower(), list(folded), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {folded[close[0]]!r}?"
    if not known:
        return ""
    return "; expected one of " + ", ".join(repr(k) for k in known)


def format_value(value: Any) -> str:
    """A found value as YAML would show it, short: 'text', 90, true, null, a list, a mapping."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return quoted(value, 60)
    return str(value)
