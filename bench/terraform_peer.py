#!/usr/bin/env python3
"""Peer comparison: ctconfig on the sandbox against Terraform's built-in `terraform_data`.

Both tools manage N resources from empty, then run a no-op plan, as whole
processes (median of REPEAT runs). `terraform_data` needs no provider
download, so this measures each tool's own plan/apply/state machinery.
Skips cleanly (exit 0, a note) where `terraform` is not on PATH.

    python bench/terraform_peer.py --size 1000 --repeat 3
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

sys.path.insert(0, str(Path(__file__).parent))
from plan_apply import run as run_ctconfig
from plan_apply import write_config


def timed(command: list[str], cwd: Path, expect: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"},
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in expect:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def terraform_case(terraform: str, size: int) -> tuple[float, float]:
    root = Path(tempfile.mkdtemp(prefix="ctconfig-peer-tf-"))
    try:
        (root / "main.tf").write_text(
            f'resource "terraform_data" "passcode" {{\n  count = {size}\n'
            '  input = {name = "passcode-${count.index}", expires_in = "90d"}\n}\n'
        )
        timed([terraform, "init", "-input=false", "-no-color"], root)
        apply = timed([terraform, "apply", "-auto-approve", "-input=false", "-no-color"], root)
        plan = timed([terraform, "plan", "-detailed-exitcode", "-input=false", "-no-color"], root)
        return apply, plan
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ctconfig_case(size: int) -> tuple[float, float]:
    root = Path(tempfile.mkdtemp(prefix="ctconfig-peer-ct-"))
    try:
        write_config(root, size)
        apply, _ = run_ctconfig(["apply", "--auto-approve"], root)
        plan, _ = run_ctconfig(["plan", "--detailed-exitcode"], root)
        return apply, plan
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    terraform = shutil.which("terraform")
    if terraform is None:
        print("terraform is not on PATH: peer comparison skipped")
        return
    rows = {
        "ctconfig (sandbox)": [ctconfig_case(args.size) for _ in range(args.repeat)],
        "terraform (terraform_data)": [terraform_case(terraform, args.size) for _ in range(args.repeat)],
    }
    print(f"{args.size:,} resources, median of {args.repeat} whole-process runs")
    print(f"{'tool':<28} {'apply s':>9} {'no-op plan s':>13}")
    for tool, runs in rows.items():
        apply = statistics.median(a for a, _ in runs)
        plan = statistics.median(p for _, p in runs)
        print(f"{tool:<28} {apply:>9.2f} {plan:>13.2f}")


if __name__ == "__main__":
    main()
