"""The crash-point harness behind bench/crash_points.py (and tests/crash/): a workspace copied fresh for
every crash, the apply under test ended at one failpoint, recovery as a user would do it, and the checks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crash_serving import LIMBO, LIMBO_ACCOUNT, SandboxServer, StateBackend

from ctconfig.domain import Address
from ctconfig.failpoints import CRASH_EXIT, ENV
from ctconfig.sandbox.store import SandboxStore
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef
from ctconfig.sinks.env_file import EnvFileSink
from ctconfig.sinks.file import FileSink

LOCK_ID = re.compile(r"force-unlock ([0-9a-f-]{36})")
MAX_APPLIES = 10
ACCOUNTS = {"one": "TEST-111-ZZK-001Z", "two": LIMBO_ACCOUNT}
USERS = ["alice@example.com", "bob@example.com", "carol@example.com"]
DECLARED = {"one": ["keep", "rot", "fresh"], "two": ["keep2", "fresh2", LIMBO]}
DAY = 86400

Runner = Callable[[list[str], Path, Mapping[str, str]], subprocess.CompletedProcess[str]]
"""Runs `ctconfig ARGS` in a directory with an environment (a child process, or in this process)."""


# -- one workspace: config, sandbox accounts, sink, state -------------------------------------------


SINKS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "file": ("{{sink: file, path: '{root}/secrets'}}", lambda root: FileSink(root / "secrets")),
    "env-file": (
        "{{sink: env-file, path: '{root}/secrets.env'}}",
        lambda root: EnvFileSink(root / "secrets.env"),
    ),
}
"""The sinks the apply may store its secrets in: the config's `secrets:` block, and a reader."""


def _config(ws: Path, state_block: str, url: str, final: bool, sink: str = "file") -> str:
    """Version 1 (the accounts before) or the final config (the apply under test)."""
    one = ["keep: {expires_in: 90d}", "rot: {expires_in: 30d}", "gone: {expires_in: 90d}"]
    one_users = ["alice@example.com: {validity: 30d}"]
    two = ["keep2: {expires_in: forever}"]
    two_users: list[str] = []
    if final:
        one = ["keep: {expires_in: 90d}", "rot: {expires_in: 30d, rotate_before: 10d}"]
        one.append("fresh: {expires_in: 90d}")
        one_users = ["bob@example.com: {validity: 30d}"]
        two = [*two, "fresh2: {expires_in: 90d}", f"{LIMBO}: {{expires_in: 90d}}"]
        two_users = ["carol@example.com: {validity: 30d}"]
    lines = [
        "version: 1",
        state_block,
        f"provider: {{kind: clevertap, base_url: '{url}', max_retries: 0}}",
        "secrets: " + SINKS[sink][0].format(root=ws),
        "defaults: {rotation_overlap: 1d}",
        "accounts:",
    ]
    for alias, passcodes, users in (("one", one, one_users), ("two", two, two_users)):
        lines += [
            f"  {alias}:",
            f"    id: {ACCOUNTS[alias]}",
            f"    credentials: {{passcode_env: CT_{alias.upper()}_PASSCODE}}",
            "    account_passcodes:",
            *(f"      {p}" for p in passcodes),
        ]
        if users:
            lines += ["    user_passcodes:", *(f"      {u}" for u in users)]
    return "\n".join(lines) + "\n"


@dataclass
class Workspace:
    """A directory with its config, sandbox database and secrets, and the state it names."""

    root: Path
    tag: str
    env: dict[str, str]
    backend: StateBackend
    sink: str = "file"

    @property
    def db(self) -> Path:
        return self.root / "sandbox.db"

    @property
    def config(self) -> Path:
        return self.root / "ctconfig.yaml"

    @property
    def runner_a(self) -> Path:
        return self.root / "runner-a"

    @property
    def runner_b(self) -> Path:
        return self.root / ("runner-b" if self.backend.recover_elsewhere else "runner-a")

    def args(self, *args: str) -> list[str]:
        return ["-c", str(self.config), *args]


