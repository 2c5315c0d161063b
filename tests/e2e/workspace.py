"""A temporary ctconfig workspace driven through the installed command."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ctconfig.sandbox.store import SandboxStore
from tests.conftest import RunCtconfig

ACCOUNT_ID = "TEST-R78-ZZK-955Z"
ALICE, BOB = "alice@example.com", "bob@example.com"


def demo(
    passcodes: dict[str, object], users: dict[str, object] | None = None, **extra: object
) -> dict[str, object]:
    """The `accounts:` section of a one-account config (alias `demo`)."""
    return {
        "demo": {"id": ACCOUNT_ID, "account_passcodes": passcodes, "user_passcodes": users or {}, **extra}
    }


@dataclass
class Workspace:
    """A directory holding ctconfig.yaml, its state, sandbox and secrets; every output is kept."""

    root: Path
    runner: RunCtconfig
    env: dict[str, str] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    provider: str = "sandbox"  # or "clevertap": over HTTP to `ctconfig sandbox serve` at server_url
    server_url: str = ""

    def write_config(self, accounts: dict[str, Any], **sections: Any) -> None:
        if self.provider == "clevertap" and "provider" not in sections:
            sections["provider"] = {"kind": "clevertap", "base_url": self.server_url}
            accounts = {alias: self._over_http(alias, dict(account)) for alias, account in accounts.items()}
        data: dict[str, Any] = {"version": 1, **sections, "accounts": accounts}
        with (self.root / "ctconfig.yaml").open("w") as handle:
            YAML().dump(data, handle)

    def ct(
        self, *args: str, expect: int | None = 0, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = self.runner(*args, cwd=self.root, env=self.env, input=input)
        self.outputs += [done.stdout, done.stderr]
        assert "Traceback" not in done.stderr, done.stderr
        if expect is not None:
            assert done.returncode == expect, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def _over_http(self, alias: str, account: dict[str, Any]) -> dict[str, Any]:
        """What a real account has before ctconfig: the dashboard users invited, an admin
        passcode issued (in the env var the config names)."""
        env_name = f"CT_{alias.upper()}_PASSCODE"
        account.setdefault("credentials", {"passcode_env": env_name})
        users = list(account.get("user_passcodes") or {})
        store = self.store()
        try:
            store.ensure_account(account["id"], users)
            known = {u.email for u in store.read(account["id"]).users}
            for email in users:
                if email.lower() not in known:
                    store.add_user(account["id"], email)
            if env_name not in self.env:
                self.env[env_name] = store.issue_admin_passcode(account["id"])
                self.outputs.append("")  # the admin passcode is the test's, not ctconfig's
        finally:
            store.close()
        return account

    def state(self) -> dict[str, Any]:
        return dict(json.loads((self.root / "ctconfig.state.json").read_text()))

    def store(self) -> SandboxStore:
        return SandboxStore(self.root / ".ctconfig" / "sandbox.db")

    def secret_files(self) -> dict[str, str]:
        base = self.root / ".ctconfig" / "secrets"
        return {
            str(p.relative_to(base)): p.read_text().strip() for p in sorted(base.rglob("*")) if p.is_file()
        }

    def mutations(self, account_id: str = ACCOUNT_ID) -> int:
        store = self.store()
        try:
            return store.mutation_count(account_id)
        finally:
            store.close()

    def every_written_file(self, sinks: tuple[str, ...] = ("secrets",)) -> Iterator[Path]:
        """Everything in the workspace except the secret sinks and the sandbox's own database."""
        for path in self.root.rglob("*"):
            if path.is_file() and not set(sinks) & set(path.parts) and not path.name.startswith("sandbox.db"):
                yield path

    def assert_no_secret_leaked(self, secrets: set[str], sinks: tuple[str, ...] = ("secrets",)) -> None:
        assert secrets, "no secret was issued: the scan would prove nothing"
        for secret in secrets:
            for text in self.outputs:
                assert secret not in text
            for path in self.every_written_file(sinks):
                assert secret not in path.read_text(errors="replace"), path
