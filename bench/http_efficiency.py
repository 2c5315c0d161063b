#!/usr/bin/env python3
"""Benchmark: how close the `clevertap` provider comes to the ideal over a real socket.

Starts its own `ctconfig sandbox serve --latency L` on a free loopback port,
takes admin passcodes with `ctconfig sandbox admin-passcode`, then times, with
the provider's public API, 100 creates in one account and 300 creates across
three accounts (all at once; the provider keeps 3 in flight per account).

    ideal    = creates per account x latency / 3 in flight   (accounts run in parallel)
    achieved = wall time of the batch
    efficiency = ideal / achieved                             target: >= 75 %

Also printed: client CPU per create (this process) and server CPU per create
(the server process, from /proc), and the server's own counters. Prints the
median of REPEAT runs; `--check` exits 1 if an efficiency is below 75 %.

    python bench/http_efficiency.py
    python bench/http_efficiency.py --latency 0.05 --repeat 5 --check
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

from ctconfig.config.spec import ClevertapProviderConfig
from ctconfig.domain import AccountTarget
from ctconfig.providers.clevertap import ClevertapProvider

IN_FLIGHT = 3
TARGET = 0.75
SCENARIOS = (("100 creates, 1 account", 1, 100), ("300 creates, 3 accounts", 3, 100))


def ctconfig() -> list[str]:
    beside = Path(sys.executable).with_name("ctconfig")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ctconfig"]


@dataclass
class Server:
    """The `sandbox serve` subprocess this benchmark started."""

    process: subprocess.Popen[str]
    url: str
    db: Path

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict[str, object]:
        with urlopen(self.url + "/_sandbox/stats", timeout=5) as answer:
            data: dict[str, object] = json.loads(answer.read())
        return data

    def admin_passcode(self, account_id: str) -> str:
        done = subprocess.run(
            [*ctconfig(), "sandbox", "--db", str(self.db), "admin-passcode", account_id],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()  # kept in memory, never printed

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(db: Path, latency: float) -> Server:
    command = [*ctconfig(), "sandbox", "--db", str(db), "serve", "--port", "0", "--latency", str(latency)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    url = first.rsplit(" ", 1)[-1]
    if not url.startswith("http://"):
        process.kill()
        raise SystemExit(f"sandbox serve did not start: {first!r}")
    return Server(process, url, db)


@dataclass
class Result:
    wall: float
    client_cpu: float
    server_cpu: float


async def create_batch(server: Server, accounts: list[str], per_account: int) -> Result:
    """All creates of all accounts at once through one provider; timed from first send to last answer."""
    env = {f"CT_BENCH_{n}": server.admin_passcode(a) for n, a in enumerate(accounts)}
    targets = [AccountTarget(f"a{n}", a, "eu1", f"CT_BENCH_{n}") for n, a in enumerate(accounts)]
    config = ClevertapProviderConfig.model_validate({"kind": "clevertap", "base_url": server.url})
    provider = ClevertapProvider(config, env)
    try:
        await asyncio.gather(*(provider.read_account(t) for t in targets))  # warm: connections, imports
        server_before, cpu_before, started = server.cpu_seconds(), time.process_time(), time.perf_counter()
        await asyncio.gather(
            *(provider.create_passcode(t, f"bench-{i:03d}", 30) for t in targets for i in range(per_account))
        )
        wall = time.perf_counter() - started
        client_cpu, server_cpu = time.process_time() - cpu_before, server.cpu_seconds() - server_before
    finally:
        await provider.aclose()
    if provider.stats.retries:
        print(f"  (note: {provider.stats.summary()})")
    return Result(wall, client_cpu, server_cpu)


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per request (s)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 if an efficiency is below 75 %%")
    args = parser.parse_args()

    below = False
    with tempfile.TemporaryDirectory(prefix="ctconfig-http-bench-") as folder:
        server = start_server(Path(folder) / "sandbox.db", args.latency)
        try:
            print(f"sandbox serve --latency {args.latency} at {server.url}; median of {args.repeat} runs")
            run = 0
            for label, account_count, per_account in SCENARIOS:
                results = []
                for _ in range(args.repeat):
                    run += 1
                    accounts = [f"BEN-{run:03d}-{n:04d}" for n in range(account_count)]
                    results.append(asyncio.run(create_batch(server, accounts, per_account)))
                creates = account_count * per_account
                wall = statistics.median(r.wall for r in results)
                ideal = per_account * args.latency / IN_FLIGHT
                client = statistics.median(r.client_cpu for r in results) / creates * 1000
                served = statistics.median(r.server_cpu for r in results) / creates * 1000
                efficiency = ideal / wall
                below |= efficiency < TARGET
                print(
                    f"{label}: {wall:.2f} s achieved, {ideal:.2f} s ideal, efficiency {efficiency:.0%}; "
                    f"CPU per create: client {client:.2f} ms, server {served:.2f} ms"
                )
            stats = server.stats()
            print(
                f"server: {stats['requests']} requests, peak in flight {stats['peak_inflight']}, "
                f"{stats['inflight_rejections']} refused over the limit"
            )
        finally:
            server.stop()
    return 1 if args.check and below else 0


if __name__ == "__main__":
    raise SystemExit(main())
