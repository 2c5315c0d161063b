"""The GitHub workflow example passes actionlint: no action on a runtime GitHub has removed
(node20, gone on 2026-09-23), no expression, syntax or shell mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.gitops.test_pipelines import _tool

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "gitops" / "github" / "ctconfig.yml"


def lint(workflow: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # its shellcheck
        "SHELLCHECK_OPTS": "--severity=warning",  # as tests/gitops/test_pipelines.py runs shellcheck
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [_tool("actionlint"), "-no-color", str(workflow)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_the_workflow_passes_actionlint() -> None:
    done = lint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_would_refuse_an_action_on_node20(tmp_path: Path) -> None:
    """The check is real: the same workflow with the actions it used to pin fails."""
    old = WORKFLOW.read_text()
    for current, before in (("checkout@v5", "checkout@v4"), ("setup-python@v6", "setup-python@v5")):
        assert current in old
        old = old.replace(current, before)
    (tmp_path / "ctconfig.yml").write_text(old)
    done = lint(tmp_path / "ctconfig.yml")
    assert done.returncode == 1 and 'runtime "node20" is deprecated' in done.stdout
