"""Issue 12.6: `state diff` passes nothing a user typed to git as an option."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.state_cli.test_state_diff import Workspace, five_versions


@pytest.mark.parametrize("revision", ["--output={target}", "-o{target}", "--output", "-", "--end-of-options"])
def test_a_revision_that_looks_like_an_option_is_refused_and_git_writes_nothing(
    workspace: Workspace, tmp_path: Path, revision: str
) -> None:
    """Issue 12.6: `state diff 'git:--output=FILE:x' 1` made git write FILE."""
    five_versions(workspace)
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    target = tmp_path / "written-by-git"
    spec = f"git:{revision.format(target=target)}:x"
    result = workspace.run("state", "diff", spec, "1", cwd=repo)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: {spec}: a git revision cannot start with '-' (git would read it as an option)"
    )
    assert not target.exists()


def test_git_is_asked_for_the_revision_after_end_of_options(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revision git itself would parse as an option never reaches its option parser."""
    from ctconfig.state.diff import DiffSourceError, KeptVersions, load_side

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    popen = subprocess.Popen
    seen: list[list[str]] = []

    def recording(command: list[str], **kwargs: Any) -> Any:
        seen.append(command)
        return popen(command, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording)
    with pytest.raises(DiffSourceError, match=r"^git:HEAD:ctconfig\.state\.json: "):
        load_side("git:HEAD:ctconfig.state.json", KeptVersions(lambda: workspace.backend))
    assert seen == [["git", "show", "--no-textconv", "--end-of-options", "HEAD:ctconfig.state.json"]]
