#!/usr/bin/env python3
"""Peer comparison: ctconfig against octoDNS (and Terraform) at equal N, interleaved in one run.

Each tool manages the same N resources from empty ("apply from empty"), then
plans again with nothing to do ("no-op plan"), as whole processes: start-up,
reading the declared config, reading what exists, diffing, writing, exit.

- **ctconfig**: `apply --auto-approve` against the embedded sandbox with the
  default `file` sink (one fsynced file per secret) and local state, then
  `plan --detailed-exitcode`. N resources in N/100 accounts, each with 70
  account passcodes and 30 user grants (`plan_apply.write_config`).
- **octoDNS** 1.22.0 (installed by this script into its own virtualenv, see
  `--octodns-venv`), YAML to YAML: a `YamlProvider` source holding N records
  in N/100 zones of 100 records, each a TXT record with a name, a TTL and a
  value (the shape of a passcode: a name and two settings), synced into a
  `YamlProvider` target. "Apply from empty" is `octodns-sync --doit` into an
  empty target directory; "no-op plan" is `octodns-sync` (no `--doit`)
  against the target that apply wrote, which reads both sides, diffs and
  reports no changes. octoDNS is the nearest public peer: a declarative tool
  that loads YAML, reads the existing side, diffs and writes, with no network.
  It does less per resource than ctconfig (no secrets, no journal, no fsync),
  which is why the goals are ratios of its time.
- **floor** (the no-op plan only): `python -c` importing asyncio, click, orjson,
  pydantic and ruamel.yaml and validating one one-field pydantic model: what a
  ctconfig command costs before its own work. Its ratio to octoDNS is the
  smallest a ctconfig plan could reach.
- **Terraform** (only at N <= `--terraform-max`, default 1,000, and only when
  `terraform` is on PATH): `count = N` of the built-in `terraform_data`
  resource, which needs no provider download; `terraform apply` from empty,
  then `terraform plan -detailed-exitcode`.

Each repeat runs every tool's apply, then every tool's no-op plan, one after
another, so a machine whose speed drifts slows all of them alike; the table
shows the median wall seconds, the largest peak RSS, and each ctconfig median
as a ratio of octoDNS's, with the goals of issue 13.

    python bench/peers.py                      # N = 1,000 and 10,000, 3 repeats
    python bench/peers.py --sizes 1000 --repeat 5 --no-terraform
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plan_apply import (
    GRANTS_PER_ACCOUNT,
    PASSCODES_PER_ACCOUNT,
    compile_like_an_install,
    ctconfig,
    write_config,
)

OCTODNS = "octodns==1.22.0"
DEFAULT_VENV = Path.home() / ".cache" / "ctconfig-bench" / "octodns-1.22.0"
GOALS = {  # (case, N) -> the largest ctconfig/octoDNS ratio issue 13 accepts
    ("no-op plan", 10_000): 0.2,
    ("no-op plan", 1_000): 0.3,
    ("apply from empty", 10_000): 0.8,
    ("apply from empty", 1_000): 0.8,
}
RSS_GOAL_MIB = {("apply from empty", 10_000): 150.0}
CASES = ("apply from empty", "no-op plan")
FLOOR = (
    "import asyncio, click, orjson, pydantic, ruamel.yaml, _ruamel_yaml\n"
    "class Passcode(pydantic.BaseModel):\n    name: str\n"
    "Passcode(name='x')\n"
)
"""What any ctconfig command costs before it does its own work: the interpreter, the chosen
dependencies it imports, and pydantic's machinery (loaded by the first model). A plan cannot
be faster than this."""

Measure = Callable[[Path], tuple[float, int]]
"""Runs one case in a prepared directory: wall seconds and peak RSS in KiB."""


@dataclass
class Results:
    """Every run's (seconds, peak KiB), by tool and case."""

    runs: dict[tuple[str, str], list[tuple[float, int]]] = field(default_factory=dict)

    def add(self, tool: str, case: str, run: tuple[float, int]) -> None:
        self.runs.setdefault((tool, case), []).append(run)

    def median(self, tool: str, case: str) -> float | None:
        runs = self.runs.get((tool, case))
        return statistics.median(s for s, _ in runs) if runs else None

    def peak_mib(self, tool: str, case: str) -> float | None:
        runs = self.runs.get((tool, case))
        return max(k for _, k in runs) / 1024 if runs else None


def timed(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one whole process; its output goes to a file (kept on failure)."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            output.seek(0)
            raise SystemExit(
                f"{' '.join(command)} exited {code}: {output.read().decode(errors='replace')[-2000:]}"
            )
    return elapsed, usage.ru_maxrss


# ---- octoDNS ------------------------------------------------------------------------------------


def octodns_sync(venv: Path) -> str:
    """`octodns-sync` of a virtualenv holding exactly octoDNS 1.22.0, made on first use."""
    sync = venv / "bin" / "octodns-sync"
    marker = venv / ".ctconfig-bench-octodns"
    if not (sync.exists() and marker.exists() and marker.read_text() == OCTODNS):
        print(f"installing {OCTODNS} into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", OCTODNS], check=True)
        marker.write_text(OCTODNS)
    return str(sync)


