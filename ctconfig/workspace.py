"""The edges, wired together: config, state backend, provider and clock for one command.

Commands call these functions in order (open → lock → load state → observe →
plan → apply → save); each is one step of DESIGN.md's data flow, so the CLI
stays a thin sequence of calls and the planner stays pure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ctconfig.config.spec import Config
from ctconfig.domain import AccountSnapshot, AccountTarget, isoformat
from ctconfig.errors import CtconfigError
from ctconfig.plan import Plan
from ctconfig.planner import PlanOptions, PlanResult, make_plan
from ctconfig.providers.base import Provider
from ctconfig.state import load_state, open_backend
from ctconfig.state.base import AuditRecord, LockInfo, StateBackend, current_actor
from ctconfig.state.document import State
from ctconfig.state.journal import Journal

if TYPE_CHECKING:
    from ctconfig.config.loader import LoadedConfig


log = logging.getLogger(__name__)


@dataclass
class Workspace:
    """One command's view of the world: the loaded config and its state backend."""

    loaded: LoadedConfig
    backend: StateBackend

    @property
    def config(self) -> Config:
        return self.loaded.config

    @classmethod
    def open(cls, config_path: str | None) -> Workspace:
        from ctconfig.config.loader import load_from_cli

        loaded = load_from_cli(config_path)
        return cls(loaded, open_backend(loaded.config.state))

    def targets(self) -> dict[str, AccountTarget]:
        """How to reach each configured account (no secrets: env var names only)."""
        return {
            alias: AccountTarget(
                alias=alias,
                account_id=account.id,
                region=self.config.region_of(alias),
                passcode_env=account.credentials.passcode_env if account.credentials else None,
                users=tuple(sorted(account.user_passcodes)),
            )
            for alias, account in self.config.accounts.items()
        }

    def protected(self) -> set[str]:
        """Addresses declared with `prevent_destroy: true`."""
        from ctconfig.domain import Address

        found: set[str] = set()
        for alias, account in self.config.accounts.items():
            found.update(
                str(Address.account_passcode(alias, n))
                for n, s in account.account_passcodes.items()
                if s.prevent_destroy
            )
            found.update(
                str(Address.user_passcode(alias, e))
                for e, s in account.user_passcodes.items()
                if s.prevent_destroy
            )
        return found

    def journal(self) -> Journal:
        return Journal(self.backend.journal())

    @contextlib.contextmanager
    def locked(self, operation: str, timeout: float, enabled: bool = True) -> Iterator[LockInfo | None]:
        """Hold the state lock for the duration of a command (unless `--lock=false`)."""
        if not enabled:
            yield None
            return
        lock = self.backend.lock(operation, timeout)
        try:
            yield lock
        finally:
            self.backend.unlock(lock)

    def load_state(self) -> tuple[State, str | None]:
        """The current state (a leftover journal from a crash is replayed first)."""
        return load_state(self.backend)

    def save_state(self, state: State, token: str | None, audit: AuditRecord) -> State:
        """Write `state` as the next serial with its audit record; returns what was written."""
        written = state.next_version()
        self.backend.write(written, token, audit)
        return written


def open_provider(config: Config) -> Provider:
    """The provider the config names."""
    from ctconfig.providers.factory import open_provider as factory

    return factory(config)


async def observe(
    provider: Provider, targets: Mapping[str, AccountTarget], aliases: list[str]
) -> dict[str, AccountSnapshot | None]:
    """Read the accounts concurrently; the first failure is raised (one clear message)."""
    results = await asyncio.gather(
        *(provider.read_account(targets[a]) for a in aliases), return_exceptions=True
    )
    observed: dict[str, AccountSnapshot | None] = {}
    for alias, result in zip(aliases, results, strict=True):
        if isinstance(result, BaseException):
            if isinstance(result, CtconfigError):
                raise result
            raise CtconfigError(
                f"reading account '{alias}' failed: {type(result).__name__}: {result}"
            ) from result
        observed[alias] = result
        log.debug(
            "read %s (%s): %d passcodes, %d users, mode %s",
            alias,
            result.account_id,
            len(result.passcodes),
            len(result.users),
            result.passcode_mode,
        )
    return observed


def utcnow() -> datetime:
    return datetime.now(UTC)


def plan_now(
    workspace: Workspace,
    provider: Provider | None,
    state: State,
    options: PlanOptions,
    *,
    state_exists: bool = True,
) -> PlanResult:
    """Refresh (when a provider is given) and plan, stamped with the state and config it came from.

    A plan made before any state was written records an empty lineage: the
    lineage is only fixed by the first write.
    """
    observed: dict[str, AccountSnapshot | None] = {}
    if provider is not None:
        aliases = sorted(workspace.config.accounts)
        observed = asyncio.run(_observe_and_close(provider, workspace.targets(), aliases))
    result = make_plan(workspace.config, state, observed, options)
    plan: Plan = result.plan.with_stamp(
        state.lineage if state_exists else "",
        state.serial,
        workspace.loaded.digest,
        isoformat(options.now) or "",
    )
    return PlanResult(plan, result.refreshed)


async def _observe_and_close(
    provider: Provider, targets: Mapping[str, AccountTarget], aliases: list[str]
) -> dict[str, AccountSnapshot | None]:
    try:
        return await observe(provider, targets, aliases)
    finally:
        await provider.aclose()


def audit_record(
    operation: str, plan: Plan | None, outcomes: list[dict[str, str]], summary: str
) -> AuditRecord:
    """Who did what, when: stored next to the state version it produced."""
    return AuditRecord(
        who=current_actor(),
        when=isoformat(utcnow()) or "",
        operation=operation,
        plan_digest=plan.digest if plan is not None else None,
        actions=outcomes,
        summary=summary,
    )
