"""The dashboard provider's test world: `ctconfig sandbox serve` as CleverTap, a workspace, and an
operator who reads the steps ctconfig shows and performs them in the sandbox's dashboard.

`Robot` follows only what the guided session (or runbook) says: if a step is
missing or wrong, the robot does the wrong thing and the test sees it. Its
`Hands` are the sandbox store in-process (`StoreHands`) or the `ctconfig
sandbox ...` dashboard commands (`CliHands`, used by the pseudo-terminal test).
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ruamel.yaml import YAML

from ctconfig.sandbox.store import SandboxStore
from ctconfig.service.applying import ApplyReport, ApplyRequest, apply
from ctconfig.service.planning import PlanRequest
from ctconfig.service.workspace import Workspace
from tests.conftest import ctconfig_executable
from tests.operator_env import clean_env

_URL = re.compile(r"^Serving sandbox on (http://\S+)$")


# ---- CleverTap: `ctconfig sandbox serve` ------------------------------------------------------


@dataclass
class Server:
    """A running `ctconfig sandbox serve`; `stats()` reads its counters."""

    url: str
    db: Path
    process: subprocess.Popen[str]

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_sandbox/stats", timeout=10) as answer:
            data: dict[str, Any] = json.loads(answer.read())
        return data


def serve(db: Path, *options: str) -> Iterator[Server]:
    """Start the sandbox server on a free port, yield it, always stop it."""
    db.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [*ctconfig_executable(), "sandbox", "--db", str(db), "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        match = _URL.match(first)
        assert match, f"sandbox server did not start: {first!r}"
        yield Server(match.group(1), db, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- the operator's hands in the dashboard ------------------------------------------------------


class Hands(Protocol):
    def create(self, account_id: str, name: str, days: int | None) -> str: ...
    def rename(self, account_id: str, old: str, new: str) -> None: ...
    def expiry(self, account_id: str, name: str, days: int | None) -> None: ...
    def delete(self, account_id: str, name: str) -> None: ...
    def grant(self, account_id: str, email: str, days: int | None) -> None: ...
    def reset(self, account_id: str, email: str) -> None: ...
    def revoke(self, account_id: str, email: str) -> None: ...
    def mode(self, account_id: str, mode: str) -> None: ...


@dataclass
class StoreHands:
    """The dashboard, in-process: the sandbox store the server serves."""

    db: Path

    def _store(self) -> SandboxStore:
        return SandboxStore(self.db)

    def _id(self, store: SandboxStore, account_id: str, name: str) -> str:
        found = store.read(account_id).passcode_named(name)
        assert found is not None, f"no passcode {name!r} in the dashboard"
        return found.id

    def create(self, account_id: str, name: str, days: int | None) -> str:
        with self._store() as store:
            return store.create_passcode(account_id, name, days, dashboard=True)[1]

    def rename(self, account_id: str, old: str, new: str) -> None:
        with self._store() as store:
            current = store.read(account_id).passcode_named(old)
            assert current is not None
            store.update_passcode(
                account_id, current.id, name=new, expires_in_days=current.expires_in_days, dashboard=True
            )

    def expiry(self, account_id: str, name: str, days: int | None) -> None:
        with self._store() as store:
            store.update_passcode(
                account_id, self._id(store, account_id, name), name=name, expires_in_days=days, dashboard=True
            )

    def delete(self, account_id: str, name: str) -> None:
        with self._store() as store:
            store.delete_passcode(account_id, self._id(store, account_id, name), dashboard=True)

    def grant(self, account_id: str, email: str, days: int | None) -> None:
        with self._store() as store:
            store.grant_user_passcode(account_id, email, days, dashboard=True)

    def reset(self, account_id: str, email: str) -> None:
        with self._store() as store:
            store.reset_user_passcode(account_id, email, dashboard=True)

    def revoke(self, account_id: str, email: str) -> None:
        with self._store() as store:
            store.revoke_user_passcode(account_id, email, dashboard=True)

    def mode(self, account_id: str, mode: str) -> None:
        with self._store() as store:
            store.set_passcode_mode(account_id, mode, dashboard=True)


@dataclass
class CliHands:
    """The dashboard through `ctconfig sandbox ...` commands, as a person would script it."""

    db: Path
    cwd: Path
    transcript: list[str] = field(default_factory=list)

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*ctconfig_executable(), "sandbox", "--db", str(self.db), *args],
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
        assert done.returncode == 0, done.stderr
        self.transcript.append(done.stderr)
        return done.stdout.strip()

    def create(self, account_id: str, name: str, days: int | None) -> str:
        expiry = "forever" if days is None else f"{days}d"
        return self.run("passcode", "add", account_id, name, "--expires-in", expiry, "--show-key")

    def rename(self, account_id: str, old: str, new: str) -> None:
        self.transcript.append(self.run("passcode", "rename", account_id, old, new))

    def expiry(self, account_id: str, name: str, days: int | None) -> None:
        expiry = "forever" if days is None else f"{days}d"
        self.transcript.append(self.run("passcode", "expiry", account_id, name, expiry))

    def delete(self, account_id: str, name: str) -> None:
        self.transcript.append(self.run("passcode", "delete", account_id, name))

    def grant(self, account_id: str, email: str, days: int | None) -> None:
        validity = "infinite" if days is None else f"{days}d"
        self.transcript.append(self.run("user", "grant", account_id, email, "--validity", validity))

    def reset(self, account_id: str, email: str) -> None:
        self.transcript.append(self.run("user", "reset", account_id, email))

    def revoke(self, account_id: str, email: str) -> None:
        self.transcript.append(self.run("user", "revoke", account_id, email))

    def mode(self, account_id: str, mode: str) -> None:
        self.transcript.append(self.run("mode", account_id, mode))


# ---- the operator: reads the steps, performs them ------------------------------------------------

_HEADING = re.compile(r"^Step (\d+) of (\d+) - account \S+ \((?P<id>[^)]+)\) - (?P<address>\S+)$", re.M)
_STEP = re.compile(r"^  \d+\. (.*)$", re.M)
_ROTATE_ASIDE = re.compile(r"^Settings > Passcodes > Edit icon of (.+) > Passcode Name: (.+) > Update$")


@dataclass
class Robot:
    """Performs the announced steps to the letter and remembers the keys it was shown."""

    hands: Hands
    keys: dict[str, str] = field(default_factory=dict)
    performed: list[str] = field(default_factory=list)
    lazy: set[str] = field(default_factory=set)
    """Addresses whose steps it skips the first time (a person who forgets): checks must notice."""

    def perform(self, announcement: str) -> None:
        announcement = announcement.replace("\r\n", "\n")  # as a terminal shows it
        heading = _HEADING.search(announcement)
        assert heading, announcement
        account_id, address = heading["id"], heading["address"]
        self.performed.append(address)
        if address in self.lazy:
            self.lazy.discard(address)
            return
        self.follow(account_id, _STEP.findall(announcement))

    def follow(self, account_id: str, steps: list[str]) -> None:
        pending: dict[str, Any] = {}
        for step in steps:
            self._one(account_id, step, pending)

    def _one(self, account_id: str, step: str, pending: dict[str, Any]) -> None:  # noqa: C901
        aside = _ROTATE_ASIDE.match(step)
        if aside:
            self.hands.rename(account_id, aside[1], aside[2])
        elif step == 'Settings > Passcodes > "+ Passcode"':
            pending.clear()
            pending["create"] = True
        elif step.startswith("Settings > Passcodes > Edit icon of "):
            pending.clear()
            pending["edit"] = step.removeprefix("Settings > Passcodes > Edit icon of ")
        elif step.startswith("Passcode Name: "):
            pending["name"] = step.removeprefix("Passcode Name: ")
        elif step.startswith("Set Expiry Date: "):
            days = step.removeprefix("Set Expiry Date: ").removeprefix("Set day(s) ")
            pending["days"] = None if days == "Forever" else int(days)
        elif step.startswith('"Create & View"'):
            name = pending["name"]
            self.keys[name] = self.hands.create(account_id, name, pending["days"])
        elif step == "Update":
            self._update(account_id, pending)
        elif step.startswith("Settings > Passcodes > Delete icon of "):
            name = step.removeprefix("Settings > Passcodes > Delete icon of ").removesuffix(
                "; confirm the deletion"
            )
            self.hands.delete(account_id, name)
        elif step.startswith("Settings > Users > select "):
            self._user(account_id, step.removeprefix("Settings > Users > select "), pending)
        elif step.startswith("Finite: ") or step == "Infinite":
            days = None if step == "Infinite" else int(step.split()[1])
            self.hands.grant(account_id, pending["grant"], days)
        elif "enforcing user passcodes" in step:
            self.hands.mode(account_id, "user" if "turn on" in step else "account")
        else:
            assert step in ("Done", "Confirm the deletion"), f"the robot does not understand {step!r}"

    def _update(self, account_id: str, pending: dict[str, Any]) -> None:
        old = pending["edit"]
        if "days" in pending:
            self.hands.expiry(account_id, old, pending["days"])
        if "name" in pending:
            self.hands.rename(account_id, old, pending["name"])

    def _user(self, account_id: str, rest: str, pending: dict[str, Any]) -> None:
        email, _, verb = rest.rpartition(" > ")
        if verb == "Grant":
            pending["grant"] = email
        elif verb == "Reset":
            self.hands.reset(account_id, email)
        else:
            assert verb == "Revoke", rest
            self.hands.revoke(account_id, email)


Answer = str | Callable[[], str]
"""A typed answer; `key:NAME` pastes the key the robot was shown for NAME; a callable acts first."""


@dataclass
class ScriptedOperator:
    """An `Operator` for in-process sessions: the robot performs each step when it is shown,
    `script` answers chosen prompts (first match wins, used once), the rest get the usual answer."""

    robot: Robot
    script: list[tuple[str, Answer]] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def show(self, text: str) -> None:
        self.shown.append(text)
        if _HEADING.search(text):
            self.robot.perform(text)

    async def ask(self, prompt: str, *, hidden: bool = False) -> str:
        self.asked.append(prompt)
        for index, (pattern, answer) in enumerate(self.script):
            if re.search(pattern, prompt):
                del self.script[index]
                return self._key(answer)
        return self._usual(prompt)

    def _key(self, answer: Answer) -> str:
        if callable(answer):
            return answer()
        return self.robot.keys[answer.removeprefix("key:")] if answer.startswith("key:") else answer

    def _usual(self, prompt: str) -> str:
        pasted = re.match(
            r"(?:Paste the API Key of|If you created) (.+?)(?:, paste| \(hidden| again)", prompt
        )
        if pasted:
            return self.robot.keys[pasted[1]]
        if "Paste it once more" in prompt:
            return self.robot.keys[list(self.robot.keys)[-1]]
        return ""

    def text(self) -> str:
        return "\n".join([*self.shown, *self.asked])


class RecordingUi:
    """`ApplyUi` that keeps every line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def show_plan(self, plan: Any) -> None:
        self.lines.append(f"plan {plan.digest}")

    def confirm(self, plan: Any) -> bool:
        return True

    def progress(self, line: str) -> None:
        self.lines.append(line)

    def note(self, line: str) -> None:
        self.lines.append(line)


