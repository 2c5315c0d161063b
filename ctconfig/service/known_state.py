"""State and sink handed to a provider that reads accounts from what ctconfig knows (the dashboard's).

`share_known_state` runs between recovery and the refresh: it turns the
recovered state into one `KnownAccount` per configured account (the passcodes
with their recorded fingerprints, the configured users with the grants state
records, the passcode mode state records — CleverTap's default `account`
before one is recorded) and gives the provider a way to read secrets back
from the sink. `with_findings` puts what the provider's checks found into
the plan: a passcode the credential check refused is drift in the words of
that check, one it could not ask about is a warning `unchecked`. Providers
that read accounts themselves are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from ctconfig.config.spec import Config
from ctconfig.domain import Address, ObservedGrant, ObservedPasscode, ObservedUser
from ctconfig.plan import Drift, Note, Plan
from ctconfig.providers.base import Provider
from ctconfig.providers.guided import FindingKind, KnownAccount, KnownPasscode, ReadsFromState
from ctconfig.redaction import remember_secret
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SecretSink
from ctconfig.state.document import (
    AccountPasscodeRecord,
    RecordType,
    SettingsRecord,
    State,
    UserPasscodeRecord,
)


def share_known_state(
    provider: Provider, config: Config, state: State, sink: SecretSink, now: datetime
) -> None:
    """Hand state and sink to a provider that reads accounts from them; others are untouched."""
    if not isinstance(provider, ReadsFromState):
        return
    by_account: dict[str, dict[Address, RecordType]] = {}
    for address, record in state.resources.items():  # one pass: state may hold 10,000 records
        by_account.setdefault(address.account, {})[address] = record
    accounts = {
        alias: known_account(config, alias, _records_of(config, alias, by_account), now)
        for alias in sorted(config.accounts)
    }
    provider.use_known_state(accounts, _reader(config, sink))


def _records_of(
    config: Config, alias: str, by_account: Mapping[str, Mapping[Address, RecordType]]
) -> dict[Address, RecordType]:
    """An account's records, with those still under an earlier alias (`previously:`, not moved yet)."""
    records = dict(by_account.get(alias, {}))
    for old in config.accounts[alias].previously:
        records.update(by_account.get(old, {}))
    return records


def known_account(
    config: Config, alias: str, records: Mapping[Address, RecordType], now: datetime
) -> KnownAccount:
    """One configured account as its state records say, judged at `now`."""
    account = config.accounts[alias]
    passcodes: list[KnownPasscode] = []
    grants: dict[str, ObservedGrant] = {}
    mode = "account"
    for address, record in sorted(records.items()):
        if isinstance(record, AccountPasscodeRecord):
            passcode = ObservedPasscode(
                record.id, record.name, record.expires_in, record.created_at, record.expires_at
            )
            fingerprint = None if record.tainted else record.secret_fingerprint
            passcodes.append(KnownPasscode(address, passcode, fingerprint, record.tainted is not None))
        elif isinstance(record, UserPasscodeRecord):
            grants[record.email] = ObservedGrant(
                record.email, record.validity, record.granted_at, record.expires_at
            )
        elif isinstance(record, SettingsRecord):
            mode = record.passcode_mode
    emails = sorted({email.lower() for email in account.user_passcodes} | set(grants))
    users = tuple(ObservedUser(email, "member", grants.get(email)) for email in emails)
    return KnownAccount(account.id, mode, now, tuple(passcodes), users)


def _reader(config: Config, sink: SecretSink) -> Callable[[Address], Secret | None]:
    ids = {alias: account.id for alias, account in config.accounts.items()}
    can_read_back = getattr(sink, "can_read_back", True)

    def read(address: Address) -> Secret | None:
        if not can_read_back or address.account not in ids:
            return None
        secret = sink.read(SecretRef(address, ids[address.account]))
        if secret is not None:
            remember_secret(secret.reveal())
        return secret

    return read


def with_findings(plan: Plan, provider: Provider) -> Plan:
    """The plan with the provider's findings: refused passcodes as drift, unchecked ones as warnings."""
    if not isinstance(provider, ReadsFromState):
        return plan
    found = provider.findings()
    if not found:
        return plan
    refused = {f.address: f.detail for f in found if f.kind is FindingKind.REJECTED}
    drift = tuple(_worded(d, refused) for d in plan.drift)
    unchecked = tuple(
        Note(str(f.address), f"unchecked: {f.detail}; whether it still works is not known")
        for f in found
        if f.kind is FindingKind.UNCHECKED
    )
    return replace(plan, drift=drift, warnings=(*plan.warnings, *unchecked))


def _worded(drift: Drift, refused: Mapping[Address, str]) -> Drift:
    detail = refused.get(drift.address)
    if detail is None or drift.after is not None:
        return drift
    return replace(drift, message=f"deleted, expired or revoked outside ctconfig ({detail})")
