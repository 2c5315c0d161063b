#!/usr/bin/env python3
"""Benchmark: many accounts over HTTP, at the network's pace; and bounds against a hostile provider.

**Scale** (default): A accounts x P account passcodes (+ 3 user grants each) over
`ctconfig sandbox serve --latency L --workers W`, as whole `ctconfig` processes:

- `apply` from empty (clevertap provider, file sink, local state);
- a no-op `plan` right after;
- a `dashboard` refresh: `plan` with the dashboard provider, which asks CleverTap's
  credential check about every managed passcode whose secret the sink holds.

For each it prints wall seconds, client CPU (user+sys of the ctconfig process),
server CPU (user+sys of every server process), requests, client CPU per request,
and achieved/ideal, where ideal = ceil(requests per account / 3) x L: every
account in parallel, CleverTap's 3 requests in flight each, nothing but the
network. "excl. start-up" takes away what the same command costs before its
first request (the no-op plan's wall less its one round of reads).

    python bench/scale.py --accounts 100 --passcodes 100 --latency 0.05 --workers 1
    python bench/scale.py --accounts 1 --passcodes 100        # one account: the slot pipeline

**Hostile** (`--hostile`): `ctconfig plan` against a provider that sends an endless
body, and one that sends one byte every `--slow-interval` seconds, with
`timeout: T` and `retry_budget: B` in the config: peak RSS over a plan against a
well-behaved server (goal <= 100 MiB over it) and wall time (goal: T + B, plus
start-up).

    python bench/scale.py --hostile --timeout 10 --retry-budget 5
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plan_apply import compile_like_an_install, ctconfig

from ctconfig.sandbox.store import SandboxStore

IN_FLIGHT = 3
GRANTS = 3
TRAFFIC = re.compile(r"HTTP: (\d+) requests?")


@dataclass
class Run:
    """One whole command: wall, its CPU, the server's CPU meanwhile, the requests it sent."""

    wall: float
    client_cpu: float
    server_cpu: float
    peak_kib: int
    requests: int


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """`pid` and its children (the forked workers)."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    pids: list[int]

    def cpu(self) -> float:
        return sum(cpu_of(pid) for pid in self.pids)


@contextmanager
def sandbox_server(db: Path, latency: float, workers: int) -> Iterator[Server]:
    command = [*ctconfig(), "sandbox", "--db", str(db), "serve", "--port", "0", "--latency", str(latency)]
    command += ["--workers", str(workers), "--max-inflight", str(IN_FLIGHT)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
    if not url.startswith("http://"):
        process.kill()
        raise SystemExit(f"sandbox serve did not start: {url!r}")
    time.sleep(0.5 if workers > 1 else 0.1)
    try:
        yield Server(process, url, family(process.pid))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def timed(command: list[str], cwd: Path, env: dict[str, str], server: Server | None) -> Run:
    server_before = server.cpu() if server else 0.0
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        raise SystemExit(f"{' '.join(command[-3:])} exited {code}: {text[-3000:]}")
    traffic = TRAFFIC.search(text)
    return Run(
        wall,
        usage.ru_utime + usage.ru_stime,
        (server.cpu() - server_before) if server else 0.0,
        usage.ru_maxrss,
        int(traffic.group(1)) if traffic else 0,
    )


# ---- scale ----------------------------------------------------------------------------------


def write_scale(root: Path, db: Path, accounts: int, passcodes: int, provider: str) -> dict[str, str]:
    """The config (and the accounts with their admins in the sandbox); the environment it needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")}
    env |= {"NO_COLOR": "1", "CTCONFIG_ALLOWED_ENDPOINTS": "http://127.0.0.1:*"}
    users = [f"user{u}@example.com" for u in range(GRANTS)]
    lines = ["version: 1", provider, "secrets: {sink: file, path: secrets}", "accounts:"]
    with SandboxStore(db) as store:
        for a in range(accounts):
            account_id = f"TEST-{a // 1000:03d}-ZZK-{a % 1000:03d}Z"
            store.ensure_account(account_id, users)
            env[f"CT_A{a}_PASSCODE"] = store.issue_admin_passcode(account_id)
            lines += [f"  a{a}:", f"    id: {account_id}"]
            lines.append(f"    credentials: {{passcode_env: CT_A{a}_PASSCODE}}")
            lines.append("    account_passcodes:")
            lines += [f"      p{p:03d}: {{expires_in: 90d}}" for p in range(passcodes)]
            lines.append("    user_passcodes:")
            lines += [f"      {u}: {{validity: 30d}}" for u in users]
    (root / "ctconfig.yaml").write_text("\n".join(lines) + "\n")
    return env


def set_provider(root: Path, provider: str) -> None:
    config = root / "ctconfig.yaml"
    lines = config.read_text().splitlines()
    lines[1] = provider
    config.write_text("\n".join(lines) + "\n")


