#!/usr/bin/env python3
"""Benchmark: loading and validating a large config, and refusing hostile ones.

Generates a valid config of about SIZE bytes (accounts of 70 account passcodes
and 30 user grants, block style, with comments), then times:

* `load_config` in-process on the valid config (median of REPEAT runs);
* the same config with one mistake near the end (the located error path);
* `ctconfig validate` as a whole process (wall seconds, peak RSS);
* `ctconfig validate` and `ctconfig fmt --check` on hostile inputs: an alias bomb
  (485 bytes, 9 levels of 10), 100,000 nested `[`, and a config one byte over the limit.

    python bench/config_load.py                       # 1 MB, 5 runs
    python bench/config_load.py --size 4000000 --repeat 3

Targets (issues 12.3-12.5, 13): 1 MB of valid config validates in well under a second;
every hostile input is refused in well under a second with one located line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSCODES_PER_ACCOUNT = 70
GRANTS_PER_ACCOUNT = 30

ALIAS_BOMB = "version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
)


def account_lines(index: int) -> list[str]:
    lines = [f"  acct{index:04d}:", f"    id: TEST-{index % 1000:03d}-ZZK-{index // 1000:03d}Z"]
    lines += ["    region: eu1", "    # the exports of this account", "    account_passcodes:"]
    for p in range(PASSCODES_PER_ACCOUNT):
        lines += [f"      export-{p:02d}:", f"        expires_in: {60 + p}d", "        rotate_before: 14d"]
    lines.append("    user_passcodes:")
    lines += [f"      user{u:02d}@example.com: {{validity: 90d}}" for u in range(GRANTS_PER_ACCOUNT)]
    return lines


def config_text(size: int) -> str:
    lines = ["version: 1", "defaults: {region: eu1, unmanaged: warn}", "accounts:"]
    written, index = 0, 0
    while written < size:
        block = account_lines(index)
        written += sum(len(line) + 1 for line in block)
        lines += block
        index += 1
    return "\n".join(lines) + "\n"


def ctconfig() -> list[str]:
    beside = Path(sys.executable).with_name("ctconfig")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ctconfig"]


def run(args: list[str], cwd: Path, limit: float) -> tuple[float, int, int, str]:
    """Wall seconds, peak RSS (KiB), exit code and the last line of stderr of one process.

    A process still running after `limit` seconds is killed (exit -9).
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [*ctconfig(), *args], cwd=cwd, env={**os.environ, "NO_COLOR": "1"},
            stdout=subprocess.DEVNULL, stderr=err,
        )
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        while pid == 0 and time.perf_counter() - start < limit:
            time.sleep(0.01)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == 0:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        elapsed = time.perf_counter() - start
        err.seek(0)
        lines = err.read().decode(errors="replace").splitlines()
    return elapsed, usage.ru_maxrss, proc.returncode, (lines or [""])[-1]


def timed_load(path: Path, repeat: int) -> tuple[float, float]:
    """Median CPU and wall seconds of `load_config` (a config error counts as done)."""
    from ctconfig.config.errors import ConfigError
    from ctconfig.config.loader import load_config

    cpu, wall = [], []
    for _ in range(repeat):
        started_cpu, started = time.process_time(), time.perf_counter()
        with contextlib.suppress(ConfigError):
            load_config(path, environ={})
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return statistics.median(cpu), statistics.median(wall)


def calibration() -> float:
    """CPU seconds for sum(range(10**7)): about 0.13 on an idle modern core; compare runs by it."""
    started = time.process_time()
    sum(range(10**7))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000, help="bytes of valid config")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--limit", type=float, default=60, help="kill a process after this many seconds")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ctconfig-bench-"))
    valid = config_text(args.size)
    (root / "valid.yaml").write_text(valid)
    head, mark, tail = valid.rpartition("expires_in: ")
    (root / "invalid.yaml").write_text(head + mark + "soon" + tail[tail.index("\n"):])  # the last one
    (root / "bomb.yaml").write_text(ALIAS_BOMB)
    (root / "deep.yaml").write_text("accounts: " + "[" * 100_000 + "]" * 100_000 + "\n")
    (root / "huge.yaml").write_text("version: 1\n" + "#" * (4 * 1024 * 1024) + "\n")
    print(f"config: {len(valid.encode()):,} bytes, {valid.count('expires_in'):,} account passcodes")
    print(f"{'case':<40} {'seconds':>8}  {'peak RSS MiB':>12}  outcome")
    cases = [
        ("ctconfig validate, valid", ["-c", "valid.yaml", "validate"]),
        ("ctconfig validate, one error", ["-c", "invalid.yaml", "validate"]),
        ("ctconfig validate, alias bomb", ["-c", "bomb.yaml", "validate"]),
        ("ctconfig fmt --check, alias bomb", ["fmt", "--check", "bomb.yaml"]),
        ("ctconfig validate, 100,000 [", ["-c", "deep.yaml", "validate"]),
        ("ctconfig fmt --check, 100,000 [", ["fmt", "--check", "deep.yaml"]),
        ("ctconfig validate, 4 MiB + 12 bytes", ["-c", "huge.yaml", "validate"]),
    ]
    for name, argv in cases:
        seconds, rss, code, first = run(argv, root, args.limit)
        print(f"{name:<40} {seconds:>8.3f}  {rss / 1024:>12.1f}  exit {code}: {first[:90]}", flush=True)
    # In-process last: a forked child would otherwise inherit this process's peak RSS.
    for name, file in (("valid", "valid.yaml"), ("one error", "invalid.yaml")):
        cpu, wall = timed_load(root / file, args.repeat)
        print(f"{'load_config, ' + name + ' (median)':<40} {wall:>8.3f}  CPU {cpu:.3f} s")
    print(f"{'calibration: sum(range(10**7)), CPU':<40} {calibration():>8.3f}")


if __name__ == "__main__":
    main()
