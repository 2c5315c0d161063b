"""A rotation renames the old passcode aside and journals two records: the old address gone, and the
retiring one. Written in two appends, a crash between them left the old passcode alive in its account
under its `~retiring-` name and known to no state: never deleted, and reported as a passcode ctconfig
did not create (found by bench/crash_points.py). The applier (`applier/steps.py` `_rotate`) now
journals both in one batch; here a rotation alone is crashed at each of its journal appends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ctconfig import failpoints
from ctconfig.sandbox.store import SandboxStore
from tests.conftest import RunCtconfig

ACCOUNT = "TEST-R78-ZZK-955Z"
DAY = 86400


def config(root: Path, rotate: bool) -> str:
    rot = "{expires_in: 30d, rotate_before: 10d}" if rotate else "{expires_in: 30d}"
    return (
        "version: 1\n"
        f"state: {{backend: local, path: '{root}/ctconfig.state.json'}}\n"
        f"provider: {{kind: sandbox, path: '{root}/sandbox.db'}}\n"
        f"secrets: {{sink: file, path: '{root}/secrets'}}\n"
        f"accounts:\n  demo:\n    id: {ACCOUNT}\n    account_passcodes:\n      rot: {rot}\n"
    )


def rotation_due(root: Path, run_ctconfig: RunCtconfig) -> None:
    """`rot` applied, 25 days passed (5 left: under rotate_before), and the config that rotates it."""
    (root / "ctconfig.yaml").write_text(config(root, rotate=False))
    assert run_ctconfig("apply", "--auto-approve", cwd=root).returncode == 0
    with SandboxStore(root / "sandbox.db") as store:
        store.advance_clock(25 * DAY)
    (root / "ctconfig.yaml").write_text(config(root, rotate=True))


def unmanaged_after_a_crash_at(
    root: Path, run_ctconfig: RunCtconfig, target: str
) -> tuple[bool, list[str]]:
    """Crash the rotation at `target`, recover as a person would; (crashed, live passcodes no state knows)."""
    rotation_due(root, run_ctconfig)
    crashed = run_ctconfig("apply", "--auto-approve", cwd=root, env={failpoints.ENV: f"crash={target}"})
    if crashed.returncode != failpoints.CRASH_EXIT:
        return False, []
    (root / "ctconfig.state.json.lock").unlink()  # what `ctconfig force-unlock` does for the dead run
    recovered = run_ctconfig("apply", "--auto-approve", cwd=root)
    assert recovered.returncode == 0, recovered.stderr
    assert run_ctconfig("plan", "--detailed-exitcode", cwd=root).returncode == 0
    state = (root / "ctconfig.state.json").read_text()
    with SandboxStore(root / "sandbox.db") as store:
        live = store.read(ACCOUNT).passcodes
    return True, [p.name for p in live if p.id not in state]


@pytest.mark.process
def test_a_rotation_killed_at_any_journal_append_leaves_no_passcode_unmanaged(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    reference = tmp_path / "reference"
    reference.mkdir()
    rotation_due(reference, run_ctconfig)
    trace = reference / "trace.tsv"
    done = run_ctconfig("apply", "--auto-approve", cwd=reference, env={failpoints.ENV: f"trace={trace}"})
    assert done.returncode == 0, done.stderr
    appends = [line for line in trace.read_text().splitlines() if line.startswith("journal.file.write\t")]
    assert len(appends) >= 2, "a rotation makes at least two journal appends"
    left: dict[str, list[str]] = {}
    for number in range(1, len(appends) + 1):
        root = tmp_path / f"crash{number}"
        root.mkdir()
        crashed, unmanaged = unmanaged_after_a_crash_at(root, run_ctconfig, f"journal.file.write#{number}")
        assert crashed, f"journal.file.write#{number} was not reached"
        if unmanaged:
            left[f"journal.file.write#{number}"] = unmanaged
    assert left == {}
