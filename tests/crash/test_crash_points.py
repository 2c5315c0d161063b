"""The crash-point harness in its quick form: the apply of bench/crash_points.py is ended at its durable
boundaries, one by one (`os._exit` at a failpoint), each time on a fresh copy of the same workspace; the
next applies recover, and no declared secret may be lost, no passcode duplicated or left unflagged, and
`plan --detailed-exitcode` may say 0 only when all of that holds.

The crashing apply is a child process (forked from an interpreter that has imported ctconfig);
recovery, plans and checks run in this process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.crash.conftest import in_process, in_process_collected

SAME_AS_THE_NEXT = ("fsync", "fdatasync", "fsync_dir")
"""For a process that dies (not a machine that loses power), crashing before an fsync leaves exactly
what crashing before the operation that follows it leaves: the quick form skips these."""


def quick(found: list[Any]) -> list[Any]:
    return [b for b in found if not b.name.endswith(SAME_AS_THE_NEXT)]


def crash_everywhere(backend: Any, tmp_path: Path, server: Any, zygote: Any) -> None:
    import crash_harness

    run = in_process_collected if backend.name == "postgres" else in_process
    tally = crash_harness.run_backend(backend, tmp_path, server, run, zygote.run, quick)
    print(crash_harness.HEADER)
    print(tally.row())
    assert tally.found >= 20, "the apply passes fewer durable boundaries than it must"
    # Accounts run concurrently and group commit batches what arrives together, so a copy of the run
    # may pass a boundary fewer times than the reference did (each is tried twice). The end of the
    # apply, counted from its state write, is the same every time: every crash there must happen; and
    # every kind of boundary must be crashed at somewhere, most of them where they were aimed.
    crashed = [f for f in tally.results if f.crashed]
    missed = [f.boundary.target for f in tally.results if not f.crashed]
    assert all(f.crashed for f in tally.results if f.boundary.anchor), missed
    assert {f.boundary.name for f in crashed} == {f.boundary.name for f in tally.results}, missed
    assert len(crashed) >= 0.75 * len(tally.results), missed
    bad = [
        f"{f.boundary.target} ({f.boundary.where}): {crash_harness.describe(f)}"
        for f in tally.results
        if f.bad
    ]
    assert bad == []


def test_every_boundary_of_an_apply_on_local_state(tmp_path: Path, sandbox_server: Any, zygote: Any) -> None:
    from crash_serving import LocalState

    crash_everywhere(LocalState(), tmp_path, sandbox_server, zygote)


@pytest.mark.slow
@pytest.mark.postgres
def test_every_boundary_of_an_apply_on_postgres_state_recovered_from_another_directory(
    tmp_path: Path, sandbox_server: Any, zygote: Any, pg_dsn: str
) -> None:
    from crash_serving import PostgresState

    crash_everywhere(PostgresState(pg_dsn), tmp_path, sandbox_server, zygote)


@pytest.mark.slow
def test_every_boundary_of_an_apply_on_s3_state_recovered_from_another_directory(
    tmp_path: Path, sandbox_server: Any, zygote: Any, moto_endpoint: str, botocore_models_read_once: None
) -> None:
    from crash_serving import S3State

    crash_everywhere(S3State(moto_endpoint), tmp_path, sandbox_server, zygote)
