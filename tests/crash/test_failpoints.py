"""Failpoints (ctconfig/failpoints.py): armed only by CTCONFIG_FAILPOINTS, they trace an apply's durable
steps in order and end the process at one of them, with nothing cleaned up."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctconfig import failpoints
from tests.conftest import RunCtconfig

CONFIG = """version: 1
state: {{backend: local, path: '{root}/ctconfig.state.json'}}
provider: {{kind: sandbox, path: '{root}/sandbox.db'}}
secrets: {{sink: {sink}}}
accounts:
  demo:
    id: TEST-R78-ZZK-955Z
    account_passcodes:
      a: {{expires_in: 90d}}
      b: {{expires_in: forever}}
"""


def workspace(root: Path, sink: str = "") -> None:
    sink = sink or f"file, path: '{root}/secrets'"
    (root / "ctconfig.yaml").write_text(CONFIG.format(root=root, sink=sink))


def trace_of(path: Path) -> list[str]:
    return [line.split("\t")[0] for line in path.read_text().splitlines()]


@pytest.mark.process
def test_a_trace_lists_the_durable_steps_of_an_apply_in_order(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    workspace(tmp_path)
    trace = tmp_path / "trace.tsv"
    done = run_ctconfig("apply", "--auto-approve", env={failpoints.ENV: f"trace={trace}"})
    assert done.returncode == 0, done.stderr
    names = trace_of(trace)
    assert names[:3] == ["lock.file.write", "lock.file.fsync", "lock.file.link"]
    assert names[-1] == "lock.file.unlink"
    first_sink, state = names.index("sink.file.write"), names.index("state.local.write")
    intent = names.index("journal.file.appended")  # the intents, durable before the creates
    assert intent < first_sink < state < names.index("apply.compact") < len(names) - 1
    assert names.index("files.rename", state) < names.index("apply.compact")  # the state file, renamed
    assert "journal.file.unlink" in names[names.index("apply.compact") :]  # nothing left open: cleared


@pytest.mark.process
def test_a_crash_ends_the_process_there_and_cleans_nothing_up(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    workspace(tmp_path)
    done = run_ctconfig("apply", "--auto-approve", env={failpoints.ENV: "crash=state.local.write#1"})
    assert done.returncode == failpoints.CRASH_EXIT
    assert "Apply complete" not in done.stdout
    assert (tmp_path / "ctconfig.state.json.lock").exists()  # a crash releases no lock
    assert not (tmp_path / "ctconfig.state.json").exists()  # and writes no state
    assert (tmp_path / "ctconfig.state.json.journal").stat().st_size > 0  # the journal holds the work


@pytest.mark.process
def test_commands_ctconfig_starts_do_not_inherit_the_failpoints(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    seen = tmp_path / "environment"
    workspace(tmp_path, sink=f"command, command: \"env > '{seen}'; cat > /dev/null\"")
    done = run_ctconfig("apply", "--auto-approve", env={failpoints.ENV: f"trace={tmp_path / 'trace.tsv'}"})
    assert done.returncode == 0, done.stderr
    assert "CTCONFIG_ADDRESS=" in seen.read_text() and failpoints.ENV not in seen.read_text()
    assert "sink.command.run" in trace_of(tmp_path / "trace.tsv")


@pytest.mark.process
@pytest.mark.parametrize("setting", ["crash=state.local.write", "crash=x#0", "explode=1", "trace="])
def test_a_setting_it_does_not_know_is_one_line_and_no_run(
    tmp_path: Path, run_ctconfig: RunCtconfig, setting: str
) -> None:
    workspace(tmp_path)
    done = run_ctconfig("apply", "--auto-approve", env={failpoints.ENV: setting})
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: {failpoints.ENV}: ") and done.stderr.count("\n") == 1
    assert not (tmp_path / "sandbox.db").exists()


def test_a_target_after_an_anchor_counts_from_that_anchor() -> None:
    fired: list[int] = []
    target = failpoints.Target.parse("mark#2/step#2", lambda name, where: fired.append(int(where)))
    with failpoints.armed(failpoints.Failpoints([target])) as armed:
        for number, name in enumerate(["step", "mark", "step", "step", "mark", "step", "step", "step"]):
            failpoints.hit(name, number)
    assert fired == [6]  # the second step after the second mark
    assert [name for name, _ in armed.reached].count("step") == 6


def test_nothing_happens_at_a_failpoint_unless_armed() -> None:
    reached = failpoints.Failpoints()
    with failpoints.armed(reached):
        failpoints.hit("inside")
    failpoints.hit("outside")  # no failpoints armed: no error, nothing recorded anywhere
    assert reached.reached == [("inside", "")]
