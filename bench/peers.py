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

Where: by default (as root) a 2 GiB ext4 image *with its journal*, loop-mounted,
as a CI runner's disk is; `--fs tmp` measures the temporary directory instead
(here ext4 without a journal). The first line says which file system it was.
A round's files are removed only after every round: deleting thousands of files
just before the next apply would make that apply pay for the clean-up.

Each repeat runs every tool's apply, then every tool's no-op plan, one after
another, so a machine whose speed drifts slows all of them alike; the table
shows the median wall, user and system seconds, the largest peak RSS, and each ctconfig median
as a ratio of octoDNS's, with the goals of issue 13.

    python bench/peers.py                      # N = 1,000 and 10,000, 3 repeats
    python bench/peers.py --sizes 1000 --repeat 5 --no-terraform
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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
SCALE_GOALS = {("apply from empty", 10_000): 1.0}
"""The performance issue of 2026-12-05 asks the 10k apply to be at most octoDNS's time, on a journaled
file system and in the temporary directory alike."""
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

@dataclass(frozen=True)
class Timing:
    """One whole process: wall seconds, user and system CPU seconds, peak RSS in KiB."""

    wall: float
    user: float
    sys: float
    peak_kib: int


Measure = Callable[[Path], Timing]
"""Runs one case in a prepared directory."""


@dataclass
class Results:
    """Every run's timing, by tool and case."""

    runs: dict[tuple[str, str], list[Timing]] = field(default_factory=dict)

    def add(self, tool: str, case: str, run: Timing) -> None:
        self.runs.setdefault((tool, case), []).append(run)

    def median(self, tool: str, case: str, what: str = "wall") -> float | None:
        runs = self.runs.get((tool, case))
        return statistics.median(getattr(r, what) for r in runs) if runs else None

    def peak_mib(self, tool: str, case: str) -> float | None:
        runs = self.runs.get((tool, case))
        return max(r.peak_kib for r in runs) / 1024 if runs else None


def timed(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> Timing:
    """Wall, user and system seconds and peak RSS of one whole process; its output goes to a file."""
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
    return Timing(elapsed, usage.ru_utime, usage.ru_stime, usage.ru_maxrss)


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


def one_round(peers: list[Tool], size: int, results: Results, where: Path, used: list[Path]) -> None:
    """Every tool's apply from empty, then every tool's no-op plan on what the apply made.

    The round's directories are left for the caller to remove once every round is done: deleting
    thousands of files right before the next apply would make that apply pay for the file
    system's cleanup (on ext4, new inodes after many deletes).
    """
    dirs = {
        tool.name: Path(tempfile.mkdtemp(prefix=f"ctconfig-peers-{tool.name.lower()}-", dir=where))
        for tool in peers
    }
    used.extend(dirs.values())
    for tool in peers:
        tool.prepare(dirs[tool.name], size)
    os.sync()  # the set-up's writes are not the apply's to flush
    for case in CASES:
        for tool in peers:
            if case in tool.cases:
                results.add(tool.name, case, tool.cases[case](dirs[tool.name]))


def report(size: int, repeat: int, results: Results) -> None:
    print(f"\nN = {size:,} resources, median of {repeat} whole-process runs (wall s), interleaved")
    print(
        f"{'case':<18} {'tool':<10} {'median s':>9} {'user s':>7} {'sys s':>7} {'peak MiB':>9} "
        f"{'ctconfig/peer':>14}  goal"
    )
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
                if (case, size) in SCALE_GOALS:
                    later = SCALE_GOALS[(case, size)]
                    goal += f"; <= {later}x (issue 24): {'met' if ours / seconds <= later else 'NOT met'}"
            peak = results.peak_mib(tool, case) or 0.0
            if tool == "ctconfig" and (case, size) in RSS_GOAL_MIB:
                limit_mib = RSS_GOAL_MIB[(case, size)]
                goal = f"peak <= {limit_mib:.0f} MiB: {'met' if peak <= limit_mib else 'NOT met'}"
            user = results.median(tool, case, "user") or 0.0
            system = results.median(tool, case, "sys") or 0.0
            print(
                f"{case:<18} {tool:<10} {seconds:>9.2f} {user:>7.2f} {system:>7.2f} {peak:>9.1f} "
                f"{ratio:>14}  {goal}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--octodns-venv", type=Path, default=DEFAULT_VENV, help="where octoDNS is installed")
    parser.add_argument("--terraform-max", type=int, default=1000, help="largest N to run Terraform at")
    parser.add_argument("--no-terraform", action="store_true")
    parser.add_argument(
        "--fs",
        choices=("journaled", "tmp"),
        default="journaled",
        help="journaled: a loop-mounted ext4 image with a journal (root); tmp: the temporary directory",
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the image or the runs go")
    args = parser.parse_args()
    terraform = None if args.no_terraform else shutil.which("terraform")
    compile_like_an_install()
    print(f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if terraform is None and not args.no_terraform:
        print("terraform is not on PATH: the Terraform rows are skipped")
    with file_system(args.fs, args.dir) as (where, described):
        print(f"measured in {where}: {described}")
        for size in args.sizes:
            peers = tools(args.octodns_venv, terraform if size <= args.terraform_max else None)
            results = Results()
            used: list[Path] = []
            try:
                for _ in range(args.repeat):
                    one_round(peers, size, results, where, used)
            finally:
                for path in used:
                    shutil.rmtree(path, ignore_errors=True)
            report(size, args.repeat, results)


@contextlib.contextmanager
def file_system(kind: str, given: Path | None) -> Iterator[tuple[Path, str]]:
    """Where the runs go, and the file system that is, in words.

    `journaled`: a 2 GiB ext4 image with its journal, loop-mounted (needs root; the usual file
    system of a CI runner's disk). `tmp`: the temporary directory as it is.
    """
    if kind == "tmp" or (kind == "journaled" and os.geteuid() != 0):
        if kind == "journaled":
            print("not root: cannot mount a journaled ext4 image; measuring the temporary directory")
        where = given or Path(tempfile.gettempdir())
        yield where, describe_fs(where)
        return
    holder = Path(tempfile.mkdtemp(prefix="ctconfig-peers-fs-", dir=given))
    image, mount = holder / "ext4.img", holder / "mnt"
    mount.mkdir()
    subprocess.run(["truncate", "-s", "2G", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mount)], check=True)
    try:
        yield mount, describe_fs(mount)
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        shutil.rmtree(holder, ignore_errors=True)


def describe_fs(path: Path) -> str:
    """The file system type, mount options and (for ext4, as root) whether it keeps a journal."""
    best = ("", "", "", "")
    for line in Path("/proc/mounts").read_text().splitlines():
        device, point, kind, options = line.split()[:4]
        if str(path.resolve()).startswith(point) and len(point) >= len(best[1]):
            best = (device, point, kind, options)
    device, point, kind, options = best
    journal = ""
    if kind == "ext4" and shutil.which("dumpe2fs") and os.geteuid() == 0:
        probe = subprocess.run(["dumpe2fs", "-h", device], capture_output=True, text=True)
        features = next((li for li in probe.stdout.splitlines() if li.startswith("Filesystem features")), "")
        if features:
            journal = ", with a journal" if "has_journal" in features else ", WITHOUT a journal"
    return f"{kind} on {device} at {point} ({options}){journal}"


if __name__ == "__main__":
    main()
