"""How `ctconfig sandbox show` presents an account: as the dashboard would, never a secret.

The text view is a pair of tables (account passcodes, users with their user
passcodes); the JSON view carries the same facts plus the count of mutating
API operations, which tests use to prove an apply changed nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ctconfig.columns import aligned
from ctconfig.domain import (
    AccountSnapshot,
    ObservedGrant,
    expiry_status,
    format_days,
    isoformat,
)
from ctconfig.sandbox.rules import MAX_ACCOUNT_PASSCODES


def _grant_as_dict(grant: ObservedGrant | None, now: datetime) -> dict[str, Any] | None:
    if grant is None:
        return None
    return {
        "validity": format_days(grant.validity_days, "infinite"),
        "status": expiry_status(grant.expires_at, now).value,
        "granted_at": isoformat(grant.granted_at),
        "expires_at": isoformat(grant.expires_at),
    }


def account_as_dict(snapshot: AccountSnapshot, mutations: int, alias: str | None) -> dict[str, Any]:
    """The account for `--format json`: names, statuses, expiries and the mutation count."""
    now = snapshot.observed_at
    return {
        "account_id": snapshot.account_id,
        "alias": alias,
        "passcode_mode": snapshot.passcode_mode,
        "observed_at": isoformat(now),
        "mutations": mutations,
        "account_passcodes": [
            {
                "id": passcode.id,
                "name": passcode.name,
                "status": expiry_status(passcode.expires_at, now).value,
                "expires_in": format_days(passcode.expires_in_days, "forever"),
                "created_at": isoformat(passcode.created_at),
                "expires_at": isoformat(passcode.expires_at),
            }
            for passcode in snapshot.passcodes
        ],
        "users": [
            {
                "email": user.email,
                "role": user.role,
                "user_passcode": _grant_as_dict(user.grant, now),
            }
            for user in snapshot.users
        ],
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "    ") -> list[str]:
    """Left-aligned columns, as wide as their widest cell."""
    return [indent + line for line in aligned([headers, *rows])]


def account_as_text(snapshot: AccountSnapshot, mutations: int, alias: str | None) -> str:
    """The account as the dashboard lists it: mode, passcodes, users and their passcodes."""
    now = snapshot.observed_at
    title = f"Account {snapshot.account_id}" + (f" ({alias})" if alias else "")
    lines = [
        title,
        f"  Passcode mode: {snapshot.passcode_mode}",
        f"  Sandbox time:  {isoformat(now)}",
        f"  API mutations: {mutations}",
        "",
        f"  Account passcodes ({len(snapshot.passcodes)} of {MAX_ACCOUNT_PASSCODES})",
    ]
    if snapshot.passcodes:
        rows = [
            [
                passcode.name,
                expiry_status(passcode.expires_at, now).value,
                isoformat(passcode.created_at) or "",
                isoformat(passcode.expires_at) or "never",
                format_days(passcode.expires_in_days, "forever"),
            ]
            for passcode in snapshot.passcodes
        ]
        lines += table(["NAME", "STATUS", "CREATED", "EXPIRES", "EXPIRY"], rows)
    else:
        lines.append("    (none)")
    lines += ["", f"  Users ({len(snapshot.users)})"]
    if snapshot.users:
        rows = []
        for user in snapshot.users:
            grant = user.grant
            if grant is None:
                rows.append([user.email, user.role, "none", "", ""])
                continue
            rows.append(
                [
                    user.email,
                    user.role,
                    expiry_status(grant.expires_at, now).value,
                    format_days(grant.validity_days, "infinite"),
                    isoformat(grant.expires_at) or "",
                ]
            )
        lines += table(["EMAIL", "ROLE", "USER PASSCODE", "VALIDITY", "EXPIRES"], rows)
    else:
        lines.append("    (none)")
    return "\n".join(lines)