def report(label: str, run: Run, requests: int, per_account: int, latency: float, startup: float) -> None:
    ideal = math.ceil(per_account / IN_FLIGHT) * latency
    count = run.requests or requests
    per = run.client_cpu / count * 1000 if count else 0.0
    served = run.server_cpu / count * 1000 if count else 0.0
    excl = ideal / max(run.wall - startup, 1e-9)
    print(
        f"{label:<18} {run.wall:>7.2f} {run.client_cpu:>8.2f} {run.server_cpu:>8.2f} {count:>8} "
        f"{per:>9.3f} {served:>9.3f} {ideal:>6.2f} {ideal / run.wall:>8.1%} {excl:>8.1%}",
        flush=True,
    )


def scale(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="ctconfig-scale-", dir=args.dir))
    db = root / "sandbox.db"
    try:
        with sandbox_server(db, args.latency, args.workers) as server:
            clevertap = (
                f"provider: {{kind: clevertap, base_url: '{server.url}', retry_budget: 120}}"
            )
            env = write_scale(root, db, args.accounts, args.passcodes, clevertap)
            server.pids = family(server.process.pid)
            print(
                f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, Python "
                f"{sys.version.split()[0]}; {args.accounts} accounts x {args.passcodes} passcodes "
                f"+ {GRANTS} grants; sandbox serve --latency {args.latency} --workers {args.workers}; "
                f"{root}"
            )
            print(
                f"{'case':<18} {'wall s':>7} {'client':>8} {'server':>8} {'requests':>8} "
                f"{'ms/req c':>9} {'ms/req s':>9} {'ideal':>6} {'achieved':>8} {'excl.st':>8}"
            )
            apply = timed([*ctconfig(), "apply", "--auto-approve"], root, env, server)
            noop = timed([*ctconfig(), "plan", "--detailed-exitcode"], root, env, server)
            startup = max(0.0, noop.wall - args.latency)
            per_account = args.passcodes + GRANTS + 3
            report("apply from empty", apply, args.accounts * per_account, per_account, args.latency, startup)
            report("no-op plan", noop, 3 * args.accounts, 3, args.latency, startup)
            dashboard = f"provider: {{kind: dashboard, base_url: '{server.url}', retry_budget: 120}}"
            set_provider(root, dashboard)
            refresh = timed([*ctconfig(), "plan", "--detailed-exitcode"], root, env, server)
            checks = args.accounts * args.passcodes
            report("dashboard refresh", refresh, checks, args.passcodes, args.latency, startup)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


# ---- hostile --------------------------------------------------------------------------------


def hostile(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.untrusted.hostile_provider import Behaviour, Exchange, endless_body, hostile_server, slow_bytes

    async def fine(exchange: Exchange) -> None:
        await exchange.answer(401, {"status": "fail", "error": "nope", "code": 401})

    cases: list[tuple[str, Behaviour]] = [("well-behaved (401)", fine), ("endless body", endless_body)]
    cases.append((f"1 byte / {args.slow_interval:g} s", slow_bytes(args.slow_interval)))
    print(
        f"{datetime.date.today().isoformat()}: `ctconfig plan`, timeout {args.timeout:g} s, retry_budget "
        f"{args.retry_budget:g} s (goal: wall <= {args.timeout + args.retry_budget:g} s + start-up, "
        "peak <= 100 MiB over the well-behaved plan)"
    )
    print(f"{'provider':<22} {'wall s':>7} {'peak MiB':>9} {'over base':>10}")
    baseline = None
    for label, behaviour in cases:
        with tempfile.TemporaryDirectory(prefix="ctconfig-hostile-") as folder, hostile_server(
            behaviour
        ) as srv:
            root = Path(folder)
            (root / "ctconfig.yaml").write_text(
                "version: 1\n"
                f"provider: {{kind: clevertap, base_url: '{srv.url}', timeout: {args.timeout}, "
                f"retry_budget: {args.retry_budget}}}\n"
                "accounts:\n  prod:\n    id: W9R-486-4W5Z\n"
                "    credentials: {passcode_env: CT_PROD_PASSCODE}\n"
            )
            env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")}
            env |= {"CT_PROD_PASSCODE": "ADM-INS-ECRT", "CTCONFIG_ALLOWED_ENDPOINTS": "http://127.0.0.1:*"}
            started = time.perf_counter()
            proc = subprocess.Popen(
                [*ctconfig(), "plan"], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            _, _, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
        peak = usage.ru_maxrss / 1024
        baseline = peak if baseline is None else baseline
        print(f"{label:<22} {wall:>7.2f} {peak:>9.1f} {peak - baseline:>10.1f}", flush=True)


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--passcodes", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=1, help="sandbox serve --workers")
    parser.add_argument("--dir", type=Path, default=None, help="where the workspace goes (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the workspace")
    parser.add_argument("--hostile", action="store_true", help="plan against hostile providers instead")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--retry-budget", type=float, default=5.0)
    parser.add_argument("--slow-interval", type=float, default=5.0)
    args = parser.parse_args()
    compile_like_an_install()
    if args.hostile:
        hostile(args)
    else:
        scale(args)


if __name__ == "__main__":
    main()
