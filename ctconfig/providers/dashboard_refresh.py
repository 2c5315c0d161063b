"""What the dashboard provider knows of each account: state's records, checked with CleverTap.

The dashboard cannot be listed, so an account is what ctconfig's state knows,
kept current through the session (a rename, a new passcode, a delete). A
refresh asks CleverTap's credential check about every managed account
passcode whose secret the sink gives back with the fingerprint ctconfig
recorded: 200 alive; 401 deleted, expired or revoked outside ctconfig (left
out of the snapshot, so the plan shows the drift); anything that could not be
asked is a finding `unchecked`, never fine. Passcodes state says are expired,
tainted or being retired, or whose secret ctconfig never held, are not asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from ctconfig.domain import RETIRING_MARK, AccountSnapshot, AccountTarget, Address, ObservedUser
from ctconfig.errors import CtconfigError
from ctconfig.providers.base import CredentialStatus
from ctconfig.providers.credential_check import CredentialChecker
from ctconfig.providers.guided import Finding, FindingKind, KnownAccount, KnownPasscode, SecretReader
from ctconfig.redaction import remember_secret
from ctconfig.secrets import Secret

USER_MODE = (
    "user passcodes are enforced in this account, so CleverTap's credential check refuses account passcodes"
)


class CheckedState:
    """Each account as state knows it, what the last refresh found, and the passcodes by id."""

    def __init__(self, checker: CredentialChecker, clock: Callable[[], datetime]) -> None:
        self._checker = checker
        self._clock = clock
        self._accounts: dict[str, KnownAccount] = {}
        self._passcodes: dict[tuple[str, str], KnownPasscode] = {}
        self._read_secret: SecretReader = lambda address: None
        self._findings: dict[Address, Finding] = {}

    def use(self, accounts: Mapping[str, KnownAccount], read_secret: SecretReader) -> None:
        """Start from what state knows of each account (by alias)."""
        self._accounts = dict(accounts)
        self._passcodes = {
            (alias, known.passcode.id): known
            for alias, account in accounts.items()
            for known in account.passcodes
        }
        self._read_secret = read_secret
        self._findings = {}

    def findings(self) -> Sequence[Finding]:
        """What the refreshes since `use` found, in address order."""
        return [self._findings[address] for address in sorted(self._findings)]

    def account(self, alias: str) -> KnownAccount | None:
        """What state knows of one account (None before `use`, or for an account state never saw)."""
        return self._accounts.get(alias)

    def set_account(self, alias: str, account: KnownAccount) -> None:
        """Record a change the operator made to the account as a whole (its passcode mode)."""
        self._accounts[alias] = account

    def passcode(self, alias: str, passcode_id: str) -> KnownPasscode | None:
        """A managed passcode by its (remote or synthetic) id."""
        return self._passcodes.get((alias, passcode_id))

    def remember(self, alias: str, known: KnownPasscode) -> None:
        """A passcode made or edited in this session."""
        self._passcodes[(alias, known.passcode.id)] = known

    def forget(self, alias: str, passcode_id: str) -> None:
        """A passcode deleted in this session."""
        self._passcodes.pop((alias, passcode_id), None)

    def in_account(self, alias: str) -> list[KnownPasscode]:
        """The passcodes known in one account, by id."""
        return [known for (owner, _), known in sorted(self._passcodes.items()) if owner == alias]

    def owner_of(self, alias: str, secret: Secret) -> str | None:
        """The name of the passcode in this account whose recorded fingerprint is this secret's, if any."""
        return next((k.passcode.name for k in self.in_account(alias) if secret.matches(k.fingerprint)), None)

    def secret_of(self, known: KnownPasscode) -> tuple[Secret | None, str]:
        """The passcode's own secret from the sink (its fingerprint must be the recorded one), or why not."""
        try:
            secret = self._read_secret(known.address)
        except CtconfigError as exc:
            return None, f"the secret sink could not give its secret back ({exc})"
        if secret is None:
            return None, "the secret sink cannot give its secret back"
        remember_secret(secret.reveal())
        if not secret.matches(known.fingerprint):
            return None, "the secret sink holds another secret than the one ctconfig delivered"
        return secret, ""

    async def read_account(self, target: AccountTarget) -> AccountSnapshot:
        """State's view of the account, without the passcodes CleverTap now refuses."""
        known = self._accounts.get(target.alias) or KnownAccount(
            target.account_id,
            "account",
            self._clock(),
            users=tuple(ObservedUser(email, "member") for email in target.users),
        )
        verdicts = await asyncio.gather(*(self._verdict(target, known, p) for p in known.passcodes))
        kept = []
        for passcode, verdict in zip(known.passcodes, verdicts, strict=True):
            if verdict is not None:
                self._findings[passcode.address] = verdict
            if verdict is None or verdict.kind is not FindingKind.REJECTED:
                kept.append(passcode.passcode)
        return AccountSnapshot(
            target.account_id, known.passcode_mode, known.observed_at, tuple(kept), known.users
        )

    async def _verdict(self, target: AccountTarget, known: KnownAccount, p: KnownPasscode) -> Finding | None:
        """None: alive, or not ctconfig's to check (expired, tainted, retiring, secret never held)."""
        expires_at = p.passcode.expires_at
        if p.tainted or p.fingerprint is None or RETIRING_MARK in p.passcode.name:
            return None
        if expires_at is not None and expires_at <= known.observed_at:
            return None
        if known.passcode_mode == "user":
            return Finding(p.address, FindingKind.UNCHECKED, USER_MODE)
        secret, why = self.secret_of(p)
        if secret is None:
            return Finding(p.address, FindingKind.UNCHECKED, why)
        check = await self._checker.check(target, secret)
        if check.status is CredentialStatus.VALID:
            return None
        kind = FindingKind.REJECTED if check.status is CredentialStatus.REJECTED else FindingKind.UNCHECKED
        return Finding(p.address, kind, f"the credential check answered {check.detail}")
