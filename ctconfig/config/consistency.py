"""Rules that tie sections together, so `validate` refuses what `plan` would refuse before reading.

* the `clevertap` provider reaches every account with its admin passcode: each account
  needs `credentials.passcode_env`;
* `state.username_env` and `state.password_env` (http backend) go together;
* two account passcodes may never share a slot of the secret sink (`secret_slots.py`), and every
  name must be one the sink can hold:
  the second secret would overwrite the first.
"""

from __future__ import annotations

from typing import Any

from ctconfig.config.errors import Problem, quoted
from ctconfig.config.spec import SECTION_TAGS, Config
from ctconfig.config.types import url_problem
from ctconfig.config.yamltree import KeyPath, SourceMap
from ctconfig.domain import Address

_SINK_WORDS = {
    "file": "file sink's path",
    "env-file": "env-file sink's variable",
    "command": "command sink's name",
}


def section_rules(data: Any, sources: SourceMap) -> list[tuple[KeyPath, Problem]]:
    """Cross-section problems in the raw data, as (data path, located problem)."""
    if not isinstance(data, dict):
        return []
    return _credentials_for_clevertap(data, sources) + _http_credentials(data, sources) + _urls(data, sources)


_URL_KEYS = {
    ("state", "http"): ("address", "lock_address", "unlock_address"),
    ("state", "s3"): ("endpoint_url",),
    ("provider", "clevertap"): ("base_url",),
    ("provider", "dashboard"): ("base_url",),
}


def _urls(data: dict[str, Any], sources: SourceMap) -> list[tuple[KeyPath, Problem]]:
    """The URLs ctconfig will call: http(s), a host, no credentials (their values are not echoed)."""
    found: list[tuple[KeyPath, Problem]] = []
    for (section, variant), keys in _URL_KEYS.items():
        value = data.get(section)
        if not isinstance(value, dict) or value.get(SECTION_TAGS[section][0]) != variant:
            continue
        for key in keys:
            url = value.get(key)
            if not isinstance(url, str):  # missing, or another type: the model says so
                continue
            problem = url_problem(url)
            if problem is not None:
                here: KeyPath = (section, key)
                shown = _shown(url, sources.written_at(here))
                found.append((here, sources.value_at(here).problem(f"{key}: {problem}{shown}")))
    return found


def _shown(url: str, written: str | None) -> str:
    """The URL as the file wrote it: never a value interpolated from the environment, never credentials."""
    if written is not None:
        return f", got {quoted(written)} (after interpolation)"
    if "@" in url:
        return " (the value is not shown: it holds credentials)"
    return f", got {quoted(url)}"


def _credentials_for_clevertap(data: dict[str, Any], sources: SourceMap) -> list[tuple[KeyPath, Problem]]:
    provider = data.get("provider")
    accounts = data.get("accounts")
    clevertap = isinstance(provider, dict) and provider.get("kind") == "clevertap"
    if not (clevertap and isinstance(accounts, dict)):
        return []
    found: list[tuple[KeyPath, Problem]] = []
    for alias, account in accounts.items():
        if not isinstance(account, dict) or account.get("credentials") is not None:
            continue
        here: KeyPath = ("accounts", alias)
        message = (
            f"account {alias!r} has no credentials: the clevertap provider needs "
            "credentials: {passcode_env: NAME} naming the variable that holds its admin passcode"
        )
        found.append((here, sources.key_at(here).problem(message)))
    return found


def _http_credentials(data: dict[str, Any], sources: SourceMap) -> list[tuple[KeyPath, Problem]]:
    state = data.get("state")
    if not isinstance(state, dict) or state.get("backend") != "http":
        return []
    present = [key for key in ("username_env", "password_env") if state.get(key) is not None]
    if len(present) != 1:
        return []
    other = "password_env" if present[0] == "username_env" else "username_env"
    here: KeyPath = ("state", present[0])
    message = f"{present[0]}: expected {other} too; the http backend sends both or neither"
    return [(here, sources.key_at(here).problem(message))]


def shared_slots(config: Config, sources: SourceMap) -> list[Problem]:
    """Account passcodes whose secrets the configured sink would keep in one place, or cannot hold."""
    from ctconfig.secret_slots import collisions  # only when valid so far
    from ctconfig.secret_slots import problems as unholdable

    addresses = [
        Address.account_passcode(alias, name)
        for alias, account in config.accounts.items()
        for name in account.account_passcodes
    ]
    sink = _SINK_WORDS.get(config.secrets.sink, f"{config.secrets.sink} sink's slot")
    problems: list[Problem] = [
        sources.key_at(_path_of(address)).problem(
            f"{why}; expected a name the {config.secrets.sink} sink can hold"
        )
        for address, why in unholdable(config.secrets, addresses)
    ]
    for first, second, slot in collisions(config.secrets, addresses):
        if first.account == second.account and first.name.casefold() == second.name.casefold():
            continue  # the same name twice: `rules.py` reports it as a duplicate
        first_at = sources.key_at(_path_of(first))
        message = (
            f"account passcode {second.name!r} of account {second.account!r} would share the {sink} "
            f"{slot!r} with {first.name!r} of account {first.account!r} at {first_at}; "
            "expected names that keep their secrets apart"
        )
        problems.append(sources.key_at(_path_of(second)).problem(message))
    return problems


def _path_of(address: Address) -> KeyPath:
    return ("accounts", address.account, "account_passcodes", address.name)
