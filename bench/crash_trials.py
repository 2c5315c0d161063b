#!/usr/bin/env python3
"""Crash trials: SIGKILL `ctconfig apply` at random moments and prove no secret is ever lost.

Each trial starts from empty accounts served over HTTP by `ctconfig sandbox serve`
(with latency and dropped answers), starts `ctconfig apply --auto-approve`, kills it
with SIGKILL after a seeded random delay, then runs `apply` again until
`plan --detailed-exitcode` exits 0. Then it checks, for every declared passcode:

- its secret is in the file sink, its fingerprint is the one state records, and the
  sandbox authenticates it for its account (the secret is live, not a stale one);
- the account holds no passcode state does not manage (no duplicate, no leak);
- every state version written parses.

PostgreSQL trials keep state (and so the journal) in the database and run every
recovering apply from a *different working directory*, as a second CI runner would.
Server trials kill `sandbox serve` itself mid-apply and restart it.

    python bench/crash_trials.py                       # 100 local + 100 postgres kills, 10 server kills
    python bench/crash_trials.py --kills 20 --server-kills 3 --backends local

The seed fixes every choice (accounts, kill delays, fault draws); wall-clock timing
still decides what a kill interrupts, which is the point. PostgreSQL comes from
$CTCONFIG_TEST_PG_DSN, or `.ci/start-postgres` is used to start a throwaway one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ctconfig.domain import Address
from ctconfig.sandbox.store import SandboxStore
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef
from ctconfig.sinks.file import FileSink

ROOT = Path(__file__).resolve().parents[1]
LOCK_ID = re.compile(r"force-unlock ([0-9a-f-]{36})")
URL = re.compile(r"^Serving sandbox on (http://\S+)$")
MAX_APPLIES = 8


def ctconfig() -> list[str]:
    beside = Path(sys.executable).with_name("ctconfig")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ctconfig"]


@dataclass
class Tally:
    """What the trials of one kind found."""

    trials: int = 0
    kills: int = 0
    lost: int = 0
    duplicates: int = 0
    unparsable: int = 0
    unconverged: int = 0
    applies: list[int] = field(default_factory=list)
    passcodes: int = 0
    interrupted: int = 0  # kills that left work in the journal (the next run recovered it)
    settled: int = 0  # intents of a killed run settled by the next one

    def row(self, name: str) -> str:
        mean = statistics.mean(self.applies) if self.applies else 0.0
        most = max(self.applies, default=0)
        return (
            f"| {name} | {self.kills} | {self.interrupted} | {self.settled} | {self.passcodes} | {self.lost} "
            f"| {self.duplicates} | {self.unparsable} | {self.unconverged} | {mean:.2f} / {most} |"
        )


class Server:
    """`ctconfig sandbox serve` on a free port, restartable on the same port."""

    def __init__(self, db: Path, args: list[str]) -> None:
        self.db, self.args, self.port = db, args, 0
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        command = [
            *ctconfig(),
            "sandbox",
            "--db",
            str(self.db),
            "serve",
            "--port",
            str(self.port),
            *self.args,
        ]
        for _ in range(50):  # a restarted server may wait for its old port
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            assert self.process.stdout is not None
            match = URL.match(self.process.stdout.readline().strip())
            if match:
                self.url = match.group(1)
                self.port = int(self.url.rsplit(":", 1)[1])
                return
            self.process.wait()
            time.sleep(0.2)
        raise RuntimeError("sandbox serve did not start")

    def requests(self) -> int:
        """How many requests the server has answered (its loopback-only stats endpoint)."""
        try:
            with urllib.request.urlopen(f"{self.url}/_sandbox/stats", timeout=5) as answer:
                return int(json.load(answer)["requests"])
        except (OSError, ValueError, KeyError):
            return -1

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Trial:
    """One workspace: config, sandbox, sink and the env holding the admin passcodes."""

    root: Path
    accounts: dict[str, str]  # alias -> id
    declared: dict[str, list[str]]
    env: dict[str, str]
    state_args: list[str]

    @property
    def config(self) -> Path:
        return self.root / "ctconfig.yaml"

    def run(
        self, *args: str, cwd: Path | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*ctconfig(), "-c", str(self.config), *args],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def build(root: Path, db: Path, url: str, rng: random.Random, size: int, state_block: str, pg: str) -> Trial:
    accounts = {f"acct{a}": f"TEST-{rng.randrange(100, 999)}-ZZK-{a:03d}Z" for a in range(3)}
    declared = {alias: [f"p{i:02d}" for i in range(size)] for alias in accounts}
    users = [f"user{u}@example.com" for u in range(3)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")} | {"NO_COLOR": "1"}
    # The operator's allow-lists (README "Security model"): its own sandbox server, its own directory.
    env |= {"CTCONFIG_ALLOWED_ENDPOINTS": url, "CTCONFIG_ALLOWED_PATHS": str(root)}
    if pg:
        env["CT_CRASH_PG_DSN"] = pg
    lines = [
        "version: 1",
        state_block,
        f"provider: {{kind: clevertap, base_url: '{url}', retry_budget: 30}}",
        f"secrets: {{sink: file, path: '{root / 'secrets'}'}}",
        "accounts:",
    ]
    with SandboxStore(db) as store:
        for alias, account_id in accounts.items():
            store.ensure_account(account_id, users)
            env[f"CT_{alias.upper()}_PASSCODE"] = store.issue_admin_passcode(account_id)
            lines += [
                f"  {alias}:",
                f"    id: {account_id}",
                f"    credentials: {{passcode_env: CT_{alias.upper()}_PASSCODE}}",
                "    account_passcodes:",
            ]
            lines += [f"      {name}: {{expires_in: 90d}}" for name in declared[alias]]
            lines += ["    user_passcodes:"] + [f"      {u}: {{validity: 30d}}" for u in users]
    (root / "ctconfig.yaml").write_text("\n".join(lines) + "\n")
    return Trial(root, accounts, declared, env, [])


def converge(trial: Trial, cwd: Path, tally: Tally) -> int:
    """Apply until the plan has nothing to do; returns how many applies it took (0: never)."""
    applies = 0
    for _ in range(MAX_APPLIES):
        done = trial.run("apply", "--auto-approve", cwd=cwd)
        tally.settled += done.stderr.count("an interrupted apply")
        if "interrupted apply" in done.stderr:
            tally.interrupted += 1
        held = LOCK_ID.search(done.stderr)
        if held:  # a killed run cannot release its lock: the person would force-unlock it
            trial.run("force-unlock", "--yes", held.group(1), cwd=cwd)
            continue
        applies += 1
        plan = trial.run("plan", "--detailed-exitcode", cwd=cwd)
        if plan.returncode == 0:
            return applies
    tally.unconverged += 1
    return 0


def check(trial: Trial, db: Path, tally: Tally) -> None:
    """Count lost secrets, leaked passcodes and unparsable state after convergence."""
    pulled = trial.run("state", "pull")
    try:
        resources = json.loads(pulled.stdout)["resources"]
    except (ValueError, KeyError):
        tally.unparsable += 1
        return
    sink = FileSink(trial.root / "secrets")
    with SandboxStore(db) as store:
        for alias, account_id in trial.accounts.items():
            managed_ids = {
                r["id"] for a, r in resources.items() if a.startswith(f"{alias}/account_passcode/")
            }
            live = store.read(account_id).passcodes
            tally.duplicates += sum(1 for p in live if p.id not in managed_ids)
            for name in trial.declared[alias]:
                tally.passcodes += 1
                record = resources.get(f"{alias}/account_passcode/{name}") or {}
                held = sink.read(SecretRef(Address.account_passcode(alias, name), account_id))
                secret = held.reveal() if held is not None else ""
                credential = store.authenticate(account_id, secret) if secret else None
                ok = (
                    bool(secret)
                    and Secret(secret).matches(record.get("secret_fingerprint"))
                    and not record.get("tainted")
                    and credential is not None
                    and credential.name == name
                )
                tally.lost += 0 if ok else 1


def after_requests(server: Server, rng: random.Random, window: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until the server has answered a random number (1..window) of this apply's requests."""
    target = server.requests() + rng.randint(1, max(1, window))
    while process.poll() is None and server.requests() < target:
        time.sleep(0.005)


