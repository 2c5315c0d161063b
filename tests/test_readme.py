"""The README's commands run as written, so the README cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from ctconfig.cli import cli
from tests.examples import copy_example

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
SET_UP = README.split("## Set up\n")[1].split("\n## ")[0]


def shell_blocks(text: str = README) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def set_up_commands() -> tuple[str, str, str]:
    """The set-up section's three commands: the virtualenv, install-and-quickstart, the test suite."""
    venv, first, tests = (block.strip() for block in shell_blocks(SET_UP))
    return venv, first, tests


def walkthrough() -> str:
    return shell_blocks(README.split("## Walkthrough\n")[1].split("\n## ")[0])[0]


def run_bash(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")}  # no allow-lists
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return subprocess.run(
        ["bash", "-ec", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The quickstart as a fresh clone has it, whatever the README's commands left in this checkout."""
    copy_example("quickstart", tmp_path / "examples" / "quickstart")
    return tmp_path


def test_the_set_up_asks_for_a_supported_python_in_a_virtualenv_before_any_install() -> None:
    venv, first, _ = set_up_commands()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11" and "Python 3.11 or newer" in SET_UP
    assert venv == "python3 -m venv .venv && . .venv/bin/activate"
    assert README.index(venv) < README.index("pip install")  # before the first install anywhere
    assert first.startswith("python -m pip install")


@pytest.mark.slow
def test_the_virtualenv_command_gives_a_python_pip_installs_into(tmp_path: Path) -> None:
    venv, _, _ = set_up_commands()
    done = run_bash(
        f'{venv} && python -c "import sys; print(sys.prefix, sys.version_info >= (3, 11))"', tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path / ".venv"), "True"]


def test_the_first_command_installs_then_applies_the_quickstart_and_converges(checkout: Path) -> None:
    install, _, rest = set_up_commands()[1].partition(" && ")
    assert install == "python -m pip install -e ."  # already installed in this environment
    done = run_bash(rest, checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Plan: 3 to create, 0 to update, 0 to delete, 2 to grant" in done.stdout
    assert "secret sent to file .ctconfig/secrets/demo/" in done.stdout
    assert "Apply complete" in done.stdout and "No changes." in done.stdout


def test_the_walkthrough_runs_line_by_line(checkout: Path) -> None:
    """...and leaves the tracked quickstart as it was: the change is made in a copy."""
    quickstart = checkout / "examples" / "quickstart"
    tracked = (quickstart / "ctconfig.yaml").read_bytes()
    assert "sed -i" not in walkthrough()
    setup = run_bash(set_up_commands()[1].partition(" && ")[2], checkout)
    assert setup.returncode == 0, setup.stderr
    for line in walkthrough().strip().splitlines():
        command = line.split("  #")[0].strip()
        done = run_bash(command, quickstart)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        if command == "ctconfig -c change.yaml plan":
            assert '"forever" -> "180d"' in done.stdout
        if command.startswith("ctconfig state diff"):
            assert "braze-sync" in done.stdout
    assert (quickstart / "ctconfig.yaml").read_bytes() == tracked


LEFTOVERS = [
    "ctconfig.state.json",
    "ctconfig.state.json.history/1.json",
    ".ctconfig/sandbox.db",
    "change.plan",
    "change.yaml",
]


def test_what_the_set_up_leaves_in_the_quickstart_is_ignored_by_git() -> None:
    quickstart = ROOT / "examples" / "quickstart"
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "--no-index", *(str(quickstart / p) for p in LEFTOVERS)],
        capture_output=True,
        text=True,
    )
    assert sorted(Path(p).relative_to(quickstart).as_posix() for p in ignored.stdout.split()) == sorted(
        LEFTOVERS
    )


def test_a_copied_example_is_what_git_tracks_not_what_the_readme_left(tmp_path: Path) -> None:
    """In a repository where the set-up ran and the walkthrough edited the config, the copy is clean."""
    repo = tmp_path / "repo"
    example = repo / "examples" / "quickstart"
    example.mkdir(parents=True)
    (example / "ctconfig.yaml").write_text("expires_in: forever\n")
    (example / "hook.sh").write_text("#!/bin/sh\n")
    (example / "hook.sh").chmod(0o755)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    for leftover in LEFTOVERS:
        (example / leftover).parent.mkdir(parents=True, exist_ok=True)
        (example / leftover).write_text("generated")
    (example / "ctconfig.yaml").write_text("expires_in: 180d\n")  # the walkthrough's sed, not staged
    copied = copy_example("quickstart", tmp_path / "copy", root=repo)
    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*")) == ["ctconfig.yaml", "hook.sh"]
    assert (copied / "ctconfig.yaml").read_text() == "expires_in: forever\n"
    assert (copied / "hook.sh").stat().st_mode & 0o777 == 0o755


def test_the_readmes_test_command_runs_what_ci_runs() -> None:
    """CI sets $CTCONFIG_TEST_PG_DSN; the README's command does not. No test may depend on it: the
    suite starts its own PostgreSQL (tests/conftest.py `pg_dsn`), so both run the same tests."""
    readers = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("*.py")
        if "CTCONFIG_TEST_PG_DSN" in path.read_text() and path.name not in ("conftest.py", "test_readme.py")
    ]
    assert readers == []


def test_ci_runs_the_readmes_test_command() -> None:
    test_command = set_up_commands()[2]
    assert test_command == "python -m pip install -e '.[test]' && python -m pytest -q -n auto"
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci
    assert "ruff check ." in ci
    assert "mypy ctconfig" in ci


def test_every_command_is_in_the_command_reference() -> None:
    reference = README.split("## Command reference")[1].split("\n## ")[0]
    for name in cli.list_commands(click.Context(cli)):
        assert f"`ctconfig {name}" in reference, name


def test_the_configuration_reference_and_init_name_the_same_variants() -> None:
    from ctconfig.config.describe import variants_of
    from ctconfig.config.starter import STARTER

    reference = README.split("## Configuration reference")[1].split("```yaml\n")[1].split("```")[0]
    for section, tag in (("state", "backend"), ("provider", "kind"), ("secrets", "sink")):
        variants = list(variants_of(section))
        [line] = [line for line in reference.splitlines() if line.startswith(f"{section}:")]
        assert all(name in line for name in variants), (section, variants, line)
        [starter] = [line for line in STARTER.splitlines() if line.strip().startswith(f"{tag}:")]
        assert starter.split("# ")[1] == " | ".join(variants), starter


def test_the_readme_says_what_a_directory_does_with_an_alias_twice(tmp_path: Path) -> None:
    assert "each account alias, and every other section, is defined in one file\nonly" in README
    folder = tmp_path / "ctconfig"
    folder.mkdir()
    (folder / "a.yaml").write_text("version: 1\naccounts:\n  prod: {id: W9R-486-4W5Z}\n")
    (folder / "b.yaml").write_text("version: 1\naccounts:\n  prod: {id: W9R-486-4W5Z}\n")
    done = run_bash("ctconfig validate", tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "ctconfig/b.yaml:3:3: account 'prod' is also defined at ctconfig/a.yaml:3:3; "
        "expected each account alias once"
    ]
