#!/usr/bin/env python3
"""Crash points: end `ctconfig apply` at every durable boundary it passes, then check what recovery leaves.

Where `crash_trials.py` samples (a SIGKILL at a random moment), this enumerates,
as ALICE and CrashMonkey do for file systems: the apply runs once with the
failpoint trace on (`CTCONFIG_FAILPOINTS=trace=…`, ctconfig/failpoints.py), which
lists every write, fsync, rename, link, unlink, SQL statement and S3 request of
the journal, the state, the secret sink and the lock, in the order the apply
passes them. Then, for every boundary, a fresh copy of the same workspace runs the
same apply with `crash=` at it: the process ends right there (`os._exit`, no
cleanup, no lock released). Then a user recovers as a user would: `ctconfig apply`
again (from another working directory for PostgreSQL and S3 state, as a second CI
runner would), `force-unlock` when the dead run left its lock, until
`plan --detailed-exitcode` exits 0. And the invariants are checked:

- lost: a declared passcode whose secret is not in the sink, or does not
  authenticate as that passcode in its account, or whose state record is tainted
  or carries another fingerprint, once the plan says there is nothing to do;
- duplicates: a live passcode in an account that state does not manage;
- unflagged: after the first recovering apply, a live passcode state manages,
  untainted and not retiring, whose secret the sink does not hold (nobody holds
  it and nothing will replace it), or a live passcode state does not know;
- false "no changes": `plan --detailed-exitcode` exited 0 while one of the above held;
- never converged: ten recovering applies did not bring the plan to 0.

The apply (two accounts over the sandbox's HTTP API, crash_harness.py): account
`one` creates a passcode, rotates one whose expiry is near (the old one renamed
aside to retire a day later), deletes one dropped from the config, revokes a grant
and grants another; account `two` creates two passcodes and grants one. One of
those creates, `limbo`, has an unknown outcome: the server makes the passcode and
answers 500, and the listing that would settle it fails too, so the apply ends
with its intent open and the next run must settle it.

Accounts run concurrently and group commit batches what arrives together, so
the boundaries inside the applier come in a slightly different order each run:
a target is the N-th time a failpoint is reached, counted from the last anchor
(a state write, the compaction) when there is one, and "crashed there" counts
the runs that reached their target. The applies under test are forked from an
interpreter that has imported ctconfig (crash_serving.Zygote), and so are the
recovering commands unless `--fresh-processes` is given.

    python bench/crash_points.py                           # local, postgres and s3, every boundary
    python bench/crash_points.py --backends local --every 3
    python bench/crash_points.py --backends local --list --only 'apply.compact#1/files.rename#1' --keep /tmp

PostgreSQL comes from $CTCONFIG_TEST_PG_DSN or `.ci/start-postgres`; S3 is a
moto server (`python -m moto.server`) started here. tests/crash/ runs a quick form.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from crash_harness import HEADER, Boundary, run_backend
from crash_serving import LocalState, PostgresState, S3State, SandboxServer, StateBackend, Zygote, zygote
from crash_trials import ctconfig, postgres_dsn


def run_child(args: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`ctconfig ARGS` as a child process."""
    return subprocess.run(
        [*ctconfig(), *args], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=600
    )


# -- servers this script starts ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def moto_server() -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port), "-H", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return url, process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backends", default="local,postgres,s3", help="comma-separated: local, postgres, s3"
    )
    parser.add_argument("--every", type=int, default=1, help="crash at every N-th boundary only")
    parser.add_argument(
        "--sinks", default="file", help="comma-separated: file, env-file (each with every backend)"
    )
    parser.add_argument("--only", default="", help="crash only at these boundaries (NAME#N,...)")
    parser.add_argument(
        "--keep", metavar="DIR", default="", help="keep the workspaces under DIR (to look at them)"
    )
    parser.add_argument("--list", action="store_true", help="print the boundaries of the reference run")
    parser.add_argument(
        "--fresh-processes",
        action="store_true",
        help="recover with `ctconfig` started afresh each time, not forked from an imported one",
    )
    parser.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.zygote:
        zygote()
        return 0
    names = [b for b in args.backends.split(",") if b]
    started = time.perf_counter()
    server = SandboxServer()
    forks = Zygote()
    stops: list[Callable[[], None]] = [server.stop, forks.stop]
    tallies = []
    try:
        with contextlib.ExitStack() as scratch:
            if args.keep:
                base = tempfile.mkdtemp(prefix="ctconfig-crash-points-", dir=args.keep)
            else:
                base = scratch.enter_context(tempfile.TemporaryDirectory(prefix="ctconfig-crash-points-"))
            run = run_child if args.fresh_processes else forks.run
            for name in names:
                backend = _backend(name, stops)
                for sink in [s for s in args.sinks.split(",") if s]:
                    found = run_backend(
                        backend, Path(base), server, run, forks.run, _picker(args), print, args.keep, sink
                    )
                    tallies.append(found)
    finally:
        for stop in reversed(stops):
            stop()
    took = time.perf_counter() - started
    which = "every" if args.every == 1 else f"every {args.every}th"
    print(
        f"\nCrash points ({took:.0f}s): two accounts over HTTP; creates, a rotation, a delete, a revoke, "
        f"grants, one create with an unknown outcome; a crash at {which} boundary, then `apply` until "
        "`plan --detailed-exitcode` is 0\n"
    )
    print(HEADER)
    for tally in tallies:
        print(tally.row())
    return 1 if any(f.bad for t in tallies for f in t.results) else 0


def _backend(name: str, stops: list[Callable[[], None]]) -> StateBackend:
    """Where state lives for `name`, starting (and registering the stop of) what it needs."""
    if name == "postgres":
        dsn, stop = postgres_dsn()
        if stop:
            stops.append(lambda: _run_quietly(stop))
        return PostgresState(dsn)
    if name == "s3":
        url, moto = moto_server()
        stops.append(moto.kill)
        return S3State(url)
    return LocalState()


def _picker(args: argparse.Namespace) -> Callable[[list[Boundary]], list[Boundary]]:
    only = {t for t in args.only.split(",") if t}

    def pick(found: list[Boundary]) -> list[Boundary]:
        if args.list:
            for number, boundary in enumerate(found, start=1):
                print(f"{number:4d} {boundary.target:32s} {boundary.area:8s} {boundary.where}")
        return [b for b in found if b.target in only] if only else found[:: args.every]

    return pick


def _run_quietly(command: str) -> None:
    subprocess.run(command, shell=True, check=False, capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