def kill_apply(trial: Trial, server: Server, rng: random.Random, window: int, cwd: Path) -> None:
    """Start an apply and SIGKILL it once the server has seen a random part of its requests."""
    process = subprocess.Popen(
        [*ctconfig(), "-c", str(trial.config), "apply", "--auto-approve"],
        cwd=cwd,
        env=trial.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    after_requests(server, rng, window, process)
    process.send_signal(signal.SIGKILL)
    process.wait()


def calibrate(base: Path, rng: random.Random, args: argparse.Namespace) -> int:
    """How many requests one whole apply makes: kills are spread over them."""
    root = Path(tempfile.mkdtemp(dir=base))
    server = Server(root / "sandbox.db", ["--latency", str(args.latency)])
    server.start()
    try:
        state_block = f"state: {{backend: local, path: '{root / 'ctconfig.state.json'}'}}"
        trial = build(root, root / "sandbox.db", server.url, rng, args.size, state_block, "")
        before = server.requests()
        trial.run("apply", "--auto-approve")
        return server.requests() - before
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def one_trial(
    base: Path,
    rng: random.Random,
    args: argparse.Namespace,
    backend: str,
    pg: str,
    tally: Tally,
    kill_server: bool,
) -> None:
    root = Path(tempfile.mkdtemp(dir=base))
    db = root / "sandbox.db"
    faults = [
        "--latency",
        str(args.latency),
        "--drop-rate",
        str(args.drop_rate),
        "--seed",
        str(rng.randrange(10**6)),
    ]
    server = Server(db, faults)
    server.start()
    try:
        name = f"crash{rng.randrange(10**9)}"
        state_block = (
            f"state: {{backend: postgres, dsn_env: CT_CRASH_PG_DSN, name: {name}}}"
            if backend == "postgres"
            else f"state: {{backend: local, path: '{root / 'ctconfig.state.json'}'}}"
        )
        trial = build(root, db, server.url, rng, args.size, state_block, pg)
        first, other = root / "runner-a", root / "runner-b"
        first.mkdir()
        other.mkdir()
        if kill_server:
            process = subprocess.Popen(
                [*ctconfig(), "-c", str(trial.config), "apply", "--auto-approve"],
                cwd=first,
                env=trial.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            after_requests(server, rng, args.window, process)
            server.kill()
            time.sleep(rng.uniform(0.5, 3.0))  # a restart of 0.5 to 3 s, as CI machines see
            server.start()
            process.wait(timeout=600)
        else:
            kill_apply(trial, server, rng, args.window, first)
        tally.kills += 1
        # The recovering run: another working directory for PostgreSQL (another CI runner).
        applies = converge(trial, other if backend == "postgres" else first, tally)
        tally.trials += 1
        if applies:
            tally.applies.append(applies)
        check(trial, db, tally)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def postgres_dsn() -> tuple[str, str]:
    """A DSN and the command that stops the server if this script started it."""
    if os.environ.get("CTCONFIG_TEST_PG_DSN"):
        return os.environ["CTCONFIG_TEST_PG_DSN"], ""
    out = subprocess.run(
        ["bash", str(ROOT / ".ci" / "start-postgres")], capture_output=True, text=True, check=True
    )
    values = dict(re.findall(r"export (\w+)='([^']*)'", out.stdout))
    return values["CTCONFIG_TEST_PG_DSN"], values.get("CTCONFIG_TEST_PG_STOP", "")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLed applies per state backend")
    parser.add_argument("--server-kills", type=int, default=10, help="sandbox servers killed mid-apply")
    parser.add_argument("--backends", default="local,postgres", help="comma-separated: local, postgres")
    parser.add_argument(
        "--size", type=int, default=10, help="passcodes per account (3 accounts, 3 grants each)"
    )
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--drop-rate", type=float, default=0.1)
    parser.add_argument(
        "--window",
        type=int,
        default=0,
        help="kill within this many requests of the start (0: one apply's count)",
    )
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    backends = [b for b in args.backends.split(",") if b]
    pg, stop = postgres_dsn() if "postgres" in backends else ("", "")
    tallies: dict[str, Tally] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ctconfig-crash-") as base:
        if not args.window:
            args.window = calibrate(Path(base), rng, args)
        try:
            for backend in backends:
                tally = tallies.setdefault(f"apply SIGKILL, {backend} state", Tally())
                for _ in range(args.kills):
                    one_trial(Path(base), rng, args, backend, pg, tally, kill_server=False)
            server = tallies.setdefault("sandbox server SIGKILL, local state", Tally())
            for _ in range(args.server_kills):
                one_trial(Path(base), rng, args, "local", pg, server, kill_server=True)
        finally:
            if stop:
                subprocess.run(stop, shell=True, check=False, capture_output=True)
    took = time.perf_counter() - started
    print(
        f"Crash trials (seed {args.seed}; 3 accounts x {args.size} passcodes + 3 grants; "
        f"latency {args.latency}s, {args.drop_rate:.0%} answers dropped; "
        f"each kill after 1 to {args.window} of an apply's requests; {took:.0f}s)\n"
    )
    print(
        "| kind | kills | kills mid-apply (journal recovered) | intents settled | passcodes checked "
        "| lost secrets | duplicates | unparsable state | never converged "
        "| applies to converge (mean / max) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, tally in tallies.items():
        print(tally.row(name))
    bad = sum(t.lost + t.duplicates + t.unparsable + t.unconverged for t in tallies.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