@dataclass
class Harness:
    """The template workspace (accounts as they were before the apply) and how to copy it."""

    base: Path
    backend: StateBackend
    server: SandboxServer
    run: Runner
    crashing: Runner
    """Runs the apply under test: a child process, always."""
    env: dict[str, str] = field(default_factory=dict)
    template: Workspace | None = None
    made: int = 0
    keep: bool = False
    sink: str = "file"

    def prepare(self) -> None:
        """Accounts, admin passcodes and a first apply; then 25 days pass (so `rot` is due)."""
        root = self.base / "template"
        root.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CTCONFIG_", "CT_"))}
        env |= {
            "NO_COLOR": "1",
            # the operator's allow-lists: the sandbox on loopback, the workspaces under `base`
            "CTCONFIG_ALLOWED_ENDPOINTS": "http://127.0.0.1:*",
            "CTCONFIG_ALLOWED_PATHS": os.path.realpath(self.base),
        } | self.backend.env()
        with SandboxStore(root / "sandbox.db") as store:
            for alias, account_id in ACCOUNTS.items():
                store.ensure_account(account_id, USERS)
                env[f"CT_{alias.upper()}_PASSCODE"] = store.issue_admin_passcode(account_id)
        ws = Workspace(root, f"{self.base.name}-template", env, self.backend, self.sink)
        ws.runner_a.mkdir()
        ws.runner_b.mkdir(exist_ok=True)
        self.server.serve(ws.db, limbo=False)
        block = self.backend.block(root, ws.tag)
        ws.config.write_text(_config(root, block, self.server.url, final=False, sink=self.sink))
        done = self.run(ws.args("apply", "--auto-approve"), ws.runner_a, env)
        self.server.close_store()
        if done.returncode != 0:
            raise RuntimeError(f"the first apply failed: {done.stdout}\n{done.stderr}")
        with SandboxStore(ws.db) as store:
            store.advance_clock(25 * DAY)
        self.template, self.env = ws, env

    def copy(self, limbo: bool) -> Workspace:
        """A fresh copy of the template, configured for the apply under test and being served."""
        assert self.template is not None
        self.made += 1
        root = self.base / f"w{self.made:04d}"
        tag = f"{self.base.name}-{root.name}"  # names the state in PostgreSQL and S3: one per harness
        shutil.copytree(self.template.root, root, ignore=shutil.ignore_patterns("sandbox.db*", "*.yaml"))
        with sqlite3.connect(self.template.db) as source, sqlite3.connect(root / "sandbox.db") as target:
            source.backup(target)
        self.backend.clone(self.template.tag, tag)
        ws = Workspace(root, tag, self.env, self.backend, self.sink)
        block = self.backend.block(root, tag)
        ws.config.write_text(_config(root, block, self.server.url, final=True, sink=self.sink))
        self.server.serve(ws.db, limbo=limbo)
        return ws

    def discard(self, ws: Workspace) -> None:
        self.server.close_store()
        if not self.keep:
            shutil.rmtree(ws.root, ignore_errors=True)


# -- one crash and what recovery makes of it ---------------------------------------------------------


ANCHORS = frozenset({"state.local.write", "state.pg.write", "state.s3.write", "apply.compact"})
"""Failpoints reached the same number of times in every run of the apply: a boundary after one is
counted from it (ctconfig/failpoints.py), so that the tail of the apply is hit exactly."""


@dataclass(frozen=True)
class Boundary:
    """The N-th time the apply reached failpoint NAME (on WHERE), counted from ANCHOR when set."""

    name: str
    occurrence: int
    where: str
    anchor: str = ""

    @property
    def target(self) -> str:
        counted = f"{self.name}#{self.occurrence}"
        return f"{self.anchor}/{counted}" if self.anchor else counted

    @property
    def area(self) -> str:
        """What the boundary makes durable: journal, state, history, lock, sink (or probe)."""
        where = self.where
        for marker, area in (
            (".journal", "journal"),
            (".history", "history"),
            (".backup", "state"),
            (".lock", "lock"),
            (".probe", "probe"),
            ("/secrets", "sink"),
        ):
            if marker in where:
                return area
        prefix = self.name.split(".", 1)[0]
        return {"files": "state", "s3": "state"}.get(prefix, prefix)


