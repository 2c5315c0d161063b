#!/usr/bin/env python3
"""Benchmark: how long the installed `ctconfig` takes to start, against `python -c pass`.

Runs, interleaved so that a machine's load hits every case alike, REPEAT rounds of:

* `python -c pass`                       the interpreter's own start (with this venv's site)
* `ctconfig --help`                      the command list
* `ctconfig --version`
* `ctconfig validate`                    on examples/quickstart (loads and validates the config)

and prints each case's median wall time and its ratio to `python -c pass`, plus, with
`--importtime`, the slowest imports of each ctconfig case (`python -X importtime`).

    python bench/startup.py                  # 21 rounds
    python bench/startup.py --repeat 51 --importtime

Target (issue 13): `--help` and `--version` at most 3x `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from plan_apply import compile_like_an_install

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart"
TARGET_RATIO = 3.0


def ctconfig_command() -> list[str]:
    """The console script beside this interpreter (what users run), else `python -m ctconfig`."""
    beside = Path(sys.executable).with_name("ctconfig")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ctconfig")
    return [found] if found else [sys.executable, "-m", "ctconfig"]


def cases() -> dict[str, list[str]]:
    ctconfig = ctconfig_command()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "ctconfig --help": [*ctconfig, "--help"],
        "ctconfig --version": [*ctconfig, "--version"],
        "ctconfig validate (quickstart)": [*ctconfig, "validate"],
    }


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def run_once(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=QUICKSTART, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return elapsed


def measure(repeat: int) -> dict[str, float]:
    """Median seconds per case, the cases run in turn in every round."""
    compile_like_an_install()
    env, table = environment(), cases()
    for command in table.values():  # warm the file cache once, untimed
        run_once(command, env)
    times: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(repeat):
        for name, command in table.items():
            times[name].append(run_once(command, env))
    return {name: statistics.median(values) for name, values in times.items()}


def slowest_imports(command: list[str], count: int = 8) -> list[tuple[int, str]]:
    """The `count` top-level imports with the largest cumulative time (microseconds)."""
    env = {**environment(), "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(command, cwd=QUICKSTART, env=env, capture_output=True, text=True)
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if cumulative.isdigit() and not name.startswith(" "):
            rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=21, help="rounds (default 21)")
    parser.add_argument("--importtime", action="store_true", help="also list the slowest imports")
    args = parser.parse_args()
    medians = measure(args.repeat)
    base = medians["python -c pass"]
    print(f"median of {args.repeat} interleaved runs, from {QUICKSTART.relative_to(ROOT)}:")
    for name, seconds in medians.items():
        print(f"  {name:<32} {seconds * 1000:7.1f} ms   {seconds / base:5.2f}x python -c pass")
    worst = max(medians["ctconfig --help"], medians["ctconfig --version"]) / base
    verdict = "meets" if worst <= TARGET_RATIO else "MISSES"
    print(f"--help/--version: {worst:.2f}x, {verdict} the target of {TARGET_RATIO:.0f}x")
    if args.importtime:
        for name, command in cases().items():
            if name.startswith("ctconfig"):
                print(f"\nslowest imports of {name} (cumulative ms):")
                for micros, module in slowest_imports(command):
                    print(f"  {micros / 1000:7.1f}  {module}")


if __name__ == "__main__":
    main()
