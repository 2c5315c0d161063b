#!/usr/bin/env python3
"""Benchmark: apply-from-empty and a no-op plan as whole `ctconfig` processes on the sandbox.

Generates N resources across accounts (70 account passcodes and 30 user grants
per account, CleverTap allowing 100 passcodes per account), then times, as
separate processes, `ctconfig apply --auto-approve` from an empty sandbox and
state, and `ctconfig plan --detailed-exitcode` right after (no changes).
Prints the median of REPEAT runs (wall seconds) and the peak RSS.

    python bench/plan_apply.py                 # N = 1,000 and 10,000, 5 runs each
    python bench/plan_apply.py --sizes 1000 --repeat 3

Targets (issue 3): no-op plan of 10,000 under 1.5 s; apply of 10,000 under 10 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSCODES_PER_ACCOUNT = 70
GRANTS_PER_ACCOUNT = 30


def ctconfig() -> list[str]:
    beside = Path(sys.executable).with_name("ctconfig")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "ctconfig"]


def compile_like_an_install() -> None:
    """Byte-compile ctconfig's modules, as `pip install` does for an installed package.

    An editable checkout run with PYTHONDONTWRITEBYTECODE set (as on these machines)
    would otherwise compile every module on every run (~0.2 s a process), while the peers,
    installed by pip, start from their compiled files.
    """
    import ctconfig

    package = Path(ctconfig.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def write_config(root: Path, resources: int) -> None:
    per_account = PASSCODES_PER_ACCOUNT + GRANTS_PER_ACCOUNT
    accounts = max(1, resources // per_account)
    lines = ["version: 1", "accounts:"]
    for a in range(accounts):
        lines += [f"  acct{a:03d}:", f"    id: TEST-{a:03d}-ZZK-955Z", "    account_passcodes:"]
        lines += [f"      passcode-{p:02d}: {{expires_in: {30 + p}d}}" for p in range(PASSCODES_PER_ACCOUNT)]
        lines.append("    user_passcodes:")
        lines += [f"      user{u:02d}@example.com: {{validity: 90d}}" for u in range(GRANTS_PER_ACCOUNT)]
    (root / "ctconfig.yaml").write_text("\n".join(lines) + "\n")


def run(args: list[str], cwd: Path, expect: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one whole process."""
    env = {**os.environ, "NO_COLOR": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*ctconfig(), *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in expect:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"ctconfig {' '.join(args)} exited {code}: {err[-2000:]}")
    if proc.stderr:
        proc.stderr.close()
    return elapsed, usage.ru_maxrss


def bench(resources: int, repeat: int) -> dict[str, tuple[float, int]]:
    applies, plans = [], []
    for _ in range(repeat):
        root = Path(tempfile.mkdtemp(prefix="ctconfig-bench-"))
        try:
            write_config(root, resources)
            applies.append(run(["apply", "--auto-approve"], root))
            plans.append(run(["plan", "--detailed-exitcode"], root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "apply from empty": (statistics.median(t for t, _ in applies), max(r for _, r in applies)),
        "no-op plan": (statistics.median(t for t, _ in plans), max(r for _, r in plans)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    compile_like_an_install()
    print(f"{'resources':>10}  {'case':<18} {'median s':>9} {'peak RSS MiB':>13}")
    for size in args.sizes:
        for case, (seconds, rss_kib) in bench(size, args.repeat).items():
            print(f"{size:>10,}  {case:<18} {seconds:>9.2f} {rss_kib / 1024:>13.1f}", flush=True)


if __name__ == "__main__":
    main()
