"""Global options before or after the command, and the pre-commit hooks that rely on it (issue 14.3)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ctconfig import __version__
from tests.cli.conftest import Run
from tests.conftest import RunCtconfig

REPO = Path(__file__).resolve().parents[2]
NESTED = "version: 1\naccounts:\n  prod: {id: W9R-486-4W5Z}\n"
OTHER = "version: 1\naccounts: {}\n"


@pytest.fixture
def nested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose config is infra/ctconfig.yaml; a different config lies at the root."""
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "ctconfig.yaml").write_text(NESTED)
    (tmp_path / "ctconfig.yaml").write_text(OTHER)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["-c", "infra/ctconfig.yaml", "validate"],
        ["validate", "-c", "infra/ctconfig.yaml"],
        ["validate", "--config=infra/ctconfig.yaml"],
        ["-c", "ctconfig.yaml", "validate", "-c", "infra/ctconfig.yaml"],  # the later one wins
    ],
    ids=["before", "after", "after-equals", "both"],
)
def test_config_works_before_or_after_the_command(nested: Path, run: Run, args: list[str]) -> None:
    done = run(*args)
    assert (done.code, done.err) == (0, "")
    assert done.out == "Config valid: 1 account, 0 account passcodes, 0 user grants.\n"


def test_config_after_the_command_overrides_the_environment(
    nested: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTCONFIG_CONFIG", "ctconfig.yaml")
    assert run("validate").out.startswith("Config valid: 0 accounts")
    assert run("validate", "-c", "infra/ctconfig.yaml").out.startswith("Config valid: 1 account,")


def test_config_after_a_nested_command(nested: Path, run: Run) -> None:
    done = run("state", "list", "-c", "infra/ctconfig.yaml")
    assert done.code == 0, done.err
    assert done.out == "No resources in state ctconfig.state.json.\n"
    sandbox = run("sandbox", "user", "add", "prod", "ann@example.com", "-c", "infra/ctconfig.yaml")
    assert sandbox.code == 0, sandbox.err
    assert "W9R-486-4W5Z" in sandbox.out  # the alias resolved through the config given after


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_works_before_or_after_the_command(nested: Path, run: Run, where: str) -> None:
    (nested / "ctconfig.yaml").write_text("version: 1\naccounts: {prod: {id: nope}}\n")
    quiet = run("validate")
    args = ["--debug", "validate"] if where == "before" else ["validate", "--debug"]
    loud = run(*args)
    assert quiet.code == loud.code == 1
    assert "Traceback" not in quiet.err and "Traceback" in loud.err
    assert quiet.err.strip().splitlines()[-1] == loud.err.strip().splitlines()[-1]  # the same one line


@pytest.mark.parametrize("args", [["--version"], ["validate", "--version"], ["state", "list", "--version"]])
def test_version_works_before_or_after_the_command(run: Run, args: list[str]) -> None:
    done = run(*args)
    assert done.code == 0 and done.out.startswith(f"ctconfig, version {__version__}")


def test_the_version_names_the_commit_it_runs_from() -> None:
    """0.1.0 alone is the same at every commit: the checkout's commit (or pip's record of it) is named."""
    import subprocess

    from ctconfig.version import describe_version

    root = Path(__file__).parents[2]
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    described = describe_version()
    assert re.fullmatch(rf"{re.escape(__version__)} \(commit {head.stdout[:12]}(, modified)?\)", described)


def test_a_git_install_names_the_commit_pip_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    from ctconfig import version

    class Installed:
        version = "0.1.0"

        def read_text(self, name: str) -> str:
            assert name == "direct_url.json"
            commit = "0123456789abcdef" * 2 + "01234567"
            vcs = {"vcs": "git", "commit_id": commit, "requested_revision": "v0.1.0"}
            return json.dumps({"url": "https://example.com/ctconfig.git", "vcs_info": vcs})

    monkeypatch.setattr(metadata, "distribution", lambda name: Installed())
    monkeypatch.setattr(version, "_checkout_commit", lambda: None)
    assert version.describe_version() == "0.1.0 (commit 0123456789ab)"


# -- the pre-commit hooks ---------------------------------------------------------------------


def _hooks() -> list[dict[str, object]]:
    hooks: list[dict[str, object]] = YAML(typ="safe").load(REPO / ".pre-commit-hooks.yaml")
    return hooks


def _documented_override() -> list[str]:
    """The `args:` the hooks file's comment gives for a directory config not named `ctconfig`."""
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    [args] = re.findall(r"^#\s+args: \[(.*)\]$", text, flags=re.M)
    return [word.strip() for word in args.split(",")]


def test_the_hooks_documented_override_checks_a_nested_directory_config(
    run_ctconfig: RunCtconfig, tmp_path: Path
) -> None:
    """`args: [-c, deploy/passcodes]` with `pass_filenames: false`, run as pre-commit runs it."""
    args = _documented_override()
    assert args == ["-c", "deploy/passcodes"]
    folder = tmp_path / "deploy" / "passcodes"
    folder.mkdir(parents=True)
    (folder / "eu.yaml").write_text("accounts: {eu: {id: W9R-486-4W5A}}\nversion: 1\n")
    (folder / "us.yaml").write_text("version: 1\naccounts: {us: {id: W9R-486-4W5B}}\n")
    for hook in _hooks():  # entry, then args; no file names
        command = [*shlex.split(str(hook["entry"]))[1:], *args]
        done = run_ctconfig(*command)
        assert done.returncode == 0, (command, done.stderr)
    assert (folder / "eu.yaml").read_text() == "version: 1\naccounts: {eu: {id: W9R-486-4W5A}}\n"  # fmt ran
    (folder / "us.yaml").write_text("version: 1\naccounts: {us: {id: W9R-486-4W5A}}\n")
    validate = next(h for h in _hooks() if h["id"] == "ctconfig-validate")
    refused = run_ctconfig(*shlex.split(str(validate["entry"]))[1:], *args)
    assert refused.returncode == 1
    assert "deploy/passcodes/us.yaml:2:21: id: account id 'W9R-486-4W5A' is already used" in refused.stderr
