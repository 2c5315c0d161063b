"""`ctconfig check`: the nightly question "is all well?", answered by reading only.

It plans as `plan` does without taking the lock or writing anything (no state
version, no journal settled), then lists every finding, one per line:

- `error`: the plan cannot be applied (a protected resource would be deleted, …);
- `expired`: a managed passcode (or user passcode) past its expiry: calls with it fail;
- `drift`: a managed resource changed outside ctconfig (deleted, renamed, edited);
- `missing`: a secret the sink should give back and does not (or a different one);
- `unmanaged`: in an account whose `unmanaged` is `warn` or `delete`, something the
  config does not declare;
- `expiring`: inside its warning window with no `rotate_before`/`reset_before` to
  renew it, so someone has to;
- `due`: a change main's config asks for and no apply has made yet — a rotation or
  reset whose time has come, or a merged change not applied;
- `journal`: an interrupted apply left creates that could not be settled.

No findings means all is well: the accounts match main, nothing is expired or about
to be without a plan for it, and every secret is where it should be.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ctconfig.actions import Action, ActionKind
from ctconfig.config.spec import Config
from ctconfig.domain import (
    RETIRING_MARK,
    AccountSnapshot,
    Address,
    PasscodeStatus,
    expiry_status,
    moment_text,
    warning_days,
)
from ctconfig.findings import KINDS, CheckReport, Finding
from ctconfig.plan import Plan
from ctconfig.planner.common import days_until, expiry_words
from ctconfig.service.planning import PlanRequest, Prepared, prepare, run_async
from ctconfig.service.workspace import Workspace
from ctconfig.sinks import SecretSink
from ctconfig.state.document import AccountPasscodeRecord, State, UserPasscodeRecord
from ctconfig.verify import MISMATCH, MISSING, collect


def check(ws: Workspace, *, now: datetime | None = None) -> CheckReport:
    """Plan without the lock and without writing, then list every finding (see the module's doc)."""
    provider, sink = ws.provider(), ws.sink()
    request = PlanRequest(now=now) if now is not None else PlanRequest()

    async def run() -> Prepared:
        try:
            return await prepare(ws, provider, sink, request, may_write=False)
        finally:
            await provider.aclose()

    prepared = run_async(run())
    findings = findings_of(ws.config, prepared, sink, request.now)
    order = {k: i for i, k in enumerate(KINDS)}
    return CheckReport(
        findings=tuple(sorted(findings, key=lambda f: (order[f.kind], f.subject))),
        accounts=len(ws.config.accounts),
        managed=len(prepared.refreshed.resources),
        serial=prepared.plan.stamp.serial,
        checked_at=request.now,
    )


def findings_of(config: Config, prepared: Prepared, sink: SecretSink, now: datetime) -> list[Finding]:
    """Every finding of one read-only plan, in no particular order."""
    plan, state = prepared.plan, prepared.refreshed
    found = [Finding("error", n.subject, n.message) for n in plan.errors]
    drifted = {d.address for d in plan.drift if not d.adoption}
    found += [Finding("drift", str(d.address), d.message) for d in plan.drift if not d.adoption]
    found += _expiry(config, state, prepared.observed, now)
    found += _secrets(config, state, sink)
    found += [_unmanaged(plan, a) for a in plan.unmanaged]
    found += [_due(a) for a in plan.actions if a.address not in drifted and not _unmanaged_delete(plan, a)]
    if prepared.pending:
        words = f"{prepared.pending} create(s) of an interrupted apply could not be settled; run apply"
        found.append(Finding("journal", "journal", words))
    return found


def _expiry(
    config: Config, state: State, observed: Mapping[str, AccountSnapshot | None], fallback: datetime
) -> list[Finding]:
    """Expired managed passcodes; passcodes in their warning window with nothing set to renew them."""
    found = []
    for address, record in sorted(state.resources.items()):
        if not isinstance(record, AccountPasscodeRecord | UserPasscodeRecord):
            continue
        retiring = isinstance(record, AccountPasscodeRecord) and (
            record.retire_after or RETIRING_MARK in record.name
        )
        if retiring:
            continue  # rotated out: its successor is live, and a later apply deletes it
        snapshot = observed.get(address.account)
        now = snapshot.observed_at if snapshot is not None else fallback
        status = expiry_status(record.expires_at, now)
        days_left = days_until(record.expires_at, now)
        if status is PasscodeStatus.EXPIRED and record.expires_at is not None:
            words = f"expired on {moment_text(record.expires_at)}: calls with it fail"
            found.append(Finding("expired", str(address), words))
        elif days_left is not None and days_left <= _window(record) and not _renewed(config, address):
            setting = "rotate_before" if isinstance(record, AccountPasscodeRecord) else "reset_before"
            found.append(
                Finding("expiring", str(address), f"{expiry_words(days_left)} and no {setting} renews it")
            )
    return found


def _window(record: AccountPasscodeRecord | UserPasscodeRecord) -> int:
    term = record.expires_in if isinstance(record, AccountPasscodeRecord) else record.validity
    return warning_days(term)


def _renewed(config: Config, address: Address) -> bool:
    """Whether the config renews this resource before it expires (`rotate_before`/`reset_before`)."""
    account = config.accounts.get(address.account)
    if account is None:
        return False
    if address.kind.value == "account_passcode":
        spec = account.account_passcodes.get(address.name)
        return spec is not None and spec.rotate_before is not None
    grant = {e.casefold(): s for e, s in account.user_passcodes.items()}.get(address.name.casefold())
    return grant is not None and grant.reset_before is not None


def _secrets(config: Config, state: State, sink: SecretSink) -> list[Finding]:
    """Secrets the sink should give back and does not: missing, or another secret in the slot."""
    _, decided = collect(config, state, sink)
    return [
        Finding("missing", c.address, f"{c.status}: {c.detail}")
        for c in decided
        if c.status in (MISSING, MISMATCH)
    ]


def _unmanaged(plan: Plan, address: Address) -> Finding:
    deleting = any(a.address == address and a.kind is ActionKind.DELETE for a in plan.actions)
    what = "not in the config" + ("; the next apply deletes it (unmanaged: delete)" if deleting else "")
    return Finding("unmanaged", str(address), what)


def _unmanaged_delete(plan: Plan, action: Action) -> bool:
    return action.address in plan.unmanaged


def _due(action: Action) -> Finding:
    return Finding("due", str(action.address), f"an apply would {action.kind.value} it: {action.reason}")
