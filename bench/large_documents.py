"""What refusing a hostile state or plan document costs, beside reading a real one (issue 20, row 5).

Each document sits under the 64 MiB bound; each command runs as its own process, and the table
gives its wall time and peak resident memory. A real state of 100,000 resources (~50 MB) is the
peer: refusing a hostile document should cost about what reading that one does, or less.

    python bench/large_documents.py            # all documents
    python bench/large_documents.py --quick    # without the 100,000-resource peer (its write takes a while)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

MIB = 1024 * 1024
LINEAGE = str(uuid.uuid4()).encode()
HEADER = b'{"format_version":2,"lineage":"%s","serial":1,"resources":{}' % LINEAGE


def ctconfig() -> list[str]:
    beside = Path(sys.executable).with_name("ctconfig")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ctconfig"]


def dense_values() -> bytes:
    """60 MiB of zeros under an extra key: 31 million values."""
    return HEADER + b',"x":[' + b"0," * (30 * MIB) + b"0]}"


def empty_records() -> bytes:
    """1.3 million empty records (each was one validation error): 40 MB."""
    records = b",".join(b'"a/account_passcode/p%d":{}' % n for n in range(1_300_000))
    return b'{"format_version":2,"lineage":"%s","serial":1,"resources":{%s}}' % (LINEAGE, records)


def top_level_keys() -> bytes:
    """1.9 million unknown top-level keys (each was one validation error): 24 MB."""
    keys = b",".join(b'"x%d":0' % n for n in range(1_900_000))
    return HEADER + b"," + keys + b"}"


def hostile_plan() -> bytes:
    """A plan file whose actions are 20 million empty lists: 60 MiB."""
    return b'{"ctconfig_format":3,"actions":[' + b"[]," * (20 * MIB) + b"[]]}"


def real_state(resources: int) -> bytes:
    """A state as ctconfig writes it, half of its records tainted (the longest form)."""
    from ctconfig.domain import Address
    from ctconfig.state.document import AccountPasscodeRecord, State

    now = datetime(2026, 11, 29, tzinfo=UTC)
    records = {}
    for n in range(resources):
        records[Address.account_passcode(f"acct{n % 100}", f"passcode-name-{n}")] = AccountPasscodeRecord(
            account_id="W9R-486-4W5Z",
            id=uuid.uuid4().hex,
            name=f"passcode-name-{n}",
            expires_in=90,
            created_at=now,
            expires_at=now,
            secret_fingerprint="lossy20:01234",
            tainted="the sink failed: disk full" if n % 2 else None,
        )
    return State.new().with_resources(records).dumps().encode()


ON_ITS_OWN = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
seconds = time.perf_counter() - start
said = (done.stderr.strip().splitlines() or ["(read)"])[-1]
print(f"{seconds} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {said}")
"""


def measure(args: list[str], cwd: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MiB) and the last stderr line of one process.

    A small interpreter starts it: a child forked straight from this process (which holds
    the documents) would count the pages it shares with it until exec.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")} | {"NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", ON_ITS_OWN, *ctconfig(), *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds, peak_kib, said = done.stdout.strip().split(" ", 2)
    return float(seconds), int(peak_kib) // 1024, said[:90]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="leave out the 100,000-resource peer")
    quick = parser.parse_args().quick
    cases = [
        ("state: 31M values under an extra key", "state", dense_values),
        ("state: 1.3M empty records", "state", empty_records),
        ("state: 1.9M unknown top-level keys", "state", top_level_keys),
        ("plan: 20M empty lists", "plan", hostile_plan),
    ]
    if not quick:
        cases.append(("state: real, 100,000 resources (peer)", "state", lambda: real_state(100_000)))
    print(f"{'document':42} {'MB':>5} {'s':>6} {'MiB':>6}  said")
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        (root / "ctconfig.yaml").write_text(
            "version: 1\nstate: {backend: local, path: ctconfig.state.json}\naccounts: {}\n"
        )
        for title, kind, make in cases:
            document = make()
            file = "ctconfig.state.json" if kind == "state" else "hostile.plan"
            (root / file).write_bytes(document)
            command = ["state", "list"] if kind == "state" else ["show", file]
            seconds, peak, said = measure(command, root)
            print(f"{title:42} {len(document) / 1e6:5.0f} {seconds:6.2f} {peak:6d}  {said}")
            (root / file).unlink()


if __name__ == "__main__":
    main()
