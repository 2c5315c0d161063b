"""A one-line count of what a config declares, for `validate` and command headers."""

from __future__ import annotations

from ctconfig.config.spec import Config


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def summarize(config: Config) -> str:
    """Counts such as `1 account, 3 account passcodes, 2 user grants` (no trailing period)."""
    accounts = config.accounts.values()
    return ", ".join(
        [
            _count(len(config.accounts), "account"),
            _count(sum(len(a.account_passcodes) for a in accounts), "account passcode"),
            _count(sum(len(a.user_passcodes) for a in accounts), "user grant"),
        ]
    )


def counts(config: Config) -> dict[str, int]:
    """What `summarize` says, as numbers (for `validate --format json`)."""
    accounts = config.accounts.values()
    return {
        "accounts": len(config.accounts),
        "account_passcodes": sum(len(a.account_passcodes) for a in accounts),
        "user_grants": sum(len(a.user_passcodes) for a in accounts),
    }
