"""A rotation renames the old passcode aside, then records that in two journal appends: the old address
gone, then the retiring one. A crash between the two leaves the old passcode alive in its account under
its `~retiring-` name, and known to no state: never deleted, and reported as a passcode ctconfig did not
create. Found by bench/crash_points.py; the fix belongs in the applier (`applier/steps.py` `_rotate`:
one `record_durably` holding both records), so this test waits for it.
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


@pytest.mark.process
@pytest.mark.xfail(
    strict=True,
    reason="issue 21: applier/steps.py _rotate records the old address gone and the retiring one in two "
    "durable appends; a crash between them leaves the renamed old passcode unmanaged (lead's slice)",
)
def test_a_rotation_killed_between_its_two_records_leaves_no_passcode_unmanaged(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    (tmp_path / "ctconfig.yaml").write_text(config(tmp_path, rotate=False))
    assert run_ctconfig("apply", "--auto-approve").returncode == 0
    with SandboxStore(tmp_path / "sandbox.db") as store:
        store.advance_clock(25 * DAY)  # 5 days left: under rotate_before
    (tmp_path / "ctconfig.yaml").write_text(config(tmp_path, rotate=True))
    trace = tmp_path / "trace.tsv"
    crashed = run_ctconfig(
        "apply", "--auto-approve", env={failpoints.ENV: f"crash=journal.file.write#2;trace={trace}"}
    )
    assert crashed.returncode == failpoints.CRASH_EXIT
    lines = trace.read_text().splitlines()
    assert lines[-1].startswith("journal.file.write") and lines[-1].endswith("armed")
    lock = tmp_path / "ctconfig.state.json.lock"
    lock.unlink()  # what `ctconfig force-unlock` does for the dead run
    recovered = run_ctconfig("apply", "--auto-approve")
    assert recovered.returncode == 0, recovered.stderr
    assert run_ctconfig("plan", "--detailed-exitcode").returncode == 0
    state = (tmp_path / "ctconfig.state.json").read_text()
    with SandboxStore(tmp_path / "sandbox.db") as store:
        live = store.read(ACCOUNT).passcodes
    assert [p.name for p in live if p.id not in state] == []
