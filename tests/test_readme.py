"""The README's commands run as written, so the README cannot rot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctconfig.cli import cli

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def setup_commands() -> tuple[str, str]:
    first, second = shell_blocks()[:2]
    return first.strip(), second.strip()


def run_bash(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return subprocess.run(
        ["bash", "-ec", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the examples, as a fresh clone would have them."""
    shutil.copytree(ROOT / "examples" / "quickstart", tmp_path / "examples" / "quickstart")
    return tmp_path


def test_the_first_command_installs_then_applies_the_quickstart_and_converges(checkout: Path) -> None:
    install, _, rest = setup_commands()[0].partition(" && ")
    assert install == "python -m pip install -e ."  # already installed in this environment
    done = run_bash(rest, checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Plan: 3 to create, 0 to update, 0 to delete, 2 to grant" in done.stdout
    assert "secret sent to file .ctconfig/secrets/demo/" in done.stdout
    assert "Apply complete" in done.stdout and "No changes." in done.stdout


def test_the_walkthrough_runs_line_by_line(checkout: Path) -> None:
    quickstart = checkout / "examples" / "quickstart"
    setup = run_bash(setup_commands()[0].partition(" && ")[2], checkout)
    assert setup.returncode == 0, setup.stderr
    walkthrough = shell_blocks()[2]
    for line in walkthrough.strip().splitlines():
        command = line.split("  #")[0].strip()
        done = run_bash(command, quickstart)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        if command == "ctconfig plan":
            assert '"forever" -> "180d"' in done.stdout
        if command.startswith("ctconfig state diff"):
            assert "braze-sync" in done.stdout


def test_ci_runs_the_readmes_test_command() -> None:
    test_command = setup_commands()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text()
    assert "ruff check ." in (ROOT / ".ci" / "run").read_text()
    assert "mypy ctconfig" in (ROOT / ".ci" / "run").read_text()


def test_every_command_is_in_the_command_reference() -> None:
    reference = README.split("## Command reference")[1].split("\n## ")[0]
    for name in cli.commands:
        assert f"`ctconfig {name}" in reference, name
