"""The `dashboard` provider: a person is the transport, CleverTap's credential check the witness.

CleverTap publishes no passcode-management API, so on real accounts a person
performs each change in the dashboard. This provider plays the part of the
others for the planner and the applier:

* **Reading** (`read_account`): the dashboard cannot be listed, so an account
  is what ctconfig's state knows (`use_known_state`), checked. Every managed
  account passcode whose secret the sink gives back (and whose fingerprint is
  the one ctconfig recorded) is asked CleverTap's credential check: 200 it is
  alive; 401 it was deleted, expired or revoked outside ctconfig and is left
  out of the snapshot, so the plan reports the drift and makes it again. The
  rest are reported unchecked (`findings`), never as fine. Passcodes state
  says are expired, tainted or being retired are not asked.
* **Changing**: each operation is a conversation with the operator
  (`dashboard_session`): the steps in the dashboard's words, then a pasted
  API Key (creates; proven against *that* account before it is accepted) or
  a confirmation, itself checked where a check applies (a deleted passcode
  must now answer 401). `s` skips, `q` or Ctrl-C stops (`NotPerformedError`).
* **Ids**: the dashboard shows none. A passcode this provider creates gets
  the synthetic id `dash-` + 20 hex digits of SHA-256 over the account id,
  its name and the create's idempotency key: stable for that create (asked
  again with the same key, the same id), different for a later one of the
  same name (a rotation's new passcode never shares its predecessor's id).
* **Intents**: a create that was interrupted cannot be looked up by name;
  `settle_create` asks the operator for the key of the passcode they made
  (or hears that it was not made, or that its key is lost: tainted). Without
  an operator (a `plan` in CI) it raises, and the intent stays open.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ctconfig.config.spec import DashboardProviderConfig
from ctconfig.domain import (
    INFINITE_VALIDITY_DAYS,
    AccountSnapshot,
    AccountTarget,
    Address,
    ObservedGrant,
    ObservedPasscode,
)
from ctconfig.errors import CtconfigError, ProviderError, SecretLostError
from ctconfig.providers.base import CredentialCheck, CredentialStatus, IssuedPasscode
from ctconfig.providers.credential_check import CredentialChecker
from ctconfig.providers.dashboard_refresh import CheckedState
from ctconfig.providers.dashboard_session import GuidedSession, KeyLost
from ctconfig.providers.dashboard_steps import dashboard_url, steps_for
from ctconfig.providers.guided import Finding, KnownAccount, KnownPasscode, SecretReader
from ctconfig.providers.operator import Operator
from ctconfig.secrets import Secret

if TYPE_CHECKING:
    from ctconfig.actions import Action

NO_TERMINAL = (
    "apply with the dashboard provider is a guided session at a terminal, and stdin is not one "
    "(--auto-approve does not change that): write the steps with `ctconfig plan -o PLANFILE "
    "--format runbook`, then run `ctconfig apply PLANFILE` at a terminal"
)
Clock = Callable[[], datetime]


def synthetic_id(account_id: str, name: str, idempotency_key: str) -> str:
    """The id of a passcode made through the dashboard (which shows none); see the module notes."""
    material = f"{account_id}\n{name}\n{idempotency_key}".encode()
    return "dash-" + hashlib.sha256(material).hexdigest()[:20]


class DashboardProvider:
    """A `Provider` whose operations a person performs; see the module notes."""

    def __init__(
        self,
        config: DashboardProviderConfig,
        operator: Operator | None = None,
        *,
        checker: CredentialChecker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._checker = checker or CredentialChecker(config)
        self.stats = self._checker.stats
        self._session = GuidedSession(operator) if operator is not None else None
        self._clock = clock or (lambda: datetime.now(UTC).replace(microsecond=0))
        self._state = CheckedState(self._checker, self._clock)
        self._issued: dict[str, IssuedPasscode] = {}
        self._current: Action | None = None
        self._settling = asyncio.Lock()  # recovery settles intents concurrently: one at a time here

    # ---- what state knows, checked -------------------------------------------------------------

    def use_known_state(self, accounts: Mapping[str, KnownAccount], read_secret: SecretReader) -> None:
        """Start from what state knows of each account; `read_secret` reads the sink."""
        self._state.use(accounts, read_secret)

    def findings(self) -> Sequence[Finding]:
        """Passcodes the credential check refused, and those it could not be asked about."""
        return self._state.findings()

    async def read_account(self, target: AccountTarget) -> AccountSnapshot:
        """State's view of the account, without the passcodes CleverTap now refuses (see the notes)."""
        return await self._state.read_account(target)

    async def check_credential(self, target: AccountTarget, secret: Secret) -> CredentialCheck:
        """CleverTap's credential check (`GET /v1/connect`)."""
        return await self._checker.check(target, secret)

    def credential_check_url(self, target: AccountTarget) -> str:
        """Where credential checks are asked, for reports."""
        return self._checker.url(target)

    # ---- the guided session ---------------------------------------------------------------------

    def check_can_apply(self) -> None:
        """No operator, no apply: one line pointing to the runbook."""
        if self._session is None:
            raise CtconfigError(NO_TERMINAL)

    async def begin_action(self, action: Action, number: int, total: int) -> None:
        """Show the action's dashboard steps; its operations then ask the operator."""
        session = self._operator_session()
        self._current = action
        alias = action.address.account
        known = self._state.account(alias)
        account_id = known.account_id if known is not None else ""
        where = f"account {alias} ({account_id})" if account_id else f"account {alias}"
        heading = f"Step {number} of {total} - {where} - {action.address}"
        session.announce(heading, steps_for(action, account_id))

    def _operator_session(self) -> GuidedSession:
        if self._session is None:
            raise ProviderError(NO_TERMINAL)
        return self._session

    # ---- account passcodes ------------------------------------------------------------------------

    async def create_passcode(
        self,
        target: AccountTarget,
        name: str,
        expires_in_days: int | None,
        *,
        idempotency_key: str | None = None,
    ) -> IssuedPasscode:
        """The operator creates it and pastes its API Key; asked again with the same key, the same answer."""
        key = idempotency_key or uuid.uuid4().hex
        if key in self._issued:
            return self._issued[key]
        session = self._operator_session()
        passcode = self._new_passcode(target, name, expires_in_days, key)
        try:
            secret = await session.take_key(name, self._prover(target), twice=self._unprovable(target))
        except KeyLost as lost:
            raise self._lost(target, passcode, str(lost)) from None
        return self._issue(target, key, passcode, secret)

    async def settle_create(
        self, target: AccountTarget, name: str, expires_in_days: int | None, *, idempotency_key: str
    ) -> IssuedPasscode | None:
        """An interrupted create: ask the operator for the key of the passcode they made, if they did."""
        if idempotency_key in self._issued:
            return self._issued[idempotency_key]
        if self._session is None:
            raise ProviderError(
                f"whether {name!r} was created in the dashboard can only be told by the operator: "
                "run `ctconfig apply` at a terminal"
            )
        async with self._settling:
            return await self._ask_about_create(self._session, target, name, expires_in_days, idempotency_key)

    async def _ask_about_create(
        self,
        session: GuidedSession,
        target: AccountTarget,
        name: str,
        expires_in_days: int | None,
        idempotency_key: str,
    ) -> IssuedPasscode | None:
        expiry = "forever" if expires_in_days is None else f"{expires_in_days} day(s)"
        session.say(
            f"\nAn interrupted session was creating account passcode {name} in account "
            f"{target.alias} ({target.account_id}), expiring {expiry}. "
            f"Check the dashboard ({dashboard_url(target.account_id, target.region)}): Settings > Passcodes."
        )
        passcode = self._new_passcode(target, name, expires_in_days, idempotency_key)
        try:
            secret = await session.take_lost_key(name, self._prover(target), twice=self._unprovable(target))
        except KeyLost as lost:
            raise self._lost(target, passcode, str(lost)) from None
        if secret is None:
            return None
        return self._issue(target, idempotency_key, passcode, secret)

    def _new_passcode(
        self, target: AccountTarget, name: str, expires_in_days: int | None, key: str
    ) -> ObservedPasscode:
        now = self._clock()
        expires_at = None if expires_in_days is None else now + timedelta(days=expires_in_days)
        return ObservedPasscode(
            synthetic_id(target.account_id, name, key), name, expires_in_days, now, expires_at
        )

    def _issue(
        self, target: AccountTarget, key: str, passcode: ObservedPasscode, secret: Secret
    ) -> IssuedPasscode:
        issued = IssuedPasscode(passcode, secret)
        self._issued[key] = issued
        address = Address.account_passcode(target.alias, passcode.name)
        self._state.remember(target.alias, KnownPasscode(address, passcode, secret.fingerprint()))
        self._operator_session().say(
            f"Accepted: the API Key of {passcode.name} authenticates ({secret.fingerprint()})."
        )
        return issued

    def _lost(self, target: AccountTarget, passcode: ObservedPasscode, why: str) -> SecretLostError:
        """A passcode made without its key: recorded tainted, so the next plan rotates it."""
        self._operator_session().say(
            f"{passcode.name} is recorded tainted: the next plan replaces it (deletes it, "
            "then makes a new one for you to paste)."
        )
        return SecretLostError(f"account `{target.alias}`: {why}", passcode)

    def _unprovable(self, target: AccountTarget) -> bool:
        """In user-passcode mode CleverTap refuses every account passcode: ask for the key twice instead."""
        known = self._state.account(target.alias)
        return known is not None and known.passcode_mode == "user"

    def _prover(self, target: AccountTarget) -> Callable[[Secret], Awaitable[str | None]]:
        async def prove(secret: Secret) -> str | None:
            owner = self._state.owner_of(target.alias, secret)
            if owner is not None:
                return f"that is the API Key of {owner}, not of the new passcode"
            if self._unprovable(target):
                return None
            try:
                check = await self._checker.check(target, secret)
            except ProviderError as exc:
                return f"the credential check could not be made ({exc}); paste it again to retry"
            if check.status is CredentialStatus.VALID:
                return None
            return (
                f"CleverTap's credential check does not accept it for account {target.account_id} "
                f"({check.detail}): it was mistyped, or it is another account's key"
            )

        return prove

    async def update_passcode(
        self, target: AccountTarget, passcode_id: str, *, name: str, expires_in_days: int | None
    ) -> ObservedPasscode:
        """The operator edits it (Edit icon > Update); its key must still authenticate, if it can be read."""
        session = self._operator_session()
        known = self._state.passcode(target.alias, passcode_id)
        await session.confirm(
            _edit_words(known, name, expires_in_days), self._expect(target, known, alive=True)
        )
        created = known.passcode.created_at if known is not None else self._clock()
        expires_at = None if expires_in_days is None else created + timedelta(days=expires_in_days)
        updated = ObservedPasscode(passcode_id, name, expires_in_days, created, expires_at)
        if known is not None:
            self._state.remember(target.alias, replace(known, passcode=updated))
        return updated

    async def delete_passcode(self, target: AccountTarget, passcode_id: str) -> None:
        """The operator deletes it (Delete icon); its key must now be refused (401), where it can be read."""
        session = self._operator_session()
        known = self._state.passcode(target.alias, passcode_id)
        name = known.passcode.name if known is not None else self._current_name()
        await session.confirm(f"Deleted {name}", self._expect(target, known, alive=False))
        self._state.forget(target.alias, passcode_id)

    def _current_name(self) -> str:
        action = self._current
        return action.address.name if action is not None else "the passcode"

    def _expect(
        self, target: AccountTarget, known: KnownPasscode | None, *, alive: bool
    ) -> Callable[[], Awaitable[str | None]] | None:
        """A check that the passcode's key is (or is no longer) accepted; None when it cannot be made."""
        if known is None or self._unprovable(target):
            return None
        secret, why = self._state.secret_of(known)
        if secret is None:
            self._operator_session().say(f"(Not checked afterwards: {why}.)")
            return None
        name = known.passcode.name

        async def check() -> str | None:
            verdict = await self._checker.check(target, secret)
            if alive and verdict.status is not CredentialStatus.VALID:
                return f"the API Key of {name} no longer authenticates ({verdict.detail}); was it deleted?"
            if not alive and verdict.status is not CredentialStatus.REJECTED:
                return f"the API Key of {name} still authenticates: it is not deleted yet"
            return None

        return check

    # ---- user passcodes and the passcode mode ------------------------------------------------------

    async def grant_user_passcode(
        self, target: AccountTarget, email: str, validity_days: int | None
    ) -> ObservedGrant:
        """Settings > Users > the user > Grant; the secret is the user's, so there is nothing to check."""
        await self._operator_session().confirm(f"Granted {email} a user passcode", None)
        return self._grant(email, validity_days)

    async def reset_user_passcode(self, target: AccountTarget, email: str) -> ObservedGrant:
        """Settings > Users > the user > Reset: a fresh secret (the user's), validity restarted."""
        await self._operator_session().confirm(f"Reset the user passcode of {email}", None)
        known = self._state.account(target.alias)
        user = next((u for u in known.users if u.email == email.lower()), None) if known else None
        validity = user.grant.validity_days if user is not None and user.grant is not None else None
        return self._grant(email, validity)

    async def revoke_user_passcode(self, target: AccountTarget, email: str) -> None:
        """Settings > Users > the user > Revoke."""
        await self._operator_session().confirm(f"Revoked the user passcode of {email}", None)

    def _grant(self, email: str, validity_days: int | None) -> ObservedGrant:
        now = self._clock()
        days = INFINITE_VALIDITY_DAYS if validity_days is None else validity_days
        return ObservedGrant(email.lower(), validity_days, now, now + timedelta(days=days))

    async def set_passcode_mode(self, target: AccountTarget, mode: str) -> None:
        """Turn enforcing user passcodes on or off; an account passcode's key then fails or works."""
        enforced = mode == "user"
        what = "Turned on enforcing user passcodes" if enforced else "Turned off enforcing user passcodes"
        await self._operator_session().confirm(what, self._mode_check(target, enforced))
        known = self._state.account(target.alias)
        if known is not None:
            self._state.set_account(target.alias, replace(known, passcode_mode=mode))

    def _mode_check(
        self, target: AccountTarget, enforced: bool
    ) -> Callable[[], Awaitable[str | None]] | None:
        """One account passcode whose key the sink gives back: refused once user passcodes are enforced."""
        for known in self._state.in_account(target.alias):
            if known.tainted or known.fingerprint is None:
                continue
            secret, _ = self._state.secret_of(known)
            if secret is not None:
                return self._mode_probe(target, known.passcode.name, secret, enforced)
        return None

    def _mode_probe(
        self, target: AccountTarget, name: str, secret: Secret, enforced: bool
    ) -> Callable[[], Awaitable[str | None]]:
        async def check() -> str | None:
            accepted = (await self._checker.check(target, secret)).status is CredentialStatus.VALID
            if enforced and accepted:
                return f"the account passcode {name} still authenticates: user passcodes are not enforced yet"
            if not enforced and not accepted:
                return f"the account passcode {name} is still refused: user passcodes are still enforced"
            return None

        return check

    async def aclose(self) -> None:
        """Close the credential check's connections."""
        await self._checker.aclose()


def _edit_words(known: KnownPasscode | None, name: str, expires_in_days: int | None) -> str:
    """`Renamed a to b`, `Set the expiry of a to 30 day(s)`, or both."""
    current = known.passcode.name if known is not None else name
    expiry = "Forever" if expires_in_days is None else f"{expires_in_days} day(s)"
    renamed = f"Renamed {current} to {name}" if name != current else ""
    if known is not None and known.passcode.expires_in_days == expires_in_days and renamed:
        return renamed
    if renamed:
        return f"{renamed} and set its expiry to {expiry}"
    return f"Set the expiry of {current} to {expiry}"
