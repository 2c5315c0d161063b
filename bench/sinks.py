#!/usr/bin/env python3
"""Benchmark: secrets per second into the file and env-file sinks, one `store` at a time vs `store_many`.

N secrets across accounts of 70 passcodes each (as an apply from empty sends them).
For each way of storing, a fresh directory; prints the median of REPEAT runs as
secrets/s (wall) and CPU milliseconds per secret (this process, all threads).

    python bench/sinks.py                       # N = 1,000, 3 runs
    python bench/sinks.py --secrets 5000 --repeat 5 --dir /var/tmp

Ways: `store` from one thread; `store` from a 6-thread pool (what the applier
does per secret; concurrent calls join one group commit); `store_many` in
batches of 50; `store_many` of all N at once. The env-file sink rewrites its
whole file per batch, so its one-at-a-time runs are quadratic in N.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ctconfig.domain import Address
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef, SecretSink
from ctconfig.sinks.env_file import EnvFileSink
from ctconfig.sinks.file import FileSink

PASSCODES_PER_ACCOUNT = 70
Items = Sequence[tuple[SecretRef, Secret]]


def items(count: int) -> list[tuple[SecretRef, Secret]]:
    return [
        (
            SecretRef(
                Address.account_passcode(f"acct{i // PASSCODES_PER_ACCOUNT}", f"passcode-{i}"), "W9R-486-4W5Z"
            ),
            Secret(f"AMA-{i:04d}-{i * 7919 % 10000:04d}"),
        )
        for i in range(count)
    ]


def one_thread(sink: SecretSink, batch: Items) -> None:
    for ref, secret in batch:
        sink.store(ref, secret)


def six_threads(sink: SecretSink, batch: Items) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda item: sink.store(*item), batch))


def batches_of_50(sink: SecretSink, batch: Items) -> None:
    for start in range(0, len(batch), 50):
        assert all(o.stored for o in sink.store_many(batch[start : start + 50]))


def all_at_once(sink: SecretSink, batch: Items) -> None:
    assert all(o.stored for o in sink.store_many(batch))


WAYS: dict[str, Callable[[SecretSink, Items], None]] = {
    "store, 1 thread": one_thread,
    "store, 6 threads": six_threads,
    "store_many, batches of 50": batches_of_50,
    "store_many, all at once": all_at_once,
}
SINKS: dict[str, Callable[[Path], SecretSink]] = {
    "file": lambda root: FileSink(root / "secrets"),
    "env-file": lambda root: EnvFileSink(root / "secrets.env"),
}


def measure(
    make: Callable[[Path], SecretSink], way: Callable[[SecretSink, Items], None], count: int, base: str | None
) -> tuple[float, float]:
    """(secrets per second, CPU ms per secret) of one run in a fresh directory."""
    batch = items(count)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        sink = make(Path(tmp))
        wall, cpu = time.perf_counter(), time.process_time()
        way(sink, batch)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert sink.read(batch[-1][0]) == batch[-1][1]
    return count / wall, 1000 * cpu / count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where the temporary sinks live (default: the system's)")
    args = parser.parse_args()
    print(f"{args.secrets} secrets, median of {args.repeat} runs")
    print(f"{'sink':<9} {'way':<27} {'secrets/s':>10} {'CPU ms/secret':>14}")
    for sink_name, make in SINKS.items():
        for way_name, way in WAYS.items():
            runs = [measure(make, way, args.secrets, args.dir) for _ in range(args.repeat)]
            rate = statistics.median(r for r, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"{sink_name:<9} {way_name:<27} {rate:>10,.0f} {cpu:>14.3f}")


if __name__ == "__main__":
    main()
