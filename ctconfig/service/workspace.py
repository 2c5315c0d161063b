"""The edges of one command, wired together: the loaded config, its state backend, provider and sink.

Every service operation starts from a `Workspace`. It knows how to reach each
account (`targets`, no secrets: env var names only), which addresses are
protected, and how to hold the state lock so that an error while releasing it
never hides the error that made the command stop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ctconfig.domain import AccountTarget, Address
from ctconfig.state.base import AuditRecord, LockInfo, StateBackend
from ctconfig.state.document import State
from ctconfig.state.journal import Journal
from ctconfig.state.lockfile import holding

if TYPE_CHECKING:
    from ctconfig.config.loader import LoadedConfig
    from ctconfig.config.spec import Config
    from ctconfig.providers.base import Provider
    from ctconfig.providers.operator import Operator
    from ctconfig.sinks import SecretSink

@dataclass
class Workspace:
    """One command's view of the world: the loaded config and its state backend."""

    loaded: LoadedConfig
    backend: StateBackend
    audit_note: str | None = None
    """`--audit-note`: kept in the audit record of every state version this command writes."""

    @property
    def config(self) -> Config:
        """The validated config."""
        return self.loaded.config

    @classmethod
    def open(cls, config_path: str | None) -> Workspace:
        """Load the config (`-c`, `$CTCONFIG_CONFIG`, ./ctconfig.yaml, ./ctconfig/) and open its backend."""
        from ctconfig.config.loader import load_from_cli
        from ctconfig.state.backends import open_backend

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

    def protected(self) -> frozenset[Address]:
        """Addresses declared with `prevent_destroy: true`."""
        found: set[Address] = set()
        for alias, account in self.config.accounts.items():
            found.update(
                Address.account_passcode(alias, n)
                for n, s in account.account_passcodes.items()
                if s.prevent_destroy
            )
            found.update(
                Address.user_passcode(alias, e)
                for e, s in account.user_passcodes.items()
                if s.prevent_destroy
            )
        return frozenset(found)

    def provider(self, operator: Operator | None = None, *, read_only: bool = False) -> Provider:
        """The provider the config names (HTTP credentials are read when first needed).

        `operator`: the person the `dashboard` provider guides through an apply.
        `read_only`: for a plan or a dry run, which change nothing (the embedded sandbox
        then creates no file and refuses every change).
        """
        from ctconfig.providers.factory import open_provider

        return open_provider(self.config, operator, read_only=read_only)

    def sink(self) -> SecretSink:
        """The secret sink the config names."""
        from ctconfig.sinks import open_sink

        return open_sink(self.config.secrets)

    def journal(self) -> Journal:
        """The apply journal, kept where the state lives."""
        return Journal(self.backend.journal())

    def read_state(self) -> tuple[State, str | None]:
        """The current state and its write token (a fresh state and None before the first write)."""
        version = self.backend.read()
        return (version.state, version.token) if version else (State.new(), None)

    def save_state(self, state: State, token: str | None, audit: AuditRecord) -> tuple[State, str]:
        """Write `state` as the next serial with its audit record; returns it and its new token.

        The version records the config's trust surface (where credentials, secrets and state
        go), so that the next plan can show a reviewer a config that changes it.
        """
        from ctconfig.config.trust import trust_surface

        written = replace(state.next_version(), trust=trust_surface(self.config))
        return written, self.backend.write(written, token, audit)

    @contextlib.contextmanager
    def locked(self, operation: str, timeout: float, enabled: bool = True) -> Iterator[LockInfo | None]:
        """Hold the state lock for the duration of a command (unless `--lock=false`).

        An error while releasing the lock never hides the error that stopped the
        command: it is added to that error as a note.
        """
        if not enabled:
            yield None
            return
        with holding(self.backend, operation, timeout) as lock:
            yield lock
