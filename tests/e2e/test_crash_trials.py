"""A short run of bench/crash_trials.py in the suite: SIGKILLed applies and a killed server,
on local and PostgreSQL state, then no passcode without its secret, no duplicate, state parses."""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench" / "crash_trials.py"


def load_bench() -> object:
    spec = importlib.util.spec_from_file_location("crash_trials", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.postgres
def test_killed_applies_and_a_killed_server_lose_no_secret(tmp_path: Path, pg_dsn: str) -> None:
    dsn = pg_dsn  # the suite's PostgreSQL: the same trial under the README's test command and in CI
    bench = load_bench()
    rng = random.Random(7)
    args = argparse.Namespace(size=4, latency=0.02, drop_rate=0.1, window=0)
    args.window = bench.calibrate(tmp_path, rng, args)  # type: ignore[attr-defined]
    tallies = {}
    for backend, kills, server in (("local", 2, False), ("postgres", 2, False), ("local", 1, True)):
        tally = tallies.setdefault((backend, server), bench.Tally())  # type: ignore[attr-defined]
        for _ in range(kills):
            bench.one_trial(tmp_path, rng, args, backend, dsn, tally, kill_server=server)  # type: ignore[attr-defined]
    for (backend, server), tally in tallies.items():
        where = f"{backend} state{', server killed' if server else ''}"
        assert tally.kills == tally.trials > 0, where
        assert tally.passcodes == tally.trials * 3 * 4, where
        assert (tally.lost, tally.duplicates, tally.unparsable, tally.unconverged) == (0, 0, 0, 0), where
