"""Domain rules that compare entries, checked on the raw data so they run even when other
parts of the config are wrong: limits, case-insensitive duplicates, account ids across
accounts, and literal secrets (which are refused wherever they appear)."""

from __future__ import annotations

from typing import Any

from ctconfig.config.errors import Problem, quoted
from ctconfig.config.yamltree import KeyPath, SourceMap
from ctconfig.domain import MAX_ACCOUNT_PASSCODES

LITERAL_SECRET = "literal secret refused; put it in an environment variable and use passcode_env"
_NAME_MAPS = ("account_passcodes", "user_passcodes")


def _is_name(path: KeyPath) -> bool:
    """Keys that are passcode names or emails, where 'passcode' is just a name."""
    return len(path) == 4 and path[0] in ("accounts", "templates") and path[2] in _NAME_MAPS


def literal_secrets(value: Any, path: KeyPath, sources: SourceMap) -> list[tuple[KeyPath, Problem]]:
    """Every literal secret in the raw data: a `passcode:` key, or credentials other than passcode_env."""
    found: list[tuple[KeyPath, Problem]] = []
    _find_literal_secrets(value, path, sources, found)
    return found


def _find_literal_secrets(
    value: Any, path: KeyPath, sources: SourceMap, found: list[tuple[KeyPath, Problem]]
) -> None:
    """Into `found`; only mappings and lists are descended into (a 1 MB config holds 70,000 scalars)."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                _find_literal_secrets(item, (*path, index), sources, found)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key.lower() == "passcode" and not _is_name((*path, key)):
            here = (*path, key)
            found.append((here, sources.key_at(here).problem(f"'{key}': {LITERAL_SECRET}")))
        elif key == "credentials" and len(path) == 2 and path[0] == "accounts":
            found += _credentials(item, (*path, key), sources)
        elif isinstance(item, dict | list):
            _find_literal_secrets(item, (*path, key), sources, found)


def _credentials(value: Any, path: KeyPath, sources: SourceMap) -> list[tuple[KeyPath, Problem]]:
    if isinstance(value, dict):
        return [
            ((*path, key), sources.key_at((*path, key)).problem(f"credentials.{key}: {LITERAL_SECRET}"))
            for key in value
            if key != "passcode_env"
        ]
    if value is None:
        return []
    return [(path, sources.value_at(path).problem(f"credentials: {LITERAL_SECRET}"))]


def _duplicates(
    names: dict[str, Any], path: KeyPath, what: str, sources: SourceMap
) -> list[tuple[KeyPath, Problem]]:
    found: list[tuple[KeyPath, Problem]] = []
    first_of: dict[str, str] = {}
    for name in names:
        folded = name.casefold()
        if folded in first_of:
            first = sources.key_at((*path, first_of[folded]))
            message = (
                f"{what} {quoted(name)} repeats {quoted(first_of[folded])} (case-insensitive); "
                f"first defined at {first}"
            )
            found.append(((*path, name), sources.key_at((*path, name)).problem(message)))
        else:
            first_of[folded] = name
    return found


def _account(
    alias: str, account: dict[str, Any], sources: SourceMap, section: str = "accounts"
) -> list[tuple[KeyPath, Problem]]:
    """An account's (or template's) passcodes and grants: the limit, names repeated in another case."""
    found: list[tuple[KeyPath, Problem]] = []
    passcodes = account.get("account_passcodes")
    if isinstance(passcodes, dict):
        here: KeyPath = (section, alias, "account_passcodes")
        if len(passcodes) > MAX_ACCOUNT_PASSCODES:
            found.append(
                (
                    here,
                    sources.key_at(here).problem(
                        f"account_passcodes: expected at most {MAX_ACCOUNT_PASSCODES} account passcodes "
                        f"per account, got {len(passcodes)}"
                    ),
                )
            )
        found += _duplicates(passcodes, here, "account passcode", sources)
    users = account.get("user_passcodes")
    if isinstance(users, dict):
        found += _duplicates(users, (section, alias, "user_passcodes"), "user", sources)
    return found


def check_rules(data: Any, sources: SourceMap) -> list[tuple[KeyPath, Problem]]:
    """Every cross-entry rule violation in the raw data, as (data path, located problem)."""
    found: list[tuple[KeyPath, Problem]] = []
    templates = data.get("templates") if isinstance(data, dict) else None
    if isinstance(templates, dict):
        for name, template in templates.items():
            if isinstance(template, dict):
                found += _account(name, template, sources, "templates")
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, dict):
        return found
    owner_of_id: dict[str, str] = {}
    for alias, account in accounts.items():
        if not isinstance(account, dict):
            continue
        found += _account(alias, account, sources)
        account_id = account.get("id")
        if not isinstance(account_id, str):
            continue
        if account_id in owner_of_id:
            here: KeyPath = ("accounts", alias, "id")
            other = owner_of_id[account_id]
            message = (
                f"id: account id {quoted(account_id)} is already used by account {quoted(other)} "
                f"at {sources.value_at(('accounts', other, 'id'))}; expected each id once"
            )
            found.append((here, sources.value_at(here).problem(message)))
        else:
            owner_of_id[account_id] = alias
    return found
