"""Export: write accounts as they are into a valid config. Pure: snapshots in, YAML text out.

Round trip: a plan against the exported config (with the same state) shows no
changes, because refresh adopts every exported passcode and grant by name; and the
YAML reads back as exactly the data written. Names come from the accounts (made by
hand in the dashboard, or by a hostile server): a name a config cannot hold (a line
break, a control or invisible character) is not exported but listed in a comment,
and every name in a comment is made visible, so no name can end a comment and
write config keys of its own.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from ctconfig.config.spec import Config
from ctconfig.config.types import check_passcode_name, is_email
from ctconfig.domain import RETIRING_MARK, AccountSnapshot, format_days
from ctconfig.visible import visible

SCHEMA_COMMENT = "# yaml-language-server: $schema=ctconfig.schema.json"


def passcode_env_placeholder(alias: str) -> str:
    """`CT_PROD_PASSCODE`: where the exported config expects the admin passcode."""
    return "CT_" + re.sub(r"[^A-Z0-9]", "_", alias.upper()) + "_PASSCODE"


def export_config(config: Config, snapshots: Mapping[str, AccountSnapshot]) -> str:
    """A config document describing `snapshots` (alias → account), keeping the config's other sections."""
    doc = CommentedMap()
    doc["version"] = 1
    for section in ("state", "provider", "secrets"):
        doc[section] = getattr(config, section).model_dump(mode="json", by_alias=True)
    doc["defaults"] = config.defaults.model_dump(mode="json", exclude={"rotation_overlap"})
    accounts = CommentedMap()
    for alias, snapshot in sorted(snapshots.items()):
        accounts[alias] = _account(config, alias, snapshot)
    doc["accounts"] = accounts
    out = io.StringIO()
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.dump(doc, out)
    header = [
        SCHEMA_COMMENT,
        "# Exported by `ctconfig export`: the accounts as they were when read.",
        "# Credentials are env var names (placeholders): set them before plan/apply.",
    ]
    return "\n".join(header) + "\n" + out.getvalue()


def _account(config: Config, alias: str, snapshot: AccountSnapshot) -> CommentedMap:
    current = config.accounts.get(alias)
    account = CommentedMap()
    account["id"] = snapshot.account_id
    account["region"] = config.region_of(alias) if current else config.defaults.region
    env = (
        current.credentials.passcode_env
        if current and current.credentials
        else passcode_env_placeholder(alias)
    )
    account["credentials"] = {"passcode_env": env}
    account["passcode_mode"] = snapshot.passcode_mode
    passcodes = CommentedMap()
    retiring, unnameable = [], []
    for passcode in sorted(snapshot.passcodes, key=lambda p: p.name.casefold()):
        if RETIRING_MARK in passcode.name:
            retiring.append(passcode.name)
        elif not _nameable(passcode.name):
            unnameable.append(passcode.name)
        else:
            passcodes[passcode.name] = {"expires_in": format_days(passcode.expires_in_days, "forever")}
    account["account_passcodes"] = passcodes
    _comment(
        account,
        "account_passcodes",
        [
            ("rotated out, deleted by ctconfig later", retiring),
            ("not exported, a config cannot name them", unnameable),
        ],
    )
    grants: dict[str, Any] = {}
    strangers = []
    for user in sorted(snapshot.users, key=lambda u: u.email):
        if user.grant is None:
            continue
        if is_email(user.email) and _writable(user.email):
            grants[user.email] = {"validity": format_days(user.grant.validity_days, "infinite")}
        else:
            strangers.append(user.email)
    account["user_passcodes"] = grants
    _comment(account, "user_passcodes", [("not exported, not an email address a config can name", strangers)])
    return account


def _nameable(name: str) -> bool:
    """Whether a config can hold this passcode name (and a UTF-8 file can hold the config)."""
    try:
        check_passcode_name(name)
    except ValueError:
        return False
    return _writable(name)


def _writable(text: str) -> bool:
    """Whether a UTF-8 file can hold `text` (a lone surrogate from a server's JSON cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _comment(account: CommentedMap, key: str, lists: list[tuple[str, list[str]]]) -> None:
    """`# words: a, b` lines above `key`, each name made visible: a line break in one cannot end it."""
    lines = [f"{words}: " + ", ".join(visible(n, 100) for n in names) for words, names in lists if names]
    if lines:
        account.yaml_set_comment_before_after_key(key, before="\n".join(lines), indent=4)