def write_octodns(root: Path, resources: int) -> None:
    """The YAML source (N/100 zones of 100 TXT records), an empty target and octodns.yaml."""
    per_zone = PASSCODES_PER_ACCOUNT + GRANTS_PER_ACCOUNT
    zones = [f"acct{z:03d}.example.com." for z in range(max(1, resources // per_zone))]
    (root / "config").mkdir()
    (root / "target").mkdir()
    lines = ["providers:"]
    for name in ("config", "target"):
        lines += [f"  {name}:", "    class: octodns.provider.yaml.YamlProvider", f"    directory: ./{name}"]
    lines.append("zones:")
    for zone in zones:
        lines += [f"  {zone}:", "    sources: [config]", "    targets: [target]"]
    (root / "octodns.yaml").write_text("\n".join(lines) + "\n")
    for zone in zones:
        records = ["---"]
        for p in range(PASSCODES_PER_ACCOUNT):  # keys in the order octoDNS's loader insists on
            records += [
                f"passcode-{p:02d}:",
                f"  ttl: {3600 + p}",
                "  type: TXT",
                f"  value: expires-in-{30 + p}d",
            ]
        for u in range(GRANTS_PER_ACCOUNT):
            records += [f"user{u:02d}:", "  ttl: 3600", "  type: TXT", "  value: validity-90d"]
        (root / "config" / f"{zone}yaml").write_text("\n".join(records) + "\n")


# ---- Terraform ----------------------------------------------------------------------------------

CT_ENV = {"NO_COLOR": "1"}
TF_ENV = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}


def write_terraform(root: Path, resources: int, terraform: str) -> None:
    """`count = N` of `terraform_data`, initialised (no provider to download)."""
    (root / "main.tf").write_text(
        f'resource "terraform_data" "passcode" {{\n  count = {resources}\n'
        '  input = {name = "passcode-${count.index}", expires_in = "90d"}\n}\n'
    )
    timed([terraform, "init", "-input=false", "-no-color"], root, TF_ENV)


# ---- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """One peer: how to prepare a directory for N resources, and its two cases."""

    name: str
    prepare: Callable[[Path, int], None]
    cases: dict[str, Measure]


def tools(venv: Path, terraform: str | None) -> list[Tool]:
    sync = octodns_sync(venv)
    found = [
        Tool(
            "ctconfig",
            write_config,
            {
                "apply from empty": lambda d: timed([*ctconfig(), "apply", "--auto-approve"], d, CT_ENV),
                "no-op plan": lambda d: timed([*ctconfig(), "plan", "--detailed-exitcode"], d, CT_ENV),
            },
        ),
        Tool(
            "octoDNS",
            write_octodns,
            {
                "apply from empty": lambda d: timed([sync, "--config-file", "octodns.yaml", "--doit"], d),
                "no-op plan": lambda d: timed([sync, "--config-file", "octodns.yaml"], d),
            },
        ),
        Tool("floor", lambda d, n: None, {"no-op plan": lambda d: timed([sys.executable, "-c", FLOOR], d)}),
    ]
    if terraform is not None:
        tf = ["-input=false", "-no-color"]
        found.append(
            Tool(
                "Terraform",
                lambda d, n: write_terraform(d, n, terraform),
                {
                    "apply from empty": lambda d: timed(
                        [terraform, "apply", "-auto-approve", *tf], d, TF_ENV
                    ),
                    "no-op plan": lambda d: timed([terraform, "plan", "-detailed-exitcode", *tf], d, TF_ENV),
                },
            )
        )
    return found


def one_round(peers: list[Tool], size: int, results: Results) -> None:
    """Every tool's apply from empty, then every tool's no-op plan on what the apply made."""
    dirs = {
        tool.name: Path(tempfile.mkdtemp(prefix=f"ctconfig-peers-{tool.name.lower()}-")) for tool in peers
    }
    try:
        for tool in peers:
            tool.prepare(dirs[tool.name], size)
        for case in CASES:
            for tool in peers:
                if case in tool.cases:
                    results.add(tool.name, case, tool.cases[case](dirs[tool.name]))
    finally:
        for path in dirs.values():
            shutil.rmtree(path, ignore_errors=True)


def report(size: int, repeat: int, results: Results) -> None:
    print(f"\nN = {size:,} resources, median of {repeat} whole-process runs (wall s), interleaved")
    print(f"{'case':<18} {'tool':<10} {'median s':>9} {'peak MiB':>9} {'ctconfig/peer':>14}  goal")
    for case in CASES:
        base = results.median("octoDNS", case)
        ours = results.median("ctconfig", case)
        for tool in ("ctconfig", "octoDNS", "Terraform", "floor"):
            seconds = results.median(tool, case)
            if seconds is None or base is None or ours is None:
                continue
            ratio = f"{ours / seconds:.2f}x" if tool != "ctconfig" else ""
            goal = f"floor/octoDNS {seconds / base:.2f}x" if tool == "floor" else ""
            if tool == "octoDNS" and (case, size) in GOALS:
                limit = GOALS[(case, size)]
                goal = f"<= {limit}x: {'met' if ours / seconds <= limit else 'NOT met'}"
            peak = results.peak_mib(tool, case) or 0.0
            if tool == "ctconfig" and (case, size) in RSS_GOAL_MIB:
                limit_mib = RSS_GOAL_MIB[(case, size)]
                goal = f"peak <= {limit_mib:.0f} MiB: {'met' if peak <= limit_mib else 'NOT met'}"
            print(f"{case:<18} {tool:<10} {seconds:>9.2f} {peak:>9.1f} {ratio:>14}  {goal}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--octodns-venv", type=Path, default=DEFAULT_VENV, help="where octoDNS is installed")
    parser.add_argument("--terraform-max", type=int, default=1000, help="largest N to run Terraform at")
    parser.add_argument("--no-terraform", action="store_true")
    args = parser.parse_args()
    terraform = None if args.no_terraform else shutil.which("terraform")
    compile_like_an_install()
    print(f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if terraform is None and not args.no_terraform:
        print("terraform is not on PATH: the Terraform rows are skipped")
    for size in args.sizes:
        peers = tools(args.octodns_venv, terraform if size <= args.terraform_max else None)
        results = Results()
        for _ in range(args.repeat):
            one_round(peers, size, results)
        report(size, args.repeat, results)


if __name__ == "__main__":
    main()
