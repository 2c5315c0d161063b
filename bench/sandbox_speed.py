#!/usr/bin/env python3
"""Benchmark: what one sandbox operation costs, over HTTP and in the SQLite store.

HTTP: a real `ctconfig sandbox serve --latency 0`, timed per request from a
client that reuses one connection (keep-alive) and from one that opens a fresh
connection per request. A server whose sockets lack TCP_NODELAY shows ~40 ms
per request on the reused connection (Nagle's algorithm meets delayed ACKs).

Store: the median cost of an empty write transaction (`BEGIN IMMEDIATE` +
`COMMIT`), of a passcode create and of a read, on a database that already holds
a few hundred rows, as the embedded provider pays them during an apply.

    python bench/sandbox_speed.py               # 200 requests, 2,000 store operations
    python bench/sandbox_speed.py --requests 500 --operations 5000
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

from ctconfig.sandbox.store import SandboxStore

ACCOUNT = "W9R-486-4W5Z"
_URL = re.compile(r"^Serving sandbox on (http://\S+)$")


def ctconfig() -> list[str]:
    beside = Path(sys.executable).with_name("ctconfig")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ctconfig"]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(action: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def http_figures(root: Path, requests: int) -> dict[str, float]:
    db = root / "http.db"
    with SandboxStore(db) as store:
        admin = store.issue_admin_passcode(ACCOUNT)
    server = subprocess.Popen(
        [*ctconfig(), "sandbox", "--db", str(db), "serve", "--port", "0", "--latency", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        match = _URL.match(server.stdout.readline().strip())
        if not match:
            raise SystemExit("the sandbox server did not start")
        url = match.group(1)
        headers = {"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": admin}
        address = urlsplit(url)
        reused_connection = HTTPConnection(address.hostname or "", address.port)

        def get(connection: HTTPConnection) -> None:
            connection.request("GET", "/1/passcodes.json", headers=headers)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise SystemExit(f"unexpected answer {answer.status}")

        get(reused_connection)
        reused = timed(lambda: get(reused_connection), requests)
        reused_connection.close()

        def fresh() -> None:
            connection = HTTPConnection(address.hostname or "", address.port)
            get(connection)
            connection.close()

        fresh_samples = timed(fresh, requests)
    finally:
        server.terminate()
        server.wait(timeout=15)
    return {
        "HTTP request, reused connection": median_ms(reused),
        "HTTP request, fresh connection": median_ms(fresh_samples),
    }


def store_figures(root: Path, operations: int) -> dict[str, float]:
    with SandboxStore(root / "store.db") as store:
        store.ensure_account(ACCOUNT)
        for n in range(100):  # other accounts in the same file, each with passcodes
            store.ensure_account(f"TEST-{n:03d}-ZZK")
            for p in range(5):
                store.create_passcode(f"TEST-{n:03d}-ZZK", f"p{p}", 30)
        conn_lock = store._lock

        def empty_transaction() -> None:
            with conn_lock:
                store._conn.execute("BEGIN IMMEDIATE")
                store._conn.commit()

        empty = timed(empty_transaction, operations)
        created: list[str] = []

        def create() -> None:
            passcode, _secret = store.create_passcode(ACCOUNT, f"p{len(created)}", 30)
            created.append(passcode.id)
            if len(created) % 90 == 0:  # stay under the 100-passcode limit
                for passcode_id in created[-90:]:
                    store.delete_passcode(ACCOUNT, passcode_id)

        creates = timed(create, operations)
        reads = timed(lambda: store.read(ACCOUNT), operations)
    return {
        "store: empty write transaction": median_ms(empty),
        "store: create_passcode": median_ms(creates),
        "store: read (one account)": median_ms(reads),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--operations", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ctconfig-bench-") as tmp:
        figures = {**http_figures(Path(tmp), args.requests), **store_figures(Path(tmp), args.operations)}
    for case, ms in figures.items():
        print(f"{case:<36} {ms:8.3f} ms (median)")


if __name__ == "__main__":
    main()
