"""Export: write accounts as they are into a valid config. Pure: snapshots in, YAML text out.

Round trip: a plan against the exported config (with the same state) shows no
changes, because refresh adopts every exported passcode and grant by name.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from ctconfig.config.spec import Config
from ctconfig.domain import RETIRING_MARK, AccountSnapshot, format_days

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
    skipped = []
    for passcode in sorted(snapshot.passcodes, key=lambda p: p.name.casefold()):
        if RETIRING_MARK in passcode.name:
            skipped.append(passcode.name)
            continue
        passcodes[passcode.name] = {"expires_in": format_days(passcode.expires_in_days, "forever")}
    account["account_passcodes"] = passcodes
    if skipped:
        account.yaml_set_comment_before_after_key(
            "account_passcodes",
            before="rotated out, deleted by ctconfig later: " + ", ".join(skipped),
            indent=4,
        )
    grants: dict[str, Any] = {}
    for user in sorted(snapshot.users, key=lambda u: u.email):
        if user.grant is not None:
            grants[user.email] = {"validity": format_days(user.grant.validity_days, "infinite")}
    account["user_passcodes"] = grants
    return account
