#!/usr/bin/env python3
"""Benchmark: one address's life in one command, against the loop of `state diff` it replaces.

Writes a local state of VERSIONS versions (an account of PASSCODES passcodes; each version
updates, renames, rotates or loses one of them, with an audit record like an apply's), then
times, interleaved so that load hits both alike:

* `ctconfig state history ADDRESS`               one process, every version read once
* `ctconfig state diff N-1 N` for every N         the auditor's loop before it (issue 22: 7.7 s for 10)

and prints each one's median wall time, their ratio, and the in-process time of the history
itself (without the process start).

    python bench/state_history.py                       # 50 versions, 5 rounds
    python bench/state_history.py --versions 200 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from plan_apply import compile_like_an_install

from ctconfig.domain import Address
from ctconfig.state.base import AuditRecord
from ctconfig.state.document import AccountPasscodeRecord, Origin, RecordType, State
from ctconfig.state.local import LocalBackend

ACCOUNT_ID = "W9R-486-4W5Z"
WATCHED = "prod/account_passcode/passcode-000"


def ctconfig_command() -> list[str]:
    beside = Path(sys.executable).with_name("ctconfig")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ctconfig"]


def record(name: str, pid: str, days: int, now: datetime) -> AccountPasscodeRecord:
    return AccountPasscodeRecord(
        account_id=ACCOUNT_ID,
        id=pid,
        name=name,
        expires_in=days,
        created_at=now,
        expires_at=now + timedelta(days=days),
        origin=Origin.CREATED,
        secret_fingerprint="sha256:0123456789ab",
    )


def write_versions(folder: Path, versions: int, passcodes: int) -> None:
    """A month of applies: version n changes passcode n % PASSCODES (update, rename or rotation)."""
    backend = LocalBackend(folder / "ctconfig.state.json")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    resources: dict[Address, RecordType] = {
        Address.account_passcode("prod", f"passcode-{i:03d}"): record(
            f"passcode-{i:03d}", f"pc-{i}", 90, start
        )
        for i in range(passcodes)
    }
    token = None
    state = State.new()
    for n in range(versions):
        when = start + timedelta(hours=n)
        address = Address.account_passcode("prod", f"passcode-{n % passcodes:03d}")
        current = resources[address]
        assert isinstance(current, AccountPasscodeRecord)
        if n % 3 == 1:
            resources[address] = replace(current, expires_in=current.expires_in + 1)  # type: ignore[operator]
        elif n % 3 == 2:
            resources[address] = replace(current, id=f"{current.id}-r{n}")  # a rotation's new passcode
        actions = [{"address": str(address), "action": "update", "outcome": "done", "message": ""}]
        audit = AuditRecord(
            who="ci-bot",
            when=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            operation="apply",
            plan_digest="sha256:" + f"{n:064x}",
            actions=actions,
            summary="1 updated",
            commit=f"{n:040x}",
        )
        state = state.with_resources(resources).next_version()
        token = backend.write(state, token, audit)
    (folder / "ctconfig.yaml").write_text(
        f"version: 1\nstate: {{backend: local, path: ctconfig.state.json}}\n"
        f"accounts:\n  prod: {{id: {ACCOUNT_ID}}}\n"
    )


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=os.environ)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--passcodes", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    compile_like_an_install()
    ct = ctconfig_command()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        write_versions(folder, args.versions, args.passcodes)
        one, loop = [], []
        for _ in range(args.repeat):
            one.append(timed([*ct, "state", "history", WATCHED], folder))
            loop.append(
                sum(
                    timed([*ct, "state", "diff", str(n - 1), str(n)], folder)
                    for n in range(2, args.versions + 1)
                )
            )
        os.chdir(folder)
        from ctconfig.service.state_edits import address_history
        from ctconfig.service.workspace import Workspace

        started = time.perf_counter()
        events = address_history(Workspace.open(None), Address.parse(WATCHED))
        inside = time.perf_counter() - started
    history, diffs = statistics.median(one), statistics.median(loop)
    print(f"{args.versions} versions of {args.passcodes} passcodes; median of {args.repeat} rounds")
    print(f"  ctconfig state history ADDRESS          {history:8.2f} s   ({len(events)} events)")
    print(f"  {args.versions - 1} x ctconfig state diff N-1 N          {diffs:8.2f} s")
    print(f"  ratio history / loop                    {history / diffs:8.3f}x")
    print(f"  the history in-process (no start-up)    {inside * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