def read_trace(path: Path) -> list[tuple[str, str, bool]]:
    """(name, where, armed) per line of a failpoint trace."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        name, where, *rest = [*line.split("\t"), ""]
        out.append((name, where, rest[0] == "armed"))
    return out


def boundaries(trace: list[tuple[str, str, bool]]) -> list[Boundary]:
    """Each boundary of a trace as a target: `NAME#N`, or `ANCHOR#A/NAME#N` after an anchor."""
    seen: Counter[str] = Counter()
    since: Counter[str] = Counter()
    anchor = ""
    out = []
    for name, where, _ in trace:
        seen[name] += 1
        since[name] += 1
        out.append(Boundary(name, since[name] if anchor else seen[name], where, anchor))
        if name in ANCHORS:
            anchor, since = f"{name}#{seen[name]}", Counter()
    return out


def apply_under_test(h: Harness, ws: Workspace, failpoints: str) -> subprocess.CompletedProcess[str]:
    """The apply under test, always a child process (it may have to die), failpoints armed."""
    env = {**ws.env, ENV: failpoints}
    return h.crashing(ws.args("apply", "--auto-approve"), ws.runner_a, env)


def reference(h: Harness) -> list[Boundary]:
    """Run the apply once with the trace on: every boundary it passes, in order."""
    ws = h.copy(limbo=True)
    try:
        trace = ws.root / "trace.tsv"
        done = apply_under_test(h, ws, f"trace={trace}")
        if done.returncode not in (0, 1):
            raise RuntimeError(f"the reference apply ended {done.returncode}: {done.stderr}")
        return boundaries(read_trace(trace))
    finally:
        h.discard(ws)


@dataclass
class Findings:
    """What one crash and its recovery left behind."""

    boundary: Boundary
    crashed: bool = False
    lost: int = 0
    duplicates: int = 0
    unflagged: int = 0
    false_clean: int = 0
    unconverged: int = 0
    applies: int = 0
    forced_unlocks: int = 0
    notes: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    """The passcodes behind the findings (lost, duplicated or unflagged)."""

    @property
    def bad(self) -> int:
        return self.lost + self.duplicates + self.unflagged + self.false_clean + self.unconverged


def crash_and_recover(h: Harness, boundary: Boundary) -> Findings:
    """Crash the apply at `boundary`, recover as a user would, and check every invariant."""
    found = Findings(boundary)
    ws = h.copy(limbo=True)
    try:
        trace = ws.root / "trace.tsv"
        done = apply_under_test(h, ws, f"crash={boundary.target};trace={trace}")
        found.crashed = done.returncode == CRASH_EXIT
        h.server.limbo.armed = False
        recover(h, ws, found)
    finally:
        h.discard(ws)
    return found


def recover(h: Harness, ws: Workspace, found: Findings) -> None:
    """Apply until the plan is empty, as a person (or the next CI job) would; then check."""
    checked_flags = False
    for _ in range(MAX_APPLIES):
        done = h.run(ws.args("apply", "--auto-approve"), ws.runner_b, ws.env)
        held = LOCK_ID.search(done.stderr)
        if held and "locked" in done.stderr:
            found.forced_unlocks += 1
            unlocked = h.run(ws.args("force-unlock", "--yes", held.group(1)), ws.runner_b, ws.env)
            # PostgreSQL frees a dead session's lock a moment after the apply saw it: then apply again
            if unlocked.returncode != 0 and "not locked" not in unlocked.stderr:
                raise RuntimeError(f"force-unlock failed in {ws.root}: {unlocked.stderr.strip()}")
            continue
        found.applies += 1
        if done.returncode != 0:
            found.notes.append(_first_error(done))
        if not checked_flags:
            checked_flags = True
            found.unflagged = unflagged(h, ws, found.names)
        plan = h.run(ws.args("plan", "--detailed-exitcode"), ws.runner_b, ws.env)
        if plan.returncode == 0:
            found.lost, found.duplicates = converged_loss(h, ws, found.names)
            found.false_clean = int(found.lost + found.duplicates > 0)
            return
    found.unconverged = 1
    found.lost, found.duplicates = converged_loss(h, ws, found.names)


def _first_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    return (lines or done.stderr.splitlines()[-1:] or [f"exit {done.returncode}"])[0][:300]


def _state(h: Harness, ws: Workspace) -> dict[str, Any]:
    pulled = h.run(ws.args("state", "pull"), ws.runner_b, ws.env)
    if pulled.returncode != 0:
        raise RuntimeError(f"`state pull` failed in {ws.root}: {pulled.stderr.strip()}")
    resources: dict[str, Any] = json.loads(pulled.stdout)["resources"]
    return resources


def _accounts(ws: Workspace) -> Iterator[tuple[str, str, Any]]:
    with SandboxStore(ws.db) as store:
        for alias, account_id in ACCOUNTS.items():
            yield alias, account_id, store.read(account_id).passcodes


def _authenticates(ws: Workspace, account_id: str, secret: str, name: str) -> bool:
    with SandboxStore(ws.db) as store:
        credential = store.authenticate(account_id, secret)
    return credential is not None and credential.kind == "account" and credential.name == name


def _held(ws: Workspace, address: str, account_id: str) -> str:
    alias, _, name = address.split("/", 2)
    reader = SINKS[ws.sink][1](ws.root)
    secret = reader.read(SecretRef(Address.account_passcode(alias, name), account_id))
    return secret.reveal() if secret is not None else ""


def unflagged(h: Harness, ws: Workspace, names: set[str]) -> int:
    """Live passcodes nobody holds the secret of and nothing flags (untainted, not retiring, or unknown)."""
    resources = _state(h, ws)
    by_id = {r.get("id"): (a, r) for a, r in resources.items() if "/account_passcode/" in a}
    count = 0
    for _, account_id, live in _accounts(ws):
        for passcode in live:
            found = by_id.get(passcode.id)
            if found is None:
                count += 1  # alive, and state does not know it
                names.add(passcode.name)
                continue
            address, record = found
            if record.get("tainted") or record.get("retire_after"):
                continue
            secret = _held(ws, address, account_id)
            if not secret or not _authenticates(ws, account_id, secret, passcode.name):
                count += 1
                names.add(passcode.name)
    return count


def converged_loss(h: Harness, ws: Workspace, names: set[str]) -> tuple[int, int]:
    """(declared passcodes without their live secret in the sink, live passcodes state does not manage)."""
    resources = _state(h, ws)
    lost = duplicates = 0
    for alias, account_id, live in _accounts(ws):
        managed = {r.get("id") for a, r in resources.items() if a.startswith(f"{alias}/account_passcode/")}
        strays = [p.name for p in live if p.id not in managed]
        duplicates += len(strays)
        names.update(strays)
        for name in DECLARED[alias]:
            address = f"{alias}/account_passcode/{name}"
            record = resources.get(address) or {}
            secret = _held(ws, address, account_id)
            ok = (
                bool(secret)
                and not record.get("tainted")
                and Secret(secret).matches(record.get("secret_fingerprint"))
                and _authenticates(ws, account_id, secret, name)
            )
            if not ok:
                lost += 1
                names.add(name)
    return lost, duplicates


# -- the table --------------------------------------------------------------------------------------


@dataclass
class Tally:
    backend: str
    found: int = 0
    names: int = 0
    results: list[Findings] = field(default_factory=list)

    def add(self, findings: Findings) -> None:
        self.results.append(findings)

    def row(self) -> str:
        r = self.results
        crashed = sum(f.crashed for f in r)
        total = lambda attr: sum(getattr(f, attr) for f in r)  # noqa: E731
        applies = max((f.applies for f in r), default=0)
        return (
            f"| {self.backend} | {self.found} ({self.names} kinds) | {len(r)} | {crashed} | {total('lost')} "
            f"| {total('duplicates')} | {total('unflagged')} | {total('false_clean')} "
            f"| {total('unconverged')} | {total('forced_unlocks')} | {applies} |"
        )


HEADER = (
    "| state | boundaries found | crashes run | crashed there | secrets lost | duplicates "
    "| unflagged | false \"no changes\" | never converged | locks forced | applies to converge (max) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def run_backend(
    backend: StateBackend,
    base: Path,
    server: SandboxServer,
    run: Runner,
    crashing: Runner,
    pick: Callable[[list[Boundary]], list[Boundary]] = lambda found: found,
    say: Callable[[str], None] = lambda line: None,
    keep: object = False,
    sink: str = "file",
    tries: int = 2,
) -> Tally:
    """The reference run, then a crash and a recovery at every boundary `pick` keeps.

    A copy of the run may batch its journal appends differently and pass a boundary fewer times
    than the reference did: a crash that did not happen is tried again, `tries` times in all."""
    label = backend.name if sink == "file" else f"{backend.name}, {sink} sink"
    where = base / label.replace(", ", "-").replace(" ", "-")
    h = Harness(where, backend, server, run, crashing, keep=bool(keep), sink=sink)
    h.prepare()
    found = reference(h)
    tally = Tally(label, len(found), len({b.name for b in found}))
    for boundary in pick(found):
        for _ in range(tries):
            findings = crash_and_recover(h, boundary)
            if findings.crashed:
                break
        tally.add(findings)
        if findings.bad or not findings.crashed:
            say(f"{label} {boundary.target} ({boundary.area} {boundary.where}): {describe(findings)}")
    return tally


def describe(f: Findings) -> str:
    parts = [] if f.crashed else ["not reached (every try batched its appends differently)"]
    for attr in ("lost", "duplicates", "unflagged", "false_clean", "unconverged"):
        if getattr(f, attr):
            parts.append(f"{attr} {getattr(f, attr)}")
    if f.names:
        parts.append("passcodes: " + ", ".join(sorted(f.names)))
    return ", ".join(parts + f.notes[:2])