# ---- a workspace -----------------------------------------------------------------------------------


@dataclass
class DashboardWorkspace:
    """ctconfig.yaml (dashboard provider at the server), state, secrets; commands and in-process applies."""

    root: Path
    server: Server
    account_id: str
    outputs: list[str] = field(default_factory=list)

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def state_path(self) -> Path:
        return self.root / "ctconfig.state.json"

    def write_config(self, accounts: dict[str, Any], **sections: Any) -> None:
        data: dict[str, Any] = {
            "version": 1,
            "state": {"backend": "local", "path": str(self.state_path)},
            "provider": {"kind": "dashboard", "base_url": self.server.url},
            "secrets": {"sink": "file", "path": str(self.secrets_dir)},
            **sections,
            "accounts": accounts,
        }
        with (self.root / "ctconfig.yaml").open("w") as handle:
            YAML().dump(data, handle)
        with SandboxStore(self.server.db) as store:
            for account in accounts.values():
                store.ensure_account(account["id"], list(account.get("user_passcodes") or {}))
                known = {u.email for u in store.read(account["id"]).users}
                for email in account.get("user_passcodes") or {}:
                    if email.lower() not in known:
                        store.add_user(account["id"], email)

    def ct(
        self, *args: str, expect: int | None = 0, stdin: str = "", cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = clean_env()
        env["NO_COLOR"] = "1"
        done = subprocess.run(
            [*ctconfig_executable(), *args],
            cwd=cwd or self.root,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.outputs += [done.stdout, done.stderr]
        assert "Traceback" not in done.stderr, done.stderr
        if expect is not None:
            assert done.returncode == expect, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def workspace(self) -> Workspace:
        return Workspace.open(str(self.root / "ctconfig.yaml"))

    def apply(self, operator: ScriptedOperator | None, **options: Any) -> tuple[ApplyReport, RecordingUi]:
        """`ctconfig apply --auto-approve` in-process, with `operator` at the terminal."""
        ui = RecordingUi()
        plan = PlanRequest(**{k: options.pop(k) for k in ("scope",) if k in options})
        request = ApplyRequest(plan=plan, auto_approve=True, operator=operator, **options)
        report = apply(self.workspace(), request, ui)
        self.outputs += ui.lines
        if operator is not None:
            self.outputs.append(operator.text())
        return report, ui

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_path.read_text()))

    def dashboard(self, account_id: str | None = None) -> Any:
        with SandboxStore(self.server.db) as store:
            return store.read(account_id or self.account_id)

    def assert_no_secret_leaked(self, secrets: set[str]) -> None:
        assert secrets, "no secret was issued: the scan would prove nothing"
        for secret in secrets:
            for text in self.outputs:
                assert secret not in text
            for path in self.root.rglob("*"):
                if path.is_file() and self.secrets_dir not in path.parents:
                    assert secret not in path.read_text(errors="replace"), path
